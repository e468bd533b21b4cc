package org.polypi.trainer;

import java.util.List;

import org.polypi.model.Layer;
import org.polypi.model.Shape;
import org.polypi.model.Tensor;

/**
 * AESPA's HerPN of degree 2, which replaces the pair "BatchNorm, ReLU" (seeds.md 3.2):
 * <pre>
 *   h1 = x,  h2 = (x² - 1) / √2                     (normalised probabilists' Hermite basis)
 *   n_i = (h_i - mu_i) / sqrt(var_i + eps)          (per basis, per channel batch normalisation, no affine)
 *   y = gamma · (f1 n1 + f2 n2) + beta              (f1 = 1/2, f2 = 1/sqrt(4 pi): ReLU's Hermite coefficients)
 * </pre>
 * (h0 = 1 has zero variance and normalises to 0.) Training uses batch statistics and updates running averages as
 * {@link BatchNormLayer}; evaluation uses the running averages, i.e. exactly the per-channel quadratic
 * {@code a2 x² + a1 x + a0} of {@link #toLayer()}, which is what the model exports ({@link Layer.ChannelPoly}).
 */
final class HerPnLayer implements ActivationLayer
{
    /** ReLU's first normalised Hermite coefficient. */
    static final double F1 = 0.5;
    /** ReLU's second normalised Hermite coefficient, 1 / sqrt(4 pi). */
    static final double F2 = 1.0 / Math.sqrt(4 * Math.PI);
    private static final double SQRT2 = Math.sqrt(2);

    private final String name;
    private final ChannelLayout layout;
    private final Param gamma;
    private final Param beta;
    private final Param mean1;
    private final Param var1;
    private final Param mean2;
    private final Param var2;
    private final float[] inverseStd1;
    private final float[] inverseStd2;
    private float[] input;
    private float[] output;
    private float[] normalised1;
    private float[] normalised2;
    private float[] gradInput;
    private ActivationStats stats;

    /** Starts with gamma 1, beta 0, running means 0 and running variances 1. */
    HerPnLayer(final String name, final Shape in)
    {
        this.name = name;
        this.layout = ChannelLayout.of(in);
        final Shape c = Shape.of(layout.channels());
        this.gamma = Param.trainable(name + ".weight", c, 1f, false);
        this.beta = Param.trainable(name + ".bias", c, 0f, false);
        this.mean1 = Param.buffer(name + ".running_mean1", c, 0f);
        this.var1 = Param.buffer(name + ".running_var1", c, 1f);
        this.mean2 = Param.buffer(name + ".running_mean2", c, 0f);
        this.var2 = Param.buffer(name + ".running_var2", c, 1f);
        this.inverseStd1 = new float[layout.channels()];
        this.inverseStd2 = new float[layout.channels()];
    }

    /**
     * The folded per-channel quadratic ({@code [C, 3]}, lowest power first), from the running statistics, in
     * double:
     * {@code a2 = gamma f2 n2 / √2}, {@code a1 = gamma f1 n1},
     * {@code a0 = beta - gamma (f1 n1 mu1 + f2 n2 (mu2 + 1/√2))}, {@code n_i = 1 / sqrt(var_i + eps)}.
     */
    double[][] foldedCoefficients()
    {
        final int channels = layout.channels();
        final double[][] a = new double[channels][3];
        for (int c = 0; c < channels; c++)
        {
            final double g = gamma.value()[c];
            final double n1 = 1.0 / Math.sqrt((double)var1.value()[c] + BatchNormLayer.EPS);
            final double n2 = 1.0 / Math.sqrt((double)var2.value()[c] + BatchNormLayer.EPS);
            a[c][2] = g * F2 * n2 / SQRT2;
            a[c][1] = g * F1 * n1;
            a[c][0] = beta.value()[c] - g * (F1 * n1 * mean1.value()[c] + F2 * n2 * (mean2.value()[c] + 1 / SQRT2));
        }
        return a;
    }

    /** The exported activation: the folded quadratic per channel. */
    Layer.ChannelPoly toLayer()
    {
        final double[][] a = foldedCoefficients();
        final float[] c = new float[a.length * 3];
        for (int ch = 0; ch < a.length; ch++)
        {
            for (int k = 0; k < 3; k++)
            {
                c[ch * 3 + k] = (float)a[ch][k];
            }
        }
        return new Layer.ChannelPoly(Tensor.of(Shape.of(a.length, 3), c));
    }

    @Override
    public String describe()
    {
        return name + ": HerPN " + layout.channels() + " degree 2";
    }

    @Override
    public int outputSize()
    {
        return layout.itemSize();
    }

    @Override
    public List<Param> params()
    {
        return List.of(gamma, beta, mean1, var1, mean2, var2);
    }

    @Override
    public void recordInto(final ActivationStats s)
    {
        stats = s;
    }

