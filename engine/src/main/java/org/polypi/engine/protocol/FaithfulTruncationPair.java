package org.polypi.engine.protocol;

import org.polypi.kernels.RingTensor;

/**
 * One party's shares of a faithful-truncation pair for a shift s (protocol-notes §2): a uniform r, {@code r >>> s}
 * and {@code msb(r)} as an arithmetic 0/1 value.
 * <p>
 * Secure because r is fresh, uniform and used once (enforced): the opened {@code c = x + 2^62 + r} is uniform.
 */
public final class FaithfulTruncationPair
{
    private final SingleUse use;
    private final int shift;
    private final RingTensor r;
    private final RingTensor rShifted;
    private final RingTensor msb;

    FaithfulTruncationPair(final String id, final int shift, final RingTensor r, final RingTensor rShifted,
                           final RingTensor msb)
    {
        this.use = new SingleUse(id);
        this.shift = shift;
        this.r = r;
        this.rShifted = rShifted;
        this.msb = msb;
    }

    /** Identifier shared by the three parties. */
    public String id()
    {
        return use.id();
    }

    /** True once a truncation consumed it. */
    public boolean used()
    {
        return use.used();
    }

    /** The shift s the pair was made for. */
    public int shift()
    {
        return shift;
    }

    /** Shape of the values it truncates. */
    public int[] shape()
    {
        return r.shape();
    }

    void take()
    {
        use.take();
    }

    RingTensor r()
    {
        return r;
    }

    RingTensor rShifted()
    {
        return rShifted;
    }

    RingTensor msb()
    {
        return msb;
    }
}
