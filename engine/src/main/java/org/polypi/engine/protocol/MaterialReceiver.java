package org.polypi.engine.protocol;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.TransportException;
import org.polypi.kernels.AesCtrPrg;
import org.polypi.kernels.RingTensor;

/**
 * A computing party's side of the {@link Dealer}: derives its PRG shares from the seed the dealer sent and, for the
 * server, receives the dealer's message of each piece. Requests must come in the dealer's order (the id of a piece
 * is {@code <kind>#<sequence>} on all three parties); the server checks every message's sequence trailer.
 * Material tensors are allocated in the arena of the session passed to each call. Not thread-safe.
 */
public final class MaterialReceiver
{
    private final Party party;
    private final ShareStream stream;
    private final ComparisonReceiver comparisons;
    private long sequence;

    private MaterialReceiver(final Party party, final byte[] seed)
    {
        this.party = party;
        this.stream = new ShareStream(seed);
        this.comparisons = new ComparisonReceiver(this);
    }

    /** Receives this party's 16-byte seed from the dealer (the dealer's {@link Dealer#start}). */
    public static MaterialReceiver connect(final PartySession session)
    {
        final byte[] seed = new byte[AesCtrPrg.SEED_BYTES];
        session.transport().receive(Party.DEALER, MemorySegment.ofArray(seed));
        return new MaterialReceiver(session.party(), seed);
    }

    /** The party whose material this is. */
    public Party party()
    {
        return party;
    }

    /** The receiver of the {@link Dealer#comparisons()} material, sharing this receiver's stream and sequence. */
    public ComparisonReceiver comparisons()
    {
        return comparisons;
    }

    ShareStream stream()
    {
        return stream;
    }

    /** Receives this party's shares of the dealer's next {@link Dealer#beaverTriple}. */
    public BeaverTriple beaverTriple(final PartySession session, final int... shape)
    {
        final long seq = next(session);
        final Arena arena = session.arena();
        final RingTensor a;
        final RingTensor b;
        final RingTensor c;
        if (party == Party.SERVER)
        {
            a = stream.next(arena, shape);
            b = stream.next(arena, shape);
            c = receive(session, seq, shape)[0];
        }
        else
        {
            a = stream.next(arena, shape);
            b = stream.next(arena, shape);
            c = stream.next(arena, shape);
        }
        return new BeaverTriple(Dealer.id(Dealer.BEAVER, seq), a, b, c);
    }

    /** This party's share of the dealer's next {@link Dealer#linearMask} B for {@code op}. */
    public LinearMask linearMask(final PartySession session, final LinearOp op)
    {
        final long seq = next(session);
        final RingTensor b = stream.next(session.arena(), op.weightShape());
        if (party == Party.SERVER)
        {
            receive(session, seq);
        }
        return new LinearMask(Dealer.id(Dealer.LINEAR_MASK, seq), op, b);
    }

    /** This party's shares of the dealer's next {@link Dealer#linearTriple} for {@code mask}. */
    public LinearTriple linearTriple(final PartySession session, final LinearMask mask)
    {
        final long seq = next(session);
        final LinearOp op = mask.op();
        final RingTensor a = stream.next(session.arena(), op.inputShape());
        final RingTensor c = party == Party.SERVER ? receive(session, seq, op.outputShape())[0] :
            stream.next(session.arena(), op.outputShape());
        return new LinearTriple(Dealer.id(Dealer.LINEAR_TRIPLE, seq), mask.id(), op, a, c);
    }

    /** This party's shares of the dealer's next {@link Dealer#truncationPair}. */
    public FaithfulTruncationPair truncationPair(final PartySession session, final int shift, final int... shape)
    {
        FaithfulTruncation.checkTruncationShift(shift);
        final long seq = next(session);
        final Arena arena = session.arena();
        final RingTensor r = stream.next(arena, shape);
        final RingTensor rShifted;
        final RingTensor msb;
        if (party == Party.SERVER)
        {
            final RingTensor[] got = receive(session, seq, shape, shape);
            rShifted = got[0];
            msb = got[1];
        }
        else
        {
            rShifted = stream.next(arena, shape);
            msb = stream.next(arena, shape);
        }
        return new FaithfulTruncationPair(Dealer.id(Dealer.TRUNCATION, seq), shift, r, rShifted, msb);
    }

    /** This party's shares of the dealer's next {@link Dealer#powerTuple}. */
    public PowerTuple powerTuple(final PartySession session, final int degree, final int... shape)
    {
        Dealer.checkDegree(degree, 1);
        final long seq = next(session);
        final RingTensor[] powers = new RingTensor[degree];
        powers[0] = stream.next(session.arena(), shape);
        final RingTensor[] rest = party == Party.SERVER ? receive(session, seq, repeat(shape, degree - 1)) :
            draw(session.arena(), degree - 1, shape);
        System.arraycopy(rest, 0, powers, 1, degree - 1);
        return new PowerTuple(Dealer.id(Dealer.POWERS, seq), powers);
    }

