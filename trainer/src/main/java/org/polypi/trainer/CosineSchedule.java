package org.polypi.trainer;

/**
 * Learning rate per step: linear warm-up from {@code peak / warmupSteps} to {@code peak} over the first
 * {@code warmupSteps} steps, then a cosine decay from {@code peak} to {@code floor} at {@code totalSteps}.
 *
 * @param peak the largest learning rate.
 * @param floor the final learning rate.
 * @param warmupSteps steps of linear warm-up (0: none).
 * @param totalSteps all steps of the run.
 */
public record CosineSchedule(double peak, double floor, long warmupSteps, long totalSteps)
{
    /** Checks the values. */
    public CosineSchedule
    {
        if (!(peak > 0) || Double.isInfinite(peak) || !(floor >= 0) || floor > peak)
        {
            throw new IllegalArgumentException("need 0 <= floor <= peak and peak > 0, were floor " + floor +
                " peak " + peak);
        }
        if (warmupSteps < 0 || totalSteps <= 0 || warmupSteps > totalSteps)
        {
            throw new IllegalArgumentException("need 0 <= warmupSteps <= totalSteps and totalSteps > 0, were " +
                warmupSteps + " and " + totalSteps);
        }
    }

    /** The learning rate of step {@code step} (0-based; steps past the end get {@code floor}). */
    public double at(final long step)
    {
        if (step < warmupSteps)
        {
            return peak * (step + 1) / warmupSteps;
        }
        final long decaySteps = totalSteps - warmupSteps;
        if (decaySteps == 0 || step >= totalSteps)
        {
            return floor;
        }
        final double progress = (double)(step - warmupSteps) / decaySteps;
        return floor + (peak - floor) * 0.5 * (1 + Math.cos(Math.PI * progress));
    }
}
