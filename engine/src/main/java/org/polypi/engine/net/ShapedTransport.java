package org.polypi.engine.net;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

import org.polypi.engine.transport.CostMeter;
import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.Transport;
import org.polypi.engine.transport.TransportException;

/**
 * Emulates a slower network over any {@link Transport} (the machines here have no {@code netem}): every message
 * leaves at the pace of a token bucket at the profile's bandwidth and arrives half a round trip after its last byte
 * left, as on a real link: messages sent back to back share one latency instead of adding theirs up, and a large
 * message occupies the link for size / bandwidth.
 * <p>
 * Each outgoing link has a delay line: {@link #send} copies the message (so the caller may reuse its segment, as
 * with a socket), stamps its arrival time and returns; a thread per link hands it to the inner transport at that
 * time. Receiving is the inner transport's. This decorator keeps its own {@link CostMeter}, counted on the caller's
 * thread exactly like the inner transports count (payload bytes): use this meter, not the inner one, whose sends
 * happen on the delay-line threads.
 */
public final class ShapedTransport implements Transport
{
    /** Bytes a link lets through at once after a quiet period (a NIC queue's worth of packets). */
    public static final long BURST_BYTES = 64 << 10;
    /** Bytes in a delay line before a send waits (bounded memory when a sender outpaces the link). */
    public static final long MAX_QUEUED_BYTES = 1L << 30;
    /** How long a close waits beyond the last arrival time for the delay lines to empty. */
    private static final Duration CLOSE_GRACE = Duration.ofSeconds(10);

    private final Transport inner;
    private final NetworkProfile profile;
    private final Map<Party, DelayLine> lines;
    private final CostMeter meter = new CostMeter();
    private final AtomicBoolean closed = new AtomicBoolean();

    /** Shapes {@code inner} by {@code profile} (even a profile that shapes nothing; see {@link #wrap}). */
    public ShapedTransport(final Transport inner, final NetworkProfile profile)
    {
        this.inner = inner;
        this.profile = profile;
        final Map<Party, DelayLine> m = new EnumMap<>(Party.class);
        for (final Party p : Party.values())
        {
            if (p != inner.self())
            {
                m.put(p, new DelayLine(p));
            }
        }
        this.lines = Collections.unmodifiableMap(m);
        for (final DelayLine l : lines.values())
        {
            l.thread.start();
        }
    }

    /** {@code inner} itself when {@code profile} shapes nothing ({@link NetworkProfile#LAN}), else a shaped one. */
    public static Transport wrap(final Transport inner, final NetworkProfile profile)
    {
        return profile.shapes() ? new ShapedTransport(inner, profile) : inner;
    }

    /** The emulated network. */
    public NetworkProfile profile()
    {
        return profile;
    }

    @Override
    public Party self()
    {
        return inner.self();
    }

    @Override
    public void send(final Party to, final MemorySegment message)
    {
        final DelayLine line = lines.get(to);
        if (line == null)
        {
            throw new IllegalArgumentException(self() + " cannot exchange messages with itself");
        }
        if (closed.get())
        {
            throw new TransportException(self() + ": cannot send to " + to + ", this transport is closed");
        }
        line.submit(message);
        meter.countSent(message.byteSize());
    }

    @Override
    public void receive(final Party from, final MemorySegment into)
    {
        inner.receive(from, into);
        meter.countReceived(into.byteSize());
    }

    @Override
    public CostMeter meter()
    {
        return meter;
    }

    /** Lets the delay lines deliver what they hold (bounded), then closes the inner transport. */
    @Override
    public void close()
    {
        if (!closed.compareAndSet(false, true))
        {
            return;
        }
        for (final DelayLine l : lines.values())
        {
            l.finish();
        }
        for (final DelayLine l : lines.values())
        {
            l.awaitEnd();
        }
        inner.close();
    }

    /** A message on its way. */
    private record InFlight(MemorySegment copy, long arrivalNs)
    {
    }

