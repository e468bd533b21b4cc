package org.polypi.engine.protocol;

import org.polypi.kernels.RingTensor;

/**
 * One party's shares of a HoneyBadger power tuple {@code [r], [r^2], ..., [r^d]} for a uniform r (seeds.md §2.5).
 * <p>
 * Secure because r is fresh, uniform and used once (enforced): the opened {@code c = x - r} is uniform.
 */
public final class PowerTuple
{
    private final SingleUse use;
    private final RingTensor[] powers;

    PowerTuple(final String id, final RingTensor[] powers)
    {
        this.use = new SingleUse(id);
        this.powers = powers;
    }

    /** Identifier shared by the three parties. */
    public String id()
    {
        return use.id();
    }

    /** True once consumed. */
    public boolean used()
    {
        return use.used();
    }

    /** The degree d. */
    public int degree()
    {
        return powers.length;
    }

    /** Shape of the values it raises to powers. */
    public int[] shape()
    {
        return powers[0].shape();
    }

    void take()
    {
        use.take();
    }

    /** {@code powers()[i-1] = [r^i]}. */
    RingTensor[] powers()
    {
        return powers;
    }
}
