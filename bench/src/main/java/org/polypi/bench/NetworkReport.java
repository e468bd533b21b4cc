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

import org.polypi.engine.net.NetworkProfile;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Issue 6's network report: W2 and W3, PILLAR (fused polynomial) and ReLU, batch 1 and 64, under inmem, lan (TCP
 * loopback), lan-1g and wan (loopback shaped by {@code ShapedTransport}), with TLS 1.3 unless turned off: online
 * latency (median, p90), bytes, rounds and throughput per cell, measured by the end-to-end bench's runner (three
 * parties as threads of this JVM, each on its own transport). Goal lines: on lan TCP adds at most 20 % over the
 * in-memory transport for W3 poly; on wan W3 poly is within 1.2x of rounds x RTT + bytes / bandwidth. Writes
 * {@code network.md} and {@code network.csv}.
 */
@Command(name = "network-report", mixinStandardHelpOptions = true, sortOptions = false,
    description = "W2/W3 x pillar/relu x inmem/lan/lan-1g/wan x batch 1/64 with TLS: network.md and network.csv.")
public final class NetworkReport implements Callable<Integer>
{
    /** Header of the CSV. */
    static final String CSV_HEADER = "workload,architecture,variant,profile,batch,model,status,warmup,runs," +
        "online_median_ms,online_p90_ms,total_median_ms,server_bytes_per_query,client_bytes_per_query," +
        "rounds_per_query,throughput_inf_per_s,profile_rtt_ms,profile_bytes_per_s,tls,machine,commit";
    /** Goal: TCP on loopback over in memory, W3 poly. */
    static final double LAN_OVERHEAD_GOAL = 1.2;
    /** Goal: wan latency over rounds x RTT + bytes / bandwidth, W3 poly. */
    static final double WAN_MODEL_GOAL = 1.2;
    private static final int[] BATCHES = {1, 64};
    private static final double BYTES_PER_GIB = 1L << 30;
    private static final double MS_PER_SECOND = 1e3;

    @Option(names = "--workloads", split = ",", description = "Workloads (default: ${DEFAULT-VALUE}).")
    List<String> workloads = new ArrayList<>(List.of("w2", "w3"));

    @Option(names = "--variants", split = ",", description = "Activation variants (default: ${DEFAULT-VALUE}).")
    List<String> variants = new ArrayList<>(List.of("pillar", "relu"));

    @Option(names = "--profiles", split = ",", description = "Profiles (default: ${DEFAULT-VALUE}).")
    List<String> profiles = new ArrayList<>(List.of("inmem", "lan", "lan-1g", "wan"));

    @Option(names = "--batches", split = ",", description = "Batch sizes (default: 1,64).")
    List<Integer> batches = new ArrayList<>(List.of(BATCHES[0], BATCHES[1]));

    @Option(names = "--runs", description = "Measured queries per cell at most (default: ${DEFAULT-VALUE}).")
    int runs = 20;

    @Option(names = "--warmup", description = "Warm-up queries per cell (default: ${DEFAULT-VALUE}).")
    int warmup = 5;

    @Option(names = "--min-runs", description = "Measured queries however slow (default: ${DEFAULT-VALUE}).")
    int minRuns = 5;

    @Option(names = "--cell-seconds", description = "Time budget of a cell's measured queries (default: " +
        "${DEFAULT-VALUE}).")
    double cellSeconds = 15;

    @Option(names = "--models", paramLabel = "DIR", description = "Trained models <w>-<kind>.pim (default: " +
        "${DEFAULT-VALUE}); cells without one use random reference weights (W3: CIFAR-shaped 3x32x32).")
    Path models = Path.of("trainer", "models");

    @Option(names = "--bits", description = "Fractional bits of random-weight models (default: ${DEFAULT-VALUE}).")
    int bits = 12;

    @Option(names = "--no-tls", description = "Plaintext TCP instead of TLS 1.3 (the report says so).")
    boolean noTls;

    @Option(names = "--timeout", description = "Receive timeout of every party in seconds (default: " +
        "${DEFAULT-VALUE}).")
    int timeoutSeconds = 300;

    @Option(names = "--note", description = "A note printed on top of the report.")
    String note = "";

    @Option(names = "--out", paramLabel = "DIR", description = "Output folder (default: ${DEFAULT-VALUE}).")
    Path out = Path.of("bench", "results");

    private PrintStream stdout = System.out;

