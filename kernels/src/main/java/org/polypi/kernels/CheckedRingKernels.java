package org.polypi.kernels;

import java.lang.foreign.MemorySegment;

import static org.polypi.kernels.RingTensor.checkAlive;
import static org.polypi.kernels.RingTensor.checkCapacity;
import static org.polypi.kernels.RingTensor.checkPositive;

/**
 * Validates every argument once, at the boundary, then hands trusted arguments to a backend's unchecked
 * kernels. Backends (scalar, vector, native) extend this so that every one of them rejects bad input with the
 * same messages, and none of their hot loops carries a check.
 */
public abstract class CheckedRingKernels implements RingKernels
{
    @Override
    public final void add(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long n)
    {
        checkBinary(a, b, out, n);
        addUnchecked(a, b, out, n);
    }

    @Override
    public final void sub(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long n)
    {
        checkBinary(a, b, out, n);
        subUnchecked(a, b, out, n);
    }

    @Override
    public final void negate(final MemorySegment a, final MemorySegment out, final long n)
    {
        checkUnary(a, out, n);
        negateUnchecked(a, out, n);
    }

    @Override
    public final void multiply(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long n)
    {
        checkBinary(a, b, out, n);
        multiplyUnchecked(a, b, out, n);
    }

    @Override
    public final void multiplyConstant(final MemorySegment a, final long c, final MemorySegment out, final long n)
    {
        checkUnary(a, out, n);
        multiplyConstantUnchecked(a, c, out, n);
    }

    @Override
    public final void addConstant(final MemorySegment a, final long c, final MemorySegment out, final long n)
    {
        checkUnary(a, out, n);
        addConstantUnchecked(a, c, out, n);
    }

    @Override
    public final void fusedMultiplyAdd(final MemorySegment a, final MemorySegment b, final MemorySegment c,
                                       final MemorySegment out, final long n)
    {
        checkBinary(a, b, out, n);
        checkCapacity("c", c, n);
        fusedMultiplyAddUnchecked(a, b, c, out, n);
    }

    @Override
    public final void shiftRightArithmetic(final MemorySegment a, final int shift, final MemorySegment out, final long n)
    {
        checkUnary(a, out, n);
        if (shift < 0 || shift > 63)
        {
            throw new IllegalArgumentException("shift must be in [0, 63], was " + shift);
        }
        shiftRightArithmeticUnchecked(a, shift, out, n);
    }

    @Override
    public final void polynomial(final MemorySegment x, final long[] coefficients, final MemorySegment out, final long n)
    {
        checkUnary(x, out, n);
        if (coefficients == null || coefficients.length == 0)
        {
            throw new IllegalArgumentException("coefficients must hold at least one value");
        }
        polynomialUnchecked(x, coefficients, out, n);
    }

    @Override
    public final void powersFromOpened(final MemorySegment c, final MemorySegment[] rPowers, final boolean holdsConstant,
                                       final MemorySegment[] xPowers, final long n)
    {
        checkCount(n);
        checkCapacity("c", c, n);
        if (rPowers == null || xPowers == null || rPowers.length == 0 || rPowers.length != xPowers.length)
        {
            throw new IllegalArgumentException("rPowers and xPowers must have the same positive length (the degree), were " +
                (rPowers == null ? "null" : rPowers.length) + " and " + (xPowers == null ? "null" : xPowers.length));
        }
        for (int j = 0; j < rPowers.length; j++)
        {
            checkCapacity("rPowers[" + j + "]", rPowers[j], n);
            checkCapacity("xPowers[" + j + "]", xPowers[j], n);
        }
        powersFromOpenedUnchecked(c, rPowers, holdsConstant, xPowers, n);
    }

    @Override
    public final void matmul(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m, final int k,
                             final int n)
    {
        checkMatmul(a, b, c, m, k, n);
        matmulUnchecked(a, b, c, m, k, n);
    }

    @Override
    public final void matmulAccumulate(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m,
                                       final int k, final int n)
    {
        checkMatmul(a, b, c, m, k, n);
        matmulAccumulateUnchecked(a, b, c, m, k, n);
    }

    @Override
    public final void matmulTransposedB(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m,
                                        final int k, final int n)
    {
        checkMatmul(a, b, c, m, k, n);
        matmulTransposedBUnchecked(a, b, c, m, k, n);
    }

    @Override
    public final void matmulTransposedA(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m,
                                        final int k, final int n)
    {
        checkMatmul(a, b, c, m, k, n);
        matmulTransposedAUnchecked(a, b, c, m, k, n);
    }

    @Override
    public final void conv2d(final MemorySegment input, final MemorySegment weights, final MemorySegment out,
                             final Conv2dShape shape)
    {
        checkConv(input, weights, out, shape);
        conv2dUnchecked(input, weights, out, shape);
    }

