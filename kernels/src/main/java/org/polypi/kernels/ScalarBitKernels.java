package org.polypi.kernels;

import java.lang.foreign.MemorySegment;

import static org.polypi.kernels.RingTensor.ELEMENT;

/**
 * Plain-loop packed-bit kernels: the oracle for {@link VectorBitKernels}, the fallback without the Vector API,
 * and the production path of the word-wise operations (C2 vectorizes these loops itself). Bit {@code i} of a
 * packed array is bit {@code i % 64} of word {@code i / 64}; see {@link BitKernels}. Arguments are trusted
 * (checked by {@link BitKernels}).
 */
final class ScalarBitKernels
{
    private ScalarBitKernels()
    {
    }

    static void xor(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long words)
    {
        for (long i = 0; i < words; i++)
        {
            out.setAtIndex(ELEMENT, i, a.getAtIndex(ELEMENT, i) ^ b.getAtIndex(ELEMENT, i));
        }
    }

    static void and(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long words)
    {
        for (long i = 0; i < words; i++)
        {
            out.setAtIndex(ELEMENT, i, a.getAtIndex(ELEMENT, i) & b.getAtIndex(ELEMENT, i));
        }
    }

    static void andNot(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long words)
    {
        for (long i = 0; i < words; i++)
        {
            out.setAtIndex(ELEMENT, i, a.getAtIndex(ELEMENT, i) & ~b.getAtIndex(ELEMENT, i));
        }
    }

    static void not(final MemorySegment a, final MemorySegment out, final long words)
    {
        for (long i = 0; i < words; i++)
        {
            out.setAtIndex(ELEMENT, i, ~a.getAtIndex(ELEMENT, i));
        }
    }

    static long popCount(final MemorySegment a, final long bits)
    {
        final long words = BitKernels.wordsFor(bits);
        long count = 0;
        for (long i = 0; i < words - 1; i++)
        {
            count += Long.bitCount(a.getAtIndex(ELEMENT, i));
        }
        if (words > 0)
        {
            count += Long.bitCount(a.getAtIndex(ELEMENT, words - 1) & BitKernels.lastWordMask(bits));
        }
        return count;
    }

    /**
     * {@code out bit i = a bit (i - shift)}, zero below {@code shift}. Runs from the highest word down, so each
     * word is written after every word it reads from (in place is safe). {@code 0 < shift < bits}.
     */
    static void shiftLeft(final MemorySegment a, final long shift, final MemorySegment out, final long bits)
    {
        final long words = BitKernels.wordsFor(bits);
        final long wordShift = shift >>> 6;
        final int bitShift = (int)(shift & 63);
        for (long w = words - 1; w >= 0; w--)
        {
            final long high = word(a, w - wordShift, words, bits);
            final long low = word(a, w - wordShift - 1, words, bits);
            out.setAtIndex(ELEMENT, w, bitShift == 0 ? high : high << bitShift | low >>> (Long.SIZE - bitShift));
        }
        out.setAtIndex(ELEMENT, words - 1, out.getAtIndex(ELEMENT, words - 1) & BitKernels.lastWordMask(bits));
    }

    /**
     * {@code out bit i = a bit (i + shift)}, zero from {@code bits - shift} up. Runs from the lowest word up, so
     * in place is safe. {@code 0 < shift < bits}.
     */
    static void shiftRight(final MemorySegment a, final long shift, final MemorySegment out, final long bits)
    {
        final long words = BitKernels.wordsFor(bits);
        final long wordShift = shift >>> 6;
        final int bitShift = (int)(shift & 63);
        for (long w = 0; w < words; w++)
        {
            final long low = word(a, w + wordShift, words, bits);
            final long high = word(a, w + wordShift + 1, words, bits);
            out.setAtIndex(ELEMENT, w, bitShift == 0 ? low : low >>> bitShift | high << (Long.SIZE - bitShift));
        }
    }

    /** Word {@code index} of the array, with the bits past {@code bits} cleared and zero outside the array. */
    static long word(final MemorySegment a, final long index, final long words, final long bits)
    {
        if (index < 0 || index >= words)
        {
            return 0L;
        }
        final long value = a.getAtIndex(ELEMENT, index);
        return index == words - 1 ? value & BitKernels.lastWordMask(bits) : value;
    }
}
