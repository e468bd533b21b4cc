package org.polypi.engine.protocol;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.polypi.engine.transport.CostMeter;
import org.polypi.kernels.Conv2dShape;
import org.polypi.kernels.Kernels;
import org.polypi.kernels.RingKernels;
import org.polypi.kernels.RingTensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

final class LinearLayerTest
{
    private static final RingKernels ORACLE = Kernels.byName("scalar");
    private static final int QUERIES = 2;

    static Stream<LinearOp> layers()
    {
        return Stream.of(
            new LinearOp.Matmul(3, 17, 5),
            new LinearOp.Matmul(1, 64, 10),
            new LinearOp.Conv2d(new Conv2dShape(2, 3, 6, 6, 4, 3, 3, 1, 1)),
            new LinearOp.Conv2d(new Conv2dShape(1, 2, 7, 5, 3, 3, 2, 2, 0)));
    }

    @ParameterizedTest
    @MethodSource("layers")
    void sharedOutputIsExactlyTheRingProductAndCostsOneRoundOfInputSize(final LinearOp op) throws Exception
    {
        final SplittableRandom rnd = new SplittableRandom(op.hashCode());
        final long[] w = Shares.random((int)op.weightSize(), rnd);
        final long[][] x = new long[QUERIES][];
        final long[][][] xs = new long[QUERIES][][];
        for (int q = 0; q < QUERIES; q++)
        {
            x[q] = Shares.random((int)op.inputSize(), rnd);
            xs[q] = Shares.split(x[q], rnd);
        }
        final ThreeParties.PartyTask<long[][]> party = (s, m) ->
        {
            final int b = s.party().id();
            final LinearMask mask = m.linearMask(s, op);
            final LinearTriple[] triples = new LinearTriple[QUERIES];
            for (int q = 0; q < QUERIES; q++)
            {
                triples[q] = m.linearTriple(s, mask);
            }
            s.transport().meter().enter("setup", "linear");
            final LinearLayer.Prepared layer = setUp(s, mask, w);
            final long[][] z = new long[QUERIES][];
            for (int q = 0; q < QUERIES; q++)
            {
                s.transport().meter().enter("offline", "prepare" + q);
                final LinearLayer.PreparedQuery prepared = LinearLayer.prepareQuery(s, layer, triples[q]);
                s.transport().meter().enter("online", "query" + q);
                z[q] = LinearLayer.online(s, layer, prepared, RingTensor.of(s.arena(), xs[q][b], op.inputShape()))
                    .toArray();
            }
            return z;
        };
        final ThreeParties.Outcome<long[][], long[][]> o = ThreeParties.run(21, d ->
        {
            final Dealer.WeightMask mask = d.linearMask(op);
            for (int q = 0; q < QUERIES; q++)
            {
                d.linearTriple(mask);
            }
        }, party, party);
        for (int q = 0; q < QUERIES; q++)
        {
            final long[] expected = new long[(int)op.outputSize()];
            op.apply(ORACLE, MemorySegment.ofArray(x[q]), MemorySegment.ofArray(w), MemorySegment.ofArray(expected));
            assertArrayEquals(expected, Shares.add(o.server()[q], o.client()[q]), "query " + q);
        }
        for (final CostMeter m : new CostMeter[]{o.serverMeter(), o.clientMeter()})
        {
            final CostMeter.Entry setup = ThreeParties.entry(m, "setup", "linear");
            assertEquals(1, setup.rounds());
            assertEquals(op.weightSize() * 8, setup.bytesSent());
            assertEquals(op.weightSize() * 8, setup.bytesReceived());
            for (int q = 0; q < QUERIES; q++)
            {
                final CostMeter.Entry prepare = ThreeParties.entry(m, "offline", "prepare" + q);
                assertEquals(0, prepare.bytesSent() + prepare.bytesReceived(), "preparing a query is local");
                final CostMeter.Entry online = ThreeParties.entry(m, "online", "query" + q);
                assertEquals(1, online.rounds());
                assertEquals(op.inputSize() * 8, online.bytesSent());
                assertEquals(op.inputSize() * 8, online.bytesReceived());
            }
        }
    }

