package org.polypi.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Locale;

import static org.polypi.kernels.RingTensor.ELEMENT;

/**
 * Fixed-point codec between real numbers (float32 / float64) and the ring Z_2^64: a real {@code x} is the ring
 * element {@code round(x * 2^f)} read as a two's-complement {@code long}, where {@code f} is the number of
 * fractional bits (0 to {@value #MAX_FRACTIONAL_BITS}).
 * <p>
 * <b>Rounding:</b> to nearest, <b>ties to even</b> ({@link Math#rint}), the IEEE 754 default and what
 * {@code numpy.round} and {@code torch.round} do; ties away from zero would bias sums of many encoded values
 * that sit on ties (e.g. halves when {@code f = 0}). Encoding is exact whenever {@code x * 2^f} is an integer,
 * and otherwise off by at most {@code 2^-(f+1)}; so for float and double inputs
 * {@code |decode(encode(x)) - x| <= 2^-(f+1)}.
 * <p>
 * <b>Range:</b> {@link #encode} accepts exactly the reals in {@code [-2^(63-f), 2^(63-f))} and throws
 * {@link ArithmeticException} naming the value and that range otherwise (and for NaN and infinities): an
 * out-of-range activation or weight is a model or scaling bug that must not wrap silently around the ring.
 * {@link #encodeSaturating} clamps instead (infinities too) but still rejects NaN. Decoding reads the ring
 * element as signed, so it returns values in the same range.
 * <p>
 * Bulk methods move between heap arrays or float32 {@link MemorySegment}s (native byte order) and segments of
 * native-order longs; they use the Vector API when {@code jdk.incubator.vector} is present (unless
 * {@code -Dpolypi.kernels=scalar}) and every segment is off-heap (heap segments take the scalar loop: see
 * {@code VectorRingKernels.onHeap}), with results identical to the scalar loops bit for bit. Segments are
 * addressed from offset 0 like every kernel: pass slices to address parts. A bulk encode that throws has
 * written every element before the bad one and none after it.
 * <p>
 * Instances are immutable and thread-safe.
 */
public final class FixedPoint
{
    /** Largest number of fractional bits: leaves the sign bit and one integer bit. */
    public static final int MAX_FRACTIONAL_BITS = 62;
    /** Float32 source and destination layout: native byte order, unaligned. */
    public static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** 2^63 as a double: the exclusive upper bound of a rounded, scaled value that fits a long. */
    private static final double TWO_POW_63 = 0x1p63;
    private static final boolean VECTORIZED = Kernels.vectorEnabled();

    private final int fractionalBits;
    private final double scale;
    private final double inverseScale;
    private final float inverseScaleFloat;

    /**
     * A codec with {@code fractionalBits} bits after the binary point.
     *
     * @throws IllegalArgumentException unless {@code 0 <= fractionalBits <= 62}.
     */
    public FixedPoint(final int fractionalBits)
    {
        if (fractionalBits < 0 || fractionalBits > MAX_FRACTIONAL_BITS)
        {
            throw new IllegalArgumentException("fractionalBits must be in [0, " + MAX_FRACTIONAL_BITS + "], was " +
                fractionalBits);
        }
        this.fractionalBits = fractionalBits;
        this.scale = Math.scalb(1.0, fractionalBits);
        this.inverseScale = Math.scalb(1.0, -fractionalBits);
        this.inverseScaleFloat = Math.scalb(1.0f, -fractionalBits);
    }

    /** Number of fractional bits {@code f}. */
    public int fractionalBits()
    {
        return fractionalBits;
    }

    /** {@code 2^f}: the ring value of the real 1.0. */
    public long one()
    {
        return 1L << fractionalBits;
    }

    /** {@code 2^-f}: the real value of one unit in the last place. */
    public double resolution()
    {
        return inverseScale;
    }

    /** Smallest encodable real, {@code -2^(63-f)} (inclusive). */
    public double minValue()
    {
        return -TWO_POW_63 * inverseScale;
    }

    /** Upper bound of the encodable reals, {@code 2^(63-f)} (exclusive). */
    public double maxValueExclusive()
    {
        return TWO_POW_63 * inverseScale;
    }

    /**
     * {@code round(x * 2^f)}, ties to even.
     *
     * @throws ArithmeticException naming {@code x} and the representable range if {@code x} is NaN, infinite or
     *                             outside {@code [-2^(63-f), 2^(63-f))}.
     */
    public long encode(final double x)
    {
        final double rounded = Math.rint(x * scale);
        if (!(rounded >= -TWO_POW_63 && rounded < TWO_POW_63))
        {
            throw outOfRange("", x);
        }
        return (long)rounded;
    }

