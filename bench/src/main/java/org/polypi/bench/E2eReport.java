package org.polypi.bench;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;

import org.polypi.engine.secure.ActivationProtocol;

/**
 * Renders the results of a run as markdown and CSV: the end-to-end report of issue 7 ({@code <date>-<commit>.md})
 * or the engine report of issue 4 ({@code engine.md}), with the issues' goals marked PASS or MISS next to the
 * measured figures.
 */
final class E2eReport
{
    /** CSV columns, one row per cell. */
    static final List<String> CSV_COLUMNS = List.of("workload", "architecture", "variant", "profile", "batch",
        "status", "trained", "model", "f", "multiply_adds", "warmup", "runs", "online_median_ms", "online_p90_ms",
        "total_median_ms", "throughput_per_s", "dealer_ms_per_query", "dealer_bytes_per_inference",
        "server_online_bytes_per_inference", "client_online_bytes_per_inference", "rounds", "rtt_us",
        "compute_floor_ms", "floor_ms", "floor_ratio", "relu_over_this", "accuracy_images", "accuracy_float",
        "accuracy_fixed", "accuracy_secure", "agreement", "t_linear_ms", "t_polynomial_ms", "t_comparison_ms",
        "t_truncation_ms", "t_local_ms", "t_input_output_ms", "date", "commit", "tls", "cpu", "logical_cpus", "jdk");
    /** Columns that hold numbers (empty when not measured). */
    static final List<String> NUMERIC_COLUMNS = List.of("batch", "f", "multiply_adds", "warmup", "runs",
        "online_median_ms", "online_p90_ms", "total_median_ms", "throughput_per_s", "dealer_ms_per_query",
        "dealer_bytes_per_inference", "server_online_bytes_per_inference", "client_online_bytes_per_inference",
        "rounds", "rtt_us", "compute_floor_ms", "floor_ms", "floor_ratio", "relu_over_this", "t_linear_ms",
        "t_polynomial_ms", "t_comparison_ms", "t_truncation_ms", "t_local_ms", "t_input_output_ms");
    /** Goal thresholds of issues 7 and 4. */
    static final double W2_LATENCY_GOAL_MS = 2;
    static final double W3_LATENCY_GOAL_MS = 15;
    static final double W2_THROUGHPUT_GOAL = 2000;
    static final double FLOOR_RATIO_GOAL = 2;
    static final double WAN_SPEEDUP_GOAL = 4;
    private static final double PERCENT = 100;

    /**
     * Everything that is not a cell.
     *
     * @param stamp machine, JDK, commit, date.
     * @param tls whether TCP used TLS.
     * @param kernels the ring kernel backend.
     * @param macsPerSecond the single-core Z_2^64 product rate every floor is computed with: the higher of
     *                      {@code startMacsPerSecond} and {@code endMacsPerSecond}.
     * @param startMacsPerSecond the rate measured before the cells.
     * @param endMacsPerSecond the rate measured after the cells.
     * @param settings how much was measured, in words.
     * @param note a note to print on top (e.g. "measured on a loaded machine"), or empty.
     * @param charts file names of the charts next to the report (may be empty).
     */
    record Context(MachineStamp stamp, boolean tls, String kernels, double macsPerSecond, double startMacsPerSecond,
                   double endMacsPerSecond, String settings, String note, List<String> charts)
    {
        /**
         * Readings further apart than this (relative) are flagged: the machine was busy at one end, or the JIT had
         * compiled the product differently (a long bench JVM read 17.3 Gma/s at its end, a fresh one 19.5-19.7).
         */
        static final double UNSTEADY_RATE_SPREAD = 0.05;

        /** The rate line of the report: the rate used and both readings. */
        String rateText()
        {
            final double spread = Math.abs(startMacsPerSecond - endMacsPerSecond) /
                Math.max(startMacsPerSecond, endMacsPerSecond);
            return String.format(Locale.ROOT, "%.2f Gma/s (1024x576x64, the higher of two readings in this run: " +
                    "%.2f before the cells, %.2f after)%s", macsPerSecond / 1e9, startMacsPerSecond / 1e9,
                endMacsPerSecond / 1e9, spread > UNSTEADY_RATE_SPREAD ? String.format(Locale.ROOT,
                    "; the readings differ by %.0f %%: the machine or this JVM's compiled code was not the same at both ends",
                    spread * 100) : "");
        }
    }

