package org.polypi.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.polypi.datasets.Dataset;
import org.polypi.kernels.Kernels;
import org.polypi.kernels.LinearKernels;
import org.polypi.model.ActivationKind;
import org.polypi.model.ReferenceNetworks;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code polypi bench}: the end-to-end benchmark of issue 7 (and, with {@code --engine-report}, the engine report of
 * issue 4). Runs the matrix workload x activation x network profile x batch with server, client and dealer as
 * threads of this JVM, and writes {@code <date>-<commit>.md}, {@code .csv} and PNG charts plus stable copies
 * {@code latest.*} into the output folder. Run it on an otherwise idle machine: {@code bash bench/run-e2e.sh}.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"End-to-end benchmark of PolyPI: workloads W1-W4 (W5 with --scale) x activation (relu, pillar, " +
        "pillar-hb, pillar-espn, crypten, herpn, senet50) x profile (inmem, lan, lan-1g, wan) x batch (1, 64).",
        "Writes <out>/<date>-<commit>.md and .csv, PNG charts and latest.* copies; --engine-report writes " +
            "<out>/engine.md and engine.csv instead."})
public final class EndToEndBench implements Callable<Integer>
{
    private static final int[] BATCHES = {1, 64};
    private static final int RATE_M = 1024;
    private static final int RATE_K = 576;
    private static final int RATE_N = 64;
    private static final int RATE_WARMUP = 5;
    private static final long RATE_WARMUP_NANOS = 3_000_000_000L;
    private static final int RATE_RUNS = 21;
    private static final int RATE_READINGS = 5;
    private static final double BYTES_PER_GIB = 1L << 30;
    /**
     * Measured queries per engine-report cell at most (the cell's time budget stops it earlier). A median of 20 moved
     * by 10-20 % between runs at batch 1, where this machine's online times are bimodal (W3 PILLAR: about a fifth of
     * the queries 2.6-4.8 ms slower, docs/profiling.md); a batch-1 query takes 25 ms, so 200 fit easily.
     */
    private static final int ENGINE_REPORT_RUNS = 200;
    /** Measured calls per activation protocol and size. */
    private static final int PROTOCOL_RUNS = 10;

    @Option(names = "--quick", description = "A small subset (W1-W3, the main activations, inmem and lan, and W2/W3 " +
        "on lan-1g and wan at batch 1) with 3 warm-up and at most 10 measured queries per cell: under 3 minutes " +
        "on an idle 2-core machine.")
    boolean quick;

    @Option(names = "--engine-report", description = "Write the issue-4 engine report (in memory, W1-W4 x every " +
        "activation, batch 1 and 64) to <out>/engine.md and engine.csv.")
    boolean engineReport;

    @Option(names = "--scale", description = "Add W5 (resnet50) to the matrix.")
    boolean scale;

    @Option(names = "--filter", split = ",", paramLabel = "GLOB",
        description = "Only cells whose id (workload/activation/profile/batch, e.g. w2/pillar/lan/1) matches " +
            "one of these globs (* stays within a /, ** crosses it), e.g. 'w2/*/lan/*,w3/pillar/**'.")
    List<String> filters = new ArrayList<>();

    @Option(names = "--out", paramLabel = "DIR", description = "Output folder (default: ${DEFAULT-VALUE}).")
    Path out = Path.of("bench", "results");

    @Option(names = "--models", paramLabel = "DIR", description = "Trained models <w>-<kind>.pim (default: " +
        "${DEFAULT-VALUE}); cells without one use random reference weights.")
    Path models = Path.of("trainer", "models");

    @Option(names = "--runs", description = "Measured queries per cell at most (default: 20; 10 with --quick, 200 " +
        "with --engine-report).")
    Integer runs;

    @Option(names = "--warmup", description = "Warm-up queries per cell (default: 5; 3 with --quick).")
    Integer warmup;

    @Option(names = "--min-runs", description = "Measured queries however slow a query is (default: " +
        "${DEFAULT-VALUE}).")
    int minRuns = 3;

