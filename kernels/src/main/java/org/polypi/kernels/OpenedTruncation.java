package org.polypi.kernels;

import java.lang.foreign.MemorySegment;

import static org.polypi.kernels.RingTensor.ELEMENT;

/**
 * The fused form of {@link RingKernels#truncationFromOpened}: one pass, a block of elements at a time copied into
 * heap arrays and combined by a plain loop that C2 vectorizes itself, reading c and the two material words and
 * writing the share once, where the composition made eleven whole-tensor passes and three temporaries.
 */
final class OpenedTruncation
{
    /** Elements per block: four arrays of 4 KiB stay in L1. */
    static final int BLOCK = 512;

    private OpenedTruncation()
    {
    }

    /** The argument checks of {@link RingKernels#truncationFromOpened}, shared by every backend. */
    static void check(final MemorySegment c, final int shift, final MemorySegment msbR, final MemorySegment rShifted,
                      final MemorySegment out, final long n)
    {
        if (shift < 1 || shift > Long.SIZE - 1)
        {
            throw new IllegalArgumentException("shift must be in [1, 63], was " + shift);
        }
        RingTensor.checkCapacity("c", c, n);
        RingTensor.checkCapacity("msbR", msbR, n);
        RingTensor.checkCapacity("rShifted", rShifted, n);
        RingTensor.checkCapacity("out", out, n);
    }

    /**
     * Trusted arguments (checked by {@link RingKernels#truncationFromOpened}); with {@code cPeer} not null the opened
     * value is {@code c + cPeer + cOffset} ({@link RingKernels#truncationFromMaskedShares}).
     */
    static void compute(final MemorySegment c, final MemorySegment cPeer, final long cOffset, final int shift,
                        final MemorySegment msbR, final MemorySegment rShifted, final boolean holdsConstant,
                        final long addend, final MemorySegment out, final long n)
    {
        final long wrap = 1L << (Long.SIZE - shift);
        final long[] cBlock = new long[BLOCK];
        final long[] m = new long[BLOCK];
        final long[] q = new long[BLOCK];
        final long[] y = new long[BLOCK];
        for (long from = 0; from < n; from += BLOCK)
        {
            final int len = (int)Math.min(BLOCK, n - from);
            final long offset = from * Long.BYTES;
            MemorySegment.copy(c, ELEMENT, offset, cBlock, 0, len);
            if (cPeer != null)
            {
                // y is free until the end of the block: it holds the peer's share meanwhile.
                MemorySegment.copy(cPeer, ELEMENT, offset, y, 0, len);
                addShares(cBlock, y, cOffset, len);
            }
            MemorySegment.copy(msbR, ELEMENT, offset, m, 0, len);
            MemorySegment.copy(rShifted, ELEMENT, offset, q, 0, len);
            if (holdsConstant)
            {
                withPublicPart(cBlock, m, q, shift, wrap, addend, y, len);
            }
            else
            {
                shareOnly(cBlock, m, q, wrap, y, len);
            }
            MemorySegment.copy(y, 0, out, ELEMENT, offset, len);
        }
    }

    /** {@code c[e] += peer[e] + offset}: the opened value from the two masked shares. */
    private static void addShares(final long[] c, final long[] peer, final long offset, final int len)
    {
        for (int e = 0; e < len; e++)
        {
            c[e] += peer[e] + offset;
        }
    }

    /** {@code y = (1 - msb(c)) m wrap - q + (c >>> shift) + addend}. */
    private static void withPublicPart(final long[] c, final long[] m, final long[] q, final int shift,
                                       final long wrap, final long addend, final long[] y, final int len)
    {
        for (int e = 0; e < len; e++)
        {
            y[e] = (1L - (c[e] >>> (Long.SIZE - 1))) * m[e] * wrap - q[e] + (c[e] >>> shift) + addend;
        }
    }

    /** {@code y = (1 - msb(c)) m wrap - q}. */
    private static void shareOnly(final long[] c, final long[] m, final long[] q, final long wrap, final long[] y,
                                  final int len)
    {
        for (int e = 0; e < len; e++)
        {
            y[e] = (1L - (c[e] >>> (Long.SIZE - 1))) * m[e] * wrap - q[e];
        }
    }
}
