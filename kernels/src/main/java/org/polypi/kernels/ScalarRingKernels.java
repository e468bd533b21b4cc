package org.polypi.kernels;

import java.lang.foreign.MemorySegment;

/**
 * Plain-Java backend: simple loops, no Vector API. It is the test oracle for every other backend and the
 * fallback when {@code jdk.incubator.vector} is not in the module graph.
 */
public final class ScalarRingKernels extends CheckedRingKernels
{
    /** The one instance (the backend holds no state). */
    public static final ScalarRingKernels INSTANCE = new ScalarRingKernels();

    private ScalarRingKernels()
    {
    }

    @Override
    public String name()
    {
        return "scalar";
    }

    @Override
    protected void addUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long n)
    {
        ScalarElementwise.add(a, b, out, n);
    }

    @Override
    protected void subUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long n)
    {
        ScalarElementwise.sub(a, b, out, n);
    }

    @Override
    protected void negateUnchecked(final MemorySegment a, final MemorySegment out, final long n)
    {
        ScalarElementwise.negate(a, out, n);
    }

    @Override
    protected void multiplyUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long n)
    {
        ScalarElementwise.multiply(a, b, out, n);
    }

    @Override
    protected void multiplyConstantUnchecked(final MemorySegment a, final long c, final MemorySegment out, final long n)
    {
        ScalarElementwise.multiplyConstant(a, c, out, n);
    }

    @Override
    protected void addConstantUnchecked(final MemorySegment a, final long c, final MemorySegment out, final long n)
    {
        ScalarElementwise.addConstant(a, c, out, n);
    }

    @Override
    protected void fusedMultiplyAddUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment c,
                                             final MemorySegment out, final long n)
    {
        ScalarElementwise.fusedMultiplyAdd(a, b, c, out, n);
    }

    @Override
    protected void shiftRightArithmeticUnchecked(final MemorySegment a, final int shift, final MemorySegment out,
                                                 final long n)
    {
        ScalarElementwise.shiftRightArithmetic(a, shift, out, n);
    }

    @Override
    protected void polynomialUnchecked(final MemorySegment x, final long[] coefficients, final MemorySegment out,
                                       final long n)
    {
        ScalarElementwise.polynomial(x, coefficients, out, n);
    }

    @Override
    protected void powersFromOpenedUnchecked(final MemorySegment c, final MemorySegment[] rPowers,
                                             final boolean holdsConstant, final MemorySegment[] xPowers, final long n)
    {
        ScalarElementwise.powersFromOpened(c, rPowers, holdsConstant, xPowers, n);
    }

    @Override
    protected void matmulUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m,
                                   final int k, final int n)
    {
        ScalarLinear.matmul(a, b, c, m, k, n);
    }

    @Override
    protected void matmulAccumulateUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment c,
                                             final int m, final int k, final int n)
    {
        ScalarLinear.matmul(a, b, c, m, k, n, true);
    }

    @Override
    protected void matmulTransposedBUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment c,
                                              final int m, final int k, final int n)
    {
        ScalarLinear.matmulTransposedB(a, b, c, m, k, n);
    }

    @Override
    protected void matmulTransposedAUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment c,
                                              final int m, final int k, final int n)
    {
        ScalarLinear.matmulTransposedA(a, b, c, m, k, n);
    }

    @Override
    protected void conv2dUnchecked(final MemorySegment input, final MemorySegment weights, final MemorySegment out,
                                   final Conv2dShape shape)
    {
        ScalarLinear.conv2d(input, weights, out, shape);
    }

    @Override
    protected void conv2dAccumulateUnchecked(final MemorySegment input, final MemorySegment weights,
                                             final MemorySegment out, final Conv2dShape shape)
    {
        ScalarLinear.conv2d(input, weights, out, shape, true);
    }

    @Override
    protected void sumPool2dUnchecked(final MemorySegment input, final MemorySegment out, final int batch,
                                      final int channels, final int height, final int width, final int window,
                                      final int stride)
    {
        ScalarLinear.sumPool2d(input, out, batch, channels, height, width, window, stride);
    }
}
