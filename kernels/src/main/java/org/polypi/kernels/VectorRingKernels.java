package org.polypi.kernels;

import java.lang.foreign.MemorySegment;

/**
 * Vector API backend (jdk.incubator.vector, the preferred species of this CPU). Loaded only by name from
 * {@link Kernels} when the vector module is present, so the rest of the code runs without it.
 */
public final class VectorRingKernels extends CheckedRingKernels
{
    /** The one instance (the backend holds no state). */
    public static final VectorRingKernels INSTANCE = new VectorRingKernels();

    private VectorRingKernels()
    {
    }

    @Override
    public String name()
    {
        return "vector";
    }

    @Override
    protected void addUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long n)
    {
        VectorElementwise.add(a, b, out, n);
    }

    @Override
    protected void subUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long n)
    {
        VectorElementwise.sub(a, b, out, n);
    }

    @Override
    protected void negateUnchecked(final MemorySegment a, final MemorySegment out, final long n)
    {
        VectorElementwise.negate(a, out, n);
    }

    @Override
    protected void multiplyUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long n)
    {
        VectorElementwise.multiply(a, b, out, n);
    }

    @Override
    protected void multiplyConstantUnchecked(final MemorySegment a, final long c, final MemorySegment out, final long n)
    {
        VectorElementwise.multiplyConstant(a, c, out, n);
    }

    @Override
    protected void addConstantUnchecked(final MemorySegment a, final long c, final MemorySegment out, final long n)
    {
        VectorElementwise.addConstant(a, c, out, n);
    }

    @Override
    protected void fusedMultiplyAddUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment c,
                                             final MemorySegment out, final long n)
    {
        VectorElementwise.fusedMultiplyAdd(a, b, c, out, n);
    }

    @Override
    protected void shiftRightArithmeticUnchecked(final MemorySegment a, final int shift, final MemorySegment out,
                                                 final long n)
    {
        VectorElementwise.shiftRightArithmetic(a, shift, out, n);
    }

    @Override
    protected void polynomialUnchecked(final MemorySegment x, final long[] coefficients, final MemorySegment out,
                                       final long n)
    {
        VectorElementwise.polynomial(x, coefficients, out, n);
    }

    @Override
    protected void powersFromOpenedUnchecked(final MemorySegment c, final MemorySegment[] rPowers,
                                             final boolean holdsConstant, final MemorySegment[] xPowers, final long n)
    {
        VectorElementwise.powersFromOpened(c, rPowers, holdsConstant, xPowers, n);
    }

    @Override
    protected void matmulUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m,
                                   final int k, final int n)
    {
        VectorLinear.matmul(a, b, c, m, k, n);
    }

    @Override
    protected void matmulTransposedBUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment c,
                                              final int m, final int k, final int n)
    {
        VectorLinear.matmulTransposedB(a, b, c, m, k, n);
    }

    @Override
    protected void matmulTransposedAUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment c,
                                              final int m, final int k, final int n)
    {
        VectorLinear.matmulTransposedA(a, b, c, m, k, n);
    }

    @Override
    protected void conv2dUnchecked(final MemorySegment input, final MemorySegment weights, final MemorySegment out,
                                   final Conv2dShape shape)
    {
        VectorLinear.conv2d(input, weights, out, shape);
    }

    @Override
    protected void sumPool2dUnchecked(final MemorySegment input, final MemorySegment out, final int batch,
                                      final int channels, final int height, final int width, final int window,
                                      final int stride)
    {
        VectorLinear.sumPool2d(input, out, batch, channels, height, width, window, stride);
    }
}
