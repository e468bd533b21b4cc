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
import static org.junit.jupiter.api.Assertions.assertThrows;

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
            final LinearLayer.Prepared layer = s.holdsConstants() ?
                LinearLayer.setupServer(s, mask, RingTensor.of(s.arena(), w, op.weightShape())) :
                LinearLayer.setupClient(s, mask);
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

    @Test
    void aTripleOfAnotherWeightMaskIsRejected() throws Exception
    {
        final LinearOp op = new LinearOp.Matmul(2, 2, 2);
        final ThreeParties.PartyTask<Object> party = (s, m) ->
        {
            final LinearMask first = m.linearMask(s, op);
            final LinearMask second = m.linearMask(s, op);
            final LinearTriple triple = m.linearTriple(s, second);
            final LinearLayer.Prepared layer = s.holdsConstants() ?
                LinearLayer.setupServer(s, first, s.allocate(op.weightShape())) : LinearLayer.setupClient(s, first);
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
}
