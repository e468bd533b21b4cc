package org.polypi.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.polypi.kernels.ElementwiseKernelsTest.array;
import static org.polypi.kernels.ElementwiseKernelsTest.assertMessage;
import static org.polypi.kernels.ElementwiseKernelsTest.segment;

/**
 * The fused truncation share equals the composition of whole-tensor kernels the faithful truncation used before it,
 * word for word, at every shift, for both parties, across block boundaries, with top-bit boundary values in c.
 */
final class OpenedTruncationTest
{
    @Test
    void truncationFromOpenedEqualsItsComposition()
    {
        final SplittableRandom random = new SplittableRandom(89);
        final RingKernels scalar = ScalarRingKernels.INSTANCE;
        final long[] boundary = ElementwiseKernelsTest.BOUNDARY;
        try (Arena arena = Arena.ofConfined())
        {
            for (final int n : new int[]{1, 13, OpenedTruncation.BLOCK, 2 * OpenedTruncation.BLOCK + 7})
            {
                for (int shift = 1; shift <= 63; shift += 1 + random.nextInt(4))
                {
                    final long[] c = new long[n];
                    for (int e = 0; e < n; e++)
                    {
                        c[e] = e < boundary.length ? boundary[e] : random.nextLong();
                    }
                    final MemorySegment cs = segment(arena, c);
                    final MemorySegment msbR = segment(arena, random.longs(n).toArray());
                    final MemorySegment rShifted = segment(arena, random.longs(n).toArray());
                    final long addend = random.nextLong();
                    final long wrap = 1L << (64 - shift);
                    for (final boolean holds : new boolean[]{true, false})
                    {
                        // The oracle: the composition FaithfulTruncation made before the fused kernel.
                        final MemorySegment notMsbC = arena.allocate((long)n * Long.BYTES);
                        scalar.shiftRightArithmetic(cs, 63, notMsbC, n);
                        scalar.addConstant(notMsbC, 1L, notMsbC, n);
                        final MemorySegment expected = arena.allocate((long)n * Long.BYTES);
                        scalar.multiply(notMsbC, msbR, expected, n);
                        scalar.multiplyConstant(expected, wrap, expected, n);
                        scalar.sub(expected, rShifted, expected, n);
                        if (holds)
                        {
                            final MemorySegment publicPart = arena.allocate((long)n * Long.BYTES);
                            final MemorySegment negMsbWrap = arena.allocate((long)n * Long.BYTES);
                            scalar.shiftRightArithmetic(cs, shift, publicPart, n);
                            scalar.shiftRightArithmetic(cs, 63, negMsbWrap, n);
                            scalar.multiplyConstant(negMsbWrap, -wrap, negMsbWrap, n);
                            scalar.add(publicPart, negMsbWrap, publicPart, n);
                            scalar.addConstant(publicPart, addend, publicPart, n);
                            scalar.add(expected, publicPart, expected, n);
                        }
                        for (final RingKernels k : new RingKernels[]{scalar, VectorRingKernels.INSTANCE})
                        {
                            final MemorySegment fused = arena.allocate((long)n * Long.BYTES);
                            k.truncationFromOpened(cs, shift, msbR, rShifted, holds, addend, fused, n);
                            assertArrayEquals(array(expected), array(fused), k + ", n " + n + ", shift " + shift +
                                ", holds " + holds);
                            // From the opening's two masked shares, the peer's read-only: c = own + peer + offset.
                            final long offset = random.nextLong();
                            final long[] own = random.longs(n).toArray();
                            final long[] peer = new long[n];
                            for (int e = 0; e < n; e++)
                            {
                                peer[e] = c[e] - own[e] - offset;
                            }
                            final MemorySegment ownShare = segment(arena, own);
                            k.truncationFromMaskedShares(ownShare, segment(arena, peer).asReadOnly(), offset, shift,
                                msbR, rShifted, holds, addend, ownShare, n);
                            assertArrayEquals(array(expected), array(ownShare), k + " from shares (in place), n " +
                                n + ", shift " + shift + ", holds " + holds);
                        }
                    }
                }
            }
            final MemorySegment one = segment(arena, 1L);
            final MemorySegment two = segment(arena, 1L, 2L);
            assertMessage(assertThrows(IllegalArgumentException.class, () -> scalar.truncationFromOpened(one, 0, one,
                one, true, 0, one, 1)), "shift must be in [1, 63], was 0");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> scalar.truncationFromOpened(two, 3, two,
                one, true, 0, two, 2)), "rShifted");
            for (final RingKernels k : new RingKernels[]{scalar, VectorRingKernels.INSTANCE})
            {
                assertMessage(assertThrows(IllegalArgumentException.class, () -> k.truncationFromMaskedShares(two,
                    one, 0, 3, two, two, true, 0, two, 2)), "cPeer");
            }
        }
    }
}
