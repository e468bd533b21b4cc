package org.polypi.kernels;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * One long-lived pool of daemon threads that splits a compute kernel into parts and runs them on all cores.
 * <p>
 * The pool is created on first use of {@link #shared()} and lives as long as the JVM; no thread is ever created
 * per call. Its parallelism is {@value #THREADS_PROPERTY} if set, else {@link Runtime#availableProcessors()}. The
 * calling thread always takes a share of the work, so the pool holds {@code threads() - 1} workers.
 * <p>
 * Parts are claimed one at a time from a shared counter, by the caller and by the workers alike. A caller therefore
 * never waits for a part nobody has started: if every worker is busy (other callers, or this call nested inside a
 * part), it runs the remaining parts itself. This makes nested and concurrent use deadlock-free.
 */
public final class WorkerPool
{
    /** System property: number of threads (caller included) for parallel kernels, a positive integer. */
    public static final String THREADS_PROPERTY = "polypi.threads";
    private static final String THREAD_NAME_PREFIX = "polypi-worker-";

    private final int threads;
    private final Thread[] workers;
    private final LinkedBlockingQueue<Job> queue = new LinkedBlockingQueue<>();

    private WorkerPool(final int threads)
    {
        this.threads = threads;
        this.workers = new Thread[threads - 1];
    }

    private static final class Holder
    {
        static final WorkerPool SHARED = create(configuredThreads());
    }

    /**
     * The JVM-wide pool, started on first call.
     *
     * @throws IllegalStateException if {@value #THREADS_PROPERTY} is set but not a positive integer.
     */
    public static WorkerPool shared()
    {
        return Holder.SHARED;
    }

    /** Number of threads a fully parallel kernel uses: the workers plus the caller. */
    public int threads()
    {
        return threads;
    }

    /**
     * True if the pool's workers may read and write {@code segment}: segments of confined arenas can only be used by
     * their owner thread, so kernels over them must run on the caller alone.
     */
    public boolean canShare(final MemorySegment segment)
    {
        return workers.length == 0 || segment.isAccessibleBy(workers[0]);
    }

    /**
     * Runs {@code task.accept(part)} once for every part in {@code [0, parts)}, on the calling thread and on up to
     * {@code parts - 1} workers, and returns when all parts are done. Parts must be independent of each other.
     * Everything a part wrote is visible to the caller on return.
     *
     * @throws IllegalArgumentException if {@code parts} is not positive.
     * @throws RuntimeException or {@link Error}: the first failure of any part, rethrown after every part finished.
     */
    public void run(final int parts, final IntConsumer task)
    {
        RingTensor.checkPositive("parts", parts);
        if (parts == 1 || workers.length == 0)
        {
            for (int part = 0; part < parts; part++)
            {
                task.accept(part);
            }
            return;
        }
        final Job job = new Job(task, parts, Thread.currentThread());
        final int helpers = Math.min(parts - 1, workers.length);
        for (int h = 0; h < helpers; h++)
        {
            queue.add(job);
        }
        job.work();
        job.awaitAll();
        final Throwable failure = job.failure;
        if (failure instanceof RuntimeException runtime)
        {
            throw runtime;
        }
        if (failure instanceof Error error)
        {
            throw error;
        }
        if (failure != null)
        {
            throw new IllegalStateException("parallel part failed: " + failure, failure);
        }
    }

    private static int configuredThreads()
    {
        final String value = System.getProperty(THREADS_PROPERTY);
        if (value == null || value.isBlank())
        {
            return Runtime.getRuntime().availableProcessors();
        }
        try
        {
            final int parsed = Integer.parseInt(value.trim());
            if (parsed > 0)
            {
                return parsed;
            }
        }
        catch (final NumberFormatException ignored)
        {
            // reported below with the offending value
        }
        throw new IllegalStateException(THREADS_PROPERTY + " must be a positive integer, was '" + value + "'");
    }

    private static WorkerPool create(final int threads)
    {
        final WorkerPool pool = new WorkerPool(threads);
        for (int w = 0; w < pool.workers.length; w++)
        {
            final Thread worker = new Thread(pool::workLoop, THREAD_NAME_PREFIX + w);
            worker.setDaemon(true);
            pool.workers[w] = worker;
        }
        for (final Thread worker : pool.workers)
        {
            worker.start();
        }
        return pool;
    }

    private void workLoop()
    {
        while (true)
        {
            final Job job;
            try
            {
                job = queue.take();
            }
            catch (final InterruptedException e)
            {
                // Nobody owns these threads but the pool; an interrupt is not a request to stop serving callers.
                continue;
            }
            job.work();
        }
    }

    /** One call of {@link #run}: parts are claimed from {@code next}, completions counted in {@code done}. */
    private static final class Job
    {
        private final IntConsumer task;
        private final int parts;
        private final Thread caller;
        private final AtomicInteger next = new AtomicInteger();
        private final AtomicInteger done = new AtomicInteger();
        private volatile Throwable failure;

        Job(final IntConsumer task, final int parts, final Thread caller)
        {
            this.task = task;
            this.parts = parts;
            this.caller = caller;
        }

        void work()
        {
            int part;
            while ((part = next.getAndIncrement()) < parts)
            {
                try
                {
                    task.accept(part);
                }
                catch (final Throwable t)
                {
                    synchronized (this)
                    {
                        if (failure == null)
                        {
                            failure = t;
                        }
                        else if (failure != t)
                        {
                            failure.addSuppressed(t);
                        }
                    }
                }
                finally
                {
                    if (done.incrementAndGet() == parts)
                    {
                        LockSupport.unpark(caller);
                    }
                }
            }
        }

        void awaitAll()
        {
            boolean interrupted = false;
            while (done.get() < parts)
            {
                LockSupport.park(this);
                // An interrupt makes park return at once; clear it so we block again, and restore it at the end.
                interrupted |= Thread.interrupted();
            }
            if (interrupted)
            {
                Thread.currentThread().interrupt();
            }
        }
    }
}
