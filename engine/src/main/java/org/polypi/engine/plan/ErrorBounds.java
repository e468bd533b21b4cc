package org.polypi.engine.plan;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Objects;

/**
 * A per-item proven bound on {@code |secure - reference|} for every element of every tensor, from the reference's
 * own values: the same propagation as {@link CompiledModel#errorBound} (docs/engine-design.md §4), but element by
 * element and with the item's actual magnitudes instead of the header's activation bound B, so it is tight enough to
 * decide, per item, whether the secure top-1 is <b>guaranteed</b> to equal the reference's.
 * <p>
 * Rules, in real units (a tensor element v at scale s is {@code v 2^-s}); r is an input element's radius:
 * <ul>
 *   <li>Dense / Conv: {@code sum |w| r} over the element's receptive field (the bias is exact);</li>
 *   <li>sum-pool: the window's {@code sum r} times the real multiplier; Add: {@code r_a + r_b}; Reshape: r;</li>
 *   <li>truncation to t fractional bits: {@code r + (r > 0 ? 2 : 1) 2^-t} (the secure {@code floor(a) + c},
 *   {@code c} in {0, 1}, against the reference's {@code floor(b + 1/2)}: the difference lies strictly between
 *   {@code a - b - 3/2} and {@code a - b + 3/2}, so it is at most one unit when a = b);</li>
 *   <li>ReLU, masked ReLU: r (1-Lipschitz); max-pool: the window's largest r;</li>
 *   <li>activation power k from a copy x (the reference copy, t_k bits) within δ of the secure copy:
 *   {@code |x'^k - x^k| <= k (|x| + δ)^(k-1) δ} (mean value theorem), δ = r for a direct power, else
 *   {@code r + (r > 0 ? 2 : 1) 2^-t_k}; the public polynomial weights each power's term by its real coefficient;
 *   stacked powers keep them per block (the ones channel is exact); Combine weights the blocks' radii.</li>
 * </ul>
 * Computed in double with a relative slack of {@link #SLACK} for rounding. Private (unfoldable) ChannelPoly steps
 * have no secure protocol and are refused.
 */
public final class ErrorBounds
{
    /** Relative safety margin for floating-point rounding in the propagation. */
    public static final double SLACK = 1e-9;

    private final CompiledModel model;
    private final Plan plan;
    /** Per linear step, |weights| in real units, in the protocol layout. */
    private final double[][] absWeights;

    /** The bound calculator of {@code model} (reads its weights once). */
    public ErrorBounds(final CompiledModel model)
    {
        this.model = Objects.requireNonNull(model, "model");
        this.plan = model.plan();
        final List<PlanStep.Linear> linear = plan.linearSteps();
        this.absWeights = new double[linear.size()][];
        try (Arena arena = Arena.ofConfined())
        {
            for (final PlanStep.Linear step : linear)
            {
                final long[] w = model.weights(arena, step.linearIndex()).toArray();
                final int scale = switch (step)
                {
                    case PlanStep.Dense d -> d.weightScale();
                    case PlanStep.Conv c -> c.weightScale();
                };
                final double[] a = new double[w.length];
                for (int i = 0; i < w.length; i++)
                {
                    a[i] = Math.abs(Math.scalb((double)w[i], -scale));
                }
                absWeights[step.linearIndex()] = a;
            }
        }
    }

    /** The model. */
    public CompiledModel model()
    {
        return model;
    }

    /**
     * The radius of every logit of every item, in real units: {@code trace} is the reference's
     * ({@code FixedPointInference.trace}, every tensor for {@code batch} items).
     */
    public double[] logitRadius(final long[][] trace, final int batch)
    {
        return radii(trace, batch)[plan.outputTensor()];
    }

