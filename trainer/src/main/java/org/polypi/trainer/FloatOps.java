package org.polypi.trainer;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import org.polypi.kernels.FloatKernels;
import org.polypi.kernels.Kernels;
import org.polypi.kernels.ScalarFloatKernels;

/**
 * The float32 products the trainer delegates: {@link FloatKernels} when the Vector API module is present, else
 * {@link ScalarFloatKernels}. Arrays are addressed from index 0 and may be longer than needed, as in the kernels.
 */
abstract sealed class FloatOps permits FloatOps.Vector, FloatOps.Scalar
{
    private static final FloatOps INSTANCE = Kernels.vectorModulePresent() ? new Vector() : new Scalar();

    /** The backend for this JVM. */
    static FloatOps get()
    {
        return INSTANCE;
    }

    /** {@code vector} or {@code scalar}. */
    abstract String name();

    /** {@code c = a · b}; a is m×k, b is k×n. */
    abstract void matmul(float[] a, float[] b, float[] c, int m, int k, int n);

    /** {@code c = a · bᵀ}; a is m×k, b is n×k. */
    abstract void matmulTransposedB(float[] a, float[] b, float[] c, int m, int k, int n);

    /** {@code SUM a[from..to)}; short runs, so lane sums in float are accurate enough for batch statistics. */
    abstract double sum(float[] a, int from, int to);

    /** {@code SUM (a[i] - shift)²} over {@code [from, to)}. */
    abstract double squaredDeviation(float[] a, int from, int to, float shift);

    /** {@code SUM a[i]·b[i]} over {@code [from, to)}. */
    abstract double dot(float[] a, float[] b, int from, int to);

    /**
     * {@code y[i] = SUM_k c[k]·t^k} with {@code t = clamp(x[i], -bound, bound)}, over {@code [from, to)} (Horner in
     * float32).
     */
    abstract void polynomial(float[] x, float[] c, float bound, float[] y, int from, int to);

    /**
     * {@code dx[i] = |x[i]| <= bound ? dy[i]·SUM_k d[k]·x[i]^k : 0} over {@code [from, to)}: the gradient through a
     * clipped polynomial whose derivative has coefficients d.
     */
    abstract void polynomialGradient(float[] x, float[] dy, float[] d, float bound, float[] dx, int from, int to);

    /** {@code SUM (x[i]·scale)^(2·half)} over {@code [from, to)}: PILLAR's range penalty terms. */
    abstract double evenPowerSum(float[] x, float scale, int half, int from, int to);

    /** {@code dx[i] += weight·(x[i]·scale)^(2·half - 1)} over {@code [from, to)}: the penalty's gradient. */
    abstract void addOddPower(float[] x, float scale, int half, float weight, float[] dx, int from, int to);

    /**
     * {@code SUM max(0, |x[i]| - margin)²} over {@code [from, to)}: the tail term of the range penalty
     * ({@link RangePenalty#setTail}).
     */
    abstract double tailSquareSum(float[] x, float margin, int from, int to);

    /**
     * {@code dx[i] += weight·(max(0, x[i] - margin) + min(0, x[i] + margin))} over {@code [from, to)}: the tail term's
     * gradient ({@code weight} = twice the term's weight), zero inside the margin.
     */
    abstract void addTailGradient(float[] x, float margin, float weight, float[] dx, int from, int to);

    /** Loaded only when the Vector API module is present (it links {@link FloatKernels}). */
    static final class Vector extends FloatOps
    {
        private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
        private static final int LANES = SPECIES.length();
        /** Tails shorter than a vector. */
        private static final Scalar SCALAR = new Scalar();

        @Override
        void polynomial(final float[] x, final float[] c, final float bound, final float[] y, final int from,
                        final int to)
        {
            final int top = c.length - 1;
            int i = from;
            for (final int end = from + SPECIES.loopBound(to - from); i < end; i += LANES)
            {
                final FloatVector t = FloatVector.fromArray(SPECIES, x, i).max(-bound).min(bound);
                FloatVector acc = FloatVector.broadcast(SPECIES, c[top]);
                for (int k = top - 1; k >= 0; k--)
                {
                    acc = acc.fma(t, FloatVector.broadcast(SPECIES, c[k]));
                }
                acc.intoArray(y, i);
            }
            SCALAR.polynomial(x, c, bound, y, i, to);
        }

