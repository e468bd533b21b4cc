package org.polypi.kernels;

import java.util.Arrays;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API float32 kernels over heap {@code float[]} arrays, for the plaintext reference inference.
 * <p>
 * Matrix product: B is packed, one column panel of four vectors at a time, into a contiguous
 * {@code k × panel} buffer (zero-padded to whole vectors); a register-blocked micro-kernel then keeps a
 * 4-row × panel tile of C in 16 vector registers and streams the panel with fused multiply-adds, so
 * each loaded B vector feeds four FMAs and each broadcast A element feeds four.
 * The micro-kernels are small static methods because C2 only intrinsifies Vector API code reliably there
 * (measured: the same loop nest inlined into one big method fell to about 1/15 of the speed). Convolution is
 * the same product, {@code out_image = weights · im2col(image)}, with each B panel built straight from the image.
 * <p>
 * Contract (shared with {@link ScalarFloatKernels}, the oracle): row-major, addressed from index 0, arrays may be
 * longer than needed, outputs overwritten, bad arguments throw {@link IllegalArgumentException} naming the operand
 * and sizes. Results equal the oracle's up to rounding: FMA and the blocked order change the summation, so an
 * output of a length-k dot product may differ by about {@code 2·k·u·sum|a||b|} (u = 2^-24); sums of small
 * integers are exact in both and therefore equal.
 * <p>
 * Needs {@code --add-modules=jdk.incubator.vector}; callers without it use {@link ScalarFloatKernels}.
 */
public final class FloatKernels
{
    static
    {
        // Before any of this class's methods can be compiled: see ClassHierarchy.
        ClassHierarchy.complete();
    }

    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();
    /** Rows of C per micro-kernel tile. */
    private static final int ROWS = 4;
    /** Vectors per packed B panel: 4 rows × 4 vectors = 16 accumulators, within the 32 AVX-512 registers. */
    private static final int PANEL_VECTORS = 4;
    /** Columns per packed B panel. */
    private static final int PANEL = LANES * PANEL_VECTORS;

    private FloatKernels()
    {
    }

    /** Lanes of the vector species in use (16 on AVX-512), for tests that aim at tails. */
    public static int lanes()
    {
        return LANES;
    }

    /** Columns of a packed B panel, for tests that aim at tails. */
    public static int panelWidth()
    {
        return PANEL;
    }

    /**
     * {@code c = a · b}; a is m×k, b is k×n, c is m×n, all row-major. c is overwritten.
     *
     * @throws IllegalArgumentException if a dimension is not positive, an array is null or too small, or c is
     *                                  the same array as a or b.
     */
    public static void matmul(final float[] a, final float[] b, final float[] c, final int m, final int k, final int n)
    {
        ScalarFloatKernels.checkMatmul(a, b, false, c, m, k, n);
        gemm(a, b, false, c, m, k, n, packBuffer(k));
    }

    /**
     * {@code c = a · bᵀ}; a is m×k, b is n×k (e.g. a Linear layer's {@code out × in} weights), c is m×n.
     *
     * @throws IllegalArgumentException as {@link #matmul}.
     */
    public static void matmulTransposedB(final float[] a, final float[] b, final float[] c, final int m, final int k,
                                         final int n)
    {
        ScalarFloatKernels.checkMatmul(a, b, true, c, m, k, n);
        gemm(a, b, true, c, m, k, n, packBuffer(k));
    }

