package org.polypi.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.zip.CRC32C;

import static org.polypi.model.ModelFormat.*;

/**
 * Parses and validates {@link ModelFormat} versions {@value ModelFormat#BASE_VERSION} and
 * {@value ModelFormat#STATISTICS_VERSION}. Every count, size and length is checked against the bytes that remain
 * before the fingerprint before anything is allocated for it.
 */
final class FormatReader
{
    private static final int BUFFER_BYTES = 1 << 16;
    /** Smallest string: u16 length and one byte (names are non-empty). */
    private static final int MIN_STRING_BYTES = 3;
    /** Smallest node: a one-byte name, tag, input count. */
    private static final int MIN_NODE_BYTES = MIN_STRING_BYTES + 2;
    /** Smallest input: a one-byte name and a rank-1 shape. */
    private static final int MIN_INPUT_BYTES = MIN_STRING_BYTES + 1 + 4;
    /** Smallest statistics site: a one-byte node name, u64 elements, u64 outside, f32 max |x|, f32 range. */
    private static final int MIN_SITE_BYTES = MIN_STRING_BYTES + 8 + 8 + 4 + 4;
    /** Smallest tensor section: rank, one dimension, byte length, one float, CRC. */
    private static final int MIN_TENSOR_BYTES = 1 + 4 + 8 + 4 + 4;
    /** Largest value of a u32 field that holds a Java int. */
    private static final long INT_MAX = Integer.MAX_VALUE;

