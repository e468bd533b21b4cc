package org.polypi.engine.transport;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Three parties in one JVM (tests, the in-memory bench): each ordered pair of parties has a bounded queue of
 * messages. A message is copied once, from the sender's segment into a heap array, so the sender may reuse its
 * segment as soon as {@link #send} returns, as with a socket.
 * <p>
 * A receive waits at most the configured timeout; closing a party's transport puts a poison message on each of its
 * outgoing queues so that a peer waiting on it fails at once with a clear error instead of timing out.
 */
public final class InMemoryTransport implements Transport
{
    /** Messages that may wait, per ordered pair, before a sender blocks (backpressure, bounded memory). */
    public static final int QUEUE_CAPACITY = 1024;
    private static final byte[] CLOSED = new byte[0];

    private final Party self;
    private final Map<Party, BlockingQueue<byte[]>> outgoing;
    private final Map<Party, BlockingQueue<byte[]>> incoming;
    private final long timeoutNs;
    private final CostMeter meter = new CostMeter();
    private volatile boolean closed;

    private InMemoryTransport(final Party self, final Map<Party, BlockingQueue<byte[]>> outgoing,
                              final Map<Party, BlockingQueue<byte[]>> incoming, final Duration timeout)
    {
        this.self = self;
        this.outgoing = outgoing;
        this.incoming = incoming;
        this.timeoutNs = timeout.toNanos();
    }

    /**
     * Creates the three connected transports, indexed by {@link Party#id()}.
     *
     * @param timeout how long a receive or a send into a full queue waits before failing.
     */
    public static InMemoryTransport[] connectThree(final Duration timeout)
    {
        if (timeout.isNegative() || timeout.isZero())
        {
            throw new IllegalArgumentException("timeout must be positive, was " + timeout);
        }
        final Map<Party, Map<Party, BlockingQueue<byte[]>>> queues = new EnumMap<>(Party.class);
        for (final Party from : Party.values())
        {
            final Map<Party, BlockingQueue<byte[]>> row = new EnumMap<>(Party.class);
            for (final Party to : Party.values())
            {
                if (from != to)
                {
                    row.put(to, new ArrayBlockingQueue<>(QUEUE_CAPACITY));
                }
            }
            queues.put(from, row);
        }
        final InMemoryTransport[] transports = new InMemoryTransport[Party.values().length];
        for (final Party p : Party.values())
        {
            final Map<Party, BlockingQueue<byte[]>> in = new EnumMap<>(Party.class);
            for (final Party from : Party.values())
            {
                if (from != p)
                {
                    in.put(from, queues.get(from).get(p));
                }
            }
            transports[p.id()] = new InMemoryTransport(p, queues.get(p), in, timeout);
        }
        return transports;
    }

    @Override
    public Party self()
    {
        return self;
    }

    @Override
    public void send(final Party to, final MemorySegment message)
    {
        final BlockingQueue<byte[]> queue = queue(outgoing, to);
        if (closed)
        {
            throw new TransportException(self + ": cannot send to " + to + ", this transport is closed");
        }
        final byte[] copy = message.toArray(ValueLayout.JAVA_BYTE);
        try
        {
            if (!queue.offer(copy, timeoutNs, TimeUnit.NANOSECONDS))
            {
                throw new TransportException(self + ": " + to + " stopped reading (" + QUEUE_CAPACITY +
                    " messages waiting after " + Duration.ofNanos(timeoutNs) + ")");
            }
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            throw new TransportException(self + ": interrupted while sending to " + to, e);
        }
        meter.countSent(copy.length);
    }

    @Override
    public void receive(final Party from, final MemorySegment into)
    {
        final BlockingQueue<byte[]> queue = queue(incoming, from);
        final byte[] message;
        try
        {
            message = queue.poll(timeoutNs, TimeUnit.NANOSECONDS);
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            throw new TransportException(self + ": interrupted while waiting for " + from, e);
        }
        if (message == null)
        {
            throw new TransportException(self + ": " + from + " sent nothing for " + Duration.ofNanos(timeoutNs) +
                " (expected " + into.byteSize() + " bytes)");
        }
        if (message == CLOSED)
        {
            queue.offer(CLOSED); // keep later receives failing fast too
            throw new TransportException(self + ": " + from + " closed the connection (expected " + into.byteSize() +
                " bytes)");
        }
        if (message.length != into.byteSize())
        {
            throw new TransportException(self + ": " + from + " sent " + message.length + " bytes where " +
                into.byteSize() + " were expected");
        }
        MemorySegment.copy(message, 0, into, ValueLayout.JAVA_BYTE, 0, message.length);
        meter.countReceived(message.length);
    }

    @Override
    public CostMeter meter()
    {
        return meter;
    }

    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        for (final BlockingQueue<byte[]> q : outgoing.values())
        {
            // Messages already queued stay readable (a party may send its last message and close at once);
            // the marker behind them makes a peer that waits for more fail at once. If the queue is full the
            // peer is not reading anyway and its own timeout ends the wait.
            q.offer(CLOSED);
        }
    }

    private BlockingQueue<byte[]> queue(final Map<Party, BlockingQueue<byte[]>> queues, final Party peer)
    {
        final BlockingQueue<byte[]> q = queues.get(peer);
        if (q == null)
        {
            throw new IllegalArgumentException(self + " cannot exchange messages with itself");
        }
        return q;
    }
}