    /**
     * A truncation whose output only the layer reads, with the layer's mask folded into it: the truncation outputs
     * shares of X - A and the layer, fed those, still yields exactly (truncated X)·W, in the same one round per step.
     * The reference is the plaintext floor of X / 2^s plus the truncation's carry, recovered from the truncation run
     * alone on the same material (same dealer seed).
     */
    @ParameterizedTest
    @MethodSource("layers")
    void maskFoldedIntoTheProducingTruncationGivesTheSameProduct(final LinearOp op) throws Exception
    {
        final int shift = 12;
        final SplittableRandom rnd = new SplittableRandom(op.hashCode() + 7);
        final long[] w = Shares.random((int)op.weightSize(), rnd);
        final long[] x = new long[(int)op.inputSize()];
        for (int i = 0; i < x.length; i++)
        {
            x[i] = rnd.nextLong(-(1L << 40), 1L << 40);
        }
        final long[][] xs = Shares.split(x, rnd);
        final int[] shape = op.inputShape();
        final ThreeParties.PartyTask<long[][]> party = (s, m) ->
        {
            final int b = s.party().id();
            final LinearMask mask = m.linearMask(s, op);
            final LinearTriple triple = m.linearTriple(s, mask);
            final FaithfulTruncationPair pair = m.truncationPair(s, shift, shape);
            final LinearLayer.Prepared layer = setUp(s, mask, w);
            s.transport().meter().enter("offline", "prepare");
            final LinearLayer.PreparedQuery prepared = LinearLayer.prepareQuery(s, layer, triple);
            final FaithfulTruncationPair folded = LinearLayer.foldMaskIntoTruncation(s, prepared, pair);
            assertThrows(IllegalStateException.class, () -> LinearLayer.foldMaskIntoTruncation(s, prepared, folded),
                "a mask folds once");
            assertThrows(IllegalStateException.class, pair::take, "the original pair is consumed");
            s.transport().meter().enter("online", "truncate");
            final RingTensor masked = FaithfulTruncation.truncate(s, RingTensor.of(s.arena(), xs[b], shape),
                folded);
            // X - A opens to (trunc X) - A: kept to recover trunc X below.
            final long[] maskedShare = masked.toArray();
            final long[] maskShare = prepared.mask().toArray();
            final IllegalStateException plain = assertThrows(IllegalStateException.class,
                () -> LinearLayer.online(s, layer, prepared, masked));
            assertEquals("the input mask of " + prepared.id() + " was folded into a truncation: the layer takes " +
                "that truncation's output, X - A, through onlineFromMasked", plain.getMessage());
            s.transport().meter().enter("online", "linear");
            final long[] z = LinearLayer.onlineFromMasked(s, layer, prepared, masked).toArray();
            return new long[][]{z, Shares.add(maskedShare, maskShare)};
        };
        final ThreeParties.Outcome<long[][], long[][]> o = ThreeParties.run(23, d ->
        {
            final Dealer.WeightMask mask = d.linearMask(op);
            d.linearTriple(mask);
            d.truncationPair(shift, shape);
        }, party, party);
        final long[] truncated = Shares.add(o.server()[1], o.client()[1]);
        for (int i = 0; i < x.length; i++)
        {
            final long d = truncated[i] - (x[i] >> shift);
            assertTrue(d == 0 || d == 1, "element " + i + ": trunc(x) is floor(x / 2^s) or one more, was off by " + d);
        }
        final long[] expected = new long[(int)op.outputSize()];
        op.apply(ORACLE, MemorySegment.ofArray(truncated), MemorySegment.ofArray(w), MemorySegment.ofArray(expected));
        assertArrayEquals(expected, Shares.add(o.server()[0], o.client()[0]));
        for (final CostMeter m : new CostMeter[]{o.serverMeter(), o.clientMeter()})
        {
            assertEquals(0, ThreeParties.entry(m, "offline", "prepare").bytesSent(), "folding is local");
            assertEquals(1, ThreeParties.entry(m, "online", "truncate").rounds());
            assertEquals(1, ThreeParties.entry(m, "online", "linear").rounds());
            assertEquals(op.inputSize() * 8, ThreeParties.entry(m, "online", "linear").bytesSent());
        }
    }

