package org.polypi.engine.protocol;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

import org.polypi.kernels.Conv2dShape;
import org.polypi.kernels.RingKernels;
import org.polypi.kernels.RingTensor;

/**
 * The bilinear map {@code (X, W) -> X·W} of a linear layer: a matrix product or a 2-D convolution. The linear-layer
 * protocol and its dealer material only need bilinearity, so both share one code path.
 */
public sealed interface LinearOp permits LinearOp.Matmul, LinearOp.Conv2d
{
    /** Shape of the layer input X (the client-side, per-query operand). */
    int[] inputShape();

    /** Shape of the weights W (the server's, opened once per connection as W - B). */
    int[] weightShape();

    /** Shape of the output X·W. */
    int[] outputShape();

    /** {@code out = x · w} over the ring, through {@code kernels}; {@code out} is overwritten. */
    void apply(RingKernels kernels, MemorySegment x, MemorySegment w, MemorySegment out);

    /** {@code out += x · w} over the ring, through {@code kernels}, in the product's own pass over out. */
    void applyAccumulate(RingKernels kernels, MemorySegment x, MemorySegment w, MemorySegment out);

    /** Elements of X. */
    default long inputSize()
    {
        return product(inputShape());
    }

    /** Elements of W. */
    default long weightSize()
    {
        return product(weightShape());
    }

    /** Elements of X·W. */
    default long outputSize()
    {
        return product(outputShape());
    }

    private static long product(final int[] shape)
    {
        long n = 1;
        for (final int d : shape)
        {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /**
     * {@code X (m×k) · W (k×n) = Z (m×n)}, row-major: X holds m input rows (a batch, or positions), W is the
     * layer's weight matrix in (in features × out features) layout.
     */
    record Matmul(int m, int k, int n) implements LinearOp
    {
        /** Validates the dimensions. */
        public Matmul
        {
            RingTensor.checkPositive("m", m);
            RingTensor.checkPositive("k", k);
            RingTensor.checkPositive("n", n);
        }

        @Override
        public int[] inputShape()
        {
            return new int[]{m, k};
        }

        @Override
        public int[] weightShape()
        {
            return new int[]{k, n};
        }

        @Override
        public int[] outputShape()
        {
            return new int[]{m, n};
        }

        @Override
        public void apply(final RingKernels kernels, final MemorySegment x, final MemorySegment w,
                          final MemorySegment out)
        {
            kernels.matmul(x, w, out, m, k, n);
        }

        @Override
        public void applyAccumulate(final RingKernels kernels, final MemorySegment x, final MemorySegment w,
                                    final MemorySegment out)
        {
            kernels.matmulAccumulate(x, w, out, m, k, n);
        }
    }

    /** Convolution of an NCHW input with OIHW weights, as {@link RingKernels#conv2d} (no bias). */
    record Conv2d(Conv2dShape shape) implements LinearOp
    {
        /** Requires a shape. */
        public Conv2d
        {
            Objects.requireNonNull(shape, "shape");
        }

        @Override
        public int[] inputShape()
        {
            return new int[]{shape.batch(), shape.inChannels(), shape.inHeight(), shape.inWidth()};
        }

        @Override
        public int[] weightShape()
        {
            return new int[]{shape.outChannels(), shape.inChannels(), shape.kernelHeight(), shape.kernelWidth()};
        }

        @Override
        public int[] outputShape()
        {
            return new int[]{shape.batch(), shape.outChannels(), shape.outHeight(), shape.outWidth()};
        }

        @Override
        public void apply(final RingKernels kernels, final MemorySegment x, final MemorySegment w,
                          final MemorySegment out)
        {
            kernels.conv2d(x, w, out, shape);
        }

        @Override
        public void applyAccumulate(final RingKernels kernels, final MemorySegment x, final MemorySegment w,
                                    final MemorySegment out)
        {
            kernels.conv2dAccumulate(x, w, out, shape);
        }
    }
}
