package org.polypi.engine.protocol;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.polypi.engine.transport.CostMeter;
import org.polypi.engine.transport.TransportException;
import org.polypi.kernels.CandidateDifferences;
import org.polypi.kernels.Conv2dShape;
import org.polypi.kernels.Kernels;
import org.polypi.kernels.RingKernels;
import org.polypi.kernels.RingTensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

final class DealerTest
{
    private static final int[] SHAPE = {4, 8};
    private static final int N = 32;
    private static final int TRUNCATION_SHIFT = 12;
    private static final int POWER_DEGREE = 4;
    private static final int ESPN_DEGREE = 4;
    private static final ActivationPlan PLAN = ActivationPlan.of(new int[]{0, 12, 30, 62}, new int[]{2, 3, 1, 2});
    /**
     * PLAN's material tensors: 8 powers and 7 difference words (2 at shift 0, 2 packed for degree 3 at shift 12, 1 at
     * shift 30 for degree 1, 2 at shift 62).
     */
    private static final long ACTIVATION_TENSORS = 15;
    private static final LinearOp CONV = new LinearOp.Conv2d(new Conv2dShape(2, 3, 5, 5, 4, 3, 3, 2, 1));
    private static final RingKernels ORACLE = Kernels.byName("scalar");

    /** What one party received, tensor by name, and the ids in request order. */
    private record View(Map<String, long[]> tensors, List<String> ids)
    {
    }

