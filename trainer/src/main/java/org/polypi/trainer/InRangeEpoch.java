package org.polypi.trainer;

import java.util.List;

/**
 * PILLAR's model-selection fallback: the latest epoch whose test-set activation inputs all stayed inside [-r, r], its
 * test accuracy and a copy of the network's parameters and buffers at its end. The checkpoint keeps it, so a run
 * resumed after that epoch can still fall back to it.
 */
final class InRangeEpoch
{
    /** Marks "no epoch recorded" in the epoch field and in the checkpoint. */
    static final int NONE = -1;

    private int epoch = NONE;
    private double testAccuracy;
    private float[][] weights;

    /** True if an epoch has been recorded. */
    boolean present()
    {
        return epoch != NONE;
    }

    /** The recorded epoch (0-based), {@link #NONE} if none. */
    int epoch()
    {
        return epoch;
    }

    /** The recorded epoch's test accuracy (a fraction), 0 if none. */
    double testAccuracy()
    {
        return testAccuracy;
    }

    /** The recorded weights, one array per {@link Network#params()} entry; null if none. Not a copy. */
    float[][] weights()
    {
        return weights;
    }

    /** Records {@code params}' current values as epoch {@code newEpoch}'s, reusing the arrays of an earlier copy. */
    void record(final int newEpoch, final double newTestAccuracy, final List<Param> params)
    {
        if (weights == null || weights.length != params.size())
        {
            weights = new float[params.size()][];
        }
        for (int i = 0; i < weights.length; i++)
        {
            final float[] v = params.get(i).value();
            if (weights[i] == null || weights[i].length != v.length)
            {
                weights[i] = new float[v.length];
            }
            System.arraycopy(v, 0, weights[i], 0, v.length);
        }
        epoch = newEpoch;
        testAccuracy = newTestAccuracy;
    }

    /** Takes a recorded epoch read back from a checkpoint, which has checked the epoch, accuracy and shapes. */
    void restoreFrom(final int savedEpoch, final double savedTestAccuracy, final float[][] savedWeights)
    {
        epoch = savedEpoch;
        testAccuracy = savedTestAccuracy;
        weights = savedWeights;
    }

    /**
     * Copies the recorded weights into {@code params}.
     *
     * @throws IllegalStateException if no epoch is recorded.
     */
    void copyInto(final List<Param> params)
    {
        if (!present())
        {
            throw new IllegalStateException("no in-range epoch recorded");
        }
        for (int i = 0; i < weights.length; i++)
        {
            System.arraycopy(weights[i], 0, params.get(i).value(), 0, weights[i].length);
        }
    }
}
