package org.polypi.trainer;

import org.polypi.model.Layer;
import org.polypi.model.Tensor;

/**
 * SENet's partial ReLU: ReLU where the mask is 1, identity where it is 0 (the mask has the per-item shape and
 * repeats over the batch). The mask does not train by gradient; {@link Senet}'s mask search replaces it with
 * {@link #mask(boolean[])} between epochs.
 */
final class MaskedReluLayer implements ActivationLayer
{
    private final String name;
    private final Layer.MaskedReLU layer;
    private final boolean[] relu;
    private float[] input;
    private float[] output;
    private float[] gradInput;
    private ActivationStats stats;

    /** The masked ReLU {@code layer}. */
    MaskedReluLayer(final String name, final Layer.MaskedReLU layer)
    {
        this.name = name;
        this.layer = layer;
        this.relu = new boolean[layer.mask().size()];
        for (int i = 0; i < relu.length; i++)
        {
            relu[i] = layer.isReLU(i);
        }
    }

    /** The model layer with the current mask. */
    Layer.MaskedReLU toLayer()
    {
        final float[] m = new float[relu.length];
        for (int i = 0; i < m.length; i++)
        {
            m[i] = relu[i] ? 1f : 0f;
        }
        return new Layer.MaskedReLU(Tensor.of(layer.mask().shape(), m));
    }

    /** The current mask (true: ReLU), a copy. */
    boolean[] mask()
    {
        return relu.clone();
    }

    /**
     * Replaces the mask.
     *
     * @throws IllegalArgumentException if its length is not the item size.
     */
    void mask(final boolean[] keep)
    {
        if (keep.length != relu.length)
        {
            throw new IllegalArgumentException("mask of " + name + " has " + relu.length + " elements, got " +
                keep.length);
        }
        System.arraycopy(keep, 0, relu, 0, relu.length);
    }

    @Override
    public String describe()
    {
        int kept = 0;
        for (final boolean r : relu)
        {
            kept += r ? 1 : 0;
        }
        return name + ": MaskedReLU " + kept + " of " + relu.length;
    }

    @Override
    public int outputSize()
    {
        return relu.length;
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
        output = TrainLayer.reuse(output, batch * relu.length);
        for (int item = 0; item < batch; item++)
        {
            final int base = item * relu.length;
            for (int i = 0; i < relu.length; i++)
            {
                final float v = x[base + i];
                output[base + i] = relu[i] ? Math.max(0f, v) : v;
            }
        }
        if (!training && stats != null)
        {
            stats.record(x, 0, batch * relu.length);
        }
        return output;
    }

    @Override
    public float[] backward(final float[] dy, final int batch)
    {
        gradInput = TrainLayer.reuse(gradInput, batch * relu.length);
        for (int item = 0; item < batch; item++)
        {
            final int base = item * relu.length;
            for (int i = 0; i < relu.length; i++)
            {
                gradInput[base + i] = relu[i] && input[base + i] <= 0f ? 0f : dy[base + i];
            }
        }
        return gradInput;
    }
}
