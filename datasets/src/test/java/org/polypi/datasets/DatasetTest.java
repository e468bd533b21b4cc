package org.polypi.datasets;

import org.junit.jupiter.api.Test;

import java.nio.ReadOnlyBufferException;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

final class DatasetTest
{
    private static final List<String> CLASSES = List.of("a", "b", "c");

    /** Random bytes, every value 0..255 present, with labels cycling through the classes. */
    private static ByteImages bytes(final int count, final int channels, final int height, final int width)
    {
        final byte[] pixels = new byte[count * channels * height * width];
        new Random(count * 31L + channels).nextBytes(pixels);
        for (int b = 0; b < Math.min(256, pixels.length); b++)
        {
            pixels[b] = (byte)b;
        }
        return new ByteImages(count, channels, height, width, pixels);
    }

    private static int[] cyclicLabels(final int count)
    {
        final int[] labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            labels[i] = i % CLASSES.size();
        }
        return labels;
    }

    @Test
    void unitScalingMapsBytesToZeroOneExactly()
    {
        final ByteImages raw = bytes(4, 2, 9, 8);
        final Dataset data = Dataset.fromBytes(raw, cyclicLabels(4), CLASSES, Normalization.unit());
        final float[] values = data.toFloatArray();
        for (int i = 0; i < values.length; i++)
        {
            assertEquals((raw.pixels()[i] & 0xFF) / 255f, values[i]);
            assertTrue(values[i] >= 0f && values[i] <= 1f);
        }
        assertEquals(0f, values[0]);
        assertEquals(1f, values[255]);
        assertEquals(Normalization.unit(), data.normalization());
    }

    @Test
    void rawKeepsByteValues()
    {
        final ByteImages raw = bytes(2, 1, 16, 16);
        final float[] values = Dataset.fromBytes(raw, cyclicLabels(2), CLASSES, Normalization.raw()).toFloatArray();
        for (int i = 0; i < values.length; i++)
        {
            assertEquals(raw.pixels()[i] & 0xFF, values[i]);
        }
    }

    @Test
    void standardizationIsPerChannelAndCentresTheData()
    {
        final ByteImages raw = bytes(50, 3, 6, 5);
        final Dataset unit = Dataset.fromBytes(raw, cyclicLabels(50), CLASSES, Normalization.unit());
        final double[] means = unit.channelMeans();
        final double[] stds = unit.channelStds();
        final float[] mean = new float[3];
        final float[] std = new float[3];
        for (int c = 0; c < 3; c++)
        {
            mean[c] = (float)means[c];
            std[c] = (float)stds[c];
        }
        final Normalization standardize = Normalization.standardize(mean, std);
        final Dataset standardized = Dataset.fromBytes(raw, cyclicLabels(50), CLASSES, standardize);
        final float[] values = standardized.toFloatArray();
        final int plane = 6 * 5;
        for (int i = 0; i < values.length; i++)
        {
            final int c = i / plane % 3;
            assertEquals(((raw.pixels()[i] & 0xFF) / 255f - mean[c]) / std[c], values[i]);
            assertEquals(standardize.apply(raw.pixels()[i] & 0xFF, c), values[i]);
        }
        final double[] centred = standardized.channelMeans();
        final double[] scaled = standardized.channelStds();
        for (int c = 0; c < 3; c++)
        {
            assertEquals(0.0, centred[c], 1e-5);
            assertEquals(1.0, scaled[c], 1e-5);
        }
    }

    @Test
    void normalizationRejectsBadParameters()
    {
        assertThrows(IllegalArgumentException.class, () -> Normalization.standardize(new float[] {0.5f},
            new float[] {0f}));
        assertThrows(IllegalArgumentException.class, () -> Normalization.standardize(new float[] {Float.NaN},
            new float[] {1f}));
        assertThrows(IllegalArgumentException.class, () -> Normalization.standardize(new float[] {0.5f, 0.5f},
            new float[] {1f}));
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> Dataset.fromBytes(bytes(1, 3, 2, 2), new int[1], CLASSES, FashionMnist.STANDARD_NORMALIZATION));
        assertTrue(e.getMessage().contains("normalization is for 1 channels, data has 3"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Normalization.unit().apply(256, 0));
    }

    @Test
    void fashionMnistDefaultsAreTheDocumentedOnes()
    {
        assertArrayEquals(new float[] {0.2860406f}, FashionMnist.STANDARD_NORMALIZATION.mean());
        assertArrayEquals(new float[] {0.3530242f}, FashionMnist.STANDARD_NORMALIZATION.std());
        assertEquals((0f - FashionMnist.MEAN) / FashionMnist.STD, FashionMnist.STANDARD_NORMALIZATION.apply(0, 0));
    }

    @Test
    void padsWithZerosAroundTheUnchangedImage()
    {
        // Standardized, so that no original pixel is 0 by accident of the byte value alone.
        final Dataset data = Dataset.fromBytes(bytes(3, 2, 28, 28), cyclicLabels(3), CLASSES,
            Normalization.standardize(new float[] {0.5f, 0.25f}, new float[] {0.2f, 0.3f}));
        final Dataset padded = data.pad(2);
        assertArrayEquals(new int[] {3, 2, 32, 32}, padded.shape());
        assertArrayEquals(data.labels(), padded.labels());
        assertEquals(data.normalization(), padded.normalization());
        for (int n = 0; n < 3; n++)
        {
            final float[] original = data.image(n);
            final float[] image = padded.image(n);
            for (int c = 0; c < 2; c++)
            {
                for (int y = 0; y < 32; y++)
                {
                    for (int x = 0; x < 32; x++)
                    {
                        final float value = image[(c * 32 + y) * 32 + x];
                        final boolean inside = y >= 2 && y < 30 && x >= 2 && x < 30;
                        if (inside)
                        {
                            assertEquals(original[(c * 28 + y - 2) * 28 + x - 2], value);
                        }
                        else
                        {
                            assertEquals(0, Float.floatToRawIntBits(value), "border must be +0.0f");
                        }
                    }
                }
            }
        }
        assertEquals(padded, data.padTo(32, 32));
        assertEquals(data, data.pad(0));
    }

    @Test
    void padsAsymmetricallyAndCentresPadTo()
    {
        final Dataset data = Dataset.fromBytes(bytes(1, 1, 2, 3), new int[1], CLASSES, Normalization.raw());
        final Dataset padded = data.pad(1, 0, 0, 2);
        assertArrayEquals(new int[] {1, 1, 3, 5}, padded.shape());
        final float[] image = data.image(0);
        assertArrayEquals(new float[] {
            0, 0, 0, 0, 0,
            image[0], image[1], image[2], 0, 0,
            image[3], image[4], image[5], 0, 0}, padded.image(0));
        assertEquals(data.pad(1, 2, 0, 1), data.padTo(5, 4));
        assertThrows(IllegalArgumentException.class, () -> data.padTo(1, 3));
        assertThrows(IllegalArgumentException.class, () -> data.pad(-1));
    }

    @Test
    void slicesAndSubsetsAgree()
    {
        final Dataset data = Dataset.fromBytes(bytes(10, 1, 4, 4), cyclicLabels(10), CLASSES, Normalization.unit());
        final Dataset slice = data.slice(2, 5);
        assertEquals(slice, data.subset(2, 3, 4));
        assertArrayEquals(new int[] {2, 0, 1}, slice.labels());
        assertArrayEquals(data.image(3), slice.image(1));
        assertEquals(0, data.slice(4, 4).count());
        final Dataset picked = data.subset(9, 0, 9);
        assertArrayEquals(new int[] {0, 0, 0}, picked.labels());
        assertArrayEquals(data.image(9), picked.image(2));
        assertArrayEquals(new int[] {4, 3, 3}, data.classCounts());
        assertThrows(IndexOutOfBoundsException.class, () -> data.slice(5, 11));
        assertThrows(IndexOutOfBoundsException.class, () -> data.subset(10));
        assertThrows(IndexOutOfBoundsException.class, () -> data.label(-1));
    }

    @Test
    void isAnImmutableValue()
    {
        final float[] values = {1, 2, 3, 4, 5, 6, 7, 8};
        final int[] labels = {1, 2};
        final Dataset data = Dataset.of(values, labels, 1, 2, 2, CLASSES, Normalization.raw());
        final Dataset same = Dataset.of(values.clone(), labels.clone(), 1, 2, 2, CLASSES, Normalization.raw());
        values[0] = 99;
        labels[0] = 0;
        data.labels()[1] = 0;
        data.image(0)[0] = 42;
        assertEquals(same, data);
        assertEquals(same.hashCode(), data.hashCode());
        assertEquals(1f, data.images().get(0));
        assertThrows(ReadOnlyBufferException.class, () -> data.images().put(0, 5f));
        assertThrows(IllegalArgumentException.class,
            () -> data.imagesSegment().set(java.lang.foreign.ValueLayout.JAVA_FLOAT, 0, 5f));
        assertNotEquals(same, Dataset.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, new int[] {1, 2}, 1, 2, 2, CLASSES,
            Normalization.unit()));
        final float[] batch = new float[10];
        data.copyImages(1, 1, batch, 6);
        assertArrayEquals(new float[] {0, 0, 0, 0, 0, 0, 5, 6, 7, 8}, batch);
    }

    @Test
    void rejectsInconsistentInput()
    {
        final IllegalArgumentException size = assertThrows(IllegalArgumentException.class,
            () -> Dataset.of(new float[7], new int[2], 1, 2, 2, CLASSES, Normalization.raw()));
        assertTrue(size.getMessage().contains("need 8 floats, found 7"), size.getMessage());
        final IllegalArgumentException label = assertThrows(IllegalArgumentException.class,
            () -> Dataset.of(new float[8], new int[] {0, 3}, 1, 2, 2, CLASSES, Normalization.raw()));
        assertTrue(label.getMessage().contains("labels[1] = 3 is out of range 0..2"), label.getMessage());
        assertThrows(IllegalArgumentException.class,
            () -> Dataset.fromBytes(bytes(2, 1, 2, 2), new int[3], CLASSES, Normalization.raw()));
        assertThrows(IllegalArgumentException.class, () -> new ByteImages(2, 1, 2, 2, new byte[7]));
        assertThrows(IllegalArgumentException.class, () -> new ByteImages(1, 1 << 16, 1 << 16, 1, new byte[0]));
    }
}
