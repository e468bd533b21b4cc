package org.polypi.trainer;

import java.util.Arrays;

import org.polypi.model.Shape;

/**
 * Average pooling without padding (windows that do not fit are dropped); {@code kernel == 0} pools the whole map
 * (global average pooling). The backward pass spreads each output gradient evenly over its window. Feature maps are
 * split over parallel parts; the common 2x2/2 window has its own loop.
 */
final class AvgPool2dLayer implements TrainLayer.Unary
{
    /** Fewest feature maps per parallel part. */
    private static final int MIN_MAPS_PER_PART = 64;

    private final String name;
    private final int channels;
    private final int inHeight;
    private final int inWidth;
    private final int kernelHeight;
    private final int kernelWidth;
    private final int stride;
    private final int outHeight;
    private final int outWidth;
    private float[] output;
    private float[] gradInput;

    /** Pooling of {@code in} ({@code [C,H,W]}) with a square window {@code kernel} (0: global) and {@code stride}. */
    AvgPool2dLayer(final String name, final Shape in, final int kernel, final int stride)
    {
        this.name = name;
        this.channels = in.dim(0);
        this.inHeight = in.dim(1);
        this.inWidth = in.dim(2);
        this.kernelHeight = kernel == 0 ? inHeight : kernel;
        this.kernelWidth = kernel == 0 ? inWidth : kernel;
        this.stride = kernel == 0 ? 1 : stride;
        this.outHeight = (inHeight - kernelHeight) / this.stride + 1;
        this.outWidth = (inWidth - kernelWidth) / this.stride + 1;
    }

    @Override
    public String describe()
    {
        return name + ": AvgPool2d " + kernelHeight + "x" + kernelWidth + "/" + stride;
    }

    @Override
    public int outputSize()
    {
        return channels * outHeight * outWidth;
    }

    private boolean isTwoByTwo()
    {
        return kernelHeight == 2 && kernelWidth == 2 && stride == 2;
    }

    @Override
    public float[] forward(final float[] x, final int batch, final boolean training)
    {
        output = TrainLayer.reuse(output, batch * outputSize());
        final float[] y = output;
        final int maps = batch * channels;
        Parallel.forRange(maps, Parallel.parts(maps, MIN_MAPS_PER_PART), (part, from, to) ->
        {
            for (int m = from; m < to; m++)
            {
                if (isTwoByTwo())
                {
                    forwardTwoByTwo(x, y, m);
                }
                else
                {
                    forwardGeneral(x, y, m);
                }
            }
        });
        return y;
    }

    private void forwardTwoByTwo(final float[] x, final float[] y, final int m)
    {
        for (int oy = 0; oy < outHeight; oy++)
        {
            final int top = (m * inHeight + 2 * oy) * inWidth;
            final int bottom = top + inWidth;
            final int out = (m * outHeight + oy) * outWidth;
            for (int ox = 0; ox < outWidth; ox++)
            {
                y[out + ox] = (x[top + 2 * ox] + x[top + 2 * ox + 1] + x[bottom + 2 * ox] + x[bottom + 2 * ox + 1]) *
                    0.25f;
            }
        }
    }

    private void forwardGeneral(final float[] x, final float[] y, final int m)
    {
        final float inverseArea = 1f / (kernelHeight * kernelWidth);
        for (int oy = 0; oy < outHeight; oy++)
        {
            for (int ox = 0; ox < outWidth; ox++)
            {
                float sum = 0f;
                for (int r = 0; r < kernelHeight; r++)
                {
                    final int row = (m * inHeight + oy * stride + r) * inWidth + ox * stride;
                    for (int s = 0; s < kernelWidth; s++)
                    {
                        sum += x[row + s];
                    }
                }
                y[(m * outHeight + oy) * outWidth + ox] = sum * inverseArea;
            }
        }
    }

    @Override
    public float[] backward(final float[] dy, final int batch)
    {
        gradInput = TrainLayer.reuse(gradInput, batch * channels * inHeight * inWidth);
        final float[] dx = gradInput;
        final int maps = batch * channels;
        final int mapSize = inHeight * inWidth;
        Parallel.forRange(maps, Parallel.parts(maps, MIN_MAPS_PER_PART), (part, from, to) ->
        {
            Arrays.fill(dx, from * mapSize, to * mapSize, 0f);
            for (int m = from; m < to; m++)
            {
                if (isTwoByTwo())
                {
                    backwardTwoByTwo(dy, dx, m);
                }
                else
                {
                    backwardGeneral(dy, dx, m);
                }
            }
        });
        return dx;
    }

    private void backwardTwoByTwo(final float[] dy, final float[] dx, final int m)
    {
        for (int oy = 0; oy < outHeight; oy++)
        {
            final int top = (m * inHeight + 2 * oy) * inWidth;
            final int bottom = top + inWidth;
            final int out = (m * outHeight + oy) * outWidth;
            for (int ox = 0; ox < outWidth; ox++)
            {
                final float g = dy[out + ox] * 0.25f;
                dx[top + 2 * ox] = g;
                dx[top + 2 * ox + 1] = g;
                dx[bottom + 2 * ox] = g;
                dx[bottom + 2 * ox + 1] = g;
            }
        }
    }

    private void backwardGeneral(final float[] dy, final float[] dx, final int m)
    {
        final float inverseArea = 1f / (kernelHeight * kernelWidth);
        for (int oy = 0; oy < outHeight; oy++)
        {
            for (int ox = 0; ox < outWidth; ox++)
            {
                final float g = dy[(m * outHeight + oy) * outWidth + ox] * inverseArea;
                for (int r = 0; r < kernelHeight; r++)
                {
                    final int row = (m * inHeight + oy * stride + r) * inWidth + ox * stride;
                    for (int s = 0; s < kernelWidth; s++)
                    {
                        dx[row + s] += g;
                    }
                }
            }
        }
    }
}
