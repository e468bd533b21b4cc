package org.polypi.engine.protocol;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.polypi.kernels.RingTensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Dense packing of bit planes: write then read at any bit offset is the identity, against a bit-by-bit oracle. */
final class BitSharesTest
{
    @Test
    void planesRoundTripAtEveryOffsetAndIgnorePadding()
    {
        final SplittableRandom rnd = new SplittableRandom(1);
        try (Arena arena = Arena.ofConfined())
        {
            for (final int n : new int[]{1, 5, 63, 64, 65, 130, 200})
            {
                final int planes = 5;
                final long words = BitShares.words(n);
                final MemorySegment source = BitShares.allocateWords(arena, planes * words);
                for (long i = 0; i < planes * words; i++)
                {
                    source.setAtIndex(RingTensor.ELEMENT, i, rnd.nextLong()); // padding bits are junk too
                }
                final MemorySegment dense = BitShares.allocateWords(arena, BitShares.words((long)planes * n));
                for (int p = 0; p < planes; p++)
                {
                    BitShares.writePlane(dense, (long)p * n, BitShares.plane(source, p, words), n);
                }
                assertEquals(BitShares.words((long)planes * n) * Long.BYTES, dense.byteSize());
                final MemorySegment back = BitShares.allocateWords(arena, words);
                for (int p = 0; p < planes; p++)
                {
                    BitShares.readPlane(dense, (long)p * n, back, n);
                    final MemorySegment original = BitShares.plane(source, p, words);
                    for (int i = 0; i < n; i++)
                    {
                        assertEquals(BitShares.bit(original, i), BitShares.bit(dense, (long)p * n + i),
                            "dense bit of plane " + p + ", element " + i + ", n = " + n);
                        assertEquals(BitShares.bit(original, i), BitShares.bit(back, i));
                    }
                    for (int i = n; i < words * Long.SIZE; i++)
                    {
                        assertEquals(0, BitShares.bit(back, i), "padding is written as zero");
                    }
                }
                for (long i = (long)planes * n; i < BitShares.words((long)planes * n) * Long.SIZE; i++)
                {
                    assertEquals(0, BitShares.bit(dense, i), "the message's padding stays zero");
                }
            }
        }
    }
}
