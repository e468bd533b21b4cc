package org.polypi.trainer;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Adam with decoupled weight decay (AdamW): {@code w -= lr·wd·w}, then {@code m = b1·m + (1-b1)·g},
 * {@code v = b2·v + (1-b2)·g²}, {@code w -= lr·m̂ / (sqrt(v̂) + eps)} with the bias-corrected moments.
 */
public final class Adam implements Optimizer
{
    /** Default first-moment decay. */
    public static final double BETA1 = 0.9;
    /** Default second-moment decay. */
    public static final double BETA2 = 0.999;
    /** Default denominator offset. */
    public static final double EPSILON = 1e-8;

    private final List<Param> params;
    private final List<float[]> first = new ArrayList<>();
    private final List<float[]> second = new ArrayList<>();
    private final double weightDecay;
    private long steps;

    /**
     * Adam over the trainable {@code params} with the default betas and epsilon.
     *
     * @throws IllegalArgumentException if weight decay is negative.
     */
    public Adam(final List<Param> params, final double weightDecay)
    {
        if (!(weightDecay >= 0))
        {
            throw new IllegalArgumentException("weight decay must be >= 0, was " + weightDecay);
        }
        this.params = params.stream().filter(Param::trainable).toList();
        for (final Param p : this.params)
        {
            first.add(new float[p.size()]);
            second.add(new float[p.size()]);
        }
        this.weightDecay = weightDecay;
    }

    @Override
    public void step(final double lr)
    {
        steps++;
        final double correction1 = 1 - Math.pow(BETA1, steps);
        final double correction2 = 1 - Math.pow(BETA2, steps);
        for (int k = 0; k < params.size(); k++)
        {
            final Param p = params.get(k);
            final float[] w = p.value();
            final float[] g = p.grad();
            final float[] m = first.get(k);
            final float[] v = second.get(k);
            final double decay = p.decay() ? 1 - lr * weightDecay : 1;
            for (int i = 0; i < w.length; i++)
            {
                final double grad = g[i];
                final double mi = BETA1 * m[i] + (1 - BETA1) * grad;
                final double vi = BETA2 * v[i] + (1 - BETA2) * grad * grad;
                m[i] = (float)mi;
                v[i] = (float)vi;
                final double update = lr * (mi / correction1) / (Math.sqrt(vi / correction2) + EPSILON);
                w[i] = (float)(w[i] * decay - update);
            }
        }
    }

    @Override
    public long steps()
    {
        return steps;
    }

    @Override
    public List<float[]> state()
    {
        final List<float[]> all = new ArrayList<>(first);
        all.addAll(second);
        return List.copyOf(all);
    }

    @Override
    public void restoreSteps(final long count)
    {
        steps = count;
    }

    @Override
    public String describe()
    {
        return String.format(Locale.ROOT, "adamw wd %s", weightDecay);
    }
}
