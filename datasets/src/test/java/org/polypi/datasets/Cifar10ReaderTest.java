package org.polypi.datasets;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

final class Cifar10ReaderTest
{
    private static final int PLANE = Cifar10Reader.HEIGHT * Cifar10Reader.WIDTH;

    @TempDir
    Path dir;

    /** {@code labels.length} random records. */
    private static byte[] records(final Random random, final int... labels)
    {
        final byte[] bytes = new byte[labels.length * Cifar10Reader.RECORD_BYTES];
        random.nextBytes(bytes);
        for (int r = 0; r < labels.length; r++)
        {
            bytes[r * Cifar10Reader.RECORD_BYTES] = (byte)labels[r];
        }
        return bytes;
    }

    @Test
    void readsRecordsIntoNchwAcrossFiles() throws IOException
    {
        final Random random = new Random(11);
        final byte[] first = records(random, 3, 0, 9);
        final byte[] second = records(random, 7, 7);
        final Dataset data = Cifar10Reader.read(List.of(Files.write(dir.resolve("a.bin"), first),
            Files.write(dir.resolve("b.bin"), second)), Normalization.raw());
        assertArrayEquals(new int[] {5, 3, 32, 32}, data.shape());
        assertArrayEquals(new int[] {3, 0, 9, 7, 7}, data.labels());
        assertEquals(Cifar10Reader.CLASS_NAMES, data.classNames());
        for (int n = 0; n < data.count(); n++)
        {
            final byte[] file = n < 3 ? first : second;
            final int record = (n < 3 ? n : n - 3) * Cifar10Reader.RECORD_BYTES;
            final float[] image = data.image(n);
            for (int c = 0; c < Cifar10Reader.CHANNELS; c++)
            {
                for (int y = 0; y < Cifar10Reader.HEIGHT; y++)
                {
                    for (int x = 0; x < Cifar10Reader.WIDTH; x++)
                    {
                        final int stored = file[record + 1 + c * PLANE + y * Cifar10Reader.WIDTH + x] & 0xFF;
                        assertEquals(stored, image[(c * Cifar10Reader.HEIGHT + y) * Cifar10Reader.WIDTH + x]);
                    }
                }
            }
        }
    }

    @Test
    void appliesTheStandardNormalizationPerChannel() throws IOException
    {
        final byte[] bytes = records(new Random(5), 1);
        final Dataset data = Cifar10Reader.read(List.of(Files.write(dir.resolve("a.bin"), bytes)),
            Cifar10Reader.STANDARD_NORMALIZATION);
        final float[] image = data.image(0);
        final float[] mean = Cifar10Reader.STANDARD_NORMALIZATION.mean();
        final float[] std = Cifar10Reader.STANDARD_NORMALIZATION.std();
        for (int c = 0; c < Cifar10Reader.CHANNELS; c++)
        {
            for (int i = 0; i < PLANE; i++)
            {
                final float unit = (bytes[1 + c * PLANE + i] & 0xFF) / 255f;
                assertEquals((unit - mean[c]) / std[c], image[c * PLANE + i]);
            }
        }
    }

    @Test
    void findsTheStandardFileNames() throws IOException
    {
        final Random random = new Random(1);
        for (int batch = 1; batch <= Cifar10Reader.TRAIN_BATCHES; batch++)
        {
            Files.write(dir.resolve(Cifar10Reader.trainBatchName(batch)), records(random, batch, batch + 1));
        }
        Files.write(dir.resolve(Cifar10Reader.TEST_BATCH), records(random, 4));
        assertEquals("data_batch_3.bin", Cifar10Reader.trainBatchName(3));
        assertArrayEquals(new int[] {1, 2, 2, 3, 3, 4, 4, 5, 5, 6},
            Cifar10Reader.train(dir, Normalization.unit()).labels());
        assertArrayEquals(new int[] {4}, Cifar10Reader.test(dir, Normalization.unit()).labels());
    }

    @Test
    void rejectsASizeThatIsNotAWholeNumberOfRecords() throws IOException
    {
        final byte[] bytes = records(new Random(2), 1, 2, 3);
        final Path file = Files.write(dir.resolve("data_batch_1.bin"),
            java.util.Arrays.copyOf(bytes, 2 * Cifar10Reader.RECORD_BYTES + 5));
        IdxReaderTest.assertMessage(file, "size 6151 bytes is not a positive multiple of the 3073-byte record " +
            "(1 label byte + 3072 pixel bytes): 2 whole records and 5 bytes over",
            () -> Cifar10Reader.read(List.of(file), Normalization.unit()));
        final Path empty = Files.write(dir.resolve("test_batch.bin"), new byte[0]);
        IdxReaderTest.assertMessage(empty, "size 0 bytes is not a positive multiple",
            () -> Cifar10Reader.test(dir, Normalization.unit()));
    }

    @Test
    void rejectsALabelOutOfRange() throws IOException
    {
        final Path file = Files.write(dir.resolve("test_batch.bin"), records(new Random(3), 9, 10, 0));
        IdxReaderTest.assertMessage(file, "label 10 in record 1 (byte offset 3073) is out of range 0..9",
            () -> Cifar10Reader.test(dir, Normalization.unit()));
    }

    @Test
    void saysHowToGetTheDataWhenAFileIsMissing()
    {
        final DatasetNotFoundException e = assertThrows(DatasetNotFoundException.class,
            () -> Cifar10Reader.train(dir, Normalization.unit()));
        assertTrue(e.getMessage().contains("data_batch_1.bin: no such file"), e.getMessage());
        assertTrue(e.getMessage().contains("https://www.cs.toronto.edu/~kriz/cifar.html"), e.getMessage());
    }
}
