package org.polypi.kernels;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API bodies of {@link FixedPoint}'s bulk methods, loaded only when {@code jdk.incubator.vector} is present.
 * Each method processes whole vectors and returns how many elements it wrote; {@link FixedPoint}'s scalar twin
 * finishes from there (the tail, or the first block holding a value it must reject, so that the exception and
 * its message come from one place). Results are bit-identical to the scalar twins: float-to-double widening and
 * scaling by a power of two are exact, the rounding below is {@link Math#rint}, and the lane conversions round
 * like Java casts. Arguments are trusted (checked by {@link FixedPoint}).
 */
final class VectorFixedPoint
{
    static
    {
        // Before any of this class's methods can be compiled: see ClassHierarchy.
        ClassHierarchy.complete();
    }

    private static final VectorSpecies<Long> LONGS = LongVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Double> DOUBLES = VectorSpecies.of(double.class, LONGS.vectorShape());
    /** As many float lanes as long lanes, in half the bits. */
    private static final VectorSpecies<Float> FLOATS =
        VectorSpecies.of(float.class, VectorShape.forBitSize(LONGS.vectorBitSize() / 2));
    private static final int LANES = LONGS.length();
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    /** Adding then subtracting 2^52 rounds a magnitude below 2^52 to an integer in the current (nearest-even) mode. */
    private static final double TWO_POW_52 = 0x1p52;
    private static final double TWO_POW_63 = 0x1p63;
    /** Largest double below 2^63, the clamp before a saturating conversion. */
    private static final double BELOW_TWO_POW_63 = Math.nextDown(TWO_POW_63);

    private VectorFixedPoint()
    {
    }

    static int encode(final float[] src, final int srcIndex, final MemorySegment dst, final int count,
                      final double scale, final boolean saturate)
    {
        final int bound = LONGS.loopBound(count);
        int i = 0;
        for (; i < bound; i += LANES)
        {
            final DoubleVector y = widen(FloatVector.fromArray(FLOATS, src, srcIndex + i)).mul(scale);
            if (!roundAndStore(y, dst, (long)i * Long.BYTES, saturate))
            {
                break;
            }
        }
        return i;
    }

    static int encode(final double[] src, final int srcIndex, final MemorySegment dst, final int count,
                      final double scale, final boolean saturate)
    {
        final int bound = LONGS.loopBound(count);
        int i = 0;
        for (; i < bound; i += LANES)
        {
            final DoubleVector y = DoubleVector.fromArray(DOUBLES, src, srcIndex + i).mul(scale);
            if (!roundAndStore(y, dst, (long)i * Long.BYTES, saturate))
            {
                break;
            }
        }
        return i;
    }

    static long encodeFloats(final MemorySegment src, final MemorySegment dst, final long count, final double scale,
                             final boolean saturate)
    {
        final long bound = LONGS.loopBound(count);
        long i = 0;
        for (; i < bound; i += LANES)
        {
            final DoubleVector y = widen(FloatVector.fromMemorySegment(FLOATS, src, i * Float.BYTES, ORDER)).mul(scale);
            if (!roundAndStore(y, dst, i * Long.BYTES, saturate))
            {
                break;
            }
        }
        return i;
    }

    static int decode(final MemorySegment src, final float[] dst, final int dstIndex, final int count,
                      final float inverseScale)
    {
        final int bound = LONGS.loopBound(count);
        for (int i = 0; i < bound; i += LANES)
        {
            narrow(LongVector.fromMemorySegment(LONGS, src, (long)i * Long.BYTES, ORDER)).mul(inverseScale)
                .intoArray(dst, dstIndex + i);
        }
        return bound;
    }

    static int decode(final MemorySegment src, final double[] dst, final int dstIndex, final int count,
                      final double inverseScale)
    {
        final int bound = LONGS.loopBound(count);
        for (int i = 0; i < bound; i += LANES)
        {
            ((DoubleVector)LongVector.fromMemorySegment(LONGS, src, (long)i * Long.BYTES, ORDER)
                .convert(VectorOperators.L2D, 0)).mul(inverseScale).intoArray(dst, dstIndex + i);
        }
        return bound;
    }

    static long decodeFloats(final MemorySegment src, final MemorySegment dst, final long count,
                             final float inverseScale)
    {
        final long bound = LONGS.loopBound(count);
        for (long i = 0; i < bound; i += LANES)
        {
            narrow(LongVector.fromMemorySegment(LONGS, src, i * Long.BYTES, ORDER)).mul(inverseScale)
                .intoMemorySegment(dst, i * Float.BYTES, ORDER);
        }
        return bound;
    }

    private static DoubleVector widen(final FloatVector v)
    {
        return (DoubleVector)v.convertShape(VectorOperators.F2D, DOUBLES, 0);
    }

    private static FloatVector narrow(final LongVector v)
    {
        return (FloatVector)v.convertShape(VectorOperators.L2F, FLOATS, 0);
    }

    /**
     * Rounds {@code y} (already scaled) to the nearest integer, ties to even, and stores it as longs at
     * {@code offset}. Returns false, storing nothing, if a lane is NaN, or is out of range and {@code saturate}
     * is off.
     */
    private static boolean roundAndStore(final DoubleVector y, final MemorySegment dst, final long offset,
                                         final boolean saturate)
    {
        final DoubleVector magnitude = y.abs();
        final DoubleVector roundedMagnitude = magnitude.blend(magnitude.add(TWO_POW_52).sub(TWO_POW_52),
            magnitude.compare(VectorOperators.LT, TWO_POW_52));
        final DoubleVector rounded = roundedMagnitude.blend(roundedMagnitude.neg(), y.compare(VectorOperators.LT, 0.0));
        final VectorMask<Double> inRange =
            rounded.compare(VectorOperators.GE, -TWO_POW_63).and(rounded.compare(VectorOperators.LT, TWO_POW_63));
        if (inRange.allTrue())
        {
            rounded.convert(VectorOperators.D2L, 0).intoMemorySegment(dst, offset, ORDER);
            return true;
        }
        if (!saturate || rounded.test(VectorOperators.IS_NAN).anyTrue())
        {
            return false;
        }
        // Clamp into the convertible range first, so the result never depends on how the hardware converts
        // out-of-range lanes; lanes at or above 2^63 become Long.MAX_VALUE like a Java cast.
        final LongVector clamped = (LongVector)rounded.max(-TWO_POW_63).min(BELOW_TWO_POW_63)
            .convert(VectorOperators.D2L, 0);
        clamped.blend(Long.MAX_VALUE, rounded.compare(VectorOperators.GE, TWO_POW_63).cast(LONGS))
            .intoMemorySegment(dst, offset, ORDER);
        return true;
    }
}
