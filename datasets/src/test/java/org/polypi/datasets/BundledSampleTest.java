package org.polypi.datasets;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

final class BundledSampleTest
{
    private static final int RESOURCE_LIMIT_BYTES = 500 * 1024;

    @TempDir
    Path dir;

    private static byte[] resourceBytes() throws IOException
    {
        try (InputStream in = BundledSample.class.getResourceAsStream(BundledSample.RESOURCE_NAME))
        {
            assertTrue(in != null, "resource " + BundledSample.resourcePath() + " missing");
            return in.readAllBytes();
        }
    }

    @Test
    void loadsFiveHundredBalancedImagesWithValidLabels()
    {
        final Dataset sample = BundledSample.fashionMnistTest();
        assertArrayEquals(new int[] {BundledSample.COUNT, 1, 28, 28}, sample.shape());
        assertEquals(500, sample.count());
        assertEquals(FashionMnist.CLASS_NAMES, sample.classNames());
        for (final int label : sample.labels())
        {
            assertTrue(label >= 0 && label <= 9, "label " + label);
        }
        final int[] perClass = new int[FashionMnist.CLASS_COUNT];
        Arrays.fill(perClass, BundledSample.PER_CLASS);
        assertArrayEquals(perClass, sample.classCounts());
        final float[] values = sample.toFloatArray();
        for (final float value : values)
        {
            assertTrue(value >= 0f && value <= 1f);
        }
        final int[] indices = BundledSample.fashionMnistTestIndices();
        assertEquals(500, indices.length);
        for (int i = 0; i < indices.length; i++)
        {
            assertTrue(indices[i] >= 0 && indices[i] < FashionMnist.TEST_COUNT);
            assertTrue(i == 0 || indices[i] > indices[i - 1], "indices ascend");
        }
        assertEquals(BundledSample.fashionMnistTest(FashionMnist.STANDARD_NORMALIZATION).normalization(),
            FashionMnist.STANDARD_NORMALIZATION);
    }

    @Test
    void resourceIsSmallAndItsChecksumVerifies() throws IOException
    {
        final byte[] bytes = resourceBytes();
        assertTrue(bytes.length < RESOURCE_LIMIT_BYTES, bytes.length + " bytes");
        assertEquals(SampleFile.HEADER_BYTES + 500 * (4 + 1 + 28 * 28), bytes.length);
        assertEquals(ByteBuffer.wrap(bytes).getInt(SampleFile.CRC_OFFSET), SampleFile.crc(bytes));
        final SampleFile sample = SampleFile.decode(bytes, "sample");
        assertArrayEquals(bytes, sample.encode());
    }

    @Test
    void everyCorruptionIsDetected() throws IOException
    {
        final byte[] bytes = resourceBytes();
        final Random random = new Random(9);
        for (int trial = 0; trial < 20; trial++)
        {
            final byte[] corrupt = bytes.clone();
            final int offset = SampleFile.HEADER_BYTES + random.nextInt(bytes.length - SampleFile.HEADER_BYTES);
            corrupt[offset] ^= (byte)(1 << random.nextInt(8));
            final DatasetFormatException e = assertThrows(DatasetFormatException.class,
                () -> SampleFile.decode(corrupt, "sample.bin"));
            assertTrue(e.getMessage().startsWith("sample.bin: CRC32C mismatch: header says 0x"), e.getMessage());
        }
        final byte[] badMagic = bytes.clone();
        badMagic[0] = 'X';
        assertTrue(assertThrows(DatasetFormatException.class, () -> SampleFile.decode(badMagic, "s"))
            .getMessage().contains("expected magic 0x50504453, found 0x58504453"));
        final DatasetFormatException cut = assertThrows(DatasetFormatException.class,
            () -> SampleFile.decode(Arrays.copyOf(bytes, bytes.length - 1), "s"));
        assertTrue(cut.getMessage().contains("header says 500 images of 1x28x28 (394500 payload bytes), file holds " +
            "394499"), cut.getMessage());
        assertTrue(assertThrows(DatasetFormatException.class, () -> SampleFile.decode(new byte[10], "s"))
            .getMessage().contains("truncated: 10 bytes, the header needs 32"));
    }

    @Test
    void equalsTheInstalledTestImagesBitForBit() throws IOException
    {
        assumeTrue(FashionMnist.find().isPresent(), "Fashion-MNIST not installed (datasets/install-fashion-mnist.sh)");
        final Dataset real = FashionMnist.load(FashionMnist.Split.TEST, Normalization.raw());
        final int[] indices = BundledSample.fashionMnistTestIndices();
        assertEquals(real.subset(indices), BundledSample.fashionMnistTest(Normalization.raw()));
        assertEquals(FashionMnist.test().subset(indices), BundledSample.fashionMnistTest());
        assertArrayEquals(SampleWriter.firstPerClass(real.labels(), FashionMnist.CLASS_COUNT, BundledSample.PER_CLASS,
            dir), indices, "the sample is the first 50 test images of each class");
    }

    @Test
    void theWriterRegeneratesTheBundledFileExactly() throws IOException
    {
        assumeTrue(FashionMnist.find().isPresent(), "Fashion-MNIST not installed (datasets/install-fashion-mnist.sh)");
        final Path output = dir.resolve("regenerated.bin");
        SampleWriter.write(FashionMnist.locate(), output);
        assertArrayEquals(resourceBytes(), Files.readAllBytes(output));
    }

    @Test
    void theWriterPicksTheFirstFiftyOfEachClassAndWritesAtomically() throws IOException
    {
        final Path data = Files.createDirectory(dir.resolve("data"));
        // Labels cycle with step 7 (coprime to 10), 60 of each class over 600 images.
        final byte[] pixels = FashionMnistTest.writeSplit(data, FashionMnist.Split.TEST, 600, true);
        final Path output = dir.resolve("out").resolve("sample.bin");
        Files.createDirectories(output.getParent());
        Files.write(output, new byte[] {1, 2, 3});
        final byte[] written = SampleWriter.write(data, output);
        assertArrayEquals(written, Files.readAllBytes(output));
        try (var listing = Files.list(output.getParent()))
        {
            assertEquals(1, listing.count(), "no temporary file left behind");
        }
        final SampleFile sample = SampleFile.decode(written, output.toString());
        final int[] expected = new int[500];
        for (int i = 0; i < 500; i++)
        {
            expected[i] = i;
        }
        assertArrayEquals(expected, sample.sourceIndices());
        assertArrayEquals(Arrays.copyOf(pixels, 500 * 784), sample.images().pixels());
        final Path sparse = Files.createDirectory(dir.resolve("sparse"));
        FashionMnistTest.writeSplit(sparse, FashionMnist.Split.TEST, 100, false);
        final DatasetFormatException e = assertThrows(DatasetFormatException.class,
            () -> SampleWriter.write(sparse, dir.resolve("never.bin")));
        assertTrue(e.getMessage().contains("need 50 images of each class, found [10, 10, 10, 10, 10, 10, 10, 10, 10, " +
            "10]"), e.getMessage());
        assertTrue(Files.notExists(dir.resolve("never.bin")));
    }
}
