package org.polypi.engine.protocol;

import org.polypi.kernels.RingTensor;

/**
 * One party's shares of an elementwise Beaver triple {@code (a, b, c = a * b)}, a and b uniform.
 * <p>
 * Secure because a and b are fresh uniform masks used by exactly one multiplication (enforced: a second use throws),
 * so the opened {@code x - a}, {@code y - b} are uniform; each party's shares alone are uniform.
 */
public final class BeaverTriple
{
    private final SingleUse use;
    private final RingTensor a;
    private final RingTensor b;
    private final RingTensor c;

    BeaverTriple(final String id, final RingTensor a, final RingTensor b, final RingTensor c)
    {
        this.use = new SingleUse(id);
        this.a = a;
        this.b = b;
        this.c = c;
    }

    /** Identifier shared by the three parties' views of this triple. */
    public String id()
    {
        return use.id();
    }

    /** True once a protocol consumed it. */
    public boolean used()
    {
        return use.used();
    }

    /** Shape of the operands. */
    public int[] shape()
    {
        return a.shape();
    }

    void take()
    {
        use.take();
    }

    RingTensor a()
    {
        return a;
    }

    RingTensor b()
    {
        return b;
    }

    RingTensor c()
    {
        return c;
    }
}
