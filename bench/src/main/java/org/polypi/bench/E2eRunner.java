package org.polypi.bench;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

import org.polypi.engine.plan.Plan;
import org.polypi.engine.plan.PlanStep;
import org.polypi.engine.secure.SessionOptions;
import org.polypi.engine.transport.CostMeter;
import org.polypi.engine.transport.Party;

/**
 * Measures one cell: connects the three parties, runs the set-up, warm-up queries, then the measured queries, and
 * turns the parties' meters and the online gate's timings into an {@link E2eResult}.
 */
final class E2eRunner
{
    /** Layer types of the time breakdown, in chart order. */
    static final List<String> LAYER_TYPES = List.of("linear", "polynomial", "comparison", "truncation", "local",
        "input/output");
    private static final double NANOS_PER_MS = 1e6;
    private static final double NANOS_PER_US = 1e3;
    private static final double P90 = 0.9;
    private static final long INPUT_SEED = 42;
    private static final long MIN_WARMUP_NANOS = 1_000_000_000L;
    /**
     * Warm-up queries a cell runs at least (within its warm-up budget): the protocol code runs once per step, about
     * 25 calls per W3 query, so it reaches C2's invocation threshold (5,000) only after a few hundred queries, and
     * the JIT looks quiet long before that (C1 code runs, nothing is compiling). W3 PILLAR at batch 1 in a fresh JVM:
     * 9.55 ms median after 50 warm-up queries, 6.08 ms after 400.
     */
    private static final int MIN_WARMUP_QUERIES = 300;

    /**
     * How much to measure.
     *
     * @param warmup warm-up queries (fewer when they take more than a third of the cell budget).
     * @param maxRuns measured queries per cell.
     * @param minRuns measured queries however long a query takes.
     * @param cellSeconds time budget of a cell's measured queries; fewer runs when a query is slow.
     * @param timeout receive timeout of every party.
     * @param maxMaterialBytes largest predicted dealer material per query; larger cells are not run.
     */
    record Settings(int warmup, int maxRuns, int minRuns, double cellSeconds, Duration timeout, long maxMaterialBytes)
    {
    }

    private final Settings settings;
    private final E2eNetwork network;
    private final double macsPerSecond;

    E2eRunner(final Settings settings, final E2eNetwork network, final double macsPerSecond)
    {
        this.settings = settings;
        this.network = network;
        this.macsPerSecond = macsPerSecond;
    }

    /** Predicted dealer bytes of one query of {@code plan} at {@code batch}. */
    static long materialBytes(final Plan plan, final int batch)
    {
        long n = 0;
        for (final PlanStep s : plan.steps())
        {
            n += plan.dealerBytes(s, batch);
        }
        return n;
    }

