package org.polypi.trainer;

import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.polypi.model.Layer;
import org.polypi.model.ReferenceNetworks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link PolynomialFit}: the known fits, optimality against brute force, and bad arguments. */
final class PolynomialFitTest
{
    @Test
    void degreeFourOnFiveReproducesPillarsReleasedCoefficients()
    {
        // seeds.md 2.2: (322 + 512 x + 160 x^2 - 3 x^4) / 1024
        final PolynomialFit fit = PolynomialFit.relu(4, 5.0, 10);
        assertArrayEquals(new long[] {322, 512, 160, 0, -3}, fit.numerators());
        final Layer.Poly poly = fit.toLayer();
        for (int k = 0; k <= 4; k++)
        {
            assertEquals(ReferenceNetworks.PILLAR_DEGREE4.coefficient(k), poly.coefficient(k), 0.0, "power " + k);
        }
        assertEquals(0.3145, fit.maxError(), 1e-4);
    }

    @Test
    void degreeTwoOnFiveIsTheQuadraticOfTheReferenceNetworks()
    {
        final PolynomialFit fit = PolynomialFit.relu(2, 5.0, 10);
        assertArrayEquals(new long[] {480, 512, 96}, fit.numerators());
        for (int k = 0; k <= 2; k++)
        {
            assertEquals(ReferenceNetworks.QUADRATIC_RELU_FIT.coefficient(k), fit.coefficient(k), 0.0);
        }
    }

    @Test
    void searchBeatsEveryPointOfABoxAroundIt()
    {
        for (final int degree : new int[] {3, 4})
        {
            final PolynomialFit fit = PolynomialFit.relu(degree, 4.0, 8);
            final long[] best = fit.numerators();
            final double bestError = error(best, 4.0, 8);
            assertEquals(fit.squaredError(), bestError, 1e-9 * bestError);
            final long[] k = best.clone();
            final int radius = 2;
            final int points = (int)Math.pow(2 * radius + 1, degree + 1);
            for (int p = 0; p < points; p++)
            {
                int code = p;
                for (int i = 0; i <= degree; i++)
                {
                    k[i] = best[i] + code % (2 * radius + 1) - radius;
                    code /= 2 * radius + 1;
                }
                assertTrue(error(k, 4.0, 8) >= bestError - 1e-12, "better point " + Arrays.toString(k));
            }
        }
    }

    @Test
    void oddPartOfReluIsExactlyHalfX()
    {
        // ReLU(x) = x/2 + |x|/2 and |x| is even: the best odd coefficients are 1/2 and 0 at every degree
        for (int degree = 2; degree <= 6; degree++)
        {
            final long[] k = PolynomialFit.relu(degree, 5.0, 10).numerators();
            assertEquals(512, k[1], "degree " + degree);
            for (int i = 3; i <= degree; i += 2)
            {
                assertEquals(0, k[i], "degree " + degree + " power " + i);
            }
        }
    }

    @Test
    void rejectsBadArguments()
    {
        assertThrows(IllegalArgumentException.class, () -> PolynomialFit.relu(1, 5, 10));
        assertThrows(IllegalArgumentException.class, () -> PolynomialFit.relu(9, 5, 10));
        assertThrows(IllegalArgumentException.class, () -> PolynomialFit.relu(4, 0, 10));
        assertThrows(IllegalArgumentException.class, () -> PolynomialFit.relu(4, 5, 0));
    }

    /** Direct sum of squared errors at the sample points, independent of the search's quadratic form. */
    private static double error(final long[] k, final double range, final int p)
    {
        final int samples = (int)Math.round(2 * range / PolynomialFit.SAMPLE_STEP) + 1;
        double sum = 0;
        for (int s = 0; s < samples; s++)
        {
            final double x = -range + s * PolynomialFit.SAMPLE_STEP;
            double y = 0;
            for (int i = k.length - 1; i >= 0; i--)
            {
                y = y * x + k[i] / Math.pow(2, p);
            }
            final double e = y - Math.max(0, x);
            sum += e * e;
        }
        return sum;
    }
}
