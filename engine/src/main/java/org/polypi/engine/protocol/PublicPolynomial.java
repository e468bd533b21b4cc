package org.polypi.engine.protocol;

import java.lang.foreign.Arena;
import java.util.Arrays;

import org.polypi.kernels.FixedPoint;
import org.polypi.kernels.RingKernels;
import org.polypi.kernels.RingTensor;

/**
 * A public polynomial activation {@code y = sum_k a_k z^k} evaluated on top of one {@link FusedActivation} opening
 * (engine-design.md §2 and seeds.md §2.4).
 * <p>
 * <b>Scales.</b> The input z has {@code s_z >= f} fractional bits (typically 2f, straight out of a linear layer).
 * Power k uses the copy {@code x = trunc_{sh_k}(z)} with {@code sh_k = s_z - f + s_k},
 * {@code s_k = max(0, ceil((k - 2) f / k))}, so x has {@code f - s_k} fractional bits and x^k has
 * {@code k (f - s_k) <= 2f}; it is aligned to 2f by an exact left shift, multiplied by {@code encode_f(a_k)}, and
 * the sum plus {@code encode_3f(a_0)} (added by party 0) is the output at scale {@code 3f}. Zero coefficients cost
 * nothing. Needs {@code 3f <= 62}.
 * <p>
 * <b>Error.</b> The secure result equals {@link #plaintextFromCopies} of copies {@code x_j + b_j},
 * {@code b_j in {0, 1}} (faithful truncation), so it differs from the floor-truncation reference {@link #plaintext}
 * by at most {@link #errorBound} units of 2^-3f: {@code sum_k |m_k| k (|x_k| + 1)^(k-1)}, {@code m_k} the aligned
 * coefficient. There is no large-error event for {@code |z| < 2^62}.
 * <p>
 * Secure as {@link FusedActivation}: the combination is local with public coefficients.
 */
public final class PublicPolynomial
{
    private static final int POWER_SCALE_FACTOR = 2;
    private static final int OUTPUT_SCALE_FACTOR = 3;

    private final int degree;
    private final int fractionalBits;
    private final int inputScale;
    private final ActivationPlan plan;
    /** Per power k (index k): copy index, or -1 when a_k = 0. */
    private final int[] copyOfPower;
    /** Per power k: {@code encode_f(a_k) * 2^(2f - k (f - s_k))}, the multiplier of the share of x^k. */
    private final long[] multiplier;
    private final long constant;

    /**
     * A polynomial with real coefficients {@code a_0..a_d} ({@code coefficients[k] = a_k}) for inputs at scale
     * {@code inputScale} and f fractional bits.
     *
     * @throws IllegalArgumentException if {@code 3f > 62}, {@code inputScale < f}, a shift would exceed 62, or every
     *                                  a_k with k >= 1 is zero.
     */
    public PublicPolynomial(final double[] coefficients, final int fractionalBits, final int inputScale)
    {
        if (coefficients.length < 2)
        {
            throw new IllegalArgumentException("need coefficients a_0..a_d with d >= 1, got " + coefficients.length);
        }
        if (fractionalBits < 1 || OUTPUT_SCALE_FACTOR * fractionalBits > FaithfulTruncation.RANGE_BITS)
        {
            throw new IllegalArgumentException("fractionalBits must be in [1, 20] (3f <= 62), was " + fractionalBits);
        }
        if (inputScale < fractionalBits)
        {
            throw new IllegalArgumentException("inputScale " + inputScale + " must be at least f = " + fractionalBits);
        }
        this.degree = coefficients.length - 1;
        Dealer.checkDegree(degree, 1);
        this.fractionalBits = fractionalBits;
        this.inputScale = inputScale;
        final FixedPoint coefficientCodec = new FixedPoint(fractionalBits);
        this.constant = new FixedPoint(OUTPUT_SCALE_FACTOR * fractionalBits).encode(coefficients[0]);
        this.copyOfPower = new int[degree + 1];
        this.multiplier = new long[degree + 1];
        final int[] shifts = new int[degree];
        final int[] degrees = new int[degree];
        int copies = 0;
        copyOfPower[0] = -1;
        for (int k = 1; k <= degree; k++)
        {
            final long a = coefficientCodec.encode(coefficients[k]);
            if (a == 0)
            {
                copyOfPower[k] = -1;
                continue;
            }
            final int sk = preScale(k, fractionalBits);
            final int sh = inputScale - fractionalBits + sk;
            RingOps.checkShift(sh);
            int j = -1;
            for (int c = 0; c < copies; c++)
            {
                if (shifts[c] == sh)
                {
                    j = c;
                }
            }
            if (j < 0)
            {
                j = copies++;
                shifts[j] = sh;
            }
            degrees[j] = Math.max(degrees[j], k);
            copyOfPower[k] = j;
            final int align = POWER_SCALE_FACTOR * fractionalBits - k * (fractionalBits - sk);
            multiplier[k] = a * RingOps.pow2(align);
        }
        if (copies == 0)
        {
            throw new IllegalArgumentException("every coefficient a_1..a_d rounds to 0 at f = " + fractionalBits +
                ": " + Arrays.toString(coefficients));
        }
        this.plan = ActivationPlan.of(Arrays.copyOf(shifts, copies), Arrays.copyOf(degrees, copies));
    }

