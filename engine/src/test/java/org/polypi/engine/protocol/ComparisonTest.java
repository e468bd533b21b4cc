package org.polypi.engine.protocol;

import java.util.Arrays;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.polypi.engine.transport.CostMeter;
import org.polypi.engine.transport.TransportException;
import org.polypi.kernels.RingTensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Secure sign extraction and ReLU: exact against plaintext on edge and random values, measured cost equal to the
 * documented formula and within CrypTen's (9 rounds, 232 bytes per element and party), single use, and order checks.
 */
final class ComparisonTest
{
    /** CrypTen's ReLU online cost (peers.md): about 9 rounds and 232 bytes per element and party. */
    private static final int CRYPTEN_ROUNDS = 9;
    private static final int CRYPTEN_BYTES_PER_ELEMENT = 232;

    /** Edge values: 0, +-1, +-2^k and +-(2^k - 1) for every k, the ends of the ring, and +-2^62 neighbours. */
    static long[] edgeValues()
    {
        final long[] out = new long[4 * Long.SIZE + 12];
        int i = 0;
        for (int k = 0; k < Long.SIZE; k++)
        {
            final long p = 1L << k;
            out[i++] = p;
            out[i++] = -p;
            out[i++] = p - 1;
            out[i++] = -(p - 1);
        }
        final long top = 1L << 62;
        for (final long v : new long[]{0, 1, -1, Long.MIN_VALUE, Long.MIN_VALUE + 1, Long.MAX_VALUE, top - 1, top + 1,
            -top + 1, -top - 1, 3, -3})
        {
            out[i++] = v;
        }
        return out;
    }

    /** Edge values, then uniform 64-bit values, then values in +-2^20 (where many high chunks of c and r agree). */
    static long[] testValues(final int random, final SplittableRandom rnd)
    {
        final long[] edges = edgeValues();
        final long[] out = Arrays.copyOf(edges, edges.length + 2 * random);
        for (int i = 0; i < random; i++)
        {
            out[edges.length + i] = rnd.nextLong();
            out[edges.length + random + i] = rnd.nextLong(-(1L << 20), 1L << 20);
        }
        return out;
    }

    @Test
    void msbIsTheSignOfEveryValueIncludingTheEndsOfTheRing() throws Exception
    {
        final long[] x = testValues(1500, new SplittableRandom(1));
        final long[] msb = run(11, x, false);
        for (int i = 0; i < x.length; i++)
        {
            assertEquals(x[i] < 0 ? 1 : 0, msb[i], "msb of " + x[i]);
        }
    }

