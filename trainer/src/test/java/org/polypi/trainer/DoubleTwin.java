package org.polypi.trainer;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.DoubleUnaryOperator;

import org.polypi.model.Layer;
import org.polypi.model.ModelGraph;
import org.polypi.model.Node;
import org.polypi.model.Shape;

/**
 * An independent float64 implementation of the trainer's forward pass, written as plainly as possible (direct
 * loops, no im2col, no kernels, no parallel parts), used as the function whose central differences check every
 * backward pass. It walks a {@link ModelGraph} template exactly as {@link Network} maps it, reading the parameters
 * by name.
 */
final class DoubleTwin
{
    private final ModelGraph graph;
    private final double clip;
    private final double penaltyRange;
    private final double penaltySiteWeight;
    private final int penaltyGamma;
    private final double tailMargin;
    private final double tailSiteWeight;

    /** Twin of {@code new Network(graph, clip, penalty)}; penalty values are frozen at construction. */
    DoubleTwin(final ModelGraph graph, final double clip, final RangePenalty penalty)
    {
        this.graph = graph;
        this.clip = clip;
        this.penaltyRange = penalty == null ? 1 : penalty.range();
        this.penaltySiteWeight = penalty == null ? 0 : penalty.siteWeight();
        this.penaltyGamma = penalty == null ? 2 : penalty.gamma();
        this.tailMargin = penalty == null ? Double.POSITIVE_INFINITY : penalty.tailMargin();
        this.tailSiteWeight = penalty == null ? 0 : penalty.tailSiteWeight();
    }

    /** Output of the twin plus the penalty it adds to the loss. */
    record Result(double[] output, double penalty)
    {
    }

    /** Forward pass in training or evaluation mode, parameters by name. */
    Result forward(final double[] x, final int batch, final boolean training, final Map<String, double[]> p)
    {
        final Map<String, double[]> values = new HashMap<>();
        values.put(graph.inputs().getFirst().name(), x);
        double penalty = 0;
        for (final Node node : graph.nodes())
        {
            final List<Node> readers = graph.consumers(node.name());
            if (node.layer() instanceof Layer.BatchNorm && readers.size() == 1 &&
                readers.getFirst().layer() instanceof Layer.ChannelPoly)
            {
                values.put(node.name(), values.get(node.input()));
                continue;
            }
            final double[] in = values.get(node.input());
            final Shape s = graph.shape(node.input());
            final String n = node.name();
            final double[] out = switch (node.layer())
            {
                case Layer.Conv2d c -> conv(in, batch, s, c, p.get(n + ".weight"), p.get(n + ".bias"));
                case Layer.Linear l -> linear(in, batch, l, p.get(n + ".weight"), p.get(n + ".bias"));
                case Layer.AvgPool2d a -> avgPool(in, batch, s, a.kernel(), a.kernel(), a.stride());
                case Layer.GlobalAvgPool _ -> avgPool(in, batch, s, s.dim(1), s.dim(2), 1);
                case Layer.MaxPool2d m -> maxPool(in, batch, s, m);
                case Layer.BatchNorm _ -> batchNorm(in, batch, s, training, p.get(n + ".weight"),
                    p.get(n + ".bias"), p.get(n + ".running_mean"), p.get(n + ".running_var"));
                case Layer.Add _ ->
                {
                    final double[] b = values.get(node.inputs().get(1));
                    final double[] y = new double[in.length];
                    for (int i = 0; i < y.length; i++)
                    {
                        y[i] = in[i] + b[i];
                    }
                    yield y;
                }
                case Layer.Flatten _, Layer.Identity _ -> in;
                case Layer.ReLU _ ->
                {
                    final double[] y = new double[in.length];
                    for (int i = 0; i < y.length; i++)
                    {
                        y[i] = Math.max(0, in[i]);
                    }
                    yield y;
                }
                case Layer.Poly q ->
                {
                    final double[] y = new double[in.length];
                    final double bound = training && clip > 0 ? clip : Double.POSITIVE_INFINITY;
                    for (int i = 0; i < y.length; i++)
                    {
                        y[i] = q.evaluate(Math.max(-bound, Math.min(bound, in[i])));
                        if (training)
                        {
                            penalty += penaltySiteWeight * Math.pow(in[i] / penaltyRange, penaltyGamma);
                            final double excess = Math.max(0, Math.abs(in[i]) - tailMargin);
                            penalty += tailSiteWeight * excess * excess;
                        }
                    }
                    yield y;
                }
                case Layer.ChannelPoly _ -> herpn(in, batch, s, training, p, n);
                case Layer.MaskedReLU m ->
                {
                    final double[] y = new double[in.length];
                    for (int i = 0; i < y.length; i++)
                    {
                        y[i] = m.isReLU(i % s.size()) ? Math.max(0, in[i]) : in[i];
                    }
                    yield y;
                }
            };
            values.put(n, out);
        }
        return new Result(values.get(graph.outputs().getFirst()), penalty);
    }