    /** ESPN's pre-scaling of power k: {@code s_k = max(0, ceil((k - 2) f / k))} fractional bits dropped. */
    public static int preScale(final int k, final int fractionalBits)
    {
        return Math.max(0, Math.ceilDiv((k - POWER_SCALE_FACTOR) * fractionalBits, k));
    }

    /** The material plan of one evaluation: which truncated copies, up to which power. */
    public ActivationPlan plan()
    {
        return plan;
    }

    /** Fractional bits of the output: {@code 3f}. */
    public int outputScale()
    {
        return OUTPUT_SCALE_FACTOR * fractionalBits;
    }

    /** The degree d. */
    public int degree()
    {
        return degree;
    }

    /** Fractional bits of the input. */
    public int inputScale()
    {
        return inputScale;
    }

    /**
     * Evaluates on shared z with one opening: this party's share of y at scale {@link #outputScale()}, in the
     * session's arena, in one pass after the opening ({@link FusedActivation#polynomial}, the engine's path). One
     * round, one element sent per party and element.
     */
    public RingTensor evaluate(final PartySession session, final RingTensor z, final ActivationMaterial material)
    {
        if (!material.plan().equals(plan))
        {
            throw new IllegalArgumentException("material " + material.id() + " was made for " + material.plan() +
                ", this polynomial needs " + plan);
        }
        final RingTensor y = session.allocate(z.shape());
        FusedActivation.polynomial(session, z, material, copyMultipliers(), 0L, constant, y);
        return y;
    }

    /** Per copy j, the multiplier of each of its powers 1..degree(j) (0 where the polynomial does not use it). */
    private long[][] copyMultipliers()
    {
        final long[][] m = new long[plan.copies()][];
        for (int j = 0; j < m.length; j++)
        {
            m[j] = new long[plan.degree(j)];
        }
        for (int p = 1; p <= degree; p++)
        {
            if (copyOfPower[p] >= 0)
            {
                m[copyOfPower[p]][p - 1] = multiplier[p];
            }
        }
        return m;
    }

    /** Local: {@code sum_k m_k [x^k] + (party 0) encode_3f(a_0)} from the powers of one fused opening. */
    public RingTensor combine(final PartySession session, final FusedActivation.Powers powers)
    {
        final RingKernels k = session.kernels();
        final RingTensor first = powers.power(0, 1);
        final long n = first.size();
        final RingTensor y = session.allocate(first.shape());
        try (Arena tmp = session.temporaries())
        {
            final RingTensor term = RingTensor.allocate(tmp, first.shape());
            for (int p = 1; p <= degree; p++)
            {
                if (copyOfPower[p] >= 0)
                {
                    k.multiplyConstant(powers.power(copyOfPower[p], p).segment(), multiplier[p], term.segment(), n);
                    k.add(y.segment(), term.segment(), y.segment(), n);
                }
            }
        }
        if (session.holdsConstants())
        {
            k.addConstant(y.segment(), constant, y.segment(), n);
        }
        return y;
    }

    /** The reference in the clear with floor truncations: {@link #plaintextFromCopies} of {@code z >> sh_j}. */
    public long plaintext(final long z)
    {
        final long[] copies = new long[plan.copies()];
        for (int j = 0; j < copies.length; j++)
        {
            copies[j] = z >> plan.shift(j);
        }
        return plaintextFromCopies(copies);
    }

    /** {@code sum_k m_k x_{j(k)}^k + encode_3f(a_0)} in the ring, from the truncated copies {@code x_j}. */
    public long plaintextFromCopies(final long[] copies)
    {
        long y = constant;
        for (int p = 1; p <= degree; p++)
        {
            if (copyOfPower[p] >= 0)
            {
                long power = 1;
                for (int i = 0; i < p; i++)
                {
                    power *= copies[copyOfPower[p]];
                }
                y += multiplier[p] * power;
            }
        }
        return y;
    }

    /**
     * Largest difference, in units of 2^-3f, between the secure result and {@link #plaintext}{@code (z)}:
     * {@code sum_k |m_k| k (|z >> sh_k| + 1)^(k-1)} (each copy may be one more than the floor).
     */
    public double errorBound(final long z)
    {
        double bound = 0;
        for (int p = 1; p <= degree; p++)
        {
            if (copyOfPower[p] >= 0)
            {
                final double x = Math.abs((double)(z >> plan.shift(copyOfPower[p]))) + 1;
                bound += Math.abs((double)multiplier[p]) * p * Math.pow(x, p - 1);
            }
        }
        return bound;
    }

    /** Scale of {@code [x^k]} as the protocol produces it, before alignment: {@code k (f - s_k)}. */
    public int powerScale(final int k)
    {
        return k * (fractionalBits - preScale(k, fractionalBits));
    }
}
