package org.polypi.trainer;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * SGD with momentum (PyTorch's form, dampening 0): {@code g = grad + wd·w}, {@code v = mu·v + g}, then
 * {@code w -= lr·v}, or with Nesterov {@code w -= lr·(g + mu·v)}.
 */
public final class Sgd implements Optimizer
{
    private final List<Param> params;
    private final List<float[]> velocity = new ArrayList<>();
    private final double momentum;
    private final boolean nesterov;
    private final double weightDecay;
    private long steps;

    /**
     * SGD over the trainable {@code params}.
     *
     * @throws IllegalArgumentException if momentum is outside [0, 1), weight decay is negative, or Nesterov is
     *     asked without momentum.
     */
    public Sgd(final List<Param> params, final double momentum, final boolean nesterov, final double weightDecay)
    {
        if (!(momentum >= 0 && momentum < 1))
        {
            throw new IllegalArgumentException("momentum must be in [0, 1), was " + momentum);
        }
        if (!(weightDecay >= 0))
        {
            throw new IllegalArgumentException("weight decay must be >= 0, was " + weightDecay);
        }
        if (nesterov && momentum == 0)
        {
            throw new IllegalArgumentException("Nesterov needs a positive momentum");
        }
        this.params = params.stream().filter(Param::trainable).toList();
        for (final Param p : this.params)
        {
            velocity.add(new float[p.size()]);
        }
        this.momentum = momentum;
        this.nesterov = nesterov;
        this.weightDecay = weightDecay;
    }

    @Override
    public void step(final double lr)
    {
        for (int k = 0; k < params.size(); k++)
        {
            final Param p = params.get(k);
            final float[] w = p.value();
            final float[] g = p.grad();
            final float[] v = velocity.get(k);
            final double wd = p.decay() ? weightDecay : 0;
            for (int i = 0; i < w.length; i++)
            {
                final double grad = g[i] + wd * w[i];
                final double vel = momentum * v[i] + grad;
                v[i] = (float)vel;
                w[i] -= (float)(lr * (nesterov ? grad + momentum * vel : vel));
            }
        }
        steps++;
    }

    @Override
    public long steps()
    {
        return steps;
    }

    @Override
    public List<float[]> state()
    {
        return List.copyOf(velocity);
    }

    @Override
    public void restoreSteps(final long count)
    {
        steps = count;
    }

    @Override
    public String describe()
    {
        return String.format(Locale.ROOT, "sgd%s momentum %s wd %s", nesterov ? " nesterov" : "", momentum,
            weightDecay);
    }
}
