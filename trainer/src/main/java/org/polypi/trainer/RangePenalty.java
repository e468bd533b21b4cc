package org.polypi.trainer;

/**
 * PILLAR's range regulariser, shared by every polynomial site of a network: site l adds
 * {@code P_l = beta · SUM_e (e / R)^gamma} over <em>all</em> elements e of its input (batch and positions: a sum,
 * not a mean), and the loss gets the mean over the L sites, {@code P = (1/L) SUM_l P_l}. gamma is even, so every
 * term is non-negative; with gamma = 10 the penalty is nearly flat inside the range and a steep wall at R.
 * <p>
 * An optional tail term adds {@code w · SUM_e max(0, |e| - m)²} per site (same sum over elements, same mean over
 * sites): zero inside the margin m, so it acts on the few escaping elements only, where a strong {@code (e/R)^gamma}
 * would also press on the bulk near R ({@link #setTail}).
 * <p>
 * {@code beta} and {@code gamma} change during the warm-up ({@link PillarSchedule}); the tail term does not. Sites
 * add their share with {@link #add} during a training forward pass; the trainer reads the total with
 * {@link #take()}.
 */
public final class RangePenalty
{
    private final double range;
    private final int sites;
    private double beta;
    private int gamma;
    private double value;
    private double tailMargin = Double.POSITIVE_INFINITY;
    private double tailWeight;

    /**
     * A penalty with wall at {@code range} (R) for {@code sites} sites, initially off (beta 0).
     *
     * @throws IllegalArgumentException if range is not positive or sites is not positive.
     */
    public RangePenalty(final double range, final int sites)
    {
        if (!(range > 0) || Double.isInfinite(range))
        {
            throw new IllegalArgumentException("penalty range must be finite and positive, was " + range);
        }
        if (sites <= 0)
        {
            throw new IllegalArgumentException("sites must be positive, was " + sites);
        }
        this.range = range;
        this.sites = sites;
        this.gamma = 2;
    }

    /**
     * Sets the strength and exponent.
     *
     * @throws IllegalArgumentException if beta is negative or not finite, or gamma is not a positive even number.
     */
    public void set(final double newBeta, final int newGamma)
    {
        if (!(newBeta >= 0) || Double.isInfinite(newBeta))
        {
            throw new IllegalArgumentException("penalty beta must be finite and >= 0, was " + newBeta);
        }
        if (newGamma <= 0 || newGamma % 2 != 0)
        {
            throw new IllegalArgumentException("penalty exponent must be a positive even number, was " + newGamma);
        }
        beta = newBeta;
        gamma = newGamma;
    }

    /**
     * Sets the tail term: weight {@code weight} on {@code (|e| - margin)²} beyond the margin; weight 0 turns it off.
     *
     * @throws IllegalArgumentException if weight is negative or not finite, or weight is positive and margin is not
     *     finite and positive.
     */
    public void setTail(final double margin, final double weight)
    {
        checkTail(margin, weight);
        tailWeight = weight;
        tailMargin = weight > 0 ? margin : Double.POSITIVE_INFINITY;
    }

    /**
     * Checks a tail term's settings ({@link #setTail}).
     *
     * @throws IllegalArgumentException if weight is negative or not finite, or weight is positive and margin is not
     *     finite and positive.
     */
    static void checkTail(final double margin, final double weight)
    {
        if (!(weight >= 0) || Double.isInfinite(weight))
        {
            throw new IllegalArgumentException("tail weight must be finite and >= 0, was " + weight);
        }
        if (weight > 0 && (!(margin > 0) || Double.isInfinite(margin)))
        {
            throw new IllegalArgumentException("tail margin must be finite and positive, was " + margin);
        }
    }

    /** The tail term's margin (infinite when off). */
    public double tailMargin()
    {
        return tailMargin;
    }

    /** True if the tail term contributes. */
    boolean tailActive()
    {
        return tailWeight > 0;
    }

    /** Weight of one site's tail sum in the loss: w / L. */
    double tailSiteWeight()
    {
        return tailWeight / sites;
    }

    /** R. */
    public double range()
    {
        return range;
    }

    /** Current beta. */
    public double beta()
    {
        return beta;
    }

    /** Current gamma. */
    public int gamma()
    {
        return gamma;
    }

    /** True if the penalty contributes (beta > 0). */
    boolean active()
    {
        return beta > 0;
    }

    /** Weight of one site's sum in the loss: beta / L. */
    double siteWeight()
    {
        return beta / sites;
    }

    /** Adds a site's weighted contribution to the current total. */
    synchronized void add(final double contribution)
    {
        value += contribution;
    }

    /** The total since the last call, and resets it. */
    public synchronized double take()
    {
        final double v = value;
        value = 0;
        return v;
    }

    /** {@code t^gamma} for the current gamma. */
    double power(final double t)
    {
        return t * powerBelow(t);
    }

    /** {@code t^(gamma-1)}, the power in the derivative. */
    double powerBelow(final double t)
    {
        double p = 1;
        for (int k = 1; k < gamma; k++)
        {
            p *= t;
        }
        return p;
    }
}
