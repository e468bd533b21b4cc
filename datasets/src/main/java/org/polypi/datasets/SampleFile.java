package org.polypi.datasets;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Locale;
import java.util.zip.CRC32C;

/**
 * The project's compact file for a small labelled image sample (the bundled Fashion-MNIST test sample), with the
 * index each image had in its source set, so the sample can be checked against the original bit for bit.
 * <p>
 * Layout, all integers big-endian (as in IDX):
 * <pre>
 * offset      bytes        field
 * 0           4            magic 0x50504453 ("PPDS", PolyPI data sample)
 * 4           4            version, 1
 * 8           4            count N
 * 12          4            channels C
 * 16          4            height H
 * 20          4            width W
 * 24          4            class count K (labels are 0..K-1)
 * 28          4            CRC32C (Castagnoli) of the payload, bytes 32 to the end
 * 32          4*N          payload: source index of each image, int32
 * 32+4N       N            labels, one unsigned byte each
 * 32+5N       N*C*H*W      pixels, unsigned bytes, NCHW
 * </pre>
 * The file length must be exactly {@code 32 + 5N + N*C*H*W}; readers reject anything else.
 */
record SampleFile(int[] sourceIndices, int[] labels, ByteImages images, int classCount)
{
    /** "PPDS". */
    static final int MAGIC = 0x50504453;
    /** The only version so far. */
    static final int VERSION = 1;
    /** Bytes before the payload. */
    static final int HEADER_BYTES = 32;
    /** Offset of the CRC32C field. */
    static final int CRC_OFFSET = 28;
    /** Largest sample file accepted, far above the bundled one (under 400 KB). */
    static final int MAX_FILE_BYTES = 64 << 20;

    private static final int INDEX_BYTES = Integer.BYTES;
    private static final int LABEL_BYTES = 1;

    /** Validates the parts against each other. */
    SampleFile
    {
        if (sourceIndices.length != images.count() || labels.length != images.count())
        {
            throw new IllegalArgumentException(images.count() + " images but " + sourceIndices.length +
                " source indices and " + labels.length + " labels");
        }
        if (classCount < 1 || classCount > Normalization.BYTE_VALUES)
        {
            throw new IllegalArgumentException("classCount must be in 1..256, was " + classCount);
        }
        for (int i = 0; i < labels.length; i++)
        {
            if (labels[i] < 0 || labels[i] >= classCount || sourceIndices[i] < 0)
            {
                throw new IllegalArgumentException("image " + i + ": label " + labels[i] + " (must be in 0.." +
                    (classCount - 1) + "), source index " + sourceIndices[i] + " (must be non-negative)");
            }
        }
    }

    /**
     * Serializes to the layout above.
     *
     * @return the whole file.
     */
    byte[] encode()
    {
        final int count = images.count();
        final byte[] pixels = images.pixels();
        final ByteBuffer buffer = ByteBuffer.allocate(HEADER_BYTES + count * (INDEX_BYTES + LABEL_BYTES) + pixels.length)
            .order(ByteOrder.BIG_ENDIAN);
        buffer.putInt(MAGIC).putInt(VERSION).putInt(count).putInt(images.channels()).putInt(images.height())
            .putInt(images.width()).putInt(classCount).putInt(0);
        for (final int index : sourceIndices)
        {
            buffer.putInt(index);
        }
        for (final int label : labels)
        {
            buffer.put((byte)label);
        }
        buffer.put(pixels);
        final byte[] bytes = buffer.array();
        buffer.putInt(CRC_OFFSET, crc(bytes));
        return bytes;
    }

    /**
     * Reads a whole sample file from a stream (at most {@link #MAX_FILE_BYTES}).
     *
     * @param in the stream, read to its end.
     * @param source the file or resource name for error messages.
     * @return the validated sample.
     * @throws DatasetFormatException if the data is malformed or fails its checksum.
     * @throws IOException if the stream cannot be read.
     */
    static SampleFile read(final InputStream in, final String source) throws IOException
    {
        final byte[] bytes = in.readNBytes(MAX_FILE_BYTES + 1);
        if (bytes.length > MAX_FILE_BYTES)
        {
            throw new DatasetFormatException(source, "longer than the " + MAX_FILE_BYTES + " bytes a sample may have");
        }
        return decode(bytes, source);
    }

    /**
     * Parses and validates a whole sample file.
     *
     * @param bytes the file's bytes.
     * @param source the file or resource name for error messages.
     * @return the validated sample.
     * @throws DatasetFormatException if the data is malformed or fails its checksum.
     */
    static SampleFile decode(final byte[] bytes, final String source) throws DatasetFormatException
    {
        if (bytes.length < HEADER_BYTES)
        {
            throw new DatasetFormatException(source, "truncated: " + bytes.length + " bytes, the header needs " +
                HEADER_BYTES);
        }
        final ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN);
        final int magic = buffer.getInt();
        if (magic != MAGIC)
        {
            throw new DatasetFormatException(source, String.format(Locale.ROOT, "expected magic 0x%08X, found 0x%08X",
                MAGIC, magic));
        }
        final int version = buffer.getInt();
        if (version != VERSION)
        {
            throw new DatasetFormatException(source, "expected version " + VERSION + ", found " + version);
        }
        final int count = buffer.getInt();
        final int channels = buffer.getInt();
        final int height = buffer.getInt();
        final int width = buffer.getInt();
        final int classCount = buffer.getInt();
        final int storedCrc = buffer.getInt();
        if (count < 0 || channels < 1 || height < 1 || width < 1 || classCount < 1 ||
            classCount > Normalization.BYTE_VALUES)
        {
            throw new DatasetFormatException(source, "bad header: count " + count + ", shape " + channels + "x" +
                height + "x" + width + ", " + classCount + " classes");
        }
        // Clamping to an int keeps the sum from wrapping; no real file can be that long anyway.
        final long perImage = Math.min(Dataset.saturatingProduct(channels, height, width), Integer.MAX_VALUE) +
            INDEX_BYTES + LABEL_BYTES;
        final long expectedPayload = Dataset.saturatingProduct(count, perImage);
        if (expectedPayload != bytes.length - HEADER_BYTES)
        {
            throw new DatasetFormatException(source, "header says " + count + " images of " + channels + "x" + height +
                "x" + width + " (" + expectedPayload + " payload bytes), file holds " + (bytes.length - HEADER_BYTES));
        }
        final int crc = crc(bytes);
        if (crc != storedCrc)
        {
            throw new DatasetFormatException(source, String.format(Locale.ROOT,
                "CRC32C mismatch: header says 0x%08X, payload has 0x%08X", storedCrc, crc));
        }
        final int[] indices = new int[count];
        for (int i = 0; i < count; i++)
        {
            indices[i] = buffer.getInt();
        }
        final int[] labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            labels[i] = buffer.get() & 0xFF;
            if (labels[i] >= classCount)
            {
                throw new DatasetFormatException(source, "label " + labels[i] + " at index " + i +
                    " is out of range 0.." + (classCount - 1));
            }
            if (indices[i] < 0)
            {
                throw new DatasetFormatException(source, "source index " + indices[i] + " at index " + i +
                    " is negative");
            }
        }
        final byte[] pixels = new byte[buffer.remaining()];
        buffer.get(pixels);
        return new SampleFile(indices, labels, new ByteImages(count, channels, height, width, pixels), classCount);
    }

    /** CRC32C of everything after the header. */
    static int crc(final byte[] file)
    {
        final CRC32C crc = new CRC32C();
        crc.update(file, HEADER_BYTES, file.length - HEADER_BYTES);
        return (int)crc.getValue();
    }
}