    @Test
    void reluIsExactOnEveryValue() throws Exception
    {
        final long[] x = testValues(1500, new SplittableRandom(2));
        final long[] relu = run(12, x, true);
        for (int i = 0; i < x.length; i++)
        {
            assertEquals(Math.max(0L, x[i]), relu[i], "relu of " + x[i]);
        }
        assertEquals(0, relu[indexOf(x, Long.MIN_VALUE)]);
        assertEquals(Long.MAX_VALUE, relu[indexOf(x, Long.MAX_VALUE)]);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 63, 64, 65, 200})
    void smallAndUnalignedBatchesAreExact(final int n) throws Exception
    {
        final SplittableRandom rnd = new SplittableRandom(n);
        final long[] x = new long[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = i % 3 == 0 ? rnd.nextLong() : rnd.nextLong(-1000, 1000);
        }
        final long[] relu = run(20 + n, x, true);
        final long[] msb = run(40 + n, x, false);
        for (int i = 0; i < n; i++)
        {
            assertEquals(Math.max(0L, x[i]), relu[i], "relu of " + x[i]);
            assertEquals(x[i] < 0 ? 1 : 0, msb[i], "msb of " + x[i]);
        }
    }

    @Test
    void msbAcceptsReluMaterialAndKeepsTheShape() throws Exception
    {
        final int[] shape = {3, 5, 7};
        final long[] x = Shares.random(Shares.size(shape), new SplittableRandom(5));
        final long[][] xs = Shares.split(x, new SplittableRandom(6));
        final ComparisonParties.PartyTask<long[]> party = (s, m, core) ->
        {
            final RingTensor out = Comparison.msb(s, RingTensor.of(s.arena(), xs[s.party().id()], shape),
                m.reluMaterial(s, shape));
            assertArrayEquals(shape, out.shape());
            return out.toArray();
        };
        final ThreeParties.Outcome<long[], long[]> o = ComparisonParties.run(7, (d, core) -> d.reluMaterial(shape),
            party, party);
        final long[] msb = Shares.add(o.server(), o.client());
        for (int i = 0; i < x.length; i++)
        {
            assertEquals(x[i] < 0 ? 1 : 0, msb[i]);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 64, 100, 4096})
    void measuredCostIsTheFormulaAndBelowCrypTens(final int n) throws Exception
    {
        final long[] x = Shares.random(n, new SplittableRandom(n));
        final long[][] xs = Shares.split(x, new SplittableRandom(n + 1));
        final ComparisonParties.PartyTask<Object> party = (s, m, core) ->
        {
            final ComparisonMaterial msb = m.msbMaterial(s, n);
            final ComparisonMaterial relu = m.reluMaterial(s, n);
            final RingTensor xt = RingTensor.of(s.arena(), xs[s.party().id()], n);
            s.transport().meter().enter("online", "msb");
            Comparison.msb(s, xt, msb);
            s.transport().meter().enter("online", "relu");
            Relu.relu(s, xt, relu);
            return null;
        };
        final ThreeParties.Outcome<Object, Object> o = ComparisonParties.run(8, (d, core) ->
        {
            d.msbMaterial(n);
            d.reluMaterial(n);
        }, party, party);
        final long expectedBytes = Comparison.bytesSent(n);
        assertEquals(8L * (n + BitShares.words(23L * n) + BitShares.words(11L * n) + BitShares.words(5L * n) +
            BitShares.words(3L * n)), expectedBytes);
        assertTrue(expectedBytes <= (long)CRYPTEN_BYTES_PER_ELEMENT * n, expectedBytes + " bytes for " + n);
        assertTrue(Comparison.ROUNDS <= CRYPTEN_ROUNDS);
        for (final CostMeter meter : new CostMeter[]{o.serverMeter(), o.clientMeter()})
        {
            for (final String step : new String[]{"msb", "relu"})
            {
                final CostMeter.Entry e = ThreeParties.entry(meter, "online", step);
                assertEquals(Comparison.ROUNDS, e.rounds(), step);
                assertEquals(expectedBytes, e.bytesSent(), step);
                assertEquals(expectedBytes, e.bytesReceived(), step);
                assertEquals(Comparison.ROUNDS, e.messagesSent(), step);
            }
        }
        if (n % Long.SIZE == 0)
        {
            assertEquals(13.25 * n, expectedBytes, 0.0);
        }
        // The dealer: one 16-byte seed per party, then one message per piece to the server only.
        final CostMeter.Entry dealer = o.dealerMeter().total(null);
        assertEquals(2L * 16 + ComparisonDealer.serverMessageBytes(ComparisonMaterial.Kind.MSB, n) +
            ComparisonDealer.serverMessageBytes(ComparisonMaterial.Kind.RELU, n), dealer.bytesSent());
        assertEquals(16L, o.clientMeter().total(null).bytesReceived() - 2 * expectedBytes);
    }

    @Test
    void materialIsSingleUseAndAReuseSendsNothing() throws Exception
    {
        final int n = 10;
        final ComparisonParties.PartyTask<Object> party = (s, m, core) ->
        {
            final RingTensor x = s.allocate(n);
            final ComparisonMaterial relu = m.reluMaterial(s, n);
            Relu.relu(s, x, relu);
            final long sent = s.transport().meter().total(null).bytesSent();
            final IllegalStateException e = assertThrows(IllegalStateException.class, () -> Relu.relu(s, x, relu));
            assertEquals("material " + relu.id() + " already used", e.getMessage());
            assertThrows(IllegalStateException.class, () -> Comparison.msb(s, x, relu));
            final ComparisonMaterial msb = m.msbMaterial(s, n);
            assertEquals("msb#1", msb.id());
            Comparison.msb(s, x, msb);
            assertThrows(IllegalStateException.class, () -> Comparison.msb(s, x, msb));
            assertEquals(sent + Comparison.bytesSent(n), s.transport().meter().total(null).bytesSent());
            return null;
        };
        ComparisonParties.run(9, (d, core) ->
        {
            d.reluMaterial(n);
            d.msbMaterial(n);
        }, party, party);
    }

    @Test
    void badArgumentsAreRejectedBeforeAnythingIsSent() throws Exception
    {
        final ComparisonParties.PartyTask<Object> party = (s, m, core) ->
        {
            final ComparisonMaterial msb = m.msbMaterial(s, 4);
            final IllegalArgumentException size = assertThrows(IllegalArgumentException.class,
                () -> Comparison.msb(s, s.allocate(5), msb));
            assertTrue(size.getMessage().contains("x has 5 elements, expected 4"), size.getMessage());
            final IllegalArgumentException kind = assertThrows(IllegalArgumentException.class,
                () -> Relu.relu(s, s.allocate(4), msb));
            assertTrue(kind.getMessage().contains("ReLU needs ReLU material"), kind.getMessage());
            assertTrue(!msb.used());
            assertEquals(0, s.transport().meter().total(null).bytesSent());
            return null;
        };
        ComparisonParties.run(10, (d, core) -> d.msbMaterial(4), party, party);
    }

    @Test
    void partiesThatRequestMaterialInAnotherOrderFailAtOnce()
    {
        // A core piece of exactly the size of a comparison piece: only the tagged trailer tells them apart.
        final int n = 64;
        final long words = (ComparisonDealer.serverMessageBytes(ComparisonMaterial.Kind.MSB, n) -
            ComparisonDealer.TRAILER_BYTES) / Long.BYTES;
        final TransportException e = assertThrows(TransportException.class, () -> ComparisonParties.run(14,
            (d, core) ->
            {
                core.powerTuple(2, (int)words);
                d.msbMaterial(n);
            }, (s, m, core) ->
            {
                m.msbMaterial(s, n);
                return null;
            }, (s, m, core) -> null));
        assertTrue(e.getMessage().contains("comparison material #0"), e.getMessage());
        // The other way round: the core receiver sees a comparison trailer.
        final TransportException f = assertThrows(TransportException.class, () -> ComparisonParties.run(15,
            (d, core) ->
            {
                d.msbMaterial(n);
                core.powerTuple(2, (int)words);
            }, (s, m, core) ->
            {
                core.powerTuple(s, 2, (int)words);
                return null;
            }, (s, m, core) -> null));
        assertTrue(f.getMessage().contains("dealer sent material #" + ComparisonDealer.TRAILER_TAG), f.getMessage());
    }

    @Test
    void comparisonAndCoreMaterialInterleave() throws Exception
    {
        final int n = 33;
        final long[] x = testValues(10, new SplittableRandom(3));
        final long[][] xs = Shares.split(x, new SplittableRandom(4));
        final ComparisonParties.PartyTask<long[][]> party = (s, m, core) ->
        {
            final BeaverTriple triple = core.beaverTriple(s, n);
            final ComparisonMaterial relu = m.reluMaterial(s, x.length);
            final BeaverTriple again = core.beaverTriple(s, n);
            final RingTensor y = s.allocate(n);
            BeaverMultiplication.multiply(s, y, y, triple);
            final long[] r = Relu.relu(s, RingTensor.of(s.arena(), xs[s.party().id()], x.length), relu).toArray();
            BeaverMultiplication.multiply(s, y, y, again);
            return new long[][]{r};
        };
        final ThreeParties.Outcome<long[][], long[][]> o = ComparisonParties.run(16, (d, core) ->
        {
            core.beaverTriple(n);
            d.reluMaterial(x.length);
            core.beaverTriple(n);
        }, party, party);
        final long[] relu = Shares.add(o.server()[0], o.client()[0]);
        for (int i = 0; i < x.length; i++)
        {
            assertEquals(Math.max(0L, x[i]), relu[i]);
        }
    }

    /** Shares x, runs MSB (or ReLU) on both parties and returns the reconstruction. */
    static long[] run(final long seed, final long[] x, final boolean relu) throws Exception
    {
        final long[][] xs = Shares.split(x, new SplittableRandom(seed));
        final int n = x.length;
        final ComparisonParties.PartyTask<long[]> party = (s, m, core) ->
        {
            final RingTensor xt = RingTensor.of(s.arena(), xs[s.party().id()], n);
            return relu ? Relu.relu(s, xt, m.reluMaterial(s, n)).toArray() :
                Comparison.msb(s, xt, m.msbMaterial(s, n)).toArray();
        };
        final ThreeParties.Outcome<long[], long[]> o = ComparisonParties.run(seed, (d, core) ->
        {
            if (relu)
            {
                d.reluMaterial(n);
            }
            else
            {
                d.msbMaterial(n);
            }
        }, party, party);
        return Shares.add(o.server(), o.client());
    }

    private static int indexOf(final long[] values, final long v)
    {
        for (int i = 0; i < values.length; i++)
        {
            if (values[i] == v)
            {
                return i;
            }
        }
        throw new AssertionError(v + " not found");
    }
}
