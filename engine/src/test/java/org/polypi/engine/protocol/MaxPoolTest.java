package org.polypi.engine.protocol;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.polypi.engine.transport.CostMeter;
import org.polypi.kernels.RingTensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Secure max pooling equals the fixed-point reference's (signed max over the valid window positions, padding never
 * wins) on random, tied and all-negative maps, and costs what its plan says.
 */
final class MaxPoolTest
{
    /** Values stay within the documented range |v| < 2^62 (differences fit a signed long). */
    private static final long RANGE = 1L << 62;

    @ParameterizedTest
    @CsvSource({
        // batch, channels, height, width, kernel, stride, padding, expected levels
        "2, 3, 6, 6, 2, 2, 0, 2",
        "1, 2, 7, 7, 3, 2, 1, 4",
        "1, 2, 5, 5, 2, 2, 0, 2",
        "1, 1, 4, 5, 3, 1, 1, 4",
        "1, 2, 8, 8, 3, 2, 1, 4",
        "2, 1, 3, 3, 1, 1, 0, 0",
        "1, 1, 2, 2, 2, 2, 1, 0"})
    void maxPoolEqualsTheFixedPointReference(final int batch, final int channels, final int h, final int w,
                                             final int kernel, final int stride, final int padding,
                                             final int levels) throws Exception
    {
        final int[] shape = {batch, channels, h, w};
        final int n = Shares.size(shape);
        final SplittableRandom rnd = new SplittableRandom(n * 31L + kernel);
        final long[] x = new long[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = switch (i % 4)
            {
                case 0 -> rnd.nextLong(-RANGE + 1, RANGE);
                case 1 -> rnd.nextLong(-2, 3); // ties
                case 2 -> -1 - rnd.nextLong(1L << 40); // negatives: a padded zero must not win
                default -> rnd.nextLong(-(1L << 20), 1L << 20);
            };
        }
        // One all-negative map, so that every window near the border would be wrong if padding counted as 0.
        for (int i = 0; i < h * w; i++)
        {
            x[i] = -RANGE + 1 + rnd.nextLong(1L << 40);
        }
        final MaxPoolPlan plan = new MaxPoolPlan(batch * channels, h, w, kernel, stride, padding);
        assertEquals(levels, plan.levels());
        final long[] expected = reference(x, batch * channels, h, w, kernel, stride, padding, plan);
        final long[][] xs = Shares.split(x, rnd);
        final ComparisonParties.PartyTask<long[]> party = (s, m, core) ->
        {
            final ComparisonMaterial[] material = m.maxPoolMaterial(s, plan);
            s.transport().meter().enter("online", "maxpool");
            final RingTensor y = MaxPool.maxPool2d(s, RingTensor.of(s.arena(), xs[s.party().id()], shape), plan,
                material);
            assertArrayEquals(new int[]{batch, channels, plan.outHeight(), plan.outWidth()}, y.shape());
            return y.toArray();
        };
        final ThreeParties.Outcome<long[], long[]> o = ComparisonParties.run(n, (d, core) -> d.maxPoolMaterial(plan),
            party, party);
        assertArrayEquals(expected, Shares.add(o.server(), o.client()));
        for (final CostMeter meter : new CostMeter[]{o.serverMeter(), o.clientMeter()})
        {
            final CostMeter.Entry e = ThreeParties.entry(meter, "online", "maxpool");
            assertEquals(plan.rounds(), e.rounds());
            assertEquals((long)Comparison.ROUNDS * levels, e.rounds());
            assertEquals(plan.bytesSent(), e.bytesSent());
        }
    }

