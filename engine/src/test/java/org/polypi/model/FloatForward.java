package org.polypi.model;

import java.util.HashMap;
import java.util.Map;

/**
 * A deliberately plain float64 forward pass over a {@link ModelGraph}, used by the tests to check that folding
 * preserves the function and that the random reference networks keep their activation inputs bounded. (The real
 * interpreters live in {@code org.polypi.model.reference}.)
 */
final class FloatForward
{
    /** Largest |x| seen at the input of any activation layer in the last {@link #run}. */
    double maxActivationInput;
    /** Per activation node: largest |x| at its input and the root mean square of its input. */
    final java.util.Map<String, double[]> activationStats = new java.util.LinkedHashMap<>();

    /** Runs one item; returns the first output, flattened. */
    double[] run(final ModelGraph g, final double[] input)
    {
        maxActivationInput = 0;
        final Map<String, double[]> values = new HashMap<>();
        values.put(g.inputs().getFirst().name(), input);
        for (final Node n : g.nodes())
        {
            final double[] x = values.get(n.input());
            final Shape in = g.shape(n.input());
            final Shape out = g.shape(n.name());
            if (n.layer().isActivation())
            {
                double max = 0;
                double sq = 0;
                for (final double v : x)
                {
                    max = Math.max(max, Math.abs(v));
                    sq += v * v;
                }
                maxActivationInput = Math.max(maxActivationInput, max);
                activationStats.put(n.name(), new double[] {max, Math.sqrt(sq / x.length)});
            }
            values.put(n.name(), switch (n.layer())
            {
                case Layer.Conv2d c -> conv(c, x, in, out);
                case Layer.Linear l -> linear(l, x);
                case Layer.AvgPool2d p -> pool(x, in, out, p.kernel(), p.stride(), 0, false);
                case Layer.MaxPool2d p -> pool(x, in, out, p.kernel(), p.stride(), p.padding(), true);
                case Layer.GlobalAvgPool p -> pool(x, in, out, in.dim(1), 1, 0, false);
                case Layer.BatchNorm b -> batchNorm(b, x, in);
                case Layer.Add a ->
                {
                    final double[] y = values.get(n.inputs().get(1));
                    final double[] r = new double[x.length];
                    for (int i = 0; i < r.length; i++)
                    {
                        r[i] = x[i] + y[i];
                    }
                    yield r;
                }
                case Layer.Flatten f -> x;
                case Layer.ReLU r -> map(x, v -> Math.max(v, 0));
                case Layer.Identity i -> x;
                case Layer.Poly p -> map(x, p::evaluate);
                case Layer.ChannelPoly p ->
                {
                    final int per = x.length / p.channels();
                    final double[] r = new double[x.length];
                    for (int i = 0; i < r.length; i++)
                    {
                        r[i] = p.evaluate(i / per, x[i]);
                    }
                    yield r;
                }
                case Layer.MaskedReLU m ->
                {
                    final double[] r = new double[x.length];
                    for (int i = 0; i < r.length; i++)
                    {
                        r[i] = m.isReLU(i) ? Math.max(x[i], 0) : x[i];
                    }
                    yield r;
                }
            });
        }
        return values.get(g.outputs().getFirst());
    }

    private static double[] map(final double[] x, final java.util.function.DoubleUnaryOperator f)
    {
        final double[] r = new double[x.length];
        for (int i = 0; i < r.length; i++)
        {
            r[i] = f.applyAsDouble(x[i]);
        }
        return r;
    }

    private static double[] conv(final Layer.Conv2d c, final double[] x, final Shape in, final Shape out)
    {
        final int ih = in.dim(1);
        final int iw = in.dim(2);
        final int oh = out.dim(1);
        final int ow = out.dim(2);
        final int k1 = c.kernelHeight();
        final int k2 = c.kernelWidth();
        final int s = c.stride();
        final int p = c.padding();
        final float[] w = c.weights().toArray();
        final double[] y = new double[out.size()];
        for (int o = 0; o < c.outChannels(); o++)
        {
            final double b = c.hasBias() ? c.bias().get(o) : 0;
            for (int i = o * oh * ow; i < (o + 1) * oh * ow; i++)
            {
                y[i] = b;
            }
            for (int ci = 0; ci < c.inChannels(); ci++)
            {
                for (int a = 0; a < k1; a++)
                {
                    for (int bb = 0; bb < k2; bb++)
                    {
                        final double wv = w[((o * c.inChannels() + ci) * k1 + a) * k2 + bb];
                        for (int r = 0; r < oh; r++)
                        {
                            final int yy = r * s + a - p;
                            if (yy < 0 || yy >= ih)
                            {
                                continue;
                            }
                            final int xBase = (ci * ih + yy) * iw;
                            final int yBase = (o * oh + r) * ow;
                            for (int q = 0; q < ow; q++)
                            {
                                final int xx = q * s + bb - p;
                                if (xx >= 0 && xx < iw)
                                {
                                    y[yBase + q] += wv * x[xBase + xx];
                                }
                            }
                        }
                    }
                }
            }
        }
        return y;
    }

    private static double[] linear(final Layer.Linear l, final double[] x)
    {
        final double[] y = new double[l.outFeatures()];
        for (int o = 0; o < y.length; o++)
        {
            double acc = l.hasBias() ? l.bias().get(o) : 0;
            for (int i = 0; i < l.inFeatures(); i++)
            {
                acc += l.weights().get(o * l.inFeatures() + i) * x[i];
            }
            y[o] = acc;
        }
        return y;
    }

    private static double[] pool(final double[] x, final Shape in, final Shape out, final int k, final int s,
                                 final int p, final boolean max)
    {
        final int ih = in.dim(1);
        final int iw = in.dim(2);
        final int oh = out.dim(1);
        final int ow = out.dim(2);
        final double[] y = new double[out.size()];
        for (int c = 0; c < in.dim(0); c++)
        {
            for (int r = 0; r < oh; r++)
            {
                for (int q = 0; q < ow; q++)
                {
                    double acc = max ? Double.NEGATIVE_INFINITY : 0;
                    for (int a = 0; a < k; a++)
                    {
                        for (int b = 0; b < k; b++)
                        {
                            final int yy = r * s + a - p;
                            final int xx = q * s + b - p;
                            if (yy >= 0 && yy < ih && xx >= 0 && xx < iw)
                            {
                                final double v = x[(c * ih + yy) * iw + xx];
                                acc = max ? Math.max(acc, v) : acc + v;
                            }
                        }
                    }
                    y[(c * oh + r) * ow + q] = max ? acc : acc / (k * k);
                }
            }
        }
        return y;
    }

    private static double[] batchNorm(final Layer.BatchNorm b, final double[] x, final Shape in)
    {
        final int per = (int)(in.elements() / b.channels());
        final double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++)
        {
            final int c = i / per;
            y[i] = b.gamma().get(c) * (x[i] - b.runningMean().get(c)) /
                Math.sqrt((double)b.runningVar().get(c) + b.eps()) + b.beta().get(c);
        }
        return y;
    }
}
