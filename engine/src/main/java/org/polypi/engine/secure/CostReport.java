package org.polypi.engine.secure;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.polypi.engine.plan.Plan;
import org.polypi.engine.transport.CostMeter;
import org.polypi.engine.transport.Party;

/**
 * Measured cost of a secure run, per party, phase and step: rounds, bytes and messages sent and received, and wall
 * time, as the parties' {@link CostMeter}s recorded them ({@link CostMeter#enter} per (phase, step), bytes counted
 * by the transport, rounds by the protocols). Phases: {@link Plan#SETUP}, {@link Plan#OFFLINE}, {@link Plan#ONLINE};
 * time a party spends between calls is charged to {@link #IDLE} and left out. Immutable.
 */
public final class CostReport
{
    /** Phase a party's meter is parked in between set-up and queries (never reported). */
    public static final String IDLE = "idle";

    private final List<Row> rows;

    private CostReport(final List<Row> rows)
    {
        this.rows = List.copyOf(rows);
    }

    /** A report from each party's meter entries. */
    static CostReport of(final Map<Party, List<CostMeter.Entry>> entries)
    {
        final List<Row> rows = new ArrayList<>();
        for (final Map.Entry<Party, List<CostMeter.Entry>> e : entries.entrySet())
        {
            for (final CostMeter.Entry m : e.getValue())
            {
                if (!IDLE.equals(m.phase()) && !CostMeter.DEFAULT_STEP.equals(m.step()))
                {
                    rows.add(new Row(e.getKey(), m.phase(), m.step(), m.rounds(), m.bytesSent(), m.bytesReceived(),
                        m.messagesSent(), m.messagesReceived(), m.nanos()));
                }
            }
        }
        return new CostReport(rows);
    }

    /** This report minus {@code earlier} (the same parties' meters read before): the cost in between. */
    public CostReport minus(final CostReport earlier)
    {
        final Map<String, Row> before = new LinkedHashMap<>();
        for (final Row r : earlier.rows)
        {
            before.put(key(r.party(), r.phase(), r.step()), r);
        }
        final List<Row> diff = new ArrayList<>();
        for (final Row r : rows)
        {
            final Row b = before.get(key(r.party(), r.phase(), r.step()));
            diff.add(b == null ? r : new Row(r.party(), r.phase(), r.step(), r.rounds() - b.rounds(),
                r.bytesSent() - b.bytesSent(), r.bytesReceived() - b.bytesReceived(),
                r.messagesSent() - b.messagesSent(), r.messagesReceived() - b.messagesReceived(),
                r.nanos() - b.nanos()));
        }
        return new CostReport(diff);
    }

    /** Every row, per party in the order its meter first entered the step. */
    public List<Row> rows()
    {
        return rows;
    }

    /** The row of (party, phase, step), zeros if the party never entered it. */
    public Row row(final Party party, final String phase, final String step)
    {
        for (final Row r : rows)
        {
            if (r.party() == party && r.phase().equals(phase) && r.step().equals(step))
            {
                return r;
            }
        }
        return new Row(party, phase, step, 0, 0, 0, 0, 0, 0);
    }

    /** The sum over all steps of {@code phase} for {@code party}. */
    public Row total(final Party party, final String phase)
    {
        long rounds = 0;
        long sent = 0;
        long received = 0;
        long messagesSent = 0;
        long messagesReceived = 0;
        long nanos = 0;
        for (final Row r : rows)
        {
            if (r.party() == party && r.phase().equals(phase))
            {
                rounds += r.rounds();
                sent += r.bytesSent();
                received += r.bytesReceived();
                messagesSent += r.messagesSent();
                messagesReceived += r.messagesReceived();
                nanos += r.nanos();
            }
        }
        return new Row(party, phase, "total", rounds, sent, received, messagesSent, messagesReceived, nanos);
    }

