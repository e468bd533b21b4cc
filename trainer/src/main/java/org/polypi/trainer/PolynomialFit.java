package org.polypi.trainer;

import java.util.Arrays;
import java.util.Locale;

import org.polypi.model.Layer;

/**
 * PILLAR's quantised polynomial fit of ReLU (seeds.md 2.2): coefficients {@code a_i = k_i / 2^p} with integers
 * {@code |k_i| <= 2^(p-1)}, chosen to minimise the squared error {@code SUM_x (q(x) - ReLU(x))²} over the sample
 * points {@code x = -r, -r + 0.01, ..., r}.
 * <p>
 * The error is a quadratic form in k: with {@code G = ΦᵀΦ} (Φ the scaled power basis at the samples) and c the
 * real least-squares solution, {@code err(k) = (k - c)ᵀ G (k - c) + const}. The integer minimiser is found exactly
 * by a Schnorr-Euchner sphere search on the Cholesky factor of G: coordinates are fixed from the highest power
 * down, each candidate in order of distance from its conditional optimum, and a branch is cut as soon as its partial
 * error exceeds the best complete one (initially the rounded real solution). The released code used a mixed-integer
 * solver (GEKKO/APOPT) on the same objective against a target truncated to integers; we fit the exact ReLU.
 */
public final class PolynomialFit
{
    /** Spacing of the sample points, as in the released fit. */
    public static final double SAMPLE_STEP = 0.01;
    /** Default coefficient precision p (the seed's "crypto precision 10"). */
    public static final int DEFAULT_PRECISION_BITS = 10;
    /** Lowest supported degree. */
    public static final int MIN_DEGREE = 2;
    /** Highest supported degree. */
    public static final int MAX_DEGREE = 8;

    private final int degree;
    private final double range;
    private final int precisionBits;
    private final long[] numerators;
    private final double squaredError;
    private final double maxError;

    private PolynomialFit(final int degree, final double range, final int precisionBits, final long[] numerators,
                          final double squaredError, final double maxError)
    {
        this.degree = degree;
        this.range = range;
        this.precisionBits = precisionBits;
        this.numerators = numerators;
        this.squaredError = squaredError;
        this.maxError = maxError;
    }

    /**
     * The best quantised fit of ReLU on {@code [-range, range]}.
     *
     * @throws IllegalArgumentException if the degree is outside [{@value #MIN_DEGREE}, {@value #MAX_DEGREE}], the
     *     range is not positive, or the precision is outside [1, 20].
     */
    public static PolynomialFit relu(final int degree, final double range, final int precisionBits)
    {
        if (degree < MIN_DEGREE || degree > MAX_DEGREE)
        {
            throw new IllegalArgumentException("degree must be in [" + MIN_DEGREE + ", " + MAX_DEGREE + "], was " +
                degree);
        }
        if (!(range > 0) || Double.isInfinite(range))
        {
            throw new IllegalArgumentException("range must be finite and positive, was " + range);
        }
        if (precisionBits < 1 || precisionBits > 20)
        {
            throw new IllegalArgumentException("precision bits must be in [1, 20], was " + precisionBits);
        }
        final int terms = degree + 1;
        final int samples = (int)Math.round(2 * range / SAMPLE_STEP) + 1;
        final double scale = Math.scalb(1.0, -precisionBits);
        final double[][] gram = new double[terms][terms];
        final double[] rhs = new double[terms];
        final double[] phi = new double[terms];
        for (int s = 0; s < samples; s++)
        {
            final double x = -range + s * SAMPLE_STEP;
            final double y = Math.max(0, x);
            double power = scale;
            for (int i = 0; i < terms; i++)
            {
                phi[i] = power;
                power *= x;
            }
            for (int i = 0; i < terms; i++)
            {
                rhs[i] += phi[i] * y;
                for (int j = 0; j < terms; j++)
                {
                    gram[i][j] += phi[i] * phi[j];
                }
            }
        }
        final double[][] r = upperCholesky(gram);
        final double[] centre = solve(r, rhs);
        final long bound = 1L << (precisionBits - 1);
        final Search search = new Search(r, centre, bound);
        final long[] rounded = new long[terms];
        for (int i = 0; i < terms; i++)
        {
            rounded[i] = Math.max(-bound, Math.min(bound, Math.round(centre[i])));
        }
        search.offer(rounded);
        search.run();
        final long[] k = search.best;
        double squared = 0;
        double max = 0;
        for (int s = 0; s < samples; s++)
        {
            final double x = -range + s * SAMPLE_STEP;
            final double e = evaluate(k, precisionBits, x) - Math.max(0, x);
            squared += e * e;
            max = Math.max(max, Math.abs(e));
        }
        return new PolynomialFit(degree, range, precisionBits, k, squared, max);
    }

    /** Degree d. */
    public int degree()
    {
        return degree;
    }

    /** The fitted range r. */
    public double range()
    {
        return range;
    }

    /** Precision p. */
    public int precisionBits()
    {
        return precisionBits;
    }

    /** The integer numerators {@code k_0..k_d} (lowest power first). */
    public long[] numerators()
    {
        return numerators.clone();
    }

