package org.polypi.engine.protocol;

import org.polypi.kernels.RingTensor;

/**
 * One party's share of the weight mask B of one linear layer, drawn once per model and client connection
 * (protocol-notes §1): the set-up opens {@code F = W - B}, a one-time pad of W because B is uniform and used for
 * nothing else. Consumed by that one set-up; the per-query triples ({@link LinearTriple}) refer to it by id.
 */
public final class LinearMask
{
    private final SingleUse use;
    private final LinearOp op;
    private final RingTensor b;

    LinearMask(final String id, final LinearOp op, final RingTensor b)
    {
        this.use = new SingleUse(id);
        this.op = op;
        this.b = b;
    }

    /** Identifier shared by the three parties. */
    public String id()
    {
        return use.id();
    }

    /** True once the set-up opened it. */
    public boolean used()
    {
        return use.used();
    }

    /** The layer this mask belongs to. */
    public LinearOp op()
    {
        return op;
    }

    void take()
    {
        use.take();
    }

    RingTensor b()
    {
        return b;
    }
}
