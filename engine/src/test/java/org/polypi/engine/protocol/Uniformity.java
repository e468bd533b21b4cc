package org.polypi.engine.protocol;

/**
 * The statistical checks of the privacy tests on what a party receives: each returns null if the words pass, else
 * what failed. The seeds of the tests are fixed, so a verdict is deterministic, not flaky.
 */
public final class Uniformity
{
    /** Bit-balance tolerance in standard deviations. */
    private static final double SIGMAS = 5.5;
    private static final int BINS = 256;
    /** Chi-square threshold for 255 degrees of freedom: mean 255, sd sqrt(510); about 7 sd above the mean. */
    private static final double CHI_SQUARE_LIMIT = 255 + 7 * Math.sqrt(510);

    private Uniformity()
    {
    }

    /** Null if every bit position is set in half the words within {@link #SIGMAS} sd, else what failed. */
    public static String bitBalance(final long[] words)
    {
        final double half = words.length / 2.0;
        final double sd = Math.sqrt(words.length) / 2;
        for (int bit = 0; bit < Long.SIZE; bit++)
        {
            int ones = 0;
            for (final long w : words)
            {
                ones += (int)(w >>> bit) & 1;
            }
            if (Math.abs(ones - half) > SIGMAS * sd)
            {
                return "bit " + bit + " set in " + ones + " of " + words.length + " words";
            }
        }
        return null;
    }

    /** Null if the byte histogram passes a chi-square test against uniform. */
    public static String uniformBytes(final long[] words)
    {
        final long[] h = histogram(words);
        final double expected = words.length * (double)Long.BYTES / BINS;
        double chi = 0;
        for (final long c : h)
        {
            chi += (c - expected) * (c - expected) / expected;
        }
        return chi <= CHI_SQUARE_LIMIT ? null : "chi-square against uniform " + chi + " > " + CHI_SQUARE_LIMIT;
    }

    /** Null if the two byte histograms pass a two-sample chi-square test (same distribution). */
    public static String sameBytes(final long[] a, final long[] b)
    {
        final long[] ha = histogram(a);
        final long[] hb = histogram(b);
        double chi = 0;
        for (int i = 0; i < BINS; i++)
        {
            final double sum = ha[i] + hb[i];
            if (sum > 0)
            {
                chi += (ha[i] - hb[i]) * (double)(ha[i] - hb[i]) / sum;
            }
        }
        return chi <= CHI_SQUARE_LIMIT ? null : "two-sample chi-square " + chi + " > " + CHI_SQUARE_LIMIT;
    }

    private static long[] histogram(final long[] words)
    {
        final long[] h = new long[BINS];
        for (final long w : words)
        {
            for (int b = 0; b < Long.BYTES; b++)
            {
                h[(int)(w >>> (8 * b)) & 0xFF]++;
            }
        }
        return h;
    }
}
