package org.polypi.engine.protocol;

import java.lang.foreign.Arena;

import org.polypi.kernels.FixedPoint;
import org.polypi.kernels.RingKernels;
import org.polypi.kernels.RingTensor;

/**
 * Baseline: CrypTen's built-in polynomial (seeds.md §2.6). Powers are built by Beaver products, each locally
 * truncated ({@link LocalTruncation}) back to scale f: round t computes {@code x^j = x^h * x^(j-h)} for
 * {@code h = 2^(t-1) < j <= min(2h, d)}, so the powers take {@code ceil(log2 d)} rounds and {@code d - 1} triples,
 * 2 elements sent per party per product element. Then {@code y = sum_k encode_f(a_k) [x^k] + encode_2f(a_0)} is
 * truncated locally to scale f.
 * <p>
 * Error: every local truncation is off by at most 1 ulp except with probability {@code |v| / 2^64} (v the value
 * truncated, at scale 2f), when it is off by about {@code 2^(64-f)} (a wrong result); see {@link LocalTruncation}.
 * Secure as {@link BeaverMultiplication}; the truncations are local.
 */
public final class CrypTenPolynomial
{
    private final int degree;
    private final int fractionalBits;
    private final long[] coefficients;
    private final long constant;

    /**
     * {@code coefficients[k] = a_k}, inputs and output at scale f.
     *
     * @throws IllegalArgumentException if {@code d < 1} or {@code 2f > 62}.
     */
    public CrypTenPolynomial(final double[] coefficients, final int fractionalBits)
    {
        this.degree = coefficients.length - 1;
        Dealer.checkDegree(degree, 1);
        if (fractionalBits < 1 || 2 * fractionalBits > FaithfulTruncation.RANGE_BITS)
        {
            throw new IllegalArgumentException("fractionalBits must be in [1, 31], was " + fractionalBits);
        }
        this.fractionalBits = fractionalBits;
        final FixedPoint codec = new FixedPoint(fractionalBits);
        this.coefficients = new long[degree + 1];
        for (int k = 1; k <= degree; k++)
        {
            this.coefficients[k] = codec.encode(coefficients[k]);
        }
        this.constant = new FixedPoint(2 * fractionalBits).encode(coefficients[0]);
    }

    /** Rounds of one evaluation: {@code ceil(log2 d)}. */
    public int rounds()
    {
        return ceilLog2(degree);
    }

    /** Beaver triples one evaluation consumes: {@code d - 1}, in the order {@link #powers} uses them. */
    public int triplesNeeded()
    {
        return degree - 1;
    }

    /** The degree d. */
    public int degree()
    {
        return degree;
    }

    /**
     * This party's shares of {@code x^1..x^d} at scale f ({@code powers[k-1]}), x at scale f. {@link #rounds()}
     * rounds; {@code triples} in order, each of x's shape.
     */
    public RingTensor[] powers(final PartySession session, final RingTensor x, final BeaverTriple[] triples)
    {
        if (triples.length != triplesNeeded())
        {
            throw new IllegalArgumentException("degree " + degree + " needs " + triplesNeeded() + " triples, got " +
                triples.length);
        }
        final RingTensor[] powers = new RingTensor[degree];
        powers[0] = x;
        int next = 0;
        for (int h = 1; h < degree; h *= 2)
        {
            final int last = Math.min(2 * h, degree);
            final int count = last - h;
            final RingTensor[] left = new RingTensor[count];
            final RingTensor[] right = new RingTensor[count];
            final BeaverTriple[] round = new BeaverTriple[count];
            for (int j = h + 1; j <= last; j++)
            {
                left[j - h - 1] = powers[h - 1];
                right[j - h - 1] = powers[j - h - 1];
                round[j - h - 1] = triples[next++];
            }
            final RingTensor[] products = BeaverMultiplication.multiply(session, left, right, round);
            for (int j = h + 1; j <= last; j++)
            {
                final RingTensor p = products[j - h - 1];
                LocalTruncation.truncateInto(session, p, fractionalBits, p);
                powers[j - 1] = p;
            }
        }
        return powers;
    }

    /** This party's share of {@code y} at scale f. {@link #rounds()} rounds. */
    public RingTensor evaluate(final PartySession session, final RingTensor x, final BeaverTriple[] triples)
    {
        final RingTensor[] powers = powers(session, x, triples);
        final RingKernels k = session.kernels();
        final long n = x.size();
        final RingTensor y = session.allocate(x.shape());
        try (Arena tmp = session.temporaries())
        {
            final RingTensor term = RingTensor.allocate(tmp, x.shape());
            for (int p = 1; p <= degree; p++)
            {
                k.multiplyConstant(powers[p - 1].segment(), coefficients[p], term.segment(), n);
                k.add(y.segment(), term.segment(), y.segment(), n);
            }
        }
        if (session.holdsConstants())
        {
            k.addConstant(y.segment(), constant, y.segment(), n);
        }
        LocalTruncation.truncateInto(session, y, fractionalBits, y);
        return y;
    }

    static int ceilLog2(final int d)
    {
        return d <= 1 ? 0 : Integer.SIZE - Integer.numberOfLeadingZeros(d - 1);
    }
}
