package org.polypi.engine.protocol;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.polypi.kernels.RingKernels;
import org.polypi.kernels.RingTensor;

/**
 * The fused activation opening (engine-design.md §2): ONE opening of {@code c = z + 2^62 + r} gives each party its
 * shares of {@code x_j^i}, {@code i = 1..k_j}, for every copy j of an {@link ActivationPlan}, where
 * {@code x_j = trunc_{sh_j}(z)} is the faithful truncation of z by {@code sh_j} bits (floor or floor + 1, see
 * {@link FaithfulTruncation}).
 * <p>
 * With {@code C_j = (c >> sh_j) - 2^(62 - sh_j)} public, {@code x_j = C_j + Q_j} and Q_j is one of two candidates
 * that the dealer, knowing r, prepared power tuples for; the public {@code msb(c)} selects one per element. Then
 * {@code [x^m] = sum_i C(m,i) C^(m-i) [Q^i]} ({@link RingKernels#powersFromOpened}). So rescaling and every power
 * cost one round and one ring element sent per party and activation element, with no probability of a large error
 * for {@code |z| < 2^62}.
 * <p>
 * Secure because r is fresh, uniform and used once (enforced): c is uniform and independent of z; everything else
 * is local on fresh additive shares.
 */
public final class FusedActivation
{
    private FusedActivation()
    {
    }

    /**
     * This party's shares of the powers of every truncated copy of z, allocated in the session's arena. One round.
     *
     * @param z this party's share of the activation input, {@code |z| < 2^62}.
     * @throws IllegalArgumentException if the material's shape differs from z's.
     * @throws IllegalStateException if the material was already used.
     */
    public static Powers open(final PartySession session, final RingTensor z, final ActivationMaterial material)
    {
        RingOps.requireSize("z", z, material.r().size());
        if (material.maskFolded())
        {
            throw new IllegalStateException("the mask of " + material.id() + " was folded into a linear layer: the " +
                "powers need z's own masking");
        }
        material.take();
        final ActivationPlan plan = material.plan();
        final long n = z.size();
        final RingTensor[][] powers = new RingTensor[plan.copies()][];
        try (Arena tmp = session.temporaries())
        {
            final RingTensor c = openMasked(session, z, material, tmp);
            for (int j = 0; j < plan.copies(); j++)
            {
                powers[j] = new RingTensor[plan.degree(j)];
                for (int i = 0; i < plan.degree(j); i++)
                {
                    powers[j][i] = session.allocate(z.shape());
                }
            }
            expand(session, c.segment(), material, powers, n);
        }
        return new Powers(plan, powers);
    }

    /**
     * This party's share of a public-coefficient polynomial of the copies' powers, written to {@code out}: the same
     * opening as {@link #open}, then {@code out = constant + zMultiplier·z + sum_j sum_i multipliers[j][i-1] x_j^i}
     * (the constant added by the party that holds constants) in one pass ({@link RingKernels#polynomialFromOpened}),
     * without materializing any power. One round, one ring element sent per element.
     *
     * @param multipliers per copy j of the material's plan, the multiplier of each power 1..degree(j) (0 for a power
     *                    the polynomial does not use).
     * @param zMultiplier multiplier of z itself (a power 1 that needs no truncation), or 0.
     * @throws IllegalArgumentException if the material's shape differs from z's or the multipliers from its plan.
     * @throws IllegalStateException if the material was already used.
     */
    public static void polynomial(final PartySession session, final RingTensor z, final ActivationMaterial material,
                                  final long[][] multipliers, final long zMultiplier, final long constant,
                                  final RingTensor out)
    {
        if (material.maskFolded())
        {
            throw new IllegalStateException("the mask of " + material.id() + " was folded into the linear layer " +
                "producing z: the activation takes that layer's output through polynomialFromMasked");
        }
        final Program program = program(material, multipliers, z, out);
        material.take();
        final RingKernels k = session.kernels();
        final long n = z.size();
        try (Arena tmp = session.temporaries())
        {
            final RingTensor c = openMasked(session, z, material, tmp);
            k.polynomialFromOpened(c.segment(), program.shifts, program.addends, program.base, program.diff,
                multipliers, zMultiplier == 0 ? null : z.segment(), zMultiplier, session.holdsConstants(), constant,
                out.segment(), n);
        }
    }

