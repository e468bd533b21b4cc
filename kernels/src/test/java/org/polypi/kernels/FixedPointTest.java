package org.polypi.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.polypi.kernels.ElementwiseKernelsTest.assertMessage;
import static org.polypi.kernels.RingTensor.ELEMENT;

/**
 * The fixed-point codec: rounding (ties to even), exact range limits with clear errors, round trips within half
 * a unit in the last place, and the vectorized bulk paths against their scalar twins bit for bit.
 */
final class FixedPointTest
{
    private static final int[] FRACTIONAL_BITS = {0, 1, 8, 12, 16, 24, 40, 52, 53, 62};
    /** Fewer for the bulk tests, which cover many lengths each. */
    private static final int[] BULK_FRACTIONAL_BITS = {0, 1, 16, 53, 62};

    @Test
    void fractionalBitsAreValidated()
    {
        assertEquals(0, new FixedPoint(0).fractionalBits());
        assertEquals(62, new FixedPoint(62).fractionalBits());
        assertMessage(assertThrows(IllegalArgumentException.class, () -> new FixedPoint(-1)), "[0, 62], was -1");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> new FixedPoint(63)), "[0, 62], was 63");
    }

    @Test
    void roundsToNearestWithTiesToEven()
    {
        final FixedPoint integers = new FixedPoint(0);
        assertEquals(0, integers.encode(0.5));
        assertEquals(2, integers.encode(1.5));
        assertEquals(2, integers.encode(2.5));
        assertEquals(3, integers.encode(2.5000000000000004));
        assertEquals(0, integers.encode(-0.5));
        assertEquals(-2, integers.encode(-1.5));
        assertEquals(-2, integers.encode(-2.5));
        assertEquals(1, integers.encode(0.5000000000000001));
        final FixedPoint halves = new FixedPoint(1);
        assertEquals(0, halves.encode(0.25));
        assertEquals(2, halves.encode(0.75));
        assertEquals(2, halves.encode(1.25));
        assertEquals(-3, halves.encode(-1.5));
        final FixedPoint f16 = new FixedPoint(16);
        assertEquals(65536, f16.encode(1.0));
        assertEquals(65536, f16.one());
        assertEquals(-98304, f16.encode(-1.5f));
        assertEquals(0, f16.encode(Math.scalb(1.0, -17)));
        assertEquals(2, f16.encode(3 * Math.scalb(1.0, -17)));
        assertEquals(0, f16.encode(Double.MIN_VALUE));
        assertEquals(0, f16.encode(-0.0));
    }

    @Test
    void rangeLimitsAreExact()
    {
        for (final int f : FRACTIONAL_BITS)
        {
            final FixedPoint codec = new FixedPoint(f);
            final double min = codec.minValue();
            final double max = codec.maxValueExclusive();
            assertEquals(Math.scalb(-1.0, 63 - f), min);
            assertEquals(Long.MIN_VALUE, codec.encode(min));
            assertEquals(min, codec.decode(Long.MIN_VALUE));
            assertTrue(codec.encode(Math.nextDown(max)) > 0, "f=" + f);
            assertEquals(Math.nextDown(max), codec.decode(codec.encode(Math.nextDown(max))), "f=" + f);
            final ArithmeticException above = assertThrows(ArithmeticException.class, () -> codec.encode(max));
            assertMessage(above, max + " cannot be encoded with " + f + " fractional bits");
            assertMessage(above, "[" + min + ", " + max + ")");
            assertThrows(ArithmeticException.class, () -> codec.encode(Math.nextDown(min)));
            assertMessage(assertThrows(ArithmeticException.class, () -> codec.encode(Double.NaN)), "NaN");
            assertMessage(assertThrows(ArithmeticException.class, () -> codec.encode(Double.POSITIVE_INFINITY)), "Infinity");
            assertThrows(ArithmeticException.class, () -> codec.encode(Float.NEGATIVE_INFINITY));
            assertEquals(Long.MAX_VALUE, codec.encodeSaturating(max));
            assertEquals(Long.MAX_VALUE, codec.encodeSaturating(Double.POSITIVE_INFINITY));
            assertEquals(Long.MIN_VALUE, codec.encodeSaturating(-1e300));
            assertEquals(codec.encode(0.3), codec.encodeSaturating(0.3));
            assertMessage(assertThrows(ArithmeticException.class, () -> codec.encodeSaturating(Double.NaN)), "NaN");
        }
        assertMessage(assertThrows(ArithmeticException.class, () -> new FixedPoint(16).encode(1e20)),
            "1.0E20 cannot be encoded with 16 fractional bits: the representable range is [-1.40737488355328E14, " +
                "1.40737488355328E14)");
    }

    @Test
    void roundTripIsWithinHalfAnUlp()
    {
        final SplittableRandom random = new SplittableRandom(21);
        for (final int f : FRACTIONAL_BITS)
        {
            final FixedPoint codec = new FixedPoint(f);
            final double bound = Math.scalb(1.0, -(f + 1));
            for (final double x : samples(codec, random, 5_000))
            {
                final double back = codec.decode(codec.encode(x));
                assertTrue(Math.abs(back - x) <= bound, "f=" + f + " x=" + x + " back=" + back);
                final float xf = (float)x;
                if (xf >= codec.minValue() && xf < codec.maxValueExclusive())
                {
                    final float backFloat = codec.decodeFloat(codec.encode(xf));
                    assertTrue(Math.abs((double)backFloat - xf) <= bound,
                        "f=" + f + " float x=" + xf + " back=" + backFloat);
                }
            }
            assertEquals(codec.resolution(), codec.decode(1));
            assertEquals((float)codec.resolution(), codec.decodeFloat(1));
            assertEquals(-codec.resolution(), codec.decode(-1));
        }
    }

    @Test
    void decodeRoundsLargeRingValuesCorrectly()
    {
        final FixedPoint codec = new FixedPoint(12);
        final long v = (1L << 60) + 1;
        assertEquals(Math.scalb((double)v, -12), codec.decode(v));
        assertEquals(Math.scalb((float)v, -12), codec.decodeFloat(v));
        assertEquals(Math.scalb(-1.0f, 51), codec.decodeFloat(Long.MIN_VALUE));
    }

    @Test
    void bulkEncodeMatchesScalarTwinBitForBit()
    {
        final SplittableRandom random = new SplittableRandom(22);
        for (final int f : BULK_FRACTIONAL_BITS)
        {
            final FixedPoint codec = new FixedPoint(f);
            for (final int n : ElementwiseKernelsTest.lengths(random))
            {
                final double[] doubles = samples(codec, random, n).stream().mapToDouble(Double::doubleValue).toArray();
                final float[] floats = new float[n + 3];
                for (int i = 0; i < n; i++)
                {
                    final float xf = (float)doubles[i];
                    floats[i + 3] = xf >= codec.minValue() && xf < codec.maxValueExclusive() ? xf : 0.5f;
                }
                try (Arena arena = Arena.ofConfined())
                {
                    final MemorySegment expected = arena.allocate(Math.max(1, n) * 8L);
                    final MemorySegment actual = arena.allocate(Math.max(1, n) * 8L);
                    final String what = "f=" + f + " n=" + n;
                    codec.encodeScalar(doubles, 0, expected, 0, n, false);
                    codec.encode(doubles, 0, actual, n);
                    assertSegmentsEqual(expected, actual, n, what + " doubles");
                    for (int i = 0; i < n; i++)
                    {
                        assertEquals(codec.encode(doubles[i]), actual.getAtIndex(ELEMENT, i), what);
                    }
                    codec.encodeScalar(floats, 3, expected, 0, n, false);
                    codec.encode(floats, 3, actual, n);
                    assertSegmentsEqual(expected, actual, n, what + " floats");
                    final MemorySegment floatSegment = arena.allocate(Math.max(1, n) * 4L);
                    MemorySegment.copy(floats, 3, floatSegment, FixedPoint.FLOAT, 0, n);
                    actual.fill((byte)0);
                    codec.encodeFloats(floatSegment, actual, n);
                    assertSegmentsEqual(expected, actual, n, what + " float segment");
                }
            }
        }
    }

    @Test
    void bulkSaturatingEncodeMatchesScalarTwinAndClamps()
    {
        final SplittableRandom random = new SplittableRandom(23);
        final FixedPoint codec = new FixedPoint(16);
        for (final int n : ElementwiseKernelsTest.lengths(random))
        {
            final double[] doubles = new double[n];
            final float[] floats = new float[n];
            for (int i = 0; i < n; i++)
            {
                doubles[i] = switch (random.nextInt(5))
                {
                    case 0 -> Double.POSITIVE_INFINITY;
                    case 1 -> -1e30;
                    case 2 -> codec.maxValueExclusive();
                    default -> random.nextDouble(-1e5, 1e5);
                };
                floats[i] = (float)doubles[i];
            }
            try (Arena arena = Arena.ofConfined())
            {
                final MemorySegment expected = arena.allocate(Math.max(1, n) * 8L);
                final MemorySegment actual = arena.allocate(Math.max(1, n) * 8L);
                codec.encodeScalar(doubles, 0, expected, 0, n, true);
                codec.encodeSaturating(doubles, 0, actual, n);
                assertSegmentsEqual(expected, actual, n, "doubles n=" + n);
                for (int i = 0; i < n; i++)
                {
                    assertEquals(codec.encodeSaturating(doubles[i]), actual.getAtIndex(ELEMENT, i));
                }
                codec.encodeScalar(floats, 0, expected, 0, n, true);
                codec.encodeSaturating(floats, 0, actual, n);
                assertSegmentsEqual(expected, actual, n, "floats n=" + n);
                final MemorySegment floatSegment = arena.allocate(Math.max(1, n) * 4L);
                MemorySegment.copy(floats, 0, floatSegment, FixedPoint.FLOAT, 0, n);
                actual.fill((byte)0);
                codec.encodeFloatsSaturating(floatSegment, actual, n);
                assertSegmentsEqual(expected, actual, n, "float segment n=" + n);
            }
        }
    }

    @Test
    void bulkEncodeReportsTheFirstBadElement()
    {
        final FixedPoint codec = new FixedPoint(16);
        final int n = 50;
        for (final int bad : new int[]{0, 7, 8, 23, 49})
        {
            final double[] doubles = new double[n + 2];
            final float[] floats = new float[n + 2];
            for (int i = 0; i < n + 2; i++)
            {
                doubles[i] = i * 0.25;
                floats[i] = i * 0.25f;
            }
            doubles[2 + bad] = bad % 2 == 0 ? Double.NaN : -1e16;
            floats[2 + bad] = Float.POSITIVE_INFINITY;
            try (Arena arena = Arena.ofConfined())
            {
                final MemorySegment dst = arena.allocate(n * 8L);
                final String index = "src[" + (2 + bad) + "] = ";
                assertMessage(assertThrows(ArithmeticException.class, () -> codec.encode(doubles, 2, dst, n)), index);
                for (int i = 0; i < bad; i++)
                {
                    assertEquals(codec.encode(doubles[2 + i]), dst.getAtIndex(ELEMENT, i), "written before the bad one");
                }
                assertMessage(assertThrows(ArithmeticException.class, () -> codec.encode(floats, 2, dst, n)), index);
                if (bad % 2 == 0)
                {
                    assertMessage(assertThrows(ArithmeticException.class,
                        () -> codec.encodeSaturating(doubles, 2, dst, n)), index + "NaN");
                }
                final MemorySegment floatSegment = arena.allocate(n * 4L);
                MemorySegment.copy(floats, 2, floatSegment, FixedPoint.FLOAT, 0, n);
                assertMessage(assertThrows(ArithmeticException.class, () -> codec.encodeFloats(floatSegment, dst, n)),
                    "src[" + bad + "] = Infinity");
            }
        }
    }

    @Test
    void bulkDecodeMatchesScalarTwinBitForBit()
    {
        final SplittableRandom random = new SplittableRandom(24);
        for (final int f : BULK_FRACTIONAL_BITS)
        {
            final FixedPoint codec = new FixedPoint(f);
            for (final int n : ElementwiseKernelsTest.lengths(random))
            {
                try (Arena arena = Arena.ofConfined())
                {
                    final MemorySegment src = ElementwiseKernelsTest.values(arena, n, random);
                    final double[] expectedDoubles = new double[n + 1];
                    final double[] actualDoubles = new double[n + 1];
                    codec.decodeScalar(src, expectedDoubles, 1, 0, n);
                    codec.decode(src, actualDoubles, 1, n);
                    assertArrayEquals(expectedDoubles, actualDoubles, "f=" + f + " n=" + n);
                    final float[] expectedFloats = new float[n + 1];
                    final float[] actualFloats = new float[n + 1];
                    codec.decodeScalar(src, expectedFloats, 1, 0, n);
                    codec.decode(src, actualFloats, 1, n);
                    assertArrayEquals(expectedFloats, actualFloats, "f=" + f + " n=" + n);
                    final MemorySegment floatSegment = arena.allocate(Math.max(1, n) * 4L);
                    codec.decodeFloats(src, floatSegment, n);
                    for (int i = 0; i < n; i++)
                    {
                        final long v = src.getAtIndex(ELEMENT, i);
                        assertEquals(codec.decode(v), actualDoubles[i + 1]);
                        assertEquals(Float.floatToRawIntBits(codec.decodeFloat(v)),
                            Float.floatToRawIntBits(floatSegment.getAtIndex(FixedPoint.FLOAT, i)));
                    }
                }
            }
        }
    }

    @Test
    void bulkArgumentsAreChecked()
    {
        final FixedPoint codec = new FixedPoint(8);
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment small = arena.allocate(4 * 8L);
            assertMessage(assertThrows(IllegalArgumentException.class, () -> codec.encode(new float[8], 0, small, 8)),
                "dst too small");
            assertMessage(assertThrows(IndexOutOfBoundsException.class, () -> codec.encode(new double[8], 2, small, 7)),
                "src range [2, 9) out of bounds for length 8");
            assertMessage(assertThrows(IndexOutOfBoundsException.class, () -> codec.decode(small, new float[2], 0, 3)),
                "dst range");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> codec.decode(small, new double[8], 0, 8)),
                "src too small");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> codec.encodeFloats(small, small, 9)),
                "src too small: needs 9 floats");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> codec.decodeFloats(small, small, 5)),
                "src too small");
        }
    }

    /** Values across the codec's range: small, near the range edges, exact ties, integers and random reals. */
    private static List<Double> samples(final FixedPoint codec, final SplittableRandom random, final int count)
    {
        final int f = codec.fractionalBits();
        final double[] edges = {0.0, -0.0, Double.MIN_VALUE, codec.resolution(), -codec.resolution(),
            Math.scalb(1.0, -(f + 1)), 3 * Math.scalb(1.0, -(f + 1)), -5 * Math.scalb(1.0, -(f + 1)),
            codec.minValue(), Math.nextDown(codec.maxValueExclusive()), Math.nextUp(codec.minValue()), 1.0, -1.0,
            0.1, -0.7};
        final List<Double> values = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            final double x;
            if (i < edges.length)
            {
                x = edges[i];
            }
            else
            {
                // Uniform exponents make every magnitude from 2^-(f+3) to the range edge equally likely.
                final int exponent = random.nextInt(-(f + 3), 63 - f);
                final double candidate = Math.scalb(random.nextDouble(1.0, 2.0), exponent) * (random.nextBoolean() ? 1 : -1);
                x = candidate >= codec.minValue() && candidate < codec.maxValueExclusive() ? candidate : 0.5;
            }
            values.add(x);
        }
        return values;
    }

    private static void assertSegmentsEqual(final MemorySegment expected, final MemorySegment actual, final int n,
                                            final String what)
    {
        assertArrayEquals(expected.asSlice(0, n * 8L).toArray(ELEMENT), actual.asSlice(0, n * 8L).toArray(ELEMENT), what);
    }
}