    /** A table: one line per (party, phase, step) with a nonzero counter, then the totals per party and phase. */
    public String format()
    {
        final StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-8s %-8s %-24s %7s %14s %14s %10s%n",
            "party", "phase", "step", "rounds", "sent B", "received B", "time ms"));
        for (final Row r : rows)
        {
            if (r.rounds() != 0 || r.bytesSent() != 0 || r.bytesReceived() != 0)
            {
                sb.append(r.format()).append('\n');
            }
        }
        for (final Party p : Party.values())
        {
            for (final String phase : new String[]{Plan.SETUP, Plan.OFFLINE, Plan.ONLINE})
            {
                sb.append(total(p, phase).format()).append('\n');
            }
        }
        return sb.toString();
    }

    /**
     * The per-layer breakdown in one call: one entry per plan step (set-up steps, then every step that appears
     * offline or online, in first-seen order), with the offline and online rows of each party. This is what the bench
     * and the demo print ({@link #formatLayers()}).
     */
    public List<Layer> layers()
    {
        final Map<String, Layer> out = new LinkedHashMap<>();
        for (final Row r : rows)
        {
            if (r.phase().equals(Plan.SETUP))
            {
                continue;
            }
            out.computeIfAbsent(r.step(), step -> new Layer(step,
                rowsOf(Plan.OFFLINE, step), rowsOf(Plan.ONLINE, step)));
        }
        return List.copyOf(out.values());
    }

    private Map<Party, Row> rowsOf(final String phase, final String step)
    {
        final Map<Party, Row> m = new java.util.EnumMap<>(Party.class);
        for (final Party p : Party.values())
        {
            m.put(p, row(p, phase, step));
        }
        return m;
    }

    /**
     * A table of {@link #layers()}: per step, the offline time of the dealer and of the parties, and online the
     * rounds, bytes sent per party and the slower party's time.
     */
    public String formatLayers()
    {
        final StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
            "%-24s %12s %12s %7s %12s %12s %12s%n", "step", "dealer ms", "offline ms", "rounds", "server B",
            "client B", "online ms"));
        for (final Layer l : layers())
        {
            sb.append(String.format(Locale.ROOT, "%-24s %12.3f %12.3f %7d %,12d %,12d %12.3f%n", l.step(),
                l.offline().get(Party.DEALER).millis(), Math.max(l.offline().get(Party.SERVER).millis(),
                    l.offline().get(Party.CLIENT).millis()), l.online().get(Party.SERVER).rounds(),
                l.online().get(Party.SERVER).bytesSent(), l.online().get(Party.CLIENT).bytesSent(),
                Math.max(l.online().get(Party.SERVER).millis(), l.online().get(Party.CLIENT).millis())));
        }
        return sb.toString();
    }

    @Override
    public String toString()
    {
        return format();
    }

    /**
     * The cost of one plan step (a layer) across phases and parties.
     *
     * @param step the step's name (also input, output).
     * @param offline each party's offline row (material: the dealer's dealing and sending, the parties' receiving
     *     and precomputation).
     * @param online each party's online row.
     */
    public record Layer(String step, Map<Party, Row> offline, Map<Party, Row> online)
    {
        /** Copies the maps. */
        public Layer
        {
            offline = Map.copyOf(offline);
            online = Map.copyOf(online);
        }
    }

    private static String key(final Party party, final String phase, final String step)
    {
        return party + "\u0000" + phase + "\u0000" + step;
    }

    /**
     * Counters of one (party, phase, step).
     *
     * @param party the party whose meter it is.
     * @param phase the phase.
     * @param step the step ("total" for sums).
     * @param rounds sequential exchanges.
     * @param bytesSent payload bytes sent.
     * @param bytesReceived payload bytes received.
     * @param messagesSent messages sent.
     * @param messagesReceived messages received.
     * @param nanos wall time.
     */
    public record Row(Party party, String phase, String step, long rounds, long bytesSent, long bytesReceived,
                      long messagesSent, long messagesReceived, long nanos)
    {
        /** Wall time in milliseconds. */
        public double millis()
        {
            return nanos / 1e6;
        }

        String format()
        {
            return String.format(Locale.ROOT, "%-8s %-8s %-24s %7d %,14d %,14d %10.3f", party, phase, step, rounds,
                bytesSent, bytesReceived, millis());
        }
    }
}
