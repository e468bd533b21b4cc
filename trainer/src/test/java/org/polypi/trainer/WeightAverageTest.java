package org.polypi.trainer;

import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.polypi.model.Shape;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link WeightAverage} against its definition, computed element by element in double. */
final class WeightAverageTest
{
    private static final long SEED = 11;

    @Test
    void averageFollowsTheWarmedUpExponentialDefinition()
    {
        final SplittableRandom r = new SplittableRandom(SEED);
        final Param weight = Param.trainable("w", Shape.of(3, 5), 0f, true);
        final Param buffer = Param.buffer("bn.running_var", Shape.of(4), 1f);
        final List<Param> params = List.of(weight, buffer);
        randomize(params, r);
        final double decay = 0.95;
        final WeightAverage average = new WeightAverage(params, decay);
        final double[][] expected = {toDouble(weight.value()), toDouble(buffer.value())};
        for (int n = 0; n < 200; n++)
        {
            randomize(params, r);
            // the warm-up: (1 + n) / (10 + n) until it passes the decay
            final double d = Math.min(decay, (1.0 + n) / (10.0 + n));
            assertEquals(d, average.nextDecay(), 0.0);
            average.update();
            for (int p = 0; p < params.size(); p++)
            {
                final float[] w = params.get(p).value();
                for (int i = 0; i < w.length; i++)
                {
                    expected[p][i] = (float)(d * expected[p][i] + (1 - d) * w[i]);
                }
            }
        }
        assertEquals(200, average.updates());
        for (int p = 0; p < params.size(); p++)
        {
            assertArrayEquals(toFloat(expected[p]), average.arrays().get(p), params.get(p).name());
        }
    }

    @Test
    void swapExchangesAverageAndLiveValuesAndSwappingBackRestoresBoth()
    {
        final SplittableRandom r = new SplittableRandom(SEED + 1);
        final Param weight = Param.trainable("w", Shape.of(7), 0f, true);
        final List<Param> params = List.of(weight);
        randomize(params, r);
        final WeightAverage average = new WeightAverage(params, 0.5);
        randomize(params, r);
        average.update();
        final float[] live = weight.value().clone();
        final float[] avg = average.arrays().getFirst().clone();
        average.swap();
        assertTrue(average.swapped());
        assertArrayEquals(avg, weight.value());
        assertArrayEquals(live, average.arrays().getFirst());
        final IllegalStateException e = assertThrows(IllegalStateException.class, average::update);
        assertTrue(e.getMessage().contains("holds the average"), e.getMessage());
        average.swap();
        assertFalse(average.swapped());
        assertArrayEquals(live, weight.value());
        assertArrayEquals(avg, average.arrays().getFirst());
    }

    @Test
    void decayOutsideTheOpenUnitIntervalIsRefused()
    {
        final List<Param> params = List.of(Param.trainable("w", Shape.of(2), 0f, true));
        for (final double bad : new double[] {0, 1, -0.1, 1.5, Double.NaN})
        {
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new WeightAverage(params, bad));
            assertTrue(e.getMessage().contains("decay"), e.getMessage());
        }
    }

    private static void randomize(final List<Param> params, final SplittableRandom r)
    {
        for (final Param p : params)
        {
            final float[] v = p.value();
            for (int i = 0; i < v.length; i++)
            {
                v[i] = (float)r.nextDouble(-2, 2);
            }
        }
    }

    private static double[] toDouble(final float[] v)
    {
        final double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++)
        {
            d[i] = v[i];
        }
        return d;
    }

    private static float[] toFloat(final double[] v)
    {
        final float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++)
        {
            f[i] = (float)v[i];
        }
        return f;
    }
}
