package org.polypi.kernels;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static org.polypi.kernels.RingTensor.ELEMENT;

/**
 * The fused form of {@link RingKernels#polynomialFromOpened}: the selected-candidate power expansion of every copy
 * and the public linear combination of the powers, in one pass over the inputs, without writing any power.
 * <p>
 * Per copy, {@code sum_i m_i x^i} with {@code x^i = sum_t C(i,t) p^(i-t) q_t} is regrouped by the material power t:
 * {@code sum_t q_t g_t(p)}, {@code g_t(p) = sum_s m_(t+s) C(t+s,t) p^s}, so the material of power t is read once and
 * multiplied once, and each {@code g_t} is a Horner chain in the public {@code p} whose coefficients are computed
 * once per call. As in {@link SelectedPowers}, a block of elements is copied into heap arrays and every step is a
 * plain array loop that C2 vectorizes itself: the pass is bound by memory, d + w + 2 words read (w the
 * {@link CandidateDifferences} words, d or about d / 2) and one written per element, against d + w + 1 read, d
 * written, d read again and one written by the unfused composition.
 * <p>
 * Public because backends of other modules (the native one) share its argument checks, its Horner coefficients and,
 * for heap segments, this form itself.
 */
public final class OpenedPolynomial
{
    /** Elements per block: the eight block arrays of 4 KiB each stay in L1. */
    static final int BLOCK = 512;

    private OpenedPolynomial()
    {
    }

    /**
     * The argument checks of {@link RingKernels#polynomialFromOpened}, shared by every backend.
     *
     * @throws IllegalArgumentException naming the operand, as that method says.
     */
    public static void check(final MemorySegment c, final int[] shifts, final long[] addends,
                             final MemorySegment[][] base, final MemorySegment[][] diff, final long[][] multipliers,
                             final MemorySegment z, final long zMultiplier, final MemorySegment out, final long n)
    {
        RingTensor.checkCapacity("c", c, n);
        RingTensor.checkCapacity("out", out, n);
        if (zMultiplier != 0)
        {
            if (z == null)
            {
                throw new IllegalArgumentException("z is required when zMultiplier is not 0");
            }
            RingTensor.checkCapacity("z", z, n);
        }
        if (shifts == null || addends == null || base == null || diff == null || multipliers == null ||
            addends.length != shifts.length || base.length != shifts.length || diff.length != shifts.length ||
            multipliers.length != shifts.length)
        {
            throw new IllegalArgumentException("shifts, addends, base, diff and multipliers must have one entry per " +
                "copy each");
        }
        for (int j = 0; j < shifts.length; j++)
        {
            if (shifts[j] < 0 || shifts[j] >= Long.SIZE)
            {
                throw new IllegalArgumentException("shift of copy " + j + " must be in [0, 63], was " + shifts[j]);
            }
            final int degree = multipliers[j] == null ? 0 : multipliers[j].length;
            if (degree == 0 || base[j] == null || diff[j] == null || base[j].length != degree)
            {
                throw new IllegalArgumentException("copy " + j + ": base and multipliers must have the same " +
                    "positive length (the copy's degree), and diff must be given");
            }
            CandidateDifferences.checkCount("copy " + j, shifts[j], degree, diff[j].length);
            for (int i = 0; i < degree; i++)
            {
                RingTensor.checkCapacity("base[" + j + "][" + i + "]", base[j][i], n);
            }
            for (int i = 0; i < diff[j].length; i++)
            {
                RingTensor.checkCapacity("diff[" + j + "][" + i + "]", diff[j][i], n);
            }
        }
    }

    /**
     * What every streaming backend does first in {@link RingKernels#polynomialFromOpened}: {@link #check} the
     * arguments, and when any operand is a heap segment (the vector and native forms stream native memory only),
     * compute the call here in the block form.
     *
     * @return true when the call is done; false when every operand is native and the backend's own kernel runs.
     * @throws IllegalArgumentException as {@link #check}.
     */
    public static boolean checkOrComputeOnHeap(final MemorySegment c, final int[] shifts, final long[] addends,
                                               final MemorySegment[][] base, final MemorySegment[][] diff,
                                               final long[][] multipliers, final MemorySegment z,
                                               final long zMultiplier, final boolean holdsConstant,
                                               final long constant, final MemorySegment out, final long n)
    {
        check(c, shifts, addends, base, diff, multipliers, z, zMultiplier, out, n);
        if (!anyOnHeap(c, base, diff, z, zMultiplier, out))
        {
            return false;
        }
        compute(c, shifts, addends, base, diff, multipliers, z, zMultiplier, holdsConstant, constant, out, n);
        return true;
    }