    /**
     * One goal.
     *
     * @param name what.
     * @param target the number.
     * @param measured the measured figure, or "not measured".
     * @param result PASS, MISS, or "-" when not measured.
     */
    record Goal(String name, String target, String measured, String result)
    {
    }

    private final List<E2eResult> results;
    private final List<ActivationProtocols.Result> protocols;
    private final Context context;
    private final Map<String, E2eResult> byId = new HashMap<>();

    E2eReport(final List<E2eResult> results, final List<ActivationProtocols.Result> protocols, final Context context)
    {
        this.results = List.copyOf(results);
        this.protocols = List.copyOf(protocols);
        this.context = context;
        for (final E2eResult r : results)
        {
            byId.put(r.cell().id(), r);
        }
    }

    /** The ReLU cell's online latency over this cell's (1 for ReLU itself), NaN if either is missing. */
    double reluRatio(final E2eResult r)
    {
        final E2eResult relu = byId.get(r.cell().withVariant(E2eVariant.RELU).id());
        if (!r.ok() || relu == null || !relu.ok())
        {
            return Double.NaN;
        }
        return relu.onlineMedianMs() / r.onlineMedianMs();
    }

    private E2eResult ok(final E2eWorkload w, final E2eVariant v, final E2eProfile p, final int batch)
    {
        final E2eResult r = byId.get(new E2eCell(w, v, p, batch).id());
        return r != null && r.ok() ? r : null;
    }

    /** The goals of issue 7 (end-to-end) and issue 4 (engine), evaluated on what was measured. */
    List<Goal> goals(final boolean engine)
    {
        final List<Goal> goals = new ArrayList<>();
        if (!engine)
        {
            final E2eResult w2 = ok(E2eWorkload.W2, E2eVariant.PILLAR, E2eProfile.LAN, 1);
            goals.add(atMost("W2 PILLAR batch-1 online latency, lan", w2 == null ? Double.NaN : w2.onlineMedianMs(),
                W2_LATENCY_GOAL_MS, " ms"));
            final E2eResult w3 = ok(E2eWorkload.W3, E2eVariant.PILLAR, E2eProfile.LAN, 1);
            goals.add(atMost("W3 PILLAR batch-1 online latency, lan", w3 == null ? Double.NaN : w3.onlineMedianMs(),
                W3_LATENCY_GOAL_MS, " ms"));
            final E2eResult w2b = ok(E2eWorkload.W2, E2eVariant.PILLAR, E2eProfile.LAN, 64);
            goals.add(atLeast("W2 PILLAR throughput at batch 64, lan", w2b == null ? Double.NaN : w2b.throughput(),
                W2_THROUGHPUT_GOAL, " inferences/s"));
            goals.add(floorGoal(r -> r.cell().profile() != E2eProfile.INMEM && fusedPolynomial(r), "every " +
                "polynomial cell (PILLAR, HerPN; engine protocol; network profiles) within 2x of its physical floor"));
            final E2eResult wanPoly = ok(E2eWorkload.W3, E2eVariant.PILLAR, E2eProfile.WAN, 1);
            final E2eResult wanRelu = ok(E2eWorkload.W3, E2eVariant.RELU, E2eProfile.WAN, 1);
            goals.add(atLeast("wan W3 batch 1: ReLU online / PILLAR online", wanPoly == null || wanRelu == null ?
                Double.NaN : wanRelu.onlineMedianMs() / wanPoly.onlineMedianMs(), WAN_SPEEDUP_GOAL, "x"));
        }
        goals.add(activationGoal());
        for (final E2eProfile p : new E2eProfile[]{E2eProfile.INMEM, E2eProfile.LAN})
        {
            for (final int batch : new int[]{1, 64})
            {
                final E2eResult w3 = ok(E2eWorkload.W3, E2eVariant.PILLAR, p, batch);
                if (w3 != null || (p == E2eProfile.INMEM && batch == 1))
                {
                    goals.add(atMost("W3 PILLAR online / compute floor (MACs / single-core rate), " + p.id() +
                        ", batch " + batch, w3 == null ? Double.NaN : w3.computeFloorRatio(), FLOOR_RATIO_GOAL, "x"));
                }
            }
        }
        return goals;
    }

