package org.polypi.model;

import java.nio.FloatBuffer;
import java.util.Objects;

/**
 * An immutable float32 tensor on the heap: a {@link Shape} and its elements in row-major order.
 * <p>
 * Equality is bit-exact ({@link Float#floatToRawIntBits}): two tensors are equal when they have the same shape and
 * the same bits, so NaN payloads and signed zeros count. That is what "the model that was written is the model that
 * was read" means.
 */
public final class Tensor
{
    private final Shape shape;
    private final float[] data;

    private Tensor(final Shape shape, final float[] data)
    {
        this.shape = shape;
        this.data = data;
    }

    /**
     * A tensor holding a copy of {@code values}.
     *
     * @throws IllegalArgumentException if {@code values.length} differs from the shape's element count.
     */
    public static Tensor of(final Shape shape, final float... values)
    {
        checkLength(shape, values);
        return new Tensor(shape, values.clone());
    }

    /** A zero-filled tensor. */
    public static Tensor zeros(final Shape shape)
    {
        return new Tensor(shape, new float[shape.size()]);
    }

    /** A tensor filled with {@code value}. */
    public static Tensor filled(final Shape shape, final float value)
    {
        final float[] data = new float[shape.size()];
        java.util.Arrays.fill(data, value);
        return new Tensor(shape, data);
    }

    /**
     * Takes ownership of {@code values} without copying. Package-private: only code of this package that has just
     * allocated the array (reader, builders, transformations) and never touches it again may use it.
     */
    static Tensor wrap(final Shape shape, final float[] values)
    {
        checkLength(shape, values);
        return new Tensor(shape, values);
    }

    private static void checkLength(final Shape shape, final float[] values)
    {
        Objects.requireNonNull(shape, "shape");
        if (values.length != shape.elements())
        {
            throw new IllegalArgumentException("tensor of shape " + shape + " needs " + shape.elements() +
                " values, got " + values.length);
        }
    }

    /** The shape. */
    public Shape shape()
    {
        return shape;
    }

    /** Number of elements. */
    public int size()
    {
        return data.length;
    }

    /** Element {@code i} in row-major order. */
    public float get(final int i)
    {
        return data[i];
    }

    /** A copy of the elements. */
    public float[] toArray()
    {
        return data.clone();
    }

    /** Copies all elements into {@code dst} starting at {@code offset}. */
    public void copyTo(final float[] dst, final int offset)
    {
        System.arraycopy(data, 0, dst, offset, data.length);
    }

    /** A read-only, zero-copy view of the elements (position 0, limit {@link #size()}). */
    public FloatBuffer buffer()
    {
        return FloatBuffer.wrap(data).asReadOnlyBuffer();
    }

    /** The backing array, for this package's serializer and transformations only; never modify it. */
    float[] array()
    {
        return data;
    }

    @Override
    public boolean equals(final Object o)
    {
        if (this == o)
        {
            return true;
        }
        if (!(o instanceof Tensor t) || !shape.equals(t.shape))
        {
            return false;
        }
        for (int i = 0; i < data.length; i++)
        {
            if (Float.floatToRawIntBits(data[i]) != Float.floatToRawIntBits(t.data[i]))
            {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode()
    {
        int h = shape.hashCode();
        for (final float v : data)
        {
            h = 31 * h + Float.floatToRawIntBits(v);
        }
        return h;
    }

    /** Shape and the first few elements. */
    @Override
    public String toString()
    {
        final int shown = Math.min(data.length, PREVIEW);
        final StringBuilder sb = new StringBuilder("Tensor").append(shape).append('{');
        for (int i = 0; i < shown; i++)
        {
            sb.append(i > 0 ? ", " : "").append(data[i]);
        }
        return sb.append(shown < data.length ? ", ...}" : "}").toString();
    }

    private static final int PREVIEW = 4;
}
