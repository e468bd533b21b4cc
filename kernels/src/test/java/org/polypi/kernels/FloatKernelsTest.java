package org.polypi.kernels;

import java.util.Arrays;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@link FloatKernels} against {@link ScalarFloatKernels} (and both against a double-precision sum) on random shapes
 * that hit every row tail, every lane tail and every panel tail.
 * <p>
 * Tolerance: each output is a length-k dot product; a sequential sum of k products (with or without FMA) is within
 * {@code γ_k · Σ|a||b|} of the exact value, {@code γ_k = k·u / (1 - k·u)}, {@code u = 2^-24}. So the two kernels may
 * differ by {@code 2·γ_k · Σ|a||b|}, and each must be within {@code γ_k · Σ|a||b|} of the double sum. On small-integer
 * data every partial sum is exact in float32, so there the kernels must agree bit for bit.
 */
final class FloatKernelsTest
{
    private static final double UNIT_ROUNDOFF = 0x1p-24;
    private static final long SEED = 0x5EED_F10A7L;
    /** Integer data range: |a·b| ≤ 64, so sums of up to 2^18 products stay below 2^24, exact in float32. */
    private static final int SMALL_INT = 8;
    private static final float SENTINEL = Float.NaN;

    private final SplittableRandom random = new SplittableRandom(SEED);

    private int[] columnCounts()
    {
        final int lanes = FloatKernels.lanes();
        final int panel = FloatKernels.panelWidth();
        return new int[] {1, 2, lanes - 1, lanes, lanes + 1, 2 * lanes + 3, panel - 1, panel, panel + 1,
            panel + lanes, 2 * panel + lanes + 5, 3 * panel - 7};
    }

    @Test
    void matmulMatchesScalarOnEveryTail()
    {
        final int[] ks = {1, 2, 3, 7, 31, 64, 129};
        for (int m = 1; m <= 9; m++)
        {
            for (final int n : columnCounts())
            {
                final int k = ks[random.nextInt(ks.length)];
                checkMatmul(m, k, n, false, false);
                checkMatmul(m, k, n, false, true);
            }
        }
    }

    @Test
    void matmulTransposedBMatchesScalarOnEveryTail()
    {
        final int[] ks = {1, 2, 5, 16, 33, 100};
        for (int m = 1; m <= 9; m++)
        {
            for (final int n : columnCounts())
            {
                final int k = ks[random.nextInt(ks.length)];
                checkMatmul(m, k, n, true, false);
                checkMatmul(m, k, n, true, true);
            }
        }
    }

    @Test
    void matmulOnLargerRandomShapes()
    {
        for (int trial = 0; trial < 12; trial++)
        {
            final int m = 1 + random.nextInt(70);
            final int k = 1 + random.nextInt(300);
            final int n = 1 + random.nextInt(300);
            checkMatmul(m, k, n, random.nextBoolean(), false);
        }
    }

