package org.polypi.trainer;

import java.util.ArrayList;
import java.util.List;

import org.polypi.model.Layer;

/**
 * Fully connected layer {@code y = x Wᵀ + b} on {@code batch × in} inputs, W {@code [out, in]}. Forward and input
 * gradient are split over batch rows, the weight gradient {@code dYᵀ X} over output rows ({@link RowGemm}).
 */
final class LinearLayer implements TrainLayer.Unary
{
    private final String name;
    private final int inFeatures;
    private final int outFeatures;
    private final Param weight;
    private final Param bias;
    private final FloatOps ops = FloatOps.get();
    private float[] input;
    private float[] output;
    private float[] gradInput;
    private boolean inputGradient = true;

    /** A trainable copy of {@code linear}; parameters are named {@code name.weight} and {@code name.bias}. */
    LinearLayer(final String name, final Layer.Linear linear)
    {
        this.name = name;
        this.inFeatures = linear.inFeatures();
        this.outFeatures = linear.outFeatures();
        this.weight = Param.trainable(name + ".weight", linear.weights(), true);
        this.bias = linear.hasBias() ? Param.trainable(name + ".bias", linear.bias(), false) : null;
    }

    /** The weights {@code [out, in]}. */
    Param weight()
    {
        return weight;
    }

    /** The layer with the current values. */
    Layer.Linear toLayer()
    {
        return new Layer.Linear(inFeatures, outFeatures, weight.toTensor(), bias == null ? null : bias.toTensor());
    }

    @Override
    public String describe()
    {
        return name + ": Linear " + inFeatures + "->" + outFeatures;
    }

    @Override
    public int outputSize()
    {
        return outFeatures;
    }

    @Override
    public List<Param> params()
    {
        final List<Param> list = new ArrayList<>(2);
        list.add(weight);
        if (bias != null)
        {
            list.add(bias);
        }
        return List.copyOf(list);
    }

    @Override
    public void inputGradientNeeded(final boolean needed)
    {
        inputGradient = needed;
    }

    @Override
    public float[] forward(final float[] x, final int batch, final boolean training)
    {
        input = x;
        output = TrainLayer.reuse(output, batch * outFeatures);
        RowGemm.multiply(ops, x, weight.value(), true, output, batch, inFeatures, outFeatures);
        if (bias != null)
        {
            final float[] b = bias.value();
            for (int i = 0; i < batch; i++)
            {
                final int row = i * outFeatures;
                for (int o = 0; o < outFeatures; o++)
                {
                    output[row + o] += b[o];
                }
            }
        }
        return output;
    }

    @Override
    public float[] backward(final float[] dy, final int batch)
    {
        if (inputGradient)
        {
            gradInput = TrainLayer.reuse(gradInput, batch * inFeatures);
            RowGemm.multiply(ops, dy, weight.value(), false, gradInput, batch, outFeatures, inFeatures);
        }
        else
        {
            gradInput = null;
        }
        final float[] dyT = RowGemm.transpose(dy, batch, outFeatures);
        final float[] gw = new float[outFeatures * inFeatures];
        RowGemm.multiply(ops, dyT, input, false, gw, outFeatures, batch, inFeatures);
        final float[] wg = weight.grad();
        for (int i = 0; i < wg.length; i++)
        {
            wg[i] += gw[i];
        }
        if (bias != null)
        {
            final float[] bg = bias.grad();
            for (int o = 0; o < outFeatures; o++)
            {
                double sum = 0;
                for (int i = 0; i < batch; i++)
                {
                    sum += dy[i * outFeatures + o];
                }
                bg[o] += (float)sum;
            }
        }
        return gradInput;
    }
}