    /**
     * Local, before the query: folds this activation's mask (this party's share of r, and the offset 2^62 for the
     * party holding constants) into the linear layer that produces z ({@link LinearLayer#foldOutputMask}), so that
     * the layer outputs this party's share of {@code c = z + 2^62 + r} and the activation opens it as it comes
     * ({@link #polynomialFromMasked}): the online pass reading z and r and writing the masked share is gone. Only
     * for an activation that never reads z itself (no power 1 that is z; see PlanCompiler) and a layer whose output
     * it alone reads. Secure: no message changes, each party only adds its own share of r earlier.
     *
     * @return the activation's mask, as this party folded it: add it to the layer's output to see z + 2^62 + r, or
     *         subtract it (and {@link #foldedOffset}) from that to see z (the step observer does).
     * @throws IllegalStateException if the material or the query was already used, or either already folded.
     * @throws IllegalArgumentException if the layer's output has another size than the material.
     */
    public static RingTensor foldMaskIntoLinear(final PartySession session, final LinearLayer.PreparedQuery producer,
                                                final ActivationMaterial material)
    {
        // Checked on both sides before either changes, so a refused fold leaves both as they were.
        material.requireFoldable();
        LinearLayer.foldOutputMask(session, producer, material.r(), foldedOffset(session));
        material.foldMask();
        return material.r();
    }

    /**
     * The constant this party folds with its share of the mask: the opening's offset 2^62 for the party holding
     * constants, 0 for the other.
     */
    public static long foldedOffset(final PartySession session)
    {
        return session.holdsConstants() ? FaithfulTruncation.OFFSET : 0;
    }

    /**
     * As {@link #polynomial} without z: {@code masked} is this party's share of {@code c = z + 2^62 + r}, the output of
     * the linear layer the mask was folded into ({@link #foldMaskIntoLinear}); it is opened in place (it then holds
     * c) and the polynomial computed from c and the material alone. One round, one ring element sent per element.
     *
     * @throws IllegalStateException if the material was already used or its mask not folded.
     * @throws IllegalArgumentException as {@link #polynomial}.
     */
    public static void polynomialFromMasked(final PartySession session, final RingTensor masked,
                                            final ActivationMaterial material, final long[][] multipliers,
                                            final long constant, final RingTensor out)
    {
        if (!material.maskFolded())
        {
            throw new IllegalStateException("the mask of " + material.id() + " was not folded into a linear layer: " +
                "the activation takes z through polynomial");
        }
        final Program program = program(material, multipliers, masked, out);
        material.take();
        Opener.open(session, new RingTensor[]{masked}, new RingTensor[]{masked});
        session.kernels().polynomialFromOpened(masked.segment(), program.shifts, program.addends, program.base,
            program.diff, multipliers, null, 0, session.holdsConstants(), constant, out.segment(), masked.size());
    }

    /** The kernel's per-copy view of the material, after the checks every polynomial entry point shares. */
    private record Program(int[] shifts, long[] addends, MemorySegment[][] base, MemorySegment[][] diff)
    {
    }