    /** Measures {@code cell} with {@code model}. */
    E2eResult run(final E2eCell cell, final E2eModel model)
    {
        final Plan plan = model.compiled().plan();
        final int batch = cell.batch();
        final long material = materialBytes(plan, batch);
        if (material > settings.maxMaterialBytes())
        {
            return E2eResult.notRun(cell, String.format(Locale.ROOT, "not run: a query needs %.1f GiB of dealer " +
                "material (limit %.1f GiB, --max-material-gib)", material / (double)(1L << 30),
                settings.maxMaterialBytes() / (double)(1L << 30)));
        }
        final SessionOptions options = SessionOptions.of(batch).withTimeout(settings.timeout())
            .withActivations(cell.variant().protocol());
        final E2eNetwork.Connected connected = network.connect(cell.profile(), plan,
            model.graph().fingerprint().hex().getBytes(StandardCharsets.UTF_8));
        try (PartyDriver driver = new PartyDriver(model.compiled(), connected.transports(), options))
        {
            driver.setup();
            final float[] inputs = randomInputs(plan.inputElements() * batch);
            final long[] encoded = driver.encode(inputs, 0, batch);
            int warm = 0;
            long last = 0;
            final long warmStart = System.nanoTime();
            final double warmBudget = settings.cellSeconds() / 3 * 1e9;
            // At least the configured count, a second of queries and MIN_WARMUP_QUERIES, so that C2 has compiled
            // the hot paths and the per-step code, and then until the compilers are quiet (JitActivity), within a
            // third of the cell's budget.
            final JitActivity jit = new JitActivity();
            while (warm < Math.max(1, settings.warmup()) || System.nanoTime() - warmStart < MIN_WARMUP_NANOS ||
                warm < MIN_WARMUP_QUERIES || !jit.quiet())
            {
                last = driver.query(encoded).totalNanos();
                jit.afterQuery();
                warm++;
                if (System.nanoTime() - warmStart > warmBudget)
                {
                    if (!jit.quiet())
                    {
                        System.out.printf(Locale.ROOT, "  %s: the JIT was still compiling after %d warm-up queries " +
                            "(%.1f s, a third of --cell-seconds); measuring anyway%n", cell.id(), warm,
                            (System.nanoTime() - warmStart) / 1e9);
                    }
                    break;
                }
            }
            final int runs = (int)Math.max(settings.minRuns(), Math.min(settings.maxRuns(),
                Math.floor(settings.cellSeconds() * 1e9 / Math.max(1, last))));
            final Map<Party, List<CostMeter.Entry>> before = driver.meters();
            final long[] online = new long[runs];
            final long[] total = new long[runs];
            long gateWait = 0;
            for (int i = 0; i < runs; i++)
            {
                final PartyDriver.QueryTiming t = driver.query(encoded);
                online[i] = t.onlineNanos();
                total[i] = t.totalNanos();
                gateWait += t.gateWaitNanos();
            }
            final Map<Party, List<CostMeter.Entry>> after = driver.meters();
            return summarize(cell, model, warm, runs, online, total, gateWait, before, after, connected.rttNanos());
        }
    }

    private E2eResult summarize(final E2eCell cell, final E2eModel model, final int warm, final int runs,
                                final long[] online, final long[] total, final long gateWait,
                                final Map<Party, List<CostMeter.Entry>> before,
                                final Map<Party, List<CostMeter.Entry>> after, final double rawRttNanos)
    {
        final Plan plan = model.compiled().plan();
        final int batch = cell.batch();
        final Map<String, long[]> server = diff(before.get(Party.SERVER), after.get(Party.SERVER));
        final Map<String, long[]> client = diff(before.get(Party.CLIENT), after.get(Party.CLIENT));
        final Map<String, long[]> dealer = diff(before.get(Party.DEALER), after.get(Party.DEALER));
        final long[] serverOnline = phaseTotal(server, Plan.ONLINE);
        final long[] clientOnline = phaseTotal(client, Plan.ONLINE);
        final long[] dealerOffline = phaseTotal(dealer, Plan.OFFLINE);

        final Map<String, String> types = layerTypes(plan);
        final Map<String, Double> breakdown = new LinkedHashMap<>();
        for (final String t : LAYER_TYPES)
        {
            breakdown.put(t, 0.0);
        }
        for (final Map.Entry<String, long[]> e : client.entrySet())
        {
            final String[] key = e.getKey().split("\u0000", 2);
            if (!Plan.ONLINE.equals(key[0]))
            {
                continue;
            }
            long nanos = e.getValue()[NANOS];
            if (Plan.INPUT.equals(key[1]))
            {
                nanos = Math.max(0, nanos - gateWait);
            }
            breakdown.merge(types.getOrDefault(key[1], "local"), nanos / NANOS_PER_MS / runs, Double::sum);
        }

        final List<E2eResult.ActivationCheck> checks = new ArrayList<>();
        for (final PlanStep s : plan.steps())
        {
            if (s instanceof final PlanStep.Activation a && a.copies() > 0)
            {
                final long[] c = client.getOrDefault(key(Plan.ONLINE, a.name()), new long[FIELDS]);
                checks.add(new E2eResult.ActivationCheck(a.name(), a.degree(), (double)c[ROUNDS] / runs,
                    (double)c[SENT] / runs / ((double)batch * a.inputElements() * Plan.ELEMENT_BYTES)));
            }
        }

        final double rounds = (double)clientOnline[ROUNDS] / runs;
        final double bytesPerQuery = Math.max(serverOnline[SENT], clientOnline[SENT]) / (double)runs;
        final E2eProfile profile = cell.profile();
        final double rttNanos = rawRttNanos + (profile.tcp() ? profile.network().rtt().toNanos() : 0);
        final double computeSeconds = (double)model.multiplyAdds() * batch / macsPerSecond;
        final double bandwidth = profile.bytesPerSecond();
        // A round is a simultaneous exchange (both parties send, then receive), so it costs one one-way delay.
        final double floorSeconds = computeSeconds + (bandwidth > 0 ? bytesPerQuery / bandwidth : 0) +
            rounds * rttNanos / 2 / 1e9;
        final long[] sortedOnline = online.clone();
        Arrays.sort(sortedOnline);
        final long[] sortedTotal = total.clone();
        Arrays.sort(sortedTotal);
        return new E2eResult(cell, E2eResult.OK, model.source(), plan.architecture(), plan.fractionalBits(),
            model.multiplyAdds(), warm, runs, median(sortedOnline) / NANOS_PER_MS,
            percentile(sortedOnline, P90) / NANOS_PER_MS, median(sortedTotal) / NANOS_PER_MS,
            dealerOffline[NANOS] / NANOS_PER_MS / runs, (double)dealerOffline[SENT] / runs / batch,
            (double)serverOnline[SENT] / runs / batch, (double)clientOnline[SENT] / runs / batch, rounds,
            rttNanos / NANOS_PER_US, computeSeconds * 1e3, floorSeconds * 1e3, breakdown, checks,
            E2eResult.Accuracy.NONE);
    }

