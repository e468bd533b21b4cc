package org.polypi.trainer;

import java.util.Arrays;

import org.polypi.model.Layer;
import org.polypi.model.Shape;

/**
 * Max pooling with symmetric padding (padded positions never win). The forward pass remembers the winning input of
 * every output (the first one on ties), and the backward pass routes the gradient there.
 */
final class MaxPool2dLayer implements TrainLayer.Unary
{
    private final String name;
    private final int channels;
    private final int inHeight;
    private final int inWidth;
    private final int kernel;
    private final int stride;
    private final int padding;
    private final int outHeight;
    private final int outWidth;
    private float[] output;
    private int[] winners;
    private float[] gradInput;

    /** Pooling of {@code in} ({@code [C,H,W]}) as {@code pool}. */
    MaxPool2dLayer(final String name, final Shape in, final Layer.MaxPool2d pool)
    {
        this.name = name;
        this.channels = in.dim(0);
        this.inHeight = in.dim(1);
        this.inWidth = in.dim(2);
        this.kernel = pool.kernel();
        this.stride = pool.stride();
        this.padding = pool.padding();
        this.outHeight = (inHeight + 2 * padding - kernel) / stride + 1;
        this.outWidth = (inWidth + 2 * padding - kernel) / stride + 1;
    }

    @Override
    public String describe()
    {
        return name + ": MaxPool2d " + kernel + "/" + stride + " pad " + padding;
    }

    @Override
    public int outputSize()
    {
        return channels * outHeight * outWidth;
    }

    @Override
    public float[] forward(final float[] x, final int batch, final boolean training)
    {
        final int n = batch * outputSize();
        output = TrainLayer.reuse(output, n);
        if (winners == null || winners.length != n)
        {
            winners = new int[n];
        }
        final int maps = batch * channels;
        for (int m = 0; m < maps; m++)
        {
            for (int oy = 0; oy < outHeight; oy++)
            {
                for (int ox = 0; ox < outWidth; ox++)
                {
                    float max = Float.NEGATIVE_INFINITY;
                    int arg = -1;
                    for (int r = 0; r < kernel; r++)
                    {
                        final int iy = oy * stride + r - padding;
                        for (int s = 0; s < kernel; s++)
                        {
                            final int ix = ox * stride + s - padding;
                            if (iy >= 0 && iy < inHeight && ix >= 0 && ix < inWidth)
                            {
                                final int i = (m * inHeight + iy) * inWidth + ix;
                                if (arg < 0 || x[i] > max)
                                {
                                    max = x[i];
                                    arg = i;
                                }
                            }
                        }
                    }
                    final int o = (m * outHeight + oy) * outWidth + ox;
                    output[o] = max;
                    winners[o] = arg;
                }
            }
        }
        return output;
    }

    @Override
    public float[] backward(final float[] dy, final int batch)
    {
        gradInput = TrainLayer.reuse(gradInput, batch * channels * inHeight * inWidth);
        Arrays.fill(gradInput, 0f);
        final int n = batch * outputSize();
        for (int o = 0; o < n; o++)
        {
            gradInput[winners[o]] += dy[o];
        }
        return gradInput;
    }
}
