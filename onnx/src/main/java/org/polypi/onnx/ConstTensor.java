package org.polypi.onnx;

import java.util.Arrays;

/**
 * A constant ONNX tensor (initializer, {@code Constant} output or folded expression): dimensions and row-major
 * values, either real (FLOAT and DOUBLE, held exactly in double) or integer (INT64 and the smaller integer and bool
 * types). Immutable by convention: the arrays are never modified after construction.
 * <p>
 * Integer tensors computed from the shape of a non-constant tensor hold {@link #BATCH} where the batch size goes: the
 * batch size is not known at import time, and a {@code Reshape} to such a shape keeps the batch dimension.
 */
final class ConstTensor
{
    /** Marks the (unknown) batch size in shape tensors derived from {@code Shape} of a data tensor. */
    static final long BATCH = Long.MIN_VALUE;
    /** Most dimensions of a constant. */
    static final int MAX_RANK = 8;
    /** Most elements of a constant the importer computes itself (initializers are bounded by the file size). */
    static final int MAX_FOLDED_ELEMENTS = 1 << 24;

    private final long[] dims;
    private final double[] reals;
    private final long[] ints;

    private ConstTensor(final long[] dims, final double[] reals, final long[] ints)
    {
        this.dims = dims;
        this.reals = reals;
        this.ints = ints;
    }

    /** A real tensor; takes ownership of both arrays. */
    static ConstTensor real(final long[] dims, final double[] values)
    {
        return new ConstTensor(dims, values, null);
    }

    /** An integer tensor; takes ownership of both arrays. */
    static ConstTensor integer(final long[] dims, final long[] values)
    {
        return new ConstTensor(dims, null, values);
    }

    /** A real scalar (rank 0). */
    static ConstTensor scalar(final double value)
    {
        return real(new long[0], new double[] {value});
    }

    /**
     * Element count of {@code dims}, checked against {@code limit}.
     *
     * @throws OnnxImportException naming {@code what} if a dimension is negative, the rank exceeds
     *     {@value #MAX_RANK} or the count exceeds {@code limit}.
     */
    static int elements(final long[] dims, final long limit, final String what) throws OnnxImportException
    {
        if (dims.length > MAX_RANK)
        {
            throw new OnnxImportException(what + " has rank " + dims.length + ", at most " + MAX_RANK + " supported");
        }
        boolean empty = false;
        for (final long d : dims)
        {
            if (d < 0)
            {
                throw new OnnxImportException(what + " has a negative dimension: " + Arrays.toString(dims));
            }
            empty |= d == 0;
        }
        if (empty)
        {
            return 0;
        }
        long n = 1;
        for (final long d : dims)
        {
            // both factors are at most limit < 2^32 here, so the product cannot overflow
            n = d > limit ? limit + 1 : n * d;
            if (n > limit)
            {
                throw new OnnxImportException(what + " has dimensions " + Arrays.toString(dims) + ", more than " +
                    limit + " elements");
            }
        }
        return (int)n;
    }

    boolean isInteger()
    {
        return ints != null;
    }

    int rank()
    {
        return dims.length;
    }

    long dim(final int i)
    {
        return dims[i];
    }

    /** A copy of the dimensions. */
    long[] dims()
    {
        return dims.clone();
    }

    int size()
    {
        return ints != null ? ints.length : reals.length;
    }

    /** Element {@code i} as a real (integers converted; never call on a tensor holding {@link #BATCH}). */
    double real(final int i)
    {
        return ints != null ? ints[i] : reals[i];
    }

    /** Element {@code i} as an integer; reals must be whole numbers in range, else {@code null}. */
    Long integer(final int i)
    {
        if (ints != null)
        {
            return ints[i];
        }
        final double v = reals[i];
        if (v != Math.rint(v) || Math.abs(v) > (double)(1L << 62))
        {
            return null;
        }
        return (long)v;
    }

    /** True if some element is the {@link #BATCH} marker. */
    boolean dependsOnBatch()
    {
        if (ints == null)
        {
            return false;
        }
        for (final long v : ints)
        {
            if (v == BATCH)
            {
                return true;
            }
        }
        return false;
    }

    /** The values as reals, copied. */
    double[] realValues()
    {
        final double[] out = new double[size()];
        for (int i = 0; i < out.length; i++)
        {
            out[i] = real(i);
        }
        return out;
    }

    /** The values as float32 (reals are rounded once, as a float32 ONNX runtime would hold them). */
    float[] floatValues()
    {
        final float[] out = new float[size()];
        for (int i = 0; i < out.length; i++)
        {
            out[i] = (float)real(i);
        }
        return out;
    }

    /** The integer array itself (never modify), or null for a real tensor. */
    long[] intValues()
    {
        return ints;
    }

    /** A tensor with the same values and other dimensions (same element count; checked by the caller). */
    ConstTensor reshaped(final long[] newDims)
    {
        return new ConstTensor(newDims, reals, ints);
    }

    /** {@code [2,3] float} or {@code [] int}: for error messages. */
    String describe()
    {
        return Arrays.toString(dims) + (ints != null ? " integer" : " real");
    }
}