    /** True when any operand is a heap segment (z only when it is read). */
    private static boolean anyOnHeap(final MemorySegment c, final MemorySegment[][] base, final MemorySegment[][] diff,
                                    final MemorySegment z, final long zMultiplier, final MemorySegment out)
    {
        if (!c.isNative() || !out.isNative() || (zMultiplier != 0 && !z.isNative()))
        {
            return true;
        }
        for (int j = 0; j < base.length; j++)
        {
            for (final MemorySegment segment : base[j])
            {
                if (!segment.isNative())
                {
                    return true;
                }
            }
            for (final MemorySegment segment : diff[j])
            {
                if (!segment.isNative())
                {
                    return true;
                }
            }
        }
        return false;
    }

    /** Trusted arguments (checked by {@link RingKernels#polynomialFromOpened}). */
    public static void compute(final MemorySegment c, final int[] shifts, final long[] addends,
                               final MemorySegment[][] base, final MemorySegment[][] diff, final long[][] multipliers,
                               final MemorySegment z, final long zMultiplier, final boolean holdsConstant,
                               final long constant, final MemorySegment out, final long n)
    {
        final int copies = shifts.length;
        final long[][][] horner = hornerCoefficients(multipliers, holdsConstant);
        final long[] cBlock = new long[BLOCK];
        final long[] negMsb = new long[BLOCK];
        final long[] p = new long[BLOCK];
        final long[] g = new long[BLOCK];
        final long[] acc = new long[BLOCK];
        final long[] q = new long[BLOCK];
        final long[] d = new long[BLOCK];
        final long ownConstant = holdsConstant ? constant : 0L;
        final boolean[] packed = new boolean[copies];
        final int[] left = new int[copies];
        for (int j = 0; j < copies; j++)
        {
            packed[j] = CandidateDifferences.packed(shifts[j], multipliers[j].length);
            left[j] = CandidateDifferences.leftShift(shifts[j], packed[j]);
        }
        for (long from = 0; from < n; from += BLOCK)
        {
            final int len = (int)Math.min(BLOCK, n - from);
            final long offset = from * Long.BYTES;
            MemorySegment.copy(c, ELEMENT, offset, cBlock, 0, len);
            topBits(cBlock, negMsb, len);
            Arrays.fill(acc, 0, len, ownConstant);
            if (zMultiplier != 0)
            {
                MemorySegment.copy(z, ELEMENT, offset, q, 0, len);
                addScaled(acc, zMultiplier, q, len);
            }
            for (int j = 0; j < copies; j++)
            {
                publicPart(cBlock, shifts[j], addends[j], p, len);
                final long[][] h = horner[j];
                for (int t = 0; t < h.length; t++)
                {
                    if (h[t] == null)
                    {
                        continue;
                    }
                    horner(h[t], p, g, len);
                    if (t == 0)
                    {
                        addInPlace(acc, g, len);
                    }
                    else
                    {
                        MemorySegment.copy(base[j][t - 1], ELEMENT, offset, q, 0, len);
                        MemorySegment.copy(diff[j][CandidateDifferences.word(t, packed[j])], ELEMENT, offset, d, 0,
                            len);
                        if (packed[j])
                        {
                            expand(d, CandidateDifferences.rightShift(t, true), left[j], len);
                        }
                        addSelectedProduct(acc, q, negMsb, d, g, len);
                    }
                }
            }
            MemorySegment.copy(acc, 0, out, ELEMENT, offset, len);
        }
    }