    /** The radius of every element of every tensor for the {@code batch} items of {@code trace}, by tensor id. */
    public double[][] radii(final long[][] trace, final int batch)
    {
        final double[][] r = new double[plan.tensors().size()][];
        r[plan.inputTensor()] = new double[batch * plan.tensor(plan.inputTensor()).size()];
        for (final PlanStep step : plan.steps())
        {
            r[step.output()] = saturate(step(step, trace, r, batch));
        }
        final double[] out = r[plan.outputTensor()];
        for (int i = 0; i < out.length; i++)
        {
            out[i] *= 1 + SLACK;
        }
        return r;
    }

    /**
     * Caps every radius at {@link Double#MAX_VALUE}: a radius past the double range proves nothing, but kept finite
     * it still multiplies a zero weight or coefficient to 0 (that input cannot move the output) where infinity would
     * give NaN and poison every later radius it reaches. A deep trained network's powers of powers get there within
     * a few layers (the trained W3's bound overflows at its third activation).
     */
    private static double[] saturate(final double[] radii)
    {
        for (int i = 0; i < radii.length; i++)
        {
            radii[i] = Math.min(radii[i], Double.MAX_VALUE);
        }
        return radii;
    }

    /** A radius in units of 2^-f, rounded up. */
    public long ulps(final double radius)
    {
        // The propagation saturates (no NaN comes out of it), but a caller's NaN must not cast to 0, a bound of no
        // error at all: nothing is proven, which Long.MAX_VALUE says (as it does for a saturated radius).
        if (Double.isNaN(radius))
        {
            return Long.MAX_VALUE;
        }
        return (long)Math.ceil(Math.scalb(radius, plan.fractionalBits()));
    }

    /**
     * True if {@code top} stays the strict argmax under any perturbation within the radii: for every other class c,
     * {@code logit[top] - logit[c] > r[top] + r[c]} (in real units; {@code logits} in ring units at scale f).
     */
    public boolean top1Guaranteed(final long[] logits, final double[] radius, final int item, final int classes)
    {
        final int base = item * classes;
        int top = 0;
        for (int c = 1; c < classes; c++)
        {
            if (logits[base + c] > logits[base + top])
            {
                top = c;
            }
        }
        final int f = plan.fractionalBits();
        for (int c = 0; c < classes; c++)
        {
            if (c == top)
            {
                continue;
            }
            final double margin = Math.scalb((double)(logits[base + top] - logits[base + c]), -f);
            // A tie at the top can go either way, and on a secure tie the argmax takes the lower index.
            if (!(margin > radius[base + top] + radius[base + c]))
            {
                return false;
            }
        }
        return true;
    }

    private double[] step(final PlanStep step, final long[][] trace, final double[][] r, final int batch)
    {
        return switch (step)
        {
            case PlanStep.Dense d -> dense(d, r[d.input()], batch);
            case PlanStep.Conv c -> conv(c, r[c.input()], batch);
            case PlanStep.SumPool p -> sumPool(p, r[p.input()], batch);
            case PlanStep.Add a ->
            {
                final double[] x = r[a.a()];
                final double[] y = r[a.b()];
                final double[] out = new double[x.length];
                for (int i = 0; i < out.length; i++)
                {
                    out[i] = x[i] + y[i];
                }
                yield out;
            }
            case PlanStep.Reshape s -> r[s.input()].clone();
            case PlanStep.Truncate t ->
            {
                final double unit = Math.scalb(1.0, -plan.tensor(t.output()).scale());
                final double[] x = r[t.input()];
                final double[] out = new double[x.length];
                for (int i = 0; i < out.length; i++)
                {
                    out[i] = x[i] + (x[i] > 0 ? 2 : 1) * unit;
                }
                yield out;
            }
            case PlanStep.Relu u -> r[u.input()].clone();
            case PlanStep.MaskedRelu m -> r[m.inputs()[0]].clone();
            case PlanStep.MaxPool p -> maxPool(p, r[p.input()], batch);
            case PlanStep.Activation a -> activation(a, trace[a.inputs()[0]], r[a.inputs()[0]], batch);
            case PlanStep.Combine c -> combine(c, r[c.inputs()[0]], batch);
        };
    }

