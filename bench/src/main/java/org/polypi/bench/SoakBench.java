package org.polypi.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.polypi.datasets.BundledSample;
import org.polypi.datasets.Dataset;
import org.polypi.datasets.FashionMnist;
import org.polypi.engine.net.PublicModel;
import org.polypi.engine.net.RemoteClient;
import org.polypi.engine.plan.CompiledModel;
import org.polypi.kernels.Kernels;
import org.polypi.model.GraphTransforms;
import org.polypi.model.ModelFormat;
import org.polypi.model.ModelGraph;
import org.polypi.model.ReferenceNetworks;
import org.polypi.model.Shape;
import org.polypi.model.reference.FixedPointInference;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Issue 6's soak: consecutive W2 inferences through ONE {@code polypi server} process and one {@code polypi dealer}
 * process (TLS 1.3), the client in this JVM ({@link RemoteClient}), in two phases on the same processes: one session
 * with every inference as a query, then many sessions of a few queries each. Counts failures (a session that throws)
 * and predictions that differ from the plaintext fixed-point model, and samples the resident memory (VmRSS) of the
 * server and the dealer every few inferences. Writes {@code soak.md} and {@code soak.csv}.
 */
@Command(name = "soak", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Consecutive W2 inferences through one server process: failures and resident memory.")
public final class SoakBench implements Callable<Integer>
{
    /** Header of the CSV (one row per memory sample). */
    static final String CSV_HEADER = "phase,inferences_in_phase,inferences_total,sessions_total,seconds," +
        "server_rss_bytes,dealer_rss_bytes";
    private static final double MIB = 1 << 20;
    private static final double NANOS_PER_SECOND = 1e9;

    /** The phases. */
    enum Mode
    {
        /** One session, every inference a query. */
        SINGLE,
        /** Sessions of --session-queries queries each. */
        SESSIONS,
        /** SINGLE, then SESSIONS, on the same processes. */
        BOTH
    }

    @Option(names = "--inferences", description = "Inferences per phase (default: ${DEFAULT-VALUE}).")
    int inferences = 10_000;

    @Option(names = "--mode", description = "single (one session), sessions (many sessions) or both, one after the " +
        "other on the same processes (default: both).")
    Mode mode = Mode.BOTH;

    @Option(names = "--session-queries", description = "Queries per session in the sessions phase (default: " +
        "${DEFAULT-VALUE}).")
    int sessionQueries = 100;

    @Option(names = "--batch", description = "Images per query (default: ${DEFAULT-VALUE}).")
    int batch = 1;

    @Option(names = "--sample-every", description = "Inferences between memory samples (default: ${DEFAULT-VALUE}).")
    int sampleEvery = 100;

    @Option(names = "--warm-up", description = "Inferences of the first phase after which memory counts as warm " +
        "(default: ${DEFAULT-VALUE}).")
    int warmUp = 1000;

    @Option(names = "--variant", description = "W2's activation variant (default: ${DEFAULT-VALUE}).")
    String variant = "pillar";

    @Option(names = "--models", paramLabel = "DIR", description = "Trained models (default: ${DEFAULT-VALUE}); " +
        "without w2-<kind>.pim, W2 with seeded random weights at f=12.")
    Path models = Path.of("trainer", "models");

    /** Output lines of each service printed when a session fails. */
    private static final int CHILD_LINES = 15;

    /**
     * Default none: the services run as `polypi` runs them. Not -Xmx1g: the dealer queues up to its send budget
     * (maxPayload + one chunk, 1 GiB) of material ahead of a party in direct buffers, whose limit follows -Xmx, so a
     * 1 GiB heap failed a long session at query 385 ("Cannot reserve 1048576 bytes of direct buffer memory").
     */
    @Option(names = "--child-jvm-options", split = " ", description = "Extra JVM options of the server and dealer " +
        "processes, space-separated (default: none: the JVM's own heap sizing, as `polypi` runs them).")
    List<String> childOptions = new ArrayList<>();

    @Option(names = "--no-tls", description = "Plaintext TCP instead of TLS 1.3 (the report says so).")
    boolean noTls;

    @Option(names = "--timeout", description = "Receive/connect timeout of every party in seconds (default: " +
        "${DEFAULT-VALUE}).")
    int timeoutSeconds = 120;

    @Option(names = "--out", paramLabel = "DIR", description = "Output folder (default: ${DEFAULT-VALUE}).")
    Path out = Path.of("bench", "results");

    private PrintStream stdout = System.out;

    /**
     * One memory sample.
     *
     * @param phase the phase's name.
     * @param inPhase inferences done in the phase.
     * @param total inferences done in all phases.
     * @param sessions sessions completed or failed in all phases.
     * @param seconds since the first inference.
     * @param serverRss the server's VmRSS in bytes.
     * @param dealerRss the dealer's VmRSS in bytes.
     */
    record Sample(String phase, long inPhase, long total, long sessions, double seconds, long serverRss,
                  long dealerRss)
    {
    }

    /**
     * What a phase did.
     *
     * @param name the phase.
     * @param inferences inferences completed.
     * @param sessions sessions run.
     * @param failures sessions that threw.
     * @param mismatches predictions that differ from the plaintext fixed-point model.
     * @param seconds wall time.
     * @param firstFailure the first failure's message, or empty.
     */
    record Phase(String name, long inferences, long sessions, long failures, long mismatches, double seconds,
                 String firstFailure)
    {
    }

    /** Command-line entry point. */
    public static void main(final String[] args)
    {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs with {@code args}; returns the exit code (0: no failure). */
    public static int run(final String[] args, final PrintStream out, final PrintStream err)
    {
        final SoakBench main = new SoakBench();
        main.stdout = out;
        final CommandLine cl = new CommandLine(main).setCaseInsensitiveEnumValuesAllowed(true);
        cl.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
        cl.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        cl.setExecutionExceptionHandler((e, line, parsed) ->
        {
            line.getErr().println("soak: " + e);
            return 1;
        });
        return cl.execute(args);
    }

    @Override
    public Integer call() throws Exception
    {
        if (inferences < 1 || batch < 1 || sessionQueries < 1 || sampleEvery < 1 || warmUp < 0)
        {
            throw new IllegalArgumentException("--inferences, --batch, --session-queries and --sample-every must be " +
                ">= 1 and --warm-up >= 0, were " + inferences + ", " + batch + ", " + sessionQueries + ", " +
                sampleEvery + ", " + warmUp);
        }
        final MachineStamp stamp = MachineStamp.collect();
        final Duration timeout = Duration.ofSeconds(timeoutSeconds);
        final E2eVariant v = E2eVariant.byId(variant);
        final Path trained = E2eModel.trainedFile(E2eWorkload.W2, v, models);
        final List<Sample> samples = new ArrayList<>();
        final List<Phase> phases = new ArrayList<>();
        // "" on the command line means no extra option at all.
        childOptions = childOptions.stream().filter(o -> !o.isBlank()).toList();
        try (RoleProcesses roles = new RoleProcesses(!noTls, timeout, childOptions))
        {
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
                f = ReferenceNetworks.DEFAULT_FRACTIONAL_BITS;
                graph = GraphTransforms.foldBatchNorm(ReferenceNetworks.build(E2eWorkload.W2.reference(),
                    v.options(f).withSeed(E2eModel.SEED)));
                modelFile = roles.work().resolve("w2-random.pim");
                ModelFormat.write(graph, modelFile);
                source = "random weights (seed " + E2eModel.SEED + ", f=" + f + ")";
            }
            final Path publicFile = roles.work().resolve("w2-public.pim");
            ModelFormat.write(PublicModel.of(graph), publicFile);
            final CompiledModel compiled = PublicModel.compileChecked(graph, f);
            final Shape input = graph.inputs().getFirst().shape();
            // Inputs cycle through the test images: the soak needs as many inputs as inferences in one session.
            final int perSession = Math.max(inferences, sessionQueries * batch);
            final Dataset all = testSet();
            final Dataset pool = all.slice(0, Math.min(all.count(), perSession)).padTo(input.dim(1), input.dim(2));
            final float[] x = new float[perSession * pool.imageElements()];
            final int[] expected = new int[perSession];
            final float[] poolImages = pool.toFloatArray();
            final int[] poolTop1 = FixedPointInference.of(compiled, Kernels.get(),
                FixedPointInference.DEFAULT_CHUNK_ITEMS).top1(poolImages, pool.count());
            for (int i = 0; i < perSession; i++)
            {
                final int k = i % pool.count();
                System.arraycopy(poolImages, k * pool.imageElements(), x, i * pool.imageElements(),
                    pool.imageElements());
                expected[i] = poolTop1[k];
            }
            try (RoleProcesses.Child dealer = roles.dealer(publicFile, f, 0);
                 RoleProcesses.Child server = roles.server(modelFile, f, dealer, 0))
            {
                final RemoteClient client = RemoteClient.of(ModelFormat.read(publicFile), f, server.address(),
                    dealer.address(), roles.clientOptions());
                stdout.printf(Locale.ROOT, "soak: W2 %s (%s), %s, %,d inferences per phase (%s), batch %d, server " +
                        "pid %d, dealer pid %d, %s, commit %s%n", v.id(), source, roles.security(), inferences,
                    mode.name().toLowerCase(Locale.ROOT),
                    batch, server.pid(), dealer.pid(), stamp.machine(), stamp.commit());
                final long start = System.nanoTime();
                final long[] totals = new long[2];
                samples.add(sample("start", 0, totals, start, server, dealer));
                if (mode != Mode.SESSIONS)
                {
                    phases.add(single(client, x, expected, totals, start, server, dealer, samples));
                }
                if (mode != Mode.SINGLE)
                {
                    phases.add(sessions(client, x, expected, totals, start, server, dealer, samples));
                }
                if (!server.alive() || !dealer.alive())
                {
                    throw (server.alive() ? dealer : server).failure("exited during the soak");
                }
            }
            write(phases, samples, stamp, source, roles.security());
        }
        return phases.stream().allMatch(p -> p.failures() == 0) ? 0 : 1;
    }

    private Phase single(final RemoteClient client, final float[] x, final int[] expected, final long[] totals,
                         final long start, final RoleProcesses.Child server, final RoleProcesses.Child dealer,
                         final List<Sample> samples)
    {
        final String name = "single session";
        final long t0 = System.nanoTime();
        final long[] last = {0};
        long failures = 0;
        long mismatches = 0;
        String first = "";
        long done;
        try
        {
            final int[] top1 = client.infer(x, inferences, batch, items ->
            {
                totals[0] += items - last[0];
                last[0] = items;
                if (items % sampleEvery < batch || items == inferences)
                {
                    samples.add(sample(name, items, totals, start, server, dealer));
                    progress(name, items);
                }
            }).output().top1();
            for (int i = 0; i < inferences; i++)
            {
                mismatches += top1[i] == expected[i] ? 0 : 1;
            }
            done = inferences;
        }
        catch (final RuntimeException e)
        {
            failures++;
            first = String.valueOf(e.getMessage());
            done = last[0];
            reportChildren(server, dealer);
        }
        totals[1]++;
        samples.add(sample(name + " end", done, totals, start, server, dealer));
        return new Phase(name, done, 1, failures, mismatches, (System.nanoTime() - t0) / NANOS_PER_SECOND, first);
    }

    private Phase sessions(final RemoteClient client, final float[] x, final int[] expected, final long[] totals,
                           final long start, final RoleProcesses.Child server, final RoleProcesses.Child dealer,
                           final List<Sample> samples)
    {
        final String name = "sessions of " + sessionQueries + " queries";
        final long t0 = System.nanoTime();
        final int perSession = sessionQueries * batch;
        long done = 0;
        long sessions = 0;
        long failures = 0;
        long mismatches = 0;
        String first = "";
        long nextSample = sampleEvery;
        while (done < inferences)
        {
            final int n = (int)Math.min(perSession, inferences - done);
            try
            {
                final int[] top1 = client.infer(x, n, batch, items -> { }).output().top1();
                for (int i = 0; i < n; i++)
                {
                    mismatches += top1[i] == expected[i] ? 0 : 1;
                }
            }
            catch (final RuntimeException e)
            {
                failures++;
                if (first.isEmpty())
                {
                    first = String.valueOf(e.getMessage());
                }
            }
            sessions++;
            totals[1]++;
            done += n;
            totals[0] += n;
            if (done >= nextSample || done == inferences)
            {
                samples.add(sample(name, done, totals, start, server, dealer));
                progress(name, done);
                nextSample = (done / sampleEvery + 1) * sampleEvery;
            }
        }
        return new Phase(name, done, sessions, failures, mismatches, (System.nanoTime() - t0) / NANOS_PER_SECOND,
            first);
    }

    private void progress(final String phase, final long done)
    {
        if (done % Math.max(sampleEvery, inferences / 10) < Math.max(batch, sessionQueries) || done == inferences)
        {
            stdout.printf(Locale.ROOT, "  %s: %,d / %,d%n", phase, done, inferences);
        }
    }

    private static Sample sample(final String phase, final long inPhase, final long[] totals, final long start,
                                 final RoleProcesses.Child server, final RoleProcesses.Child dealer)
    {
        return new Sample(phase, inPhase, totals[0], totals[1], (System.nanoTime() - start) / NANOS_PER_SECOND,
            server.residentBytes(), dealer.residentBytes());
    }

    private static Dataset testSet() throws IOException
    {
        return FashionMnist.find().isPresent() ?
            FashionMnist.load(FashionMnist.Split.TEST, FashionMnist.STANDARD_NORMALIZATION) :
            BundledSample.fashionMnistTest(FashionMnist.STANDARD_NORMALIZATION);
    }

    /**
     * Resident memory summary of one process over the samples.
     *
     * @param start at the first sample (processes ready, no inference yet).
     * @param warm at the first sample at or after --warm-up inferences.
     * @param end at the last sample.
     * @param maxAfterWarm largest after warm-up.
     * @param minAfterWarm smallest after warm-up.
     */
    record Memory(long start, long warm, long end, long maxAfterWarm, long minAfterWarm)
    {
        /** Largest distance of a sample after warm-up from the warm value. */
        long maxDrift()
        {
            return Math.max(maxAfterWarm - warm, warm - minAfterWarm);
        }
    }

    /** The summary of the server's ({@code server} true) or the dealer's memory. */
    static Memory memory(final List<Sample> samples, final long warmUp, final boolean server)
    {
        long warm = -1;
        long max = Long.MIN_VALUE;
        long min = Long.MAX_VALUE;
        for (final Sample s : samples)
        {
            final long rss = server ? s.serverRss() : s.dealerRss();
            if (warm < 0 && s.total() >= warmUp)
            {
                warm = rss;
            }
            if (warm >= 0)
            {
                max = Math.max(max, rss);
                min = Math.min(min, rss);
            }
        }
        final long first = server ? samples.getFirst().serverRss() : samples.getFirst().dealerRss();
        final long last = server ? samples.getLast().serverRss() : samples.getLast().dealerRss();
        if (warm < 0)
        {
            warm = last;
            max = last;
            min = last;
        }
        return new Memory(first, warm, last, max, min);
    }

    private void write(final List<Phase> phases, final List<Sample> samples, final MachineStamp stamp,
                       final String source, final String security) throws IOException
    {
        Files.createDirectories(out);
        final StringBuilder csv = new StringBuilder(CSV_HEADER).append('\n');
        for (final Sample s : samples)
        {
            csv.append(String.format(Locale.ROOT, "%s,%d,%d,%d,%.3f,%d,%d%n", ProcessAgreement.quote(s.phase()),
                s.inPhase(), s.total(), s.sessions(), s.seconds(), s.serverRss(), s.dealerRss()));
        }
        final long failures = phases.stream().mapToLong(Phase::failures).sum();
        final long total = phases.stream().mapToLong(Phase::inferences).sum();
        final StringBuilder md = new StringBuilder("# Soak: consecutive W2 inferences through one server process\n\n");
        md.append(String.format(Locale.ROOT, "- Model: W2 %s, %s.%n", variant, source));
        md.append("- Processes: one `polypi server` and one `polypi dealer` (child JVMs, ").append(childOptions
                .isEmpty() ? "the JVM's default heap sizing" : "options " + String.join(" ", childOptions))
            .append(") for the whole soak; the client in the bench JVM (`RemoteClient`); ").append(security)
            .append(".\n");
        md.append(String.format(Locale.ROOT, "- %,d inferences per phase at batch %d; phases: %s; images cycle " +
            "through the Fashion-MNIST test images; each prediction is compared with the plaintext fixed-point " +
            "model.%n", inferences, batch, mode.name().toLowerCase(Locale.ROOT)));
        md.append(String.format(Locale.ROOT, "- Resident memory: VmRSS of /proc/PID/status, sampled every %d " +
            "inferences; warm = the first sample at or after %,d inferences.%n", sampleEvery, warmUp));
        md.append("- Machine: ").append(stamp.machine()).append("; ").append(stamp.jdk()).append("; commit ")
            .append(stamp.commit()).append("; ").append(stamp.date()).append(".\n\n");
        md.append("| phase | inferences | sessions | failures | predictions differing from plaintext | wall s | " +
            "inferences/s |\n|---|---:|---:|---:|---:|---:|---:|\n");
        for (final Phase p : phases)
        {
            md.append(String.format(Locale.ROOT, "| %s | %,d | %,d | %d | %d | %.1f | %.1f |%n", p.name(),
                p.inferences(), p.sessions(), p.failures(), p.mismatches(), p.seconds(), p.inferences() / p.seconds()));
        }
        md.append("\n| process | start MiB | warm MiB | end MiB | max after warm-up MiB | max drift after warm-up " +
            "MiB |\n|---|---:|---:|---:|---:|---:|\n");
        for (final boolean server : new boolean[]{true, false})
        {
            final Memory m = memory(samples, warmUp, server);
            md.append(String.format(Locale.ROOT, "| %s | %.1f | %.1f | %.1f | %.1f | %.1f |%n", server ? "server" :
                "dealer", m.start() / MIB, m.warm() / MIB, m.end() / MIB, m.maxAfterWarm() / MIB,
                m.maxDrift() / MIB));
        }
        md.append('\n');
        md.append(failures == 0 ? String.format(Locale.ROOT, "**Zero failures** in %,d inferences.%n", total) :
            String.format(Locale.ROOT, "**%d failures** in %,d inferences; first: %s%n", failures, total,
                phases.stream().map(Phase::firstFailure).filter(s -> !s.isEmpty()).findFirst().orElse("")));
        md.append("\nThe samples are in soak.csv (one row per sample).\n");
        ProcessAgreement.write(out.resolve("soak.md"), md.toString());
        ProcessAgreement.write(out.resolve("soak.csv"), csv.toString());
        stdout.println("wrote " + out.resolve("soak.md") + " and soak.csv: " + (failures == 0 ? "zero failures" :
            failures + " failures"));
    }

    /** The services' last output lines, on the console: what the server or dealer said when a session failed. */
    private void reportChildren(final RoleProcesses.Child server, final RoleProcesses.Child dealer)
    {
        for (final RoleProcesses.Child c : new RoleProcesses.Child[]{server, dealer})
        {
            final List<String> lines = c.lines();
            stdout.println("  last output of " + c + ":");
            for (final String line : lines.subList(Math.max(0, lines.size() - CHILD_LINES), lines.size()))
            {
                stdout.println("    " + line);
            }
        }
    }
}
