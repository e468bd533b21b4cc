package org.polypi.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.polypi.kernels.ElementwiseKernelsTest.assertMessage;
import static org.polypi.kernels.RingTensor.ELEMENT;

/**
 * Packed-bit kernels against an independent oracle ({@link BigInteger} shifts and bit counts of the array read
 * as a {@code bits}-bit integer), for the public (vector) path and the scalar twin, in place and out of place,
 * with garbage in the input's padding.
 */
final class BitKernelsTest
{
    @FunctionalInterface
    interface Shift
    {
        void apply(MemorySegment a, long shift, MemorySegment out, long bits);
    }

    @Test
    void wordsForRoundsUp()
    {
        assertEquals(0, BitKernels.wordsFor(0));
        assertEquals(1, BitKernels.wordsFor(1));
        assertEquals(1, BitKernels.wordsFor(64));
        assertEquals(2, BitKernels.wordsFor(65));
        assertEquals(1L << 57, BitKernels.wordsFor(Long.MAX_VALUE));
        assertMessage(assertThrows(IllegalArgumentException.class, () -> BitKernels.wordsFor(-1)), "-1");
    }

    @Test
    void bitIndexingIsLittleEndianWithinAndAcrossWords()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment a = arena.allocate(2 * 8L);
            a.setAtIndex(ELEMENT, 0, 1L); // bit 0
            BitKernels.shiftLeft(a, 64, a, 128);
            assertArrayEquals(new long[]{0, 1}, a.toArray(ELEMENT), "bit 0 moved to bit 64 = bit 0 of word 1");
            BitKernels.shiftRight(a, 1, a, 128);
            assertArrayEquals(new long[]{Long.MIN_VALUE, 0}, a.toArray(ELEMENT), "bit 64 moved to bit 63");
            BitKernels.shiftLeft(a, 3, a, 67);
            assertArrayEquals(new long[]{0, 4}, a.toArray(ELEMENT), "bit 63 moved to bit 66");
            BitKernels.shiftLeft(a, 1, a, 67);
            assertArrayEquals(new long[]{0, 0}, a.toArray(ELEMENT), "bit 67 is past the end");
        }
    }

    @Test
    void shiftsAndPopCountMatchBigIntegerOracle()
    {
        final SplittableRandom random = new SplittableRandom(41);
        for (final long bits : bitCounts(random))
        {
            for (final long shift : shifts(bits, random))
            {
                checkShift("shiftLeft", BitKernels::shiftLeft, bits, shift, random, true);
                checkShift("shiftRight", BitKernels::shiftRight, bits, shift, random, false);
                if (shift > 0 && shift < bits)
                {
                    checkShift("scalar shiftLeft", ScalarBitKernels::shiftLeft, bits, shift, random, true);
                    checkShift("scalar shiftRight", ScalarBitKernels::shiftRight, bits, shift, random, false);
                }
            }
            try (Arena arena = Arena.ofConfined())
            {
                final MemorySegment a = randomBits(arena, bits, random);
                assertEquals(toBigInteger(a, bits).bitCount(), BitKernels.popCount(a, bits), "popCount bits=" + bits);
            }
        }
    }

    private static void checkShift(final String name, final Shift shift, final long bits, final long s,
                                   final SplittableRandom random, final boolean left)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final long words = BitKernels.wordsFor(bits);
            final MemorySegment a = randomBits(arena, bits, random);
            final BigInteger value = toBigInteger(a, bits);
            final BigInteger mask = BigInteger.ONE.shiftLeft((int)bits).subtract(BigInteger.ONE);
            final BigInteger expected = (left ? value.shiftLeft((int)Math.min(s, bits + 1)) :
                value.shiftRight((int)Math.min(s, bits + 1))).and(mask);
            final String what = name + " bits=" + bits + " shift=" + s;

            final MemorySegment out = arena.allocate(Math.max(1, words + 1) * 8L);
            out.setAtIndex(ELEMENT, words, 0x5EED_5EEDL);
            for (long w = 0; w < words; w++)
            {
                out.setAtIndex(ELEMENT, w, random.nextLong());
            }
            final MemorySegment before = ElementwiseKernelsTest.copyOf(arena, a);
            shift.apply(a, s, out, bits);
            assertArrayEquals(words(expected, words), out.asSlice(0, words * 8).toArray(ELEMENT), what);
            assertEquals(0x5EED_5EEDL, out.getAtIndex(ELEMENT, words), what + ": wrote past the array");
            assertArrayEquals(before.toArray(ELEMENT), a.toArray(ELEMENT), what + ": input changed");

            shift.apply(a, s, a, bits);
            assertArrayEquals(words(expected, words), a.asSlice(0, words * 8).toArray(ELEMENT), what + " in place");
        }
    }

    @Test
    void vectorShiftsMatchScalarTwinOnLargeArrays()
    {
        final SplittableRandom random = new SplittableRandom(42);
        for (int round = 0; round < 20; round++)
        {
            final long bits = 2 + random.nextLong(50_000);
            final long s = 1 + random.nextLong(bits - 1);
            try (Arena arena = Arena.ofConfined())
            {
                final long words = BitKernels.wordsFor(bits);
                final MemorySegment a = randomBits(arena, bits, random);
                final MemorySegment expected = arena.allocate(words * 8);
                final MemorySegment actual = arena.allocate(words * 8);
                ScalarBitKernels.shiftLeft(a, s, expected, bits);
                BitKernels.shiftLeft(a, s, actual, bits);
                assertArrayEquals(expected.toArray(ELEMENT), actual.toArray(ELEMENT), "left bits=" + bits + " s=" + s);
                ScalarBitKernels.shiftRight(a, s, expected, bits);
                BitKernels.shiftRight(a, s, actual, bits);
                assertArrayEquals(expected.toArray(ELEMENT), actual.toArray(ELEMENT), "right bits=" + bits + " s=" + s);
            }
        }
    }

    @Test
    void wordWiseOperationsInAndOutOfPlace()
    {
        final SplittableRandom random = new SplittableRandom(43);
        for (int words = 0; words <= 40; words += words < 20 ? 1 : 7)
        {
            try (Arena arena = Arena.ofConfined())
            {
                final long[] a = random.longs(words).toArray();
                final long[] b = random.longs(words).toArray();
                final long[] xor = new long[words];
                final long[] and = new long[words];
                final long[] andNot = new long[words];
                final long[] not = new long[words];
                for (int i = 0; i < words; i++)
                {
                    xor[i] = a[i] ^ b[i];
                    and[i] = a[i] & b[i];
                    andNot[i] = a[i] & ~b[i];
                    not[i] = ~a[i];
                }
                assertArrayEquals(xor, binary(arena, BitKernels::xor, a, b, 0), "xor");
                assertArrayEquals(xor, binary(arena, BitKernels::xor, a, b, 1), "xor in place on a");
                assertArrayEquals(xor, binary(arena, BitKernels::xor, a, b, 2), "xor in place on b");
                assertArrayEquals(and, binary(arena, BitKernels::and, a, b, 0), "and");
                assertArrayEquals(and, binary(arena, BitKernels::and, a, b, 1), "and in place");
                assertArrayEquals(andNot, binary(arena, BitKernels::andNot, a, b, 0), "andNot");
                assertArrayEquals(andNot, binary(arena, BitKernels::andNot, a, b, 2), "andNot in place on b");
                final MemorySegment sa = ElementwiseKernelsTest.segment(arena, a);
                BitKernels.not(sa, sa, words);
                assertArrayEquals(not, sa.asSlice(0, words * 8L).toArray(ELEMENT), "not in place");
            }
        }
        try (Arena arena = Arena.ofConfined())
        {
            final long[] a = {0b1100, 0b0011};
            final long[] b = {0b1010, 0b0010};
            assertArrayEquals(new long[]{0b0110, 0b0001}, binary(arena, BitKernels::xor, a, b, 0));
            assertArrayEquals(new long[]{0b1000, 0b0010}, binary(arena, BitKernels::and, a, b, 0));
            assertArrayEquals(new long[]{0b0100, 0b0001}, binary(arena, BitKernels::andNot, a, b, 0));
        }
    }

    @Test
    void popCountIgnoresPadding()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment a = ElementwiseKernelsTest.segment(arena, -1L, -1L);
            assertEquals(128, BitKernels.popCount(a, 128));
            assertEquals(100, BitKernels.popCount(a, 100));
            assertEquals(1, BitKernels.popCount(a, 1));
            assertEquals(0, BitKernels.popCount(a, 0));
        }
    }

    @Test
    void badArgumentsNameTheOperand()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment two = arena.allocate(2 * 8L);
            final MemorySegment three = arena.allocate(3 * 8L);
            assertMessage(assertThrows(IllegalArgumentException.class, () -> BitKernels.xor(two, three, three, 3)),
                "a too small: needs 3 words (24 bytes), has 16 bytes");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> BitKernels.and(three, two, three, 3)),
                "b too small");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> BitKernels.andNot(three, three, two, 3)),
                "out too small");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> BitKernels.not(three, three, -1)), "-1");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> BitKernels.shiftLeft(three, -1, three, 10)),
                "shift must be non-negative, was -1");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> BitKernels.shiftRight(three, 1, two, 129)),
                "out too small: needs 3 words");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> BitKernels.popCount(two, 129)),
                "a too small");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> BitKernels.popCount(two, -3)), "-3");
        }
    }

    private static List<Long> bitCounts(final SplittableRandom random)
    {
        final List<Long> bits = new ArrayList<>();
        for (long b = 0; b <= 200; b++)
        {
            bits.add(b);
        }
        for (final long b : new long[]{255, 256, 257, 511, 512, 513, 640, 1023, 1024, 1025})
        {
            bits.add(b);
        }
        for (int i = 0; i < 6; i++)
        {
            bits.add(1000 + random.nextLong(5000));
        }
        return bits;
    }

    private static List<Long> shifts(final long bits, final SplittableRandom random)
    {
        final List<Long> shifts = new ArrayList<>();
        for (final long s : new long[]{0, 1, 2, 31, 63, 64, 65, 127, 128, 129, 255, 256, 257, bits - 65, bits - 64,
            bits - 63, bits - 1, bits, bits + 1, bits + 64, 1L << 40, Long.MAX_VALUE})
        {
            if (s >= 0 && (s <= bits + 64 || s >= 1L << 40) && !shifts.contains(s))
            {
                shifts.add(s);
            }
        }
        if (bits > 1)
        {
            shifts.add(1 + random.nextLong(bits - 1));
        }
        return shifts;
    }

    /** A random array whose padding bits are set, which every bit-counted kernel must ignore. */
    private static MemorySegment randomBits(final Arena arena, final long bits, final SplittableRandom random)
    {
        final long words = BitKernels.wordsFor(bits);
        final MemorySegment a = arena.allocate(Math.max(1, words) * 8L);
        for (long w = 0; w < words; w++)
        {
            a.setAtIndex(ELEMENT, w, random.nextLong());
        }
        if (words > 0)
        {
            a.setAtIndex(ELEMENT, words - 1, a.getAtIndex(ELEMENT, words - 1) | ~BitKernels.lastWordMask(bits));
        }
        return a;
    }

    /** The array's first {@code bits} bits as a non-negative integer: array bit i has weight 2^i. */
    private static BigInteger toBigInteger(final MemorySegment a, final long bits)
    {
        BigInteger value = BigInteger.ZERO;
        for (long w = BitKernels.wordsFor(bits) - 1; w >= 0; w--)
        {
            value = value.shiftLeft(64).or(new BigInteger(Long.toUnsignedString(a.getAtIndex(ELEMENT, w))));
        }
        return value.and(BigInteger.ONE.shiftLeft((int)bits).subtract(BigInteger.ONE));
    }

    private static long[] words(final BigInteger value, final long words)
    {
        final long[] out = new long[(int)words];
        for (int w = 0; w < words; w++)
        {
            out[w] = value.shiftRight(64 * w).longValue();
        }
        return out;
    }

    @FunctionalInterface
    interface Binary
    {
        void apply(MemorySegment a, MemorySegment b, MemorySegment out, long words);
    }

    /** Runs op out of place (target 0) or in place on a (1) or b (2), returning the result. */
    private static long[] binary(final Arena arena, final Binary op, final long[] a, final long[] b, final int target)
    {
        final MemorySegment sa = ElementwiseKernelsTest.segment(arena, a);
        final MemorySegment sb = ElementwiseKernelsTest.segment(arena, b);
        final MemorySegment out = target == 1 ? sa : target == 2 ? sb : arena.allocate(Math.max(1, a.length) * 8L);
        op.apply(sa, sb, out, a.length);
        return out.asSlice(0, a.length * 8L).toArray(ELEMENT);
    }
}
