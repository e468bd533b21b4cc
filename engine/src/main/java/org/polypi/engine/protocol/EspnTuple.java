package org.polypi.engine.protocol;

import org.polypi.engine.transport.Party;
import org.polypi.kernels.RingTensor;

/**
 * One party's material for the ESPN cheaper variant of degree d (seeds.md §2.4): the server holds uniform masks
 * {@code A_1..A_{d-1}}, the client {@code B_1..B_{d-1}}, and both hold additive shares of every product
 * {@code A_i * B_j} with {@code i, j >= 1, i + j <= d}.
 * <p>
 * Secure because each mask is fresh, uniform, known only to its holder (and the dealer) and used once (enforced):
 * the peer receives {@code x_b^i - mask_i}, which is uniform; the product shares are fresh additive shares.
 */
public final class EspnTuple
{
    private final SingleUse use;
    private final Party holder;
    private final int degree;
    private final RingTensor[] masks;
    private final RingTensor[] products;

    EspnTuple(final String id, final Party holder, final int degree, final RingTensor[] masks,
              final RingTensor[] products)
    {
        this.use = new SingleUse(id);
        this.holder = holder;
        this.degree = degree;
        this.masks = masks;
        this.products = products;
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
        return degree;
    }

    /** The party whose view this is. */
    public Party holder()
    {
        return holder;
    }

    /** Shape of the values it raises to powers. */
    public int[] shape()
    {
        return masks[0].shape();
    }

    /** Number of cross products {@code A_i B_j} with {@code i + j <= d}: {@code d (d - 1) / 2}. */
    public static int productCount(final int degree)
    {
        return degree * (degree - 1) / 2;
    }

    /** Position of {@code A_i B_j} in the product list: pairs ordered by i, then j (1-based i, j). */
    static int productIndex(final int degree, final int i, final int j)
    {
        // Rows i' < i hold (degree - i') pairs each.
        final int before = (i - 1) * degree - (i - 1) * i / 2;
        return before + (j - 1);
    }

    void take()
    {
        use.take();
    }

    /** This party's own masks: {@code A_i} (server) or {@code B_j} (client), index {@code i - 1}. */
    RingTensor[] masks()
    {
        return masks;
    }

    /** Shares of {@code A_i B_j}, see {@link #productIndex}. */
    RingTensor[] products()
    {
        return products;
    }
}
