package org.polypi.datasets;

import java.util.Arrays;

/**
 * How stored bytes (0..255) become the float32 values a {@link Dataset} holds.
 * <ul>
 *   <li>{@link #raw()}: the byte value itself, {@code v = b} (0.0 .. 255.0, exact).</li>
 *   <li>{@link #unit()}: scaled to [0, 1], {@code v = b / 255f} (0 maps to 0.0, 255 to 1.0 exactly).</li>
 *   <li>{@link #standardize(float[], float[])}: scaled to [0, 1], then per channel {@code v = (b / 255f - mean[c]) / std[c]},
 *       evaluated in float32 in exactly that order, so every loader and every machine gets the same bits.</li>
 * </ul>
 * Ready-made standardizations for the standard data sets are {@link FashionMnist#STANDARD_NORMALIZATION} and
 * {@link Cifar10Reader#STANDARD_NORMALIZATION}. Instances are immutable.
 */
public final class Normalization
{
    /** Largest stored byte value; {@link #unit()} divides by it. */
    public static final float BYTE_MAX = 255f;
    /** Number of distinct byte values, the size of a per-channel lookup table. */
    static final int BYTE_VALUES = 256;

    private static final Normalization RAW = new Normalization(false, null, null);
    private static final Normalization UNIT = new Normalization(true, null, null);

    private final boolean scaleToUnit;
    private final float[] mean; // (channels) or null
    private final float[] std;  // (channels) or null

    private Normalization(final boolean scaleToUnit, final float[] mean, final float[] std)
    {
        this.scaleToUnit = scaleToUnit;
        this.mean = mean;
        this.std = std;
    }

    /**
     * Byte values as floats, unscaled.
     *
     * @return the shared raw normalization.
     */
    public static Normalization raw()
    {
        return RAW;
    }

    /**
     * Byte values scaled to [0, 1].
     *
     * @return the shared unit normalization.
     */
    public static Normalization unit()
    {
        return UNIT;
    }

    /**
     * Scale to [0, 1], then subtract a per-channel mean and divide by a per-channel standard deviation.
     *
     * @param mean per-channel mean of the [0, 1]-scaled data, finite.
     * @param std per-channel standard deviation of the [0, 1]-scaled data, finite and positive.
     * @return a normalization for {@code mean.length} channels (the arrays are copied).
     * @throws IllegalArgumentException if the arrays are empty, differ in length or hold bad values.
     */
    public static Normalization standardize(final float[] mean, final float[] std)
    {
        if (mean == null || std == null || mean.length == 0 || mean.length != std.length)
        {
            throw new IllegalArgumentException("mean and std must be non-empty and of equal length, were " +
                (mean == null ? "null" : mean.length) + " and " + (std == null ? "null" : std.length));
        }
        for (int c = 0; c < mean.length; c++)
        {
            if (!Float.isFinite(mean[c]))
            {
                throw new IllegalArgumentException("mean[" + c + "] must be finite, was " + mean[c]);
            }
            if (!(std[c] > 0f) || !Float.isFinite(std[c]))
            {
                throw new IllegalArgumentException("std[" + c + "] must be finite and positive, was " + std[c]);
            }
        }
        return new Normalization(true, mean.clone(), std.clone());
    }

    /**
     * Whether values are scaled to [0, 1] (true for {@link #unit()} and {@link #standardize}).
     *
     * @return true unless this is {@link #raw()}.
     */
    public boolean scalesToUnit()
    {
        return scaleToUnit;
    }

    /**
     * Whether a per-channel mean and standard deviation are applied.
     *
     * @return true for {@link #standardize}.
     */
    public boolean isStandardized()
    {
        return mean != null;
    }

    /**
     * Channels this normalization is for: 0 means any number (raw and unit apply the same rule to every channel).
     *
     * @return the length of the mean/std arrays, or 0.
     */
    public int channels()
    {
        return mean == null ? 0 : mean.length;
    }

    /**
     * The per-channel mean, or an empty array if not standardized.
     *
     * @return a copy.
     */
    public float[] mean()
    {
        return mean == null ? new float[0] : mean.clone();
    }

    /**
     * The per-channel standard deviation, or an empty array if not standardized.
     *
     * @return a copy.
     */
    public float[] std()
    {
        return std == null ? new float[0] : std.clone();
    }

    /**
     * The float value of one stored byte.
     *
     * @param unsignedByte the stored value, 0..255.
     * @param channel the channel it belongs to (ignored unless standardized).
     * @return the normalized value.
     * @throws IllegalArgumentException if the byte value or channel is out of range.
     */
    public float apply(final int unsignedByte, final int channel)
    {
        if (unsignedByte < 0 || unsignedByte >= BYTE_VALUES)
        {
            throw new IllegalArgumentException("byte value must be in 0..255, was " + unsignedByte);
        }
        if (mean != null && (channel < 0 || channel >= mean.length))
        {
            throw new IllegalArgumentException("channel must be in 0.." + (mean.length - 1) + ", was " + channel);
        }
        return applyUnchecked(unsignedByte, channel);
    }

    private float applyUnchecked(final int unsignedByte, final int channel)
    {
        final float value = unsignedByte;
        if (!scaleToUnit)
        {
            return value;
        }
        final float unit = value / BYTE_MAX;
        return mean == null ? unit : (unit - mean[channel]) / std[channel];
    }

    /**
     * One 256-entry table per channel, so converting a whole data set is a table look-up per pixel.
     *
     * @param channels channels of the data to convert.
     * @return {@code [channels][256]} values.
     */
    float[][] lookupTables(final int channels)
    {
        if (mean != null && mean.length != channels)
        {
            throw new IllegalArgumentException("normalization is for " + mean.length + " channels, data has " + channels);
        }
        final float[][] tables = new float[channels][BYTE_VALUES];
        for (int c = 0; c < channels; c++)
        {
            for (int b = 0; b < BYTE_VALUES; b++)
            {
                tables[c][b] = applyUnchecked(b, c);
            }
        }
        return tables;
    }

    @Override
    public boolean equals(final Object other)
    {
        return other instanceof final Normalization that && scaleToUnit == that.scaleToUnit &&
            Arrays.equals(mean, that.mean) && Arrays.equals(std, that.std);
    }

    @Override
    public int hashCode()
    {
        return 31 * (31 * Boolean.hashCode(scaleToUnit) + Arrays.hashCode(mean)) + Arrays.hashCode(std);
    }

    @Override
    public String toString()
    {
        if (mean != null)
        {
            return "standardize(mean=" + Arrays.toString(mean) + ", std=" + Arrays.toString(std) + ")";
        }
        return scaleToUnit ? "unit" : "raw";
    }
}
