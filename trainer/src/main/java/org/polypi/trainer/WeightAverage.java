package org.polypi.trainer;

import java.util.List;

/**
 * An exponential moving average of a network's parameters and buffers over optimizer steps ({@code --ema D}):
 * {@code avg = d avg + (1 - d) w} after every step, with {@code d = min(D, (1 + n) / (10 + n))} after n updates, so
 * that the first steps do not drag the seeded initial weights along for the ~1/(1 - D) steps a constant decay would
 * (the warm-up of TensorFlow's {@code ExponentialMovingAverage} with {@code num_updates}). BatchNorm's running
 * statistics are averaged like the weights, so the averaged network evaluates with statistics of its own time span.
 * <p>
 * Evaluation and export use the average: {@link #swap} exchanges it with the live values in place (no allocation),
 * and swapping again restores both. The arithmetic is in double per element, rounded once to float.
 */
final class WeightAverage
{
    /** The warm-up's offset: the decay after n updates is at most {@code (1 + n) / (WARMUP + n)}. */
    private static final double WARMUP = 10;

    private final List<Param> params;
    private final double decay;
    private final float[][] average;
    private long updates;
    private boolean swapped;

    /**
     * An average of {@code params} (every entry, trainable or buffer) starting at their current values.
     *
     * @throws IllegalArgumentException if {@code decay} is not in (0, 1).
     */
    WeightAverage(final List<Param> params, final double decay)
    {
        if (!(decay > 0 && decay < 1))
        {
            throw new IllegalArgumentException("average decay must be in (0, 1), was " + decay);
        }
        this.params = List.copyOf(params);
        this.decay = decay;
        this.average = new float[this.params.size()][];
        for (int i = 0; i < average.length; i++)
        {
            average[i] = this.params.get(i).value().clone();
        }
    }

    /** The decay the next {@link #update} applies. */
    double nextDecay()
    {
        return Math.min(decay, (1.0 + updates) / (WARMUP + updates));
    }

    /**
     * Folds the live values into the average.
     *
     * @throws IllegalStateException while swapped (the live arrays then hold the average).
     */
    void update()
    {
        checkNotSwapped("update");
        final double d = nextDecay();
        for (int i = 0; i < average.length; i++)
        {
            blend(average[i], params.get(i).value(), d);
        }
        updates++;
    }

    private static void blend(final float[] avg, final float[] w, final double d)
    {
        final double keep = 1 - d;
        for (int j = 0; j < avg.length; j++)
        {
            avg[j] = (float)(d * avg[j] + keep * w[j]);
        }
    }

    /** Exchanges the average with the live values: after an odd number of swaps the network holds the average. */
    void swap()
    {
        for (int i = 0; i < average.length; i++)
        {
            final float[] live = params.get(i).value();
            final float[] avg = average[i];
            for (int j = 0; j < avg.length; j++)
            {
                final float t = live[j];
                live[j] = avg[j];
                avg[j] = t;
            }
        }
        swapped = !swapped;
    }

    /** True while the network holds the average. */
    boolean swapped()
    {
        return swapped;
    }

    /** Updates folded in so far. */
    long updates()
    {
        return updates;
    }

    /** The averaged arrays, one per param, live (checkpoints write and restore them in place). */
    List<float[]> arrays()
    {
        return List.of(average);
    }

    /** Restores the update count from a checkpoint (the arrays are filled by the caller). */
    void restoreUpdates(final long count)
    {
        if (count < 0)
        {
            throw new IllegalArgumentException("update count must be >= 0, was " + count);
        }
        updates = count;
    }

    private void checkNotSwapped(final String what)
    {
        if (swapped)
        {
            throw new IllegalStateException(what + " while the network holds the average");
        }
    }
}