    /** This party's shares of the dealer's next {@link Dealer#activationMaterial}. */
    public ActivationMaterial activationMaterial(final PartySession session, final ActivationPlan plan,
                                                 final int... shape)
    {
        final long seq = next(session);
        final RingTensor r = stream.next(session.arena(), shape);
        final int count = plan.materialTensors();
        final RingTensor[] flat = party == Party.SERVER ? receive(session, seq, repeat(shape, count)) :
            draw(session.arena(), count, shape);
        final RingTensor[][] base = new RingTensor[plan.copies()][];
        final RingTensor[][] diff = new RingTensor[plan.copies()][];
        int c = 0;
        for (int j = 0; j < plan.copies(); j++)
        {
            // Per copy its k bases, then its difference words (Dealer.activationMaterial's order).
            base[j] = new RingTensor[plan.degree(j)];
            diff[j] = new RingTensor[plan.differenceWords(j)];
            for (int i = 0; i < base[j].length; i++)
            {
                base[j][i] = flat[c++];
            }
            for (int w = 0; w < diff[j].length; w++)
            {
                diff[j][w] = flat[c++];
            }
        }
        return new ActivationMaterial(Dealer.id(Dealer.ACTIVATION, seq), plan, r, base, diff);
    }

    /** This party's view of the dealer's next {@link Dealer#espnTuple}. */
    public EspnTuple espnTuple(final PartySession session, final int degree, final int... shape)
    {
        Dealer.checkDegree(degree, 2);
        final long seq = next(session);
        final Arena arena = session.arena();
        final RingTensor[] masks = draw(arena, degree - 1, shape);
        final int count = EspnTuple.productCount(degree);
        final RingTensor[] products = party == Party.SERVER ? receive(session, seq, repeat(shape, count)) :
            draw(arena, count, shape);
        return new EspnTuple(Dealer.id(Dealer.ESPN, seq), party, degree, masks, products);
    }

    long next(final PartySession session)
    {
        if (session.party() != party)
        {
            throw new IllegalArgumentException("material of " + party + " requested through " + session.party() +
                "'s session");
        }
        return sequence++;
    }

    private RingTensor[] draw(final Arena arena, final int count, final int[] shape)
    {
        final RingTensor[] out = new RingTensor[count];
        for (int i = 0; i < count; i++)
        {
            out[i] = stream.next(arena, shape);
        }
        return out;
    }

    /**
     * Receives one piece's message, checks its sequence trailer and copies each of its tensors into a tensor of its
     * own in the session's arena. Own tensors rather than views of one message: a message's tensors start at offsets
     * that are multiples of their size, the same offset modulo 4 KiB for every tensor of a large piece, and a kernel
     * streaming them together (the fused activation reads ten) then hits the same L1 sets with every stream; the
     * query arena staggers separate allocations (see {@code QueryArena}). Over the in-memory transport the tensors
     * are copied straight from its buffer, so this costs no more than receiving into one segment did; over TCP the
     * message lands in a scratch segment first, one more copy of the material, in the offline phase.
     */
    private static RingTensor[] receive(final PartySession session, final long seq, final int[]... shapes)
    {
        RingOps.checkWireOrder();
        final long[] bytes = new long[shapes.length];
        long total = 0;
        for (int i = 0; i < shapes.length; i++)
        {
            bytes[i] = elements(shapes[i]) * RingTensor.ELEMENT_BYTES;
            total += bytes[i];
        }
        final long tensorBytes = total;
        final RingTensor[] out = new RingTensor[shapes.length];
        try (Arena scratch = Arena.ofConfined())
        {
            session.transport().receive(Party.DEALER, total + Dealer.TRAILER_BYTES, scratch, message ->
            {
                final long got = message.get(Dealer.TRAILER, tensorBytes);
                if (got != seq)
                {
                    throw new TransportException(session.party() + ": dealer sent material #" + got + " where #" +
                        seq + " was expected (the parties requested material in different orders)");
                }
                long offset = 0;
                for (int i = 0; i < shapes.length; i++)
                {
                    out[i] = session.allocate(shapes[i]);
                    MemorySegment.copy(message, offset, out[i].segment(), 0, bytes[i]);
                    offset += bytes[i];
                }
            });
        }
        return out;
    }

    private static long elements(final int[] shape)
    {
        long n = 1;
        for (final int d : shape)
        {
            if (d <= 0)
            {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has a non-positive dimension");
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    private static int[][] repeat(final int[] shape, final int count)
    {
        final int[][] out = new int[count][];
        Arrays.fill(out, shape);
        return out;
    }
}
