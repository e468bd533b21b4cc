package org.polypi.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.polypi.datasets.BundledSample;
import org.polypi.datasets.Dataset;
import org.polypi.datasets.FashionMnist;
import org.polypi.engine.net.KeyMaterial;
import org.polypi.engine.net.NetworkProfile;
import org.polypi.engine.net.PublicModel;
import org.polypi.engine.net.SessionRequest;
import org.polypi.engine.plan.CompiledModel;
import org.polypi.kernels.Kernels;
import org.polypi.model.ActivationKind;
import org.polypi.model.GraphTransforms;
import org.polypi.model.ModelFormat;
import org.polypi.model.ModelGraph;
import org.polypi.model.ReferenceNetworks;
import org.polypi.model.ReferenceNetworks.Workload;
import org.polypi.model.reference.FixedPointInference;

/**
 * The main job: three separate processes (dealer, server, client: child JVMs of this one) on loopback over TLS
 * classify the bundled Fashion-MNIST sample privately, once with the co-designed polynomial network and once with its
 * ReLU version; the report compares both with the plaintext fixed-point model and with each other.
 * <p>
 * Children never outlive the demo: their standard input is a pipe from this process, which they watch
 * ({@code --watch-parent}: exit when it closes, as it does when this JVM dies for any reason); they are also closed,
 * then destroyed, when the demo ends or fails, and killed by a shutdown hook on Ctrl-C.
 */
final class Demo
{
    private static final double NANOS_PER_MILLI = 1e6;
    private static final double PERCENT = 100.0;
    private static final long UNTRAINED_SEED = 20261123L;
    private static final int PASSWORD_BYTES = 18;
    private static final int P50 = 50;
    private static final int P90 = 90;
    /** Queries before the measured ones: the child JVMs compile the hot code during the first queries. */
    private static final int WARM_UP = 10;
    private static final Pattern LISTENING = Pattern.compile("listening on (\\S+?),");
    private static final Pattern PROGRESS = Pattern.compile("^progress (\\d+) (\\d+)$");
    private static final Pattern DONE = Pattern.compile("session (\\p{XDigit}{16}) done: .*setup sent (\\d+) B \\| " +
        "offline sent (\\d+) B [^|]*\\| online sent (\\d+) B rounds (\\d+)");
    private static final String PASSWORD_ENV = NetworkOptions.DEFAULT_PASSWORD_ENV;

    /**
     * What to run.
     *
     * @param model          the polynomial model file.
     * @param modelDefault   whether {@code model} is the default path (an untrained stand-in is used if missing).
     * @param reluModel      the ReLU model file, or null to skip it.
     * @param reluDefault    as {@code modelDefault}.
     * @param images         bundled images to classify.
     * @param batch          images per query.
     * @param profile        emulated network.
     * @param plaintext      no TLS.
     * @param timeout        limit of each network step and process start.
     */
    record Options(Path model, boolean modelDefault, Path reluModel, boolean reluDefault, int images, int batch,
                   NetworkProfile profile, boolean plaintext, Duration timeout)
    {
    }

    /** One network's run. */
    private record Outcome(String label, String source, int[] top1, int[] reference, int[] labels,
                           long[] onlineNanos, int batch, long serverOnline, long clientOnline, long dealerOffline,
                           long rounds, long setupBytes, int queries)
    {
        int agreement()
        {
            int n = 0;
            for (int i = 0; i < top1.length; i++)
            {
                n += top1[i] == reference[i] ? 1 : 0;
            }
            return n;
        }

        int correct()
        {
            int n = 0;
            for (int i = 0; i < top1.length; i++)
            {
                n += top1[i] == labels[i] ? 1 : 0;
            }
            return n;
        }

        /** Online latency per image of each query, sorted. */
        double[] perImageMillis()
        {
            final double[] v = new double[onlineNanos.length];
            for (int q = 0; q < v.length; q++)
            {
                v[q] = onlineNanos[q] / NANOS_PER_MILLI / batch;
            }
            Arrays.sort(v);
            return v;
        }
    }

    private final Options options;
    private final PrintStream out;
    private final List<ChildProcess> children = new CopyOnWriteArrayList<>();
    private final boolean terminal = System.console() != null;

    Demo(final Options options, final PrintStream out)
    {
        this.options = options;
        this.out = out;
    }

