package org.polypi.kernels;

import java.lang.foreign.MemorySegment;

import static org.polypi.kernels.RingTensor.ELEMENT;

/**
 * Scalar matrix product, convolution and pooling kernels: the oracle the vector and native backends are tested
 * against, bit for bit. Each output element is computed by the textbook sum over its own loop, with no blocking, no
 * reordering and no scratch, so the code can be checked by reading it. Arithmetic wraps modulo 2^64 (Java
 * {@code long}). Arguments are trusted (checked by {@link CheckedRingKernels}).
 */
final class ScalarLinear
{
    private ScalarLinear()
    {
    }

    /** {@code C[i][j] = sum_p A[i][p] * B[p][j]}; A is m×k, B is k×n, C is m×n, row-major. */
    static void matmul(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m, final int k,
                       final int n)
    {
        matmul(a, b, c, m, k, n, false);
    }

    /** {@code C[i][j] = (accumulate ? C[i][j] : 0) + sum_p A[i][p] * B[p][j]}. */
    static void matmul(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m, final int k,
                       final int n, final boolean accumulate)
    {
        for (long i = 0; i < m; i++)
        {
            for (long j = 0; j < n; j++)
            {
                long sum = accumulate ? c.getAtIndex(ELEMENT, i * n + j) : 0;
                for (long p = 0; p < k; p++)
                {
                    sum += a.getAtIndex(ELEMENT, i * k + p) * b.getAtIndex(ELEMENT, p * n + j);
                }
                c.setAtIndex(ELEMENT, i * n + j, sum);
            }
        }
    }

    /** {@code C[i][j] = sum_p A[i][p] * B[j][p]}; A is m×k, B is n×k, C is m×n. */
    static void matmulTransposedB(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m,
                                  final int k, final int n)
    {
        for (long i = 0; i < m; i++)
        {
            for (long j = 0; j < n; j++)
            {
                long sum = 0;
                for (long p = 0; p < k; p++)
                {
                    sum += a.getAtIndex(ELEMENT, i * k + p) * b.getAtIndex(ELEMENT, j * k + p);
                }
                c.setAtIndex(ELEMENT, i * n + j, sum);
            }
        }
    }

    /** {@code C[i][j] = sum_p A[p][i] * B[p][j]}; A is k×m, B is k×n, C is m×n. */
    static void matmulTransposedA(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m,
                                  final int k, final int n)
    {
        for (long i = 0; i < m; i++)
        {
            for (long j = 0; j < n; j++)
            {
                long sum = 0;
                for (long p = 0; p < k; p++)
                {
                    sum += a.getAtIndex(ELEMENT, p * m + i) * b.getAtIndex(ELEMENT, p * n + j);
                }
                c.setAtIndex(ELEMENT, i * n + j, sum);
            }
        }
    }

    /**
     * Direct convolution, NCHW, zero padding:
     * {@code out[b][oc][oh][ow] = sum_{ic,kh,kw} w[oc][ic][kh][kw] * in[b][ic][oh*s+kh-pad][ow*s+kw-pad]},
     * where taps that fall in the padding contribute nothing.
     */
    static void conv2d(final MemorySegment input, final MemorySegment weights, final MemorySegment out,
                       final Conv2dShape shape)
    {
        conv2d(input, weights, out, shape, false);
    }

    /** As {@link #conv2d(MemorySegment, MemorySegment, MemorySegment, Conv2dShape)}, adding to out if accumulate. */
    static void conv2d(final MemorySegment input, final MemorySegment weights, final MemorySegment out,
                       final Conv2dShape shape, final boolean accumulate)
    {
        final long inC = shape.inChannels();
        final long inH = shape.inHeight();
        final long inW = shape.inWidth();
        final long outC = shape.outChannels();
        final long kH = shape.kernelHeight();
        final long kW = shape.kernelWidth();
        final long outH = shape.outHeight();
        final long outW = shape.outWidth();
        final long stride = shape.stride();
        final long padding = shape.padding();
        for (long b = 0; b < shape.batch(); b++)
        {
            for (long oc = 0; oc < outC; oc++)
            {
                for (long oh = 0; oh < outH; oh++)
                {
                    for (long ow = 0; ow < outW; ow++)
                    {
                        final long index = ((b * outC + oc) * outH + oh) * outW + ow;
                        long sum = accumulate ? out.getAtIndex(ELEMENT, index) : 0;
                        for (long ic = 0; ic < inC; ic++)
                        {
                            for (long kh = 0; kh < kH; kh++)
                            {
                                final long ih = oh * stride + kh - padding;
                                if (ih < 0 || ih >= inH)
                                {
                                    continue;
                                }
                                for (long kw = 0; kw < kW; kw++)
                                {
                                    final long iw = ow * stride + kw - padding;
                                    if (iw < 0 || iw >= inW)
                                    {
                                        continue;
                                    }
                                    final long x = input.getAtIndex(ELEMENT, ((b * inC + ic) * inH + ih) * inW + iw);
                                    final long w = weights.getAtIndex(ELEMENT, ((oc * inC + ic) * kH + kh) * kW + kw);
                                    sum += w * x;
                                }
                            }
                        }
                        out.setAtIndex(ELEMENT, index, sum);
                    }
                }
            }
        }
    }

    /**
     * Window sums, NCHW, no padding:
     * {@code out[b][c][oh][ow] = sum_{r,q < window} in[b][c][oh*stride+r][ow*stride+q]}.
     */
    static void sumPool2d(final MemorySegment input, final MemorySegment out, final int batch, final int channels,
                          final int height, final int width, final int window, final int stride)
    {
        final long outH = (height - window) / stride + 1;
        final long outW = (width - window) / stride + 1;
        final long planes = (long)batch * channels;
        for (long plane = 0; plane < planes; plane++)
        {
            for (long oh = 0; oh < outH; oh++)
            {
                for (long ow = 0; ow < outW; ow++)
                {
                    long sum = 0;
                    for (long r = 0; r < window; r++)
                    {
                        for (long q = 0; q < window; q++)
                        {
                            sum += input.getAtIndex(ELEMENT, (plane * height + oh * stride + r) * width + ow * stride + q);
                        }
                    }
                    out.setAtIndex(ELEMENT, (plane * outH + oh) * outW + ow, sum);
                }
            }
        }
    }
}
