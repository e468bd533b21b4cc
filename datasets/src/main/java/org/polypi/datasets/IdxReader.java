package org.polypi.datasets;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads IDX files, the format of MNIST and Fashion-MNIST: unsigned-byte images of rank 3
 * ({@code count x rows x cols}) and unsigned-byte labels of rank 1 ({@code count}), plain or gzip-compressed.
 * <p>
 * Format (big-endian, <a href="http://yann.lecun.com/exdb/mnist/">yann.lecun.com/exdb/mnist</a>): a 4-byte magic
 * number {@code 0x0000TTRR} (two zero bytes, data type {@code TT}, rank {@code RR}), then {@code RR} unsigned 32-bit
 * dimension sizes, then the data, row-major.
 * <p>
 * Compression is recognised by the gzip magic bytes {@code 1f 8b}, not by the file name. Everything in the header is
 * untrusted: the declared sizes are checked against what the file holds (plain files) or against
 * {@link #DEFAULT_MAX_PAYLOAD_BYTES} (gzip, whose decompressed size is unknown up front) before anything is
 * allocated, and gzip data is read incrementally, so a header that lies costs no more memory than the data that is
 * really there. Every error is a {@link DatasetFormatException} whose message starts with the file and says what
 * was expected and what was found.
 */
public final class IdxReader
{
    /** IDX data type code of unsigned bytes, the only type MNIST-like files use. */
    public static final int TYPE_UNSIGNED_BYTE = 0x08;
    /** Rank of an image file: count, rows, columns. */
    public static final int IMAGES_RANK = 3;
    /** Rank of a label file: count. */
    public static final int LABELS_RANK = 1;
    /** Magic number of an unsigned-byte image file. */
    public static final int IMAGES_MAGIC = magic(TYPE_UNSIGNED_BYTE, IMAGES_RANK);
    /** Magic number of an unsigned-byte label file. */
    public static final int LABELS_MAGIC = magic(TYPE_UNSIGNED_BYTE, LABELS_RANK);
    /**
     * Default ceiling on the data bytes a header may announce: 1 GiB, twenty times the Fashion-MNIST training images
     * (47 MB). Larger announcements are rejected before any allocation.
     */
    public static final long DEFAULT_MAX_PAYLOAD_BYTES = 1L << 30;

    /** First two bytes of every gzip stream (RFC 1952). */
    static final int GZIP_MAGIC_0 = 0x1f;
    static final int GZIP_MAGIC_1 = 0x8b;

    private static final int MAGIC_BYTES = Integer.BYTES;
    private static final int DIMENSION_BYTES = Integer.BYTES;
    private static final int BUFFER_BYTES = 1 << 16;
    /** First allocation for data of unknown real size; doubled as data actually arrives. */
    private static final int INITIAL_CHUNK_BYTES = 1 << 20;
    private static final long UNKNOWN_SIZE = -1;

    private IdxReader()
    {
    }

    /**
     * Reads an unsigned-byte rank-3 image file with the default size ceiling.
     *
     * @param file the IDX file, plain or gzip.
     * @return {@code count} single-channel images of {@code rows x cols}.
     * @throws DatasetFormatException if the file is not a valid unsigned-byte rank-3 IDX file.
     * @throws IOException if the file cannot be read.
     */
    public static ByteImages readImages(final Path file) throws IOException
    {
        return readImages(file, DEFAULT_MAX_PAYLOAD_BYTES);
    }

    /**
     * Reads an unsigned-byte rank-3 image file.
     *
     * @param file the IDX file, plain or gzip.
     * @param maxPayloadBytes the most pixel bytes the header may announce, 1 .. {@code Integer.MAX_VALUE - 8}.
     * @return {@code count} single-channel images of {@code rows x cols}.
     * @throws DatasetFormatException if the file is not a valid unsigned-byte rank-3 IDX file.
     * @throws IOException if the file cannot be read.
     */
    public static ByteImages readImages(final Path file, final long maxPayloadBytes) throws IOException
    {
        final Idx idx = read(file, IMAGES_RANK, maxPayloadBytes);
        return new ByteImages((int)idx.dimensions[0], 1, (int)idx.dimensions[1], (int)idx.dimensions[2], idx.data);
    }

    /**
     * Reads an unsigned-byte rank-1 label file with the default size ceiling, checking every label's range.
     *
     * @param file the IDX file, plain or gzip.
     * @param classCount labels must be in {@code 0 .. classCount - 1}; 1..256.
     * @return the labels.
     * @throws DatasetFormatException if the file is not a valid unsigned-byte rank-1 IDX file or a label is out of
     *         range.
     * @throws IOException if the file cannot be read.
     */
    public static int[] readLabels(final Path file, final int classCount) throws IOException
    {
        return readLabels(file, classCount, DEFAULT_MAX_PAYLOAD_BYTES);
    }

    /**
     * Reads an unsigned-byte rank-1 label file, checking every label's range.
     *
     * @param file the IDX file, plain or gzip.
     * @param classCount labels must be in {@code 0 .. classCount - 1}; 1..256.
     * @param maxPayloadBytes the most labels the header may announce, 1 .. {@code Integer.MAX_VALUE - 8}.
     * @return the labels.
     * @throws DatasetFormatException if the file is not a valid unsigned-byte rank-1 IDX file or a label is out of
     *         range.
     * @throws IOException if the file cannot be read.
     */
    public static int[] readLabels(final Path file, final int classCount, final long maxPayloadBytes)
        throws IOException
    {
        if (classCount < 1 || classCount > Normalization.BYTE_VALUES)
        {
            throw new IllegalArgumentException("classCount must be in 1..256, was " + classCount);
        }
        final Idx idx = read(file, LABELS_RANK, maxPayloadBytes);
        final int[] labels = new int[idx.data.length];
        for (int i = 0; i < labels.length; i++)
        {
            final int label = idx.data[i] & 0xFF;
            if (label >= classCount)
            {
                throw new DatasetFormatException(file.toString(), "label " + label + " at index " + i +
                    " is out of range 0.." + (classCount - 1));
            }
            labels[i] = label;
        }
        return labels;
    }

    /**
     * Whether a file starts with the gzip magic bytes.
     *
     * @param file the file to probe.
     * @return true if its first two bytes are {@code 1f 8b}.
     * @throws IOException if the file cannot be read.
     */
    public static boolean isGzip(final Path file) throws IOException
    {
        try (InputStream in = Files.newInputStream(file))
        {
            return in.read() == GZIP_MAGIC_0 && in.read() == GZIP_MAGIC_1;
        }
    }

    /** A validated header and its data. */
    private record Idx(long[] dimensions, byte[] data)
    {
    }

    private static Idx read(final Path file, final int rank, final long maxPayloadBytes) throws IOException
    {
        if (maxPayloadBytes < 1 || maxPayloadBytes > Dataset.MAX_ARRAY_LENGTH)
        {
            throw new IllegalArgumentException("maxPayloadBytes must be in 1.." + Dataset.MAX_ARRAY_LENGTH + ", was " +
                maxPayloadBytes);
        }
        final String source = file.toString();
        try (InputStream raw = Files.newInputStream(file);
            BufferedInputStream buffered = new BufferedInputStream(raw, BUFFER_BYTES))
        {
            buffered.mark(2);
            final boolean gzip = buffered.read() == GZIP_MAGIC_0 && buffered.read() == GZIP_MAGIC_1;
            buffered.reset();
            if (!gzip)
            {
                return read(buffered, source, rank, Files.size(file), maxPayloadBytes);
            }
            try (GZIPInputStream inflated = new GZIPInputStream(buffered, BUFFER_BYTES))
            {
                return read(inflated, source, rank, UNKNOWN_SIZE, maxPayloadBytes);
            }
            catch (final EOFException | ZipException e)
            {
                throw new DatasetFormatException(source, "truncated or corrupt gzip data: " + e.getMessage(), e);
            }
        }
    }

    private static Idx read(final InputStream in, final String source, final int rank, final long streamBytes,
        final long maxPayloadBytes) throws IOException
    {
        final int headerBytes = MAGIC_BYTES + rank * DIMENSION_BYTES;
        final byte[] header = new byte[headerBytes];
        final int headerRead = readUpTo(in, header, 0, MAGIC_BYTES);
        if (headerRead < MAGIC_BYTES)
        {
            throw new DatasetFormatException(source, "truncated: " + headerRead + " bytes, an IDX header needs " +
                headerBytes);
        }
        final int expectedMagic = magic(TYPE_UNSIGNED_BYTE, rank);
        final int magic = bigEndianInt(header, 0);
        if (magic != expectedMagic)
        {
            throw new DatasetFormatException(source, String.format(Locale.ROOT,
                "expected magic 0x%08X, found 0x%08X (%s where %s was expected)", expectedMagic, magic,
                describeMagic(magic), describeMagic(expectedMagic)));
        }
        final int dimensionsRead = readUpTo(in, header, MAGIC_BYTES, rank * DIMENSION_BYTES);
        if (dimensionsRead < rank * DIMENSION_BYTES)
        {
            throw new DatasetFormatException(source, "truncated: " + (MAGIC_BYTES + dimensionsRead) +
                " bytes, an IDX header of rank " + rank + " needs " + headerBytes);
        }
        final long[] dimensions = new long[rank];
        for (int d = 0; d < rank; d++)
        {
            dimensions[d] = Integer.toUnsignedLong(bigEndianInt(header, MAGIC_BYTES + d * DIMENSION_BYTES));
            if (d > 0 && dimensions[d] == 0)
            {
                throw new DatasetFormatException(source, "header says " + describe(dimensions, d + 1) +
                    ": an image dimension of 0");
            }
        }
        final long itemBytes = Dataset.saturatingProduct(Arrays.copyOfRange(dimensions, 1, rank));
        final long payloadBytes = Dataset.saturatingProduct(dimensions);
        final String what = describe(dimensions, rank);
        if (streamBytes != UNKNOWN_SIZE)
        {
            final long available = streamBytes - headerBytes;
            if (payloadBytes > available)
            {
                throw truncated(source, what, available / itemBytes, available, payloadBytes, headerBytes);
            }
            if (payloadBytes < available)
            {
                throw new DatasetFormatException(source, "header says " + what + " (" + payloadBytes +
                    " data bytes after the " + headerBytes + "-byte header), but the file has " +
                    (available - payloadBytes) + " bytes more");
            }
        }
        if (payloadBytes > maxPayloadBytes)
        {
            throw new DatasetFormatException(source, "header says " + what + " (" + sizeText(payloadBytes) +
                " data bytes), more than the " + maxPayloadBytes + " this reader accepts");
        }
        // Plain files were checked against their real size above, so the allocation is exact; gzip streams grow
        // the buffer only as decompressed data really arrives.
        final int payload = (int)payloadBytes;
        byte[] data = new byte[streamBytes != UNKNOWN_SIZE ? payload : Math.min(payload, INITIAL_CHUNK_BYTES)];
        int filled = 0;
        while (filled < payload)
        {
            if (filled == data.length)
            {
                data = Arrays.copyOf(data, (int)Math.min(payload, 2L * data.length));
            }
            final int n = in.read(data, filled, data.length - filled);
            if (n < 0)
            {
                throw truncated(source, what, filled / itemBytes, filled, payloadBytes, headerBytes);
            }
            filled += n;
        }
        if (streamBytes == UNKNOWN_SIZE && in.read() >= 0)
        {
            throw new DatasetFormatException(source, "header says " + what + " (" + payloadBytes +
                " data bytes after the " + headerBytes + "-byte header), but the decompressed data is longer");
        }
        return new Idx(dimensions, data);
    }

    private static DatasetFormatException truncated(final String source, final String what, final long completeItems,
        final long availableBytes, final long payloadBytes, final int headerBytes)
    {
        return new DatasetFormatException(source, "truncated: header says " + what + ", file holds " + completeItems +
            " (" + availableBytes + " of " + sizeText(payloadBytes) + " data bytes after the " + headerBytes +
            "-byte header)");
    }

    private static String sizeText(final long bytes)
    {
        return bytes == Long.MAX_VALUE ? "more than " + Long.MAX_VALUE : Long.toString(bytes);
    }

    private static String describe(final long[] dimensions, final int known)
    {
        if (dimensions.length == LABELS_RANK)
        {
            return dimensions[0] + " labels";
        }
        final StringBuilder text = new StringBuilder().append(dimensions[0]).append(" images");
        for (int d = 1; d < known; d++)
        {
            text.append(d == 1 ? " of " : "x").append(dimensions[d]);
        }
        return text.toString();
    }

    private static String describeMagic(final int magic)
    {
        if ((magic >>> 16) != 0)
        {
            return "not an IDX file";
        }
        final int type = (magic >>> 8) & 0xFF;
        final int rank = magic & 0xFF;
        final String typeName = switch (type)
        {
            case TYPE_UNSIGNED_BYTE -> "unsigned byte";
            case 0x09 -> "signed byte";
            case 0x0B -> "short";
            case 0x0C -> "int";
            case 0x0D -> "float";
            case 0x0E -> "double";
            default -> String.format(Locale.ROOT, "unknown data type 0x%02X", type);
        };
        return typeName + ", rank " + rank;
    }

    private static int magic(final int type, final int rank)
    {
        return type << 8 | rank;
    }

    private static int bigEndianInt(final byte[] bytes, final int offset)
    {
        return (bytes[offset] & 0xFF) << 24 | (bytes[offset + 1] & 0xFF) << 16 | (bytes[offset + 2] & 0xFF) << 8 |
            bytes[offset + 3] & 0xFF;
    }

    /** Reads until {@code length} bytes or end of stream; returns how many were read. */
    static int readUpTo(final InputStream in, final byte[] target, final int offset, final int length)
        throws IOException
    {
        int filled = 0;
        while (filled < length)
        {
            final int n = in.read(target, offset + filled, length - filled);
            if (n < 0)
            {
                break;
            }
            filled += n;
        }
        return filled;
    }
}
