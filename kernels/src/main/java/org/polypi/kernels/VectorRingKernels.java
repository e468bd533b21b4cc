package org.polypi.kernels;

import java.lang.foreign.MemorySegment;

/**
 * Vector API backend (jdk.incubator.vector, the preferred species of this CPU). Loaded only by name from
 * {@link Kernels} when the vector module is present, so the rest of the code runs without it.
 */
public final class VectorRingKernels extends CheckedRingKernels
{
    static
    {
        // Before any of this class's methods can be compiled: see ClassHierarchy.
        ClassHierarchy.complete();
    }

    /** The one instance (the backend holds no state). */
    public static final VectorRingKernels INSTANCE = new VectorRingKernels();
    /**
     * Elementwise operations over at least this many elements are split over the shared {@link WorkerPool} when
     * every operand may be touched by its workers: past the caches one core cannot pull the memory bandwidth that two
     * can (an out-of-place add over 256 MiB arrays reached 0.7x of a copy on one core), and below this size the
     * hand-off costs more than it saves.
     */
    public static final long PARALLEL_MIN_ELEMENTS = 1L << 18;
    /** Parts start on multiples of this many elements: whole cache lines, whole vectors. */
    private static final long PART_ALIGN_ELEMENTS = 64;

    /** One part of a split elementwise operation: elements {@code [from, from + count)}. */
    @FunctionalInterface
    private interface Part
    {
        void run(long fromBytes, long count);
    }

    private VectorRingKernels()
    {
    }

    @Override
    public String name()
    {
        return "vector";
    }