    private final ReadableByteChannel channel;
    private final long length;
    private final ByteBuffer buffer = ByteBuffer.allocate(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    private final MessageDigest sha = FormatWriter.sha256();
    private final CRC32C crc = new CRC32C();
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    private boolean crcOn;
    /** Offset of the next unconsumed byte. */
    private long position;
    /** Bytes taken from the channel so far (never more than {@link #length}). */
    private long fetched;

    /** A statistics site as read, with its offset for the checks that need the node table. */
    private record SiteSpec(long offset, ActivationStatistics.Site site)
    {
    }

    /** A node as read from the node table, before its tensors are known. */
    private record NodeSpec(long offset, String name, int tag, int[] refs, int[] params, float eps, int tensors)
    {
    }

    private FormatReader(final ReadableByteChannel channel, final long length)
    {
        this.channel = channel;
        this.length = length;
        buffer.limit(0);
    }

    /** Reads a model of exactly {@code length} bytes from {@code channel}. */
    static ModelGraph read(final ReadableByteChannel channel, final long length) throws IOException
    {
        return new FormatReader(channel, length).readAll();
    }

    private ModelGraph readAll() throws IOException
    {
        if (length < PREAMBLE_BYTES + FINGERPRINT_BYTES)
        {
            throw new ModelFormatException(0, "file is " + length + " bytes, shorter than the " +
                (PREAMBLE_BYTES + FINGERPRINT_BYTES) + "-byte preamble and fingerprint");
        }
        final byte[] magic = bytes(MAGIC.length);
        if (!Arrays.equals(magic, MAGIC))
        {
            throw new ModelFormatException(0, "bad magic " + HexFormat.of().formatHex(magic) + ", expected " +
                HexFormat.of().formatHex(MAGIC) + " (not a PolyPI model)");
        }
        final long versionAt = position;
        final int version = u16();
        if (version != BASE_VERSION && version != STATISTICS_VERSION)
        {
            throw new ModelFormatException(versionAt, "unsupported format version " + version +
                " (this reader knows versions " + BASE_VERSION + " and " + STATISTICS_VERSION + ")");
        }
        final long flagsAt = position;
        final int flags = u16();
        if (flags != 0)
        {
            throw new ModelFormatException(flagsAt, "reserved flags must be 0, were 0x" + Integer.toHexString(flags));
        }
        final long lengthAt = position;
        final long declared = u64();
        if (declared != length)
        {
            throw new ModelFormatException(lengthAt, "header declares " + Long.toUnsignedString(declared) +
                " bytes but the file has " + length + (Long.compareUnsigned(declared, length) > 0 ?
                " (truncated)" : " (trailing bytes)"));
        }

        final String architecture = string("architecture");
        final long bitsAt = position;
        final int fractionalBits = u8();
        if (fractionalBits > ModelHeader.MAX_FRACTIONAL_BITS)
        {
            throw new ModelFormatException(bitsAt, "fractional bits " + fractionalBits + " exceed " +
                ModelHeader.MAX_FRACTIONAL_BITS);
        }
        final long boundAt = position;
        final float bound = f32();
        if (!(bound > 0) || Float.isInfinite(bound))
        {
            throw new ModelFormatException(boundAt, "activation bound must be finite and positive, was " + bound);
        }
        final int classCount = count("class count", ModelHeader.MAX_CLASSES, MIN_STRING_BYTES);
        final List<String> classes = new ArrayList<>(classCount);
        for (int i = 0; i < classCount; i++)
        {
            classes.add(string("class name " + i));
        }
        final long statisticsAt = position;
        int images = 0;
        final List<SiteSpec> sites = new ArrayList<>();
        if (version == STATISTICS_VERSION)
        {
            images = statistics(sites);
        }

        final long inputsAt = position;
        final int inputCount = u16();
        checkCount("input count", inputsAt, inputCount, 1, ModelGraph.MAX_INPUTS, MIN_INPUT_BYTES);
        final List<GraphInput> inputs = new ArrayList<>(inputCount);
        for (int i = 0; i < inputCount; i++)
        {
            final String name = string("input name");
            inputs.add(new GraphInput(name, shape("input " + name)));
        }

        final long nodesAt = position;
        final long nodeCount = u32();
        checkCount("node count", nodesAt, nodeCount, 1, ModelGraph.MAX_NODES, MIN_NODE_BYTES);
        final List<NodeSpec> specs = new ArrayList<>((int)nodeCount);
        int expectedTensors = 0;
        for (int i = 0; i < nodeCount; i++)
        {
            final NodeSpec spec = node(inputCount + i);
            specs.add(spec);
            expectedTensors += spec.tensors();
        }
        checkSiteReferences(sites, inputs, specs);

        final long outputsAt = position;
        final int outputCount = u16();
        checkCount("output count", outputsAt, outputCount, 1, ModelGraph.MAX_OUTPUTS, 4);
        final int[] outputs = new int[outputCount];
        for (int i = 0; i < outputCount; i++)
        {
            final long at = position;
            final long ref = u32();
            if (ref < inputCount || ref >= inputCount + nodeCount)
            {
                throw new ModelFormatException(at, "output reference " + ref + " is not a node (nodes are " +
                    inputCount + ".." + (inputCount + nodeCount - 1) + ")");
            }
            outputs[i] = (int)ref;
        }

        final long tensorsAt = position;
        final long tensorCount = u32();
        if (tensorCount != expectedTensors)
        {
            throw new ModelFormatException(tensorsAt, "tensor count " + tensorCount + " differs from the " +
                expectedTensors + " the node table needs");
        }
        if (tensorCount * MIN_TENSOR_BYTES > remaining())
        {
            throw new ModelFormatException(tensorsAt, tensorCount + " tensors cannot fit in the " + remaining() +
                " bytes left");
        }
        final List<Tensor> tensors = new ArrayList<>((int)tensorCount);
        final List<Long> tensorOffsets = new ArrayList<>((int)tensorCount);
        for (int i = 0; i < tensorCount; i++)
        {
            tensorOffsets.add(position);
            tensors.add(tensor(i));
        }
        if (remaining() != 0)
        {
            throw new ModelFormatException(position, remaining() + " unexpected bytes after the last tensor");
        }
        final long fingerprintAt = position;
        final byte[] expected = sha.digest();
        final byte[] stored = rawBytes(FINGERPRINT_BYTES);
        if (!MessageDigest.isEqual(expected, stored))
        {
            throw new ModelFormatException(fingerprintAt, "fingerprint mismatch: stored " +
                HexFormat.of().formatHex(stored) + ", content hashes to " + HexFormat.of().formatHex(expected));
        }

        final Optional<ActivationStatistics> statistics;
        try
        {
            statistics = sites.isEmpty() ? Optional.empty() : Optional.of(new ActivationStatistics(images,
                sites.stream().map(SiteSpec::site).toList()));
        }
        catch (final IllegalArgumentException e)
        {
            throw new ModelFormatException(statisticsAt, "invalid activation statistics: " + e.getMessage(), e);
        }
        final ModelHeader header;
        try
        {
            header = new ModelHeader(architecture, inputs.getFirst().shape(), classes, fractionalBits, bound,
                statistics);
        }
        catch (final IllegalArgumentException e)
        {
            throw new ModelFormatException(PREAMBLE_BYTES, "invalid header: " + e.getMessage(), e);
        }
        final ModelGraph graph = build(header, inputs, specs, outputs, tensors, tensorOffsets, inputsAt, outputsAt,
            sites);
        graph.cacheFingerprint(Fingerprint.of(stored));
        return graph;
    }

    private static ModelGraph build(final ModelHeader header, final List<GraphInput> inputs,
                                    final List<NodeSpec> specs, final int[] outputs, final List<Tensor> tensors,
                                    final List<Long> tensorOffsets, final long inputsAt, final long outputsAt,
                                    final List<SiteSpec> sites)
        throws ModelFormatException
    {
        final ModelGraph.Builder b = ModelGraph.builder(header);
        final List<String> names = new ArrayList<>(inputs.size() + specs.size());
        for (final GraphInput in : inputs)
        {
            try
            {
                b.input(in.name(), in.shape());
            }
            catch (final IllegalArgumentException e)
            {
                throw new ModelFormatException(inputsAt, "invalid input " + in.name() + ": " + e.getMessage(), e);
            }
            names.add(in.name());
        }
        int t = 0;
        for (final NodeSpec s : specs)
        {
            final List<Tensor> own = tensors.subList(t, t + s.tensors());
            final long ownAt = s.tensors() == 0 ? s.offset() : tensorOffsets.get(t);
            t += s.tensors();
            final Layer layer;
            try
            {
                layer = layer(s, own);
            }
            catch (final IllegalArgumentException e)
            {
                throw new ModelFormatException(ownAt, "node " + s.name() + ": " + e.getMessage(), e);
            }
            final String[] in = new String[s.refs().length];
            for (int i = 0; i < in.length; i++)
            {
                in[i] = names.get(s.refs()[i]);
            }
            try
            {
                b.add(s.name(), layer, in);
            }
            catch (final IllegalArgumentException e)
            {
                throw new ModelFormatException(s.offset(), e.getMessage(), e);
            }
            names.add(s.name());
        }
        // the references were checked with the node table; what remains needs the inferred shapes (elements)
        for (int i = 0; i < sites.size(); i++)
        {
            try
            {
                b.checkSite(i);
            }
            catch (final IllegalArgumentException e)
            {
                throw new ModelFormatException(sites.get(i).offset(), e.getMessage(), e);
            }
        }
        try
        {
            for (final int o : outputs)
            {
                b.output(names.get(o));
            }
            return b.build();
        }
        catch (final IllegalArgumentException e)
        {
            throw new ModelFormatException(outputsAt, e.getMessage(), e);
        }
    }

    private static Layer layer(final NodeSpec s, final List<Tensor> t)
    {
        final int[] p = s.params();
        return switch (s.tag())
        {
            case TAG_CONV2D -> new Layer.Conv2d(p[0], p[1], p[2], p[3], p[4], p[5], t.get(0),
                t.size() > 1 ? t.get(1) : null);
            case TAG_LINEAR -> new Layer.Linear(p[0], p[1], t.get(0), t.size() > 1 ? t.get(1) : null);
            case TAG_AVG_POOL2D -> new Layer.AvgPool2d(p[0], p[1]);
            case TAG_MAX_POOL2D -> new Layer.MaxPool2d(p[0], p[1], p[2]);
            case TAG_GLOBAL_AVG_POOL -> new Layer.GlobalAvgPool();
            case TAG_BATCH_NORM -> new Layer.BatchNorm(t.get(0), t.get(1), t.get(2), t.get(3), s.eps());
            case TAG_ADD -> new Layer.Add();
            case TAG_FLATTEN -> new Layer.Flatten();
            case TAG_RELU -> new Layer.ReLU();
            case TAG_POLY -> new Layer.Poly(t.get(0));
            case TAG_CHANNEL_POLY -> new Layer.ChannelPoly(t.get(0));
            case TAG_MASKED_RELU -> new Layer.MaskedReLU(t.get(0));
            case TAG_IDENTITY -> new Layer.Identity();
            default -> throw new IllegalStateException("tag " + s.tag() + " was validated when read");
        };
    }

    /**
     * Reads the statistics block of a version-2 header into {@code sites} (each field checked where it is read, so
     * the error names its offset) and returns the images measured.
     */
    private int statistics(final List<SiteSpec> sites) throws IOException
    {
        final long imagesAt = position;
        final long images = u32();
        if (images < 1 || images > INT_MAX)
        {
            throw new ModelFormatException(imagesAt, "activation statistics: images measured " + images +
                " is not in 1.." + INT_MAX);
        }
        final long countAt = position;
        final long count = u32();
        checkCount("activation statistics site count", countAt, count, 1, ActivationStatistics.MAX_SITES,
            MIN_SITE_BYTES);
        final Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < count; i++)
        {
            final long at = position;
            final String node = string("activation statistics node name");
            final String what = "activation statistics site " + i + " (node " + node + ")";
            final Integer twice = seen.putIfAbsent(node, i);
            if (twice != null)
            {
                throw new ModelFormatException(at, what + ": node " + node + " already has site " + twice);
            }
            final long elementsAt = position;
            final long elements = u64();
            if (elements < 1)
            {
                throw new ModelFormatException(elementsAt, what + ": elements " + Long.toUnsignedString(elements) +
                    " is not in 1.." + Long.MAX_VALUE);
            }
            final long outsideAt = position;
            final long outside = u64();
            if (Long.compareUnsigned(outside, elements) > 0)
            {
                throw new ModelFormatException(outsideAt, what + ": outside count " + Long.toUnsignedString(outside) +
                    " exceeds the " + elements + " elements");
            }
            final long maxAt = position;
            final float maxAbs = f32();
            if (Float.isNaN(maxAbs) || Float.isInfinite(maxAbs) || Float.floatToRawIntBits(maxAbs) < 0)
            {
                throw new ModelFormatException(maxAt, what + ": max |x| must be finite and +0.0 or positive, was " +
                    maxAbs + " (bits 0x" + Integer.toHexString(Float.floatToRawIntBits(maxAbs)) + ")");
            }
            final long rangeAt = position;
            final float range = f32();
            if (!(range > 0) || Float.isInfinite(range))
            {
                throw new ModelFormatException(rangeAt, what + ": range must be finite and positive, was " + range);
            }
            try
            {
                sites.add(new SiteSpec(at, new ActivationStatistics.Site(node, elements, outside, maxAbs, range)));
            }
            catch (final IllegalArgumentException e)
            {
                throw new ModelFormatException(at, what + ": " + e.getMessage(), e);
            }
        }
        return (int)images;
    }