    /**
     * An activation's mask folded into the layer producing its input changes nothing but where the masking happens:
     * the same dealer seed gives bit for bit the same activation output, the same rounds and bytes, as the unfolded
     * run (layer output, then the activation's own masking pass). Both parties, a degree-2 and a degree-4 copy, no
     * power 1 that is z itself.
     */
    @ParameterizedTest
    @MethodSource("layers")
    void activationMaskFoldedIntoTheProducingLayerChangesNoResult(final LinearOp op) throws Exception
    {
        final SplittableRandom rnd = new SplittableRandom(op.hashCode() + 11);
        final long[] w = new long[(int)op.weightSize()];
        final long[] x = new long[(int)op.inputSize()];
        for (int i = 0; i < w.length; i++)
        {
            w[i] = rnd.nextLong(-(1L << 16), 1L << 16);
        }
        for (int i = 0; i < x.length; i++)
        {
            x[i] = rnd.nextLong(-(1L << 16), 1L << 16);
        }
        final long[][] xs = Shares.split(x, rnd);
        final int n = (int)op.outputSize();
        final ActivationPlan plan = ActivationPlan.of(new int[]{9, 22}, new int[]{2, 4});
        final long[][] multipliers = {{1L << 13, 5L << 20}, {0, 0, 0, -3L << 2}};
        final long[][][] runs = new long[2][][];
        final CostMeter[][] meters = new CostMeter[2][];
        for (final boolean fold : new boolean[]{false, true})
        {
            final ThreeParties.PartyTask<long[]> party = (s, m) ->
            {
                final int b = s.party().id();
                final LinearMask mask = m.linearMask(s, op);
                final LinearTriple triple = m.linearTriple(s, mask);
                final ActivationMaterial material = m.activationMaterial(s, plan, n);
                final LinearLayer.Prepared layer = setUp(s, mask, w);
                final LinearLayer.PreparedQuery prepared = LinearLayer.prepareQuery(s, layer, triple);
                if (fold)
                {
                    FusedActivation.foldMaskIntoLinear(s, prepared, material);
                    assertThrows(IllegalStateException.class,
                        () -> FusedActivation.foldMaskIntoLinear(s, prepared, material), "a mask folds once");
                }
                s.transport().meter().enter("online", "layer");
                final RingTensor z = LinearLayer.online(s, layer, prepared, RingTensor.of(s.arena(), xs[b],
                    op.inputShape()));
                s.transport().meter().enter("online", "activation");
                final RingTensor y = s.allocate(n);
                if (fold)
                {
                    final IllegalStateException e = assertThrows(IllegalStateException.class,
                        () -> FusedActivation.polynomial(s, z, material, multipliers, 0, 7, y));
                    assertEquals("the mask of " + material.id() + " was folded into the linear layer producing z: " +
                        "the activation takes that layer's output through polynomialFromMasked", e.getMessage());
                    FusedActivation.polynomialFromMasked(s, z, material, multipliers, 7, y);
                }
                else
                {
                    final IllegalStateException e = assertThrows(IllegalStateException.class,
                        () -> FusedActivation.polynomialFromMasked(s, z, material, multipliers, 7, y));
                    assertEquals("the mask of " + material.id() + " was not folded into a linear layer: the " +
                        "activation takes z through polynomial", e.getMessage());
                    FusedActivation.polynomial(s, z, material, multipliers, 0, 7, y);
                }
                return y.toArray();
            };
            final ThreeParties.Outcome<long[], long[]> o = ThreeParties.run(25, d ->
            {
                d.linearTriple(d.linearMask(op));
                d.activationMaterial(plan, n);
            }, party, party);
            runs[fold ? 1 : 0] = new long[][]{o.server(), o.client()};
            meters[fold ? 1 : 0] = new CostMeter[]{o.serverMeter(), o.clientMeter()};
        }
        assertArrayEquals(Shares.add(runs[0][0], runs[0][1]), Shares.add(runs[1][0], runs[1][1]),
            "the activation's output, folded or not");
        for (int p = 0; p < 2; p++)
        {
            for (final String step : new String[]{"layer", "activation"})
            {
                final CostMeter.Entry plain = ThreeParties.entry(meters[0][p], "online", step);
                final CostMeter.Entry folded = ThreeParties.entry(meters[1][p], "online", step);
                assertEquals(plain.rounds(), folded.rounds(), step);
                assertEquals(plain.bytesSent(), folded.bytesSent(), step);
                assertEquals(plain.bytesReceived(), folded.bytesReceived(), step);
            }
        }
    }