    @Override
    protected void addUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long n)
    {
        if (onHeap(a, b, out))
        {
            ScalarRingKernels.INSTANCE.addUnchecked(a, b, out, n);
            return;
        }
        split(n, (o, c) -> VectorElementwise.add(a.asSlice(o), b.asSlice(o), out.asSlice(o), c), a, b, out);
    }

    @Override
    protected void subUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long n)
    {
        if (onHeap(a, b, out))
        {
            ScalarRingKernels.INSTANCE.subUnchecked(a, b, out, n);
            return;
        }
        split(n, (o, c) -> VectorElementwise.sub(a.asSlice(o), b.asSlice(o), out.asSlice(o), c), a, b, out);
    }

    @Override
    protected void negateUnchecked(final MemorySegment a, final MemorySegment out, final long n)
    {
        if (onHeap(a, out))
        {
            ScalarRingKernels.INSTANCE.negateUnchecked(a, out, n);
            return;
        }
        split(n, (o, c) -> VectorElementwise.negate(a.asSlice(o), out.asSlice(o), c), a, out);
    }

    @Override
    protected void multiplyUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long n)
    {
        if (onHeap(a, b, out))
        {
            ScalarRingKernels.INSTANCE.multiplyUnchecked(a, b, out, n);
            return;
        }
        split(n, (o, c) -> VectorElementwise.multiply(a.asSlice(o), b.asSlice(o), out.asSlice(o), c), a, b, out);
    }

    @Override
    protected void multiplyConstantUnchecked(final MemorySegment a, final long c, final MemorySegment out, final long n)
    {
        if (onHeap(a, out))
        {
            ScalarRingKernels.INSTANCE.multiplyConstantUnchecked(a, c, out, n);
            return;
        }
        split(n, (o, k) -> VectorElementwise.multiplyConstant(a.asSlice(o), c, out.asSlice(o), k), a, out);
    }

    @Override
    protected void addConstantUnchecked(final MemorySegment a, final long c, final MemorySegment out, final long n)
    {
        if (onHeap(a, out))
        {
            ScalarRingKernels.INSTANCE.addConstantUnchecked(a, c, out, n);
            return;
        }
        split(n, (o, k) -> VectorElementwise.addConstant(a.asSlice(o), c, out.asSlice(o), k), a, out);
    }

    @Override
    protected void fusedMultiplyAddUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment c,
                                             final MemorySegment out, final long n)
    {
        if (onHeap(a, b, c, out))
        {
            ScalarRingKernels.INSTANCE.fusedMultiplyAddUnchecked(a, b, c, out, n);
            return;
        }
        split(n, (o, k) -> VectorElementwise.fusedMultiplyAdd(a.asSlice(o), b.asSlice(o), c.asSlice(o),
            out.asSlice(o), k), a, b, c, out);
    }

    @Override
    protected void shiftRightArithmeticUnchecked(final MemorySegment a, final int shift, final MemorySegment out,
                                                 final long n)
    {
        if (onHeap(a, out))
        {
            ScalarRingKernels.INSTANCE.shiftRightArithmeticUnchecked(a, shift, out, n);
            return;
        }
        split(n, (o, c) -> VectorElementwise.shiftRightArithmetic(a.asSlice(o), shift, out.asSlice(o), c), a, out);
    }

    @Override
    protected void polynomialUnchecked(final MemorySegment x, final long[] coefficients, final MemorySegment out,
                                       final long n)
    {
        if (onHeap(x, out))
        {
            ScalarRingKernels.INSTANCE.polynomialUnchecked(x, coefficients, out, n);
            return;
        }
        split(n, (o, c) -> VectorElementwise.polynomial(x.asSlice(o), coefficients, out.asSlice(o), c), x, out);
    }

    @Override
    protected void powersFromOpenedUnchecked(final MemorySegment c, final MemorySegment[] rPowers,
                                             final boolean holdsConstant, final MemorySegment[] xPowers, final long n)
    {
        if (onHeap(c) || onHeap(rPowers) || onHeap(xPowers))
        {
            ScalarRingKernels.INSTANCE.powersFromOpenedUnchecked(c, rPowers, holdsConstant, xPowers, n);
            return;
        }
        VectorElementwise.powersFromOpened(c, rPowers, holdsConstant, xPowers, n);
    }

    @Override
    public void polynomialFromOpened(final MemorySegment c, final int[] shifts, final long[] addends,
                                     final MemorySegment[][] base, final MemorySegment[][] diff,
                                     final long[][] multipliers, final MemorySegment z, final long zMultiplier,
                                     final boolean holdsConstant, final long constant, final MemorySegment out,
                                     final long n)
    {
        if (OpenedPolynomial.checkOrComputeOnHeap(c, shifts, addends, base, diff, multipliers, z, zMultiplier,
            holdsConstant, constant, out, n))
        {
            return;
        }
        VectorElementwise.polynomialFromOpened(c, shifts, addends, base, diff,
            OpenedPolynomial.hornerCoefficients(multipliers, holdsConstant), z, zMultiplier,
            holdsConstant ? constant : 0L, out, n);
    }

    @Override
    public void truncationFromMaskedShares(final MemorySegment cOwn, final MemorySegment cPeer, final long cOffset,
                                           final int shift, final MemorySegment msbR, final MemorySegment rShifted,
                                           final boolean holdsConstant, final long addend, final MemorySegment out,
                                           final long n)
    {
        OpenedTruncation.check(cOwn, shift, msbR, rShifted, out, n);
        RingTensor.checkCapacity("cPeer", cPeer, n);
        if (onHeap(cOwn, cPeer, msbR, rShifted) || onHeap(out))
        {
            OpenedTruncation.compute(cOwn, cPeer, cOffset, shift, msbR, rShifted, holdsConstant, addend, out, n);
            return;
        }
        VectorElementwise.truncationFromMaskedShares(cOwn, cPeer, cOffset, shift, msbR, rShifted, holdsConstant,
            addend, out, n);
    }

    @Override
    protected void matmulUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m,
                                   final int k, final int n)
    {
        if (onHeap(a, b, c))
        {
            ScalarRingKernels.INSTANCE.matmulUnchecked(a, b, c, m, k, n);
            return;
        }
        VectorLinear.matmul(a, b, c, m, k, n);
    }

    @Override
    protected void matmulAccumulateUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment c,
                                             final int m, final int k, final int n)
    {
        if (onHeap(a, b, c))
        {
            ScalarRingKernels.INSTANCE.matmulAccumulateUnchecked(a, b, c, m, k, n);
            return;
        }
        VectorLinear.matmulAccumulate(a, b, c, m, k, n);
    }

    @Override
    protected void matmulTransposedBUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment c,
                                              final int m, final int k, final int n)
    {
        if (onHeap(a, b, c))
        {
            ScalarRingKernels.INSTANCE.matmulTransposedBUnchecked(a, b, c, m, k, n);
            return;
        }
        VectorLinear.matmulTransposedB(a, b, c, m, k, n);
    }

    @Override
    protected void matmulTransposedAUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment c,
                                              final int m, final int k, final int n)
    {
        if (onHeap(a, b, c))
        {
            ScalarRingKernels.INSTANCE.matmulTransposedAUnchecked(a, b, c, m, k, n);
            return;
        }
        VectorLinear.matmulTransposedA(a, b, c, m, k, n);
    }

    @Override
    protected void conv2dUnchecked(final MemorySegment input, final MemorySegment weights, final MemorySegment out,
                                   final Conv2dShape shape)
    {
        if (onHeap(input, weights, out))
        {
            ScalarRingKernels.INSTANCE.conv2dUnchecked(input, weights, out, shape);
            return;
        }
        VectorLinear.conv2d(input, weights, out, shape);
    }

    @Override
    protected void conv2dAccumulateUnchecked(final MemorySegment input, final MemorySegment weights,
                                             final MemorySegment out, final Conv2dShape shape)
    {
        if (onHeap(input, weights, out))
        {
            ScalarRingKernels.INSTANCE.conv2dAccumulateUnchecked(input, weights, out, shape);
            return;
        }
        VectorLinear.conv2dAccumulate(input, weights, out, shape);
    }

    @Override
    protected void sumPool2dUnchecked(final MemorySegment input, final MemorySegment out, final int batch,
                                      final int channels, final int height, final int width, final int window,
                                      final int stride)
    {
        if (onHeap(input, out))
        {
            ScalarRingKernels.INSTANCE.sumPool2dUnchecked(input, out, batch, channels, height, width, window, stride);
            return;
        }
        VectorLinear.sumPool2d(input, out, batch, channels, height, width, window, stride);
    }

    /** Runs {@code part} over all of [0, n), split over the pool's threads when that pays (see the constant). */
    private static void split(final long n, final Part part, final MemorySegment... operands)
    {
        final WorkerPool pool = WorkerPool.shared();
        final int parts = pool.threads();
        if (n < PARALLEL_MIN_ELEMENTS || parts < 2 || !shareable(pool, operands))
        {
            part.run(0, n);
            return;
        }
        final long perPart = (n / parts + PART_ALIGN_ELEMENTS - 1) / PART_ALIGN_ELEMENTS * PART_ALIGN_ELEMENTS;
        pool.run(parts, index ->
        {
            final long from = Math.min(n, index * perPart);
            final long to = index == parts - 1 ? n : Math.min(n, from + perPart);
            if (to > from)
            {
                part.run(from * Long.BYTES, to - from);
            }
        });
    }

    /**
     * True if any of {@code segments} is a heap segment. Those take the scalar twin: one Vector API access to a heap
     * segment makes C2 compile every later vector load and store of the JVM (shared JDK code) for several segment
     * kinds, and W3's convolutions then ran 8x slower for the rest of the process (measured after one batch of
     * inputs encoded into a {@code long[]}). The engine keeps its tensors off-heap, so this costs it nothing.
     */
    static boolean onHeap(final MemorySegment[] segments)
    {
        for (final MemorySegment segment : segments)
        {
            if (!segment.isNative())
            {
                return true;
            }
        }
        return false;
    }

    private static boolean onHeap(final MemorySegment a)
    {
        return !a.isNative();
    }

    private static boolean onHeap(final MemorySegment a, final MemorySegment b)
    {
        return !a.isNative() || !b.isNative();
    }

    private static boolean onHeap(final MemorySegment a, final MemorySegment b, final MemorySegment c)
    {
        return !a.isNative() || !b.isNative() || !c.isNative();
    }

    private static boolean onHeap(final MemorySegment a, final MemorySegment b, final MemorySegment c,
                                  final MemorySegment d)
    {
        return !a.isNative() || !b.isNative() || !c.isNative() || !d.isNative();
    }

    private static boolean shareable(final WorkerPool pool, final MemorySegment[] operands)
    {
        for (final MemorySegment segment : operands)
        {
            if (!pool.canShare(segment))
            {
                return false;
            }
        }
        return true;
    }
}