    private void checkMatmul(final int m, final int k, final int n, final boolean transposed, final boolean integers)
    {
        final float[] a = fill(m * k, integers);
        final float[] b = fill(k * n, integers);
        // Outputs one element longer than needed: masked tail stores must not write past m*n.
        final float[] vector = new float[m * n + 1];
        final float[] scalar = new float[m * n + 1];
        Arrays.fill(vector, SENTINEL);
        Arrays.fill(scalar, SENTINEL);
        if (transposed)
        {
            FloatKernels.matmulTransposedB(a, b, vector, m, k, n);
            ScalarFloatKernels.matmulTransposedB(a, b, scalar, m, k, n);
        }
        else
        {
            FloatKernels.matmul(a, b, vector, m, k, n);
            ScalarFloatKernels.matmul(a, b, scalar, m, k, n);
        }
        final String what = (transposed ? "matmulTransposedB" : "matmul") + " m=" + m + " k=" + k + " n=" + n;
        assertTrue(Float.isNaN(vector[m * n]), what + ": vector kernel wrote past c");
        if (integers)
        {
            assertArrayEquals(scalar, vector, what + " on integer data must be exact");
        }
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double exact = 0;
                double magnitude = 0;
                for (int p = 0; p < k; p++)
                {
                    final double product = (double)a[i * k + p] * (transposed ? b[j * k + p] : b[p * n + j]);
                    exact += product;
                    magnitude += Math.abs(product);
                }
                checkClose(what + " at (" + i + "," + j + ")", exact, magnitude, k, scalar[i * n + j], vector[i * n + j]);
            }
        }
    }

    @Test
    void conv2dMatchesScalarOnRandomGeometries()
    {
        final int[][] geometries = {
            // batch, inC, h, w, outC, kh, kw, stride, pad
            {1, 1, 5, 5, 1, 3, 3, 1, 0},
            {2, 1, 28, 28, 20, 5, 5, 1, 0},
            {1, 3, 8, 8, 64, 3, 3, 1, 1},
            {2, 4, 9, 7, 5, 3, 3, 2, 1},
            {1, 2, 6, 6, 3, 1, 1, 1, 0},
            {3, 5, 11, 13, 7, 3, 5, 2, 2},
            {1, 2, 1, 1, 3, 3, 3, 1, 1},
            {1, 1, 2, 3, 2, 4, 5, 1, 2},
            {2, 3, 10, 10, 9, 3, 3, 3, 0},
            {1, 16, 8, 8, 16, 1, 1, 1, 0},
            {1, 2, 7, 5, 4, 2, 2, 2, 1},
        };
        for (final int[] g : geometries)
        {
            final Conv2dShape shape = new Conv2dShape(g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8]);
            checkConv(shape, false);
            checkConv(shape, true);
        }
        for (int trial = 0; trial < 10; trial++)
        {
            final int kh = 1 + random.nextInt(4);
            final int kw = 1 + random.nextInt(4);
            final int pad = random.nextInt(3);
            final int h = Math.max(1, kh - 2 * pad) + random.nextInt(12);
            final int w = Math.max(1, kw - 2 * pad) + random.nextInt(12);
            final Conv2dShape shape = new Conv2dShape(1 + random.nextInt(3), 1 + random.nextInt(6), h, w,
                1 + random.nextInt(10), kh, kw, 1 + random.nextInt(3), pad);
            checkConv(shape, random.nextBoolean());
        }
    }

    private void checkConv(final Conv2dShape s, final boolean integers)
    {
        final float[] input = fill((int)s.inputElements(), integers);
        final float[] weights = fill((int)s.weightElements(), integers);
        final int outElements = (int)s.outputElements();
        final float[] vector = new float[outElements + 1];
        final float[] scalar = new float[outElements + 1];
        Arrays.fill(vector, SENTINEL);
        Arrays.fill(scalar, SENTINEL);
        FloatKernels.conv2d(input, weights, vector, s);
        ScalarFloatKernels.conv2d(input, weights, scalar, s);
        assertTrue(Float.isNaN(vector[outElements]), s + ": vector kernel wrote past out");
        if (integers)
        {
            assertArrayEquals(scalar, vector, s + " on integer data must be exact");
        }
        final int terms = s.inChannels() * s.kernelHeight() * s.kernelWidth();
        final int oh = s.outHeight();
        final int ow = s.outWidth();
        for (int b = 0; b < s.batch(); b++)
        {
            for (int co = 0; co < s.outChannels(); co++)
            {
                for (int oy = 0; oy < oh; oy++)
                {
                    for (int ox = 0; ox < ow; ox++)
                    {
                        double exact = 0;
                        double magnitude = 0;
                        for (int ci = 0; ci < s.inChannels(); ci++)
                        {
                            for (int r = 0; r < s.kernelHeight(); r++)
                            {
                                for (int c = 0; c < s.kernelWidth(); c++)
                                {
                                    final int iy = oy * s.stride() + r - s.padding();
                                    final int ix = ox * s.stride() + c - s.padding();
                                    if (iy >= 0 && iy < s.inHeight() && ix >= 0 && ix < s.inWidth())
                                    {
                                        final double product = (double)weights[((co * s.inChannels() + ci) *
                                            s.kernelHeight() + r) * s.kernelWidth() + c] *
                                            input[((b * s.inChannels() + ci) * s.inHeight() + iy) * s.inWidth() + ix];
                                        exact += product;
                                        magnitude += Math.abs(product);
                                    }
                                }
                            }
                        }
                        final int at = ((b * s.outChannels() + co) * oh + oy) * ow + ox;
                        checkClose(s + " at " + at, exact, magnitude, terms, scalar[at], vector[at]);
                    }
                }
            }
        }
    }

    private static void checkClose(final String what, final double exact, final double magnitude, final int terms,
                                   final float scalar, final float vector)
    {
        final double gamma = terms * UNIT_ROUNDOFF / (1 - terms * UNIT_ROUNDOFF);
        final double oneSided = gamma * magnitude + Float.MIN_NORMAL;
        if (Math.abs(scalar - exact) > oneSided)
        {
            fail(what + ": scalar " + scalar + " vs exact " + exact + " exceeds " + oneSided);
        }
        if (Math.abs(vector - exact) > oneSided)
        {
            fail(what + ": vector " + vector + " vs exact " + exact + " exceeds " + oneSided);
        }
        if (Math.abs((double)vector - scalar) > 2 * oneSided)
        {
            fail(what + ": vector " + vector + " vs scalar " + scalar + " exceeds " + 2 * oneSided);
        }
    }

    @Test
    void addIsExactOnEveryTail()
    {
        final int lanes = FloatKernels.lanes();
        for (final int n : new int[] {0, 1, lanes - 1, lanes, lanes + 1, 3 * lanes + 5, 1000})
        {
            final float[] a = fill(n, false);
            final float[] b = fill(n, false);
            final float[] vector = new float[n + 1];
            final float[] scalar = new float[n + 1];
            Arrays.fill(vector, SENTINEL);
            FloatKernels.add(a, b, vector, n);
            ScalarFloatKernels.add(a, b, scalar, n);
            assertTrue(Float.isNaN(vector[n]), "add wrote past n=" + n);
            assertArrayEquals(Arrays.copyOf(scalar, n), Arrays.copyOf(vector, n), "add n=" + n);
            for (int i = 0; i < n; i++)
            {
                assertEquals(a[i] + b[i], vector[i], "add n=" + n + " at " + i);
            }
            // In place.
            FloatKernels.add(a, b, a, n);
            assertArrayEquals(Arrays.copyOf(scalar, n), a, "in-place add n=" + n);
        }
    }

    @Test
    void badArgumentsNameTheOperandAndSizes()
    {
        final float[] small = new float[5];
        final float[] big = new float[100];
        assertMessage(() -> FloatKernels.matmul(small, big, new float[100], 2, 3, 4), "a too small", "needs 6",
            "m=2 x k=3", "has 5");
        assertMessage(() -> FloatKernels.matmul(big, small, new float[100], 2, 3, 4), "b too small", "needs 12",
            "k=3 x n=4", "has 5");
        assertMessage(() -> FloatKernels.matmulTransposedB(big, small, new float[100], 2, 3, 4), "b too small",
            "n=4 x k=3");
        assertMessage(() -> FloatKernels.matmul(big, big.clone(), small, 2, 3, 4), "c too small", "needs 8",
            "m=2 x n=4", "has 5");
        assertMessage(() -> FloatKernels.matmul(big, big.clone(), new float[100], 0, 3, 4), "m must be positive",
            "was 0");
        assertMessage(() -> FloatKernels.matmul(big, big.clone(), new float[100], 2, -1, 4), "k must be positive",
            "was -1");
        assertMessage(() -> FloatKernels.matmul(null, big, new float[100], 2, 3, 4), "a must not be null");
        assertMessage(() -> FloatKernels.matmul(big, new float[100], big, 2, 3, 4), "c must not be the same array as a");
        final Conv2dShape shape = new Conv2dShape(1, 2, 5, 5, 3, 3, 3, 1, 0);
        assertMessage(() -> FloatKernels.conv2d(new float[50], new float[53], new float[27], shape), "weights too small",
            "needs 54", "outChannels=3 x inChannels=2 x 3x3", "has 53");
        assertMessage(() -> FloatKernels.conv2d(new float[49], new float[54], new float[27], shape), "input too small",
            "needs 50", "has 49");
        assertMessage(() -> FloatKernels.conv2d(new float[50], new float[54], new float[26], shape), "out too small",
            "needs 27", "outChannels=3 x 3x3", "has 26");
        assertMessage(() -> FloatKernels.conv2d(new float[50], new float[54], new float[27], null), "shape must not be null");
        assertMessage(() -> FloatKernels.add(small, big, big, 6), "a too small", "needs 6", "has 5");
        assertMessage(() -> FloatKernels.add(big, big, small, 6), "out too small", "needs 6", "has 5");
        assertMessage(() -> FloatKernels.add(big, big, big, -1), "n must be non-negative", "was -1");
        // The oracle rejects the same input with the same words.
        assertMessage(() -> ScalarFloatKernels.matmul(small, big, new float[100], 2, 3, 4), "a too small", "needs 6");
        assertMessage(() -> ScalarFloatKernels.conv2d(new float[50], new float[53], new float[27], shape),
            "weights too small", "needs 54");
    }

    private static void assertMessage(final Runnable call, final String... parts)
    {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        for (final String part : parts)
        {
            assertTrue(e.getMessage().contains(part), "message '" + e.getMessage() + "' lacks '" + part + "'");
        }
    }

    private float[] fill(final int n, final boolean integers)
    {
        final float[] values = new float[n];
        for (int i = 0; i < n; i++)
        {
            values[i] = integers ? random.nextInt(-SMALL_INT, SMALL_INT + 1) : (float)random.nextDouble(-1, 1);
        }
        return values;
    }
}
