package org.polypi.trainer;

import org.polypi.kernels.WorkerPool;

/**
 * Splits trainer work into a <em>fixed</em> number of contiguous parts and runs them on {@link WorkerPool#shared()}.
 * <p>
 * The split depends only on the amount of work, never on the number of threads, and every reduction over parts is
 * summed in part order by the caller. Training is therefore bit-for-bit reproducible from a seed on any machine,
 * with one thread or many.
 */
final class Parallel
{
    /** Most parts one operation is split into: enough to balance two or four cores, few enough to stay cheap. */
    static final int MAX_PARTS = 8;

    private Parallel()
    {
    }

    /** Body of one part: the half-open range {@code [from, to)} of the split items. */
    @FunctionalInterface
    interface RangeTask
    {
        /** Runs part {@code part}, which owns items {@code [from, to)}. */
        void run(int part, int from, int to);
    }

    /**
     * Number of parts for {@code items} items of which each part should get at least {@code minItems}.
     *
     * @throws IllegalArgumentException if {@code items} or {@code minItems} is not positive.
     */
    static int parts(final int items, final int minItems)
    {
        if (items <= 0 || minItems <= 0)
        {
            throw new IllegalArgumentException("items and minItems must be positive, were " + items + " and " +
                minItems);
        }
        return Math.max(1, Math.min(MAX_PARTS, items / minItems));
    }

    /** First item of part {@code part} when {@code items} are split into {@code parts} near-equal ranges. */
    static int start(final int items, final int parts, final int part)
    {
        return (int)((long)items * part / parts);
    }

    /** Runs {@code task} on {@code parts} near-equal ranges of {@code [0, items)} and returns when all are done. */
    static void forRange(final int items, final int parts, final RangeTask task)
    {
        if (parts == 1)
        {
            task.run(0, 0, items);
            return;
        }
        WorkerPool.shared().run(parts, p -> task.run(p, start(items, parts, p), start(items, parts, p + 1)));
    }
}
