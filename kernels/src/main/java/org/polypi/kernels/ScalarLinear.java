package org.polypi.kernels;

import java.lang.foreign.MemorySegment;

/** Scalar matrix product, convolution and pooling kernels. Arguments are trusted (checked by {@link CheckedRingKernels}). */
final class ScalarLinear
{
    private ScalarLinear()
    {
    }

    static void matmul(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m, final int k, final int n) { throw new UnsupportedOperationException("TODO"); }
    static void matmulTransposedB(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m, final int k, final int n) { throw new UnsupportedOperationException("TODO"); }
    static void matmulTransposedA(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m, final int k, final int n) { throw new UnsupportedOperationException("TODO"); }
    static void conv2d(final MemorySegment input, final MemorySegment weights, final MemorySegment out, final Conv2dShape shape) { throw new UnsupportedOperationException("TODO"); }
    static void sumPool2d(final MemorySegment input, final MemorySegment out, final int batch, final int channels, final int height, final int width, final int window, final int stride) { throw new UnsupportedOperationException("TODO"); }
}
