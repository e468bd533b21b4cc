package org.polypi.kernels;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import static org.polypi.kernels.RingTensor.ELEMENT;

/**
 * Vector API bodies of the packed-bit shifts, which C2 does not vectorize on its own (each output word combines
 * two neighbouring input words; the plain loop ran at 22 GB/s from cache against 66 for this one). Whole-word
 * moves ({@code shift % 64 == 0}) are {@link MemorySegment#copy}, which has memmove semantics. The interior runs
 * in vectors, the edges (first and last words, where zeros or the padding mask come in) in scalar code shared
 * with {@link ScalarBitKernels}. Arguments are trusted (checked by {@link BitKernels}); {@code 0 < shift < bits}.
 */
final class VectorBitKernels
{
    static
    {
        // Before any of this class's methods can be compiled: see ClassHierarchy.
        ClassHierarchy.complete();
    }

    private static final VectorSpecies<Long> SPECIES = VectorElementwise.STREAM_SPECIES;
    private static final int LANES = SPECIES.length();
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    private VectorBitKernels()
    {
    }

    /** See {@link ScalarBitKernels#shiftLeft}; highest words first, so in place is safe. */
    static void shiftLeft(final MemorySegment a, final long shift, final MemorySegment out, final long bits)
    {
        final long words = BitKernels.wordsFor(bits);
        final long wordShift = shift >>> 6;
        final int bitShift = (int)(shift & 63);
        final long lastMask = BitKernels.lastWordMask(bits);
        if (bitShift == 0)
        {
            MemorySegment.copy(a, 0, out, wordShift * Long.BYTES, (words - wordShift) * Long.BYTES);
        }
        else
        {
            // Output words [wordShift + 1, words) read input words [0, words - wordShift - 1): interior, never the
            // padded last word, so no mask is needed there.
            long w = words;
            final long vectorFloor = wordShift + 1 + LANES;
            while (w >= vectorFloor)
            {
                w -= LANES;
                shiftLeftVector(a, (w - wordShift) * Long.BYTES, bitShift, out, w * Long.BYTES);
            }
            for (w = w - 1; w > wordShift; w--)
            {
                final long high = a.getAtIndex(ELEMENT, w - wordShift);
                final long low = a.getAtIndex(ELEMENT, w - wordShift - 1);
                out.setAtIndex(ELEMENT, w, high << bitShift | low >>> (Long.SIZE - bitShift));
            }
            out.setAtIndex(ELEMENT, wordShift, a.getAtIndex(ELEMENT, 0) << bitShift);
        }
        out.asSlice(0, wordShift * Long.BYTES).fill((byte)0);
        out.setAtIndex(ELEMENT, words - 1, out.getAtIndex(ELEMENT, words - 1) & lastMask);
    }

    /** See {@link ScalarBitKernels#shiftRight}; lowest words first, so in place is safe. */
    static void shiftRight(final MemorySegment a, final long shift, final MemorySegment out, final long bits)
    {
        final long words = BitKernels.wordsFor(bits);
        final long wordShift = shift >>> 6;
        final int bitShift = (int)(shift & 63);
        final long kept = words - wordShift;
        if (bitShift == 0)
        {
            MemorySegment.copy(a, wordShift * Long.BYTES, out, 0, kept * Long.BYTES);
            out.setAtIndex(ELEMENT, kept - 1, out.getAtIndex(ELEMENT, kept - 1) & BitKernels.lastWordMask(bits));
        }
        else
        {
            // Output word w reads input words w + wordShift and w + wordShift + 1; the vectors stay below the
            // padded last input word (words - 1), the scalar edge handles it and the zeros beyond.
            final long vectorEnd = words - 1 - wordShift - 1;
            long w = 0;
            for (; w + LANES <= vectorEnd; w += LANES)
            {
                shiftRightVector(a, (w + wordShift) * Long.BYTES, bitShift, out, w * Long.BYTES);
            }
            for (; w < kept; w++)
            {
                final long low = ScalarBitKernels.word(a, w + wordShift, words, bits);
                final long high = ScalarBitKernels.word(a, w + wordShift + 1, words, bits);
                out.setAtIndex(ELEMENT, w, low >>> bitShift | high << (Long.SIZE - bitShift));
            }
        }
        out.asSlice(kept * Long.BYTES, wordShift * Long.BYTES).fill((byte)0);
    }

    private static void shiftLeftVector(final MemorySegment a, final long highOffset, final int bitShift,
                                        final MemorySegment out, final long outOffset)
    {
        final LongVector high = LongVector.fromMemorySegment(SPECIES, a, highOffset, ORDER);
        final LongVector low = LongVector.fromMemorySegment(SPECIES, a, highOffset - Long.BYTES, ORDER);
        high.lanewise(VectorOperators.LSHL, bitShift).or(low.lanewise(VectorOperators.LSHR, Long.SIZE - bitShift))
            .intoMemorySegment(out, outOffset, ORDER);
    }

    private static void shiftRightVector(final MemorySegment a, final long lowOffset, final int bitShift,
                                         final MemorySegment out, final long outOffset)
    {
        final LongVector low = LongVector.fromMemorySegment(SPECIES, a, lowOffset, ORDER);
        final LongVector high = LongVector.fromMemorySegment(SPECIES, a, lowOffset + Long.BYTES, ORDER);
        low.lanewise(VectorOperators.LSHR, bitShift).or(high.lanewise(VectorOperators.LSHL, Long.SIZE - bitShift))
            .intoMemorySegment(out, outOffset, ORDER);
    }
}
