package org.polypi.kernels;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The packed layout's arithmetic on the dealer's real candidates: every difference is a multiple of
 * {@code 2^(64-s)}, and two parties' packed lanes (one uniform, the other the dealer's lane-wise remainder) expand
 * to shares that add up to the difference, for every shift of the packed range and both lanes.
 */
final class CandidateDifferencesTest
{
    private static final int MAX_DEGREE = 6;

    @Test
    void packedSharesOfTheCandidatesDifferencesReconstructThem()
    {
        final SplittableRandom random = new SplittableRandom(83);
        for (int shift = 1; shift <= CandidateDifferences.MAX_PACKED_SHIFT; shift++)
        {
            for (int trial = 0; trial < 2_000; trial++)
            {
                final long r = trial < 2 ? (trial == 0 ? Long.MIN_VALUE : Long.MAX_VALUE) : random.nextLong();
                // As Dealer.activationMaterial: Q1 = -(r >> s), Q0 = Q1 + (1 - msb(r)) 2^(64 - s).
                final long q1 = -(r >> shift);
                final long q0 = q1 + ((~r >>> 63) << (64 - shift));
                final long[] diff = new long[MAX_DEGREE + 1];
                long p1 = 1;
                long p0 = 1;
                for (int i = 1; i <= MAX_DEGREE; i++)
                {
                    p1 *= q1;
                    p0 *= q0;
                    diff[i] = p1 - p0;
                    assertEquals(0L, diff[i] & ((1L << (64 - shift)) - 1), "shift " + shift + ", power " + i +
                        ": the difference must be a multiple of 2^(64 - s)");
                }
                for (int i = 1; i < MAX_DEGREE; i += 2)
                {
                    final long packed = CandidateDifferences.pack(CandidateDifferences.topBits(diff[i], shift),
                        CandidateDifferences.topBits(diff[i + 1], shift));
                    final long client = random.nextLong();
                    final long server = CandidateDifferences.subtractLanes(packed, client);
                    for (int lane = 0; lane < 2; lane++)
                    {
                        final int power = i + lane;
                        final int right = CandidateDifferences.rightShift(power, true);
                        final int left = CandidateDifferences.leftShift(shift, true);
                        assertEquals(diff[power], CandidateDifferences.expand(server, right, left) +
                            CandidateDifferences.expand(client, right, left), "shift " + shift + ", power " + power +
                            ", r " + r);
                    }
                }
            }
        }
    }

    @Test
    void onlyCopiesOfDegreeTwoOrMoreWithShiftsFromOneTo32ArePacked()
    {
        assertFalse(CandidateDifferences.packed(0, 4), "shift 0: no truncation, the differences are 0");
        assertFalse(CandidateDifferences.packed(33, 4), "a 33-bit difference does not fit a lane");
        assertFalse(CandidateDifferences.packed(16, 1), "degree 1: one difference, nothing to pair");
        assertTrue(CandidateDifferences.packed(1, 2));
        assertTrue(CandidateDifferences.packed(32, 6));
        assertEquals(2, CandidateDifferences.words(22, 4));
        assertEquals(2, CandidateDifferences.words(22, 3));
        assertEquals(4, CandidateDifferences.words(47, 4));
        assertEquals(1, CandidateDifferences.words(9, 1));
    }
}
