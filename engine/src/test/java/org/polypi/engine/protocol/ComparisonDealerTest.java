package org.polypi.engine.protocol;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.polypi.engine.transport.InMemoryTransport;
import org.polypi.engine.transport.Party;
import org.polypi.kernels.RingTensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The comparison dealer's pieces reconstruct to their definitions, and only the server's corrections travel. */
final class ComparisonDealerTest
{
    /** 100 values: two words per plane, the second one partly padding. */
    private static final int[] SHAPE = {4, 25};
    private static final int N = 100;

    /** Every tensor of one party's material, in a fixed order. */
    private static List<long[]> view(final ComparisonMaterial m)
    {
        final List<long[]> out = new ArrayList<>();
        out.add(m.r().toArray());
        out.add(m.codes().toArray());
        out.add(m.msbR().toArray());
        for (int level = 0; level < ComparisonMaterial.XOR_LEVELS; level++)
        {
            for (final RingTensor t : new RingTensor[]{m.a(level), m.b1(level), m.b2(level), m.c1(level),
                m.c2(level)})
            {
                out.add(t.toArray());
            }
        }
        out.add(m.masks().toArray());
        out.add(m.monomials().toArray());
        out.add(m.kind() == ComparisonMaterial.Kind.RELU ? m.rProducts().toArray() : new long[0]);
        return out;
    }

    @Test
    void everyPieceReconstructsToItsDefinitionAndOnlyServerCorrectionsTravel() throws Exception
    {
        final ComparisonParties.PartyTask<List<List<long[]>>> party = (s, m, core) ->
        {
            final ComparisonMaterial msb = m.msbMaterial(s, SHAPE);
            final ComparisonMaterial relu = m.reluMaterial(s, SHAPE);
            assertEquals("msb#0", msb.id());
            assertEquals("relu#1", relu.id());
            assertArrayEquals(SHAPE, relu.shape());
            return List.of(view(msb), view(relu));
        };
        final ThreeParties.Outcome<List<List<long[]>>, List<List<long[]>>> o = ComparisonParties.run(21,
            (d, core) ->
            {
                d.msbMaterial(SHAPE);
                d.reluMaterial(SHAPE);
            }, party, party);
        for (int piece = 0; piece < 2; piece++)
        {
            check(o.server().get(piece), o.client().get(piece), piece == 1);
        }
        // One 16-byte seed per party covers the core and the comparison material.
        final long seeds = 16;
        assertEquals(seeds, o.clientMeter().total(null).bytesReceived());
        assertEquals(seeds + ComparisonDealer.serverMessageBytes(ComparisonMaterial.Kind.MSB, N) +
            ComparisonDealer.serverMessageBytes(ComparisonMaterial.Kind.RELU, N),
            o.serverMeter().total(null).bytesReceived());
        // codes 4n, msb(r) 1 plane, c1 + c2 (15 + 7 + 3 planes), 7n monomials (+ 7n r products), trailer.
        final long planeWords = 2;
        assertEquals(8 * (4L * N + planeWords + 25 * planeWords + 7L * N) + 8,
            ComparisonDealer.serverMessageBytes(ComparisonMaterial.Kind.MSB, N));
        assertEquals(8 * (4L * N + planeWords + 25 * planeWords + 14L * N) + 8,
            ComparisonDealer.serverMessageBytes(ComparisonMaterial.Kind.RELU, N));
    }