    /** The shaped link to one peer: pacing, latency, and the thread that delivers. */
    private final class DelayLine
    {
        private final Party to;
        private final TokenBucket bucket;
        private final long halfRttNs;
        private final Thread thread;
        private final ReentrantLock lock = new ReentrantLock();
        private final Condition changed = lock.newCondition();
        private final ArrayDeque<InFlight> queue = new ArrayDeque<>();
        private long queuedBytes;
        private long lastArrivalNs;
        private boolean finishing;
        private RuntimeException failure;

        DelayLine(final Party to)
        {
            this.to = to;
            final long now = System.nanoTime();
            this.bucket = profile.bitsPerSecond() > 0 ? new TokenBucket(profile.bytesPerSecond(), BURST_BYTES, now) :
                null;
            this.halfRttNs = profile.rtt().toNanos() / 2;
            this.lastArrivalNs = now;
            this.thread = Thread.ofPlatform().daemon().name("polypi-shape-" + inner.self() + "->" + to)
                .unstarted(this::run);
        }

        void submit(final MemorySegment message)
        {
            final long size = message.byteSize();
            // Off-heap and freed by the collector: messages may exceed a heap array, and nothing else owns them.
            final MemorySegment copy = Arena.ofAuto().allocate(Math.max(1, size)).asSlice(0, size);
            MemorySegment.copy(message, 0, copy, 0, size);
            lock.lock();
            try
            {
                while (failure == null && queuedBytes > 0 && queuedBytes + size > MAX_QUEUED_BYTES)
                {
                    changed.awaitUninterruptibly();
                }
                if (failure != null)
                {
                    throw new TransportException(failure.getMessage(), failure);
                }
                final long now = System.nanoTime();
                final long lastByteLeft = bucket == null ? now : bucket.reserve(size, now);
                final long arrival = lastByteLeft + halfRttNs;
                lastArrivalNs = Math.max(lastArrivalNs, arrival);
                queue.add(new InFlight(copy, arrival));
                queuedBytes += size;
                changed.signalAll();
            }
            finally
            {
                lock.unlock();
            }
        }

        void finish()
        {
            lock.lock();
            try
            {
                finishing = true;
                changed.signalAll();
            }
            finally
            {
                lock.unlock();
            }
        }

        void awaitEnd()
        {
            final long waitNs;
            lock.lock();
            try
            {
                waitNs = Math.max(0, lastArrivalNs - System.nanoTime()) + CLOSE_GRACE.toNanos();
            }
            finally
            {
                lock.unlock();
            }
            try
            {
                thread.join(Duration.ofNanos(waitNs));
                if (thread.isAlive())
                {
                    thread.interrupt();
                    thread.join(CLOSE_GRACE);
                }
            }
            catch (final InterruptedException e)
            {
                Thread.currentThread().interrupt();
            }
        }

        private void run()
        {
            try
            {
                while (true)
                {
                    final InFlight next;
                    lock.lock();
                    try
                    {
                        while (queue.isEmpty())
                        {
                            if (finishing)
                            {
                                return;
                            }
                            changed.await();
                        }
                        next = queue.peek();
                    }
                    finally
                    {
                        lock.unlock();
                    }
                    long wait;
                    while ((wait = next.arrivalNs() - System.nanoTime()) > 0)
                    {
                        LockSupport.parkNanos(wait);
                        if (Thread.interrupted())
                        {
                            throw new InterruptedException();
                        }
                    }
                    inner.send(to, next.copy());
                    lock.lock();
                    try
                    {
                        queue.poll();
                        queuedBytes -= next.copy().byteSize();
                        changed.signalAll();
                    }
                    finally
                    {
                        lock.unlock();
                    }
                }
            }
            catch (final InterruptedException e)
            {
                fail(new TransportException(inner.self() + ": delivery to " + to + " stopped by close", e));
            }
            catch (final RuntimeException e)
            {
                fail(e);
            }
        }

        private void fail(final RuntimeException e)
        {
            lock.lock();
            try
            {
                failure = e;
                changed.signalAll();
            }
            finally
            {
                lock.unlock();
            }
        }
    }
}