    private double[] dense(final PlanStep.Dense d, final double[] in, final int batch)
    {
        final double[] w = absWeights[d.linearIndex()];
        final int k = d.inFeatures();
        final int n = d.outFeatures();
        final double[] out = new double[batch * n];
        for (int b = 0; b < batch; b++)
        {
            for (int i = 0; i < k; i++)
            {
                final double ri = in[b * k + i];
                if (ri == 0)
                {
                    continue;
                }
                for (int j = 0; j < n; j++)
                {
                    out[b * n + j] += w[i * n + j] * ri;
                }
            }
        }
        return out;
    }

    private double[] conv(final PlanStep.Conv c, final double[] in, final int batch)
    {
        final double[] w = absWeights[c.linearIndex()];
        final int ci = c.inChannels();
        final int co = c.outChannels();
        final int kh = c.kernelHeight();
        final int kw = c.kernelWidth();
        final int ih = c.inHeight();
        final int iw = c.inWidth();
        final int oh = c.outHeight();
        final int ow = c.outWidth();
        final int s = c.stride();
        final int p = c.padding();
        final double[] out = new double[batch * co * oh * ow];
        for (int b = 0; b < batch; b++)
        {
            final int inBase = b * ci * ih * iw;
            final int outBase = b * co * oh * ow;
            for (int o = 0; o < co; o++)
            {
                for (int y = 0; y < oh; y++)
                {
                    for (int x = 0; x < ow; x++)
                    {
                        double acc = 0;
                        for (int i = 0; i < ci; i++)
                        {
                            for (int u = 0; u < kh; u++)
                            {
                                final int yy = y * s - p + u;
                                if (yy < 0 || yy >= ih)
                                {
                                    continue;
                                }
                                for (int v = 0; v < kw; v++)
                                {
                                    final int xx = x * s - p + v;
                                    if (xx >= 0 && xx < iw)
                                    {
                                        acc += w[((o * ci + i) * kh + u) * kw + v] *
                                            in[inBase + (i * ih + yy) * iw + xx];
                                    }
                                }
                            }
                        }
                        out[outBase + (o * oh + y) * ow + x] = acc;
                    }
                }
            }
        }
        return out;
    }

    private double[] sumPool(final PlanStep.SumPool p, final double[] in, final int batch)
    {
        // real out = multiplier 2^(s_in - s_out) * (window sum of real inputs)
        final double factor = Math.abs(Math.scalb((double)p.multiplier(),
            plan.tensor(p.input()).scale() - plan.tensor(p.output()).scale()));
        final int c = p.channels();
        final int ih = p.inHeight();
        final int iw = p.inWidth();
        final int oh = p.outHeight();
        final int ow = p.outWidth();
        final double[] out = new double[batch * c * oh * ow];
        for (int m = 0; m < batch * c; m++)
        {
            for (int y = 0; y < oh; y++)
            {
                for (int x = 0; x < ow; x++)
                {
                    double acc = 0;
                    for (int u = 0; u < p.windowHeight(); u++)
                    {
                        for (int v = 0; v < p.windowWidth(); v++)
                        {
                            acc += in[(m * ih + y * p.stride() + u) * iw + x * p.stride() + v];
                        }
                    }
                    out[(m * oh + y) * ow + x] = acc * factor;
                }
            }
        }
        return out;
    }

