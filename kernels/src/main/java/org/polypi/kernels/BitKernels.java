package org.polypi.kernels;

import java.lang.foreign.MemorySegment;

/**
 * Kernels over packed bit arrays, the storage of binary (XOR) shares: 64 bits per native-order {@code long}, and
 * <b>bit {@code i} of an array is bit {@code i % 64} (weight {@code 2^(i % 64)}) of word {@code i / 64}</b>. An
 * array of {@code bits} bits occupies {@link #wordsFor wordsFor(bits)} words; the bits of the last word at or
 * above {@code bits % 64} (when that is non-zero) are padding.
 * <p>
 * The word-wise operations ({@link #xor}, {@link #and}, {@link #andNot}, {@link #not}) take a count of words and
 * treat padding like any other bit. The operations that move or count bits take a count of bits: they ignore the
 * input's padding, and the shifts write the output's padding as zeros. So padding never leaks into a result,
 * whatever earlier word-wise operations (such as {@code not}) left in it.
 * <p>
 * As for {@link RingKernels}: segments are addressed from offset 0 (pass slices for parts), {@code out} may be
 * the same segment as an input (in place) but may not partly overlap one, and bad arguments throw naming the
 * operand and the sizes. The shifts use the Vector API when it is present (unless {@code -Dpolypi.kernels=scalar});
 * the word-wise loops and the population count are plain Java, which C2 vectorizes by itself.
 */
public final class BitKernels
{
    private static final boolean VECTORIZED = Kernels.vectorEnabled();

    private BitKernels()
    {
    }

    /** Number of words holding {@code bits} bits: {@code ceil(bits / 64)}. */
    public static long wordsFor(final long bits)
    {
        if (bits < 0)
        {
            throw new IllegalArgumentException("bit count must be non-negative, was " + bits);
        }
        return (bits + (Long.SIZE - 1)) >>> 6;
    }

    /** {@code out[w] = a[w] ^ b[w]} for {@code w} in {@code [0, words)}: adding two binary sharings. */
    public static void xor(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long words)
    {
        checkWords(words);
        checkCapacity("a", a, words);
        checkCapacity("b", b, words);
        checkCapacity("out", out, words);
        ScalarBitKernels.xor(a, b, out, words);
    }

    /** {@code out[w] = a[w] & b[w]}. */
    public static void and(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long words)
    {
        checkWords(words);
        checkCapacity("a", a, words);
        checkCapacity("b", b, words);
        checkCapacity("out", out, words);
        ScalarBitKernels.and(a, b, out, words);
    }

    /** {@code out[w] = a[w] & ~b[w]}. */
    public static void andNot(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long words)
    {
        checkWords(words);
        checkCapacity("a", a, words);
        checkCapacity("b", b, words);
        checkCapacity("out", out, words);
        ScalarBitKernels.andNot(a, b, out, words);
    }

    /** {@code out[w] = ~a[w]} (padding bits flip too). */
    public static void not(final MemorySegment a, final MemorySegment out, final long words)
    {
        checkWords(words);
        checkCapacity("a", a, words);
        checkCapacity("out", out, words);
        ScalarBitKernels.not(a, out, words);
    }

    /**
     * Logical shift toward higher bit indices: {@code out bit i = a bit (i - shift)} for {@code i >= shift} and 0
     * below, for {@code i < bits}; bits shifted past {@code bits} are lost. This is {@code <<} on the
     * {@code bits}-bit integer whose bit i is array bit i. A shift of {@code bits} or more clears the array.
     *
     * @throws IllegalArgumentException if {@code shift} or {@code bits} is negative or a segment holds fewer than
     *                                  {@code wordsFor(bits)} words.
     */
    public static void shiftLeft(final MemorySegment a, final long shift, final MemorySegment out, final long bits)
    {
        final long words = checkShift(a, shift, out, bits);
        if (special(a, shift, out, bits, words))
        {
            return;
        }
        if (VECTORIZED && a.isNative() && out.isNative())
        {
            VectorBitKernels.shiftLeft(a, shift, out, bits);
        }
        else
        {
            ScalarBitKernels.shiftLeft(a, shift, out, bits);
        }
    }

    /**
     * Logical shift toward lower bit indices: {@code out bit i = a bit (i + shift)} for {@code i + shift < bits}
     * and 0 from {@code bits - shift} up. This is {@code >>>} on the {@code bits}-bit integer whose bit i is array
     * bit i. A shift of {@code bits} or more clears the array.
     *
     * @throws IllegalArgumentException if {@code shift} or {@code bits} is negative or a segment holds fewer than
     *                                  {@code wordsFor(bits)} words.
     */
    public static void shiftRight(final MemorySegment a, final long shift, final MemorySegment out, final long bits)
    {
        final long words = checkShift(a, shift, out, bits);
        if (special(a, shift, out, bits, words))
        {
            return;
        }
        if (VECTORIZED && a.isNative() && out.isNative())
        {
            VectorBitKernels.shiftRight(a, shift, out, bits);
        }
        else
        {
            ScalarBitKernels.shiftRight(a, shift, out, bits);
        }
    }

    /**
     * Number of set bits among the first {@code bits} bits of {@code a} (padding ignored).
     *
     * @throws IllegalArgumentException if {@code bits} is negative or {@code a} holds fewer than
     *                                  {@code wordsFor(bits)} words.
     */
    public static long popCount(final MemorySegment a, final long bits)
    {
        checkCapacity("a", a, wordsFor(bits));
        return ScalarBitKernels.popCount(a, bits);
    }

    /** Mask of the bits of the last word that belong to a {@code bits}-bit array (all ones when bits % 64 == 0). */
    static long lastWordMask(final long bits)
    {
        final int used = (int)(bits & (Long.SIZE - 1));
        return used == 0 ? -1L : (1L << used) - 1;
    }

    /** Shifts of 0 and of {@code bits} or more, and empty arrays: handled here so the kernels see 0 < shift < bits. */
    private static boolean special(final MemorySegment a, final long shift, final MemorySegment out, final long bits,
                                   final long words)
    {
        if (words == 0)
        {
            return true;
        }
        if (shift >= bits)
        {
            out.asSlice(0, words * Long.BYTES).fill((byte)0);
            return true;
        }
        if (shift == 0)
        {
            MemorySegment.copy(a, 0, out, 0, words * Long.BYTES);
            final long last = out.getAtIndex(RingTensor.ELEMENT, words - 1);
            out.setAtIndex(RingTensor.ELEMENT, words - 1, last & lastWordMask(bits));
            return true;
        }
        return false;
    }

    private static long checkShift(final MemorySegment a, final long shift, final MemorySegment out, final long bits)
    {
        if (shift < 0)
        {
            throw new IllegalArgumentException("shift must be non-negative, was " + shift);
        }
        final long words = wordsFor(bits);
        checkCapacity("a", a, words);
        checkCapacity("out", out, words);
        return words;
    }

    private static void checkWords(final long words)
    {
        if (words < 0)
        {
            throw new IllegalArgumentException("word count must be non-negative, was " + words);
        }
    }

    private static void checkCapacity(final String name, final MemorySegment segment, final long words)
    {
        RingTensor.checkAlive(name, segment);
        if (segment.byteSize() < words * Long.BYTES)
        {
            throw new IllegalArgumentException(name + " too small: needs " + words + " words (" + words * Long.BYTES +
                " bytes), has " + segment.byteSize() + " bytes");
        }
    }
}
