package org.polypi.datasets;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * A 500-image sample of the Fashion-MNIST test set shipped inside the datasets jar, so tests and the demo run on
 * real images on machines without the data installed.
 * <p>
 * Selection: class-balanced, the first {@value #PER_CLASS} test images of each class, kept in test-set order
 * (so classes interleave as in the original). Each image's index in the 10,000-image test set is stored with it
 * ({@link #fashionMnistTestIndices()}), which lets a test compare the sample with the installed data bit for bit.
 * <p>
 * The resource {@code org/polypi/datasets/fashion-mnist-test-sample.bin} uses the project's sample layout
 * (big-endian):
 * <pre>
 * offset      bytes        field
 * 0           4            magic 0x50504453 ("PPDS")
 * 4           4            version, 1
 * 8           4            count N (500)
 * 12          4            channels C (1)
 * 16          4            height H (28)
 * 20          4            width W (28)
 * 24          4            class count K (10)
 * 28          4            CRC32C of bytes 32 to the end
 * 32          4*N          source index of each image in the test set, int32
 * 32+4N       N            labels, one unsigned byte each
 * 32+5N       N*C*H*W      pixels, unsigned bytes, NCHW
 * </pre>
 * That is 394,532 bytes. Every load checks the length, header and CRC32C. {@link SampleWriter} regenerates the file
 * from the real IDX files, byte for byte.
 */
public final class BundledSample
{
    /** Name of the resource, relative to this class's package. */
    public static final String RESOURCE_NAME = "fashion-mnist-test-sample.bin";
    /** Images per class in the sample. */
    public static final int PER_CLASS = 50;
    /** Images in the sample. */
    public static final int COUNT = PER_CLASS * FashionMnist.CLASS_COUNT;

    private BundledSample()
    {
    }

    /**
     * The sample, scaled to [0, 1].
     *
     * @return 500 images of 1x28x28 with Fashion-MNIST class names.
     * @throws UncheckedIOException if the resource is missing or corrupt (a broken build).
     */
    public static Dataset fashionMnistTest()
    {
        return fashionMnistTest(Normalization.unit());
    }

    /**
     * The sample with the given normalization.
     *
     * @param normalization how to turn bytes into floats.
     * @return 500 images of 1x28x28 with Fashion-MNIST class names.
     * @throws UncheckedIOException if the resource is missing or corrupt (a broken build).
     */
    public static Dataset fashionMnistTest(final Normalization normalization)
    {
        final SampleFile sample = readFashionMnistTest();
        return Dataset.fromBytes(sample.images(), sample.labels(), FashionMnist.CLASS_NAMES, normalization);
    }

    /**
     * Where each sample image sits in the Fashion-MNIST test set.
     *
     * @return 500 ascending indices into the 10,000 test images.
     * @throws UncheckedIOException if the resource is missing or corrupt (a broken build).
     */
    public static int[] fashionMnistTestIndices()
    {
        return readFashionMnistTest().sourceIndices();
    }

    /** Reads and validates the resource. */
    static SampleFile readFashionMnistTest()
    {
        try (InputStream in = BundledSample.class.getResourceAsStream(RESOURCE_NAME))
        {
            if (in == null)
            {
                throw new DatasetNotFoundException("resource " + resourcePath() + " is missing from the classpath; " +
                    "rebuild the datasets jar (SampleWriter regenerates the file)");
            }
            return SampleFile.read(in, resourcePath());
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException(e);
        }
    }

    /** The resource's full path, for messages. */
    static String resourcePath()
    {
        return BundledSample.class.getPackageName().replace('.', '/') + "/" + RESOURCE_NAME;
    }
}
