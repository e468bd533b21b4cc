package org.polypi.model;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * The compact binary model format, versions {@value #BASE_VERSION} and {@value #STATISTICS_VERSION}; the byte-level
 * layout is in {@code docs/model-format.md}.
 * <p>
 * In short: magic, version, flags and total length; the header (architecture, fixed-point bits, activation bound,
 * class names, and in version 2 the activation statistics); the graph inputs; the node table (name, layer tag, input
 * references, scalar parameters); the outputs; then one section per tensor (shape, byte length, little-endian
 * float32 data, CRC32C); and last the SHA-256 fingerprint of every byte before it. All integers are little-endian.
 * <p>
 * The version follows from the content ({@link #version(ModelGraph)}): a graph whose header has no
 * {@link ActivationStatistics} is written as version 1, byte for byte as before version 2 existed (same fingerprint),
 * and one with statistics as version 2. The reader accepts both.
 * <p>
 * The encoding is canonical: a graph has exactly one encoding and the reader accepts nothing else, so the
 * fingerprint of a file equals {@link ModelGraph#fingerprint()} of the graph read from it. The reader checks every
 * count, size, string length, reference and tag against the bytes that remain <em>before</em> it allocates, so a
 * corrupt or hostile file costs at most its own size in memory, and every problem is a {@link ModelFormatException}
 * naming the byte offset.
 */
public final class ModelFormat
{
    /** Format version of a model without activation statistics (the original layout). */
    public static final int BASE_VERSION = 1;
    /** Format version of a model with activation statistics: version 1 plus a statistics block in the header. */
    public static final int STATISTICS_VERSION = 2;
    /** Leading bytes: 0x89 "PPIM" CR LF 0x1A (binary-safe, catches text-mode transfers like PNG's magic). */
    static final byte[] MAGIC = {(byte)0x89, 'P', 'P', 'I', 'M', '\r', '\n', 0x1A};
    /** Bytes of the fixed preamble: magic, u16 version, u16 flags, u64 total length. */
    static final int PREAMBLE_BYTES = 8 + 2 + 2 + 8;
    /** Bytes of the trailing SHA-256 fingerprint. */
    static final int FINGERPRINT_BYTES = Fingerprint.LENGTH;

    /** Layer tags of the node table (u8). Zero is never a valid tag, so a zeroed region is caught. */
    static final int TAG_CONV2D = 1;
    static final int TAG_LINEAR = 2;
    static final int TAG_AVG_POOL2D = 3;
    static final int TAG_MAX_POOL2D = 4;
    static final int TAG_GLOBAL_AVG_POOL = 5;
    static final int TAG_BATCH_NORM = 6;
    static final int TAG_ADD = 7;
    static final int TAG_FLATTEN = 8;
    static final int TAG_RELU = 9;
    static final int TAG_POLY = 10;
    static final int TAG_CHANNEL_POLY = 11;
    static final int TAG_MASKED_RELU = 12;
    static final int TAG_IDENTITY = 13;

    private ModelFormat()
    {
    }

    /**
     * Writes {@code graph} to {@code path} atomically: into a temporary file in the same directory, forced to disk,
     * then moved over {@code path} with {@link StandardCopyOption#ATOMIC_MOVE}. On any failure the temporary file is
     * deleted and an existing file at {@code path} is left as it was.
     *
     * @throws IOException if writing, forcing or moving fails (also when the file system cannot move atomically).
     */
    public static void write(final ModelGraph graph, final Path path) throws IOException
    {
        write(graph, path, UnaryOperator.identity());
    }

    /** {@link #write(ModelGraph, Path)} with a decorator around the file channel, so tests can inject failures. */
    static void write(final ModelGraph graph, final Path path, final UnaryOperator<WritableByteChannel> decorator)
        throws IOException
    {
        Objects.requireNonNull(graph, "graph");
        final Path target = path.toAbsolutePath();
        final Path dir = target.getParent();
        final Path tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
        boolean moved = false;
        try
        {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING))
            {
                final Fingerprint f = FormatWriter.write(graph, decorator.apply(ch));
                ch.force(true);
                graph.cacheFingerprint(f);
            }
            try
            {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
            catch (final AtomicMoveNotSupportedException e)
            {
                throw new IOException("cannot replace " + target + " atomically", e);
            }
            moved = true;
            forceDirectory(dir);
        }
        finally
        {
            if (!moved)
            {
                Files.deleteIfExists(tmp);
            }
        }
    }

    /** Writes the encoding of {@code graph} to {@code out} (not closed). */
    public static void write(final ModelGraph graph, final OutputStream out) throws IOException
    {
        final WritableByteChannel ch = Channels.newChannel(out);
        graph.cacheFingerprint(FormatWriter.write(graph, ch));
        out.flush();
    }

    /** The encoding of {@code graph} as a byte array (which caps it at 2 GiB). */
    public static byte[] toBytes(final ModelGraph graph)
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        try
        {
            write(graph, out);
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("in-memory write failed", e);
        }
        return out.toByteArray();
    }

    /**
     * Reads and validates the model at {@code path}.
     *
     * @throws ModelFormatException if the file is not a valid encoding (the message names the byte offset).
     * @throws IOException if the file cannot be read.
     */
    public static ModelGraph read(final Path path) throws IOException
    {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ))
        {
            return FormatReader.read(ch, ch.size());
        }
    }

    /**
     * Reads and validates a model of exactly {@code length} bytes from {@code in} (for example after a length
     * prefix on a socket). Reads no byte beyond {@code length}; does not close the stream.
     *
     * @throws ModelFormatException if the bytes are not a valid encoding of {@code length} bytes.
     * @throws IOException if the stream fails.
     */
    public static ModelGraph read(final InputStream in, final long length) throws IOException
    {
        return FormatReader.read(Channels.newChannel(in), length);
    }

    /**
     * Decodes and validates a model from {@code bytes}.
     *
     * @throws ModelFormatException if the bytes are not a valid encoding.
     */
    public static ModelGraph fromBytes(final byte[] bytes) throws ModelFormatException
    {
        final ReadableByteChannel ch = new ArrayChannel(bytes);
        try
        {
            return FormatReader.read(ch, bytes.length);
        }
        catch (final ModelFormatException e)
        {
            throw e;
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("in-memory read failed", e);
        }
    }

    /** The fingerprint of {@code graph}'s encoding, without writing it anywhere. */
    static Fingerprint computeFingerprint(final ModelGraph graph)
    {
        try
        {
            return FormatWriter.write(graph, null);
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("digest-only write failed", e);
        }
    }

    /**
     * The version {@code graph} is written in: {@value #STATISTICS_VERSION} if its header has activation statistics,
     * else {@value #BASE_VERSION}.
     */
    public static int version(final ModelGraph graph)
    {
        return graph.header().statistics().isPresent() ? STATISTICS_VERSION : BASE_VERSION;
    }

    /** Flushes the directory entry of a rename to disk where the platform allows opening a directory. */
    private static void forceDirectory(final Path dir)
    {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ))
        {
            ch.force(true);
        }
        catch (final IOException | UnsupportedOperationException e)
        {
            // Not every platform lets a directory be opened; the rename itself is already atomic there.
            return;
        }
    }

    /** A channel over a byte array, reading straight from it (no copy of the whole array). */
    private static final class ArrayChannel implements ReadableByteChannel
    {
        private final byte[] bytes;
        private int position;

        ArrayChannel(final byte[] bytes)
        {
            this.bytes = bytes;
        }

        @Override
        public int read(final ByteBuffer dst)
        {
            if (position == bytes.length)
            {
                return -1;
            }
            final int n = Math.min(dst.remaining(), bytes.length - position);
            dst.put(bytes, position, n);
            position += n;
            return n;
        }

        @Override
        public boolean isOpen()
        {
            return true;
        }

        @Override
        public void close()
        {
            // nothing to release
        }
    }
}
