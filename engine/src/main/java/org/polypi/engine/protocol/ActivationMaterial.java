package org.polypi.engine.protocol;

import org.polypi.kernels.RingTensor;

/**
 * One party's shares of the fused activation material (engine-design.md §2): one uniform r per element and, for
 * every copy j of the {@link ActivationPlan} (shift {@code sh}), the power tuples of both truncation candidates.
 * <p>
 * With {@code c = z + 2^62 + r} opened and {@code C = (c >> sh) - 2^(62 - sh)} (arithmetic shift, public), the
 * faithful truncation is {@code x = C + Q} where {@code Q = Q1 = -(r >> sh)} if {@code msb(c) = 0} and
 * {@code Q = Q0 = -(r >> sh) + (1 - msb(r)) 2^(64-sh)} if {@code msb(c) = 1}. The material holds
 * {@code base[j][i-1] = [Q1^i]} for {@code i = 1..k_j} and the differences {@code [Q1^i - Q0^i]} in
 * {@code diff[j]}, one per word or, for shifts 1 to 32, two per word in lanes of their top {@code sh} bits
 * ({@link org.polypi.kernels.CandidateDifferences}), so that a party selects {@code [Q^i] = base + (c >> 63) * diff}
 * in one fused multiply-add.
 * <p>
 * Secure because r is fresh, uniform and used once (enforced): c is uniform; the candidates' shares are fresh
 * additive shares, uniform to each party.
 */
public final class ActivationMaterial
{
    private final SingleUse use;
    private final ActivationPlan plan;
    private final RingTensor r;
    private final RingTensor[][] base;
    private final RingTensor[][] diff;
    /** The mask r was folded into the linear layer producing z ({@link FusedActivation#foldMaskIntoLinear}). */
    private boolean maskFolded;

    ActivationMaterial(final String id, final ActivationPlan plan, final RingTensor r, final RingTensor[][] base,
                       final RingTensor[][] diff)
    {
        this.use = new SingleUse(id);
        this.plan = plan;
        this.r = r;
        this.base = base;
        this.diff = diff;
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

    /** The plan the material was made for. */
    public ActivationPlan plan()
    {
        return plan;
    }

    /** Shape of the activation input. */
    public int[] shape()
    {
        return r.shape();
    }

    void take()
    {
        use.take();
    }

    /** True once its mask r was folded into the linear layer producing z. */
    public boolean maskFolded()
    {
        return maskFolded;
    }

    void foldMask()
    {
        requireFoldable();
        maskFolded = true;
    }

    /** Throws unless its mask can still be folded: not folded yet, not used. */
    void requireFoldable()
    {
        if (maskFolded)
        {
            throw new IllegalStateException("the mask of " + id() + " is already folded into a linear layer");
        }
        if (used())
        {
            throw new IllegalStateException("material " + id() + " already used");
        }
    }

    RingTensor r()
    {
        return r;
    }

    RingTensor[][] base()
    {
        return base;
    }

    RingTensor[][] diff()
    {
        return diff;
    }
}