    private double[] maxPool(final PlanStep.MaxPool p, final double[] in, final int batch)
    {
        final int ih = p.inHeight();
        final int iw = p.inWidth();
        final int k = p.kernel();
        final int s = p.stride();
        final int pad = p.padding();
        final int oh = (ih + 2 * pad - k) / s + 1;
        final int ow = (iw + 2 * pad - k) / s + 1;
        final double[] out = new double[batch * p.channels() * oh * ow];
        for (int m = 0; m < batch * p.channels(); m++)
        {
            for (int y = 0; y < oh; y++)
            {
                for (int x = 0; x < ow; x++)
                {
                    double worst = 0;
                    for (int u = 0; u < k; u++)
                    {
                        final int yy = y * s - pad + u;
                        for (int v = 0; v < k; v++)
                        {
                            final int xx = x * s - pad + v;
                            if (yy >= 0 && yy < ih && xx >= 0 && xx < iw)
                            {
                                worst = Math.max(worst, in[(m * ih + yy) * iw + xx]);
                            }
                        }
                    }
                    out[(m * oh + y) * ow + x] = worst;
                }
            }
        }
        return out;
    }

    private double[] activation(final PlanStep.Activation a, final long[] z, final double[] rz, final int batch)
    {
        if (a.kind() == PlanStep.Activation.Kind.PRIVATE)
        {
            throw new UnsupportedOperationException("step " + a.name() + " has private coefficients: no secure " +
                "protocol, so no secure error to bound");
        }
        final int sz = a.inputScale();
        final int n = a.inputElements();
        final int d = a.degree();
        final boolean stacked = a.kind() == PlanStep.Activation.Kind.POWERS;
        final int outPerItem = a.outputElements();
        final double[] out = new double[batch * outPerItem];
        for (int b = 0; b < batch; b++)
        {
            for (int e = 0; e < n; e++)
            {
                final long zv = z[b * n + e];
                final double r = rz[b * n + e];
                double acc = 0;
                for (int k = 1; k <= d; k++)
                {
                    final int source = a.powerSource(k);
                    if (source == PlanStep.Activation.SKIPPED)
                    {
                        continue;
                    }
                    final int t = sz - a.powerShift(k);
                    final double x;
                    final double delta;
                    if (source == PlanStep.Activation.DIRECT)
                    {
                        x = Math.abs(Math.scalb((double)zv, -sz));
                        delta = r;
                    }
                    else
                    {
                        x = Math.abs(Math.scalb((double)LocalSteps.roundShift(zv, a.powerShift(k)), -t));
                        delta = r + (r > 0 ? 2 : 1) * Math.scalb(1.0, -t);
                    }
                    // capped so that a coefficient encoded to 0 gives 0, not 0 x infinity = NaN (see saturate)
                    final double powerRadius = Math.min(k * Math.pow(x + delta, k - 1) * delta, Double.MAX_VALUE);
                    if (stacked)
                    {
                        out[b * outPerItem + (k - 1) * n + e] = powerRadius;
                    }
                    else
                    {
                        // real coefficient of the ring power: multiplier 2^(k t - outScale)
                        acc += Math.abs(Math.scalb((double)a.multiplier(k), k * t - a.outputScale())) * powerRadius;
                    }
                }
                if (!stacked)
                {
                    out[b * n + e] = acc;
                }
            }
        }
        return out;
    }

    private double[] combine(final PlanStep.Combine c, final double[] in, final int batch)
    {
        if (c.privateCoefficients())
        {
            throw new UnsupportedOperationException("step " + c.name() + " has private coefficients: no secure " +
                "protocol, so no secure error to bound");
        }
        final int block = c.channels() * c.mapSize();
        final int inPerItem = plan.tensor(c.inputs()[0]).size();
        final int shift = plan.tensor(c.inputs()[0]).scale() - plan.tensor(c.output()).scale();
        final double[] out = new double[batch * block];
        for (int b = 0; b < batch; b++)
        {
            for (int e = 0; e < block; e++)
            {
                double acc = 0;
                for (int k = 1; k <= c.degree(); k++)
                {
                    acc += Math.abs(Math.scalb((double)c.multiplier(k), shift)) *
                        in[b * inPerItem + (k - 1) * block + e];
                }
                out[b * block + e] = acc;
            }
        }
        return out;
    }
}