    private static double[] conv(final double[] x, final int batch, final Shape s, final Layer.Conv2d c,
                                 final double[] w, final double[] b)
    {
        final int ci = c.inChannels();
        final int h = s.dim(1);
        final int wd = s.dim(2);
        final Shape out = c.outputShape(List.of(s));
        final int oh = out.dim(1);
        final int ow = out.dim(2);
        final int co = c.outChannels();
        final int kh = c.kernelHeight();
        final int kw = c.kernelWidth();
        final double[] y = new double[batch * co * oh * ow];
        for (int n = 0; n < batch; n++)
        {
            for (int o = 0; o < co; o++)
            {
                for (int oy = 0; oy < oh; oy++)
                {
                    for (int ox = 0; ox < ow; ox++)
                    {
                        double sum = b == null ? 0 : b[o];
                        for (int i = 0; i < ci; i++)
                        {
                            for (int r = 0; r < kh; r++)
                            {
                                for (int q = 0; q < kw; q++)
                                {
                                    final int iy = oy * c.stride() + r - c.padding();
                                    final int ix = ox * c.stride() + q - c.padding();
                                    if (iy >= 0 && iy < h && ix >= 0 && ix < wd)
                                    {
                                        sum += w[((o * ci + i) * kh + r) * kw + q] * x[((n * ci + i) * h + iy) * wd + ix];
                                    }
                                }
                            }
                        }
                        y[((n * co + o) * oh + oy) * ow + ox] = sum;
                    }
                }
            }
        }
        return y;
    }

    private static double[] linear(final double[] x, final int batch, final Layer.Linear l, final double[] w,
                                   final double[] b)
    {
        final int in = l.inFeatures();
        final int out = l.outFeatures();
        final double[] y = new double[batch * out];
        for (int n = 0; n < batch; n++)
        {
            for (int o = 0; o < out; o++)
            {
                double sum = b == null ? 0 : b[o];
                for (int i = 0; i < in; i++)
                {
                    sum += w[o * in + i] * x[n * in + i];
                }
                y[n * out + o] = sum;
            }
        }
        return y;
    }

    private static double[] avgPool(final double[] x, final int batch, final Shape s, final int kh, final int kw,
                                    final int stride)
    {
        final int c = s.dim(0);
        final int h = s.dim(1);
        final int w = s.dim(2);
        final int oh = (h - kh) / stride + 1;
        final int ow = (w - kw) / stride + 1;
        final double[] y = new double[batch * c * oh * ow];
        for (int m = 0; m < batch * c; m++)
        {
            for (int oy = 0; oy < oh; oy++)
            {
                for (int ox = 0; ox < ow; ox++)
                {
                    double sum = 0;
                    for (int r = 0; r < kh; r++)
                    {
                        for (int q = 0; q < kw; q++)
                        {
                            sum += x[(m * h + oy * stride + r) * w + ox * stride + q];
                        }
                    }
                    y[(m * oh + oy) * ow + ox] = sum / (kh * kw);
                }
            }
        }
        return y;
    }

