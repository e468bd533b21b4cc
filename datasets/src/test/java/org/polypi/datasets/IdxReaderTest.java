package org.polypi.datasets;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

final class IdxReaderTest
{
    /** Far below the 784 MB a lying header below would have made a naive reader allocate. */
    private static final long ALLOCATION_BUDGET_BYTES = 32L << 20;

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void roundTripsImagesAndLabels(final boolean gzip) throws IOException
    {
        final Random random = new Random(7);
        final int count = 7;
        final int rows = 5;
        final int cols = 3;
        final byte[] pixels = new byte[count * rows * cols];
        random.nextBytes(pixels);
        final byte[] labels = new byte[count];
        for (int i = 0; i < count; i++)
        {
            labels[i] = (byte)random.nextInt(10);
        }
        final ByteImages images = IdxReader.readImages(
            IdxFiles.writeImages(dir.resolve("images"), count, rows, cols, pixels, gzip));
        assertEquals(count, images.count());
        assertEquals(1, images.channels());
        assertEquals(rows, images.height());
        assertEquals(cols, images.width());
        assertArrayEquals(pixels, images.pixels());
        final int[] read = IdxReader.readLabels(IdxFiles.writeLabels(dir.resolve("labels"), labels, gzip), 10);
        for (int i = 0; i < count; i++)
        {
            assertEquals(labels[i], read[i]);
        }
    }

    @Test
    void detectsGzipByContentNotByName() throws IOException
    {
        final byte[] pixels = {0, 1, 2, 3, (byte)254, (byte)255};
        final Path gzipWithoutSuffix = IdxFiles.writeImages(dir.resolve("images.idx"), 1, 2, 3, pixels, true);
        final Path plainWithSuffix = IdxFiles.writeImages(dir.resolve("images.gz"), 1, 2, 3, pixels, false);
        assertTrue(IdxReader.isGzip(gzipWithoutSuffix));
        assertFalse(IdxReader.isGzip(plainWithSuffix));
        assertArrayEquals(pixels, IdxReader.readImages(gzipWithoutSuffix).pixels());
        assertArrayEquals(pixels, IdxReader.readImages(plainWithSuffix).pixels());
    }

