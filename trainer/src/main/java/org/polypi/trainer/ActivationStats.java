package org.polypi.trainer;

import java.util.Locale;

/**
 * Range statistics of activation inputs: how many elements were seen, how many fell outside {@code [-bound, bound]}
 * and the largest magnitude. Recorded over an evaluation pass to tell whether a polynomial model stays in the range
 * its polynomial approximates (PILLAR's post-training diagnostics). Updates are synchronised, so parallel parts of
 * a layer may record into one instance.
 */
public final class ActivationStats
{
    private final double bound;
    private long elements;
    private long outside;
    private double maxAbs;

    /** Statistics against the range {@code [-bound, bound]}. */
    public ActivationStats(final double bound)
    {
        if (!(bound > 0) || Double.isInfinite(bound))
        {
            throw new IllegalArgumentException("bound must be finite and positive, was " + bound);
        }
        this.bound = bound;
    }

    /** The range bound. */
    public double bound()
    {
        return bound;
    }

    /** The statistics of all {@code sites} together, against {@code [-bound, bound]}. */
    static ActivationStats combined(final Iterable<ActivationStats> sites, final double bound)
    {
        final ActivationStats all = new ActivationStats(bound);
        for (final ActivationStats s : sites)
        {
            all.add(s.elements(), s.outside(), s.maxAbs());
        }
        return all;
    }

    /** Records {@code x[from..to)}. */
    void record(final float[] x, final int from, final int to)
    {
        long out = 0;
        float max = 0f;
        for (int i = from; i < to; i++)
        {
            final float a = Math.abs(x[i]);
            out += a > bound ? 1 : 0;
            max = Math.max(max, a);
        }
        add(to - from, out, max);
    }

    /** Adds pre-aggregated counts. */
    synchronized void add(final long seen, final long beyond, final double max)
    {
        elements += seen;
        outside += beyond;
        // NaN must not hide: Math.max propagates it
        maxAbs = Math.max(maxAbs, max);
    }

    /** Elements recorded. */
    public synchronized long elements()
    {
        return elements;
    }

    /** Elements with {@code |x| > bound}. */
    public synchronized long outside()
    {
        return outside;
    }

    /** Fraction of elements outside the range (0 if none were recorded). */
    public synchronized double outsideFraction()
    {
        return elements == 0 ? 0 : (double)outside / elements;
    }

    /** Largest {@code |x|} seen (NaN if a NaN was seen). */
    public synchronized double maxAbs()
    {
        return maxAbs;
    }

    @Override
    public synchronized String toString()
    {
        return String.format(Locale.ROOT, "max |x| %.3f, %d of %d (%.3g) outside [-%.3g, %.3g]", maxAbs, outside,
            elements, outsideFraction(), bound, bound);
    }
}
