package org.polypi.engine.protocol;

import java.util.Objects;

import org.polypi.kernels.RingTensor;

/**
 * One party's shares of the dealer material for n secure comparisons ({@link Comparison#msb}) or ReLUs
 * ({@link Relu#relu}); see docs/protocols.md, "Comparison and ReLU".
 * <ul>
 *   <li>{@code [r]}: a uniform arithmetic mask, opened as {@code c = x + r};</li>
 *   <li>XOR shares of the one-hot code of each 4-bit chunk of {@code r' = r mod 2^63} (16 chunks of 16 bits, four
 *       words per element) and of {@code msb(r)};</li>
 *   <li>per level of the comparison tree (8, 4, 2 pairs), XOR shares of AND triples, one mask {@code a} shared by
 *       the two products of a pair: {@code a, b1, b2, c1 = a b1, c2 = a b2} (pair 0 needs no {@code b2, c2});</li>
 *   <li>three uniform mask bits {@code t, alpha, beta} (XOR shares) for the last, fused round, and arithmetic
 *       shares of their seven monomials {@code t, alpha, beta, alpha beta, t alpha, t beta, t alpha beta};</li>
 *   <li>for a ReLU only: arithmetic shares of {@code r} times each of those seven monomials.</li>
 * </ul>
 * Secure because every mask (r, a, b1, b2, t, alpha, beta) is fresh, uniform and used once (enforced): each opened
 * value is uniform and independent of the secrets, and each party's shares alone are uniform.
 */
public final class ComparisonMaterial
{
    /** What the material computes. */
    public enum Kind
    {
        /** The sign bit {@code msb(x)} as an arithmetic 0/1 sharing. */
        MSB("msb"),
        /** {@code relu(x) = x (1 - msb(x))}; also usable for {@link Comparison#msb}. */
        RELU("relu");

        private final String idKind;

        Kind(final String idKind)
        {
            this.idKind = idKind;
        }

        /** The {@code <kind>} part of the material ids. */
        String idKind()
        {
            return idKind;
        }
    }

    /** Bits per chunk of r' whose one-hot code the dealer shares. */
    static final int CHUNK_BITS = 4;
    /** Chunks covering the 64 bits of r' (bit 63 of r' is 0). */
    static final int CHUNKS = Long.SIZE / CHUNK_BITS;
    /** Bits of one chunk's one-hot code: {@code 2^CHUNK_BITS}. */
    static final int CODE_BITS = 1 << CHUNK_BITS;
    /** One-hot codes per word. */
    static final int CODES_PER_WORD = Long.SIZE / CODE_BITS;
    /** Words of one-hot codes per element. */
    static final int CODE_WORDS = CHUNKS / CODES_PER_WORD;
    /** Levels of the tree evaluated on XOR shares (16 -> 8 -> 4 -> 2 positions); the last pair is fused. */
    static final int XOR_LEVELS = 3;
    /** Pairs of the first level. */
    static final int FIRST_PAIRS = CHUNKS / 2;
    /** Mask bits of the fused last round: t, alpha, beta. */
    static final int FINAL_MASKS = 3;
    /** Monomials of the final masks: t, alpha, beta, alpha beta, t alpha, t beta, t alpha beta. */
    static final int MONOMIALS = 7;

    private final SingleUse use;
    private final Kind kind;
    private final RingTensor r;
    private final RingTensor codes;
    private final RingTensor msbR;
    private final RingTensor[] a;
    private final RingTensor[] b1;
    private final RingTensor[] b2;
    private final RingTensor[] c1;
    private final RingTensor[] c2;
    private final RingTensor masks;
    private final RingTensor monomials;
    private final RingTensor rProducts;

    ComparisonMaterial(final String id, final Kind kind, final RingTensor r, final RingTensor codes,
                       final RingTensor msbR, final Triples triples, final RingTensor masks,
                       final RingTensor monomials, final RingTensor rProducts)
    {
        this.use = new SingleUse(id);
        this.kind = Objects.requireNonNull(kind, "kind");
        this.r = r;
        this.codes = codes;
        this.msbR = msbR;
        this.a = triples.a();
        this.b1 = triples.b1();
        this.b2 = triples.b2();
        this.c1 = triples.c1();
        this.c2 = triples.c2();
        this.masks = masks;
        this.monomials = monomials;
        this.rProducts = rProducts;
        if ((kind == Kind.RELU) != (rProducts != null))
        {
            throw new IllegalArgumentException("r products must be present exactly for ReLU material");
        }
    }

    /** The AND triples of the three XOR levels, as plane sets ({@code [planes, words(n)]}). */
    record Triples(RingTensor[] a, RingTensor[] b1, RingTensor[] b2, RingTensor[] c1, RingTensor[] c2)
    {
    }

    /** Identifier shared by the three parties' views. */
    public String id()
    {
        return use.id();
    }

    /** True once a protocol consumed it. */
    public boolean used()
    {
        return use.used();
    }

    /** What it computes. */
    public Kind kind()
    {
        return kind;
    }

    /** Shape of the values it compares. */
    public int[] shape()
    {
        return r.shape();
    }

    /** Number of values it compares. */
    public long size()
    {
        return r.size();
    }

    /** Bit of t, alpha and beta in the mask-bit sets below. */
    static final int T = 1;
    /** See {@link #T}. */
    static final int ALPHA = 2;
    /** See {@link #T}. */
    static final int BETA = 4;

    /**
     * The masks in monomial {@code m}, in the material's order: t, alpha, beta, alpha beta, t alpha, t beta,
     * t alpha beta.
     */
    static int monomialSet(final int m)
    {
        return switch (m)
        {
            case 0 -> T;
            case 1 -> ALPHA;
            case 2 -> BETA;
            case 3 -> ALPHA | BETA;
            case 4 -> T | ALPHA;
            case 5 -> T | BETA;
            case 6 -> T | ALPHA | BETA;
            default -> throw new IllegalArgumentException("monomial index must be in [0, " + MONOMIALS + "), was " + m);
        };
    }

    /** Value (0 or 1) of monomial {@code m} when the set mask bits are {@code bits} ({@link #T} etc.). */
    static long monomial(final int m, final int bits)
    {
        final int set = monomialSet(m);
        return (bits & set) == set ? 1 : 0;
    }

    /** Pairs of XOR level {@code level} (0, 1, 2): 8, 4, 2. */
    static int pairs(final int level)
    {
        return FIRST_PAIRS >> level;
    }

    void take()
    {
        use.take();
    }

    RingTensor r()
    {
        return r;
    }

    RingTensor codes()
    {
        return codes;
    }

    RingTensor msbR()
    {
        return msbR;
    }

    RingTensor a(final int level)
    {
        return a[level];
    }

    RingTensor b1(final int level)
    {
        return b1[level];
    }

    RingTensor b2(final int level)
    {
        return b2[level];
    }

    RingTensor c1(final int level)
    {
        return c1[level];
    }

    RingTensor c2(final int level)
    {
        return c2[level];
    }

    RingTensor masks()
    {
        return masks;
    }

    RingTensor monomials()
    {
        return monomials;
    }

    RingTensor rProducts()
    {
        return rProducts;
    }
}
