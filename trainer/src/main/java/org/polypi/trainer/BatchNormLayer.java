package org.polypi.trainer;

import java.util.List;

import org.polypi.model.Layer;
import org.polypi.model.Shape;
import org.polypi.model.Tensor;

/**
 * Batch normalisation over the channel dimension. Training: batch statistics over items and positions (biased
 * variance to normalise, unbiased for the running variance, momentum {@value #MOMENTUM} as PyTorch); evaluation:
 * the running statistics. Statistics are accumulated in double, one channel per part, so they do not depend on the
 * split.
 */
final class BatchNormLayer implements TrainLayer.Unary
{
    /** Weight of the new batch statistic in the running averages. */
    static final double MOMENTUM = 0.1;
    /** Added to the variance. */
    static final float EPS = 1e-5f;

    private final String name;
    private final ChannelLayout layout;
    private final Param gamma;
    private final Param beta;
    private final Param runningMean;
    private final Param runningVar;
    private float[] output;
    private float[] normalised;
    private float[] gradInput;
    private float[] inverseStd;

    /** Starts at the identity: gamma 1, beta 0, running mean 0, running variance 1. */
    BatchNormLayer(final String name, final Shape in)
    {
        this.name = name;
        this.layout = ChannelLayout.of(in);
        final Shape c = Shape.of(layout.channels());
        this.gamma = Param.trainable(name + ".weight", c, 1f, false);
        this.beta = Param.trainable(name + ".bias", c, 0f, false);
        this.runningMean = Param.buffer(name + ".running_mean", c, 0f);
        this.runningVar = Param.buffer(name + ".running_var", c, 1f);
        this.inverseStd = new float[layout.channels()];
    }

    /** The inference-mode layer with the current values. */
    Layer.BatchNorm toLayer()
    {
        return new Layer.BatchNorm(gamma.toTensor(), beta.toTensor(), runningMean.toTensor(),
            runningVar.toTensor(), EPS);
    }

    /** Copies trained values from a model layer (for tests and fine-tuning). */
    void load(final Layer.BatchNorm bn)
    {
        copy(bn.gamma(), gamma);
        copy(bn.beta(), beta);
        copy(bn.runningMean(), runningMean);
        copy(bn.runningVar(), runningVar);
    }

    private static void copy(final Tensor t, final Param p)
    {
        t.copyTo(p.value(), 0);
    }

    @Override
    public String describe()
    {
        return name + ": BatchNorm " + layout.channels();
    }

    @Override
    public int outputSize()
    {
        return layout.itemSize();
    }

    @Override
    public List<Param> params()
    {
        return List.of(gamma, beta, runningMean, runningVar);
    }

    @Override
    public float[] forward(final float[] x, final int batch, final boolean training)
    {
        final int n = batch * layout.itemSize();
        output = TrainLayer.reuse(output, n);
        final float[] y = output;
        final int channels = layout.channels();
        final int spatial = layout.spatial();
        final float[] g = gamma.value();
        final float[] b = beta.value();
        final float[] rm = runningMean.value();
        final float[] rv = runningVar.value();
        if (!training)
        {
            Parallel.forRange(channels, Parallel.parts(channels, 1), (part, from, to) ->
            {
                for (int c = from; c < to; c++)
                {
                    final double scale = g[c] / Math.sqrt((double)rv[c] + EPS);
                    final float s = (float)scale;
                    final float shift = (float)(b[c] - rm[c] * scale);
                    for (int item = 0; item < batch; item++)
                    {
                        final int start = layout.start(item, c);
                        for (int i = start; i < start + spatial; i++)
                        {
                            y[i] = x[i] * s + shift;
                        }
                    }
                }
            });
            return y;
        }
        final FloatOps ops = FloatOps.get();
        normalised = TrainLayer.reuse(normalised, n);
        final float[] xhat = normalised;
        final long count = (long)batch * spatial;
        Parallel.forRange(channels, Parallel.parts(channels, 1), (part, from, to) ->
        {
            for (int c = from; c < to; c++)
            {
                double sum = 0;
                for (int item = 0; item < batch; item++)
                {
                    final int start = layout.start(item, c);
                    sum += ops.sum(x, start, start + spatial);
                }
                final double mean = sum / count;
                double squares = 0;
                for (int item = 0; item < batch; item++)
                {
                    final int start = layout.start(item, c);
                    squares += ops.squaredDeviation(x, start, start + spatial, (float)mean);
                }
                final double var = squares / count;
                final double inv = 1.0 / Math.sqrt(var + EPS);
                inverseStd[c] = (float)inv;
                final float m = (float)mean;
                final float s = (float)inv;
                final float gc = g[c];
                final float bc = b[c];
                for (int item = 0; item < batch; item++)
                {
                    normalise(x, xhat, y, layout.start(item, c), spatial, m, s, gc, bc);
                }
                rm[c] = (float)((1 - MOMENTUM) * rm[c] + MOMENTUM * mean);
                final double unbiased = count > 1 ? var * count / (count - 1) : var;
                rv[c] = (float)((1 - MOMENTUM) * rv[c] + MOMENTUM * unbiased);
            }
        });
        return y;
    }

    /** {@code xhat = (x - mean)·inv}, {@code y = g·xhat + b} over one run: a loop the JIT vectorises. */
    private static void normalise(final float[] x, final float[] xhat, final float[] y, final int start,
                                  final int length, final float mean, final float inv, final float g, final float b)
    {
        for (int i = start; i < start + length; i++)
        {
            final float h = (x[i] - mean) * inv;
            xhat[i] = h;
            y[i] = g * h + b;
        }
    }

    @Override
    public float[] backward(final float[] dy, final int batch)
    {
        final int n = batch * layout.itemSize();
        gradInput = TrainLayer.reuse(gradInput, n);
        final float[] dx = gradInput;
        final float[] xhat = normalised;
        final int channels = layout.channels();
        final int spatial = layout.spatial();
        final float[] g = gamma.value();
        final float[] gg = gamma.grad();
        final float[] bg = beta.grad();
        final long count = (long)batch * spatial;
        final FloatOps ops = FloatOps.get();
        Parallel.forRange(channels, Parallel.parts(channels, 1), (part, from, to) ->
        {
            for (int c = from; c < to; c++)
            {
                double sumDy = 0;
                double sumDyXhat = 0;
                for (int item = 0; item < batch; item++)
                {
                    final int start = layout.start(item, c);
                    sumDy += ops.sum(dy, start, start + spatial);
                    sumDyXhat += ops.dot(dy, xhat, start, start + spatial);
                }
                gg[c] += (float)sumDyXhat;
                bg[c] += (float)sumDy;
                // dx = gamma·invstd · (dy - mean(dy) - xhat·mean(dy·xhat))
                final float scale = g[c] * inverseStd[c];
                final float meanDy = (float)(sumDy / count);
                final float meanDyXhat = (float)(sumDyXhat / count);
                for (int item = 0; item < batch; item++)
                {
                    final int start = layout.start(item, c);
                    for (int i = start; i < start + spatial; i++)
                    {
                        dx[i] = scale * (dy[i] - meanDy - xhat[i] * meanDyXhat);
                    }
                }
            }
        });
        return dx;
    }
}