    @Option(names = "--cell-seconds", description = "Time budget of a cell's measured queries; slower cells run " +
        "fewer queries, down to --min-runs (default: 20; 4 with --quick).")
    Double cellSeconds;

    @Option(names = "--images", description = "Test images for the accuracy of trained models (default: 1000; 200 " +
        "with --quick).")
    Integer images;

    @Option(names = "--bits", description = "Fractional bits of the random-weight models (trained models use " +
        "their header's; default: ${DEFAULT-VALUE}).")
    int bits = 12;

    @Option(names = "--no-tls", description = "Plaintext TCP instead of TLS 1.3.")
    boolean noTls;

    @Option(names = "--timeout", description = "Receive timeout of every party in seconds (default: " +
        "${DEFAULT-VALUE}).")
    int timeoutSeconds = 300;

    @Option(names = "--max-material-gib", description = "Skip cells whose dealer material per query exceeds this " +
        "(default: ${DEFAULT-VALUE}).")
    double maxMaterialGib = 3;

    @Option(names = "--note", description = "A note printed on top of the report (e.g. that the machine was busy).")
    String note = "";

    @Option(names = "--list", description = "Print the selected cells and exit.")
    boolean list;

    @Option(names = "--kernels", paramLabel = "BACKEND", description = "Kernel backend of this run: vector, native " +
        "(the fused activation in C, libpolypi.so) or scalar; the same as -Dpolypi.kernels (default: that " +
        "property, else vector). The report names the backend it ran.")
    String kernelBackend;

    @Option(names = "--no-fork", description = "Run every cell in this JVM instead of each workload's cells in a " +
        "fresh one (the JIT then compiles a workload's kernels with the profiles of the workloads before it).")
    boolean noFork;

    @Option(names = WorkloadForks.RESULTS_OPTION, hidden = true, paramLabel = "FILE",
        description = "Worker mode (set by the parent): run the cells, write their results here, write no report.")
    Path workerResults;

    @Option(names = WorkloadForks.RATE_OPTION, hidden = true, description = "Worker mode: the parent's product rate.")
    Double workerRate;

    private PrintStream stdout = System.out;
    private String[] args = new String[0];

