package org.polypi.trainer;

/**
 * PILLAR's 4-epoch warm-up of the range penalty (seeds.md 2.3): per epoch the weight of the cross-entropy, the
 * penalty exponent gamma and the penalty strength beta.
 * <pre>
 *   epoch 0: CE weight 0 (range only, if enabled), gamma 4, beta / 100
 *   epoch 1: gamma 6, beta / 50
 *   epoch 2: gamma 8, beta / 10
 *   epoch 3: gamma 10, beta / 5
 *   then:    the final gamma, beta
 * </pre>
 *
 * @param beta the final strength.
 * @param gamma the final (even) exponent.
 * @param warmup whether to ramp up as above (else the final values from epoch 0, CE always on).
 * @param rangeOnlyFirstEpoch whether epoch 0 trains the penalty alone, as the released code does.
 */
public record PillarSchedule(double beta, int gamma, boolean warmup, boolean rangeOnlyFirstEpoch)
{
    /** Warm-up exponents of epochs 0..3. */
    private static final int[] WARMUP_GAMMA = {4, 6, 8, 10};
    /** Warm-up divisors of beta in epochs 0..3. */
    private static final double[] WARMUP_DIVISOR = {100, 50, 10, 5};

    /** Checks the values. */
    public PillarSchedule
    {
        if (!(beta >= 0) || Double.isInfinite(beta))
        {
            throw new IllegalArgumentException("beta must be finite and >= 0, was " + beta);
        }
        if (gamma <= 0 || gamma % 2 != 0)
        {
            throw new IllegalArgumentException("gamma must be a positive even number, was " + gamma);
        }
    }

    /** Weight of the cross-entropy in epoch {@code epoch}. */
    public double crossEntropyWeight(final int epoch)
    {
        return warmup && rangeOnlyFirstEpoch && epoch == 0 ? 0 : 1;
    }

    /** Exponent in epoch {@code epoch}. */
    public int gammaAt(final int epoch)
    {
        return warmup && epoch < WARMUP_GAMMA.length ? WARMUP_GAMMA[epoch] : gamma;
    }

    /** Strength in epoch {@code epoch}. */
    public double betaAt(final int epoch)
    {
        return warmup && epoch < WARMUP_DIVISOR.length ? beta / WARMUP_DIVISOR[epoch] : beta;
    }

    /** Sets {@code penalty} for epoch {@code epoch}. */
    public void apply(final RangePenalty penalty, final int epoch)
    {
        penalty.set(betaAt(epoch), gammaAt(epoch));
    }
}
