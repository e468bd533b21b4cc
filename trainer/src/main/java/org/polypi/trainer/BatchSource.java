package org.polypi.trainer;

import java.util.SplittableRandom;

import org.polypi.datasets.Dataset;

/**
 * Mini-batches of a training set in a seeded random order, with optional augmentation: random horizontal flip and
 * random crop with padding (the image shifted by up to {@code cropPadding} pixels each way, uncovered pixels set to
 * the normalised value of a black pixel, the background of Fashion-MNIST).
 * <p>
 * Every random choice of epoch e comes from one {@link SplittableRandom} seeded by {@code (seed, e)}, consumed in a
 * fixed order, so an epoch is reproduced exactly after a restart from a checkpoint.
 */
public final class BatchSource
{
    private static final long EPOCH_STRIDE = 0x9E3779B97F4A7C15L;

    private final float[] images;
    private final int[] labels;
    private final int count;
    private final int channels;
    private final int height;
    private final int width;
    private final boolean flip;
    private final int cropPadding;
    private final float[] background;
    private final long seed;

    /**
     * Batches of {@code data}.
     *
     * @throws IllegalArgumentException if cropPadding is negative or not smaller than the image.
     */
    public BatchSource(final Dataset data, final boolean flip, final int cropPadding, final long seed)
    {
        if (cropPadding < 0 || cropPadding >= Math.min(data.height(), data.width()))
        {
            throw new IllegalArgumentException("crop padding must be in [0, " +
                Math.min(data.height(), data.width()) + "), was " + cropPadding);
        }
        this.images = data.toFloatArray();
        this.labels = data.labels();
        this.count = data.count();
        this.channels = data.channels();
        this.height = data.height();
        this.width = data.width();
        this.flip = flip;
        this.cropPadding = cropPadding;
        this.background = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            background[c] = data.normalization().scalesToUnit() ? data.normalization().apply(0, c) : 0f;
        }
        this.seed = seed;
    }

    /** Number of images. */
    public int count()
    {
        return count;
    }

    /** Elements per image. */
    public int imageSize()
    {
        return channels * height * width;
    }

    /** Batches per epoch (the last one may be smaller). */
    public int batches(final int batchSize)
    {
        return (count + batchSize - 1) / batchSize;
    }

    /** The random source of epoch {@code epoch}. */
    public SplittableRandom random(final int epoch)
    {
        return new SplittableRandom(seed + EPOCH_STRIDE * (epoch + 1L));
    }

    /** A random permutation of the images (Fisher-Yates), drawn from {@code random}. */
    public int[] shuffle(final SplittableRandom random)
    {
        final int[] order = new int[count];
        for (int i = 0; i < count; i++)
        {
            order[i] = i;
        }
        for (int i = count - 1; i > 0; i--)
        {
            final int j = random.nextInt(i + 1);
            final int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    /**
     * Copies images {@code order[from..from+n)} into {@code x} (augmented, drawing from {@code random}) and their
     * labels into {@code y}.
     */
    public void fill(final int[] order, final int from, final int n, final SplittableRandom random, final float[] x,
                     final int[] y)
    {
        final int size = imageSize();
        for (int k = 0; k < n; k++)
        {
            final int index = order[from + k];
            y[k] = labels[index];
            final boolean mirror = flip && random.nextBoolean();
            final int dy = cropPadding == 0 ? 0 : random.nextInt(2 * cropPadding + 1) - cropPadding;
            final int dx = cropPadding == 0 ? 0 : random.nextInt(2 * cropPadding + 1) - cropPadding;
            if (!mirror && dx == 0 && dy == 0)
            {
                System.arraycopy(images, index * size, x, k * size, size);
                continue;
            }
            copyShifted(index, mirror, dy, dx, x, k * size);
        }
    }

    /** {@code out(c, r, q) = in(c, r + dy, q')} with {@code q' = q + dx}, mirrored first if asked. */
    private void copyShifted(final int index, final boolean mirror, final int dy, final int dx, final float[] x,
                             final int offset)
    {
        for (int c = 0; c < channels; c++)
        {
            final int plane = (index * channels + c) * height * width;
            final int outPlane = offset + c * height * width;
            for (int r = 0; r < height; r++)
            {
                final int sr = r + dy;
                for (int q = 0; q < width; q++)
                {
                    final int shifted = q + dx;
                    final int sq = mirror ? width - 1 - shifted : shifted;
                    final boolean inside = sr >= 0 && sr < height && sq >= 0 && sq < width;
                    x[outPlane + r * width + q] = inside ? images[plane + sr * width + sq] : background[c];
                }
            }
        }
    }
}