    @Override
    public float[] forward(final float[] x, final int batch, final boolean training)
    {
        input = x;
        final int n = batch * layout.itemSize();
        output = TrainLayer.reuse(output, n);
        final float[] y = output;
        final int channels = layout.channels();
        final int spatial = layout.spatial();
        if (!training)
        {
            final double[][] a = foldedCoefficients();
            final ActivationStats recorder = stats;
            Parallel.forRange(channels, Parallel.parts(channels, 1), (part, from, to) ->
            {
                for (int c = from; c < to; c++)
                {
                    for (int item = 0; item < batch; item++)
                    {
                        final int start = layout.start(item, c);
                        for (int i = start; i < start + spatial; i++)
                        {
                            final double v = x[i];
                            y[i] = (float)((a[c][2] * v + a[c][1]) * v + a[c][0]);
                        }
                        if (recorder != null)
                        {
                            recorder.record(x, start, start + spatial);
                        }
                    }
                }
            });
            return y;
        }
        normalised1 = TrainLayer.reuse(normalised1, n);
        normalised2 = TrainLayer.reuse(normalised2, n);
        final float[] n1 = normalised1;
        final float[] n2 = normalised2;
        final float[] g = gamma.value();
        final float[] b = beta.value();
        final long count = (long)batch * spatial;
        final FloatOps ops = FloatOps.get();
        Parallel.forRange(channels, Parallel.parts(channels, 1), (part, from, to) ->
        {
            for (int c = from; c < to; c++)
            {
                double s1 = 0;
                double s2 = 0;
                for (int item = 0; item < batch; item++)
                {
                    final int start = layout.start(item, c);
                    hermite2(x, n2, start, spatial);
                    s1 += ops.sum(x, start, start + spatial);
                    s2 += ops.sum(n2, start, start + spatial);
                }
                final double mu1 = s1 / count;
                final double mu2 = s2 / count;
                double q1 = 0;
                double q2 = 0;
                for (int item = 0; item < batch; item++)
                {
                    final int start = layout.start(item, c);
                    q1 += ops.squaredDeviation(x, start, start + spatial, (float)mu1);
                    q2 += ops.squaredDeviation(n2, start, start + spatial, (float)mu2);
                }
                final double v1 = q1 / count;
                final double v2 = q2 / count;
                final double i1 = 1.0 / Math.sqrt(v1 + BatchNormLayer.EPS);
                final double i2 = 1.0 / Math.sqrt(v2 + BatchNormLayer.EPS);
                inverseStd1[c] = (float)i1;
                inverseStd2[c] = (float)i2;
                final float gf1 = (float)(g[c] * F1);
                final float gf2 = (float)(g[c] * F2);
                for (int item = 0; item < batch; item++)
                {
                    normalise(x, n1, n2, y, layout.start(item, c), spatial, (float)mu1, (float)i1, (float)mu2,
                        (float)i2, gf1, gf2, b[c]);
                }
                final double correction = count > 1 ? (double)count / (count - 1) : 1;
                update(mean1, c, mu1);
                update(var1, c, v1 * correction);
                update(mean2, c, mu2);
                update(var2, c, v2 * correction);
            }
        });
        return y;
    }

    /** {@code h[i] = (x[i]² - 1) / √2} over one run. */
    private static void hermite2(final float[] x, final float[] h, final int start, final int length)
    {
        final float inverseRoot2 = (float)(1 / SQRT2);
        for (int i = start; i < start + length; i++)
        {
            h[i] = (x[i] * x[i] - 1f) * inverseRoot2;
        }
    }

    /** Normalises both bases of one run in place ({@code n2} holds h2 on entry) and mixes them into y. */
    private static void normalise(final float[] x, final float[] n1, final float[] n2, final float[] y,
                                  final int start, final int length, final float mu1, final float i1,
                                  final float mu2, final float i2, final float gf1, final float gf2, final float b)
    {
        for (int i = start; i < start + length; i++)
        {
            final float a1 = (x[i] - mu1) * i1;
            final float a2 = (n2[i] - mu2) * i2;
            n1[i] = a1;
            n2[i] = a2;
            y[i] = gf1 * a1 + gf2 * a2 + b;
        }
    }

    private static void update(final Param running, final int c, final double batchValue)
    {
        final float[] r = running.value();
        r[c] = (float)((1 - BatchNormLayer.MOMENTUM) * r[c] + BatchNormLayer.MOMENTUM * batchValue);
    }

    @Override
    public float[] backward(final float[] dy, final int batch)
    {
        final int n = batch * layout.itemSize();
        gradInput = TrainLayer.reuse(gradInput, n);
        final float[] dx = gradInput;
        final float[] x = input;
        final float[] n1 = normalised1;
        final float[] n2 = normalised2;
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
                double sumDyN1 = 0;
                double sumDyN2 = 0;
                for (int item = 0; item < batch; item++)
                {
                    final int start = layout.start(item, c);
                    sumDy += ops.sum(dy, start, start + spatial);
                    sumDyN1 += ops.dot(dy, n1, start, start + spatial);
                    sumDyN2 += ops.dot(dy, n2, start, start + spatial);
                }
                gg[c] += (float)(F1 * sumDyN1 + F2 * sumDyN2);
                bg[c] += (float)sumDy;
                // each basis: dh = invstd · (dn - mean(dn) - n · mean(dn · n)), with dn_i = dy · gamma · f_i
                final double k1 = g[c] * F1;
                final double k2 = g[c] * F2;
                final float a1 = (float)(inverseStd1[c] * k1);
                final float a2 = (float)(inverseStd2[c] * k2);
                final float m = (float)(sumDy / count);
                final float c1 = (float)(sumDyN1 / count);
                final float c2 = (float)(sumDyN2 / count);
                final float root2 = (float)SQRT2;
                for (int item = 0; item < batch; item++)
                {
                    final int start = layout.start(item, c);
                    for (int i = start; i < start + spatial; i++)
                    {
                        final float d = dy[i];
                        final float dh1 = a1 * (d - m - n1[i] * c1);
                        final float dh2 = a2 * (d - m - n2[i] * c2);
                        // dh2/dx = 2x / √2 = √2 x
                        dx[i] = dh1 + dh2 * root2 * x[i];
                    }
                }
            }
        });
        return dx;
    }
}
