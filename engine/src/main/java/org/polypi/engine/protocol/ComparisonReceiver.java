package org.polypi.engine.protocol;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.TransportException;
import org.polypi.kernels.RingTensor;

/**
 * A computing party's side of the {@link ComparisonDealer}: a view of its {@link MaterialReceiver}
 * ({@link MaterialReceiver#comparisons()}) sharing its seed stream and sequence; derives its shares and, for the
 * server, receives each piece's corrections and checks the tagged trailer. Requests must come in the dealer's order,
 * interleaved with the core pieces as the dealer dealt them. Material is allocated in the arena of the session passed
 * to each call. Not thread-safe.
 */
public final class ComparisonReceiver
{
    private final MaterialReceiver core;
    private final Party party;
    private final ShareStream stream;

    /** The comparison view of {@code core}: use {@link MaterialReceiver#comparisons()}. */
    ComparisonReceiver(final MaterialReceiver core)
    {
        this.core = core;
        this.party = core.party();
        this.stream = core.stream();
    }

    /** The party whose material this is. */
    public Party party()
    {
        return party;
    }

    /** This party's shares of the dealer's next {@link ComparisonDealer#msbMaterial}. */
    public ComparisonMaterial msbMaterial(final PartySession session, final int... shape)
    {
        return receive(session, ComparisonMaterial.Kind.MSB, shape);
    }

    /** This party's shares of the dealer's next {@link ComparisonDealer#reluMaterial}. */
    public ComparisonMaterial reluMaterial(final PartySession session, final int... shape)
    {
        return receive(session, ComparisonMaterial.Kind.RELU, shape);
    }

    /**
     * This party's shares of the dealer's next {@link ComparisonDealer#maskedReluMaterial}: null when the mask keeps
     * no ReLU (nothing was dealt).
     */
    public ComparisonMaterial maskedReluMaterial(final PartySession session, final ReluMask mask, final int items)
    {
        final int kept = mask.keptFor(items);
        return kept > 0 ? reluMaterial(session, kept) : null;
    }

    /** This party's shares of the dealer's next {@link ComparisonDealer#maxPoolMaterial}, one piece per level. */
    public ComparisonMaterial[] maxPoolMaterial(final PartySession session, final MaxPoolPlan plan)
    {
        final ComparisonMaterial[] out = new ComparisonMaterial[plan.levels()];
        for (int level = 0; level < plan.levels(); level++)
        {
            out[level] = reluMaterial(session, plan.comparisons(level));
        }
        return out;
    }

    private ComparisonMaterial receive(final PartySession session, final ComparisonMaterial.Kind kind,
                                       final int[] shape)
    {
        final long seq = core.next(session);
        final Arena arena = session.arena();
        final RingTensor r = stream.next(arena, shape);
        final int n = Math.toIntExact(r.size());
        final int words = Math.toIntExact(BitShares.words(n));
        final int levels = ComparisonMaterial.XOR_LEVELS;
        final RingTensor[] a = new RingTensor[levels];
        final RingTensor[] b1 = new RingTensor[levels];
        final RingTensor[] b2 = new RingTensor[levels];
        final RingTensor[] c1 = new RingTensor[levels];
        final RingTensor[] c2 = new RingTensor[levels];
        final RingTensor codes;
        final RingTensor msbR;
        final RingTensor masks;
        final RingTensor monomials;
        final RingTensor rProducts;
        final boolean relu = kind == ComparisonMaterial.Kind.RELU;
        if (party == Party.SERVER)
        {
            for (int level = 0; level < levels; level++)
            {
                final int pairs = ComparisonMaterial.pairs(level);
                a[level] = stream.next(arena, pairs, words);
                b1[level] = stream.next(arena, pairs, words);
                b2[level] = stream.next(arena, pairs - 1, words);
            }
            masks = stream.next(arena, ComparisonMaterial.FINAL_MASKS, words);
            final int[][] shapes = new int[2 + 2 * levels + (relu ? 2 : 1)][];
            int p = 0;
            shapes[p++] = new int[]{n, ComparisonMaterial.CODE_WORDS};
            shapes[p++] = new int[]{1, words};
            for (int level = 0; level < levels; level++)
            {
                shapes[p++] = new int[]{ComparisonMaterial.pairs(level), words};
                shapes[p++] = new int[]{ComparisonMaterial.pairs(level) - 1, words};
            }
            shapes[p++] = new int[]{ComparisonMaterial.MONOMIALS, n};
            if (relu)
            {
                shapes[p] = new int[]{ComparisonMaterial.MONOMIALS, n};
            }
            final RingTensor[] got = receivePiece(session, seq, shapes);
            p = 0;
            codes = got[p++];
            msbR = got[p++];
            for (int level = 0; level < levels; level++)
            {
                c1[level] = got[p++];
                c2[level] = got[p++];
            }
            monomials = got[p++];
            rProducts = relu ? got[p] : null;
        }
        else
        {
            codes = stream.next(arena, n, ComparisonMaterial.CODE_WORDS);
            msbR = stream.next(arena, 1, words);
            for (int level = 0; level < levels; level++)
            {
                final int pairs = ComparisonMaterial.pairs(level);
                a[level] = stream.next(arena, pairs, words);
                b1[level] = stream.next(arena, pairs, words);
                b2[level] = stream.next(arena, pairs - 1, words);
                c1[level] = stream.next(arena, pairs, words);
                c2[level] = stream.next(arena, pairs - 1, words);
            }
            masks = stream.next(arena, ComparisonMaterial.FINAL_MASKS, words);
            monomials = stream.next(arena, ComparisonMaterial.MONOMIALS, n);
            rProducts = relu ? stream.next(arena, ComparisonMaterial.MONOMIALS, n) : null;
        }
        return new ComparisonMaterial(kind.idKind() + "#" + seq, kind, r, codes, msbR,
            new ComparisonMaterial.Triples(a, b1, b2, c1, c2), masks, monomials, rProducts);
    }

    /**
     * Receives one piece's message into the session's arena and returns views of its tensors, after checking the
     * tagged sequence trailer.
     */
    private static RingTensor[] receivePiece(final PartySession session, final long seq, final int[]... shapes)
    {
        RingOps.checkWireOrder();
        final long[] bytes = new long[shapes.length];
        long total = 0;
        for (int i = 0; i < shapes.length; i++)
        {
            bytes[i] = (long)shapes[i][0] * shapes[i][1] * RingTensor.ELEMENT_BYTES;
            total += bytes[i];
        }
        final MemorySegment message = session.arena().allocate(total + ComparisonDealer.TRAILER_BYTES,
            RingTensor.ALIGNMENT_BYTES);
        session.transport().receive(Party.DEALER, message);
        final long got = message.get(ComparisonDealer.TRAILER, total);
        final long expected = ComparisonDealer.TRAILER_TAG | seq;
        if (got != expected)
        {
            throw new TransportException(session.party() + ": dealer sent trailer 0x" + Long.toHexString(got) +
                " where comparison material #" + seq + " (0x" + Long.toHexString(expected) + ") was expected " +
                "(the parties requested material in different orders)");
        }
        final RingTensor[] out = new RingTensor[shapes.length];
        long offset = 0;
        for (int i = 0; i < shapes.length; i++)
        {
            out[i] = RingTensor.wrap(message.asSlice(offset, bytes[i]), shapes[i]);
            offset += bytes[i];
        }
        return out;
    }
}
