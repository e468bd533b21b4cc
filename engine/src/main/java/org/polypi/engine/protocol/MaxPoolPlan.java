package org.polypi.engine.protocol;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The comparison schedule of a secure 2-D max pooling (PyTorch semantics: square kernel k, stride s, zero-based
 * padding p <= k / 2, output {@code floor((H + 2p - k) / s) + 1}; padded positions never win, as in
 * {@code FixedPointInference}): which differences go through a ReLU at each level, so that the dealer and both
 * parties agree on the material ({@link ComparisonDealer#maxPoolMaterial}).
 * <p>
 * The window maximum is separable: first over the window's valid columns of every input row (a horizontal pass,
 * {@code maps x H x OW} maxima), then over the valid rows of those (a vertical pass). Each pass is a tournament
 * batched per level: every group's candidates pair up ({@code max(a, b) = b + relu(a - b)}), an odd one waits, so a
 * pass over at most m candidates takes {@code ceil(log2 m)} levels, and one level is one batched ReLU. For a full
 * window that is {@code 2 ceil(log2 k)} levels: 2 for 2x2, 4 for 3x3. Since p <= k / 2, every window has at least
 * one valid row and column.
 */
public final class MaxPoolPlan
{
    private final int maps;
    private final int height;
    private final int width;
    private final int kernel;
    private final int stride;
    private final int padding;
    private final int outHeight;
    private final int outWidth;
    private final List<Level> levels = new ArrayList<>();
    private final int[][] passLevels;
    private final int[][] passOutputs;

    /** One tournament level: pairs (left[i], right[i]) of the current values, and where the next values come from. */
    record Level(int[] left, int[] right, int[] next)
    {
    }

    /**
     * The plan for {@code maps} feature maps of {@code height x width}.
     *
     * @throws IllegalArgumentException if a size is not positive, the padding is negative or exceeds half the kernel,
     *                                  or the padded input is smaller than the kernel.
     */
    public MaxPoolPlan(final int maps, final int height, final int width, final int kernel, final int stride,
                       final int padding)
    {
        positive("maps", maps);
        positive("height", height);
        positive("width", width);
        positive("kernel", kernel);
        positive("stride", stride);
        if (padding < 0 || 2 * padding > kernel)
        {
            throw new IllegalArgumentException("padding must be in [0, kernel / 2] = [0, " + kernel / 2 + "], was " +
                padding);
        }
        if (height + 2L * padding < kernel || width + 2L * padding < kernel)
        {
            throw new IllegalArgumentException("input " + height + "x" + width + " padded by " + padding +
                " is smaller than the window " + kernel + "x" + kernel);
        }
        this.maps = maps;
        this.height = height;
        this.width = width;
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
        this.outHeight = (height + 2 * padding - kernel) / stride + 1;
        this.outWidth = (width + 2 * padding - kernel) / stride + 1;
        // Value indices are ints: the input must have at most Integer.MAX_VALUE elements.
        Math.multiplyExact(Math.multiplyExact(maps, height), width);

        // Horizontal pass: group (m, iy, ox) over the valid columns of its window.
        final int[][] horizontal = new int[maps * height * outWidth][];
        int g = 0;
        for (int m = 0; m < maps; m++)
        {
            for (int iy = 0; iy < height; iy++)
            {
                for (int ox = 0; ox < outWidth; ox++)
                {
                    horizontal[g++] = window(ox, width, (m * height + iy) * width, 1);
                }
            }
        }
        // Vertical pass over the horizontal maxima (m, iy, ox): group (m, oy, ox) over the valid rows.
        final int[][] vertical = new int[maps * outHeight * outWidth][];
        g = 0;
        for (int m = 0; m < maps; m++)
        {
            for (int oy = 0; oy < outHeight; oy++)
            {
                for (int ox = 0; ox < outWidth; ox++)
                {
                    vertical[g++] = window(oy, height, m * height * outWidth + ox, outWidth);
                }
            }
        }
        final int first = levels.size();
        final int[] horizontalOut = tournament(horizontal);
        final int middle = levels.size();
        final int[] verticalOut = tournament(vertical);
        this.passLevels = new int[][]{{first, middle}, {middle, levels.size()}};
        this.passOutputs = new int[][]{horizontalOut, verticalOut};
    }

    /** Indices {@code base + step * i} of the valid positions i of window {@code o} along a dimension of size n. */
    private int[] window(final int o, final int n, final int base, final int step)
    {
        final int start = o * stride - padding;
        final int from = Math.max(0, start);
        final int to = Math.min(n, start + kernel);
        final int[] out = new int[to - from];
        for (int i = from; i < to; i++)
        {
            out[i - from] = base + step * i;
        }
        return out;
    }

    /** Adds the levels of a tournament over the groups; returns each group's index in the last value array. */
    private int[] tournament(final int[][] groups)
    {
        int[][] candidates = groups;
        while (Arrays.stream(candidates).anyMatch(c -> c.length > 1))
        {
            final IntList left = new IntList();
            final IntList right = new IntList();
            final IntList next = new IntList();
            final int[][] advanced = new int[candidates.length][];
            for (int g = 0; g < candidates.length; g++)
            {
                final int[] c = candidates[g];
                advanced[g] = new int[(c.length + 1) / 2];
                for (int i = 0; i < c.length; i += 2)
                {
                    advanced[g][i / 2] = next.size();
                    if (i + 1 < c.length)
                    {
                        next.add(left.size());
                        left.add(c[i]);
                        right.add(c[i + 1]);
                    }
                    else
                    {
                        next.add(-c[i] - 1);
                    }
                }
            }
            levels.add(new Level(left.toArray(), right.toArray(), next.toArray()));
            candidates = advanced;
        }
        final int[] out = new int[candidates.length];
        for (int g = 0; g < candidates.length; g++)
        {
            out[g] = candidates[g][0];
        }
        return out;
    }

    /** Comparison levels in all: one batched ReLU each, in this order. */
    public int levels()
    {
        return levels.size();
    }

    /** ReLUs of level {@code level}: the size of its material. */
    public int comparisons(final int level)
    {
        return levels.get(level).left().length;
    }

    /** Sequential rounds per party: {@link Comparison#ROUNDS} per level. */
    public long rounds()
    {
        return (long)Comparison.ROUNDS * levels.size();
    }

    /** Bytes one party sends: the sum of the levels' ReLU costs. */
    public long bytesSent()
    {
        long bytes = 0;
        for (int level = 0; level < levels.size(); level++)
        {
            bytes += Comparison.bytesSent(comparisons(level));
        }
        return bytes;
    }

    /** Input elements: {@code maps * height * width}. */
    public long inputSize()
    {
        return (long)maps * height * width;
    }

    /** Output elements: {@code maps * outHeight * outWidth}. */
    public long outputSize()
    {
        return (long)maps * outHeight * outWidth;
    }

    /** Input height. */
    public int height()
    {
        return height;
    }

    /** Input width. */
    public int width()
    {
        return width;
    }

    /** Output height. */
    public int outHeight()
    {
        return outHeight;
    }

    /** Output width. */
    public int outWidth()
    {
        return outWidth;
    }

    /** Number of passes (horizontal, vertical). */
    int passes()
    {
        return passLevels.length;
    }

    /** Levels {@code [from, to)} of pass {@code pass}. */
    int[] passLevels(final int pass)
    {
        return passLevels[pass];
    }

    /** Index in the pass's last value array of each group's maximum. */
    int[] passOutput(final int pass)
    {
        return passOutputs[pass];
    }

    Level level(final int level)
    {
        return levels.get(level);
    }

    @Override
    public String toString()
    {
        return "MaxPoolPlan[" + maps + "x" + height + "x" + width + ", k=" + kernel + " s=" + stride + " p=" + padding +
            ", " + levels.size() + " levels]";
    }

    private static void positive(final String name, final int value)
    {
        if (value <= 0)
        {
            throw new IllegalArgumentException(name + " must be positive, was " + value);
        }
    }

    /** A growable int array (the plan is built once per layer, not in a hot loop). */
    private static final class IntList
    {
        private int[] values = new int[16];
        private int size;

        void add(final int v)
        {
            if (size == values.length)
            {
                values = Arrays.copyOf(values, 2 * size);
            }
            values[size++] = v;
        }

        int size()
        {
            return size;
        }

        int[] toArray()
        {
            return Arrays.copyOf(values, size);
        }
    }
}