        @Override
        void polynomialGradient(final float[] x, final float[] dy, final float[] d, final float bound,
                                final float[] dx, final int from, final int to)
        {
            final int top = d.length - 1;
            int i = from;
            for (final int end = from + SPECIES.loopBound(to - from); i < end; i += LANES)
            {
                final FloatVector v = FloatVector.fromArray(SPECIES, x, i);
                FloatVector acc = FloatVector.broadcast(SPECIES, d[top]);
                for (int k = top - 1; k >= 0; k--)
                {
                    acc = acc.fma(v, FloatVector.broadcast(SPECIES, d[k]));
                }
                final FloatVector g = acc.mul(FloatVector.fromArray(SPECIES, dy, i));
                g.blend(0f, v.abs().compare(VectorOperators.GT, bound)).intoArray(dx, i);
            }
            SCALAR.polynomialGradient(x, dy, d, bound, dx, i, to);
        }

        @Override
        double evenPowerSum(final float[] x, final float scale, final int half, final int from, final int to)
        {
            FloatVector sum = FloatVector.zero(SPECIES);
            int i = from;
            for (final int end = from + SPECIES.loopBound(to - from); i < end; i += LANES)
            {
                final FloatVector u = FloatVector.fromArray(SPECIES, x, i).mul(scale);
                final FloatVector square = u.mul(u);
                FloatVector p = square;
                for (int k = 1; k < half; k++)
                {
                    p = p.mul(square);
                }
                sum = sum.add(p);
            }
            return sum.reduceLanes(VectorOperators.ADD) + SCALAR.evenPowerSum(x, scale, half, i, to);
        }

        @Override
        void addOddPower(final float[] x, final float scale, final int half, final float weight, final float[] dx,
                         final int from, final int to)
        {
            int i = from;
            for (final int end = from + SPECIES.loopBound(to - from); i < end; i += LANES)
            {
                final FloatVector u = FloatVector.fromArray(SPECIES, x, i).mul(scale);
                final FloatVector square = u.mul(u);
                FloatVector p = u;
                for (int k = 1; k < half; k++)
                {
                    p = p.mul(square);
                }
                p.fma(FloatVector.broadcast(SPECIES, weight), FloatVector.fromArray(SPECIES, dx, i)).intoArray(dx, i);
            }
            SCALAR.addOddPower(x, scale, half, weight, dx, i, to);
        }

        @Override
        double tailSquareSum(final float[] x, final float margin, final int from, final int to)
        {
            FloatVector sum = FloatVector.zero(SPECIES);
            int i = from;
            for (final int end = from + SPECIES.loopBound(to - from); i < end; i += LANES)
            {
                final FloatVector excess = excess(FloatVector.fromArray(SPECIES, x, i), margin);
                sum = excess.fma(excess, sum);
            }
            return sum.reduceLanes(VectorOperators.ADD) + SCALAR.tailSquareSum(x, margin, i, to);
        }

        @Override
        void addTailGradient(final float[] x, final float margin, final float weight, final float[] dx,
                             final int from, final int to)
        {
            int i = from;
            for (final int end = from + SPECIES.loopBound(to - from); i < end; i += LANES)
            {
                final FloatVector excess = excess(FloatVector.fromArray(SPECIES, x, i), margin);
                excess.fma(FloatVector.broadcast(SPECIES, weight), FloatVector.fromArray(SPECIES, dx, i))
                    .intoArray(dx, i);
            }
            SCALAR.addTailGradient(x, margin, weight, dx, i, to);
        }

        /** {@code max(0, v - m) + min(0, v + m)}: the signed distance beyond {@code ±m}, 0 inside. */
        private static FloatVector excess(final FloatVector v, final float margin)
        {
            return v.sub(margin).max(0f).add(v.add(margin).min(0f));
        }

        @Override
        double sum(final float[] a, final int from, final int to)
        {
            FloatVector acc = FloatVector.zero(SPECIES);
            int i = from;
            for (final int bound = from + SPECIES.loopBound(to - from); i < bound; i += LANES)
            {
                acc = acc.add(FloatVector.fromArray(SPECIES, a, i));
            }
            double s = acc.reduceLanes(VectorOperators.ADD);
            for (; i < to; i++)
            {
                s += a[i];
            }
            return s;
        }

        @Override
        double squaredDeviation(final float[] a, final int from, final int to, final float shift)
        {
            FloatVector acc = FloatVector.zero(SPECIES);
            int i = from;
            for (final int bound = from + SPECIES.loopBound(to - from); i < bound; i += LANES)
            {
                final FloatVector d = FloatVector.fromArray(SPECIES, a, i).sub(shift);
                acc = d.fma(d, acc);
            }
            double s = acc.reduceLanes(VectorOperators.ADD);
            for (; i < to; i++)
            {
                final double d = a[i] - shift;
                s += d * d;
            }
            return s;
        }

