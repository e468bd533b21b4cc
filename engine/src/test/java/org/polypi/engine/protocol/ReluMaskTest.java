package org.polypi.engine.protocol;

import java.util.SplittableRandom;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.polypi.engine.transport.CostMeter;
import org.polypi.kernels.RingTensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Masked ReLU: ReLU exactly at the kept positions of every item, identity elsewhere; the cost is a ReLU's on the
 * kept count, and nothing when the mask keeps none.
 */
final class ReluMaskTest
{
    private static final int[] ITEM = {3, 4, 5};
    private static final int ITEMS = 2;

    @ParameterizedTest
    @ValueSource(doubles = {0.0, 0.3, 1.0})
    void maskedReluMixesReluAndIdentity(final double keep) throws Exception
    {
        final int size = Shares.size(ITEM);
        final SplittableRandom rnd = new SplittableRandom(Double.hashCode(keep));
        final boolean[] relu = new boolean[size];
        for (int i = 0; i < size; i++)
        {
            relu[i] = rnd.nextDouble() < keep;
        }
        final ReluMask mask = ReluMask.of(relu);
        final long[] x = new long[ITEMS * size];
        for (int i = 0; i < x.length; i++)
        {
            x[i] = i % 5 == 0 ? rnd.nextLong() : rnd.nextLong(-(1L << 30), 1L << 30);
        }
        final long[][] xs = Shares.split(x, rnd);
        final int[] shape = {ITEMS, ITEM[0], ITEM[1], ITEM[2]};
        final ComparisonParties.PartyTask<long[]> party = (s, m, core) ->
        {
            final ComparisonMaterial material = m.maskedReluMaterial(s, mask, ITEMS);
            if (mask.keptCount() == 0)
            {
                assertNull(material);
            }
            s.transport().meter().enter("online", "masked");
            final RingTensor y = Relu.masked(s, RingTensor.of(s.arena(), xs[s.party().id()], shape), mask, material);
            assertArrayEquals(shape, y.shape());
            return y.toArray();
        };
        final ThreeParties.Outcome<long[], long[]> o = ComparisonParties.run(31,
            (d, core) -> d.maskedReluMaterial(mask, ITEMS), party, party);
        final long[] y = Shares.add(o.server(), o.client());
        for (int i = 0; i < x.length; i++)
        {
            final boolean kept = relu[i % size];
            assertEquals(kept, mask.isKept(i % size));
            assertEquals(kept ? Math.max(0L, x[i]) : x[i], y[i], "element " + i + (kept ? " (ReLU)" : " (identity)"));
        }
        final int kept = mask.keptFor(ITEMS);
        for (final CostMeter meter : new CostMeter[]{o.serverMeter(), o.clientMeter()})
        {
            final CostMeter.Entry e = ThreeParties.entry(meter, "online", "masked");
            assertEquals(kept == 0 ? 0 : Comparison.ROUNDS, e.rounds());
            assertEquals(kept == 0 ? 0 : Comparison.bytesSent(kept), e.bytesSent());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1})
    void mismatchedMaterialIsRejected(final int keptPositions) throws Exception
    {
        final boolean[] relu = new boolean[6];
        for (int i = 0; i < keptPositions; i++)
        {
            relu[i] = true;
        }
        final ReluMask mask = ReluMask.of(relu);
        final ComparisonParties.PartyTask<Object> party = (s, m, core) ->
        {
            final ComparisonMaterial other = m.reluMaterial(s, 5);
            assertThrows(IllegalArgumentException.class, () -> Relu.masked(s, s.allocate(12), mask, other));
            assertThrows(IllegalArgumentException.class, () -> Relu.masked(s, s.allocate(7), mask, other));
            if (keptPositions > 0)
            {
                assertThrows(IllegalArgumentException.class, () -> Relu.masked(s, s.allocate(12), mask, null));
            }
            assertEquals(0, s.transport().meter().total(null).bytesSent());
            return null;
        };
        ComparisonParties.run(32, (d, core) -> d.reluMaterial(5), party, party);
    }
}
