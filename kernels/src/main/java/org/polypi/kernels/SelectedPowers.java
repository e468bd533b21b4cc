package org.polypi.kernels;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static org.polypi.kernels.RingTensor.ELEMENT;

/**
 * The fused form of {@link RingKernels#selectPowersFromOpened}: one pass over the inputs, a block of elements at a
 * time copied into heap arrays, computed with plain {@code long} arithmetic and copied out.
 * <p>
 * Why not the Vector API: this is one pass over d + w + 1 inputs (w the {@link CandidateDifferences} words) and d
 * outputs per element, so it is bound by memory
 * bandwidth, not arithmetic; and the composed form (a shift, a constant add, d fused multiply-adds and the power
 * expansion, each a whole-tensor vector kernel) ran at 30-70 ns per element in the engine, memory traffic and
 * vector code that C2 had left un-intrinsified together. Bulk segment copies and array loops compile the same way in
 * every JVM state.
 */
final class SelectedPowers
{
    /** Elements per block: 2d + 1 input and d output arrays of 16 KiB each stay in L1/L2 for degree 4. */
    static final int BLOCK = 2048;

    private SelectedPowers()
    {
    }

    /** Trusted arguments (checked by {@link RingKernels#selectPowersFromOpened}). */
    static void compute(final MemorySegment c, final int shift, final long addend, final MemorySegment[] base,
                        final MemorySegment[] diff, final boolean holdsConstant, final MemorySegment[] out,
                        final long n)
    {
        final int degree = base.length;
        final long[][] binomial = ScalarElementwise.binomialTable(degree);
        final long constant = holdsConstant ? 1L : 0L;
        final long[] cBlock = new long[BLOCK];
        final long[][] q = new long[degree][BLOCK];
        final long[] d = new long[BLOCK];
        final long[][] x = new long[degree][BLOCK];
        final boolean packed = CandidateDifferences.packed(shift, degree);
        final int left = CandidateDifferences.leftShift(shift, packed);
        for (long from = 0; from < n; from += BLOCK)
        {
            final int len = (int)Math.min(BLOCK, n - from);
            MemorySegment.copy(c, ELEMENT, from * Long.BYTES, cBlock, 0, len);
            for (int i = 0; i < degree; i++)
            {
                MemorySegment.copy(base[i], ELEMENT, from * Long.BYTES, q[i], 0, len);
                MemorySegment.copy(diff[CandidateDifferences.word(i + 1, packed)], ELEMENT, from * Long.BYTES, d, 0,
                    len);
                select(cBlock, q[i], d, CandidateDifferences.rightShift(i + 1, packed), left, len);
            }
            toPublicPart(cBlock, shift, addend, len);
            for (int m = degree; m >= 1; m--)
            {
                expand(cBlock, q, binomial[m], m, constant, x[m - 1], len);
            }
            for (int m = 0; m < degree; m++)
            {
                MemorySegment.copy(x[m], 0, out[m], ELEMENT, from * Long.BYTES, len);
            }
        }
    }

    /**
     * {@code q[e] = msb(c[e]) ? q[e] - diff : q[e]} with {@code diff = (d[e] >>> right) << left}
     * ({@link CandidateDifferences}): the candidate the public top bit of c picks.
     */
    private static void select(final long[] c, final long[] q, final long[] d, final int right, final int left,
                               final int len)
    {
        for (int e = 0; e < len; e++)
        {
            q[e] += (c[e] >> (Long.SIZE - 1)) * ((d[e] >>> right) << left);
        }
    }

    /** {@code c[e] = (c[e] >> shift) + addend}: the public part of the truncated value. */
    private static void toPublicPart(final long[] c, final int shift, final long addend, final int len)
    {
        for (int e = 0; e < len; e++)
        {
            c[e] = (c[e] >> shift) + addend;
        }
    }

    /**
     * {@code out[e] = sum_{i=0..m} C(m,i) p[e]^(m-i) q_i[e]} with {@code q_0 = constant}, in Horner form, one Horner
     * step per pass over the block: each pass is a plain loop over arrays that C2 turns into vector code itself.
     */
    private static void expand(final long[] p, final long[][] q, final long[] row, final int m, final long constant,
                               final long[] out, final int len)
    {
        Arrays.fill(out, 0, len, constant);
        for (int i = 1; i < m; i++)
        {
            hornerStep(out, p, row[i], q[i - 1], len);
        }
        hornerStep(out, p, 1L, q[m - 1], len);
    }

    /** {@code acc[e] = acc[e] * p[e] + coefficient * q[e]}. */
    private static void hornerStep(final long[] acc, final long[] p, final long coefficient, final long[] q,
                                   final int len)
    {
        for (int e = 0; e < len; e++)
        {
            acc[e] = acc[e] * p[e] + coefficient * q[e];
        }
    }
}
