package org.polypi.engine.protocol;

import java.lang.foreign.Arena;

import org.polypi.kernels.RingKernels;
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

    /**
     * Consumes this pair and returns, under the same id, one whose truncation outputs {@code trunc(x) - m} instead
     * of {@code trunc(x)}: its share of {@code r >>> s} is this one's plus {@code m}, a fresh tensor of
     * {@code arena} (the material itself may be read-only, as a mapped material file is). Local: m is this party's
     * share of a value the truncation's reader would subtract anyway (a linear layer's input mask), so the
     * subtraction moves into the truncation's own pass.
     *
     * @throws IllegalArgumentException if m's size differs from the pair's.
     * @throws IllegalStateException if the pair was already used.
     */
    FaithfulTruncationPair minusAddend(final RingKernels kernels, final Arena arena, final RingTensor m)
    {
        RingOps.requireSize("m", m, r.size());
        take();
        final RingTensor shifted = RingTensor.allocate(arena, r.shape());
        // The truncation subtracts [r >>> s], so adding m there subtracts it from the result.
        kernels.add(rShifted.segment(), m.segment(), shifted.segment(), r.size());
        return new FaithfulTruncationPair(use.id(), shift, r, shifted, msb);
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