    /** Command-line entry point. */
    public static void main(final String[] args)
    {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the bench with {@code args}; returns the exit code (0 on success). */
    public static int run(final String[] args, final PrintStream out, final PrintStream err)
    {
        System.setProperty("java.awt.headless", "true");
        final EndToEndBench bench = new EndToEndBench();
        bench.stdout = out;
        bench.args = args.clone();
        final CommandLine cl = new CommandLine(bench);
        cl.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
        cl.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        cl.setExecutionExceptionHandler((e, line, parsed) ->
        {
            line.getErr().println("bench: " + e.getMessage());
            return 1;
        });
        return cl.execute(args);
    }

    /**
     * Makes {@code name} this JVM's backend before anything has chosen one, or fails saying why: an unknown or
     * unloadable backend (Kernels.byName's message), or one asked for after the JVM already runs another.
     */
    static void selectBackend(final String name)
    {
        final String wanted = Kernels.byName(name).name();
        final String before = System.getProperty(Kernels.BACKEND_PROPERTY);
        System.setProperty(Kernels.BACKEND_PROPERTY, wanted);
        final String running = Kernels.get().name();
        if (!running.equals(wanted))
        {
            if (before == null)
            {
                System.clearProperty(Kernels.BACKEND_PROPERTY);
            }
            else
            {
                System.setProperty(Kernels.BACKEND_PROPERTY, before);
            }
            throw new IllegalStateException("--kernels " + name + ": this JVM already runs the " + running +
                " backend (chosen before the option was read); pass -D" + Kernels.BACKEND_PROPERTY + "=" + wanted +
                " to the JVM instead");
        }
    }

    /** The cells this invocation selects, in run order. */
    List<E2eCell> cells()
    {
        final List<E2eCell> all = new ArrayList<>();
        final List<E2eWorkload> workloads = new ArrayList<>(List.of(E2eWorkload.W1, E2eWorkload.W2, E2eWorkload.W3,
            E2eWorkload.W4));
        if (scale)
        {
            workloads.add(E2eWorkload.W5);
        }
        for (final E2eWorkload w : workloads)
        {
            for (final E2eVariant v : E2eVariant.values())
            {
                for (final E2eProfile p : engineReport ? List.of(E2eProfile.INMEM) : List.of(E2eProfile.values()))
                {
                    for (final int b : BATCHES)
                    {
                        final E2eCell c = new E2eCell(w, v, p, b);
                        if ((!quick || engineReport || inQuick(c)) && matches(c))
                        {
                            all.add(c);
                        }
                    }
                }
            }
        }
        return all;
    }

    /** The --quick subset: what the goals need, on the small workloads. */
    static boolean inQuick(final E2eCell c)
    {
        final E2eVariant v = c.variant();
        final boolean main = v == E2eVariant.RELU || v == E2eVariant.PILLAR;
        final boolean baseline = v == E2eVariant.PILLAR_HB || v == E2eVariant.PILLAR_ESPN || v == E2eVariant.CRYPTEN;
        return switch (c.workload())
        {
            case W1 -> main && c.profile() == E2eProfile.LAN;
            case W2 -> (c.profile() == E2eProfile.INMEM || c.profile() == E2eProfile.LAN) &&
                (!baseline || c.batch() == 1) || main && c.batch() == 1;
            case W3 -> main && c.batch() == 1 && c.profile() != E2eProfile.LAN_1G;
            default -> false;
        };
    }

    private boolean matches(final E2eCell c)
    {
        if (filters.isEmpty())
        {
            return true;
        }
        for (final String f : filters)
        {
            final PathMatcher m = FileSystems.getDefault().getPathMatcher("glob:" + f.trim());
            if (m.matches(Path.of(c.id())))
            {
                return true;
            }
        }
        return false;
    }

    @Override
    public Integer call() throws IOException
    {
        if (kernelBackend != null)
        {
            selectBackend(kernelBackend);
        }
        final List<E2eCell> cells = cells();
        if (cells.isEmpty())
        {
            throw new IllegalArgumentException("no cell matches --filter " + String.join(",", filters));
        }
        if (list)
        {
            for (final E2eCell c : cells)
            {
                stdout.println(c.id());
            }
            return 0;
        }
        final int maxRuns = runs != null ? runs : quick ? 10 : engineReport ? ENGINE_REPORT_RUNS : 20;
        final int warm = warmup != null ? warmup : quick ? 3 : 5;
        final double budget = cellSeconds != null ? cellSeconds : quick ? 4 : 20;
        final E2eRunner.Settings settings = new E2eRunner.Settings(warm, maxRuns, Math.min(minRuns, maxRuns), budget,
            Duration.ofSeconds(timeoutSeconds), (long)(maxMaterialGib * BYTES_PER_GIB));
        final boolean worker = workerResults != null;
        if (worker && (workerRate == null || !(workerRate > 0)))
        {
            throw new IllegalArgumentException(WorkloadForks.RESULTS_OPTION + " needs " + WorkloadForks.RATE_OPTION +
                " > 0");
        }
        final MachineStamp stamp = worker ? null : MachineStamp.collect();
        final double startRate;
        if (worker)
        {
            startRate = workerRate;
        }
        else
        {
            stdout.printf(Locale.ROOT, "PolyPI %s: %d cells, %s, commit %s%s%n", engineReport ? "engine report" :
                "end-to-end bench", cells.size(), stamp.machine(), stamp.commit(), noFork ? "" :
                ", each workload in a fresh JVM");
            startRate = productRate();
            stdout.printf(Locale.ROOT, "single-core Z_2^64 product rate (%dx%dx%d): %.2f Gma/s%n", RATE_M, RATE_K,
                RATE_N, startRate / 1e9);
        }

        final List<E2eResult> results = new ArrayList<>();
        final List<ActivationProtocols.Result> protocols;
        final long start = System.nanoTime();
        try (E2eNetwork network = new E2eNetwork(!noTls, Duration.ofSeconds(timeoutSeconds)))
        {
            if (worker)
            {
                WorkloadForks.write(runCells(cells, settings, network, startRate), workerResults);
                return 0;
            }
            if (noFork)
            {
                results.addAll(runCells(cells, settings, network, startRate));
            }
            else
            {
                final List<String> java = WorkloadForks.javaCommand(EndToEndBench.class);
                for (final List<E2eCell> group : WorkloadForks.byWorkload(cells))
                {
                    stdout.printf(Locale.ROOT, "%s: %d cells in a fresh JVM%n", group.getFirst().workload(),
                        group.size());
                    final List<E2eResult> done = WorkloadForks.run(java, args, group, startRate, stdout);
                    for (final E2eResult r : done)
                    {
                        results.add(r);
                        stdout.println(progress(results.size(), cells.size(), r));
                    }
                }
            }
            protocols = activationProtocols(cells, settings, network);
        }
        final double minutes = (System.nanoTime() - start) / 60e9;
        // The rate is read again after the cells and the higher reading defines every floor: a reading taken
        // while something else ran (a JIT burst, another process) would lower the floor's rate and flatter the
        // ratios (one run read 16.7 Gma/s where every other read 18.9-20.8).
        final double endRate = productRate();
        stdout.printf(Locale.ROOT, "single-core Z_2^64 product rate after the cells: %.2f Gma/s%n", endRate / 1e9);
        final double rate = Math.max(startRate, endRate);
        final List<E2eResult> floored = new ArrayList<>(results.size());
        for (final E2eResult r : results)
        {
            floored.add(r.ok() ? r.atRate(startRate, rate) : r);
        }
        stdout.printf(Locale.ROOT, "measured in %.1f minutes%n", minutes);
        final String settingsText = String.format(Locale.ROOT, "%s; %s; %d warm-up and up to %d measured " +
                "queries per cell, fewer (at least %d) when a cell's queries exceed %.0f s; whole run %.1f minutes",
            quick ? "--quick subset" : engineReport ? "engine report" : "full matrix",
            noFork ? "every cell in one JVM" : "each workload's cells in a fresh JVM", warm, maxRuns,
            settings.minRuns(), budget, minutes);
        write(floored, protocols, stamp, rate, startRate, endRate, settingsText);
        return 0;
    }

    /** Measures {@code cells} in this JVM, in order, with floors at {@code rate}; prints a progress line each. */
    private List<E2eResult> runCells(final List<E2eCell> cells, final E2eRunner.Settings settings,
                                     final E2eNetwork network, final double rate) throws IOException
    {
        final List<E2eResult> results = new ArrayList<>();
        final E2eRunner runner = new E2eRunner(settings, network, rate);
        Dataset testImages = null;
        E2eModel model = null;
        E2eCell modelOf = null;
        E2eResult.Accuracy accuracy = E2eResult.Accuracy.NONE;
        for (int i = 0; i < cells.size(); i++)
        {
            final E2eCell c = cells.get(i);
            E2eResult r;
            if (c.variant().unsupported() != null)
            {
                r = E2eResult.notRun(c, "not run: " + c.variant().unsupported());
            }
            else
            {
                try
                {
                    if (modelOf == null || modelOf.workload() != c.workload() || modelOf.variant() != c.variant())
                    {
                        // Let the previous model go before loading the next (W4 and W5 weights are large).
                        model = null;
                        model = E2eModel.of(c.workload(), c.variant(), models, bits);
                        modelOf = c;
                        accuracy = E2eResult.Accuracy.NONE;
                        if (model.trained())
                        {
                            testImages = testImages != null ? testImages : E2eAccuracy.testImages(accuracyImages());
                            accuracy = E2eAccuracy.measure(model, testImages, c.variant().protocol(),
                                settings.timeout());
                        }
                    }
                    r = runner.run(c, model).withAccuracy(accuracy);
                }
                catch (final UnsupportedOperationException e)
                {
                    // e.g. a ChannelPoly that cannot be folded (W4's residual additions): no secure protocol.
                    r = E2eResult.notRun(c, "not run: " + oneLine(e));
                }
                catch (final RuntimeException | OutOfMemoryError e)
                {
                    r = E2eResult.notRun(c, "failed: " + oneLine(e));
                }
            }
            results.add(r);
            stdout.println(progress(i + 1, cells.size(), r));
        }
        return results;
    }

    private int accuracyImages()
    {
        return images != null ? images : quick ? 200 : 1000;
    }

    /**
     * The activation protocols in isolation, for every (workload, profile) whose CrypTen cell was selected (batch 1):
     * the cell runs CrypTen's power schedule with exact products inside the plan, the table CrypTen's own polynomial
     * (a local truncation after every product) next to the fused, HoneyBadger and ESPN protocols.
     */
    private List<ActivationProtocols.Result> activationProtocols(final List<E2eCell> cells,
                                                                 final E2eRunner.Settings settings,
                                                                 final E2eNetwork network)
    {
        final List<ActivationProtocols.Result> out = new ArrayList<>();
        final List<String> done = new ArrayList<>();
        for (final E2eCell c : cells)
        {
            final String key = c.workload() + "/" + c.profile();
            if (c.batch() != 1 || c.variant() != E2eVariant.CRYPTEN || done.contains(key))
            {
                continue;
            }
            done.add(key);
            final int n = (int)ReferenceNetworks.build(c.workload().reference(),
                ReferenceNetworks.Options.of(ActivationKind.POLY)).activationSites();
            for (final ActivationProtocols.Protocol p : ActivationProtocols.Protocol.values())
            {
                try
                {
                    final ActivationProtocols.Result r = ActivationProtocols.measure(p, c.profile(), network, n,
                        bits, settings.warmup(), Math.min(settings.maxRuns(), PROTOCOL_RUNS), settings.timeout());
                    out.add(r);
                    stdout.printf(Locale.ROOT, "activation %s %s, %,d elements: %s: %s ms, %s rounds, %s " +
                            "elements per party per element%n", c.workload(), c.profile().id(), n, p.label(),
                        E2eReport.num(r.medianMs()), E2eReport.num(r.rounds()),
                        E2eReport.num(r.elementsPerElement()));
                }
                catch (final RuntimeException | OutOfMemoryError e)
                {
                    stdout.println("activation " + c.workload() + " " + c.profile().id() + " " + p.label() +
                        ": failed: " + oneLine(e));
                }
            }
        }
        return out;
    }

    private void write(final List<E2eResult> results, final List<ActivationProtocols.Result> protocols,
                       final MachineStamp stamp, final double rate, final double startRate, final double endRate,
                       final String settingsText) throws IOException
    {
        Files.createDirectories(out);
        final String kernels = Kernels.get().name();
        if (engineReport)
        {
            final E2eReport report = new E2eReport(results, protocols, new E2eReport.Context(stamp, !noTls, kernels,
                rate, startRate, endRate, settingsText, note, List.of()));
            writeAtomically(out.resolve("engine.md"), report.markdown(true));
            writeAtomically(out.resolve("engine.csv"), report.csv());
            stdout.println("wrote " + out.resolve("engine.md") + " and engine.csv");
            return;
        }
        final String base = LocalDate.now() + "-" + stamp.commit().replace(' ', '_');
        final List<String> charts = new ArrayList<>();
        final List<String> latestCharts = new ArrayList<>();
        for (final String kind : List.of("latency", "breakdown"))
        {
            final Path png = out.resolve(base + "-" + kind + ".png");
            boolean drawn;
            try
            {
                drawn = "latency".equals(kind) ? E2eCharts.latency(results, png) : E2eCharts.breakdown(results, png);
            }
            catch (final IOException | RuntimeException e)
            {
                // A chart must never cost the measurements: the tables are written regardless.
                stdout.println("chart " + kind + " not drawn: " + oneLine(e));
                drawn = false;
            }
            if (drawn)
            {
                charts.add(png.getFileName().toString());
                final Path latest = out.resolve("latest-" + kind + ".png");
                Files.copy(png, latest, StandardCopyOption.REPLACE_EXISTING);
                latestCharts.add(latest.getFileName().toString());
            }
        }
        final E2eReport report = new E2eReport(results, protocols, new E2eReport.Context(stamp, !noTls, kernels, rate,
            startRate, endRate, settingsText, note, charts));
        final E2eReport latest = new E2eReport(results, protocols, new E2eReport.Context(stamp, !noTls, kernels, rate,
            startRate, endRate, settingsText, note, latestCharts));
        writeAtomically(out.resolve(base + ".md"), report.markdown(false));
        writeAtomically(out.resolve(base + ".csv"), report.csv());
        writeAtomically(out.resolve("latest.md"), latest.markdown(false));
        writeAtomically(out.resolve("latest.csv"), report.csv());
        if (!protocols.isEmpty())
        {
            writeAtomically(out.resolve(base + "-activations.csv"), report.activationsCsv());
            writeAtomically(out.resolve("latest-activations.csv"), report.activationsCsv());
        }
        stdout.println("wrote " + out.resolve(base + ".md") + ", .csv, " + String.join(", ", charts) +
            " and latest.md, latest.csv, " + String.join(", ", latestCharts));
        for (final E2eReport.Goal g : report.goals(false))
        {
            stdout.printf(Locale.ROOT, "goal %-4s %s: %s (target %s)%n", g.result(), g.name(), g.measured(),
                g.target());
        }
    }

    private static void writeAtomically(final Path file, final String text) throws IOException
    {
        final Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static String progress(final int i, final int n, final E2eResult r)
    {
        if (!r.ok())
        {
            return String.format(Locale.ROOT, "[%d/%d] %-26s %s", i, n, r.cell().id(), r.status());
        }
        return String.format(Locale.ROOT, "[%d/%d] %-26s online %s ms (p90 %s), total %s ms, %s inf/s, %s rounds, " +
                "%s B/inf online per party, floor x%s, %d runs", i, n, r.cell().id(), E2eReport.num(r.onlineMedianMs()),
            E2eReport.num(r.onlineP90Ms()), E2eReport.num(r.totalMedianMs()), E2eReport.num(r.throughput()),
            E2eReport.num(r.rounds()), E2eReport.num(Math.max(r.serverBytesPerItem(), r.clientBytesPerItem())),
            E2eReport.num(r.floorRatio()), r.runs());
    }

    private static String oneLine(final Throwable e)
    {
        final String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return m.replace('\n', ' ');
    }

    /**
     * Single-thread Z_2^64 product rate in multiply-adds per second, on W3's convolution-sized product: the best of
     * {@link #RATE_READINGS} medians of {@link #RATE_RUNS} products each. One reading is not enough: the first one in
     * a fresh JVM read 15.7 Gma/s where the next two read 19.5 and 19.7 (the micro-kernel still being compiled after
     * the time-based warm-up), and a reading is never too high, only too low.
     */
    static double productRate()
    {
        try (Matrices x = new Matrices(RATE_M + "x" + RATE_K + "x" + RATE_N))
        {
            // Warm until C2 has compiled the micro-kernel (a few calls ran it in a lower tier: 15-16 Gma/s here,
            // where JMH measures 20), so the floor is the machine's rate and not the JIT's.
            final long warmStart = System.nanoTime();
            for (int i = 0; i < RATE_WARMUP || System.nanoTime() - warmStart < RATE_WARMUP_NANOS; i++)
            {
                LinearKernels.matmul(x.a, x.b, x.c, x.m, x.k, x.n, 1);
            }
            double best = 0;
            final long[] t = new long[RATE_RUNS];
            for (int reading = 0; reading < RATE_READINGS; reading++)
            {
                for (int i = 0; i < RATE_RUNS; i++)
                {
                    final long t0 = System.nanoTime();
                    LinearKernels.matmul(x.a, x.b, x.c, x.m, x.k, x.n, 1);
                    t[i] = System.nanoTime() - t0;
                }
                Arrays.sort(t);
                best = Math.max(best, (double)RATE_M * RATE_K * RATE_N / (t[RATE_RUNS / 2] / 1e9));
            }
            return best;
        }
    }
}
