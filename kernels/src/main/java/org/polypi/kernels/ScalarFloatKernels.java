package org.polypi.kernels;

/**
 * Plain-Java float32 kernels over heap {@code float[]} arrays: the oracle that {@link FloatKernels} is tested
 * against, and the fallback when {@code jdk.incubator.vector} is not in the module graph.
 * <p>
 * Same contract as {@link FloatKernels}: matrices are row-major and addressed from index 0, an operand array may
 * be longer than its shape needs (only the leading elements are read or written), outputs are overwritten, and
 * bad arguments throw {@link IllegalArgumentException} naming the operand and the sizes. Sums run in index order
 * ({@code k = 0, 1, ...}) with one rounding per multiply and per add, so results differ from the vector kernels
 * (which use fused multiply-add and another summation order) only by floating-point rounding.
 */
public final class ScalarFloatKernels
{
    private ScalarFloatKernels()
    {
    }

    /**
     * {@code c = a · b}; a is m×k, b is k×n, c is m×n, all row-major. c is overwritten.
     *
     * @throws IllegalArgumentException if a dimension is not positive, an array is null or too small, or c is
     *                                  the same array as a or b.
     */
    public static void matmul(final float[] a, final float[] b, final float[] c, final int m, final int k, final int n)
    {
        checkMatmul(a, b, false, c, m, k, n);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float sum = 0f;
                for (int p = 0; p < k; p++)
                {
                    sum += a[i * k + p] * b[p * n + j];
                }
                c[i * n + j] = sum;
            }
        }
    }

    /**
     * {@code c = a · bᵀ}; a is m×k, b is n×k (e.g. a Linear layer's {@code out × in} weights), c is m×n.
     *
     * @throws IllegalArgumentException as {@link #matmul}.
     */
    public static void matmulTransposedB(final float[] a, final float[] b, final float[] c, final int m, final int k,
                                         final int n)
    {
        checkMatmul(a, b, true, c, m, k, n);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float sum = 0f;
                for (int p = 0; p < k; p++)
                {
                    sum += a[i * k + p] * b[j * k + p];
                }
                c[i * n + j] = sum;
            }
        }
    }

    /**
     * 2-D convolution without bias, NCHW input {@code batch × inChannels × inHeight × inWidth}, weights
     * {@code outChannels × inChannels × kernelHeight × kernelWidth}, output {@code batch × outChannels × outHeight ×
     * outWidth}, zero padding. Each output sums over (input channel, kernel row, kernel column) in that order.
     *
     * @throws IllegalArgumentException if an array is null or too small for the shape, or out aliases an input.
     */
    public static void conv2d(final float[] input, final float[] weights, final float[] out, final Conv2dShape shape)
    {
        checkConv(input, weights, out, shape);
        final int cin = shape.inChannels();
        final int h = shape.inHeight();
        final int w = shape.inWidth();
        final int kh = shape.kernelHeight();
        final int kw = shape.kernelWidth();
        final int stride = shape.stride();
        final int pad = shape.padding();
        final int oh = shape.outHeight();
        final int ow = shape.outWidth();
        final int cout = shape.outChannels();
        for (int b = 0; b < shape.batch(); b++)
        {
            for (int co = 0; co < cout; co++)
            {
                for (int oy = 0; oy < oh; oy++)
                {
                    for (int ox = 0; ox < ow; ox++)
                    {
                        float sum = 0f;
                        for (int ci = 0; ci < cin; ci++)
                        {
                            for (int r = 0; r < kh; r++)
                            {
                                final int iy = oy * stride + r - pad;
                                if (iy < 0 || iy >= h)
                                {
                                    continue;
                                }
                                for (int s = 0; s < kw; s++)
                                {
                                    final int ix = ox * stride + s - pad;
                                    if (ix >= 0 && ix < w)
                                    {
                                        sum += weights[((co * cin + ci) * kh + r) * kw + s] *
                                            input[((b * cin + ci) * h + iy) * w + ix];
                                    }
                                }
                            }
                        }
                        out[((b * cout + co) * oh + oy) * ow + ox] = sum;
                    }
                }
            }
        }
    }

    /**
     * {@code out[i] = a[i] + b[i]} for i in [0, n); out may be a or b (in place).
     *
     * @throws IllegalArgumentException if n is negative or an array is null or shorter than n.
     */
    public static void add(final float[] a, final float[] b, final float[] out, final int n)
    {
        checkAdd(a, b, out, n);
        for (int i = 0; i < n; i++)
        {
            out[i] = a[i] + b[i];
        }
    }

    // ---- argument checks shared with FloatKernels, so both give the same messages ----------------------------

    static void checkMatmul(final float[] a, final float[] b, final boolean transposed, final float[] c, final int m,
                            final int k, final int n)
    {
        RingTensor.checkPositive("m", m);
        RingTensor.checkPositive("k", k);
        RingTensor.checkPositive("n", n);
        checkLength("a", a, (long)m * k, "m=" + m + " x k=" + k);
        checkLength("b", b, (long)k * n, transposed ? "n=" + n + " x k=" + k : "k=" + k + " x n=" + n);
        checkLength("c", c, (long)m * n, "m=" + m + " x n=" + n);
        if (c == a || c == b)
        {
            throw new IllegalArgumentException("c must not be the same array as " + (c == a ? "a" : "b"));
        }
    }

    static void checkConv(final float[] input, final float[] weights, final float[] out, final Conv2dShape shape)
    {
        if (shape == null)
        {
            throw new IllegalArgumentException("shape must not be null");
        }
        checkLength("input", input, shape.inputElements(), "batch=" + shape.batch() + " x inChannels=" +
            shape.inChannels() + " x " + shape.inHeight() + "x" + shape.inWidth());
        checkLength("weights", weights, shape.weightElements(), "outChannels=" + shape.outChannels() +
            " x inChannels=" + shape.inChannels() + " x " + shape.kernelHeight() + "x" + shape.kernelWidth());
        checkLength("out", out, shape.outputElements(), "batch=" + shape.batch() + " x outChannels=" +
            shape.outChannels() + " x " + shape.outHeight() + "x" + shape.outWidth());
        if (shape.inputElements() > Integer.MAX_VALUE || shape.outputElements() > Integer.MAX_VALUE)
        {
            throw new IllegalArgumentException("conv2d " + shape + " has more elements than a Java array holds");
        }
        if (out == input || out == weights)
        {
            throw new IllegalArgumentException("out must not be the same array as " + (out == input ? "input" : "weights"));
        }
    }

    static void checkAdd(final float[] a, final float[] b, final float[] out, final int n)
    {
        if (n < 0)
        {
            throw new IllegalArgumentException("element count n must be non-negative, was " + n);
        }
        checkLength("a", a, n, "n=" + n);
        checkLength("b", b, n, "n=" + n);
        checkLength("out", out, n, "n=" + n);
    }

    static void checkLength(final String name, final float[] array, final long needed, final String shape)
    {
        if (array == null)
        {
            throw new IllegalArgumentException(name + " must not be null");
        }
        if (array.length < needed)
        {
            throw new IllegalArgumentException(name + " too small: needs " + needed + " elements (" + shape + "), has " +
                array.length);
        }
    }
}