    private static double[] maxPool(final double[] x, final int batch, final Shape s, final Layer.MaxPool2d p)
    {
        final Shape out = p.outputShape(List.of(s));
        final int c = s.dim(0);
        final int h = s.dim(1);
        final int w = s.dim(2);
        final int oh = out.dim(1);
        final int ow = out.dim(2);
        final double[] y = new double[batch * c * oh * ow];
        for (int m = 0; m < batch * c; m++)
        {
            for (int oy = 0; oy < oh; oy++)
            {
                for (int ox = 0; ox < ow; ox++)
                {
                    double max = Double.NEGATIVE_INFINITY;
                    for (int r = 0; r < p.kernel(); r++)
                    {
                        for (int q = 0; q < p.kernel(); q++)
                        {
                            final int iy = oy * p.stride() + r - p.padding();
                            final int ix = ox * p.stride() + q - p.padding();
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

    private static double[] batchNorm(final double[] x, final int batch, final Shape s, final boolean training,
                                      final double[] gamma, final double[] beta, final double[] runningMean,
                                      final double[] runningVar)
    {
        final int c = s.dim(0);
        final int spatial = s.size() / c;
        final double[][] stats = training ? channelStats(x, batch, c, spatial, v -> v) : null;
        final double[] y = new double[x.length];
        for (int ch = 0; ch < c; ch++)
        {
            final double mean = training ? stats[0][ch] : runningMean[ch];
            final double var = training ? stats[1][ch] : runningVar[ch];
            final double inv = 1 / Math.sqrt(var + BatchNormLayer.EPS);
            for (int n = 0; n < batch; n++)
            {
                for (int i = 0; i < spatial; i++)
                {
                    final int at = (n * c + ch) * spatial + i;
                    y[at] = gamma[ch] * (x[at] - mean) * inv + beta[ch];
                }
            }
        }
        return y;
    }

    private double[] herpn(final double[] x, final int batch, final Shape s, final boolean training,
                           final Map<String, double[]> p, final String n)
    {
        final int c = s.dim(0);
        final int spatial = s.size() / c;
        final double root2 = Math.sqrt(2);
        final double[][] s1 = training ? channelStats(x, batch, c, spatial, v -> v) : null;
        final double[][] s2 = training ? channelStats(x, batch, c, spatial, v -> (v * v - 1) / root2) : null;
        final double[] gamma = p.get(n + ".weight");
        final double[] beta = p.get(n + ".bias");
        final double[] y = new double[x.length];
        for (int ch = 0; ch < c; ch++)
        {
            final double mu1 = training ? s1[0][ch] : p.get(n + ".running_mean1")[ch];
            final double var1 = training ? s1[1][ch] : p.get(n + ".running_var1")[ch];
            final double mu2 = training ? s2[0][ch] : p.get(n + ".running_mean2")[ch];
            final double var2 = training ? s2[1][ch] : p.get(n + ".running_var2")[ch];
            for (int b = 0; b < batch; b++)
            {
                for (int i = 0; i < spatial; i++)
                {
                    final int at = (b * c + ch) * spatial + i;
                    final double v = x[at];
                    final double n1 = (v - mu1) / Math.sqrt(var1 + BatchNormLayer.EPS);
                    final double n2 = ((v * v - 1) / root2 - mu2) / Math.sqrt(var2 + BatchNormLayer.EPS);
                    y[at] = gamma[ch] * (HerPnLayer.F1 * n1 + HerPnLayer.F2 * n2) + beta[ch];
                }
            }
        }
        return y;
    }

    /** Per channel mean and biased variance of {@code f(x)}. */
    private static double[][] channelStats(final double[] x, final int batch, final int c, final int spatial,
                                           final DoubleUnaryOperator f)
    {
        final double[][] stats = new double[2][c];
        final int count = batch * spatial;
        for (int ch = 0; ch < c; ch++)
        {
            double sum = 0;
            for (int b = 0; b < batch; b++)
            {
                for (int i = 0; i < spatial; i++)
                {
                    sum += f.applyAsDouble(x[(b * c + ch) * spatial + i]);
                }
            }
            final double mean = sum / count;
            double sq = 0;
            for (int b = 0; b < batch; b++)
            {
                for (int i = 0; i < spatial; i++)
                {
                    final double d = f.applyAsDouble(x[(b * c + ch) * spatial + i]) - mean;
                    sq += d * d;
                }
            }
            stats[0][ch] = mean;
            stats[1][ch] = sq / count;
        }
        return stats;
    }
}
