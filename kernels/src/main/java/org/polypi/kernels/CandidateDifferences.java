package org.polypi.kernels;

import java.lang.foreign.MemorySegment;

import static org.polypi.kernels.RingTensor.ELEMENT;

/**
 * The layout of the truncation candidates' power differences, {@code diff_i = Q1^i - Q0^i} for i = 1..k, in the
 * fused activation's material ({@link RingKernels#polynomialFromOpened}, {@link RingKernels#selectPowersFromOpened}).
 * <p>
 * The two candidates of a copy truncated by {@code s} bits differ by a multiple of {@code 2^(64-s)}, so every
 * {@code diff_i} is a multiple of {@code 2^(64-s)} too ({@code Q0^i - Q1^i} has the factor {@code Q0 - Q1}): only its
 * top {@code s} bits carry information, {@code w_i = diff_i >>> (64 - s)}, and additive shares of {@code w_i}
 * modulo {@code 2^s} are shares of {@code diff_i} once shifted back. For {@code 1 <= s <= 32} and degree
 * {@code k >= 2} the differences are therefore <em>packed</em>: {@code ceil(k / 2)} words, word m holding
 * {@code w_(2m+1)} in its low and {@code w_(2m+2)} in its high 32 bits, each lane an additive share modulo
 * {@code 2^32} (a party's lane, shifted left by {@code 64 - s}, is its share of the difference: the lanes' carries
 * into bit 32 land at bit {@code 96 - s >= 64} and vanish). Every other copy keeps one word per difference. A
 * PILLAR copy of degree 4 then costs 4 + 2 words per element instead of 4 + 4.
 * <p>
 * A party expands a difference with {@code (word >>> rightShift) << leftShift}: (0, 0) unpacked, (0, 64 - s) for
 * the low lane and (32, 64 - s) for the high lane.
 */
public final class CandidateDifferences
{
    /** Bits of one packed lane. */
    public static final int LANE_BITS = 32;
    /** Largest shift whose differences fit a lane. */
    public static final int MAX_PACKED_SHIFT = LANE_BITS;
    private static final long LANE_MASK = 0xFFFF_FFFFL;

    private CandidateDifferences()
    {
    }

    /** True when a copy with this shift and degree stores its differences packed. */
    public static boolean packed(final int shift, final int degree)
    {
        return degree >= 2 && shift >= 1 && shift <= MAX_PACKED_SHIFT;
    }

    /** Words of differences per element of a copy: {@code ceil(k / 2)} packed, else k. */
    public static int words(final int shift, final int degree)
    {
        return packed(shift, degree) ? (degree + 1) / 2 : degree;
    }

    /** The word that holds the difference of power {@code i} (1-based). */
    public static int word(final int i, final boolean packed)
    {
        return packed ? (i - 1) / 2 : i - 1;
    }

    /** The right shift of the expansion of power {@code i} (1-based). */
    public static int rightShift(final int i, final boolean packed)
    {
        return packed && (i - 1) % 2 == 1 ? LANE_BITS : 0;
    }

    /** The left shift of the expansion for a copy truncated by {@code shift} bits. */
    public static int leftShift(final int shift, final boolean packed)
    {
        return packed ? Long.SIZE - shift : 0;
    }

    /** {@code diff >>> (64 - shift)}: the information-carrying top bits of a difference (dealer side). */
    public static long topBits(final long diff, final int shift)
    {
        return diff >>> (Long.SIZE - shift);
    }

    /** A word of two lanes, each taken modulo {@code 2^32}. */
    public static long pack(final long low, final long high)
    {
        return (high << LANE_BITS) | (low & LANE_MASK);
    }

    /** Lane-wise {@code a - b} modulo {@code 2^32}: the other party's share of a packed word (dealer side). */
    public static long subtractLanes(final long a, final long b)
    {
        return pack(a - b, (a >>> LANE_BITS) - (b >>> LANE_BITS));
    }

    /** A party's share of a difference from its stored word. */
    public static long expand(final long word, final int rightShift, final int leftShift)
    {
        return (word >>> rightShift) << leftShift;
    }

    /**
     * The dealer's share of packed words, over {@code n} elements: {@code out = subtractLanes(pack(topBits(low),
     * topBits(high)), other)}, where {@code low} and {@code high} hold the full differences of two consecutive powers
     * ({@code high} null for the last, odd power: its lane is 0) and {@code other} the other party's uniform words.
     * {@code out} may alias {@code low} or {@code other}.
     */
    public static void packShares(final MemorySegment low, final MemorySegment high, final int shift,
                                  final MemorySegment other, final MemorySegment out, final long n)
    {
        RingTensor.checkCapacity("low", low, n);
        RingTensor.checkCapacity("other", other, n);
        RingTensor.checkCapacity("out", out, n);
        if (high != null)
        {
            RingTensor.checkCapacity("high", high, n);
        }
        if (shift < 1 || shift > MAX_PACKED_SHIFT)
        {
            throw new IllegalArgumentException("packed shift must be in [1, " + MAX_PACKED_SHIFT + "], was " + shift);
        }
        for (long e = 0; e < n; e++)
        {
            final long lowLane = topBits(low.getAtIndex(ELEMENT, e), shift);
            final long highLane = high == null ? 0L : topBits(high.getAtIndex(ELEMENT, e), shift);
            out.setAtIndex(ELEMENT, e, subtractLanes(pack(lowLane, highLane), other.getAtIndex(ELEMENT, e)));
        }
    }

    /**
     * Checks that a copy's {@code diff} array has {@link #words} entries.
     *
     * @throws IllegalArgumentException naming the copy and both counts.
     */
    static void checkCount(final String copy, final int shift, final int degree, final int length)
    {
        final int expected = words(shift, degree);
        if (length != expected)
        {
            throw new IllegalArgumentException(copy + ": " + length + " difference words for degree " + degree +
                " and shift " + shift + ", expected " + expected + (packed(shift, degree) ? " (packed lanes)" : ""));
        }
    }
}
