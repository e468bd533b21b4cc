package org.polypi.engine.transport;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Measured cost of one party's work: rounds, bytes, messages and time, broken down by (phase, step).
 * <p>
 * The engine sets the current phase ("offline", "online") and step (a layer name) with {@link #enter}; the transport
 * adds bytes to whatever is current, the protocols add rounds (only they know which messages form one sequential
 * exchange). Costs are measured, never estimated. Not thread-safe: one meter per party, used from its protocol
 * thread (a TCP transport's I/O thread reports through the protocol thread).
 */
public final class CostMeter
{
    /** Phase used before the engine names one. */
    public static final String DEFAULT_PHASE = "setup";
    /** Step used before the engine names one. */
    public static final String DEFAULT_STEP = "-";

    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private Entry current;
    private long currentSinceNs;

    /** Creates a meter positioned at ({@value #DEFAULT_PHASE}, {@value #DEFAULT_STEP}). */
    public CostMeter()
    {
        current = entry(DEFAULT_PHASE, DEFAULT_STEP);
        currentSinceNs = System.nanoTime();
    }

    /** Charges everything that follows to ({@code phase}, {@code step}) and closes the time slice of the previous one. */
    public void enter(final String phase, final String step)
    {
        final long now = System.nanoTime();
        current.nanos += now - currentSinceNs;
        current = entry(phase, step);
        currentSinceNs = now;
    }

    /** Counts one sequential message exchange (a round) in the current step. */
    public void countRound()
    {
        current.rounds++;
    }

    /** Counts a message of {@code bytes} sent in the current step. */
    public void countSent(final long bytes)
    {
        current.bytesSent += bytes;
        current.messagesSent++;
    }

    /** Counts a message of {@code bytes} received in the current step. */
    public void countReceived(final long bytes)
    {
        current.bytesReceived += bytes;
        current.messagesReceived++;
    }

    /** A snapshot of every (phase, step) in the order first entered, with time up to now. */
    public List<Entry> entries()
    {
        final long now = System.nanoTime();
        current.nanos += now - currentSinceNs;
        currentSinceNs = now;
        final List<Entry> copy = new ArrayList<>(entries.size());
        for (final Entry e : entries.values())
        {
            copy.add(e.copy());
        }
        return copy;
    }

    /** Sum over all steps of {@code phase} (all phases when {@code phase} is null). */
    public Entry total(final String phase)
    {
        final Entry sum = new Entry(phase == null ? "all" : phase, "total");
        for (final Entry e : entries())
        {
            if (phase == null || phase.equals(e.phase))
            {
                sum.rounds += e.rounds;
                sum.bytesSent += e.bytesSent;
                sum.bytesReceived += e.bytesReceived;
                sum.messagesSent += e.messagesSent;
                sum.messagesReceived += e.messagesReceived;
                sum.nanos += e.nanos;
            }
        }
        return sum;
    }

    private Entry entry(final String phase, final String step)
    {
        return entries.computeIfAbsent(phase + '\u0000' + step, k -> new Entry(phase, step));
    }

    /** Counters of one (phase, step). */
    public static final class Entry
    {
        private final String phase;
        private final String step;
        private long rounds;
        private long bytesSent;
        private long bytesReceived;
        private long messagesSent;
        private long messagesReceived;
        private long nanos;

        Entry(final String phase, final String step)
        {
            this.phase = phase;
            this.step = step;
        }

        Entry copy()
        {
            final Entry e = new Entry(phase, step);
            e.rounds = rounds;
            e.bytesSent = bytesSent;
            e.bytesReceived = bytesReceived;
            e.messagesSent = messagesSent;
            e.messagesReceived = messagesReceived;
            e.nanos = nanos;
            return e;
        }

        /** Phase name. */
        public String phase()
        {
            return phase;
        }

        /** Step name (a layer, or "total"). */
        public String step()
        {
            return step;
        }

        /** Sequential exchanges. */
        public long rounds()
        {
            return rounds;
        }

        /** Payload bytes sent. */
        public long bytesSent()
        {
            return bytesSent;
        }

        /** Payload bytes received. */
        public long bytesReceived()
        {
            return bytesReceived;
        }

        /** Messages sent. */
        public long messagesSent()
        {
            return messagesSent;
        }

        /** Messages received. */
        public long messagesReceived()
        {
            return messagesReceived;
        }

        /** Wall time spent in this step, nanoseconds. */
        public long nanos()
        {
            return nanos;
        }

        @Override
        public String toString()
        {
            return phase + '/' + step + ": rounds=" + rounds + " sent=" + bytesSent + "B received=" + bytesReceived +
                "B time=" + nanos / 1_000 + "us";
        }
    }
}