    /**
     * {@code round(x * 2^f)}, ties to even, clamped to {@code [Long.MIN_VALUE, Long.MAX_VALUE]} (infinities
     * included).
     *
     * @throws ArithmeticException if {@code x} is NaN, which has no sensible clamp.
     */
    public long encodeSaturating(final double x)
    {
        if (Double.isNaN(x))
        {
            throw outOfRange("", x);
        }
        // Java's double-to-long conversion saturates, and rint keeps infinities.
        return (long)Math.rint(x * scale);
    }

    /** The real value of ring element {@code v} read as signed: {@code v * 2^-f}, correctly rounded to double. */
    public double decode(final long v)
    {
        return v * inverseScale;
    }

    /** The real value of ring element {@code v} read as signed, correctly rounded to float. */
    public float decodeFloat(final long v)
    {
        return v * inverseScaleFloat;
    }

    // ---- bulk ----------------------------------------------------------------------------------------------

    /**
     * Encodes {@code src[srcIndex .. srcIndex+count)} into the first {@code count} longs of {@code dst}.
     *
     * @throws ArithmeticException naming the first bad element, its index and the range.
     * @throws IndexOutOfBoundsException if the array range is invalid.
     * @throws IllegalArgumentException if {@code dst} holds fewer than {@code count} longs.
     */
    public void encode(final float[] src, final int srcIndex, final MemorySegment dst, final int count)
    {
        checkArray("src", src.length, srcIndex, count);
        RingTensor.checkCapacity("dst", dst, count);
        final int done = VECTORIZED && dst.isNative() ? VectorFixedPoint.encode(src, srcIndex, dst, count, scale, false) : 0;
        encodeScalar(src, srcIndex, dst, done, count, false);
    }

    /** As {@link #encode(float[], int, MemorySegment, int)} for doubles. */
    public void encode(final double[] src, final int srcIndex, final MemorySegment dst, final int count)
    {
        checkArray("src", src.length, srcIndex, count);
        RingTensor.checkCapacity("dst", dst, count);
        final int done = VECTORIZED && dst.isNative() ? VectorFixedPoint.encode(src, srcIndex, dst, count, scale, false) : 0;
        encodeScalar(src, srcIndex, dst, done, count, false);
    }

    /**
     * Encodes {@code count} float32 values (native byte order) from {@code src} into {@code dst}.
     *
     * @throws ArithmeticException naming the first bad element, its index and the range.
     * @throws IllegalArgumentException if a segment is too small.
     */
    public void encodeFloats(final MemorySegment src, final MemorySegment dst, final long count)
    {
        checkFloatSegment("src", src, count);
        RingTensor.checkCapacity("dst", dst, count);
        final long done = VECTORIZED && src.isNative() && dst.isNative() ? VectorFixedPoint.encodeFloats(src, dst, count, scale, false) : 0;
        encodeFloatsScalar(src, dst, done, count, false);
    }

    /** As {@link #encode(float[], int, MemorySegment, int)}, saturating like {@link #encodeSaturating}. */
    public void encodeSaturating(final float[] src, final int srcIndex, final MemorySegment dst, final int count)
    {
        checkArray("src", src.length, srcIndex, count);
        RingTensor.checkCapacity("dst", dst, count);
        final int done = VECTORIZED && dst.isNative() ? VectorFixedPoint.encode(src, srcIndex, dst, count, scale, true) : 0;
        encodeScalar(src, srcIndex, dst, done, count, true);
    }

    /** As {@link #encode(double[], int, MemorySegment, int)}, saturating like {@link #encodeSaturating}. */
    public void encodeSaturating(final double[] src, final int srcIndex, final MemorySegment dst, final int count)
    {
        checkArray("src", src.length, srcIndex, count);
        RingTensor.checkCapacity("dst", dst, count);
        final int done = VECTORIZED && dst.isNative() ? VectorFixedPoint.encode(src, srcIndex, dst, count, scale, true) : 0;
        encodeScalar(src, srcIndex, dst, done, count, true);
    }

    /** As {@link #encodeFloats}, saturating like {@link #encodeSaturating}. */
    public void encodeFloatsSaturating(final MemorySegment src, final MemorySegment dst, final long count)
    {
        checkFloatSegment("src", src, count);
        RingTensor.checkCapacity("dst", dst, count);
        final long done = VECTORIZED && src.isNative() && dst.isNative() ? VectorFixedPoint.encodeFloats(src, dst, count, scale, true) : 0;
        encodeFloatsScalar(src, dst, done, count, true);
    }

    /** Decodes the first {@code count} longs of {@code src} into {@code dst[dstIndex .. dstIndex+count)}. */
    public void decode(final MemorySegment src, final float[] dst, final int dstIndex, final int count)
    {
        RingTensor.checkCapacity("src", src, count);
        checkArray("dst", dst.length, dstIndex, count);
        final int done = VECTORIZED && src.isNative() ? VectorFixedPoint.decode(src, dst, dstIndex, count, inverseScaleFloat) : 0;
        decodeScalar(src, dst, dstIndex, done, count);
    }

