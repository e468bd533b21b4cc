package org.polypi.engine.transport;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Three parties in one JVM (tests, the in-memory bench): each ordered pair of parties has a bounded queue of
 * messages. A message is copied once, from the sender's segment into an off-heap buffer, so the sender may reuse its
 * segment as soon as {@link #send} returns, as with a socket; the receiver copies it out and hands the buffer back
 * to the pair's {@link BufferPool}. Recycling matters: a fresh heap array per message made sending a 512 KiB
 * opening cost about 0.3 ms (allocation and zeroing outside the TLAB) where the copy takes 25 µs, and its garbage
 * brought a young collection every few W3 queries.
 * <p>
 * A message larger than {@link BufferPool#LARGE_MESSAGE_BYTES} (dealer material at batch 64) is not pooled: it gets a
 * buffer of its exact size in an arena of its own, closed as soon as the receiver has copied it out, or when the
 * receiver's transport closes with it still queued. Pooled power-of-two buffers in automatic arenas left that memory
 * to the garbage collector, which a heap with little garbage runs rarely: the W4 SENet batch-64 cell (3.1 GB of
 * material per query, in 4 GiB buffers) grew the bench process to 24 GB and was killed.
 * <p>
 * A receive waits at most the configured timeout; closing a party's transport puts a poison message on each of its
 * outgoing queues so that a peer waiting on it fails at once with a clear error instead of timing out.
 */
public final class InMemoryTransport implements Transport
{
    /** Messages that may wait, per ordered pair, before a sender blocks (backpressure, bounded memory). */
    public static final int QUEUE_CAPACITY = 1024;
    /**
     * How long a receive busy-spins. The parties of a query exchange in step, so the answer usually comes within
     * microseconds; a parked receiver instead costs the sender a wake-up, which measured 0.3 ms per 512 KiB opening on
     * the 2-vCPU reference machine (W3), and the receiver the scheduler's latency.
     */
    static final long SPIN_NANOS = 20_000;
    /**
     * Until when a receive keeps polling but yields its core between polls, before it parks. Yielding, not spinning:
     * when the peer shares the core (two parties and a busy JIT compiler thread on two cores), a busy spin held the
     * core the peer needed for its whole length, every round (W1 at batch 1: 0.66 -> 3.4 ms online with a 200 µs
     * spin); a yield hands it over at once and returns at once when nothing else is runnable.
     * <p>
     * Long enough to cover the usual wait inside a query: a parked receiver's core goes idle, and on a virtual machine
     * an idle vCPU can take milliseconds to be scheduled again once the message is in. With 0.5 ms here, W3 PILLAR at
     * batch 1 (in memory, 4.9 ms online) ran a quarter of its queries 2.6 or 4.8 ms slow (75th percentile 7.8 ms). Not
     * longer: while the JIT compiles, a yield hands the core to a compiler thread for a whole time slice, where a
     * parked receiver is woken ahead of it; with 10 ms, W2's batch-1 cells in a fresh JVM measured 90th percentiles of
     * 23-45 ms (2 ms: 1.6-13 ms; 0.5 ms: 2.4-11.6). Past it, a long wait (for the dealer, between queries) parks.
     */
    static final long YIELD_NANOS = 2_000_000;
    /** First park period after the spin; it doubles up to {@link #MAX_PARK_NANOS}. */
    static final long MIN_PARK_NANOS = 1_000;
    /** Longest park period: bounds the latency a long wait (e.g. for the dealer) adds once the message is in. */
    static final long MAX_PARK_NANOS = 100_000;
    private static final Message CLOSED = new Message(MemorySegment.NULL, -1, null);

    private final Party self;
    private final Map<Party, Channel> outgoing;
    private final Map<Party, Channel> incoming;
    private final long timeoutNs;
    private final CostMeter meter = new CostMeter();
    private volatile boolean closed;

    private InMemoryTransport(final Party self, final Map<Party, Channel> outgoing,
                              final Map<Party, Channel> incoming, final Duration timeout)
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
        final Map<Party, Map<Party, Channel>> channels = new EnumMap<>(Party.class);
        for (final Party from : Party.values())
        {
            final Map<Party, Channel> row = new EnumMap<>(Party.class);
            for (final Party to : Party.values())
            {
                if (from != to)
                {
                    row.put(to, new Channel());
                }
            }
            channels.put(from, row);
        }
        final InMemoryTransport[] transports = new InMemoryTransport[Party.values().length];
        for (final Party p : Party.values())
        {
            final Map<Party, Channel> in = new EnumMap<>(Party.class);
            for (final Party from : Party.values())
            {
                if (from != p)
                {
                    in.put(from, channels.get(from).get(p));
                }
            }
            transports[p.id()] = new InMemoryTransport(p, channels.get(p), in, timeout);
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
        final Channel channel = channel(outgoing, to);
        if (closed)
        {
            throw new TransportException(self + ": cannot send to " + to + ", this transport is closed");
        }
        final long length = message.byteSize();
        final Arena owner = length > BufferPool.LARGE_MESSAGE_BYTES ? Arena.ofShared() : null;
        final MemorySegment buffer;
        if (owner != null)
        {
            buffer = owner.allocate(length, Long.BYTES);
            channel.largeLive.incrementAndGet();
        }
        else
        {
            buffer = channel.pool.take(length);
        }
        MemorySegment.copy(message, 0, buffer, 0, length);
        final Message m = new Message(buffer, length, owner);
        final long start = System.nanoTime();
        long park = MIN_PARK_NANOS;
        boolean queued = false;
        try
        {
            while (!channel.offer(m))
            {
                if (System.nanoTime() - start >= timeoutNs)
                {
                    throw new TransportException(self + ": " + to + " stopped reading (" + QUEUE_CAPACITY +
                        " messages waiting after " + Duration.ofNanos(timeoutNs) + ")");
                }
                park = idle(park, "sending to " + to);
            }
            queued = true;
        }
        finally
        {
            if (!queued)
            {
                channel.release(m);
            }
        }
        if (channel.receiverClosed)
        {
            // The receiver closed (perhaps after draining): nobody will read this, so free what is queued now.
            channel.drain();
        }
        meter.countSent(length);
    }

    @Override
    public void receive(final Party from, final MemorySegment into)
    {
        final Channel channel = channel(incoming, from);
        final Message message = take(channel, from, into.byteSize());
        MemorySegment.copy(message.buffer(), 0, into, 0, message.length());
        channel.release(message);
        meter.countReceived(message.length());
    }

    /** Hands the reader the message's own buffer: no copy. */
    @Override
    public void receive(final Party from, final long byteSize, final Arena scratch, final MessageReader reader)
    {
        final Channel channel = channel(incoming, from);
        final Message message = take(channel, from, byteSize);
        // Received whatever the reader does with it.
        meter.countReceived(message.length());
        try
        {
            reader.read(message.buffer().asSlice(0, message.length()).asReadOnly());
        }
        finally
        {
            channel.release(message);
        }
    }

    /** Waits for the next message of {@code channel} and checks that it is a message of {@code expected} bytes. */
    private Message take(final Channel channel, final Party from, final long expected)
    {
        Message message = channel.poll();
        if (message == null)
        {
            final long start = System.nanoTime();
            long park = MIN_PARK_NANOS;
            while ((message = channel.poll()) == null)
            {
                final long waited = System.nanoTime() - start;
                if (waited >= timeoutNs)
                {
                    throw new TransportException(self + ": " + from + " sent nothing for " +
                        Duration.ofNanos(timeoutNs) + " (expected " + expected + " bytes)");
                }
                if (waited < SPIN_NANOS)
                {
                    Thread.onSpinWait();
                    checkInterrupt("waiting for " + from);
                }
                else if (waited < YIELD_NANOS)
                {
                    Thread.yield();
                    checkInterrupt("waiting for " + from);
                }
                else
                {
                    park = idle(park, "waiting for " + from);
                }
            }
        }
        if (message == CLOSED)
        {
            channel.forceOffer(CLOSED); // keep later receives failing fast too
            throw new TransportException(self + ": " + from + " closed the connection (expected " + expected +
                " bytes)");
        }
        if (message.length() != expected)
        {
            channel.release(message);
            throw new TransportException(self + ": " + from + " sent " + message.length() + " bytes where " +
                expected + " were expected");
        }
        return message;
    }

    /** Parks for {@code park} ns and returns the next, doubled, park period. */
    private long idle(final long park, final String doing)
    {
        LockSupport.parkNanos(park);
        checkInterrupt(doing);
        return Math.min(2 * park, MAX_PARK_NANOS);
    }

    private void checkInterrupt(final String doing)
    {
        if (Thread.currentThread().isInterrupted())
        {
            throw new TransportException(self + ": interrupted while " + doing);
        }
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
        for (final Channel q : outgoing.values())
        {
            // Messages already queued stay readable (a party may send its last message and close at once);
            // the marker behind them makes a peer that waits for more fail at once. If the queue is full the
            // peer is not reading anyway and its own timeout ends the wait.
            q.forceOffer(CLOSED);
        }
        for (final Channel q : incoming.values())
        {
            // Nothing will read these any more: free the large buffers now rather than never.
            q.receiverClosed = true;
            q.drain();
        }
    }

    private Channel channel(final Map<Party, Channel> channels, final Party peer)
    {
        final Channel q = channels.get(peer);
        if (q == null)
        {
            throw new IllegalArgumentException(self + " cannot exchange messages with itself");
        }
        return q;
    }

    /**
     * One ordered pair's messages: a lock-free queue bounded by a counter, and the pair's buffers. Lock-free
     * because a receiver polls it while it spins, and a blocking queue's lock would then make the sender park.
     */
    private static final class Channel
    {
        private final ConcurrentLinkedQueue<Message> queue = new ConcurrentLinkedQueue<>();
        private final AtomicInteger size = new AtomicInteger();
        private final BufferPool pool = new BufferPool();
        /** Set when the receiving side closed; a sender that sees it frees what it queued. */
        private volatile boolean receiverClosed;
        /** Large buffers allocated for this channel and not yet freed. */
        private final AtomicLong largeLive = new AtomicLong();

        /** Hands a read (or refused) message's buffer back: to the pool, or its own arena closed. */
        void release(final Message m)
        {
            if (m.owner() != null)
            {
                m.owner().close();
                largeLive.decrementAndGet();
            }
            else
            {
                pool.give(m.buffer());
            }
        }

        /** Removes every queued message and frees the large ones (the close marker included, which owns nothing). */
        void drain()
        {
            Message m;
            while ((m = poll()) != null)
            {
                if (m.owner() != null)
                {
                    release(m);
                }
            }
        }

        /** Enqueues unless {@link #QUEUE_CAPACITY} messages already wait. */
        boolean offer(final Message m)
        {
            if (size.incrementAndGet() > QUEUE_CAPACITY)
            {
                size.decrementAndGet();
                return false;
            }
            queue.offer(m);
            return true;
        }

        /** Enqueues whatever the count (the close marker). */
        void forceOffer(final Message m)
        {
            size.incrementAndGet();
            queue.offer(m);
        }

        Message poll()
        {
            final Message m = queue.poll();
            if (m != null)
            {
                size.decrementAndGet();
            }
            return m;
        }
    }

    /**
     * A message in flight: the first {@code length} bytes of a pooled buffer, or all of a buffer that {@code owner}
     * (not null for a large message) holds alone.
     */
    private record Message(MemorySegment buffer, long length, Arena owner)
    {
    }

    /**
     * Large-message buffers allocated and not yet freed on this party's channels, both directions (tests check that
     * none is left behind).
     */
    long largeBuffersLive()
    {
        long live = 0;
        for (final Channel q : outgoing.values())
        {
            live += q.largeLive.get();
        }
        for (final Channel q : incoming.values())
        {
            live += q.largeLive.get();
        }
        return live;
    }

    /**
     * Off-heap message buffers of one ordered pair, by power-of-two size class: the sender takes, the receiver gives
     * back. Each class keeps at most {@link #RETAINED_BYTES_PER_CLASS} bytes (and at least two buffers); buffers
     * beyond that are dropped and freed by the GC with their automatic arena, so the pool never grows past what the
     * largest messages in flight need.
     */
    static final class BufferPool
    {
        /** Smallest buffer: one cache line. */
        static final int MIN_CLASS = 6;
        private static final int CLASSES = Long.SIZE;
        private static final long RETAINED_BYTES_PER_CLASS = 32L << 20;
        /** Messages above this size bypass the pool (see the class comment). */
        static final long LARGE_MESSAGE_BYTES = RETAINED_BYTES_PER_CLASS;

        private static final int MAX_RETAINED_BUFFERS = 64;

        private final List<ConcurrentLinkedQueue<MemorySegment>> free = new ArrayList<>(CLASSES);
        private final AtomicIntegerArray kept = new AtomicIntegerArray(CLASSES);

        BufferPool()
        {
            for (int c = 0; c < CLASSES; c++)
            {
                free.add(c < MIN_CLASS ? null : new ConcurrentLinkedQueue<>());
            }
        }

        /** A buffer of at least {@code bytes} bytes (a recycled one when the pool has one of its class). */
        MemorySegment take(final long bytes)
        {
            final int c = sizeClass(bytes);
            final MemorySegment recycled = free.get(c).poll();
            if (recycled != null)
            {
                kept.decrementAndGet(c);
                return recycled;
            }
            return Arena.ofAuto().allocate(1L << c, Long.BYTES);
        }

        /** Returns a buffer that {@link #take} handed out; dropped if its class already keeps enough. */
        void give(final MemorySegment buffer)
        {
            final int c = Long.numberOfTrailingZeros(buffer.byteSize());
            final long limit = Math.max(2, Math.min(MAX_RETAINED_BUFFERS, RETAINED_BYTES_PER_CLASS >>> c));
            if (kept.incrementAndGet(c) <= limit)
            {
                free.get(c).offer(buffer);
            }
            else
            {
                kept.decrementAndGet(c);
            }
        }

        /** {@code ceil(log2(bytes))}, at least {@link #MIN_CLASS}. */
        static int sizeClass(final long bytes)
        {
            return Math.max(MIN_CLASS, Long.SIZE - Long.numberOfLeadingZeros(Math.max(1, bytes) - 1));
        }
    }
}
