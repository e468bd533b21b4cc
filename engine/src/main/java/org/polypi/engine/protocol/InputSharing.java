package org.polypi.engine.protocol;

import java.lang.foreign.MemorySegment;
import java.security.SecureRandom;

import org.polypi.engine.transport.Party;
import org.polypi.kernels.AesCtrPrg;
import org.polypi.kernels.RingTensor;

/**
 * The client secret-shares its (encoded) input: it draws a fresh 16-byte seed, sends it to the server, and both
 * expand it into the server's share {@code s = PRG(seed)}; the client keeps {@code x - s}. 16 bytes on the wire
 * instead of a tensor; one one-way message, counted as one round by both parties.
 * <p>
 * Secure because the seed is chosen independently of x and fresh per input: the server's whole view (the seed) is
 * independent of x, and the client's share is its own.
 */
public final class InputSharing
{
    /** PRG stream of an input seed that the server's share is drawn from. */
    public static final long INPUT_STREAM = 0;

    private InputSharing()
    {
    }

    /**
     * Client side: shares {@code x}, sends the seed, returns the client's share {@code x - PRG(seed)}.
     *
     * @throws IllegalArgumentException if the session is not the client's.
     */
    public static RingTensor clientShare(final PartySession session, final RingTensor x, final SecureRandom random)
    {
        require(session, Party.CLIENT);
        final byte[] seed = new byte[AesCtrPrg.SEED_BYTES];
        random.nextBytes(seed);
        session.transport().send(Party.SERVER, MemorySegment.ofArray(seed));
        session.countRound();
        final RingTensor share = session.allocate(x.shape());
        new AesCtrPrg(seed, INPUT_STREAM).fill(share, 0);
        session.kernels().sub(x.segment(), share.segment(), share.segment(), x.size());
        return share;
    }

    /**
     * Server side: receives the client's seed and returns the server's share of an input of {@code shape}.
     *
     * @throws IllegalArgumentException if the session is not the server's.
     */
    public static RingTensor serverShare(final PartySession session, final int... shape)
    {
        require(session, Party.SERVER);
        final byte[] seed = new byte[AesCtrPrg.SEED_BYTES];
        session.transport().receive(Party.CLIENT, MemorySegment.ofArray(seed));
        session.countRound();
        final RingTensor share = session.allocate(shape);
        new AesCtrPrg(seed, INPUT_STREAM).fill(share, 0);
        return share;
    }

    static void require(final PartySession session, final Party party)
    {
        if (session.party() != party)
        {
            throw new IllegalArgumentException("this side of the protocol is " + party + "'s, the session is " +
                session.party() + "'s");
        }
    }
}