    private static void check(final List<long[]> server, final List<long[]> client, final boolean relu)
    {
        int i = 0;
        final long[] r = Shares.add(server.get(i), client.get(i));
        i++;
        final long[] codes = xor(server.get(i), client.get(i));
        i++;
        final long[] msbR = xor(server.get(i), client.get(i));
        i++;
        for (int e = 0; e < N; e++)
        {
            final long low = r[e] & Long.MAX_VALUE;
            for (int j = 0; j < ComparisonMaterial.CHUNKS; j++)
            {
                final int code = (int)(codes[e * 4 + j / 4] >>> (16 * (j % 4))) & 0xFFFF;
                assertEquals(1 << ((low >>> (4 * j)) & 15), code, "one-hot code of chunk " + j + " of element " + e);
            }
            assertEquals(r[e] >>> 63, (msbR[e / 64] >>> (e % 64)) & 1, "msb(r) of element " + e);
        }
        final int words = 2;
        for (int level = 0; level < ComparisonMaterial.XOR_LEVELS; level++)
        {
            final int pairs = ComparisonMaterial.pairs(level);
            final long[] a = xor(server.get(i), client.get(i++));
            final long[] b1 = xor(server.get(i), client.get(i++));
            final long[] b2 = xor(server.get(i), client.get(i++));
            final long[] c1 = xor(server.get(i), client.get(i++));
            final long[] c2 = xor(server.get(i), client.get(i++));
            assertEquals(pairs * words, a.length);
            assertEquals((pairs - 1) * words, b2.length);
            for (int p = 0; p < pairs; p++)
            {
                for (int w = 0; w < words; w++)
                {
                    assertEquals(a[p * words + w] & b1[p * words + w], c1[p * words + w], "c1 level " + level);
                    if (p > 0)
                    {
                        assertEquals(a[p * words + w] & b2[(p - 1) * words + w], c2[(p - 1) * words + w],
                            "c2 level " + level);
                    }
                }
            }
        }
        final long[] masks = xor(server.get(i), client.get(i++));
        final long[] monomials = Shares.add(server.get(i), client.get(i++));
        final long[] rProducts = relu ? Shares.add(server.get(i), client.get(i)) : null;
        int ones = 0;
        for (int e = 0; e < N; e++)
        {
            final long t = (masks[e / 64] >>> (e % 64)) & 1;
            final long alpha = (masks[words + e / 64] >>> (e % 64)) & 1;
            final long beta = (masks[2 * words + e / 64] >>> (e % 64)) & 1;
            ones += (int)(t + alpha + beta);
            final long[] expected = {t, alpha, beta, alpha * beta, t * alpha, t * beta, t * alpha * beta};
            for (int m = 0; m < ComparisonMaterial.MONOMIALS; m++)
            {
                assertEquals(expected[m], monomials[m * N + e], "monomial " + m + " of element " + e);
                if (relu)
                {
                    assertEquals(r[e] * expected[m], rProducts[m * N + e], "r times monomial " + m);
                }
            }
        }
        // The masks are uniform bits: 300 of them, about half set.
        assertEquals(150, ones, 45);
    }

    @Test
    void theSameMasterSeedGivesTheSameMaterialAndAnotherSeedDifferentMaterial() throws Exception
    {
        final ComparisonParties.PartyTask<long[]> party = (s, m, core) ->
            s.party() == Party.SERVER ? m.msbMaterial(s, 8).monomials().toArray() : null;
        final ComparisonParties.DealerTask dealer = (d, core) -> d.msbMaterial(8);
        final long[] first = ComparisonParties.run(5, dealer, party, party).server();
        final long[] again = ComparisonParties.run(5, dealer, party, party).server();
        final long[] other = ComparisonParties.run(6, dealer, party, party).server();
        assertArrayEquals(first, again);
        assertNotEquals(first[0], other[0]);
    }

    @Test
    void dealingBeforeStartFailsAndComparisonPiecesShareTheCoreSequence()
    {
        final InMemoryTransport[] t = InMemoryTransport.connectThree(ThreeParties.TIMEOUT);
        try (Dealer core = new Dealer(t[Party.DEALER.id()], ThreeParties.seed(1)))
        {
            final ComparisonDealer d = core.comparisons();
            assertThrows(IllegalStateException.class, () -> d.msbMaterial(4));
            core.start();
            assertThrows(IllegalStateException.class, core::start);
            core.beaverTriple(4);
            d.msbMaterial(4);
            core.beaverTriple(4);
            assertEquals(3, core.position().sequence());
        }
        finally
        {
            for (final InMemoryTransport x : t)
            {
                x.close();
            }
        }
    }

    private static long[] xor(final long[] a, final long[] b)
    {
        final long[] out = new long[a.length];
        for (int i = 0; i < a.length; i++)
        {
            out[i] = a[i] ^ b[i];
        }
        return out;
    }
}