    @Test
    void anUnfoldedQueryIsRefusedTheMaskedInput() throws Exception
    {
        final LinearOp op = new LinearOp.Matmul(2, 3, 2);
        final ThreeParties.PartyTask<Object> party = (s, m) ->
        {
            final LinearMask mask = m.linearMask(s, op);
            final LinearTriple triple = m.linearTriple(s, mask);
            final FaithfulTruncationPair small = m.truncationPair(s, 8, 5);
            final LinearLayer.Prepared layer = setUp(s, mask, new long[(int)op.weightSize()]);
            final LinearLayer.PreparedQuery prepared = LinearLayer.prepareQuery(s, layer, triple);
            final IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> LinearLayer.onlineFromMasked(s, layer, prepared, s.allocate(op.inputShape())));
            assertEquals("the input mask of " + prepared.id() + " was not folded into a truncation: the layer takes " +
                "X through online", e.getMessage());
            assertThrows(IllegalArgumentException.class,
                () -> LinearLayer.foldMaskIntoTruncation(s, prepared, small), "a pair of 5 elements, a mask of 6");
            // An activation of 5 elements on a layer output of 4: refused, and neither side is changed by it.
            final ActivationMaterial five = m.activationMaterial(s, ActivationPlan.of(new int[]{9}, new int[]{2}), 5);
            assertThrows(IllegalArgumentException.class, () -> FusedActivation.foldMaskIntoLinear(s, prepared, five));
            assertFalse(five.maskFolded());
            assertFalse(prepared.outputMasked());
            return null;
        };
        ThreeParties.run(24, d ->
        {
            d.linearTriple(d.linearMask(op));
            d.truncationPair(8, 5);
            d.activationMaterial(ActivationPlan.of(new int[]{9}, new int[]{2}), 5);
        }, party, party);
    }

    @Test
    void aTripleOfAnotherWeightMaskIsRejected() throws Exception
    {
        final LinearOp op = new LinearOp.Matmul(2, 2, 2);
        final ThreeParties.PartyTask<Object> party = (s, m) ->
        {
            final LinearMask first = m.linearMask(s, op);
            final LinearMask second = m.linearMask(s, op);
            final LinearTriple triple = m.linearTriple(s, second);
            final LinearLayer.Prepared layer = setUp(s, first, new long[(int)op.weightSize()]);
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LinearLayer.prepareQuery(s, layer, triple));
            assertEquals("triple linear-triple#2 belongs to weight mask linear-mask#1, the layer was set up with " +
                "linear-mask#0", e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> LinearLayer.online(s, layer, null, s.allocate(3, 2)));
            return null;
        };
        ThreeParties.run(22, d ->
        {
            d.linearMask(op);
            d.linearTriple(d.linearMask(op));
        }, party, party);
    }

    /** The layer's set-up on either side: the server opens {@code weights}, the client its share of the mask. */
    private static LinearLayer.Prepared setUp(final PartySession s, final LinearMask mask, final long[] weights)
    {
        return s.holdsConstants() ?
            LinearLayer.setupServer(s, mask, RingTensor.of(s.arena(), weights, mask.op().weightShape())) :
            LinearLayer.setupClient(s, mask);
    }
}
