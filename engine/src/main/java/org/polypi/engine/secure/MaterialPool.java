package org.polypi.engine.secure;

import java.lang.foreign.Arena;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * A bounded pool of dealer material dealt ahead: one producer thread deals whole queries' material (for the
 * dealer's compiled plan, in the dealer's order) into a queue of {@code capacity} queries; the dealer's online sends
 * take from it in order. When the queue is full the producer waits (back-pressure: at most {@code capacity} queries
 * dealt and not yet sent, plus the one being dealt). Every query is taken once and released after it is sent.
 * <p>
 * A failure of the producer is rethrown by the next {@link #take}. {@link #close} stops the producer, waits for it
 * to end and releases every pooled query's memory: no thread or segment outlives it.
 */
public final class MaterialPool implements AutoCloseable
{
    /** How often a waiting {@link #take} checks that the producer is still alive. */
    private static final long POLL_MILLIS = 50;
    private static final AtomicInteger POOLS = new AtomicInteger();

    private final int capacity;
    private final BlockingQueue<QueryMaterial> queue;
    private final Function<Arena, QueryMaterial> deal;
    private final Thread producer;
    private final AtomicInteger produced = new AtomicInteger();
    private final AtomicInteger taken = new AtomicInteger();
    private final AtomicLong dealingNanos = new AtomicLong();
    private volatile Throwable failure;
    private volatile boolean closed;

    private MaterialPool(final Function<Arena, QueryMaterial> deal, final int capacity)
    {
        this.deal = deal;
        this.capacity = capacity;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.producer = new Thread(this::produce, "polypi-dealer-pool-" + POOLS.incrementAndGet());
        this.producer.setDaemon(true);
    }

    /** Starts a pool of {@code capacity} queries whose producer calls {@code deal} with a fresh shared arena. */
    static MaterialPool start(final Function<Arena, QueryMaterial> deal, final int capacity)
    {
        if (capacity <= 0)
        {
            throw new IllegalArgumentException("pool capacity must be positive, was " + capacity);
        }
        final MaterialPool pool = new MaterialPool(deal, capacity);
        pool.producer.start();
        return pool;
    }

    private void produce()
    {
        try
        {
            while (!closed)
            {
                final Arena arena = Arena.ofShared();
                final QueryMaterial m;
                try
                {
                    m = deal.apply(arena);
                }
                catch (final RuntimeException | Error e)
                {
                    arena.close();
                    throw e;
                }
                try
                {
                    queue.put(m);
                }
                catch (final InterruptedException e)
                {
                    m.close();
                    return;
                }
                dealingNanos.addAndGet(m.generationNanos());
                produced.incrementAndGet();
            }
        }
        catch (final Throwable t)
        {
            if (!closed)
            {
                failure = t;
            }
        }
    }

    /**
     * The next query's material, waiting for the producer if none is ready.
     *
     * @throws IllegalStateException if the pool is closed or its producer failed (the cause attached).
     */
    QueryMaterial take()
    {
        try
        {
            while (true)
            {
                if (closed)
                {
                    throw new IllegalStateException("the dealer's material pool is closed");
                }
                final QueryMaterial m = queue.poll(POLL_MILLIS, TimeUnit.MILLISECONDS);
                if (m != null)
                {
                    taken.incrementAndGet();
                    return m;
                }
                final Throwable t = failure;
                if (t != null)
                {
                    throw new IllegalStateException("the dealer's material pool failed: " + t, t);
                }
            }
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the dealer's material pool", e);
        }
    }

    /** Queries the pool holds at most. */
    public int capacity()
    {
        return capacity;
    }

    /** Queries dealt and put in the pool so far. */
    public int produced()
    {
        return produced.get();
    }

    /** Queries taken (sent) so far. */
    public int taken()
    {
        return taken.get();
    }

    /** Queries ready in the pool now. */
    public int ready()
    {
        return queue.size();
    }

    /** Wall time the producer spent dealing the queries it pooled, in nanoseconds (the work off the query's path). */
    public long dealingNanos()
    {
        return dealingNanos.get();
    }

    /** True while the producer thread runs. */
    public boolean producing()
    {
        return producer.isAlive();
    }

    /** Stops the producer, waits for it to end, and releases every pooled query. Idempotent, any thread. */
    @Override
    public void close()
    {
        closed = true;
        producer.interrupt();
        boolean interrupted = false;
        while (producer.isAlive())
        {
            try
            {
                producer.join();
            }
            catch (final InterruptedException e)
            {
                // Finish the cleanup anyway: the producer ends at its next put (it is interrupted and closed).
                interrupted = true;
            }
        }
        QueryMaterial m;
        while ((m = queue.poll()) != null)
        {
            m.close();
        }
        if (interrupted)
        {
            Thread.currentThread().interrupt();
        }
    }
}
