package org.polypi.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.polypi.datasets.BundledSample;
import org.polypi.datasets.Dataset;
import org.polypi.datasets.FashionMnist;
import org.polypi.engine.net.PublicModel;
import org.polypi.engine.net.RemoteClient;
import org.polypi.engine.plan.CompiledModel;
import org.polypi.engine.secure.InMemorySession;
import org.polypi.engine.secure.SessionOptions;
import org.polypi.model.GraphTransforms;
import org.polypi.model.ModelFormat;
import org.polypi.model.ModelGraph;
import org.polypi.model.ReferenceNetworks;
import org.polypi.model.Shape;
import org.polypi.model.reference.FixedPointOutput;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Issue 6's acceptance "W1-W3 secure inference across three processes over TCP with TLS gives the same top-1 as the
 * in-memory transport on 1,000 Fashion-MNIST images": per model, {@code polypi dealer} and {@code polypi server} run
 * as separate OS processes (TLS 1.3 with key material generated for the run), this JVM is the client
 * ({@link RemoteClient}) and classifies the test images in one session; then the same images go through
 * {@link InMemorySession} with the same compiled plan, and the top-1 of every image is compared. Writes
 * {@code network-agreement.md} and {@code .csv}.
 */
@Command(name = "process-agreement", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Three processes over TCP (TLS) against the in-memory transport: top-1 per image, W1-W3.")
public final class ProcessAgreement implements Callable<Integer>
{
    /** Header of the CSV. */
    static final String CSV_HEADER = "model,variant,source,architecture,f,images,batch,identical_top1," +
        "tcp_accuracy,inmem_accuracy,same_plan,max_logit_diff_ulp,near_tie_images,differing_margins_ulp,result," +
        "tcp_seconds," +
        "inmem_seconds,security,machine,commit";
    private static final double PERCENT = 100.0;
    private static final double NANOS_PER_SECOND = 1e9;

    @Option(names = "--images", description = "Fashion-MNIST test images (default: ${DEFAULT-VALUE}).")
    int images = 1000;

    @Option(names = "--batch", description = "Images per query (default: ${DEFAULT-VALUE}).")
    int batch = 64;

    @Option(names = "--select", split = ",", paramLabel = "W/VARIANT",
        description = "Models as workload/variant (variants: pillar, relu, herpn, senet50; default: ${DEFAULT-VALUE}).")
    List<String> select = new ArrayList<>(List.of("w1/pillar", "w1/relu", "w2/pillar", "w2/relu", "w3/pillar"));

    @Option(names = "--models", paramLabel = "DIR", description = "Trained models <w>-<kind>.pim (default: " +
        "${DEFAULT-VALUE}); a model without one uses seeded random weights at --bits (W3: its Fashion-MNIST " +
        "variant minionn-fmnist, 1x32x32).")
    Path models = Path.of("trainer", "models");

    /**
     * Random weights give logits that nearly tie; at f = 12 the two runs' independent 1-ulp truncation noise flipped
     * 3 of 1,000 W3 top-1s (all ties within 2 ulps), at f = 16 none: the comparison is about the transport.
     */
    private static final int RANDOM_MODEL_BITS = 16;

    @Option(names = "--bits", description = "Fractional bits of random-weight models (default: ${DEFAULT-VALUE}).")
    int bits = RANDOM_MODEL_BITS;

    @Option(names = "--no-tls", description = "Plaintext TCP instead of TLS 1.3 (the report says so).")
    boolean noTls;

    @Option(names = "--timeout", description = "Receive/connect timeout of every party in seconds (default: " +
        "${DEFAULT-VALUE}).")
    int timeoutSeconds = 300;

    @Option(names = "--out", paramLabel = "DIR", description = "Output folder (default: ${DEFAULT-VALUE}).")
    Path out = Path.of("bench", "results");

    private PrintStream stdout = System.out;

    /**
     * One model's outcome.
     *
     * @param name "W2 pillar".
     * @param variant the variant id.
     * @param source trained file or "random weights ...".
     * @param architecture the model's architecture.
     * @param f fractional bits.
     * @param images images compared.
     * @param identical images whose top-1 is the same over TCP and in memory.
     * @param tcpCorrect TCP top-1 equal to the label.
     * @param inmemCorrect in-memory top-1 equal to the label.
     * @param samePlan the client's plan hash equals the in-memory plan's.
     * @param tcpSeconds wall time of the TCP run (dealer and server processes started to their exit).
     * @param inmemSeconds wall time of the in-memory session.
     * @param maxLogitDiff largest |TCP logit - in-memory logit| over all images and classes, in units of 2^-f.
     * @param differingMargins for each image whose top-1 differs: the in-memory logit of its top-1 minus its logit
     *                         of the TCP top-1, in units of 2^-f.
     * @param nearTies images whose in-memory top-1 leads the runner-up by at most twice {@code maxLogitDiff}: the
     *                 only ones whose top-1 the rounding noise can flip.
     */
    record Outcome(String name, String variant, String source, String architecture, int f, int images, int identical,
                   int tcpCorrect, int inmemCorrect, boolean samePlan, double tcpSeconds, double inmemSeconds,
                   long maxLogitDiff, long[] differingMargins, int nearTies)
    {
        /** True if every image agrees and the plans are the same. */
        boolean pass()
        {
            return samePlan && identical == images;
        }

        /**
         * True if every differing image is a tie within the secure rounding: its in-memory margin is at most twice
         * the largest logit difference (each run's truncations round differently, with the dealer's fresh randomness).
         */
        boolean tiesOnly()
        {
            return samePlan && Arrays.stream(differingMargins).allMatch(m -> m <= 2 * maxLogitDiff);
        }

        /** "PASS", "TIES" (differences only where two logits tie within the rounding) or "FAIL". */
        String result()
        {
            return pass() ? "PASS" : tiesOnly() ? "TIES" : "FAIL";
        }
    }

    /** Command-line entry point. */
    public static void main(final String[] args)
    {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs with {@code args}; returns the exit code (0: every model agreed on every image). */
    public static int run(final String[] args, final PrintStream out, final PrintStream err)
    {
        final ProcessAgreement main = new ProcessAgreement();
        main.stdout = out;
        final CommandLine cl = new CommandLine(main);
        cl.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
        cl.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        cl.setExecutionExceptionHandler((e, line, parsed) ->
        {
            line.getErr().println("process-agreement: " + e);
            return 1;
        });
        return cl.execute(args);
    }

    @Override
    public Integer call() throws Exception
    {
        if (images < 1 || batch < 1)
        {
            throw new IllegalArgumentException("--images and --batch must be >= 1, were " + images + ", " + batch);
        }
        final MachineStamp stamp = MachineStamp.collect();
        final Dataset all = testSet();
        final Dataset data = all.slice(0, Math.min(images, all.count()));
        final String dataName = FashionMnist.find().isPresent() ? "Fashion-MNIST test set" :
            "bundled Fashion-MNIST sample (the full test set is not installed)";
        final Duration timeout = Duration.ofSeconds(timeoutSeconds);
        final List<Outcome> outcomes = new ArrayList<>();
        final long start = System.nanoTime();
        try (RoleProcesses roles = new RoleProcesses(!noTls, timeout))
        {
            stdout.printf(Locale.ROOT, "process agreement: %d images of the %s, batch %d, %s, %s, commit %s%n",
                data.count(), dataName, batch, roles.security(), stamp.machine(), stamp.commit());
            for (final String spec : select)
            {
                final Outcome o = runOne(spec.trim(), data, roles, timeout);
                outcomes.add(o);
                stdout.printf(Locale.ROOT, "%-10s %s: identical top-1 %d / %d, TCP %.1f s, in memory %.1f s, " +
                        "accuracy %.1f %% / %.1f %%, same plan %b, max logit diff %d, %s%n", o.name(), o.source(), o.identical(),
                    o.images(),
                    o.tcpSeconds(), o.inmemSeconds(), PERCENT * o.tcpCorrect() / o.images(),
                    PERCENT * o.inmemCorrect() / o.images(), o.samePlan(), o.maxLogitDiff(), o.result());
            }
            final double minutes = (System.nanoTime() - start) / 60e9;
            write(outcomes, stamp, dataName, roles.security(), minutes);
        }
        return outcomes.stream().allMatch(Outcome::tiesOnly) ? 0 : 1;
    }

    private Outcome runOne(final String spec, final Dataset data, final RoleProcesses roles,
                           final Duration timeout) throws Exception
    {
        final String[] parts = spec.split("/");
        if (parts.length != 2)
        {
            throw new IllegalArgumentException("--select " + spec + ": expected workload/variant, e.g. w2/pillar");
        }
        final E2eWorkload workload = E2eWorkload.valueOf(parts[0].toUpperCase(Locale.ROOT));
        final E2eVariant variant = E2eVariant.byId(parts[1]);
        final Path trained = E2eModel.trainedFile(workload, variant, models);
        final ModelGraph graph;
        final Path modelFile;
        final String source;
        final int f;
        if (trained != null)
        {
            graph = ModelFormat.read(trained);
            modelFile = trained;
            source = trained.toString();
            f = graph.header().fractionalBits();
        }
        else
        {
            // W3's reference is CIFAR-shaped; the images here are Fashion-MNIST, so W3 is its 1x32x32 variant.
            final ReferenceNetworks.Workload ref = workload == E2eWorkload.W3 ?
                ReferenceNetworks.Workload.MINIONN_FASHION : workload.reference();
            graph = GraphTransforms.foldBatchNorm(ReferenceNetworks.build(ref, variant.options(bits)
                .withSeed(E2eModel.SEED)));
            modelFile = roles.work().resolve(workload.id() + "-" + variant.id() + "-random.pim");
            ModelFormat.write(graph, modelFile);
            source = "random weights (seed " + E2eModel.SEED + ", f=" + bits + ")";
            f = bits;
        }
        final Path publicFile = roles.work().resolve(workload.id() + "-" + variant.id() + "-public.pim");
        ModelFormat.write(PublicModel.of(graph), publicFile);

        final Shape input = graph.inputs().getFirst().shape();
        final Dataset d = data.padTo(input.dim(1), input.dim(2));
        final float[] x = d.toFloatArray();
        final int n = d.count();

        final FixedPointOutput tcp;
        final boolean samePlan;
        final CompiledModel compiled = PublicModel.compileChecked(graph, f);
        final long t0 = System.nanoTime();
        try (RoleProcesses.Child dealer = roles.dealer(publicFile, f, 1);
             RoleProcesses.Child server = roles.server(modelFile, f, dealer, 1))
        {
            final RemoteClient client = RemoteClient.of(ModelFormat.read(publicFile), f, server.address(),
                dealer.address(), roles.clientOptions());
            samePlan = Arrays.equals(client.plan().hash(), compiled.plan().hash());
            tcp = client.infer(x, n, batch, done -> { }).output();
            final int s = server.waitFor(timeout);
            final int dl = dealer.waitFor(timeout);
            if (s != 0 || dl != 0)
            {
                throw (s != 0 ? server : dealer).failure("exited with status " + (s != 0 ? s : dl));
            }
        }
        final double tcpSeconds = (System.nanoTime() - t0) / NANOS_PER_SECOND;

        final long t1 = System.nanoTime();
        final FixedPointOutput mem;
        try (InMemorySession session = InMemorySession.start(compiled, SessionOptions.of(batch).withTimeout(timeout)))
        {
            mem = session.infer(x, n).output();
        }
        final int[] tcpTop1 = tcp.top1();
        final int[] memTop1 = mem.top1();
        long maxDiff = 0;
        for (int i = 0; i < n; i++)
        {
            for (int c = 0; c < mem.classes(); c++)
            {
                maxDiff = Math.max(maxDiff, Math.abs(tcp.ringLogit(i, c) - mem.ringLogit(i, c)));
            }
        }
        final List<Long> margins = new ArrayList<>();
        int nearTies = 0;
        for (int i = 0; i < n; i++)
        {
            long runnerUp = Long.MIN_VALUE;
            for (int c = 0; c < mem.classes(); c++)
            {
                if (c != memTop1[i])
                {
                    runnerUp = Math.max(runnerUp, mem.ringLogit(i, c));
                }
            }
            nearTies += mem.ringLogit(i, memTop1[i]) - runnerUp <= 2 * maxDiff ? 1 : 0;
        }
        final double memSeconds = (System.nanoTime() - t1) / NANOS_PER_SECOND;
        int identical = 0;
        int tcpRight = 0;
        int memRight = 0;
        for (int i = 0; i < n; i++)
        {
            identical += tcpTop1[i] == memTop1[i] ? 1 : 0;
            if (tcpTop1[i] != memTop1[i])
            {
                margins.add(mem.ringLogit(i, memTop1[i]) - mem.ringLogit(i, tcpTop1[i]));
            }
            tcpRight += tcpTop1[i] == d.label(i) ? 1 : 0;
            memRight += memTop1[i] == d.label(i) ? 1 : 0;
        }
        return new Outcome(workload.name() + " " + variant.id(), variant.id(), source,
            graph.header().architecture(), f, n, identical, tcpRight, memRight, samePlan, tcpSeconds, memSeconds,
            maxDiff, margins.stream().mapToLong(Long::longValue).toArray(), nearTies);
    }

    private static Dataset testSet() throws IOException
    {
        return FashionMnist.find().isPresent() ?
            FashionMnist.load(FashionMnist.Split.TEST, FashionMnist.STANDARD_NORMALIZATION) :
            BundledSample.fashionMnistTest(FashionMnist.STANDARD_NORMALIZATION);
    }

    private void write(final List<Outcome> outcomes, final MachineStamp stamp, final String dataName,
                       final String security, final double minutes) throws IOException
    {
        Files.createDirectories(out);
        final StringBuilder csv = new StringBuilder(CSV_HEADER).append('\n');
        for (final Outcome o : outcomes)
        {
            csv.append(String.join(",", List.of(o.name().split(" ")[0], o.variant(), quote(o.source()),
                o.architecture(), Integer.toString(o.f()), Integer.toString(o.images()), Integer.toString(batch),
                Integer.toString(o.identical()), fraction(o.tcpCorrect(), o.images()),
                fraction(o.inmemCorrect(), o.images()), Boolean.toString(o.samePlan()),
                Long.toString(o.maxLogitDiff()), Integer.toString(o.nearTies()), margins(o.differingMargins(), " "),
                o.result(),
                String.format(Locale.ROOT, "%.3f", o.tcpSeconds()), String.format(Locale.ROOT, "%.3f",
                    o.inmemSeconds()), quote(security), quote(stamp.machine()), stamp.commit()))).append('\n');
        }
        final StringBuilder md = new StringBuilder();
        md.append("# Three processes over TCP against the in-memory transport\n\n");
        md.append("Issue 6's acceptance: W1-W3 secure inference across three processes over TCP with TLS gives the " +
            "same top-1 as the in-memory transport on 1,000 Fashion-MNIST images.\n\n");
        md.append(String.format(Locale.ROOT, "- Images: the first %d of the %s, normalized as in the demo " +
            "(mean %.7f, std %.7f), zero-padded to the model's input; batch %d.%n", outcomes.isEmpty() ? 0 :
            outcomes.getFirst().images(), dataName, FashionMnist.MEAN, FashionMnist.STD, batch));
        md.append("- TCP: `polypi dealer` and `polypi server` as two separate OS processes (child JVMs) on loopback, " +
            "this JVM the client (`RemoteClient`), one session per model; " + security + ".\n");
        md.append("- In memory: `InMemorySession` on the same compiled plan (`PublicModel.compileChecked`, the " +
            "server's); `same plan` compares the client's plan hash with it.\n");
        md.append("- Machine: ").append(stamp.machine()).append("; ").append(stamp.jdk()).append("; commit ")
            .append(stamp.commit()).append("; ").append(stamp.date())
            .append(String.format(Locale.ROOT, "; whole run %.1f minutes.%n%n", minutes));
        md.append("| model | source | f | images | identical top-1 | TCP accuracy | in-memory accuracy | same plan | " +
            "max logit diff (2^-f) | near-tie images | margins of differing images (2^-f) | TCP wall s | " +
            "in-memory wall s | result |\n");
        md.append("|---|---|---:|---:|---:|---:|---:|---|---:|---:|---|---:|---:|---|\n");
        for (final Outcome o : outcomes)
        {
            md.append(String.format(Locale.ROOT, "| %s | %s | %d | %d | %d / %d | %.1f %% | %.1f %% | %s | %d | %d | " +
                    "%s | %.1f | %.1f | %s |%n", o.name(), o.source(), o.f(), o.images(), o.identical(), o.images(),
                PERCENT * o.tcpCorrect() / o.images(), PERCENT * o.inmemCorrect() / o.images(),
                o.samePlan() ? "yes" : "NO", o.maxLogitDiff(), o.nearTies(), o.differingMargins().length == 0 ? "-" :
                    margins(o.differingMargins(), ", "), o.tcpSeconds(), o.inmemSeconds(), o.result()));
        }
        md.append('\n');
        final boolean pass = !outcomes.isEmpty() && outcomes.stream().allMatch(Outcome::pass);
        md.append(pass ? "**PASS**: every image has the same top-1 over TCP as in memory, for every model.\n" :
            "**Not every image agrees**: see the table. TIES: the images that differ are ties within the secure " +
                "rounding (their in-memory margin between the two classes is at most twice the largest logit " +
                "difference): the two runs use independent dealer randomness, so their probabilistic truncations " +
                "round differently by a few units of 2^-f, which only flips a top-1 where two logits (nearly) tie, " +
                "as they do for random weights. FAIL: a larger difference.\n");
        md.append("\n`max logit diff`: the largest |TCP logit - in-memory logit| over all images and classes, in " +
            "units of 2^-f (the secure rounding noise; a transport error would show as a huge value). `near-tie " +
            "images`: images whose in-memory top-1 leads the runner-up by at most twice that, the only ones the noise " +
            "can flip.\n");
        md.append("\nTCP wall time: from starting the dealer and server processes to their exit, so it includes JVM " +
            "start-up, connections, TLS handshakes, the set-up and every query, in cold JVMs (no warm-up); in-memory " +
            "wall time: the session's start to its last result.\n");
        write(out.resolve("network-agreement.md"), md.toString());
        write(out.resolve("network-agreement.csv"), csv.toString());
        stdout.println("wrote " + out.resolve("network-agreement.md") + " and network-agreement.csv: " +
            (pass ? "PASS" : outcomes.stream().allMatch(Outcome::tiesOnly) ? "TIES" : "FAIL"));
    }

    static void write(final Path file, final String text) throws IOException
    {
        final Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    static String quote(final String s)
    {
        return s.contains(",") || s.contains("\"") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }

    private static String margins(final long[] m, final String separator)
    {
        return String.join(separator, Arrays.stream(m).mapToObj(Long::toString).toList());
    }

    private static String fraction(final int a, final int n)
    {
        return String.format(Locale.ROOT, "%.4f", (double)a / n);
    }
}