    private Goal floorGoal(final Predicate<E2eResult> which, final String name)
    {
        int n = 0;
        int within = 0;
        E2eResult worst = null;
        for (final E2eResult r : results)
        {
            if (r.ok() && which.test(r))
            {
                n++;
                within += r.floorRatio() <= FLOOR_RATIO_GOAL ? 1 : 0;
                if (worst == null || r.floorRatio() > worst.floorRatio())
                {
                    worst = r;
                }
            }
        }
        if (n == 0)
        {
            return new Goal(name, "<= 2x", "not measured", "-");
        }
        return new Goal(name, "<= 2x", String.format(Locale.ROOT, "%d of %d cells; worst %s at %.2fx", within, n,
            worst.cell().id(), worst.floorRatio()), within == n ? "PASS" : "MISS");
    }

    private Goal activationGoal()
    {
        int n = 0;
        int pass = 0;
        String worst = "";
        for (final E2eResult r : results)
        {
            if (!fusedPolynomial(r))
            {
                continue;
            }
            for (final E2eResult.ActivationCheck c : r.activationChecks())
            {
                n++;
                if (c.pass())
                {
                    pass++;
                }
                else if (worst.isEmpty())
                {
                    worst = String.format(Locale.ROOT, "; first miss %s %s: %.2f rounds, %.2f elements (d = %d)",
                        r.cell().id(), c.step(), c.rounds(), c.elementsPerElement(), c.degree());
                }
            }
        }
        final String name = "polynomial activation: 1 round and <= d-1 ring elements per party per element";
        if (n == 0)
        {
            return new Goal(name, "every step", "not measured", "-");
        }
        return new Goal(name, "every step", pass + " of " + n + " activation steps" + worst,
            pass == n ? "PASS" : "MISS");
    }

    /** The engine's own polynomial activation (the issue-4 goal is about it, not about the baselines). */
    private static boolean fusedPolynomial(final E2eResult r)
    {
        return r.cell().variant().polynomial() && r.cell().variant().protocol() == ActivationProtocol.FUSED;
    }

    private static Goal atMost(final String name, final double v, final double goal, final String unit)
    {
        return new Goal(name, "<= " + num(goal) + unit, Double.isNaN(v) ? "not measured" : num(v) + unit,
            Double.isNaN(v) ? "-" : v <= goal ? "PASS" : "MISS");
    }

    private static Goal atLeast(final String name, final double v, final double goal, final String unit)
    {
        return new Goal(name, ">= " + num(goal) + unit, Double.isNaN(v) ? "not measured" : num(v) + unit,
            Double.isNaN(v) ? "-" : v >= goal ? "PASS" : "MISS");
    }