    /**
     * Checks that every statistics site names an activation node of the table, in node order; the error is at the
     * offending site's entry.
     */
    private static void checkSiteReferences(final List<SiteSpec> sites, final List<GraphInput> inputs,
                                            final List<NodeSpec> specs) throws ModelFormatException
    {
        if (sites.isEmpty())
        {
            return;
        }
        final Map<String, Integer> index = new HashMap<>();
        for (int j = 0; j < specs.size(); j++)
        {
            // a duplicate node name is rejected when the graph is built; the first one is the one a site can mean
            index.putIfAbsent(specs.get(j).name(), j);
        }
        int previous = -1;
        for (int i = 0; i < sites.size(); i++)
        {
            final SiteSpec s = sites.get(i);
            final String node = s.site().node();
            final String what = "activation statistics site " + i + " (node " + node + ")";
            final Integer j = index.get(node);
            if (j == null)
            {
                final boolean input = inputs.stream().anyMatch(in -> in.name().equals(node));
                throw new ModelFormatException(s.offset(), what + ": " + (input ? node +
                    " is a graph input, not a node" : "the node table has no node " + node));
            }
            final int tag = specs.get(j).tag();
            if (tag != TAG_RELU && tag != TAG_POLY && tag != TAG_CHANNEL_POLY && tag != TAG_MASKED_RELU)
            {
                throw new ModelFormatException(s.offset(), what + ": node " + node + " has layer tag " + tag +
                    ", not an activation (ReLU, Poly, ChannelPoly, MaskedReLU)");
            }
            if (j <= previous)
            {
                throw new ModelFormatException(s.offset(), what + ": sites must be in node order, but node " + node +
                    " does not come after node " + sites.get(i - 1).site().node() + " of site " + (i - 1));
            }
            previous = j;
        }
    }