    @Test
    void acceptsAnEmptySet() throws IOException
    {
        final ByteImages images = IdxReader.readImages(IdxFiles.writeImages(dir.resolve("e"), 0, 28, 28, new byte[0],
            true));
        assertEquals(0, images.count());
        assertEquals(28, images.height());
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void rejectsALabelFileReadAsImagesAndViceVersa(final boolean gzip) throws IOException
    {
        final Path labels = IdxFiles.writeLabels(dir.resolve("t10k-labels-idx1-ubyte.gz"), new byte[] {1, 2}, gzip);
        final Path images = IdxFiles.writeImages(dir.resolve("t10k-images-idx3-ubyte.gz"), 1, 1, 1, new byte[1], gzip);
        assertMessage(labels, "expected magic 0x00000803, found 0x00000801 (unsigned byte, rank 1 where unsigned " +
            "byte, rank 3 was expected)", () -> IdxReader.readImages(labels));
        assertMessage(images, "expected magic 0x00000801, found 0x00000803", () -> IdxReader.readLabels(images, 10));
    }

    @Test
    void rejectsSomethingThatIsNotIdx() throws IOException
    {
        final Path text = Files.writeString(dir.resolve("notes.txt"), "hello, world");
        assertMessage(text, "expected magic 0x00000803, found 0x68656C6C (not an IDX file",
            () -> IdxReader.readImages(text));
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void rejectsAWrongDataType(final boolean gzip) throws IOException
    {
        final Path floats = IdxFiles.write(dir.resolve("floats"),
            IdxFiles.idx(0x00000D03, new int[] {1, 1, 1}, new byte[Float.BYTES]), gzip);
        assertMessage(floats, "expected magic 0x00000803, found 0x00000D03 (float, rank 3",
            () -> IdxReader.readImages(floats));
        final Path unknown = IdxFiles.write(dir.resolve("unknown"),
            IdxFiles.idx(0x00004201, new int[] {1}, new byte[1]), gzip);
        assertMessage(unknown, "unknown data type 0x42", () -> IdxReader.readLabels(unknown, 10));
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void rejectsATruncatedHeader(final boolean gzip) throws IOException
    {
        final byte[] full = IdxFiles.idx(IdxReader.IMAGES_MAGIC, new int[] {1, 28, 28}, new byte[0]);
        final Path shortMagic = IdxFiles.write(dir.resolve("a"), Arrays.copyOf(full, 3), gzip);
        assertMessage(shortMagic, "truncated: 3 bytes, an IDX header needs 16", () -> IdxReader.readImages(shortMagic));
        final Path shortDims = IdxFiles.write(dir.resolve("b"), Arrays.copyOf(full, 10), gzip);
        assertMessage(shortDims, "truncated: 10 bytes, an IDX header of rank 3 needs 16",
            () -> IdxReader.readImages(shortDims));
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void rejectsTruncatedData(final boolean gzip) throws IOException
    {
        final int imageBytes = 28 * 28;
        final byte[] partial = new byte[3 * imageBytes + 100];
        final Path images = IdxFiles.write(dir.resolve("images"),
            IdxFiles.idx(IdxReader.IMAGES_MAGIC, new int[] {10000, 28, 28}, partial), gzip);
        assertMessage(images, "truncated: header says 10000 images of 28x28, file holds 3 (2452 of 7840000 data " +
            "bytes after the 16-byte header)", () -> IdxReader.readImages(images));
        final Path labels = IdxFiles.write(dir.resolve("labels"),
            IdxFiles.idx(IdxReader.LABELS_MAGIC, new int[] {10000}, new byte[5000]), gzip);
        assertMessage(labels, "truncated: header says 10000 labels, file holds 5000",
            () -> IdxReader.readLabels(labels, 10));
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void rejectsTrailingData(final boolean gzip) throws IOException
    {
        final Path labels = IdxFiles.write(dir.resolve("labels"),
            IdxFiles.idx(IdxReader.LABELS_MAGIC, new int[] {4}, new byte[6]), gzip);
        assertMessage(labels, "header says 4 labels (4 data bytes after the 8-byte header), but the " +
            (gzip ? "decompressed data is longer" : "file has 2 bytes more"), () -> IdxReader.readLabels(labels, 10));
    }

    @Test
    void rejectsHugeCountsInAPlainFileWithoutAllocating() throws IOException
    {
        final Path images = IdxFiles.write(dir.resolve("huge"),
            IdxFiles.idx(IdxReader.IMAGES_MAGIC, new int[] {-1, -1, -1}, new byte[3117]), false);
        final long before = IdxFiles.allocatedBytes();
        assertMessage(images, "truncated: header says 4294967295 images of 4294967295x4294967295, file holds 0",
            () -> IdxReader.readImages(images));
        assertTrue(IdxFiles.allocatedBytes() - before < ALLOCATION_BUDGET_BYTES);
    }

    @Test
    void rejectsGzipCountsAboveTheCeilingWithoutAllocating() throws IOException
    {
        final Path images = IdxFiles.write(dir.resolve("huge.gz"),
            IdxFiles.idx(IdxReader.IMAGES_MAGIC, new int[] {Integer.MAX_VALUE, 28, 28}, new byte[784]), true);
        final long before = IdxFiles.allocatedBytes();
        assertMessage(images, "header says 2147483647 images of 28x28 (1683627179248 data bytes), more than the " +
            "1073741824 this reader accepts", () -> IdxReader.readImages(images));
        assertTrue(IdxFiles.allocatedBytes() - before < ALLOCATION_BUDGET_BYTES);
    }

    @Test
    void readsGzipIncrementallySoALyingHeaderCostsOnlyTheRealData() throws IOException
    {
        // 1,000,000 images of 28x28 is 784 MB, under the 1 GiB ceiling, but the stream holds only two images.
        final Path images = IdxFiles.write(dir.resolve("liar.gz"),
            IdxFiles.idx(IdxReader.IMAGES_MAGIC, new int[] {1_000_000, 28, 28}, new byte[2 * 784]), true);
        final long before = IdxFiles.allocatedBytes();
        assertMessage(images, "truncated: header says 1000000 images of 28x28, file holds 2",
            () -> IdxReader.readImages(images));
        final long allocated = IdxFiles.allocatedBytes() - before;
        assertTrue(allocated < ALLOCATION_BUDGET_BYTES, "allocated " + allocated + " bytes");
    }

    @Test
    void allocationCounterSeesAnAllocationTheSizeANaiveReaderWouldMake()
    {
        // Guards the two tests above: if the counter stopped working they could not fail.
        final long before = IdxFiles.allocatedBytes();
        final byte[] naive = new byte[(int)ALLOCATION_BUDGET_BYTES * 2];
        assertTrue(IdxFiles.allocatedBytes() - before >= naive.length);
    }

    @Test
    void honoursACustomCeiling() throws IOException
    {
        final Path labels = IdxFiles.writeLabels(dir.resolve("labels"), new byte[200], true);
        assertMessage(labels, "header says 200 labels (200 data bytes), more than the 100 this reader accepts",
            () -> IdxReader.readLabels(labels, 10, 100));
        assertEquals(200, IdxReader.readLabels(labels, 10, 200).length);
        assertThrows(IllegalArgumentException.class, () -> IdxReader.readLabels(labels, 10, 0));
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void rejectsALabelOutOfRange(final boolean gzip) throws IOException
    {
        final Path labels = IdxFiles.writeLabels(dir.resolve("labels"), new byte[] {0, 9, 3, 10, 1}, gzip);
        assertMessage(labels, "label 10 at index 3 is out of range 0..9", () -> IdxReader.readLabels(labels, 10));
        assertEquals(10, IdxReader.readLabels(labels, 11)[3]);
        final Path high = IdxFiles.writeLabels(dir.resolve("high"), new byte[] {(byte)200}, gzip);
        assertMessage(high, "label 200 at index 0 is out of range 0..9", () -> IdxReader.readLabels(high, 10));
    }

    @Test
    void rejectsAZeroImageDimension() throws IOException
    {
        final Path images = IdxFiles.write(dir.resolve("zero"),
            IdxFiles.idx(IdxReader.IMAGES_MAGIC, new int[] {5, 0, 28}, new byte[0]), false);
        assertMessage(images, "header says 5 images of 0: an image dimension of 0", () -> IdxReader.readImages(images));
    }

    @Test
    void rejectsCorruptGzip() throws IOException
    {
        final byte[] compressed = IdxFiles.gzip(IdxFiles.idx(IdxReader.LABELS_MAGIC, new int[] {10000},
            randomLabels(10000)));
        final Path cut = Files.write(dir.resolve("cut.gz"), Arrays.copyOf(compressed, compressed.length / 2));
        assertMessage(cut, "truncated or corrupt gzip data", () -> IdxReader.readLabels(cut, 10));
    }

    private static byte[] randomLabels(final int count)
    {
        final Random random = new Random(3);
        final byte[] labels = new byte[count];
        for (int i = 0; i < count; i++)
        {
            labels[i] = (byte)random.nextInt(10);
        }
        return labels;
    }

    /** The call fails with a format error whose message names the file and contains {@code detail}. */
    static void assertMessage(final Path file, final String detail,
        final org.junit.jupiter.api.function.Executable call)
    {
        final DatasetFormatException e = assertThrows(DatasetFormatException.class, call);
        assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(detail), () -> "expected \"" + detail + "\" in: " + e.getMessage());
        assertEquals(file.toString(), e.source());
    }
}