    private static Program program(final ActivationMaterial material, final long[][] multipliers, final RingTensor z,
                                   final RingTensor out)
    {
        RingOps.requireSize("z", z, material.r().size());
        RingOps.requireSize("out", out, material.r().size());
        final ActivationPlan plan = material.plan();
        if (multipliers.length != plan.copies())
        {
            throw new IllegalArgumentException(multipliers.length + " copies of multipliers for " + plan);
        }
        final int[] shifts = new int[plan.copies()];
        final long[] addends = new long[plan.copies()];
        final MemorySegment[][] base = new MemorySegment[plan.copies()][];
        final MemorySegment[][] diff = new MemorySegment[plan.copies()][];
        for (int j = 0; j < plan.copies(); j++)
        {
            if (multipliers[j].length != plan.degree(j))
            {
                throw new IllegalArgumentException("copy " + j + " has " + multipliers[j].length +
                    " multipliers, its plan degree is " + plan.degree(j) + " (" + plan + ")");
            }
            shifts[j] = plan.shift(j);
            addends[j] = publicAddend(shifts[j]);
            base[j] = segments(material.base()[j]);
            diff[j] = segments(material.diff()[j]);
        }
        return new Program(shifts, addends, base, diff);
    }

    /** Opens {@code c = z + 2^62 + r} (the offset added by the party holding constants) into {@code tmp}. */
    private static RingTensor openMasked(final PartySession session, final RingTensor z,
                                         final ActivationMaterial material, final Arena tmp)
    {
        final RingKernels k = session.kernels();
        final long n = z.size();
        final RingTensor c = RingTensor.allocate(tmp, z.shape());
        k.add(z.segment(), material.r().segment(), c.segment(), n);
        if (session.holdsConstants())
        {
            k.addConstant(c.segment(), FaithfulTruncation.OFFSET, c.segment(), n);
        }
        Opener.open(session, new RingTensor[]{c}, new RingTensor[]{c});
        return c;
    }

    /** {@code -(2^62 >> sh)}: added to {@code c >> sh} it removes the opening's offset from the public part. */
    private static long publicAddend(final int shift)
    {
        return -(FaithfulTruncation.OFFSET >>> shift);
    }

    private static MemorySegment[] segments(final RingTensor[] tensors)
    {
        final MemorySegment[] s = new MemorySegment[tensors.length];
        for (int i = 0; i < tensors.length; i++)
        {
            s[i] = tensors[i].segment();
        }
        return s;
    }

    /**
     * Everything after the opening, per copy j: {@code [Q^i] = [Q1^i] - msb(c) [Q1^i - Q0^i]} and the binomial
     * expansion around the public part {@code C_j}, fused into one pass over the material and the outputs
     * ({@link RingKernels#selectPowersFromOpened}); the composed form (a whole-tensor kernel per operation, with
     * temporaries) moved about 2.5x the bytes.
     */
    private static void expand(final PartySession session, final MemorySegment c, final ActivationMaterial material,
                               final RingTensor[][] powers, final long n)
    {
        final ActivationPlan plan = material.plan();
        for (int j = 0; j < plan.copies(); j++)
        {
            final int sh = plan.shift(j);
            session.kernels().selectPowersFromOpened(c, sh, publicAddend(sh), segments(material.base()[j]),
                segments(material.diff()[j]), session.holdsConstants(), segments(powers[j]), n);
        }
    }

    /** One party's shares of the powers of every copy: {@code power(j, i) = [x_j^i]}. */
    public static final class Powers
    {
        private final ActivationPlan plan;
        private final RingTensor[][] powers;

        Powers(final ActivationPlan plan, final RingTensor[][] powers)
        {
            this.plan = plan;
            this.powers = powers;
        }

        /** The plan these powers follow. */
        public ActivationPlan plan()
        {
            return plan;
        }

        /**
         * This party's share of {@code x_j^i}, {@code 1 <= i <= plan().degree(j)}.
         *
         * @throws IllegalArgumentException if j or i is out of the plan.
         */
        public RingTensor power(final int j, final int i)
        {
            if (j < 0 || j >= plan.copies() || i < 1 || i > plan.degree(j))
            {
                throw new IllegalArgumentException("power (" + j + ", " + i + ") is not in " + plan);
            }
            return powers[j][i - 1];
        }
    }
}
