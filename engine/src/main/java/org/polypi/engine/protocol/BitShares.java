package org.polypi.engine.protocol;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.polypi.kernels.BitKernels;
import org.polypi.kernels.RingTensor;

/**
 * Binary (XOR) shares of bit vectors, stored as <b>planes</b>: a plane holds bit i of n elements, element i at bit
 * {@code i % 64} of word {@code i / 64} (the {@link BitKernels} layout), {@code words(n)} words; a set of planes is
 * one segment with plane p at word {@code p * words(n)}. Word-wise operations go through {@link BitKernels}; the
 * padding bits above n in a plane's last word may hold anything and never reach the wire or a result.
 * <p>
 * On the wire, several planes travel <b>densely</b>: plane q of a message occupies bits {@code [q n, (q + 1) n)},
 * so a message of k planes is {@code words(k n)} words however small n is.
 */
final class BitShares
{
    private static final int WORD_BITS = Long.SIZE;
    private static final int WORD_SHIFT = 6;
    private static final int BIT_INDEX_MASK = WORD_BITS - 1;

    private BitShares()
    {
    }

    /** Words of a plane of n bits. */
    static long words(final long bits)
    {
        return BitKernels.wordsFor(bits);
    }

    /** Plane {@code p} of a plane set whose planes have {@code planeWords} words. */
    static MemorySegment plane(final MemorySegment planes, final long p, final long planeWords)
    {
        return planes.asSlice(p * planeWords * Long.BYTES, planeWords * Long.BYTES);
    }

    /** A zeroed segment of {@code words} words (at least one, so that n = 0 never makes an empty segment). */
    static MemorySegment allocateWords(final Arena arena, final long words)
    {
        return arena.allocate(Math.max(1, words) * Long.BYTES, RingTensor.ALIGNMENT_BYTES);
    }

    /** Bit {@code i} of a plane, 0 or 1. */
    static int bit(final MemorySegment plane, final long i)
    {
        return (int)(plane.getAtIndex(RingTensor.ELEMENT, i >>> WORD_SHIFT) >>> (i & BIT_INDEX_MASK)) & 1;
    }

    /** The mask of the bits of the last word of an n-bit plane that belong to it. */
    static long lastWordMask(final long bits)
    {
        final int used = (int)(bits & BIT_INDEX_MASK);
        return used == 0 ? -1L : (1L << used) - 1;
    }

    /**
     * ORs the first n bits of {@code plane} (padding ignored) into {@code dense} at bit {@code offset}. The target
     * bits must be zero; {@code dense} must hold {@code words(offset + n)} words.
     */
    static void writePlane(final MemorySegment dense, final long offset, final MemorySegment plane, final long n)
    {
        final long planeWords = words(n);
        final long denseWords = dense.byteSize() / Long.BYTES;
        final int shift = (int)(offset & BIT_INDEX_MASK);
        long target = offset >>> WORD_SHIFT;
        for (long i = 0; i < planeWords; i++, target++)
        {
            long w = plane.getAtIndex(RingTensor.ELEMENT, i);
            if (i == planeWords - 1)
            {
                w &= lastWordMask(n);
            }
            dense.setAtIndex(RingTensor.ELEMENT, target, dense.getAtIndex(RingTensor.ELEMENT, target) | w << shift);
            if (shift != 0 && target + 1 < denseWords)
            {
                dense.setAtIndex(RingTensor.ELEMENT, target + 1,
                    dense.getAtIndex(RingTensor.ELEMENT, target + 1) | w >>> (WORD_BITS - shift));
            }
        }
    }

    /** Copies bits {@code [offset, offset + n)} of {@code dense} into a plane of n bits (padding written as 0). */
    static void readPlane(final MemorySegment dense, final long offset, final MemorySegment plane, final long n)
    {
        final long planeWords = words(n);
        final long denseWords = dense.byteSize() / Long.BYTES;
        final int shift = (int)(offset & BIT_INDEX_MASK);
        long source = offset >>> WORD_SHIFT;
        for (long i = 0; i < planeWords; i++, source++)
        {
            long w = dense.getAtIndex(RingTensor.ELEMENT, source) >>> shift;
            if (shift != 0 && source + 1 < denseWords)
            {
                w |= dense.getAtIndex(RingTensor.ELEMENT, source + 1) << (WORD_BITS - shift);
            }
            if (i == planeWords - 1)
            {
                w &= lastWordMask(n);
            }
            plane.setAtIndex(RingTensor.ELEMENT, i, w);
        }
    }

    /**
     * The XOR share of {@code x AND y} from a Beaver AND triple {@code (a, b, c = a AND b)} once
     * {@code dx = x XOR a} and {@code dy = y XOR b} are public: {@code c ^ (dx & b) ^ (dy & a)}, plus
     * {@code dx & dy} for party 0. {@code scratch} is a plane distinct from every other argument; {@code out} may
     * be {@code c}.
     */
    static void andShare(final MemorySegment dx, final MemorySegment dy, final MemorySegment a, final MemorySegment b,
                         final MemorySegment c, final boolean party0, final MemorySegment out,
                         final MemorySegment scratch, final long words)
    {
        BitKernels.and(dx, b, scratch, words);
        BitKernels.xor(c, scratch, out, words);
        BitKernels.and(dy, a, scratch, words);
        BitKernels.xor(out, scratch, out, words);
        if (party0)
        {
            BitKernels.and(dx, dy, scratch, words);
            BitKernels.xor(out, scratch, out, words);
        }
    }
}
