package org.polypi.engine.protocol;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.polypi.engine.transport.Transport;
import org.polypi.kernels.RingKernels;
import org.polypi.kernels.RingTensor;

/**
 * Opening of masked values between the two computing parties: each sends its share and receives the other's, and
 * both add. All tensors of one call travel in ONE message per direction, so an opening is one round however many
 * tensors a step opens; the round is counted here, the bytes by the transport.
 * <p>
 * Secure only for values that are masked by fresh dealer randomness unknown to the receiver (x - a with a fresh
 * uniform a): the opened value is then uniform and independent of the secret. Which values are safe to open is the
 * calling protocol's argument; this class only moves them. Wire format: the tensors' elements back to back, 8-byte
 * little-endian words, in argument order.
 */
public final class Opener
{
    private Opener()
    {
    }

    /**
     * Opens one tensor: returns {@code share + peer's share}, allocated in the session's arena. One round.
     */
    public static RingTensor open(final PartySession session, final RingTensor share)
    {
        final RingTensor out = session.allocate(share.shape());
        open(session, new RingTensor[]{share}, new RingTensor[]{out});
        return out;
    }

    /**
     * Opens several tensors in one round: {@code opened[i] = shares[i] + peer's shares[i]}. {@code opened[i]} may be
     * {@code shares[i]} itself (in place).
     *
     * @throws IllegalArgumentException if the arrays differ in length or a pair differs in size.
     */
    public static void open(final PartySession session, final RingTensor[] shares, final RingTensor[] opened)
    {
        checkPairs("shares", shares, "opened", opened);
        final RingKernels k = session.kernels();
        try (Arena tmp = session.temporaries())
        {
            // The peer's shares are added where the transport holds them (in memory: its own buffer), so the
            // message is read once rather than copied out and read again.
            send(session, shares, tmp);
            session.transport().receive(session.peer(), totalBytes(shares), tmp, received ->
            {
                long offset = 0;
                for (int i = 0; i < shares.length; i++)
                {
                    final long bytes = shares[i].byteSize();
                    k.add(shares[i].segment(), received.asSlice(offset, bytes), opened[i].segment(),
                        shares[i].size());
                    offset += bytes;
                }
            });
            session.countRound();
        }
    }

    /**
     * Opens {@code share} without writing the sum: sends it and hands the peer's share, in place and read-only, to
     * {@code consumer}, whose own pass forms the opened value ({@code share + peer's}, plus any public offset) where
     * it needs it; a kernel that reads the opened value once thus saves the pass that would write it and the pass
     * that would read it back. One round, the same bytes as {@link #open(PartySession, RingTensor)}.
     */
    public static void openWith(final PartySession session, final RingTensor share,
                                final Transport.MessageReader consumer)
    {
        try (Arena tmp = session.temporaries())
        {
            send(session, new RingTensor[]{share}, tmp);
            session.transport().receive(session.peer(), share.byteSize(), tmp, consumer);
            session.countRound();
        }
    }

    /**
     * Sends {@code mine} and receives the peer's tensors of the same sizes into {@code theirs}, in one round and one
     * message per direction, without adding (for protocols where each party sends a value of its own, such as ESPN's
     * masked share powers).
     *
     * @throws IllegalArgumentException if the arrays differ in length or a pair differs in size.
     */
    public static void exchange(final PartySession session, final RingTensor[] mine, final RingTensor[] theirs)
    {
        checkPairs("mine", mine, "theirs", theirs);
        try (Arena tmp = session.temporaries())
        {
            send(session, mine, tmp);
            session.transport().receive(session.peer(), totalBytes(mine), tmp, received ->
            {
                long offset = 0;
                for (final RingTensor t : theirs)
                {
                    MemorySegment.copy(received, offset, t.segment(), 0, t.byteSize());
                    offset += t.byteSize();
                }
            });
            session.countRound();
        }
    }

    /**
     * Sends the concatenation of {@code mine} to the peer. Both parties send first and then wait: the transport
     * buffers, so neither blocks on the other's receive, and the exchange costs one latency rather than two.
     */
    private static void send(final PartySession session, final RingTensor[] mine, final Arena tmp)
    {
        RingOps.checkWireOrder();
        final MemorySegment message;
        if (mine.length == 1)
        {
            message = mine[0].segment();
        }
        else
        {
            message = tmp.allocate(totalBytes(mine), RingTensor.ALIGNMENT_BYTES);
            long offset = 0;
            for (final RingTensor t : mine)
            {
                MemorySegment.copy(t.segment(), 0, message, offset, t.byteSize());
                offset += t.byteSize();
            }
        }
        session.transport().send(session.peer(), message);
    }

    private static long totalBytes(final RingTensor[] tensors)
    {
        long bytes = 0;
        for (final RingTensor t : tensors)
        {
            bytes += t.byteSize();
        }
        return bytes;
    }

    private static void checkPairs(final String nameA, final RingTensor[] a, final String nameB, final RingTensor[] b)
    {
        if (a.length == 0 || a.length != b.length)
        {
            throw new IllegalArgumentException(nameA + " and " + nameB + " must have the same positive length, were " +
                a.length + " and " + b.length);
        }
        for (int i = 0; i < a.length; i++)
        {
            RingTensor.requireSameSize(nameA + "[" + i + "]", a[i], nameB + "[" + i + "]", b[i]);
        }
    }
}
