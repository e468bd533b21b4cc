package org.polypi.model;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.Map;
import java.util.zip.CRC32C;

import static org.polypi.model.ModelFormat.*;

/**
 * Serializes a {@link ModelGraph} in {@link ModelFormat}: version {@value ModelFormat#BASE_VERSION} without activation
 * statistics, {@value ModelFormat#STATISTICS_VERSION} with them ({@link ModelFormat#version}).
 */
final class FormatWriter
{
    /** Write buffer size: large enough that channel calls are rare, small enough to stay in L2. */
    private static final int BUFFER_BYTES = 1 << 16;
    /** Per tensor section: u8 rank, u64 byte length, u32 CRC32C (plus 4 bytes per dimension and the data). */
    static final int SECTION_FIXED_BYTES = 1 + 8 + 4;

    private final WritableByteChannel channel;
    private final ByteBuffer buffer = ByteBuffer.allocate(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    private final MessageDigest sha = sha256();
    private final CRC32C crc = new CRC32C();

    private FormatWriter(final WritableByteChannel channel)
    {
        this.channel = channel;
    }

    /**
     * Writes the encoding of {@code graph} to {@code channel} (or only digests it when {@code channel} is null) and
     * returns its fingerprint.
     */
    static Fingerprint write(final ModelGraph graph, final WritableByteChannel channel) throws IOException
    {
        return new FormatWriter(channel).writeAll(graph);
    }

    static MessageDigest sha256()
    {
        try
        {
            return MessageDigest.getInstance("SHA-256");
        }
        catch (final NoSuchAlgorithmException e)
        {
            throw new IllegalStateException("every Java platform provides SHA-256", e);
        }
    }

    private Fingerprint writeAll(final ModelGraph graph) throws IOException
    {
        final byte[] structure = structure(graph);
        long length = PREAMBLE_BYTES + structure.length + FINGERPRINT_BYTES;
        for (final Node n : graph.nodes())
        {
            for (final Tensor t : n.layer().tensors())
            {
                length += SECTION_FIXED_BYTES + 4L * t.shape().rank() + 4L * t.size();
            }
        }
        buffer.put(MAGIC).putShort((short)ModelFormat.version(graph)).putShort((short)0).putLong(length);
        put(structure);
        for (final Node n : graph.nodes())
        {
            for (final Tensor t : n.layer().tensors())
            {
                tensor(t);
            }
        }
        flushBuffer();
        final byte[] digest = sha.digest();
        buffer.put(digest);
        drain(buffer.flip());
        return Fingerprint.of(digest);
    }

    /** Everything between the preamble and the first tensor section; small, so built in memory first. */
    private static byte[] structure(final ModelGraph graph)
    {
        final Out out = new Out();
        final ModelHeader h = graph.header();
        out.string(h.architecture());
        out.u8(h.fractionalBits());
        out.f32(h.activationBound());
        out.u32(h.classNames().size());
        for (final String c : h.classNames())
        {
            out.string(c);
        }
        // version 2 only: a graph without statistics keeps version 1's bytes exactly
        if (h.statistics().isPresent())
        {
            final ActivationStatistics stats = h.statistics().get();
            out.u32(stats.images());
            out.u32(stats.sites().size());
            for (final ActivationStatistics.Site site : stats.sites())
            {
                out.string(site.node());
                out.u64(site.elements());
                out.u64(site.outside());
                out.f32(site.maxAbs());
                out.f32(site.range());
            }
        }
        final Map<String, Integer> index = new HashMap<>();
        out.u16(graph.inputs().size());
        for (final GraphInput in : graph.inputs())
        {
            index.put(in.name(), index.size());
            out.string(in.name());
            out.shape(in.shape());
        }
        out.u32(graph.nodes().size());
        int tensors = 0;
        for (final Node n : graph.nodes())
        {
            out.string(n.name());
            out.u8(tag(n.layer()));
            out.u8(n.inputs().size());
            for (final String in : n.inputs())
            {
                out.u32(index.get(in));
            }
            params(out, n.layer());
            index.put(n.name(), index.size());
            tensors += n.layer().tensors().size();
        }
        out.u16(graph.outputs().size());
        for (final String o : graph.outputs())
        {
            out.u32(index.get(o));
        }
        out.u32(tensors);
        return out.toByteArray();
    }

    static int tag(final Layer layer)
    {
        return switch (layer)
        {
            case Layer.Conv2d c -> TAG_CONV2D;
            case Layer.Linear l -> TAG_LINEAR;
            case Layer.AvgPool2d p -> TAG_AVG_POOL2D;
            case Layer.MaxPool2d p -> TAG_MAX_POOL2D;
            case Layer.GlobalAvgPool p -> TAG_GLOBAL_AVG_POOL;
            case Layer.BatchNorm b -> TAG_BATCH_NORM;
            case Layer.Add a -> TAG_ADD;
            case Layer.Flatten f -> TAG_FLATTEN;
            case Layer.ReLU r -> TAG_RELU;
            case Layer.Poly p -> TAG_POLY;
            case Layer.ChannelPoly p -> TAG_CHANNEL_POLY;
            case Layer.MaskedReLU m -> TAG_MASKED_RELU;
            case Layer.Identity i -> TAG_IDENTITY;
        };
    }

    private static void params(final Out out, final Layer layer)
    {
        switch (layer)
        {
            case Layer.Conv2d c ->
            {
                out.u32(c.inChannels());
                out.u32(c.outChannels());
                out.u32(c.kernelHeight());
                out.u32(c.kernelWidth());
                out.u32(c.stride());
                out.u32(c.padding());
                out.u8(c.hasBias() ? 1 : 0);
            }
            case Layer.Linear l ->
            {
                out.u32(l.inFeatures());
                out.u32(l.outFeatures());
                out.u8(l.hasBias() ? 1 : 0);
            }
            case Layer.AvgPool2d p ->
            {
                out.u32(p.kernel());
                out.u32(p.stride());
            }
            case Layer.MaxPool2d p ->
            {
                out.u32(p.kernel());
                out.u32(p.stride());
                out.u32(p.padding());
            }
            case Layer.BatchNorm b -> out.f32(b.eps());
            default ->
            {
                // every other layer is described by its tag and tensors alone
            }
        }
    }

    private void tensor(final Tensor t) throws IOException
    {
        crc.reset();
        final Shape s = t.shape();
        final ByteBuffer head = ByteBuffer.allocate(1 + 4 * s.rank() + 8).order(ByteOrder.LITTLE_ENDIAN);
        head.put((byte)s.rank());
        for (int i = 0; i < s.rank(); i++)
        {
            head.putInt(s.dim(i));
        }
        head.putLong(4L * t.size());
        crc.update(head.array());
        put(head.array());
        final float[] data = t.array();
        int off = 0;
        while (off < data.length)
        {
            if (buffer.remaining() < Float.BYTES)
            {
                flushBuffer();
            }
            final int n = Math.min(data.length - off, buffer.remaining() / Float.BYTES);
            final int start = buffer.position();
            buffer.asFloatBuffer().put(data, off, n);
            buffer.position(start + n * Float.BYTES);
            crc.update(buffer.slice(start, n * Float.BYTES));
            off += n;
        }
        final ByteBuffer tail = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int)crc.getValue());
        put(tail.array());
    }

    private void put(final byte[] bytes) throws IOException
    {
        int off = 0;
        while (off < bytes.length)
        {
            if (!buffer.hasRemaining())
            {
                flushBuffer();
            }
            final int n = Math.min(bytes.length - off, buffer.remaining());
            buffer.put(bytes, off, n);
            off += n;
        }
    }

    /** Digests and writes the buffered bytes. */
    private void flushBuffer() throws IOException
    {
        buffer.flip();
        sha.update(buffer.duplicate());
        drain(buffer);
        buffer.clear();
    }

    private void drain(final ByteBuffer b) throws IOException
    {
        if (channel == null)
        {
            b.position(b.limit());
            return;
        }
        while (b.hasRemaining())
        {
            channel.write(b);
        }
    }

    /** Little-endian primitives into a growable array, for the structural part. */
    private static final class Out
    {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        void u8(final int v)
        {
            bytes.write(v);
        }

        void u16(final int v)
        {
            bytes.write(v);
            bytes.write(v >>> 8);
        }

        void u32(final int v)
        {
            u16(v);
            u16(v >>> 16);
        }

        void u64(final long v)
        {
            u32((int)v);
            u32((int)(v >>> 32));
        }

        void f32(final float v)
        {
            u32(Float.floatToRawIntBits(v));
        }

        void string(final String s)
        {
            final byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u16(b.length);
            bytes.writeBytes(b);
        }

        void shape(final Shape s)
        {
            u8(s.rank());
            for (int i = 0; i < s.rank(); i++)
            {
                u32(s.dim(i));
            }
        }

        byte[] toByteArray()
        {
            return bytes.toByteArray();
        }
    }
}