    /** Reads one node-table entry; {@code refLimit} is the number of names defined before it. */
    private NodeSpec node(final int refLimit) throws IOException
    {
        final long at = position;
        final String name = string("node name");
        final long tagAt = position;
        final int tag = u8();
        final int arity = switch (tag)
        {
            case TAG_ADD -> 2;
            case TAG_CONV2D, TAG_LINEAR, TAG_AVG_POOL2D, TAG_MAX_POOL2D, TAG_GLOBAL_AVG_POOL, TAG_BATCH_NORM,
                 TAG_FLATTEN, TAG_RELU, TAG_POLY, TAG_CHANNEL_POLY, TAG_MASKED_RELU, TAG_IDENTITY -> 1;
            default -> throw new ModelFormatException(tagAt, "node " + name + ": unknown layer tag " + tag);
        };
        final long arityAt = position;
        final int inputCount = u8();
        if (inputCount != arity)
        {
            throw new ModelFormatException(arityAt, "node " + name + ": layer tag " + tag + " takes " + arity +
                " input(s), the table says " + inputCount);
        }
        final int[] refs = new int[inputCount];
        for (int i = 0; i < inputCount; i++)
        {
            final long refAt = position;
            final long ref = u32();
            if (ref >= refLimit)
            {
                throw new ModelFormatException(refAt, "node " + name + ": input reference " + ref +
                    " is not an earlier input or node (must be < " + refLimit + ")");
            }
            refs[i] = (int)ref;
        }
        int[] params = new int[0];
        float eps = 0;
        int tensors = 0;
        switch (tag)
        {
            case TAG_CONV2D ->
            {
                params = ints(name, 6);
                tensors = 1 + flag(name + " hasBias");
            }
            case TAG_LINEAR ->
            {
                params = ints(name, 2);
                tensors = 1 + flag(name + " hasBias");
            }
            case TAG_AVG_POOL2D -> params = ints(name, 2);
            case TAG_MAX_POOL2D -> params = ints(name, 3);
            case TAG_BATCH_NORM ->
            {
                eps = f32();
                tensors = 4;
            }
            case TAG_POLY, TAG_CHANNEL_POLY, TAG_MASKED_RELU -> tensors = 1;
            default ->
            {
                // parameter-free layers
            }
        }
        return new NodeSpec(at, name, tag, refs, params, eps, tensors);
    }