        @Override
        double dot(final float[] a, final float[] b, final int from, final int to)
        {
            FloatVector acc = FloatVector.zero(SPECIES);
            int i = from;
            for (final int bound = from + SPECIES.loopBound(to - from); i < bound; i += LANES)
            {
                acc = FloatVector.fromArray(SPECIES, a, i).fma(FloatVector.fromArray(SPECIES, b, i), acc);
            }
            double s = acc.reduceLanes(VectorOperators.ADD);
            for (; i < to; i++)
            {
                s += (double)a[i] * b[i];
            }
            return s;
        }

        @Override
        String name()
        {
            return "vector";
        }

        @Override
        void matmul(final float[] a, final float[] b, final float[] c, final int m, final int k, final int n)
        {
            FloatKernels.matmul(a, b, c, m, k, n);
        }

        @Override
        void matmulTransposedB(final float[] a, final float[] b, final float[] c, final int m, final int k,
                               final int n)
        {
            FloatKernels.matmulTransposedB(a, b, c, m, k, n);
        }
    }

    /** The scalar oracle kernels. */
    static final class Scalar extends FloatOps
    {

        @Override
        void polynomial(final float[] x, final float[] c, final float bound, final float[] y, final int from,
                        final int to)
        {
            final int top = c.length - 1;
            for (int i = from; i < to; i++)
            {
                final float t = Math.max(-bound, Math.min(bound, x[i]));
                float acc = c[top];
                for (int k = top - 1; k >= 0; k--)
                {
                    acc = Math.fma(acc, t, c[k]);
                }
                y[i] = acc;
            }
        }

        @Override
        void polynomialGradient(final float[] x, final float[] dy, final float[] d, final float bound,
                                final float[] dx, final int from, final int to)
        {
            final int top = d.length - 1;
            for (int i = from; i < to; i++)
            {
                final float v = x[i];
                float acc = d[top];
                for (int k = top - 1; k >= 0; k--)
                {
                    acc = Math.fma(acc, v, d[k]);
                }
                dx[i] = Math.abs(v) > bound ? 0f : acc * dy[i];
            }
        }

        @Override
        double evenPowerSum(final float[] x, final float scale, final int half, final int from, final int to)
        {
            double sum = 0;
            for (int i = from; i < to; i++)
            {
                final float u = x[i] * scale;
                final float square = u * u;
                float p = square;
                for (int k = 1; k < half; k++)
                {
                    p *= square;
                }
                sum += p;
            }
            return sum;
        }

        @Override
        void addOddPower(final float[] x, final float scale, final int half, final float weight, final float[] dx,
                         final int from, final int to)
        {
            for (int i = from; i < to; i++)
            {
                final float u = x[i] * scale;
                final float square = u * u;
                float p = u;
                for (int k = 1; k < half; k++)
                {
                    p *= square;
                }
                dx[i] = Math.fma(p, weight, dx[i]);
            }
        }

        @Override
        double tailSquareSum(final float[] x, final float margin, final int from, final int to)
        {
            double sum = 0;
            for (int i = from; i < to; i++)
            {
                final float excess = excess(x[i], margin);
                sum += excess * excess;
            }
            return sum;
        }

        @Override
        void addTailGradient(final float[] x, final float margin, final float weight, final float[] dx,
                             final int from, final int to)
        {
            for (int i = from; i < to; i++)
            {
                dx[i] = Math.fma(excess(x[i], margin), weight, dx[i]);
            }
        }

        private static float excess(final float v, final float margin)
        {
            return Math.max(0f, v - margin) + Math.min(0f, v + margin);
        }

        @Override
        double sum(final float[] a, final int from, final int to)
        {
            double s = 0;
            for (int i = from; i < to; i++)
            {
                s += a[i];
            }
            return s;
        }

        @Override
        double squaredDeviation(final float[] a, final int from, final int to, final float shift)
        {
            double s = 0;
            for (int i = from; i < to; i++)
            {
                final double d = a[i] - shift;
                s += d * d;
            }
            return s;
        }

        @Override
        double dot(final float[] a, final float[] b, final int from, final int to)
        {
            double s = 0;
            for (int i = from; i < to; i++)
            {
                s += (double)a[i] * b[i];
            }
            return s;
        }

        @Override
        String name()
        {
            return "scalar";
        }

        @Override
        void matmul(final float[] a, final float[] b, final float[] c, final int m, final int k, final int n)
        {
            ScalarFloatKernels.matmul(a, b, c, m, k, n);
        }

        @Override
        void matmulTransposedB(final float[] a, final float[] b, final float[] c, final int m, final int k,
                               final int n)
        {
            ScalarFloatKernels.matmulTransposedB(a, b, c, m, k, n);
        }
    }
}