    /** Runs the demo; true if every private prediction agreed with the plaintext model. */
    boolean run() throws Exception
    {
        if (options.images() < 1 || options.images() > BundledSample.COUNT)
        {
            throw new UsageException("--images must be in [1, " + BundledSample.COUNT + "], was " + options.images());
        }
        if (options.batch() < 1 || options.batch() > SessionRequest.MAX_BATCH)
        {
            throw new UsageException("--batch must be in [1, " + SessionRequest.MAX_BATCH + "], was " +
                options.batch());
        }
        final Path work = Files.createTempDirectory("polypi-demo-");
        final Thread hook = new Thread(() ->
        {
            children.forEach(ChildProcess::kill);
            deleteTree(work);
        }, "polypi-demo-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
        try
        {
            out.printf(Locale.ROOT, "PolyPI demo: %d bundled Fashion-MNIST test images, dealer, server and client as " +
                    "three processes on loopback, %s, profile %s, batch %d, %s kernels%n", options.images(),
                options.plaintext() ? "plaintext (TLS disabled)" : "TLS 1.3 with mutual authentication",
                options.profile().name(), options.batch(), Kernels.get().name());
            final Map<String, String> env;
            final Path keys = work.resolve("keys");
            if (options.plaintext())
            {
                env = Map.of();
            }
            else
            {
                final byte[] secret = new byte[PASSWORD_BYTES];
                new SecureRandom().nextBytes(secret);
                final String password = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
                final long t0 = System.nanoTime();
                KeyMaterial.generate(keys, "demo", password.toCharArray());
                out.printf(Locale.ROOT, "keys: one key pair and pinned trust store per role in %s (%.1f s; deleted " +
                    "at the end)%n", keys, (System.nanoTime() - t0) / 1e9);
                env = Map.of(PASSWORD_ENV, password);
            }
            final List<Outcome> outcomes = new ArrayList<>();
            final int total = options.reluModel() == null ? 1 : 2;
            outcomes.add(runOne(1, total, "polynomial", options.model(), options.modelDefault(), ActivationKind.POLY,
                work, keys, env));
            if (options.reluModel() != null)
            {
                outcomes.add(runOne(2, total, "ReLU", options.reluModel(), options.reluDefault(), ActivationKind.RELU,
                    work, keys, env));
            }
            report(outcomes);
            return outcomes.stream().allMatch(o -> o.agreement() == o.top1().length);
        }
        finally
        {
            for (final ChildProcess c : children)
            {
                c.close();
            }
            try
            {
                Runtime.getRuntime().removeShutdownHook(hook);
            }
            catch (final IllegalStateException e)
            {
                // Shutting down: the hook runs anyway.
            }
            deleteTree(work);
        }
    }

    private Outcome runOne(final int index, final int total, final String label, final Path file,
                           final boolean isDefault, final ActivationKind kind, final Path work, final Path keys,
                           final Map<String, String> env) throws Exception
    {
        final String source;
        final Path modelFile;
        if (Files.isRegularFile(file))
        {
            modelFile = file;
            source = file.toString();
        }
        else if (isDefault)
        {
            modelFile = work.resolve("w2-" + kind.name().toLowerCase(Locale.ROOT) + "-untrained.pim");
            ModelFormat.write(untrained(kind), modelFile);
            source = "UNTRAINED stand-in: " + file + " not found (train it: see trainer/README.md)";
        }
        else
        {
            throw new UsageException("model " + file + ": no such file");
        }
        final ModelGraph model = Models.read("--model", modelFile);
        final int f = model.header().fractionalBits();
        final CompiledModel compiled = PublicModel.compileChecked(model, f);
        final Path publicFile = work.resolve(label.toLowerCase(Locale.ROOT) + "-public.pim");
        ModelFormat.write(PublicModel.of(model), publicFile);
        out.printf(Locale.ROOT, "%n[%d/%d] %s network: %s, %s%n", index, total, label,
            model.header().architecture(), source);
        out.printf(Locale.ROOT, "  %,d multiply-adds, %,d activation elements, plan %s%n", model.multiplyAdds(),
            model.activationSites(), compiled.plan().hashHex().substring(0, 16));

        Dataset data = BundledSample.fashionMnistTest(FashionMnist.STANDARD_NORMALIZATION).slice(0, options.images());
        final int[] shape = compiled.plan().tensor(compiled.plan().inputTensor()).shape();
        if (shape.length == 3 && (shape[1] != data.height() || shape[2] != data.width()))
        {
            data = data.padTo(shape[1], shape[2]);
        }
        final int[] reference = FixedPointInference.of(GraphTransforms.foldBatchNorm(model), f)
            .top1(data.toFloatArray(), data.count());

        final List<String> common = new ArrayList<>(List.of("--profile", options.profile().name(), "--timeout",
            seconds(options.timeout()), "--connect-timeout", seconds(options.timeout()), "--watch-parent"));
        if (options.plaintext())
        {
            common.add("--plaintext");
        }
        else
        {
            common.addAll(List.of("--keys", keys.toString()));
        }
        final ChildProcess dealer = start("dealer", List.of("dealer", "--model", publicFile.toString(), "--listen",
            "127.0.0.1:0", "--sessions", "1"), common, env, work, line -> { });
        final String dealerAddress = dealer.await(LISTENING, options.timeout()).group(1);
        final ChildProcess server = start("server", List.of("server", "--model", modelFile.toString(), "--listen",
            "127.0.0.1:0", "--dealer", dealerAddress, "--sessions", "1"), common, env, work, line -> { });
        final String serverAddress = server.await(LISTENING, options.timeout()).group(1);
        final Path reportFile = work.resolve(label.toLowerCase(Locale.ROOT) + "-report.properties");
        final ProgressBar bar = new ProgressBar(out, "images", terminal);
        final ChildProcess client = start("client", List.of("client", "--model", publicFile.toString(), "--server",
            serverAddress, "--dealer", dealerAddress, "--images", Integer.toString(options.images()), "--batch",
            Integer.toString(options.batch()), "--warm-up", Integer.toString(WARM_UP), "--report",
            reportFile.toString(), "--progress"), common, env, work,
            line ->
            {
                final Matcher m = PROGRESS.matcher(line);
                if (m.matches())
                {
                    bar.update(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
                }
            });
        out.printf(Locale.ROOT, "  dealer pid %d on %s, server pid %d on %s, client pid %d%n", dealer.pid(),
            dealerAddress, server.pid(), serverAddress, client.pid());
        final Duration whole = options.timeout().multipliedBy(Math.max(2, options.images() / options.batch()));
        final int status;
        try
        {
            status = client.waitFor(whole);
        }
        finally
        {
            bar.end();
        }
        if (status != 0)
        {
            throw client.failure("failed (exit status " + status + ")");
        }
        final Properties report = new Properties();
        try (Reader r = Files.newBufferedReader(reportFile, StandardCharsets.UTF_8))
        {
            report.load(r);
        }
        final String session = report.getProperty("session");
        final Matcher serverDone = done(server, session);
        final Matcher dealerDone = done(dealer, session);
        for (final ChildProcess c : List.of(client, server, dealer))
        {
            c.close();
            children.remove(c);
        }
        final int queries = (options.images() + options.batch() - 1) / options.batch();
        // The server's and the dealer's totals include the warm-up queries (all queries cost the same).
        final double measured = (double)queries / (queries + WARM_UP);
        return new Outcome(label, source, ints(report.getProperty("top1")), reference, data.labels(),
            longs(report.getProperty("online.nanos")), options.batch(),
            Math.round(Long.parseLong(serverDone.group(4)) * measured),
            Long.parseLong(report.getProperty("online.sent")),
            Math.round(Long.parseLong(dealerDone.group(3)) * measured),
            Long.parseLong(report.getProperty("online.rounds")) / queries,
            Long.parseLong(serverDone.group(2)) + Long.parseLong(report.getProperty("setup.sent")) +
                Long.parseLong(dealerDone.group(2)), queries);
    }

    private ChildProcess start(final String name, final List<String> args, final List<String> common,
                               final Map<String, String> env, final Path work,
                               final Consumer<String> listener) throws IOException
    {
        final List<String> all = new ArrayList<>(args);
        all.addAll(common);
        final ChildProcess c = ChildProcess.start(name, all, env, listener);
        children.add(c);
        return c;
    }

    /** The "session ... done" line of a service child, after it exits (it serves one session). */
    private Matcher done(final ChildProcess child, final String session) throws InterruptedException
    {
        final int status = child.waitFor(options.timeout());
        for (final String line : child.lines())
        {
            final Matcher m = DONE.matcher(line);
            if (m.find() && m.group(1).equals(session))
            {
                return m;
            }
        }
        throw child.failure("exited with status " + status + " without reporting session " + session);
    }

    private void report(final List<Outcome> outcomes)
    {
        final int n = outcomes.getFirst().top1().length;
        out.printf(Locale.ROOT, "%nResults (%d images, batch %d, profile %s, after %d warm-up queries; bytes per " +
            "image, each party's sends)%n", n, options.batch(), options.profile().name(), WARM_UP);
        final StringBuilder header = new StringBuilder(String.format(Locale.ROOT, "  %-44s", ""));
        for (final Outcome o : outcomes)
        {
            header.append(String.format(Locale.ROOT, "%16s", o.label()));
        }
        out.println(header);
        row(outcomes, "accuracy of the private predictions", o -> String.format(Locale.ROOT, "%.1f %%",
            PERCENT * o.correct() / n));
        row(outcomes, "agreement with the plaintext fixed-point model", o -> o.agreement() + " / " + n);
        row(outcomes, "online latency per image, median", o -> String.format(Locale.ROOT, "%.3f ms",
            percentile(o.perImageMillis(), P50)));
        row(outcomes, "online latency per image, p90", o -> String.format(Locale.ROOT, "%.3f ms",
            percentile(o.perImageMillis(), P90)));
        row(outcomes, "online bytes, server", o -> bytes((double)o.serverOnline() / n));
        row(outcomes, "online bytes, client", o -> bytes((double)o.clientOnline() / n));
        row(outcomes, "offline bytes, dealer (correlated randomness)", o -> bytes((double)o.dealerOffline() / n));
        row(outcomes, "online rounds per query", o -> Long.toString(o.rounds()));
        row(outcomes, "set-up per session (all parties)", o -> bytes(o.setupBytes()));
        if (outcomes.size() == 2)
        {
            final double poly = percentile(outcomes.get(0).perImageMillis(), P50);
            final double relu = percentile(outcomes.get(1).perImageMillis(), P50);
            final double bytesRatio = (double)(outcomes.get(1).serverOnline() + outcomes.get(1).clientOnline()) /
                Math.max(1, outcomes.get(0).serverOnline() + outcomes.get(0).clientOnline());
            out.printf(Locale.ROOT, "%nThe polynomial network is %.1fx faster online than its ReLU version (median " +
                    "latency), with %.1fx fewer online bytes and %d instead of %d rounds.%n", relu / poly, bytesRatio,
                outcomes.get(0).rounds(), outcomes.get(1).rounds());
        }
        for (final Outcome o : outcomes)
        {
            if (o.agreement() != n)
            {
                out.printf(Locale.ROOT, "FAILED: %s network: %d of %d private predictions differ from the plaintext " +
                    "model%n", o.label(), n - o.agreement(), n);
            }
            if (o.source().startsWith("UNTRAINED"))
            {
                out.printf(Locale.ROOT, "note: the %s network is an untrained stand-in (accuracy at chance level).%n",
                    o.label());
            }
        }
    }

    private void row(final List<Outcome> outcomes, final String name,
                     final Function<Outcome, String> value)
    {
        final StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "  %-44s", name));
        for (final Outcome o : outcomes)
        {
            sb.append(String.format(Locale.ROOT, "%16s", value.apply(o)));
        }
        out.println(sb);
    }