    /** Step name -> layer type of the breakdown. */
    static Map<String, String> layerTypes(final Plan plan)
    {
        final Map<String, String> types = new HashMap<>();
        types.put(Plan.INPUT, "input/output");
        types.put(Plan.OUTPUT, "input/output");
        for (final PlanStep s : plan.steps())
        {
            types.put(s.name(), switch (s)
            {
                case PlanStep.Linear _ -> "linear";
                case PlanStep.Activation _ -> "polynomial";
                case PlanStep.Relu _, PlanStep.MaskedRelu _, PlanStep.MaxPool _ -> "comparison";
                case PlanStep.Truncate _ -> "truncation";
                default -> "local";
            });
        }
        return types;
    }

    private static final int ROUNDS = 0;
    private static final int SENT = 1;
    private static final int NANOS = 2;
    private static final int FIELDS = 3;

    private static String key(final String phase, final String step)
    {
        return phase + "\u0000" + step;
    }

    /** (phase, step) -> {rounds, bytes sent, nanos} of {@code after} minus {@code before}. */
    private static Map<String, long[]> diff(final List<CostMeter.Entry> before, final List<CostMeter.Entry> after)
    {
        final Map<String, long[]> out = new LinkedHashMap<>();
        for (final CostMeter.Entry e : after)
        {
            out.put(key(e.phase(), e.step()), new long[]{e.rounds(), e.bytesSent(), e.nanos()});
        }
        for (final CostMeter.Entry e : before)
        {
            final long[] v = out.get(key(e.phase(), e.step()));
            if (v != null)
            {
                v[ROUNDS] -= e.rounds();
                v[SENT] -= e.bytesSent();
                v[NANOS] -= e.nanos();
            }
        }
        return out;
    }

    private static long[] phaseTotal(final Map<String, long[]> m, final String phase)
    {
        final long[] sum = new long[FIELDS];
        for (final Map.Entry<String, long[]> e : m.entrySet())
        {
            if (e.getKey().startsWith(phase + "\u0000"))
            {
                for (int i = 0; i < FIELDS; i++)
                {
                    sum[i] += e.getValue()[i];
                }
            }
        }
        return sum;
    }

    static double median(final long[] sorted)
    {
        final int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
    }

    /** Nearest-rank percentile of sorted values. */
    static double percentile(final long[] sorted, final double p)
    {
        final int rank = (int)Math.ceil(p * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    /** Inputs for the timing runs: deterministic, in the range of normalized images. */
    static float[] randomInputs(final int n)
    {
        final SplittableRandom rnd = new SplittableRandom(INPUT_SEED);
        final float[] x = new float[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = (float)(rnd.nextDouble() * 2 - 1);
        }
        return x;
    }
}
