package org.polypi.engine.secure;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HexFormat;

import org.polypi.engine.plan.Plan;
import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.Transport;

/**
 * The first exchange of a connection: every party sends each of the other two the plan hash and the batch size, and
 * checks what it receives against its own. A mismatch ends the set-up before any secret is touched: the parties
 * would otherwise request material in different shapes and orders. One round per party, {@link Plan#HANDSHAKE_BYTES}
 * sent to each peer.
 */
final class Handshake
{
    private static final ValueLayout.OfLong WORD = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Handshake()
    {
    }

    /**
     * Exchanges and checks the hash and batch with both other parties.
     *
     * @throws IllegalStateException naming the peer and both values on a mismatch.
     */
    static void exchange(final Transport transport, final Plan plan, final int batch)
    {
        final Party self = transport.self();
        final byte[] mine = new byte[Plan.HANDSHAKE_BYTES];
        final MemorySegment message = MemorySegment.ofArray(mine);
        MemorySegment.copy(plan.hash(), 0, message, ValueLayout.JAVA_BYTE, 0, Plan.HASH_BYTES);
        message.set(WORD, Plan.HASH_BYTES, batch);
        final Party[] peers = peers(self);
        for (final Party peer : peers)
        {
            transport.send(peer, message);
        }
        for (final Party peer : peers)
        {
            final byte[] theirs = new byte[Plan.HANDSHAKE_BYTES];
            final MemorySegment got = MemorySegment.ofArray(theirs);
            transport.receive(peer, got);
            final byte[] hash = got.asSlice(0, Plan.HASH_BYTES).toArray(ValueLayout.JAVA_BYTE);
            if (!Arrays.equals(hash, plan.hash()))
            {
                throw new IllegalStateException(self + ": " + peer + " runs plan " + HexFormat.of().formatHex(hash) +
                    ", this party " + plan.hashHex() + " (different model, fractional bits or engine version)");
            }
            final long theirBatch = got.get(WORD, Plan.HASH_BYTES);
            if (theirBatch != batch)
            {
                throw new IllegalStateException(self + ": " + peer + " expects batches of " + theirBatch +
                    " items, this party " + batch);
            }
        }
        transport.meter().countRound();
    }

    private static Party[] peers(final Party self)
    {
        return switch (self)
        {
            case SERVER -> new Party[]{Party.CLIENT, Party.DEALER};
            case CLIENT -> new Party[]{Party.SERVER, Party.DEALER};
            case DEALER -> new Party[]{Party.SERVER, Party.CLIENT};
        };
    }
}