    @Test
    void everyPieceReconstructsToItsDefinitionAndOnlyServerCorrectionsTravel() throws Exception
    {
        final ThreeParties.PartyTask<View> party = (s, m) ->
        {
            final Map<String, long[]> t = new LinkedHashMap<>();
            final List<String> ids = new ArrayList<>();
            final BeaverTriple bt = m.beaverTriple(s, SHAPE);
            ids.add(bt.id());
            t.put("a", bt.a().toArray());
            t.put("b", bt.b().toArray());
            t.put("c", bt.c().toArray());
            final LinearMask mask = m.linearMask(s, CONV);
            ids.add(mask.id());
            t.put("B", mask.b().toArray());
            final LinearTriple lt = m.linearTriple(s, mask);
            ids.add(lt.id());
            assertEquals(mask.id(), lt.maskId());
            t.put("A", lt.a().toArray());
            t.put("C", lt.c().toArray());
            final FaithfulTruncationPair tp = m.truncationPair(s, TRUNCATION_SHIFT, SHAPE);
            ids.add(tp.id());
            t.put("r", tp.r().toArray());
            t.put("rs", tp.rShifted().toArray());
            t.put("msb", tp.msb().toArray());
            final PowerTuple pt = m.powerTuple(s, POWER_DEGREE, SHAPE);
            ids.add(pt.id());
            for (int i = 0; i < POWER_DEGREE; i++)
            {
                t.put("p" + (i + 1), pt.powers()[i].toArray());
            }
            final ActivationMaterial am = m.activationMaterial(s, PLAN, SHAPE);
            ids.add(am.id());
            t.put("ar", am.r().toArray());
            for (int j = 0; j < PLAN.copies(); j++)
            {
                final boolean packed = CandidateDifferences.packed(PLAN.shift(j), PLAN.degree(j));
                assertEquals(PLAN.differenceWords(j), am.diff()[j].length, "copy " + j + " difference words");
                for (int i = 1; i <= PLAN.degree(j); i++)
                {
                    t.put("base" + j + "." + i, am.base()[j][i - 1].toArray());
                    // This party's share of the difference, expanded from its (packed) word.
                    final long[] share = am.diff()[j][CandidateDifferences.word(i, packed)].toArray();
                    for (int e = 0; e < share.length; e++)
                    {
                        share[e] = CandidateDifferences.expand(share[e], CandidateDifferences.rightShift(i, packed),
                            CandidateDifferences.leftShift(PLAN.shift(j), packed));
                    }
                    t.put("diff" + j + "." + i, share);
                }
            }
            final EspnTuple et = m.espnTuple(s, ESPN_DEGREE, SHAPE);
            ids.add(et.id());
            for (int i = 1; i < ESPN_DEGREE; i++)
            {
                t.put("mask" + i, et.masks()[i - 1].toArray());
            }
            for (int p = 0; p < EspnTuple.productCount(ESPN_DEGREE); p++)
            {
                t.put("prod" + p, et.products()[p].toArray());
            }
            return new View(t, ids);
        };
        final ThreeParties.Outcome<View, View> o = ThreeParties.run(11, d ->
        {
            d.beaverTriple(SHAPE);
            final Dealer.WeightMask mask = d.linearMask(CONV);
            d.linearTriple(mask);
            d.truncationPair(TRUNCATION_SHIFT, SHAPE);
            d.powerTuple(POWER_DEGREE, SHAPE);
            d.activationMaterial(PLAN, SHAPE);
            d.espnTuple(ESPN_DEGREE, SHAPE);
        }, party, party);
        final Map<String, long[]> s = o.server().tensors();
        final Map<String, long[]> c = o.client().tensors();
        assertEquals(List.of("beaver#0", "linear-mask#1", "linear-triple#2", "truncation#3", "powers#4",
            "activation#5", "espn#6"), o.server().ids());
        assertEquals(o.server().ids(), o.client().ids());

        // Beaver: c = a b, with a, b not degenerate.
        final long[] a = sum(s, c, "a");
        final long[] b = sum(s, c, "b");
        final long[] cc = sum(s, c, "c");
        for (int i = 0; i < N; i++)
        {
            assertEquals(a[i] * b[i], cc[i]);
        }
        assertNotEquals(a[0], b[0]);

        // Linear: C = conv(A, B).
        final long[] bigA = sum(s, c, "A");
        final long[] bigB = sum(s, c, "B");
        final long[] expectedC = new long[(int)CONV.outputSize()];
        CONV.apply(ORACLE, MemorySegment.ofArray(bigA), MemorySegment.ofArray(bigB), MemorySegment.ofArray(expectedC));
        assertArrayEquals(expectedC, sum(s, c, "C"));

        // Truncation pair: r >>> s and msb(r).
        final long[] r = sum(s, c, "r");
        final long[] rs = sum(s, c, "rs");
        final long[] msb = sum(s, c, "msb");
        for (int i = 0; i < N; i++)
        {
            assertEquals(r[i] >>> TRUNCATION_SHIFT, rs[i]);
            assertEquals(r[i] >>> 63, msb[i]);
        }

        // Power tuple: r^i.
        final long[] pr = sum(s, c, "p1");
        for (int i = 2; i <= POWER_DEGREE; i++)
        {
            final long[] p = sum(s, c, "p" + i);
            for (int e = 0; e < N; e++)
            {
                assertEquals(pow(pr[e], i), p[e]);
            }
        }

        // Activation: base = Q1^i, diff = Q1^i - Q0^i with the candidates of engine-design.md §2 written directly:
        // Q1 = -(r >>> sh) + msb(r) 2^(64-sh) (when msb(c) = 0), Q0 = -(r >>> sh) (plus the 2^(64-sh) that the
        // arithmetic shift of c takes away when msb(c) = 1).
        final long[] ar = sum(s, c, "ar");
        for (int j = 0; j < PLAN.copies(); j++)
        {
            final int sh = PLAN.shift(j);
            final long wrap = sh == 0 ? 0 : 1L << (64 - sh);
            for (int i = 1; i <= PLAN.degree(j); i++)
            {
                final long[] base = sum(s, c, "base" + j + "." + i);
                final long[] diff = sum(s, c, "diff" + j + "." + i);
                for (int e = 0; e < N; e++)
                {
                    final long q1 = -(ar[e] >>> sh) + (ar[e] >>> 63) * wrap;
                    final long q0 = -(ar[e] >>> sh) + wrap;
                    assertEquals(pow(q1, i), base[e], "copy " + j + " power " + i);
                    assertEquals(pow(q1, i) - pow(q0, i), diff[e], "copy " + j + " power " + i);
                }
            }
        }

        // ESPN: server masks A_i, client masks B_j, products A_i B_j.
        for (int i = 1; i < ESPN_DEGREE; i++)
        {
            for (int j = 1; i + j <= ESPN_DEGREE; j++)
            {
                final long[] p = sum(s, c, "prod" + EspnTuple.productIndex(ESPN_DEGREE, i, j));
                final long[] ai = s.get("mask" + i);
                final long[] bj = c.get("mask" + j);
                for (int e = 0; e < N; e++)
                {
                    assertEquals(ai[e] * bj[e], p[e]);
                }
            }
        }

        // Bytes: the client receives its seed only; the server its seed plus, per piece, the dependent shares and
        // an 8-byte trailer.
        final long trailer = 8;
        final long serverPayload = 8L * (N + 0 + CONV.outputSize() + 2L * N + (POWER_DEGREE - 1L) * N +
            ACTIVATION_TENSORS * N + (long)EspnTuple.productCount(ESPN_DEGREE) * N) + 7 * trailer;
        final CostMeter.Entry client = o.clientMeter().total(null);
        final CostMeter.Entry server = o.serverMeter().total(null);
        assertEquals(16, client.bytesReceived());
        assertEquals(16 + serverPayload, server.bytesReceived());
        assertEquals(32 + serverPayload, o.dealerMeter().total(null).bytesSent());
        assertEquals(1 + 7, server.messagesReceived(), "one message per piece");
    }