    private int[] ints(final String node, final int n) throws IOException
    {
        final int[] v = new int[n];
        for (int i = 0; i < n; i++)
        {
            final long at = position;
            final long x = u32();
            if (x > INT_MAX)
            {
                throw new ModelFormatException(at, "node " + node + ": parameter " + i + " is " + x + ", above " +
                    INT_MAX);
            }
            v[i] = (int)x;
        }
        return v;
    }

    private int flag(final String what) throws IOException
    {
        final long at = position;
        final int v = u8();
        if (v > 1)
        {
            throw new ModelFormatException(at, what + " flag must be 0 or 1, was " + v);
        }
        return v;
    }

    private Shape shape(final String what) throws IOException
    {
        final long at = position;
        final int rank = u8();
        if (rank < 1 || rank > Shape.MAX_RANK)
        {
            throw new ModelFormatException(at, what + ": rank " + rank + " is not 1.." + Shape.MAX_RANK);
        }
        final int[] dims = new int[rank];
        long elements = 1;
        for (int i = 0; i < rank; i++)
        {
            final long dimAt = position;
            final long d = u32();
            if (d < 1 || d > INT_MAX)
            {
                throw new ModelFormatException(dimAt, what + ": dimension " + i + " is " + d);
            }
            dims[i] = (int)d;
            elements *= d;
            if (elements > Shape.MAX_ELEMENTS)
            {
                throw new ModelFormatException(dimAt, what + ": more than " + Shape.MAX_ELEMENTS + " elements");
            }
        }
        return Shape.of(dims);
    }

    private Tensor tensor(final int index) throws IOException
    {
        final long at = position;
        crc.reset();
        crcOn = true;
        final Shape shape = shape("tensor " + index);
        final long lengthAt = position;
        final long bytes = u64();
        if (bytes != shape.elements() * Float.BYTES)
        {
            throw new ModelFormatException(lengthAt, "tensor " + index + " of shape " + shape + " declares " +
                Long.toUnsignedString(bytes) + " bytes, needs " + shape.elements() * Float.BYTES);
        }
        if (bytes + Integer.BYTES > remaining())
        {
            throw new ModelFormatException(lengthAt, "tensor " + index + " needs " + (bytes + Integer.BYTES) +
                " bytes, only " + remaining() + " remain before the fingerprint (truncated)");
        }
        final float[] data = new float[shape.size()];
        int off = 0;
        while (off < data.length)
        {
            final int n = Math.min(data.length - off, BUFFER_BYTES / Float.BYTES);
            consume(n * Float.BYTES).asFloatBuffer().get(data, off, n);
            off += n;
        }
        crcOn = false;
        final int computed = (int)crc.getValue();
        final long crcAt = position;
        final int stored = (int)u32();
        if (stored != computed)
        {
            throw new ModelFormatException(crcAt, "CRC32C of tensor " + index + " (section at byte " + at +
                ") is 0x" + Integer.toHexString(computed) + ", stored 0x" + Integer.toHexString(stored));
        }
        return Tensor.wrap(shape, data);
    }