    @Test
    void aFullWindowTakesCeilLog2KernelLevelsPerPassAndKMinusOneComparisonsPerMaximum()
    {
        // 2x2/2 on 8x8: the horizontal pass compares 8 x 4 pairs, the vertical one 4 x 4.
        final MaxPoolPlan two = new MaxPoolPlan(1, 8, 8, 2, 2, 0);
        assertEquals(2, two.levels());
        assertEquals(32, two.comparisons(0));
        assertEquals(16, two.comparisons(1));
        // 3x3/2 without padding on 9x9 (4x4 outputs): per row 4 windows of 3, so 4 + 4 pairs over two levels.
        final MaxPoolPlan three = new MaxPoolPlan(1, 9, 9, 3, 2, 0);
        assertEquals(4, three.levels());
        assertEquals(9 * 4, three.comparisons(0));
        assertEquals(9 * 4, three.comparisons(1));
        assertEquals(4 * 4, three.comparisons(2));
        assertEquals(4 * 4, three.comparisons(3));
    }

    @Test
    void badPlansAndMaterialsAreRejected() throws Exception
    {
        assertThrows(IllegalArgumentException.class, () -> new MaxPoolPlan(1, 4, 4, 2, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> new MaxPoolPlan(1, 1, 4, 3, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new MaxPoolPlan(1, 4, 4, 0, 1, 0));
        final MaxPoolPlan plan = new MaxPoolPlan(1, 4, 4, 2, 2, 0);
        final MaxPoolPlan plan9 = new MaxPoolPlan(1, 9, 9, 3, 2, 0);
        final ComparisonParties.PartyTask<Object> party = (s, m, core) ->
        {
            final ComparisonMaterial[] material = m.maxPoolMaterial(s, plan);
            final IllegalArgumentException size = assertThrows(IllegalArgumentException.class,
                () -> MaxPool.maxPool2d(s, s.allocate(15), plan, material));
            assertTrue(size.getMessage().contains("x has 15 elements"), size.getMessage());
            assertThrows(IllegalArgumentException.class,
                () -> MaxPool.maxPool2d(s, s.allocate(16), plan, new ComparisonMaterial[]{material[0]}));
            assertThrows(IllegalArgumentException.class,
                () -> MaxPool.maxPool2d(s, s.allocate(16), plan, new ComparisonMaterial[]{material[1], material[0]}));
            final ComparisonMaterial[] nine = m.maxPoolMaterial(s, plan9);
            final IllegalStateException twice = assertThrows(IllegalStateException.class,
                () -> MaxPool.maxPool2d(s, s.allocate(81), plan9, new ComparisonMaterial[]{nine[0], nine[0], nine[2],
                    nine[3]}));
            assertEquals("material " + nine[0].id() + " already used", twice.getMessage());
            assertEquals(0, s.transport().meter().total(null).bytesSent(), "nothing sent before the checks pass");
            MaxPool.maxPool2d(s, s.allocate(16), plan, material);
            final IllegalStateException again = assertThrows(IllegalStateException.class,
                () -> MaxPool.maxPool2d(s, s.allocate(16), plan, material));
            assertEquals("material " + material[0].id() + " already used", again.getMessage());
            return null;
        };
        ComparisonParties.run(3, (d, core) ->
        {
            d.maxPoolMaterial(plan);
            d.maxPoolMaterial(plan9);
        }, party, party);
    }

    /** The loop of FixedPointInference's max pooling, verbatim in substance; also checks the plan's output size. */
    private static long[] reference(final long[] x, final int maps, final int h, final int w, final int kernel,
                                    final int stride, final int padding, final MaxPoolPlan plan)
    {
        final int oh = (h + 2 * padding - kernel) / stride + 1;
        final int ow = (w + 2 * padding - kernel) / stride + 1;
        assertEquals(oh, plan.outHeight());
        assertEquals(ow, plan.outWidth());
        final long[] y = new long[maps * oh * ow];
        for (int m = 0; m < maps; m++)
        {
            for (int oy = 0; oy < oh; oy++)
            {
                for (int ox = 0; ox < ow; ox++)
                {
                    long max = Long.MIN_VALUE;
                    for (int r = 0; r < kernel; r++)
                    {
                        final int iy = oy * stride + r - padding;
                        for (int s = 0; s < kernel; s++)
                        {
                            final int ix = ox * stride + s - padding;
                            if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                            {
                                max = Math.max(max, x[(m * h + iy) * w + ix]);
                            }
                        }
                    }
                    y[(m * oh + oy) * ow + ox] = max;
                }
            }
        }
        return y;
    }
}