    /** The markdown report. */
    String markdown(final boolean engine)
    {
        final StringBuilder md = new StringBuilder();
        final MachineStamp s = context.stamp();
        md.append(engine ? "# PolyPI engine costs (issue 4)\n\n" : "# PolyPI end-to-end benchmark\n\n");
        md.append(engine ?
            "Generated by `bash bench/run-e2e.sh --engine-report` (org.polypi.bench.EndToEndBench): every " +
                "workload x activation kind, batch 1 and 64, three parties as threads over the in-memory " +
                "transport. Do not edit by hand.\n\n" :
            "Generated by `bash bench/run-e2e.sh` (org.polypi.bench.EndToEndBench): server, client and dealer as " +
                "threads of one JVM over the in-memory transport (`inmem`) or TCP on loopback (`lan`), shaped to " +
                "`lan-1g` and `wan` by ShapedTransport. Do not edit by hand.\n\n");
        if (!context.note().isEmpty())
        {
            md.append("**Note: ").append(context.note()).append("**\n\n");
        }
        ReportWriter.table(md, List.of("", ""), List.of(
            List.of("machine", s.machine()),
            List.of("JDK", s.jdk()),
            List.of("OS", s.os()),
            List.of("commit", s.commit()),
            List.of("date", s.date()),
            List.of("TLS on TCP", context.tls() ? "on (TLS 1.3, pinned certificates)" : "off (plaintext)"),
            List.of("ring kernels", context.kernels()),
            List.of("single-core Z_2^64 product rate", context.rateText()),
            List.of("measurement", context.settings())));

        md.append("\n## Goals\n\n");
        final List<List<String>> g = new ArrayList<>();
        for (final Goal goal : goals(engine))
        {
            g.add(List.of(goal.name(), goal.target(), goal.measured(), goal.result()));
        }
        ReportWriter.table(md, List.of("goal", "target", "measured", "result"), g);

        if (!context.charts().isEmpty())
        {
            md.append("\n## Charts\n\n");
            for (final String c : context.charts())
            {
                md.append("![").append(c).append("](").append(c).append(")\n\n");
            }
        }

        md.append(engine ? "\n## Costs per workload and activation kind\n" : "\n## Results\n");
        md.append("\nTimes per query (batch items); bytes per inference; `x floor` is the online latency over the " +
            "physical floor (multiply-adds / the single-core rate + bytes / bandwidth + rounds x RTT/2); `ReLU/this` " +
            "is the ReLU cell's online latency over this cell's.\n");
        for (final E2eWorkload w : E2eWorkload.values())
        {
            final List<List<String>> rows = new ArrayList<>();
            String arch = "";
            for (final E2eResult r : results)
            {
                if (r.cell().workload() != w || !r.ok())
                {
                    continue;
                }
                arch = String.format(Locale.ROOT, "%.1f M", r.multiplyAdds() / 1e6) + " multiply-adds";
                rows.add(List.of(r.cell().variant().id(), (r.model().endsWith(".pim") ? "trained " : "random ") +
                        r.architecture() + ", f=" + r.fractionalBits(), r.cell().profile().id(),
                    Integer.toString(r.cell().batch()),
                    num(r.onlineMedianMs()), num(r.onlineP90Ms()), num(r.totalMedianMs()), num(r.throughput()),
                    num(r.dealerMs()), bytes(r.dealerBytesPerItem()), bytes(r.serverBytesPerItem()) + " / " +
                        bytes(r.clientBytesPerItem()), num(r.rounds()), num(r.floorMs()), num(r.floorRatio()),
                    num(reluRatio(r)), Integer.toString(r.runs())));
            }
            if (rows.isEmpty())
            {
                continue;
            }
            md.append("\n### ").append(w.label()).append(" (").append(arch).append(")\n\n");
            ReportWriter.table(md, List.of("activation", "model", "profile", "batch", "online median ms", "p90 ms", "total ms",
                "inferences/s", "dealer ms", "dealer B/inf", "online B/inf server / client", "rounds", "floor ms",
                "x floor", "ReLU/this", "runs"), rows);
        }

        final List<List<String>> acc = new ArrayList<>();
        for (final E2eResult r : results)
        {
            if (r.accuracy().images() > 0)
            {
                acc.add(List.of(r.cell().workload().name(), r.cell().variant().id(), r.model(),
                    Integer.toString(r.accuracy().images()), pct(r.accuracy().floatAccuracy()),
                    pct(r.accuracy().fixedAccuracy()), pct(r.accuracy().secureAccuracy()),
                    pct(r.accuracy().agreement())));
            }
        }
        md.append("\n## Accuracy (trained models only)\n\n");
        if (acc.isEmpty())
        {
            md.append("No trained model was found (trainer/models/<w>-<kind>.pim): every cell ran with random " +
                "reference weights, so accuracy and agreement are \"-\".\n");
        }
        else
        {
            md.append("Fashion-MNIST test images; the secure run is three parties in memory at batch 64 (accuracy " +
                "does not depend on the network profile). Cells of other (workload, activation) pairs ran with " +
                "random weights: \"-\".\n\n");
            ReportWriter.table(md, List.of("workload", "activation", "model", "images", "float32", "fixed point", "secure",
                "secure = fixed-point top-1"), dedupe(acc));
        }

        md.append("\n## Online time per layer type (ms per query, the client's meter)\n\n");
        final List<List<String>> bd = new ArrayList<>();
        for (final E2eResult r : results)
        {
            if (r.ok())
            {
                final List<String> row = new ArrayList<>(List.of(r.cell().id()));
                for (final String t : E2eRunner.LAYER_TYPES)
                {
                    row.add(num(r.breakdownMs().getOrDefault(t, 0.0)));
                }
                bd.add(row);
            }
        }
        final List<String> bdHeader = new ArrayList<>(List.of("cell"));
        bdHeader.addAll(E2eRunner.LAYER_TYPES);
        ReportWriter.table(md, bdHeader, bd);

        md.append("\n## Polynomial activation steps (issue 4: 1 round, <= d-1 ring elements per party per element)" +
            "\n\n");
        final List<List<String>> ac = new ArrayList<>();
        for (final E2eResult r : results)
        {
            if (r.cell().batch() != 1 && !engine)
            {
                continue;
            }
            for (final E2eResult.ActivationCheck c : r.activationChecks())
            {
                ac.add(List.of(r.cell().id(), c.step(), Integer.toString(c.degree()), num(c.rounds()),
                    num(c.elementsPerElement()), !fusedPolynomial(r) ? "baseline" : c.pass() ? "PASS" : "MISS"));
            }
        }
        if (ac.isEmpty())
        {
            md.append("No polynomial cell was measured.\n");
        }
        else
        {
            ReportWriter.table(md, List.of("cell", "step", "d", "rounds", "elements per party per element", "result"), ac);
        }

        if (!protocols.isEmpty())
        {
            md.append("\n## Activation protocols in isolation (stand-in for the CrypTen cells)\n\n")
                .append("PILLAR's degree-4 polynomial on one tensor of the workload's activation elements (batch 1), ")
                .append("same parties, dealer and transport as the cells, the activation alone: the fused opening the ")
                .append("engine runs (with its truncation and local combination), HoneyBadger and ESPN powers ")
                .append("(powers only, no truncation: the engine's baselines add one) and CrypTen's polynomial ")
                .append("(Beaver powers, local truncations, combination), which the engine cannot run in a plan yet. ")
                .append("Median of the online time of a call from both parties holding their material.\n\n");
            final List<List<String>> rows = new ArrayList<>();
            for (final ActivationProtocols.Result p : protocols)
            {
                double fused = Double.NaN;
                for (final ActivationProtocols.Result q : protocols)
                {
                    if (q.protocol() == ActivationProtocols.Protocol.FUSED && q.profile() == p.profile() &&
                        q.elements() == p.elements())
                    {
                        fused = q.medianMs();
                    }
                }
                rows.add(List.of(String.format(Locale.ROOT, "%,d", p.elements()), p.profile().id(),
                    p.protocol().label(), num(p.rounds()), num(p.elementsPerElement()), num(p.medianMs()),
                    num(p.medianMs() / fused), Integer.toString(p.runs())));
            }
            ReportWriter.table(md, List.of("elements", "profile", "protocol", "rounds", "elements per party per element",
                "online median ms", "x fused", "runs"), rows);
        }

        final List<List<String>> skipped = new ArrayList<>();
        for (final E2eResult r : results)
        {
            if (!r.ok())
            {
                skipped.add(List.of(r.cell().id(), r.status()));
            }
        }
        if (!skipped.isEmpty())
        {
            md.append("\n## Cells not measured\n\n");
            ReportWriter.table(md, List.of("cell", "why"), skipped);
        }
        md.append("\n## Definitions\n\n")
            .append("- online latency: from the client's first online message (its input seed), sent once both " +
                "computing parties hold all their material, to the client holding the logits; median and p90 over " +
                "the measured queries (`runs`; fewer than the configured number only for cells whose queries are " +
                "slow, see the settings above).\n")
            .append("- total: the wall time of a whole query: the dealer's material, the parties' offline " +
                "precomputation and the online phase, so that nothing hides in preprocessing.\n")
            .append("- inferences/s: batch / online median. Bytes are payload bytes counted by the engine's meters; " +
                "rounds are sequential exchanges counted by the protocols.\n")
            .append("- floor: the workload's multiply-adds x batch / the single-core Z_2^64 product rate measured " +
                "in this run (each computing party has one core; the best of five medians of 21 products, measured " +
                "before and after the cells, and the higher of the two taken, so that a moment of contention or a " +
                "half-compiled kernel cannot lower the floor's rate) + the larger party's online bytes / bandwidth " +
                "(6 GB/s on lan, the profile's otherwise, none in memory) + rounds x RTT / 2, with RTT the measured " +
                "ping-pong of the transport (the lowest " + E2eNetwork.RTT_PERCENTILE + "th percentile of " +
                E2eNetwork.PING_ATTEMPTS + " sets of 200 pings: in memory they are bimodal, a spinning or a parked " +
                "receiver) plus the profile's RTT. Half, because every round of these protocols is a " +
                "simultaneous exchange (both parties send, then receive: one one-way delay), where " +
                "workloads.md's \"rounds x RTT\" counts request-response rounds.\n");
        return md.toString();
    }