    /** The coefficient of {@code x^power}: {@code k / 2^p}, exact in float and double. */
    public double coefficient(final int power)
    {
        return Math.scalb((double)numerators[power], -precisionBits);
    }

    /** Sum of squared errors over the sample points. */
    public double squaredError()
    {
        return squaredError;
    }

    /** Largest {@code |q(x) - ReLU(x)|} over the sample points. */
    public double maxError()
    {
        return maxError;
    }

    /** The model layer with these coefficients. */
    public Layer.Poly toLayer()
    {
        final float[] c = new float[degree + 1];
        for (int i = 0; i <= degree; i++)
        {
            c[i] = (float)coefficient(i);
        }
        return Layer.Poly.of(c);
    }

    @Override
    public String toString()
    {
        return String.format(Locale.ROOT, "ReLU fit degree %d on [-%s, %s], k/2^%d with k = %s, max error %.4f",
            degree, range, range, precisionBits, Arrays.toString(numerators), maxError);
    }

    private static double evaluate(final long[] k, final int p, final double x)
    {
        double y = 0;
        for (int i = k.length - 1; i >= 0; i--)
        {
            y = y * x + Math.scalb((double)k[i], -p);
        }
        return y;
    }

    /** R with {@code G = RᵀR}, R upper triangular. */
    private static double[][] upperCholesky(final double[][] g)
    {
        final int n = g.length;
        final double[][] r = new double[n][n];
        for (int j = 0; j < n; j++)
        {
            double d = g[j][j];
            for (int k = 0; k < j; k++)
            {
                d -= r[k][j] * r[k][j];
            }
            if (!(d > 0))
            {
                throw new IllegalStateException("the fit's Gram matrix is not positive definite at column " + j);
            }
            r[j][j] = Math.sqrt(d);
            for (int i = j + 1; i < n; i++)
            {
                double s = g[j][i];
                for (int k = 0; k < j; k++)
                {
                    s -= r[k][j] * r[k][i];
                }
                r[j][i] = s / r[j][j];
            }
        }
        return r;
    }

    /** Solves {@code RᵀR c = b}. */
    private static double[] solve(final double[][] r, final double[] b)
    {
        final int n = b.length;
        final double[] z = new double[n];
        for (int i = 0; i < n; i++)
        {
            double s = b[i];
            for (int k = 0; k < i; k++)
            {
                s -= r[k][i] * z[k];
            }
            z[i] = s / r[i][i];
        }
        final double[] c = new double[n];
        for (int i = n - 1; i >= 0; i--)
        {
            double s = z[i];
            for (int k = i + 1; k < n; k++)
            {
                s -= r[i][k] * c[k];
            }
            c[i] = s / r[i][i];
        }
        return c;
    }

    /** Schnorr-Euchner enumeration of integer points k minimising {@code |R (k - c)|²} within the bound. */
    private static final class Search
    {
        private final double[][] r;
        private final double[] centre;
        private final long bound;
        private final long[] current;
        private long[] best;
        private double bestCost = Double.POSITIVE_INFINITY;

        Search(final double[][] r, final double[] centre, final long bound)
        {
            this.r = r;
            this.centre = centre;
            this.bound = bound;
            this.current = new long[centre.length];
        }

        /** Cost of a complete candidate. */
        double cost(final long[] k)
        {
            double sum = 0;
            for (int i = 0; i < k.length; i++)
            {
                double row = 0;
                for (int j = i; j < k.length; j++)
                {
                    row += r[i][j] * (k[j] - centre[j]);
                }
                sum += row * row;
            }
            return sum;
        }

        void offer(final long[] k)
        {
            final double c = cost(k);
            if (c < bestCost)
            {
                bestCost = c;
                best = k.clone();
            }
        }

        void run()
        {
            descend(centre.length - 1, 0);
        }

        /** Fixes coordinate i given coordinates above i; {@code partial} is the cost of rows above i. */
        private void descend(final int i, final double partial)
        {
            double shift = 0;
            for (int j = i + 1; j < centre.length; j++)
            {
                shift += r[i][j] * (current[j] - centre[j]);
            }
            // the row-i term is (r_ii (k_i - z))², zero at the conditional optimum z
            final double z = centre[i] - shift / r[i][i];
            final long first = Math.round(z);
            final long toward = z >= first ? 1 : -1;
            // Schnorr-Euchner order first, first + t, first - t, first + 2t, ...: |k - z| never decreases, so the
            // first candidate that is too expensive ends the search on this level
            final long limit = 2 * (2 * bound + 2);
            for (long step = 0; step <= limit; step++)
            {
                final long distance = (step + 1) / 2;
                final long k = step % 2 == 1 ? first + toward * distance : first - toward * distance;
                final double term = r[i][i] * (k - z);
                final double cost = partial + term * term;
                if (cost >= bestCost)
                {
                    return;
                }
                if (k < -bound || k > bound)
                {
                    continue;
                }
                current[i] = k;
                if (i == 0)
                {
                    bestCost = cost;
                    best = current.clone();
                }
                else
                {
                    descend(i - 1, cost);
                }
            }
        }
    }
}