    /**
     * Per copy j, {@link #hornerCoefficients(long[], boolean)} of its multipliers: {@code [j][t]} are the
     * coefficients of {@code g_t}, highest power of p first, or null when {@code g_t} is 0 (or {@code t = 0} for the
     * party without the public constant, whose {@code q_0} is 0).
     */
    public static long[][][] hornerCoefficients(final long[][] multipliers, final boolean holdsConstant)
    {
        final long[][][] horner = new long[multipliers.length][][];
        for (int j = 0; j < multipliers.length; j++)
        {
            horner[j] = hornerCoefficients(multipliers[j], holdsConstant);
        }
        return horner;
    }

    /**
     * {@code h[t]} = the coefficients of {@code g_t(p) = sum_s m_(t+s) C(t+s,t) p^s}, highest s first, trimmed of
     * leading zeros; null when every coefficient is 0 or when {@code t = 0} and the party does not hold the
     * constant. {@code multipliers[i - 1]} is the multiplier of power i.
     */
    static long[][] hornerCoefficients(final long[] multipliers, final boolean holdsConstant)
    {
        final int degree = multipliers.length;
        final long[][] binomial = ScalarElementwise.binomialTable(degree);
        final long[][] h = new long[degree + 1][];
        for (int t = holdsConstant ? 0 : 1; t <= degree; t++)
        {
            int top = -1;
            for (int s = degree - t; s >= 0; s--)
            {
                if (t + s > 0 && multipliers[t + s - 1] != 0)
                {
                    top = s;
                    break;
                }
            }
            if (top < 0)
            {
                continue;
            }
            final long[] coefficients = new long[top + 1];
            for (int s = top; s >= 0; s--)
            {
                coefficients[top - s] = t + s == 0 ? 0L : multipliers[t + s - 1] * binomial[t + s][t];
            }
            h[t] = coefficients;
        }
        return h;
    }

    /** {@code negMsb[e] = c[e] >> 63}: -1 where the top bit of c is set, else 0. */
    private static void topBits(final long[] c, final long[] negMsb, final int len)
    {
        for (int e = 0; e < len; e++)
        {
            negMsb[e] = c[e] >> (Long.SIZE - 1);
        }
    }

    /** {@code p[e] = (c[e] >> shift) + addend}. */
    private static void publicPart(final long[] c, final int shift, final long addend, final long[] p, final int len)
    {
        for (int e = 0; e < len; e++)
        {
            p[e] = (c[e] >> shift) + addend;
        }
    }

    /** {@code g[e] = sum_s h[top - s] p[e]^s} by Horner's rule, one pass over the block per coefficient. */
    private static void horner(final long[] h, final long[] p, final long[] g, final int len)
    {
        Arrays.fill(g, 0, len, h[0]);
        for (int i = 1; i < h.length; i++)
        {
            hornerStep(g, p, h[i], len);
        }
    }

    /** {@code g[e] = g[e] * p[e] + coefficient}. */
    private static void hornerStep(final long[] g, final long[] p, final long coefficient, final int len)
    {
        for (int e = 0; e < len; e++)
        {
            g[e] = g[e] * p[e] + coefficient;
        }
    }

    /** {@code d[e] = (d[e] >>> right) << left}: a packed lane to this party's share of its difference. */
    private static void expand(final long[] d, final int right, final int left, final int len)
    {
        for (int e = 0; e < len; e++)
        {
            d[e] = (d[e] >>> right) << left;
        }
    }

    /** {@code acc[e] += m * x[e]}. */
    private static void addScaled(final long[] acc, final long m, final long[] x, final int len)
    {
        for (int e = 0; e < len; e++)
        {
            acc[e] += m * x[e];
        }
    }

    /** {@code acc[e] += g[e]}. */
    private static void addInPlace(final long[] acc, final long[] g, final int len)
    {
        for (int e = 0; e < len; e++)
        {
            acc[e] += g[e];
        }
    }

    /** {@code acc[e] += (q[e] + negMsb[e] * d[e]) * g[e]}: the selected candidate's power times its polynomial. */
    private static void addSelectedProduct(final long[] acc, final long[] q, final long[] negMsb, final long[] d,
                                           final long[] g, final int len)
    {
        for (int e = 0; e < len; e++)
        {
            acc[e] += (q[e] + negMsb[e] * d[e]) * g[e];
        }
    }
}
