package org.polypi.engine.protocol;

import org.polypi.engine.transport.Party;
import org.polypi.kernels.RingTensor;

/**
 * The prediction is revealed to the client only: the server sends its share of the logits, the client adds its own.
 * One one-way message of the output's size, counted as one round by both parties.
 * <p>
 * Secure for the client's privacy because the server receives nothing here (and nothing derived from the output
 * anywhere else); the client learns the logits, which is the purpose of the query.
 */
public final class OutputReconstruction
{
    private OutputReconstruction()
    {
    }

    /** Server side: sends the server's share of the output to the client. */
    public static void serverSend(final PartySession session, final RingTensor share)
    {
        InputSharing.require(session, Party.SERVER);
        RingOps.checkWireOrder();
        session.transport().send(Party.CLIENT, share.segment());
        session.countRound();
    }

    /** Client side: receives the server's share and returns the output in the clear. */
    public static RingTensor clientReceive(final PartySession session, final RingTensor share)
    {
        InputSharing.require(session, Party.CLIENT);
        RingOps.checkWireOrder();
        final RingTensor out = session.allocate(share.shape());
        session.transport().receive(Party.SERVER, out.segment());
        session.countRound();
        session.kernels().add(out.segment(), share.segment(), out.segment(), share.size());
        return out;
    }
}