    /**
     * 2-D convolution without bias, NCHW input {@code batch × inChannels × inHeight × inWidth}, weights
     * {@code outChannels × inChannels × kernelHeight × kernelWidth}, output {@code batch × outChannels × outHeight ×
     * outWidth}, zero padding: per image, {@code out_image = weights · col} where col is the
     * {@code (inChannels·kh·kw) × (outHeight·outWidth)} im2col matrix, packed panel by panel.
     *
     * @throws IllegalArgumentException if an array is null or too small for the shape, or out aliases an input.
     */
    public static void conv2d(final float[] input, final float[] weights, final float[] out, final Conv2dShape shape)
    {
        ScalarFloatKernels.checkConv(input, weights, out, shape);
        final int rows = shape.inChannels() * shape.kernelHeight() * shape.kernelWidth();
        final int positions = shape.outHeight() * shape.outWidth();
        final float[] pack = packBuffer(rows);
        final int inImage = shape.inChannels() * shape.inHeight() * shape.inWidth();
        final int outImage = shape.outChannels() * positions;
        for (int b = 0; b < shape.batch(); b++)
        {
            for (int j0 = 0; j0 < positions; j0 += PANEL)
            {
                final int width = Math.min(PANEL, positions - j0);
                final int stride = roundUpToLanes(width);
                im2colPanel(input, b * inImage, shape, j0, width, stride, pack);
                panel(weights, pack, width, stride, out, b * outImage + j0, positions, shape.outChannels(), rows);
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
        ScalarFloatKernels.checkAdd(a, b, out, n);
        final int bound = SPECIES.loopBound(n);
        int i = 0;
        for (; i < bound; i += LANES)
        {
            FloatVector.fromArray(SPECIES, a, i).add(FloatVector.fromArray(SPECIES, b, i)).intoArray(out, i);
        }
        for (; i < n; i++)
        {
            out[i] = a[i] + b[i];
        }
    }

    // ---- matrix product ---------------------------------------------------------------------------------------

    /** A buffer for one packed panel of k rows. */
    private static float[] packBuffer(final int k)
    {
        if ((long)k * PANEL > Integer.MAX_VALUE - 8)
        {
            throw new IllegalArgumentException("a packed panel of k=" + k + " rows x " + PANEL +
                " columns does not fit a Java array");
        }
        return new float[k * PANEL];
    }

    /**
     * Trusted core: {@code c = a · op(b)} with op = transpose when {@code bTransposed}; {@code pack} holds at least
     * {@code k * PANEL} floats.
     */
    private static void gemm(final float[] a, final float[] b, final boolean bTransposed, final float[] c, final int m,
                             final int k, final int n, final float[] pack)
    {
        for (int j0 = 0; j0 < n; j0 += PANEL)
        {
            final int width = Math.min(PANEL, n - j0);
            final int stride = roundUpToLanes(width);
            if (bTransposed)
            {
                packTransposed(b, k, j0, width, stride, pack);
            }
            else
            {
                pack(b, k, n, j0, width, stride, pack);
            }
            panel(a, pack, width, stride, c, j0, n, m, k);
        }
    }

    private static int roundUpToLanes(final int width)
    {
        return (width + LANES - 1) / LANES * LANES;
    }

    /**
     * Columns {@code [0, width)} of {@code c[cOff..]} (row stride {@code ldc}, m rows) = A (m×k) times one
     * packed panel ({@code k × stride}, zero-padded from width to stride).
     */
    private static void panel(final float[] a, final float[] pack, final int width, final int stride,
                              final float[] c, final int cOff, final int ldc, final int m, final int k)
    {
        if (width == PANEL)
        {
            for (int i0 = 0; i0 < m; i0 += ROWS)
            {
                final int rows = Math.min(ROWS, m - i0);
                final int a0 = i0 * k;
                // Missing rows of a short last tile alias the last real row: computed, never stored.
                kernel4x4(a, a0, rowOffset(a0, k, 1, rows), rowOffset(a0, k, 2, rows), rowOffset(a0, k, 3, rows), k,
                    pack, c, cOff + i0 * ldc, ldc, rows);
            }
        }
        else
        {
            // Last, narrower panel: one vector column at a time, the final one stored under a mask.
            for (int v = 0; v < stride; v += LANES)
            {
                final int valid = Math.min(LANES, width - v);
                for (int i0 = 0; i0 < m; i0 += ROWS)
                {
                    final int rows = Math.min(ROWS, m - i0);
                    final int a0 = i0 * k;
                    kernel4x1(a, a0, rowOffset(a0, k, 1, rows), rowOffset(a0, k, 2, rows), rowOffset(a0, k, 3, rows),
                        k, pack, v, stride, c, cOff + i0 * ldc + v, ldc, rows, valid);
                }
            }
        }
    }

    /** Offset of row {@code r} of a tile starting at {@code a0}, clamped to the tile's last real row. */
    private static int rowOffset(final int a0, final int k, final int r, final int rows)
    {
        return a0 + Math.min(r, rows - 1) * k;
    }

    private static void pack(final float[] b, final int k, final int n, final int j0, final int width, final int stride,
                             final float[] pack)
    {
        for (int p = 0; p < k; p++)
        {
            System.arraycopy(b, p * n + j0, pack, p * stride, width);
            if (width < stride)
            {
                Arrays.fill(pack, p * stride + width, (p + 1) * stride, 0f);
            }
        }
    }

    private static void packTransposed(final float[] b, final int k, final int j0, final int width, final int stride,
                                       final float[] pack)
    {
        for (int j = 0; j < width; j++)
        {
            final int row = (j0 + j) * k;
            for (int p = 0; p < k; p++)
            {
                pack[p * stride + j] = b[row + p];
            }
        }
        if (width < stride)
        {
            for (int p = 0; p < k; p++)
            {
                Arrays.fill(pack, p * stride + width, (p + 1) * stride, 0f);
            }
        }
    }

    /** 4 rows × 4 vectors of C from a full panel (stride PANEL); stores rows [0, rows). */
    private static void kernel4x4(final float[] a, final int a0, final int a1, final int a2, final int a3, final int k,
                                  final float[] pack, final float[] c, final int cOff, final int ldc, final int rows)
    {
        FloatVector c00 = FloatVector.zero(SPECIES);
        FloatVector c01 = c00;
        FloatVector c02 = c00;
        FloatVector c03 = c00;
        FloatVector c10 = c00;
        FloatVector c11 = c00;
        FloatVector c12 = c00;
        FloatVector c13 = c00;
        FloatVector c20 = c00;
        FloatVector c21 = c00;
        FloatVector c22 = c00;
        FloatVector c23 = c00;
        FloatVector c30 = c00;
        FloatVector c31 = c00;
        FloatVector c32 = c00;
        FloatVector c33 = c00;
        for (int p = 0, q = 0; p < k; p++, q += PANEL)
        {
            final FloatVector b0 = FloatVector.fromArray(SPECIES, pack, q);
            final FloatVector b1 = FloatVector.fromArray(SPECIES, pack, q + LANES);
            final FloatVector b2 = FloatVector.fromArray(SPECIES, pack, q + 2 * LANES);
            final FloatVector b3 = FloatVector.fromArray(SPECIES, pack, q + 3 * LANES);
            final FloatVector x0 = FloatVector.broadcast(SPECIES, a[a0 + p]);
            c00 = b0.fma(x0, c00);
            c01 = b1.fma(x0, c01);
            c02 = b2.fma(x0, c02);
            c03 = b3.fma(x0, c03);
            final FloatVector x1 = FloatVector.broadcast(SPECIES, a[a1 + p]);
            c10 = b0.fma(x1, c10);
            c11 = b1.fma(x1, c11);
            c12 = b2.fma(x1, c12);
            c13 = b3.fma(x1, c13);
            final FloatVector x2 = FloatVector.broadcast(SPECIES, a[a2 + p]);
            c20 = b0.fma(x2, c20);
            c21 = b1.fma(x2, c21);
            c22 = b2.fma(x2, c22);
            c23 = b3.fma(x2, c23);
            final FloatVector x3 = FloatVector.broadcast(SPECIES, a[a3 + p]);
            c30 = b0.fma(x3, c30);
            c31 = b1.fma(x3, c31);
            c32 = b2.fma(x3, c32);
            c33 = b3.fma(x3, c33);
        }
        storeRow(c00, c01, c02, c03, c, cOff);
        if (rows > 1)
        {
            storeRow(c10, c11, c12, c13, c, cOff + ldc);
        }
        if (rows > 2)
        {
            storeRow(c20, c21, c22, c23, c, cOff + 2 * ldc);
        }
        if (rows > 3)
        {
            storeRow(c30, c31, c32, c33, c, cOff + 3 * ldc);
        }
    }

    private static void storeRow(final FloatVector v0, final FloatVector v1, final FloatVector v2, final FloatVector v3,
                                 final float[] c, final int offset)
    {
        v0.intoArray(c, offset);
        v1.intoArray(c, offset + LANES);
        v2.intoArray(c, offset + 2 * LANES);
        v3.intoArray(c, offset + 3 * LANES);
    }

    /**
     * 4 rows × 1 vector of C from vector column {@code v} of a narrow panel of the given stride; stores rows
     * [0, rows) and lanes [0, valid).
     */
    private static void kernel4x1(final float[] a, final int a0, final int a1, final int a2, final int a3, final int k,
                                  final float[] pack, final int v, final int stride, final float[] c, final int cOff,
                                  final int ldc, final int rows, final int valid)
    {
        FloatVector c0 = FloatVector.zero(SPECIES);
        FloatVector c1 = c0;
        FloatVector c2 = c0;
        FloatVector c3 = c0;
        for (int p = 0, q = v; p < k; p++, q += stride)
        {
            final FloatVector b0 = FloatVector.fromArray(SPECIES, pack, q);
            c0 = b0.fma(FloatVector.broadcast(SPECIES, a[a0 + p]), c0);
            c1 = b0.fma(FloatVector.broadcast(SPECIES, a[a1 + p]), c1);
            c2 = b0.fma(FloatVector.broadcast(SPECIES, a[a2 + p]), c2);
            c3 = b0.fma(FloatVector.broadcast(SPECIES, a[a3 + p]), c3);
        }
        if (valid == LANES)
        {
            c0.intoArray(c, cOff);
            if (rows > 1)
            {
                c1.intoArray(c, cOff + ldc);
            }
            if (rows > 2)
            {
                c2.intoArray(c, cOff + 2 * ldc);
            }
            if (rows > 3)
            {
                c3.intoArray(c, cOff + 3 * ldc);
            }
        }
        else
        {
            final VectorMask<Float> mask = SPECIES.indexInRange(0, valid);
            c0.intoArray(c, cOff, mask);
            if (rows > 1)
            {
                c1.intoArray(c, cOff + ldc, mask);
            }
            if (rows > 2)
            {
                c2.intoArray(c, cOff + 2 * ldc, mask);
            }
            if (rows > 3)
            {
                c3.intoArray(c, cOff + 3 * ldc, mask);
            }
        }
    }

    // ---- convolution ------------------------------------------------------------------------------------------

    /**
     * Packs output positions {@code [p0, p0 + width)} of image {@code input[inOff..]}'s im2col matrix as a panel:
     * {@code pack[row·stride + j]} with row {@code (ci·kh + r)·kw + s} and position {@code p0 + j = oy·outWidth + ox}
     * holds {@code input[ci][oy·stride + r - pad][ox·stride + s - pad]}, or 0 in the padding and for
     * {@code j >= width}. Building the panel straight from the image keeps the whole im2col matrix out of memory.
     */
    private static void im2colPanel(final float[] input, final int inOff, final Conv2dShape shape, final int p0,
                                    final int width, final int stride, final float[] pack)
    {
        final int h = shape.inHeight();
        final int w = shape.inWidth();
        final int kh = shape.kernelHeight();
        final int kw = shape.kernelWidth();
        final int step = shape.stride();
        final int pad = shape.padding();
        final int ow = shape.outWidth();
        int row = 0;
        for (int ci = 0; ci < shape.inChannels(); ci++)
        {
            final int channel = inOff + ci * h * w;
            for (int r = 0; r < kh; r++)
            {
                for (int s = 0; s < kw; s++, row++)
                {
                    // Output columns whose input column lies inside the image: ox in [lo, hi).
                    final int lo = Math.max(0, -Math.floorDiv(s - pad, step));
                    final int hi = Math.min(ow, Math.floorDiv(w - 1 + pad - s, step) + 1);
                    final int base = row * stride;
                    int j = 0;
                    while (j < width)
                    {
                        // One run of positions within output row oy.
                        final int oy = (p0 + j) / ow;
                        final int ox0 = p0 + j - oy * ow;
                        final int count = Math.min(width - j, ow - ox0);
                        final int dst = base + j - ox0;
                        final int iy = oy * step + r - pad;
                        if (iy < 0 || iy >= h)
                        {
                            Arrays.fill(pack, base + j, base + j + count, 0f);
                        }
                        else
                        {
                            final int from = Math.min(Math.max(lo, ox0), ox0 + count);
                            final int to = Math.max(from, Math.min(hi, ox0 + count));
                            final int src = channel + iy * w - pad + s;
                            Arrays.fill(pack, dst + ox0, dst + from, 0f);
                            if (step == 1)
                            {
                                System.arraycopy(input, src + from, pack, dst + from, to - from);
                            }
                            else
                            {
                                for (int ox = from; ox < to; ox++)
                                {
                                    pack[dst + ox] = input[src + ox * step];
                                }
                            }
                            Arrays.fill(pack, dst + to, dst + ox0 + count, 0f);
                        }
                        j += count;
                    }
                    Arrays.fill(pack, base + width, base + stride, 0f);
                }
            }
        }
    }
}
