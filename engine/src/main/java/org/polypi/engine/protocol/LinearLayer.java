package org.polypi.engine.protocol;

import java.util.Arrays;
import java.util.Objects;

import org.polypi.engine.transport.Party;
import org.polypi.kernels.RingKernels;
import org.polypi.kernels.RingTensor;

/**
 * A linear layer {@code Z = X·W} (matmul or conv2d) with the weight side opened once (protocol-notes §1): the server
 * holds W in the clear, X is shared.
 * <ul>
 *   <li>Set-up, once per model and connection: open {@code F = W - B} (the server sends {@code W - B_0}, the client
 *       {@code -B_1}); one round, |W| elements per party.</li>
 *   <li>Before the query (local): {@code P_0 = A_0·F + C_0}, {@code P_1 = A_1·F + C_1}.</li>
 *   <li>Online: open {@code E = X - A}; then {@code Z_0 = E·(F + B_0) + P_0}, {@code Z_1 = E·B_1 + P_1}: one round,
 *       |X| elements sent per party, one product of the layer's size per party.</li>
 * </ul>
 * Secure (semi-honest, dealer non-colluding) because F is W plus the one-time pad -B (B uniform, unknown to the
 * client, used for nothing else), each E is X minus a fresh uniform A used once (enforced by {@link LinearTriple}
 * and {@link PreparedQuery}), and C's shares are fresh: each party's view is uniform values plus its own shares.
 */
public final class LinearLayer
{
    private LinearLayer()
    {
    }

    /**
     * Server side of the set-up: opens {@code F = W - B} and keeps {@code F + B_0}.
     *
     * @param weights the layer's weights in the clear, shape {@code mask.op().weightShape()}.
     */
    public static Prepared setupServer(final PartySession session, final LinearMask mask, final RingTensor weights)
    {
        InputSharing.require(session, Party.SERVER);
        final LinearOp op = mask.op();
        checkShape("weights", weights, op.weightShape());
        mask.take();
        final RingKernels k = session.kernels();
        final long n = op.weightSize();
        final RingTensor f = session.allocate(op.weightShape());
        k.sub(weights.segment(), mask.b().segment(), f.segment(), n);
        Opener.open(session, new RingTensor[]{f}, new RingTensor[]{f});
        final RingTensor m = session.allocate(op.weightShape());
        k.add(f.segment(), mask.b().segment(), m.segment(), n);
        return new Prepared(mask.id(), op, f, m);
    }

    /** Client side of the set-up: opens {@code F = W - B} and keeps {@code B_1}. */
    public static Prepared setupClient(final PartySession session, final LinearMask mask)
    {
        InputSharing.require(session, Party.CLIENT);
        final LinearOp op = mask.op();
        mask.take();
        final RingTensor f = session.allocate(op.weightShape());
        session.kernels().negate(mask.b().segment(), f.segment(), op.weightSize());
        Opener.open(session, new RingTensor[]{f}, new RingTensor[]{f});
        return new Prepared(mask.id(), op, f, mask.b());
    }

    /**
     * Local, before the query: consumes {@code triple} and computes this party's input-independent term
     * {@code P_b = A_b·F + C_b}.
     *
     * @throws IllegalArgumentException if the triple was made for another weight mask.
     * @throws IllegalStateException if the triple was already used.
     */
    public static PreparedQuery prepareQuery(final PartySession session, final Prepared layer,
                                             final LinearTriple triple)
    {
        if (!triple.maskId().equals(layer.maskId))
        {
            throw new IllegalArgumentException("triple " + triple.id() + " belongs to weight mask " + triple.maskId() +
                ", the layer was set up with " + layer.maskId);
        }
        triple.take();
        final LinearOp op = layer.op;
        final RingTensor p = session.allocate(op.outputShape());
        op.apply(session.kernels(), triple.a().segment(), layer.f.segment(), p.segment());
        session.kernels().add(p.segment(), triple.c().segment(), p.segment(), p.size());
        return new PreparedQuery(triple.id(), triple.a(), p);
    }

    /**
     * Local, before the query: makes the truncation that produces this layer's input output this party's share of
     * {@code E = X - A} instead of X, by folding its share of A into the truncation's (the pair returned replaces
     * {@code producer}, which is consumed). The online step is then {@link #onlineFromMasked}: the subtraction
     * {@code X - A} (a pass reading X and A and writing E) is gone from the online phase, done by the truncation's
     * own pass. Only for a truncation whose output this layer alone reads: nothing else may see E in place of X.
     * Secure: it changes no message, only where a party subtracts its own share of A from its own share of X.
     *
     * @throws IllegalStateException if this query's mask was already folded, or the pair already used.
     * @throws IllegalArgumentException if the pair truncates another number of elements than the layer's input.
     */
    public static FaithfulTruncationPair foldMaskIntoTruncation(final PartySession session, final PreparedQuery query,
                                                                final FaithfulTruncationPair producer)
    {
        if (query.maskFolded)
        {
            throw new IllegalStateException("the input mask of " + query.id() + " is already folded into a " +
                "truncation");
        }
        final FaithfulTruncationPair folded = producer.minusAddend(session.kernels(), session.arena(), query.a);
        query.maskFolded = true;
        return folded;
    }