    private static List<List<String>> dedupe(final List<List<String>> rows)
    {
        final List<List<String>> out = new ArrayList<>();
        for (final List<String> r : rows)
        {
            if (!out.contains(r))
            {
                out.add(r);
            }
        }
        return out;
    }

    /** The CSV: {@link #CSV_COLUMNS}, one row per cell. */
    String csv()
    {
        final StringBuilder csv = new StringBuilder(String.join(",", CSV_COLUMNS)).append('\n');
        final MachineStamp s = context.stamp();
        for (final E2eResult r : results)
        {
            final E2eCell c = r.cell();
            final boolean ok = r.ok();
            final List<String> f = new ArrayList<>(List.of(c.workload().name(), r.architecture(), c.variant().id(),
                c.profile().id(), Integer.toString(c.batch()), r.status(), ok ? Boolean.toString(r.model().endsWith(
                ".pim")) : "", r.model(), ok ? Integer.toString(r.fractionalBits()) : "",
                ok ? Long.toString(r.multiplyAdds()) : "", ok ? Integer.toString(r.warmup()) : "",
                ok ? Integer.toString(r.runs()) : ""));
            for (final double v : new double[]{r.onlineMedianMs(), r.onlineP90Ms(), r.totalMedianMs(),
                ok ? r.throughput() : Double.NaN, r.dealerMs(), r.dealerBytesPerItem(), r.serverBytesPerItem(),
                r.clientBytesPerItem(), r.rounds(), r.rttMicros(), r.computeFloorMs(), r.floorMs(),
                ok ? r.floorRatio() : Double.NaN, reluRatio(r)})
            {
                f.add(plain(v));
            }
            final E2eResult.Accuracy a = r.accuracy();
            f.add(a.images() > 0 ? Integer.toString(a.images()) : "");
            for (final double v : new double[]{a.floatAccuracy(), a.fixedAccuracy(), a.secureAccuracy(),
                a.agreement()})
            {
                f.add(plain(v));
            }
            for (final String t : E2eRunner.LAYER_TYPES)
            {
                f.add(ok ? plain(r.breakdownMs().getOrDefault(t, 0.0)) : "");
            }
            f.addAll(List.of(s.date(), s.commit(), Boolean.toString(context.tls()), s.cpu(),
                Integer.toString(s.logicalCpus()), s.jdk()));
            for (int i = 0; i < f.size(); i++)
            {
                if (i > 0)
                {
                    csv.append(',');
                }
                csv.append(ReportWriter.quote(f.get(i)));
            }
            csv.append('\n');
        }
        return csv.toString();
    }

