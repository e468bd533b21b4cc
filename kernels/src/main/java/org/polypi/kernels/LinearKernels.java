package org.polypi.kernels;

import java.lang.foreign.MemorySegment;

import static org.polypi.kernels.RingTensor.checkCapacity;
import static org.polypi.kernels.RingTensor.checkPositive;

/**
 * The vector backend's linear-algebra kernels with an explicit thread count, for benchmarks that compare one core
 * with several and for callers that schedule cores themselves. Same operations, layouts and results as
 * {@link RingKernels#matmul}, {@link RingKernels#matmulTransposedB}, {@link RingKernels#matmulTransposedA} and
 * {@link RingKernels#conv2d} (which choose the thread count by problem size: one thread below about 2^20
 * multiply-adds, else {@link #defaultThreads()}).
 * <p>
 * {@code threads} is an upper bound: work is split into at most that many parts, run on the calling thread and on
 * {@link WorkerPool#shared()}, never into more parts than the product has column or row strips, and not at all below
 * about 2^20 multiply-adds. Segments from a confined arena can only be touched by their owner thread, so
 * multi-threaded calls need segments from a shared, automatic or global arena. Heap segments are accepted and run the
 * scalar product (see {@code VectorRingKernels.onHeap} for why no vector kernel touches them).
 * <p>
 * Needs the {@code jdk.incubator.vector} module ({@code --add-modules=jdk.incubator.vector}).
 */
public final class LinearKernels
{
    private LinearKernels()
    {
    }

    /** Threads a fully parallel product uses by default: {@link WorkerPool#shared()}'s {@code threads()}. */
    public static int defaultThreads()
    {
        return WorkerPool.shared().threads();
    }

    /**
     * {@code C = A · B}; A is m×k, B is k×n, C is m×n, row-major, on at most {@code threads} threads.
     *
     * @throws IllegalArgumentException if a dimension or {@code threads} is not positive, a segment is too small, or
     *                                  {@code threads > 1} and a segment is confined to this thread.
     * @throws IllegalStateException    if a segment's arena is closed or the vector module is missing.
     */
    public static void matmul(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m,
                              final int k, final int n, final int threads)
    {
        checkMatmul(a, b, c, m, k, n, threads);
        if (VectorRingKernels.onHeap(new MemorySegment[]{a, b, c}))
        {
            ScalarRingKernels.INSTANCE.matmul(a, b, c, m, k, n);
            return;
        }
        VectorLinear.matmul(a, b, c, m, k, n, threads);
    }

    /**
     * {@code C = A · Bᵀ}; A is m×k, B is n×k, C is m×n, on at most {@code threads} threads.
     *
     * @throws IllegalArgumentException as {@link #matmul}.
     * @throws IllegalStateException    as {@link #matmul}.
     */
    public static void matmulTransposedB(final MemorySegment a, final MemorySegment b, final MemorySegment c,
                                         final int m, final int k, final int n, final int threads)
    {
        checkMatmul(a, b, c, m, k, n, threads);
        if (VectorRingKernels.onHeap(new MemorySegment[]{a, b, c}))
        {
            ScalarRingKernels.INSTANCE.matmulTransposedB(a, b, c, m, k, n);
            return;
        }
        VectorLinear.matmulTransposedB(a, b, c, m, k, n, threads);
    }

    /**
     * {@code C = Aᵀ · B}; A is k×m, B is k×n, C is m×n, on at most {@code threads} threads.
     *
     * @throws IllegalArgumentException as {@link #matmul}.
     * @throws IllegalStateException    as {@link #matmul}.
     */
    public static void matmulTransposedA(final MemorySegment a, final MemorySegment b, final MemorySegment c,
                                         final int m, final int k, final int n, final int threads)
    {
        checkMatmul(a, b, c, m, k, n, threads);
        if (VectorRingKernels.onHeap(new MemorySegment[]{a, b, c}))
        {
            ScalarRingKernels.INSTANCE.matmulTransposedA(a, b, c, m, k, n);
            return;
        }
        VectorLinear.matmulTransposedA(a, b, c, m, k, n, threads);
    }

    /**
     * 2-D convolution as {@link RingKernels#conv2d}, on at most {@code threads} threads.
     *
     * @throws IllegalArgumentException if {@code shape} is null, {@code threads} is not positive, a segment is too
     *                                  small, or {@code threads > 1} and a segment is confined to this thread.
     * @throws IllegalStateException    if a segment's arena is closed or the vector module is missing.
     */
    public static void conv2d(final MemorySegment input, final MemorySegment weights, final MemorySegment out,
                              final Conv2dShape shape, final int threads)
    {
        if (shape == null)
        {
            throw new IllegalArgumentException("shape must not be null");
        }
        checkThreads(threads);
        checkCapacity("input", input, shape.inputElements());
        checkCapacity("weights", weights, shape.weightElements());
        checkCapacity("out", out, shape.outputElements());
        checkShareable(threads, "input", input);
        checkShareable(threads, "weights", weights);
        checkShareable(threads, "out", out);
        if (VectorRingKernels.onHeap(new MemorySegment[]{input, weights, out}))
        {
            ScalarRingKernels.INSTANCE.conv2d(input, weights, out, shape);
            return;
        }
        VectorLinear.conv2d(input, weights, out, shape, threads);
    }

    private static void checkMatmul(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m,
                                    final int k, final int n, final int threads)
    {
        checkThreads(threads);
        checkPositive("m", m);
        checkPositive("k", k);
        checkPositive("n", n);
        checkCapacity("a", a, (long)m * k);
        checkCapacity("b", b, (long)k * n);
        checkCapacity("c", c, (long)m * n);
        checkShareable(threads, "a", a);
        checkShareable(threads, "b", b);
        checkShareable(threads, "c", c);
    }

    private static void checkThreads(final int threads)
    {
        checkPositive("threads", threads);
        if (!Kernels.vectorModulePresent())
        {
            throw new IllegalStateException("LinearKernels needs --add-modules=jdk.incubator.vector");
        }
    }

    private static void checkShareable(final int threads, final String name, final MemorySegment segment)
    {
        if (threads > 1 && !WorkerPool.shared().canShare(segment))
        {
            throw new IllegalArgumentException(name + " belongs to a confined arena, so only its owner thread may use " +
                "it; pass threads = 1 or allocate it in a shared arena");
        }
    }
}