    @Override
    public final void conv2dAccumulate(final MemorySegment input, final MemorySegment weights, final MemorySegment out,
                                       final Conv2dShape shape)
    {
        checkConv(input, weights, out, shape);
        conv2dAccumulateUnchecked(input, weights, out, shape);
    }

    @Override
    public final void sumPool2d(final MemorySegment input, final MemorySegment out, final int batch, final int channels,
                                final int height, final int width, final int window, final int stride)
    {
        checkPositive("batch", batch);
        checkPositive("channels", channels);
        checkPositive("height", height);
        checkPositive("width", width);
        checkPositive("window", window);
        checkPositive("stride", stride);
        if (window > height || window > width)
        {
            throw new IllegalArgumentException("window " + window + " larger than input " + height + "x" + width);
        }
        final long outH = (height - window) / stride + 1;
        final long outW = (width - window) / stride + 1;
        checkCapacity("input", input, (long)batch * channels * height * width);
        checkCapacity("out", out, (long)batch * channels * outH * outW);
        sumPool2dUnchecked(input, out, batch, channels, height, width, window, stride);
    }

    private static void checkCount(final long n)
    {
        if (n < 0)
        {
            throw new IllegalArgumentException("element count must be non-negative, was " + n);
        }
    }

    private static void checkUnary(final MemorySegment a, final MemorySegment out, final long n)
    {
        checkCount(n);
        checkCapacity("a", a, n);
        checkCapacity("out", out, n);
    }

    private static void checkBinary(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long n)
    {
        checkUnary(a, out, n);
        checkCapacity("b", b, n);
    }

    private static void checkConv(final MemorySegment input, final MemorySegment weights, final MemorySegment out,
                                  final Conv2dShape shape)
    {
        if (shape == null)
        {
            throw new IllegalArgumentException("shape must not be null");
        }
        checkCapacity("input", input, shape.inputElements());
        checkCapacity("weights", weights, shape.weightElements());
        checkCapacity("out", out, shape.outputElements());
    }

    private static void checkMatmul(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m,
                                    final int k, final int n)
    {
        checkPositive("m", m);
        checkPositive("k", k);
        checkPositive("n", n);
        checkAlive("a", a);
        checkCapacity("a", a, (long)m * k);
        checkCapacity("b", b, (long)k * n);
        checkCapacity("c", c, (long)m * n);
    }

    protected abstract void addUnchecked(MemorySegment a, MemorySegment b, MemorySegment out, long n);

    protected abstract void subUnchecked(MemorySegment a, MemorySegment b, MemorySegment out, long n);

    protected abstract void negateUnchecked(MemorySegment a, MemorySegment out, long n);

    protected abstract void multiplyUnchecked(MemorySegment a, MemorySegment b, MemorySegment out, long n);

    protected abstract void multiplyConstantUnchecked(MemorySegment a, long c, MemorySegment out, long n);

    protected abstract void addConstantUnchecked(MemorySegment a, long c, MemorySegment out, long n);

    protected abstract void fusedMultiplyAddUnchecked(MemorySegment a, MemorySegment b, MemorySegment c, MemorySegment out,
                                                      long n);

    protected abstract void shiftRightArithmeticUnchecked(MemorySegment a, int shift, MemorySegment out, long n);

    protected abstract void polynomialUnchecked(MemorySegment x, long[] coefficients, MemorySegment out, long n);

    protected abstract void powersFromOpenedUnchecked(MemorySegment c, MemorySegment[] rPowers, boolean holdsConstant,
                                                      MemorySegment[] xPowers, long n);

    protected abstract void matmulUnchecked(MemorySegment a, MemorySegment b, MemorySegment c, int m, int k, int n);

    protected abstract void matmulAccumulateUnchecked(MemorySegment a, MemorySegment b, MemorySegment c, int m, int k,
                                                      int n);

    protected abstract void matmulTransposedBUnchecked(MemorySegment a, MemorySegment b, MemorySegment c, int m, int k,
                                                       int n);

    protected abstract void matmulTransposedAUnchecked(MemorySegment a, MemorySegment b, MemorySegment c, int m, int k,
                                                       int n);

    protected abstract void conv2dUnchecked(MemorySegment input, MemorySegment weights, MemorySegment out,
                                            Conv2dShape shape);

    protected abstract void conv2dAccumulateUnchecked(MemorySegment input, MemorySegment weights, MemorySegment out,
                                                      Conv2dShape shape);

    protected abstract void sumPool2dUnchecked(MemorySegment input, MemorySegment out, int batch, int channels, int height,
                                               int width, int window, int stride);
}
