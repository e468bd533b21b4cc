package org.polypi.datasets;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

/** Test helpers: writes synthetic IDX files and measures a thread's allocations. */
final class IdxFiles
{
    private IdxFiles()
    {
    }

    /** An IDX file's bytes: magic, big-endian dimensions, data. */
    static byte[] idx(final int magic, final int[] dimensions, final byte[] data)
    {
        final ByteBuffer buffer = ByteBuffer.allocate(Integer.BYTES * (1 + dimensions.length) + data.length)
            .order(ByteOrder.BIG_ENDIAN);
        buffer.putInt(magic);
        for (final int dimension : dimensions)
        {
            buffer.putInt(dimension);
        }
        return buffer.put(data).array();
    }

    static byte[] gzip(final byte[] bytes)
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out))
        {
            gz.write(bytes);
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    static Path write(final Path file, final byte[] bytes, final boolean gzip) throws IOException
    {
        return Files.write(file, gzip ? gzip(bytes) : bytes);
    }

    static Path writeImages(final Path file, final int count, final int rows, final int cols, final byte[] pixels,
        final boolean gzip) throws IOException
    {
        return write(file, idx(IdxReader.IMAGES_MAGIC, new int[] {count, rows, cols}, pixels), gzip);
    }

    static Path writeLabels(final Path file, final byte[] labels, final boolean gzip) throws IOException
    {
        return write(file, idx(IdxReader.LABELS_MAGIC, new int[] {labels.length}, labels), gzip);
    }

    /** Bytes allocated by the current thread so far (HotSpot's per-thread allocation counter). */
    static long allocatedBytes()
    {
        return ((com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }
}
