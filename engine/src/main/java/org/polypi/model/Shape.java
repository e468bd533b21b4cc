package org.polypi.model;

import java.util.Arrays;

/**
 * An immutable tensor shape: rank 1 to {@value #MAX_RANK}, every dimension positive.
 * <p>
 * Activation shapes are per batch item: {@code [C, H, W]} for feature maps, {@code [F]} for feature vectors.
 * Weight shapes use the same class ({@code [out, in, kh, kw]} for a convolution).
 */
public final class Shape
{
    /** Largest rank of any tensor in a model (convolution weights are rank 4). */
    public static final int MAX_RANK = 4;
    /** Largest element count of one tensor: the largest Java array the JVMs we use allocate. */
    public static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;

    private final int[] dims;
    private final long elements;

    private Shape(final int[] dims, final long elements)
    {
        this.dims = dims;
        this.elements = elements;
    }

    /**
     * A shape with the given dimensions.
     *
     * @throws IllegalArgumentException if the rank is not 1..{@value #MAX_RANK}, a dimension is not positive, or
     *     the element count exceeds {@link #MAX_ELEMENTS}.
     */
    public static Shape of(final int... dims)
    {
        if (dims.length < 1 || dims.length > MAX_RANK)
        {
            throw new IllegalArgumentException("shape rank must be 1.." + MAX_RANK + ", was " + dims.length + " " +
                Arrays.toString(dims));
        }
        long n = 1;
        for (final int d : dims)
        {
            if (d <= 0)
            {
                throw new IllegalArgumentException("shape dimensions must be positive, was " + Arrays.toString(dims));
            }
            n *= d;
            if (n > MAX_ELEMENTS)
            {
                throw new IllegalArgumentException("shape " + Arrays.toString(dims) + " has more than " + MAX_ELEMENTS +
                    " elements");
            }
        }
        return new Shape(dims.clone(), n);
    }

    /** Number of dimensions. */
    public int rank()
    {
        return dims.length;
    }

    /** Dimension {@code i} (0-based). */
    public int dim(final int i)
    {
        return dims[i];
    }

    /** Product of the dimensions. */
    public long elements()
    {
        return elements;
    }

    /** Product of the dimensions as an int (always fits: see {@link #MAX_ELEMENTS}). */
    public int size()
    {
        return (int)elements;
    }

    /** A copy of the dimensions. */
    public int[] toArray()
    {
        return dims.clone();
    }

    /** True if this is a feature map {@code [C, H, W]}. */
    public boolean isFeatureMap()
    {
        return dims.length == 3;
    }

    /** True if this is a flat feature vector {@code [F]}. */
    public boolean isVector()
    {
        return dims.length == 1;
    }

    @Override
    public boolean equals(final Object o)
    {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode()
    {
        return Arrays.hashCode(dims);
    }

    /** {@code [64,8,8]}: the form used in every error message. */
    @Override
    public String toString()
    {
        final StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < dims.length; i++)
        {
            if (i > 0)
            {
                sb.append(',');
            }
            sb.append(dims[i]);
        }
        return sb.append(']').toString();
    }
}
