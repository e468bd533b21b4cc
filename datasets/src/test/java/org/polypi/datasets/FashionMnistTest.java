package org.polypi.datasets;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

final class FashionMnistTest
{
    private static final int IMAGE_BYTES = FashionMnist.HEIGHT * FashionMnist.WIDTH;

    @TempDir
    Path dir;

    /** Writes a synthetic split: {@code count} random 28x28 images, labels cycling 0..9. */
    static byte[] writeSplit(final Path directory, final FashionMnist.Split split, final int count,
        final boolean gzip) throws IOException
    {
        final byte[] pixels = new byte[count * IMAGE_BYTES];
        new Random(count).nextBytes(pixels);
        final byte[] labels = new byte[count];
        for (int i = 0; i < count; i++)
        {
            labels[i] = (byte)(i * 7 % FashionMnist.CLASS_COUNT);
        }
        final String suffix = gzip ? ".gz" : "";
        IdxFiles.writeImages(directory.resolve(split.imagesFileName() + suffix), count, FashionMnist.HEIGHT,
            FashionMnist.WIDTH, pixels, gzip);
        IdxFiles.writeLabels(directory.resolve(split.labelsFileName() + suffix), labels, gzip);
        return pixels;
    }

    @Test
    void loadsASplitFromAnExplicitDirectoryPlainOrCompressed() throws IOException
    {
        final byte[] train = writeSplit(dir, FashionMnist.Split.TRAIN, 30, false);
        final byte[] test = writeSplit(dir, FashionMnist.Split.TEST, 20, true);
        final Dataset trainSet = FashionMnist.load(dir, FashionMnist.Split.TRAIN, Normalization.raw());
        final Dataset testSet = FashionMnist.load(dir, FashionMnist.Split.TEST, Normalization.unit());
        assertArrayEquals(new int[] {30, 1, 28, 28}, trainSet.shape());
        assertArrayEquals(new int[] {20, 1, 28, 28}, testSet.shape());
        assertEquals(FashionMnist.CLASS_NAMES, trainSet.classNames());
        assertEquals("Ankle boot", testSet.classNames().get(9));
        assertEquals(7, testSet.label(1));
        assertEquals(train[IMAGE_BYTES + 5] & 0xFF, trainSet.image(1)[5]);
        assertEquals((test[IMAGE_BYTES * 19 + 783] & 0xFF) / 255f, testSet.image(19)[783]);
    }

    @Test
    void prefersTheCompressedFileWhenBothExist() throws IOException
    {
        writeSplit(dir, FashionMnist.Split.TEST, 3, false);
        writeSplit(dir, FashionMnist.Split.TEST, 4, true);
        assertEquals(4, FashionMnist.load(dir, FashionMnist.Split.TEST, Normalization.unit()).count());
    }

    @Test
    void saysHowToInstallTheDataWhenItIsMissing() throws IOException
    {
        writeSplit(dir, FashionMnist.Split.TRAIN, 2, true);
        final DatasetNotFoundException e = assertThrows(DatasetNotFoundException.class,
            () -> FashionMnist.load(dir, FashionMnist.Split.TEST, Normalization.unit()));
        assertTrue(e.getMessage().contains(dir + " has no t10k-images-idx3-ubyte.gz (nor t10k-images-idx3-ubyte)"),
            e.getMessage());
        assertTrue(e.getMessage().contains("sudo apt-get install dataset-fashion-mnist"), e.getMessage());
        assertTrue(e.getMessage().contains("-Dpolypi.data.fashion=DIR"), e.getMessage());
    }

    @Test
    void theSystemPropertyWinsAndIsNotSilentlyIgnored() throws IOException
    {
        final String previous = System.getProperty(FashionMnist.DIRECTORY_PROPERTY);
        try
        {
            final Path missing = dir.resolve("nowhere");
            System.setProperty(FashionMnist.DIRECTORY_PROPERTY, missing.toString());
            final DatasetNotFoundException e = assertThrows(DatasetNotFoundException.class, FashionMnist::locate);
            assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
            assertTrue(FashionMnist.find().isEmpty());
            writeSplit(dir, FashionMnist.Split.TRAIN, 2, true);
            writeSplit(dir, FashionMnist.Split.TEST, 3, false);
            System.setProperty(FashionMnist.DIRECTORY_PROPERTY, dir.toString());
            assertEquals(dir, FashionMnist.locate());
            assertEquals(3, FashionMnist.test().count());
            assertEquals(2, FashionMnist.train().count());
        }
        finally
        {
            if (previous == null)
            {
                System.clearProperty(FashionMnist.DIRECTORY_PROPERTY);
            }
            else
            {
                System.setProperty(FashionMnist.DIRECTORY_PROPERTY, previous);
            }
        }
    }

    @Test
    void rejectsMismatchedCountsAndWrongImageSizes() throws IOException
    {
        writeSplit(dir, FashionMnist.Split.TEST, 5, true);
        final Path labels = IdxFiles.writeLabels(dir.resolve("t10k-labels-idx1-ubyte.gz"), new byte[4], true);
        IdxReaderTest.assertMessage(labels, "4 labels, but " + dir.resolve("t10k-images-idx3-ubyte.gz") +
            " has 5 images", () -> FashionMnist.load(dir, FashionMnist.Split.TEST, Normalization.unit()));
        final Path images = IdxFiles.writeImages(dir.resolve("t10k-images-idx3-ubyte.gz"), 1, 32, 32,
            new byte[32 * 32], true);
        IdxReaderTest.assertMessage(images, "expected 28x28 Fashion-MNIST images, found 32x32",
            () -> FashionMnist.load(dir, FashionMnist.Split.TEST, Normalization.unit()));
    }

    @Test
    void realDataHasTheDocumentedSizesClassesAndStatistics() throws IOException
    {
        assumeTrue(FashionMnist.find().isPresent(), "Fashion-MNIST not installed (datasets/install-fashion-mnist.sh)");
        final Dataset test = FashionMnist.test();
        assertArrayEquals(new int[] {FashionMnist.TEST_COUNT, 1, 28, 28}, test.shape());
        final int[] perClass = new int[FashionMnist.CLASS_COUNT];
        Arrays.fill(perClass, FashionMnist.TEST_COUNT / FashionMnist.CLASS_COUNT);
        assertArrayEquals(perClass, test.classCounts());
        final Dataset train = FashionMnist.train();
        assertEquals(FashionMnist.TRAIN_COUNT, train.count());
        Arrays.fill(perClass, FashionMnist.TRAIN_COUNT / FashionMnist.CLASS_COUNT);
        assertArrayEquals(perClass, train.classCounts());
        assertEquals(FashionMnist.MEAN, train.channelMeans()[0], 1e-6);
        assertEquals(FashionMnist.STD, train.channelStds()[0], 1e-6);
    }
}