    @Test
    void theSameMasterSeedGivesTheSameMaterialAndAnotherSeedDifferentMaterial() throws Exception
    {
        final ThreeParties.PartyTask<long[]> party = (s, m) -> m.beaverTriple(s, SHAPE).c().toArray();
        final ThreeParties.DealerTask dealer = d -> d.beaverTriple(SHAPE);
        final long[] first = ThreeParties.run(5, dealer, party, party).server();
        final long[] again = ThreeParties.run(5, dealer, party, party).server();
        final long[] other = ThreeParties.run(6, dealer, party, party).server();
        assertArrayEquals(first, again);
        assertNotEquals(first[0], other[0]);
    }

    @Test
    void partiesThatRequestMaterialInAnotherOrderFailAtOnce()
    {
        final TransportException e = assertThrows(TransportException.class, () -> ThreeParties.run(12, d ->
        {
            d.truncationPair(TRUNCATION_SHIFT, SHAPE);
            d.beaverTriple(SHAPE);
        }, (s, m) ->
        {
            m.beaverTriple(s, SHAPE);
            return null;
        }, (s, m) ->
        {
            m.truncationPair(s, TRUNCATION_SHIFT, SHAPE);
            m.beaverTriple(s, SHAPE);
            return null;
        }));
        assertTrue(e.getMessage().contains("DEALER sent"), e.getMessage());
    }

    @Test
    void materialReuseIsAHardError() throws Exception
    {
        final LinearOp op = new LinearOp.Matmul(2, 3, 2);
        final ThreeParties.PartyTask<Object> party = (s, m) ->
        {
            final RingTensor x = s.allocate(SHAPE);
            final FaithfulTruncationPair tp = m.truncationPair(s, TRUNCATION_SHIFT, SHAPE);
            FaithfulTruncation.truncate(s, x, tp);
            assertReused(tp.id(), () -> FaithfulTruncation.truncate(s, x, tp));
            final BeaverTriple bt = m.beaverTriple(s, SHAPE);
            BeaverMultiplication.multiply(s, x, x, bt);
            assertReused(bt.id(), () -> BeaverMultiplication.multiply(s, x, x, bt));
            final PowerTuple pt = m.powerTuple(s, 3, SHAPE);
            HoneyBadgerPowers.powers(s, x, pt);
            assertReused(pt.id(), () -> HoneyBadgerPowers.powers(s, x, pt));
            final EspnTuple et = m.espnTuple(s, 3, SHAPE);
            EspnPowers.powers(s, x, et);
            assertReused(et.id(), () -> EspnPowers.powers(s, x, et));
            final ActivationMaterial am = m.activationMaterial(s, PLAN, SHAPE);
            FusedActivation.open(s, x, am);
            assertReused(am.id(), () -> FusedActivation.open(s, x, am));
            final LinearMask mask = m.linearMask(s, op);
            final LinearTriple lt = m.linearTriple(s, mask);
            final LinearLayer.Prepared layer = s.holdsConstants() ?
                LinearLayer.setupServer(s, mask, s.allocate(op.weightShape())) : LinearLayer.setupClient(s, mask);
            assertReused(mask.id(), () ->
            {
                if (s.holdsConstants())
                {
                    LinearLayer.setupServer(s, mask, s.allocate(op.weightShape()));
                }
                else
                {
                    LinearLayer.setupClient(s, mask);
                }
            });
            final LinearLayer.PreparedQuery q = LinearLayer.prepareQuery(s, layer, lt);
            assertReused(lt.id(), () -> LinearLayer.prepareQuery(s, layer, lt));
            final RingTensor in = s.allocate(op.inputShape());
            LinearLayer.online(s, layer, q, in);
            assertReused(lt.id(), () -> LinearLayer.online(s, layer, q, in));
            return null;
        };
        ThreeParties.run(13, d ->
        {
            d.truncationPair(TRUNCATION_SHIFT, SHAPE);
            d.beaverTriple(SHAPE);
            d.powerTuple(3, SHAPE);
            d.espnTuple(3, SHAPE);
            d.activationMaterial(PLAN, SHAPE);
            d.linearTriple(d.linearMask(op));
        }, party, party);
    }

    private static void assertReused(final String id, final org.junit.jupiter.api.function.Executable again)
    {
        final IllegalStateException e = assertThrows(IllegalStateException.class, again);
        assertEquals("material " + id + " already used", e.getMessage());
    }

    private static long[] sum(final Map<String, long[]> s, final Map<String, long[]> c, final String name)
    {
        return Shares.add(s.get(name), c.get(name));
    }

    private static long pow(final long x, final int e)
    {
        long p = 1;
        for (int i = 0; i < e; i++)
        {
            p *= x;
        }
        return p;
    }
}
