package org.polypi.engine.protocol;

import java.security.SecureRandom;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.polypi.engine.transport.CostMeter;
import org.polypi.kernels.AesCtrPrg;
import org.polypi.kernels.RingTensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

final class SharingTest
{
    private static final int[] SHAPE = {3, 7};
    private static final int N = 21;

    @Test
    void inputSharingSendsOnlyASeedAndOutputGoesToTheClientOnly() throws Exception
    {
        final long[] x = Shares.random(N, new SplittableRandom(1));
        final ThreeParties.Outcome<long[], long[][]> o = ThreeParties.run(7, true, d -> { },
            (s, m) ->
            {
                s.transport().meter().enter("online", "input");
                final RingTensor share = InputSharing.serverShare(s, SHAPE);
                s.transport().meter().enter("online", "output");
                OutputReconstruction.serverSend(s, share);
                return share.toArray();
            },
            (s, m) ->
            {
                s.transport().meter().enter("online", "input");
                final RingTensor share = InputSharing.clientShare(s, RingTensor.of(s.arena(), x, SHAPE),
                    new SecureRandom());
                s.transport().meter().enter("online", "output");
                final RingTensor y = OutputReconstruction.clientReceive(s, share);
                return new long[][]{share.toArray(), y.toArray()};
            });
        assertArrayEquals(x, Shares.add(o.server(), o.client()[0]), "shares reconstruct the input");
        assertArrayEquals(x, o.client()[1], "the client reconstructs the output");

        // The server's share is exactly the PRG expansion of the 16 bytes it received.
        final long[] seedWords = o.serverReceived();
        final byte[] seed = new byte[AesCtrPrg.SEED_BYTES];
        java.nio.ByteBuffer.wrap(seed).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(seedWords[0])
            .putLong(seedWords[1]);
        final long[] expected = new long[N];
        new AesCtrPrg(seed, InputSharing.INPUT_STREAM).fill(java.lang.foreign.MemorySegment.ofArray(expected), 0, N);
        assertArrayEquals(expected, o.server());

        final CostMeter.Entry sIn = ThreeParties.entry(o.serverMeter(), "online", "input");
        final CostMeter.Entry cIn = ThreeParties.entry(o.clientMeter(), "online", "input");
        assertEquals(AesCtrPrg.SEED_BYTES, cIn.bytesSent());
        assertEquals(AesCtrPrg.SEED_BYTES, sIn.bytesReceived());
        assertEquals(0, sIn.bytesSent());
        assertEquals(1, sIn.rounds());
        assertEquals(1, cIn.rounds());
        final CostMeter.Entry sOut = ThreeParties.entry(o.serverMeter(), "online", "output");
        final CostMeter.Entry cOut = ThreeParties.entry(o.clientMeter(), "online", "output");
        assertEquals(N * 8L, sOut.bytesSent());
        assertEquals(0, sOut.bytesReceived(), "the server receives nothing derived from the output");
        assertEquals(N * 8L, cOut.bytesReceived());
        assertEquals(0, cOut.bytesSent());
        assertEquals(1, sOut.rounds());
        assertEquals(1, cOut.rounds());
    }

    @Test
    void eachSideChecksItsRole() throws Exception
    {
        ThreeParties.run(8, d -> { },
            (s, m) ->
            {
                assertThrows(IllegalArgumentException.class,
                    () -> InputSharing.clientShare(s, s.allocate(SHAPE), new SecureRandom()));
                assertThrows(IllegalArgumentException.class, () -> OutputReconstruction.clientReceive(s,
                    s.allocate(SHAPE)));
                return null;
            },
            (s, m) ->
            {
                assertThrows(IllegalArgumentException.class, () -> InputSharing.serverShare(s, SHAPE));
                assertThrows(IllegalArgumentException.class, () -> OutputReconstruction.serverSend(s,
                    s.allocate(SHAPE)));
                return null;
            });
    }
}
