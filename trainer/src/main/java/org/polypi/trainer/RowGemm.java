package org.polypi.trainer;

import java.util.Arrays;

/**
 * Matrix products split over row blocks of the result, one block per {@link Parallel} part. Each output element is
 * computed by exactly one part, so the result does not depend on the split.
 */
final class RowGemm
{
    /** Fewest result rows per part: the kernels' micro-tile is four rows, a few tiles amortise the copies. */
    private static final int MIN_ROWS_PER_PART = 16;

    private RowGemm()
    {
    }

    /** {@code c = a · b} (a m×k, b k×n), or {@code c = a · bᵀ} (b n×k) when {@code transposedB}. */
    static void multiply(final FloatOps ops, final float[] a, final float[] b, final boolean transposedB,
                         final float[] c, final int m, final int k, final int n)
    {
        final int parts = Parallel.parts(m, MIN_ROWS_PER_PART);
        if (parts == 1)
        {
            product(ops, a, b, transposedB, c, m, k, n);
            return;
        }
        Parallel.forRange(m, parts, (part, from, to) ->
        {
            // the kernels address arrays from index 0, so a row block travels through a private copy
            final float[] aRows = Arrays.copyOfRange(a, from * k, to * k);
            final float[] cRows = new float[(to - from) * n];
            product(ops, aRows, b, transposedB, cRows, to - from, k, n);
            System.arraycopy(cRows, 0, c, from * n, cRows.length);
        });
    }

    private static void product(final FloatOps ops, final float[] a, final float[] b, final boolean transposedB,
                                final float[] c, final int m, final int k, final int n)
    {
        if (transposedB)
        {
            ops.matmulTransposedB(a, b, c, m, k, n);
        }
        else
        {
            ops.matmul(a, b, c, m, k, n);
        }
    }

    /** The transpose of the m×n row-major matrix {@code a}. */
    static float[] transpose(final float[] a, final int m, final int n)
    {
        final float[] t = new float[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                t[j * m + i] = a[i * n + j];
            }
        }
        return t;
    }
}
