package org.polypi.engine.protocol;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.polypi.engine.transport.CostMeter;
import org.polypi.kernels.RingTensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

final class OpenerTest
{
    @Test
    void batchOpeningIsOneMessagePerDirectionAndOneRound() throws Exception
    {
        final SplittableRandom rnd = new SplittableRandom(3);
        final int[][] shapes = {{5}, {2, 3}, {4, 1, 2}};
        final long[][] values = new long[3][];
        final long[][][] shares = new long[3][][];
        for (int i = 0; i < 3; i++)
        {
            values[i] = Shares.random(Shares.size(shapes[i]), rnd);
            shares[i] = Shares.split(values[i], rnd);
        }
        final ThreeParties.PartyTask<long[][]> task = (s, m) ->
        {
            final int b = s.party().id();
            final RingTensor[] mine = new RingTensor[3];
            final RingTensor[] out = new RingTensor[3];
            for (int i = 0; i < 3; i++)
            {
                mine[i] = RingTensor.of(s.arena(), shares[i][b], shapes[i]);
                out[i] = s.allocate(shapes[i]);
            }
            s.transport().meter().enter("online", "open");
            Opener.open(s, mine, out);
            final long[][] r = new long[3][];
            for (int i = 0; i < 3; i++)
            {
                r[i] = out[i].toArray();
            }
            return r;
        };
        final ThreeParties.Outcome<long[][], long[][]> o = ThreeParties.run(1, d -> { }, task, task);
        for (int i = 0; i < 3; i++)
        {
            assertArrayEquals(values[i], o.server()[i]);
            assertArrayEquals(values[i], o.client()[i]);
        }
        for (final CostMeter m : new CostMeter[]{o.serverMeter(), o.clientMeter()})
        {
            final CostMeter.Entry e = ThreeParties.entry(m, "online", "open");
            assertEquals(1, e.rounds());
            assertEquals(1, e.messagesSent());
            assertEquals(1, e.messagesReceived());
            assertEquals((5 + 6 + 8) * 8L, e.bytesSent());
            assertEquals((5 + 6 + 8) * 8L, e.bytesReceived());
        }
    }

    @Test
    void exchangeDeliversThePeersTensorsUnchanged() throws Exception
    {
        final ThreeParties.PartyTask<long[]> task = (s, m) ->
        {
            final long id = s.party().id();
            final RingTensor a = RingTensor.of(s.arena(), new long[]{id, id + 10}, 2);
            final RingTensor b = RingTensor.of(s.arena(), new long[]{id + 20}, 1);
            final RingTensor ra = s.allocate(2);
            final RingTensor rb = s.allocate(1);
            Opener.exchange(s, new RingTensor[]{a, b}, new RingTensor[]{ra, rb});
            return new long[]{ra.get(0), ra.get(1), rb.get(0)};
        };
        final ThreeParties.Outcome<long[], long[]> o = ThreeParties.run(2, d -> { }, task, task);
        assertArrayEquals(new long[]{1, 11, 21}, o.server());
        assertArrayEquals(new long[]{0, 10, 20}, o.client());
    }

    @Test
    void mismatchedSizesAreRejectedBeforeSending() throws Exception
    {
        final ThreeParties.PartyTask<Object> task = (s, m) ->
        {
            assertThrows(IllegalArgumentException.class,
                () -> Opener.open(s, new RingTensor[]{s.allocate(3)}, new RingTensor[]{s.allocate(4)}));
            assertThrows(IllegalArgumentException.class,
                () -> Opener.open(s, new RingTensor[]{s.allocate(3)}, new RingTensor[0]));
            assertEquals(0, s.transport().meter().total(null).bytesSent());
            return null;
        };
        ThreeParties.run(3, d -> { }, task, task);
    }
}
