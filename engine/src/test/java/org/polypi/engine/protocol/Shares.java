package org.polypi.engine.protocol;

import java.util.SplittableRandom;

/** Test helpers: additive sharing and reconstruction of plain arrays. */
final class Shares
{
    private Shares()
    {
    }

    /** {@code {x_0, x_1}} with x_1 uniform and {@code x_0 = x - x_1}. */
    static long[][] split(final long[] x, final SplittableRandom random)
    {
        final long[] x0 = new long[x.length];
        final long[] x1 = new long[x.length];
        for (int i = 0; i < x.length; i++)
        {
            x1[i] = random.nextLong();
            x0[i] = x[i] - x1[i];
        }
        return new long[][]{x0, x1};
    }

    /** {@code a + b} elementwise. */
    static long[] add(final long[] a, final long[] b)
    {
        final long[] out = new long[a.length];
        for (int i = 0; i < a.length; i++)
        {
            out[i] = a[i] + b[i];
        }
        return out;
    }

    /** Uniform 64-bit values. */
    static long[] random(final int n, final SplittableRandom random)
    {
        final long[] out = new long[n];
        for (int i = 0; i < n; i++)
        {
            out[i] = random.nextLong();
        }
        return out;
    }

    /** Element count of a shape. */
    static int size(final int... shape)
    {
        int n = 1;
        for (final int d : shape)
        {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }
}