    /**
     * A goal line.
     *
     * @param name what is compared.
     * @param measured the measured ratio.
     * @param detail how it was computed.
     * @param goal the largest ratio that passes.
     */
    record Goal(String name, double measured, String detail, double goal)
    {
        /** "PASS", "MISS", or "n/a" if not measured. */
        String result()
        {
            return Double.isNaN(measured) ? "n/a" : measured <= goal ? "PASS" : "MISS";
        }
    }

    /** Command-line entry point. */
    public static void main(final String[] args)
    {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs with {@code args}; returns the exit code (0 once the report is written, whatever the goals). */
    public static int run(final String[] args, final PrintStream out, final PrintStream err)
    {
        final NetworkReport main = new NetworkReport();
        main.stdout = out;
        final CommandLine cl = new CommandLine(main);
        cl.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
        cl.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        cl.setExecutionExceptionHandler((e, line, parsed) ->
        {
            line.getErr().println("network-report: " + e);
            return 1;
        });
        return cl.execute(args);
    }

    /** The cells selected, in run order (the model changes least often). */
    List<E2eCell> cells()
    {
        final List<E2eCell> cells = new ArrayList<>();
        for (final String w : workloads)
        {
            for (final String v : variants)
            {
                for (final String p : profiles)
                {
                    for (final int b : batches)
                    {
                        cells.add(new E2eCell(E2eWorkload.valueOf(w.trim().toUpperCase(Locale.ROOT)),
                            E2eVariant.byId(v.trim()), E2eProfile.byId(p.trim()), b));
                    }
                }
            }
        }
        return cells;
    }

    @Override
    public Integer call() throws IOException
    {
        final List<E2eCell> cells = cells();
        final MachineStamp stamp = MachineStamp.collect();
        final E2eRunner.Settings settings = new E2eRunner.Settings(warmup, runs, Math.min(minRuns, runs),
            cellSeconds, Duration.ofSeconds(timeoutSeconds), (long)(3 * BYTES_PER_GIB));
        stdout.printf(Locale.ROOT, "network report: %d cells, %s, %s, commit %s%n", cells.size(),
            noTls ? "plaintext TCP" : "TLS 1.3", stamp.machine(), stamp.commit());
        final double rate = EndToEndBench.productRate();
        final List<E2eResult> results = new ArrayList<>();
        final long start = System.nanoTime();
        try (E2eNetwork network = new E2eNetwork(!noTls, Duration.ofSeconds(timeoutSeconds)))
        {
            final E2eRunner runner = new E2eRunner(settings, network, rate);
            E2eModel model = null;
            E2eCell modelOf = null;
            for (int i = 0; i < cells.size(); i++)
            {
                final E2eCell c = cells.get(i);
                E2eResult r;
                try
                {
                    if (modelOf == null || modelOf.workload() != c.workload() || modelOf.variant() != c.variant())
                    {
                        model = null;
                        model = E2eModel.of(c.workload(), c.variant(), models, bits);
                        modelOf = c;
                    }
                    r = runner.run(c, model);
                }
                catch (final RuntimeException | OutOfMemoryError e)
                {
                    r = E2eResult.notRun(c, "failed: " + String.valueOf(e.getMessage()).replace('\n', ' '));
                }
                results.add(r);
                stdout.printf(Locale.ROOT, "[%d/%d] %-22s %s%n", i + 1, cells.size(), c.id(), r.ok() ?
                    String.format(Locale.ROOT, "online %.3f ms (p90 %.3f), %.0f B/query, %.0f rounds, %.1f inf/s, " +
                            "%d runs", r.onlineMedianMs(), r.onlineP90Ms(), bytesPerQuery(r), r.rounds(),
                        r.throughput(), r.runs()) : r.status());
            }
        }
        final double minutes = (System.nanoTime() - start) / 60e9;
        final List<Goal> goals = goals(results);
        for (final Goal g : goals)
        {
            stdout.printf(Locale.ROOT, "goal %-4s %s: %s (goal <= %s)%n", g.result(), g.name(),
                E2eReport.num(g.measured()), E2eReport.num(g.goal()));
        }
        Files.createDirectories(out);
        ProcessAgreement.write(out.resolve("network.md"), markdown(results, goals, stamp, minutes));
        ProcessAgreement.write(out.resolve("network.csv"), csv(results, stamp));
        stdout.println("wrote " + out.resolve("network.md") + " and network.csv");
        return 0;
    }

    /** The larger of the two parties' online bytes per query (each direction of the link carries one). */
    static double bytesPerQuery(final E2eResult r)
    {
        return Math.max(r.serverBytesPerItem(), r.clientBytesPerItem()) * r.cell().batch();
    }

    private static E2eResult find(final List<E2eResult> results, final E2eCell cell)
    {
        for (final E2eResult r : results)
        {
            if (r.cell().equals(cell) && r.ok())
            {
                return r;
            }
        }
        return null;
    }

    /** The goal lines of the W3 poly cells that were measured. */
    static List<Goal> goals(final List<E2eResult> results)
    {
        final List<Goal> goals = new ArrayList<>();
        for (final int b : BATCHES)
        {
            final E2eResult lan = find(results, new E2eCell(E2eWorkload.W3, E2eVariant.PILLAR, E2eProfile.LAN, b));
            final E2eResult mem = find(results, new E2eCell(E2eWorkload.W3, E2eVariant.PILLAR, E2eProfile.INMEM, b));
            if (lan != null && mem != null)
            {
                goals.add(new Goal("lan: TCP over in-memory, W3 poly, batch " + b,
                    lan.onlineMedianMs() / mem.onlineMedianMs(), String.format(Locale.ROOT, "%.3f ms / %.3f ms",
                    lan.onlineMedianMs(), mem.onlineMedianMs()), LAN_OVERHEAD_GOAL));
            }
        }
        for (final int b : BATCHES)
        {
            final E2eResult wan = find(results, new E2eCell(E2eWorkload.W3, E2eVariant.PILLAR, E2eProfile.WAN, b));
            if (wan != null)
            {
                final double model = wanModelMs(wan);
                final double oneWay = model - wan.rounds() * rttMs(NetworkProfile.WAN) / 2;
                goals.add(new Goal("wan: online over rounds x RTT + bytes / bandwidth, W3 poly, batch " + b,
                    wan.onlineMedianMs() / model, String.format(Locale.ROOT, "%.1f ms / (%.0f x %.0f ms + %.0f B / " +
                        "%.0f B/s = %.1f ms); with RTT/2 per round (a round is a simultaneous exchange): %.1f ms, " +
                        "%.2fx", wan.onlineMedianMs(), wan.rounds(), rttMs(NetworkProfile.WAN), bytesPerQuery(wan),
                    NetworkProfile.WAN.bytesPerSecond(), model, oneWay, wan.onlineMedianMs() / oneWay),
                    WAN_MODEL_GOAL));
            }
        }
        return goals;
    }

    private static double rttMs(final NetworkProfile p)
    {
        return p.rtt().toNanos() / 1e6;
    }

    /** rounds x RTT + bytes / bandwidth of the wan profile, in ms. */
    static double wanModelMs(final E2eResult r)
    {
        return r.rounds() * rttMs(NetworkProfile.WAN) + bytesPerQuery(r) / NetworkProfile.WAN.bytesPerSecond() *
            MS_PER_SECOND;
    }

    private String markdown(final List<E2eResult> results, final List<Goal> goals, final MachineStamp stamp,
                            final double minutes)
    {
        final StringBuilder md = new StringBuilder("# Network report (issue 6)\n\n");
        if (!note.isBlank())
        {
            md.append("> ").append(note).append("\n\n");
        }
        md.append("- Security: ").append(noTls ? "**plaintext TCP (TLS off, --no-tls)**" :
            "TLS 1.3 with mutual authentication and pinned certificates on every TCP connection").append(".\n");
        md.append("- Profiles: `inmem` = InMemoryTransport; `lan` = TCP on loopback as it is; `lan-1g` = loopback " +
            "shaped by ShapedTransport to ").append(profileText(NetworkProfile.LAN_1G)).append("; `wan` = shaped to ")
            .append(profileText(NetworkProfile.WAN)).append(" (workloads.md, `NetworkProfile`; each message is " +
                "delayed by RTT/2 and paced by a token bucket at the bandwidth; the kernel has no netem).\n");
        md.append("- Parties: server, client and dealer as threads of one JVM, each with its own transport (the " +
            "end-to-end bench's runner, `E2eRunner`); W2 uses the trained models of trainer/models where present, " +
            "W3 its CIFAR-shaped reference network with random weights (speed does not depend on the weights).\n");
        md.append(String.format(Locale.ROOT, "- Measurement: %d warm-up queries (and at least 1 s), then up to %d " +
                "measured queries per cell (at least %d; fewer than the maximum when a cell's queries exceed %.0f s). " +
                "Online latency: the client's input known to the logits known, per query; bytes: the larger of the " +
                "server's and the client's online sends per query; throughput: batch / median online latency.%n",
            warmup, runs, Math.min(minRuns, runs), cellSeconds));
        md.append("- Machine: ").append(stamp.machine()).append("; ").append(stamp.jdk()).append("; ")
            .append(stamp.os()).append("; commit ").append(stamp.commit()).append("; ").append(stamp.date())
            .append(String.format(Locale.ROOT, "; whole run %.1f minutes.%n%n", minutes));
        md.append("## Goals\n\n| goal | measured | computed as | target | result |\n|---|---:|---|---:|---|\n");
        for (final Goal g : goals)
        {
            md.append(String.format(Locale.ROOT, "| %s | %sx | %s | <= %sx | %s |%n", g.name(),
                E2eReport.num(g.measured()), g.detail(), E2eReport.num(g.goal()), g.result()));
        }
        md.append("\nThe wan formula is issue 6's: rounds x RTT + bytes / bandwidth with RTT = ")
            .append(E2eReport.num(rttMs(NetworkProfile.WAN))).append(" ms and bandwidth = ")
            .append(E2eReport.num(NetworkProfile.WAN.bitsPerSecond() / 1e6)).append(" Mbit/s = ")
            .append(E2eReport.num(NetworkProfile.WAN.bytesPerSecond() / 1e6)).append(" MB/s (`NetworkProfile.WAN`)" +
                "; rounds are the client's online rounds per query, bytes the larger party's online bytes per query " +
                "(both directions carry their own share at the same time). It leaves out computation. The engine's rounds " +
                "are simultaneous exchanges (both parties send, then receive), so a round costs one one-way delay, " +
                "RTT/2; the column also shows that tighter model.\n\n");
        md.append("## Cells\n\n| workload | activation | profile | batch | online median ms | online p90 ms | " +
            "bytes / query (server, client) | rounds | throughput inf/s | runs |\n" +
            "|---|---|---|---:|---:|---:|---|---:|---:|---:|\n");
        for (final E2eResult r : results)
        {
            final E2eCell c = r.cell();
            if (!r.ok())
            {
                md.append(String.format(Locale.ROOT, "| %s | %s | %s | %d | %s | | | | | |%n", c.workload().label(),
                    c.variant().shortLabel(), c.profile().id(), c.batch(), r.status()));
                continue;
            }
            md.append(String.format(Locale.ROOT, "| %s | %s | %s | %d | %s | %s | %s, %s | %s | %s | %d |%n",
                c.workload().label(), c.variant().shortLabel(), c.profile().id(), c.batch(),
                E2eReport.num(r.onlineMedianMs()), E2eReport.num(r.onlineP90Ms()),
                E2eReport.num(r.serverBytesPerItem() * c.batch()), E2eReport.num(r.clientBytesPerItem() * c.batch()),
                E2eReport.num(r.rounds()), E2eReport.num(r.throughput()), r.runs()));
        }
        md.append("\nModels: ");
        final List<String> seen = new ArrayList<>();
        for (final E2eResult r : results)
        {
            final String s = r.cell().workload().label() + " " + r.cell().variant().id() + ": " + r.model();
            if (r.ok() && !seen.contains(s))
            {
                seen.add(s);
            }
        }
        md.append(String.join("; ", seen)).append(".\n");
        return md.toString();
    }

    private static String profileText(final NetworkProfile p)
    {
        return E2eReport.num(rttMs(p)) + " ms RTT, " + E2eReport.num(p.bitsPerSecond() / 1e6) + " Mbit/s";
    }

    private String csv(final List<E2eResult> results, final MachineStamp stamp)
    {
        final StringBuilder sb = new StringBuilder(CSV_HEADER).append('\n');
        for (final E2eResult r : results)
        {
            final E2eCell c = r.cell();
            final NetworkProfile p = c.profile().network();
            sb.append(String.join(",", List.of(c.workload().id(), ProcessAgreement.quote(r.architecture()),
                c.variant().id(), c.profile().id(), Integer.toString(c.batch()), ProcessAgreement.quote(r.model()),
                ProcessAgreement.quote(r.status()), Integer.toString(r.warmup()), Integer.toString(r.runs()),
                E2eReport.plain(r.onlineMedianMs()), E2eReport.plain(r.onlineP90Ms()),
                E2eReport.plain(r.totalMedianMs()), E2eReport.plain(r.serverBytesPerItem() * c.batch()),
                E2eReport.plain(r.clientBytesPerItem() * c.batch()), E2eReport.plain(r.rounds()),
                E2eReport.plain(r.ok() ? r.throughput() : Double.NaN), p == null ? "" : E2eReport.plain(rttMs(p)),
                p == null ? "" : E2eReport.plain(p.bytesPerSecond()), Boolean.toString(!noTls && c.profile().tcp()),
                ProcessAgreement.quote(stamp.machine()), stamp.commit()))).append('\n');
        }
        return sb.toString();
    }
}