    /** Reads a u32 count and checks it against the cap and the bytes left. */
    private int count(final String what, final int max, final int minBytesEach) throws IOException
    {
        final long at = position;
        final long n = u32();
        checkCount(what, at, n, 0, max, minBytesEach);
        return (int)n;
    }

    private void checkCount(final String what, final long at, final long n, final long min, final long max,
                            final int minBytesEach) throws ModelFormatException
    {
        if (n < min || n > max)
        {
            throw new ModelFormatException(at, what + " " + n + " is not in " + min + ".." + max);
        }
        if (n * minBytesEach > remaining())
        {
            throw new ModelFormatException(at, what + " " + n + " needs at least " + n * minBytesEach +
                " bytes, only " + remaining() + " remain (truncated or corrupt)");
        }
    }

    private String string(final String what) throws IOException
    {
        final long at = position;
        final int n = u16();
        if (n > Names.MAX_BYTES)
        {
            throw new ModelFormatException(at, what + " length " + n + " exceeds " + Names.MAX_BYTES + " bytes");
        }
        final ByteBuffer b = consume(n);
        final String s;
        try
        {
            final CharBuffer chars = utf8.reset().decode(b);
            s = chars.toString();
        }
        catch (final CharacterCodingException e)
        {
            throw new ModelFormatException(at + 2, what + " is not valid UTF-8", e);
        }
        try
        {
            return Names.check(what, s);
        }
        catch (final IllegalArgumentException e)
        {
            throw new ModelFormatException(at, e.getMessage(), e);
        }
    }

    /** Bytes left before the fingerprint. */
    private long remaining()
    {
        return length - FINGERPRINT_BYTES - position;
    }

    private int u8() throws IOException
    {
        return consume(1).get(0) & 0xFF;
    }

    private int u16() throws IOException
    {
        return consume(2).getShort(0) & 0xFFFF;
    }

    private long u32() throws IOException
    {
        return consume(4).getInt(0) & 0xFFFF_FFFFL;
    }

    private long u64() throws IOException
    {
        return consume(8).getLong(0);
    }

    private float f32() throws IOException
    {
        return Float.intBitsToFloat(consume(4).getInt(0));
    }

    private byte[] bytes(final int n) throws IOException
    {
        final byte[] b = new byte[n];
        consume(n).get(b);
        return b;
    }

    /**
     * Consumes {@code n} bytes of content (digested, and CRC'd inside a tensor section) and returns them as a
     * little-endian view positioned at 0. Never reaches into the fingerprint.
     */
    private ByteBuffer consume(final int n) throws IOException
    {
        if (n > remaining())
        {
            throw new ModelFormatException(position, "truncated: " + n + " more bytes needed, only " + remaining() +
                " remain before the fingerprint");
        }
        final ByteBuffer view = take(n);
        sha.update(view.duplicate());
        if (crcOn)
        {
            crc.update(view.duplicate());
        }
        return view;
    }

    /** Reads {@code n} bytes without digesting them (the fingerprint itself). */
    private byte[] rawBytes(final int n) throws IOException
    {
        final byte[] b = new byte[n];
        take(n).get(b);
        return b;
    }

    private ByteBuffer take(final int n) throws IOException
    {
        fill(n);
        final ByteBuffer view = buffer.slice(buffer.position(), n).order(ByteOrder.LITTLE_ENDIAN);
        buffer.position(buffer.position() + n);
        position += n;
        return view;
    }

    /** Makes at least {@code n <= BUFFER_BYTES} bytes available, never fetching past {@link #length}. */
    private void fill(final int n) throws IOException
    {
        if (buffer.remaining() >= n)
        {
            return;
        }
        buffer.compact();
        while (buffer.position() < n)
        {
            final long room = Math.min(buffer.capacity() - buffer.position(), length - fetched);
            if (room <= 0)
            {
                break;
            }
            buffer.limit(buffer.position() + (int)room);
            final int r = channel.read(buffer);
            if (r < 0)
            {
                break;
            }
            fetched += r;
        }
        buffer.flip();
        if (buffer.remaining() < n)
        {
            throw new ModelFormatException(position + buffer.remaining(), "truncated: input ends at byte " +
                fetched + " but is declared to have " + length);
        }
    }
}