    /**
     * Local, before the query: adds {@code addend} (this party's share of the reader's mask) and {@code constant} to
     * this party's precomputed term, so that the layer outputs its share of {@code X·W + mask} (plus the constant)
     * instead of {@code X·W}: the reader then opens the layer's output as it comes, without a masking pass of its
     * own. Only for a layer whose output that reader alone reads. Secure: no message changes, each party only adds
     * its own share of the mask earlier.
     *
     * @throws IllegalStateException if the query was already used or its output already masked.
     * @throws IllegalArgumentException if the addend's size differs from the layer's output.
     */
    static void foldOutputMask(final PartySession session, final PreparedQuery query, final RingTensor addend,
                               final long constant)
    {
        RingOps.requireSize("output mask", addend, query.p.size());
        if (query.use.used())
        {
            throw new IllegalStateException("material " + query.id() + " already used");
        }
        if (query.outputMasked)
        {
            throw new IllegalStateException("the output of " + query.id() + " is already masked");
        }
        final RingKernels k = session.kernels();
        k.add(query.p.segment(), addend.segment(), query.p.segment(), query.p.size());
        if (constant != 0)
        {
            k.addConstant(query.p.segment(), constant, query.p.segment(), query.p.size());
        }
        query.outputMasked = true;
    }

    /**
     * Online: this party's share of {@code X·W} from its share of X. One round, |X| elements sent per party.
     *
     * @throws IllegalStateException if {@code query} was already used, or its mask was folded into the truncation
     *         producing X ({@link #onlineFromMasked} takes that truncation's output).
     */
    public static RingTensor online(final PartySession session, final Prepared layer, final PreparedQuery query,
                                    final RingTensor x)
    {
        final LinearOp op = layer.op;
        checkShape("x", x, op.inputShape());
        if (query.maskFolded)
        {
            throw new IllegalStateException("the input mask of " + query.id() + " was folded into a truncation: " +
                "the layer takes that truncation's output, X - A, through onlineFromMasked");
        }
        query.use.take();
        // E lives in the query's arena rather than an arena of its own: closing a shared arena per layer costs a
        // handshake with every thread, and the query arena is shared so the product can still use every core.
        final RingTensor e = session.allocate(op.inputShape());
        session.kernels().sub(x.segment(), query.a.segment(), e.segment(), e.size());
        return openAndMultiply(session, layer, query, e);
    }

    /**
     * Online, after {@link #foldMaskIntoTruncation}: this party's share of {@code X·W} from its share of
     * {@code E = X - A} (the folded truncation's output, overwritten with the opened E). One round, |X| elements sent
     * per party.
     *
     * @throws IllegalStateException if {@code query} was already used or its mask was not folded.
     */
    public static RingTensor onlineFromMasked(final PartySession session, final Prepared layer,
                                              final PreparedQuery query, final RingTensor maskedShare)
    {
        checkShape("X - A", maskedShare, layer.op.inputShape());
        if (!query.maskFolded)
        {
            throw new IllegalStateException("the input mask of " + query.id() + " was not folded into a " +
                "truncation: the layer takes X through online");
        }
        query.use.take();
        return openAndMultiply(session, layer, query, maskedShare);
    }

    /** Opens E in place and accumulates {@code E·M_b} into {@code P_b}, which becomes the share. */
    private static RingTensor openAndMultiply(final PartySession session, final Prepared layer,
                                              final PreparedQuery query, final RingTensor e)
    {
        Opener.open(session, new RingTensor[]{e}, new RingTensor[]{e});
        // The share is P_b + E·M_b, accumulated into P_b (single use, so it can become the output): the product's
        // own pass over its output adds P instead of a separate add reading both and writing the result.
        final RingTensor z = query.p;
        layer.op.applyAccumulate(session.kernels(), e.segment(), layer.m.segment(), z.segment());
        return z;
    }

    private static void checkShape(final String name, final RingTensor t, final int[] shape)
    {
        if (!Arrays.equals(t.shape(), shape))
        {
            throw new IllegalArgumentException(name + " has shape " + Arrays.toString(t.shape()) +
                ", the layer needs " + Arrays.toString(shape));
        }
        RingTensor.checkAlive(name, t.segment());
    }

    /** One party's state of a set-up layer: the opened F and its weight-side operand (F + B_0, or B_1). */
    public static final class Prepared
    {
        private final String maskId;
        private final LinearOp op;
        private final RingTensor f;
        private final RingTensor m;

        private Prepared(final String maskId, final LinearOp op, final RingTensor f, final RingTensor m)
        {
            this.maskId = Objects.requireNonNull(maskId);
            this.op = op;
            this.f = f;
            this.m = m;
        }

        /** The layer. */
        public LinearOp op()
        {
            return op;
        }

        /** Id of the weight mask the layer was set up with. */
        public String maskId()
        {
            return maskId;
        }
    }

    /** One party's precomputed per-query state: A_b and {@code P_b = A_b·F + C_b}. Single use. */
    public static final class PreparedQuery
    {
        private final SingleUse use;
        private final RingTensor a;
        private final RingTensor p;
        /** A was folded into the truncation producing X ({@link #foldMaskIntoTruncation}). */
        private boolean maskFolded;
        /** The reader's mask was folded into P ({@link #foldOutputMask}): the layer outputs its masked share. */
        private boolean outputMasked;

        private PreparedQuery(final String id, final RingTensor a, final RingTensor p)
        {
            this.use = new SingleUse(id);
            this.a = a;
            this.p = p;
        }

        /** The id of the triple it was made from. */
        public String id()
        {
            return use.id();
        }

        /** True once the online step consumed it. */
        public boolean used()
        {
            return use.used();
        }

        /** True if the reader's mask was folded into the layer's output. */
        public boolean outputMasked()
        {
            return outputMasked;
        }

        /** True if its mask was folded into the truncation producing the layer's input. */
        public boolean maskFolded()
        {
            return maskFolded;
        }

        /** This party's share of the input mask A (read only; for diagnostics that need X back from X - A). */
        public RingTensor mask()
        {
            return a;
        }
    }
}
