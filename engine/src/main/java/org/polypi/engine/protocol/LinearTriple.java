package org.polypi.engine.protocol;

import org.polypi.kernels.RingTensor;

/**
 * One party's shares of a per-query linear-layer triple: a fresh uniform A (shape of the layer input) and
 * {@code C = A·B} for the connection's weight mask B (protocol-notes §1).
 * <p>
 * Secure because A is fresh per query and used once (enforced), so the opened {@code E = X - A} is uniform, and C's
 * shares are fresh, so they reveal nothing about B or A.
 */
public final class LinearTriple
{
    private final SingleUse use;
    private final String maskId;
    private final LinearOp op;
    private final RingTensor a;
    private final RingTensor c;

    LinearTriple(final String id, final String maskId, final LinearOp op, final RingTensor a, final RingTensor c)
    {
        this.use = new SingleUse(id);
        this.maskId = maskId;
        this.op = op;
        this.a = a;
        this.c = c;
    }

    /** Identifier shared by the three parties. */
    public String id()
    {
        return use.id();
    }

    /** Id of the {@link LinearMask} B this triple was made for. */
    public String maskId()
    {
        return maskId;
    }

    /** True once a query consumed it. */
    public boolean used()
    {
        return use.used();
    }

    /** The layer. */
    public LinearOp op()
    {
        return op;
    }

    void take()
    {
        use.take();
    }

    RingTensor a()
    {
        return a;
    }

    RingTensor c()
    {
        return c;
    }
}