    private static String bytes(final double b)
    {
        return b >= 1 << 20 ? String.format(Locale.ROOT, "%.2f MiB", b / (1 << 20)) :
            b >= 1 << 10 ? String.format(Locale.ROOT, "%.1f KiB", b / (1 << 10)) :
                String.format(Locale.ROOT, "%.0f B", b);
    }

    private static double percentile(final double[] sorted, final int p)
    {
        final int rank = (int)Math.ceil(p / PERCENT * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    private static String seconds(final Duration d)
    {
        return String.format(Locale.ROOT, "%.3f", d.toNanos() / 1e9);
    }

    private static ModelGraph untrained(final ActivationKind kind)
    {
        ReferenceNetworks.Options o = ReferenceNetworks.Options.of(kind).withBatchNorm(true).withSeed(UNTRAINED_SEED)
            .withFixedPoint(ReferenceNetworks.DEFAULT_FRACTIONAL_BITS, ReferenceNetworks.DEFAULT_ACTIVATION_BOUND);
        if (kind == ActivationKind.POLY)
        {
            o = o.withPoly(ReferenceNetworks.PILLAR_DEGREE4);
        }
        return GraphTransforms.foldBatchNorm(ReferenceNetworks.build(Workload.LENET, o));
    }

    private static int[] ints(final String csv)
    {
        return Arrays.stream(csv.split(",")).mapToInt(Integer::parseInt).toArray();
    }

    private static long[] longs(final String csv)
    {
        return Arrays.stream(csv.split(",")).mapToLong(Long::parseLong).toArray();
    }

    private static void deleteTree(final Path dir)
    {
        if (!Files.exists(dir))
        {
            return;
        }
        try (Stream<Path> s = Files.walk(dir))
        {
            s.sorted(Comparator.reverseOrder()).forEach(p ->
            {
                try
                {
                    Files.deleteIfExists(p);
                }
                catch (final IOException e)
                {
                    // Best effort: a temporary folder.
                }
            });
        }
        catch (final IOException e)
        {
            // Best effort.
        }
    }
}