    /** The activation protocols measured in isolation, one row per (size, profile, protocol). */
    String activationsCsv()
    {
        final StringBuilder csv = new StringBuilder("elements,profile,protocol,runs,online_median_ms,rounds," +
            "elements_per_party_per_element,commit\n");
        for (final ActivationProtocols.Result p : protocols)
        {
            csv.append(p.elements()).append(',').append(p.profile().id()).append(',').append(p.protocol().name()
                .toLowerCase(Locale.ROOT)).append(',').append(p.runs()).append(',').append(plain(p.medianMs()))
                .append(',').append(plain(p.rounds())).append(',').append(plain(p.elementsPerElement())).append(',')
                .append(ReportWriter.quote(context.stamp().commit())).append('\n');
        }
        return csv.toString();
    }

    /** A number for the CSV: plain decimal, empty when NaN. */
    static String plain(final double v)
    {
        if (Double.isNaN(v) || Double.isInfinite(v))
        {
            return "";
        }
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long)v) :
            String.format(Locale.ROOT, "%.6g", v).replaceAll("e\\+?", "E");
    }

    /** A number for the markdown: 3 significant digits, "-" when NaN. */
    static String num(final double v)
    {
        if (Double.isNaN(v) || Double.isInfinite(v))
        {
            return "-";
        }
        final double a = Math.abs(v);
        if (a >= 1000)
        {
            return String.format(Locale.ROOT, "%,.0f", v);
        }
        if (a >= 100)
        {
            return String.format(Locale.ROOT, "%.0f", v);
        }
        if (a >= 10)
        {
            return String.format(Locale.ROOT, "%.1f", v);
        }
        if (a >= 1)
        {
            return String.format(Locale.ROOT, "%.2f", v);
        }
        return String.format(Locale.ROOT, "%.3f", v);
    }

    private static String pct(final double v)
    {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.2f %%", PERCENT * v);
    }

    private static String bytes(final double v)
    {
        if (Double.isNaN(v))
        {
            return "-";
        }
        if (v >= 1 << 20)
        {
            return String.format(Locale.ROOT, "%.1f MiB", v / (1 << 20));
        }
        if (v >= 1 << 10)
        {
            return String.format(Locale.ROOT, "%.1f KiB", v / (1 << 10));
        }
        return String.format(Locale.ROOT, "%.0f B", v);
    }
}