    /** Decodes the first {@code count} longs of {@code src} into {@code dst[dstIndex .. dstIndex+count)}. */
    public void decode(final MemorySegment src, final double[] dst, final int dstIndex, final int count)
    {
        RingTensor.checkCapacity("src", src, count);
        checkArray("dst", dst.length, dstIndex, count);
        final int done = VECTORIZED && src.isNative() ? VectorFixedPoint.decode(src, dst, dstIndex, count, inverseScale) : 0;
        decodeScalar(src, dst, dstIndex, done, count);
    }

    /** Decodes {@code count} longs of {@code src} into float32 values (native byte order) in {@code dst}. */
    public void decodeFloats(final MemorySegment src, final MemorySegment dst, final long count)
    {
        RingTensor.checkCapacity("src", src, count);
        checkFloatSegment("dst", dst, count);
        final long done = VECTORIZED && src.isNative() && dst.isNative() ? VectorFixedPoint.decodeFloats(src, dst, count, inverseScaleFloat) : 0;
        decodeFloatsScalar(src, dst, done, count);
    }

    // ---- scalar twins: oracles for the vector paths, which hand them their tails ---------------------------

    /**
     * Scalar encode of elements {@code [start, count)}: {@code src[srcIndex + i]} into {@code dst[i]}. The
     * vector path hands over at {@code start}: its tail, or its first block that holds a value to reject, which
     * this loop then reports.
     */
    void encodeScalar(final float[] src, final int srcIndex, final MemorySegment dst, final int start, final int count,
                      final boolean saturate)
    {
        for (int i = start; i < count; i++)
        {
            dst.setAtIndex(ELEMENT, i, encodeElement(src[srcIndex + i], saturate, srcIndex + i));
        }
    }

    void encodeScalar(final double[] src, final int srcIndex, final MemorySegment dst, final int start,
                      final int count, final boolean saturate)
    {
        for (int i = start; i < count; i++)
        {
            dst.setAtIndex(ELEMENT, i, encodeElement(src[srcIndex + i], saturate, srcIndex + i));
        }
    }

    void encodeFloatsScalar(final MemorySegment src, final MemorySegment dst, final long start, final long count,
                            final boolean saturate)
    {
        for (long i = start; i < count; i++)
        {
            dst.setAtIndex(ELEMENT, i, encodeElement(src.getAtIndex(FLOAT, i), saturate, i));
        }
    }

    void decodeScalar(final MemorySegment src, final float[] dst, final int dstIndex, final int start, final int count)
    {
        for (int i = start; i < count; i++)
        {
            dst[dstIndex + i] = src.getAtIndex(ELEMENT, i) * inverseScaleFloat;
        }
    }

    void decodeScalar(final MemorySegment src, final double[] dst, final int dstIndex, final int start,
                      final int count)
    {
        for (int i = start; i < count; i++)
        {
            dst[dstIndex + i] = src.getAtIndex(ELEMENT, i) * inverseScale;
        }
    }

    void decodeFloatsScalar(final MemorySegment src, final MemorySegment dst, final long start, final long count)
    {
        for (long i = start; i < count; i++)
        {
            dst.setAtIndex(FLOAT, i, src.getAtIndex(ELEMENT, i) * inverseScaleFloat);
        }
    }

    private long encodeElement(final double x, final boolean saturate, final long index)
    {
        final double rounded = Math.rint(x * scale);
        if (rounded >= -TWO_POW_63 && rounded < TWO_POW_63)
        {
            return (long)rounded;
        }
        if (saturate && !Double.isNaN(x))
        {
            return (long)rounded;
        }
        throw outOfRange("src[" + index + "] = ", x);
    }

    private ArithmeticException outOfRange(final String what, final double x)
    {
        return new ArithmeticException(String.format(Locale.ROOT,
            "%s%s cannot be encoded with %d fractional bits: the representable range is [%s, %s) (|x| * 2^%d must " +
            "round into a signed 64-bit integer)", what, x, fractionalBits, minValue(), maxValueExclusive(),
            fractionalBits));
    }

    private static void checkArray(final String name, final int length, final int index, final int count)
    {
        if (index < 0 || count < 0 || index > length - count)
        {
            throw new IndexOutOfBoundsException(name + " range [" + index + ", " + ((long)index + count) +
                ") out of bounds for length " + length);
        }
    }

    private static void checkFloatSegment(final String name, final MemorySegment segment, final long count)
    {
        RingTensor.checkAlive(name, segment);
        if (count < 0 || segment.byteSize() < count * Float.BYTES)
        {
            throw new IllegalArgumentException(name + " too small: needs " + count + " floats (" + count * Float.BYTES +
                " bytes), has " + segment.byteSize() + " bytes");
        }
    }

    @Override
    public String toString()
    {
        return "FixedPoint[f=" + fractionalBits + "]";
    }
}
