package org.polypi.model;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.polypi.model.ReferenceNetworks.Options;
import org.polypi.model.ReferenceNetworks.Workload;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelFormatTest
{
    @TempDir
    Path dir;

    /** Structural equality plus an explicit raw-bit comparison of every tensor element. */
    static void assertIdentical(final ModelGraph expected, final ModelGraph actual)
    {
        assertEquals(expected.header(), actual.header());
        assertEquals(expected.inputs(), actual.inputs());
        assertEquals(expected.outputs(), actual.outputs());
        assertEquals(expected.nodes().size(), actual.nodes().size());
        for (int i = 0; i < expected.nodes().size(); i++)
        {
            final Node a = expected.nodes().get(i);
            final Node b = actual.nodes().get(i);
            assertEquals(a.name(), b.name());
            assertEquals(a.inputs(), b.inputs());
            assertEquals(a.layer().getClass(), b.layer().getClass());
            final List<Tensor> ta = a.layer().tensors();
            final List<Tensor> tb = b.layer().tensors();
            assertEquals(ta.size(), tb.size(), a.name());
            for (int t = 0; t < ta.size(); t++)
            {
                assertEquals(ta.get(t).shape(), tb.get(t).shape());
                for (int e = 0; e < ta.get(t).size(); e++)
                {
                    if (Float.floatToRawIntBits(ta.get(t).get(e)) != Float.floatToRawIntBits(tb.get(t).get(e)))
                    {
                        throw new AssertionError(a.name() + " tensor " + t + " element " + e + " differs");
                    }
                }
            }
        }
        assertEquals(expected, actual);
        assertEquals(expected.fingerprint(), actual.fingerprint());
    }

    @Test
    void roundTripsSmallWorkloadsWithEveryActivationKind() throws IOException
    {
        for (final Workload w : List.of(Workload.MLP, Workload.LENET, Workload.MINIONN, Workload.MINIONN_FASHION))
        {
            for (final ActivationKind k : ActivationKind.values())
            {
                for (final boolean bn : new boolean[] {false, true})
                {
                    final ModelGraph g = ReferenceNetworks.build(w, Options.of(k).withBatchNorm(bn).withSeed(9));
                    final byte[] bytes = ModelFormat.toBytes(g);
                    final ModelGraph back = ModelFormat.fromBytes(bytes);
                    assertIdentical(g, back);
                    assertArrayEquals(bytes, ModelFormat.toBytes(back), "encoding is canonical");
                }
            }
        }
    }

    @Test
    void roundTripsResNet18WithEveryActivationKind() throws IOException
    {
        for (final ActivationKind k : ActivationKind.values())
        {
            final ModelGraph g = ReferenceNetworks.resnet18(Options.of(k).withBatchNorm(k.ordinal() % 2 == 0));
            final Path file = dir.resolve("resnet18-" + k + ".pim");
            ModelFormat.write(g, file);
            assertIdentical(g, ModelFormat.read(file));
        }
    }

    @Test
    void roundTripsResNet50() throws IOException
    {
        for (final ActivationKind k : ActivationKind.values())
        {
            final ModelGraph g = ReferenceNetworks.resnet50(Options.of(k).withBatchNorm(k == ActivationKind.POLY));
            final Path file = dir.resolve("resnet50.pim");
            ModelFormat.write(g, file);
            final ModelGraph back = ModelFormat.read(file);
            assertIdentical(g, back);
        }
    }

    @Test
    void roundTripsEveryLayerAndSpecialFloats() throws IOException
    {
        assertIdentical(TestModels.everyLayer(), ModelFormat.fromBytes(ModelFormat.toBytes(TestModels.everyLayer())));
        final float[] odd = {Float.NaN, Float.intBitsToFloat(0x7fa00001), Float.intBitsToFloat(0xffc12345), -0.0f,
            0.0f, Float.MIN_VALUE, -Float.MAX_VALUE, Float.POSITIVE_INFINITY};
        final Shape in = Shape.of(8);
        final ModelGraph g = ModelGraph.builder(new ModelHeader("odd \u00e9\u4e2d\ud83d\ude00", in, List.of(), 0,
                Float.MIN_VALUE)).input("x", in)
            .add("fc", Layer.Linear.of(Tensor.of(Shape.of(1, 8), odd), Tensor.of(Shape.of(1), -0.0f)), "x")
            .output("fc").build();
        assertIdentical(g, ModelFormat.fromBytes(ModelFormat.toBytes(g)));
    }

    /**
     * The fingerprint of a fixed seeded model must not change across machines, JDKs or commits (both parties
     * compare it). If this fails after an intended format or generator change, bump the format version.
     */
    @Test
    void fingerprintIsStable()
    {
        assertEquals("e3553ecce3bb0b925880ec92d67cd0f37d08248d96649d1ad00a1e83218126e0",
            TestModels.tinyMlp(ActivationKind.POLY).fingerprint().hex());
        // also pins the reference weight generator (SplitMix64 streams, gains, BatchNorm and channel-poly draws)
        assertEquals("0708de736c27e09378857d8ff280448cbe54d8745b84e8b60520c6e5b845eaa1",
            ReferenceNetworks.mlp(Options.of(ActivationKind.CHANNEL_POLY).withSeed(2024).withBatchNorm(true))
                .fingerprint().hex());
    }

    @Test
    void fingerprintIsTheSha256OfEverythingBeforeIt() throws Exception
    {
        final ModelGraph g = TestModels.everyLayer();
        final byte[] bytes = ModelFormat.toBytes(g);
        final byte[] digest = MessageDigest.getInstance("SHA-256").digest(Arrays.copyOf(bytes, bytes.length - 32));
        assertArrayEquals(digest, Arrays.copyOfRange(bytes, bytes.length - 32, bytes.length));
        assertEquals(HexFormat.of().formatHex(digest), g.fingerprint().hex());
        assertEquals(g.fingerprint(), Fingerprint.ofHex(g.fingerprint().hex()));
        assertEquals(bytes.length, ByteBuffer.wrap(bytes, 12, 8).order(ByteOrder.LITTLE_ENDIAN).getLong());
        final ModelGraph other = TestModels.tinyMlp(ActivationKind.RELU);
        assertTrue(!other.fingerprint().equals(g.fingerprint()));
    }

    @Test
    void streamReadConsumesExactlyTheModel() throws IOException
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        ModelFormat.write(TestModels.tinyMlp(ActivationKind.RELU), out);
        final int first = out.size();
        ModelFormat.write(TestModels.tinyLenet(ActivationKind.MASKED_RELU), out);
        final int second = out.size() - first;
        final ByteArrayInputStream in = new ByteArrayInputStream(out.toByteArray());
        assertEquals(TestModels.tinyMlp(ActivationKind.RELU), ModelFormat.read(in, first));
        assertEquals(TestModels.tinyLenet(ActivationKind.MASKED_RELU), ModelFormat.read(in, second));
        assertEquals(-1, in.read());
        // a caller-supplied length that disagrees with the header
        final ModelFormatException e = assertThrows(ModelFormatException.class,
            () -> ModelFormat.read(new ByteArrayInputStream(out.toByteArray()), first + 1));
        assertEquals(12, e.offset());
        // a stream that ends early
        final byte[] cut = Arrays.copyOf(out.toByteArray(), first - 10);
        final ModelFormatException t = assertThrows(ModelFormatException.class,
            () -> ModelFormat.read(new ByteArrayInputStream(cut), first));
        assertTrue(t.getMessage().contains("truncated"), t.getMessage());
    }

    private static ModelFormatException reject(final byte[] bytes)
    {
        return assertThrows(ModelFormatException.class, () -> ModelFormat.fromBytes(bytes));
    }

    private static void assertRejected(final byte[] bytes, final long offset, final String text)
    {
        final ModelFormatException e = reject(bytes);
        assertEquals(offset, e.offset(), e.getMessage());
        assertTrue(e.getMessage().contains(text), e.getMessage());
        assertTrue(e.getMessage().startsWith("at byte " + offset + ": "), e.getMessage());
    }

    private static byte[] putInt(final byte[] bytes, final int at, final int value)
    {
        final byte[] copy = bytes.clone();
        ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN).putInt(at, value);
        return copy;
    }

    /** Offset of the node count of a {@link TestModels#tinyMlp} encoding (header layout of docs/model-format.md). */
    private static int nodeCountOffset()
    {
        final int arch = 2 + "tiny-mlp".length();
        final int header = arch + 1 + 4 + 4 + 3 * (2 + 1);
        final int inputs = 2 + (2 + "input".length()) + 1 + 3 * 4;
        return ModelFormat.PREAMBLE_BYTES + header + inputs;
    }

    @Test
    void rejectsBadPreamble()
    {
        final byte[] good = ModelFormat.toBytes(TestModels.tinyMlp(ActivationKind.RELU));
        final byte[] magic = good.clone();
        magic[1] = 'X';
        assertRejected(magic, 0, "bad magic");
        final byte[] version = good.clone();
        version[8] = 3;
        assertRejected(version, 8, "unsupported format version 3 (this reader knows versions 1 and 2)");
        version[8] = 0;
        assertRejected(version, 8, "unsupported format version 0");
        final byte[] flags = good.clone();
        flags[11] = 1;
        assertRejected(flags, 10, "reserved flags");
        assertRejected(Arrays.copyOf(good, good.length - 1), 12, "(truncated)");
        assertRejected(Arrays.copyOf(good, good.length + 3), 12, "(trailing bytes)");
        assertRejected(Arrays.copyOf(good, 40), 0, "shorter than");
        assertRejected(new byte[0], 0, "shorter than");
    }

    @Test
    void rejectsBadCountsLengthsAndTags()
    {
        final ModelGraph g = TestModels.tinyMlp(ActivationKind.RELU);
        final byte[] good = ModelFormat.toBytes(g);
        final byte[] name = good.clone();
        name[20] = (byte)0xFF;
        name[21] = (byte)0xFF;
        assertRejected(name, 20, "architecture length 65535 exceeds 256");
        final byte[] utf = good.clone();
        utf[22] = (byte)0xC0;
        assertRejected(utf, 22, "not valid UTF-8");
        final int nodes = nodeCountOffset();
        assertEquals(6, ByteBuffer.wrap(good).order(ByteOrder.LITTLE_ENDIAN).getInt(nodes));
        assertRejected(putInt(good, nodes, -1), nodes, "node count 4294967295 is not in 1..100000");
        assertRejected(putInt(good, nodes, 100_000), nodes, "only");
        assertRejected(putInt(good, nodes, 0), nodes, "node count 0");
        // first node: "flatten" (2 + 7 bytes), then its tag
        final int tag = nodes + 4 + 2 + "flatten".length();
        final byte[] badTag = good.clone();
        badTag[tag] = 99;
        assertRejected(badTag, tag, "unknown layer tag 99");
        final byte[] arity = good.clone();
        arity[tag + 1] = 2;
        assertRejected(arity, tag + 1, "takes 1 input(s), the table says 2");
        // its input reference must point at an earlier name (only "input", index 0, exists)
        assertRejected(putInt(good, tag + 2, 1), tag + 2, "input reference 1 is not an earlier input or node");
    }

    @Test
    void rejectsBadChecksumsAndFingerprint()
    {
        final byte[] good = ModelFormat.toBytes(TestModels.tinyMlp(ActivationKind.RELU));
        final byte[] data = good.clone();
        data[good.length - 40] ^= 0x10;
        final ModelFormatException crc = reject(data);
        assertTrue(crc.getMessage().contains("CRC32C of tensor"), crc.getMessage());
        final byte[] print = good.clone();
        print[good.length - 1] ^= 1;
        assertRejected(print, good.length - 32, "fingerprint mismatch");
    }

    @Test
    void rejectsGraphErrorsEvenWithValidChecksums() throws Exception
    {
        // rewrite fc1's in-features (800 -> 15) and re-sign: the node table no longer matches the weights
        final byte[] good = ModelFormat.toBytes(TestModels.tinyMlp(ActivationKind.RELU));
        final int fc1 = nodeCountOffset() + 4 + (2 + 7 + 1 + 1 + 4) + (2 + 3 + 1 + 1 + 4);
        assertEquals(16, ByteBuffer.wrap(good).order(ByteOrder.LITTLE_ENDIAN).getInt(fc1));
        final byte[] bad = resign(putInt(good, fc1, 15));
        final ModelFormatException e = reject(bad);
        assertTrue(e.getMessage().contains("node fc1: Linear weights shape [8,16] differs from the expected [8,15]"),
            e.getMessage());
    }

    /** Recomputes the trailing fingerprint so that a mutation reaches the checks behind it. */
    static byte[] resign(final byte[] bytes) throws Exception
    {
        final byte[] digest = MessageDigest.getInstance("SHA-256").digest(Arrays.copyOf(bytes, bytes.length - 32));
        System.arraycopy(digest, 0, bytes, bytes.length - 32, 32);
        return bytes;
    }

    private List<Path> listDir() throws IOException
    {
        try (Stream<Path> s = Files.list(dir))
        {
            return s.sorted().toList();
        }
    }

    @Test
    void failedWriteKeepsTheOldFileAndLeavesNoTemporary() throws IOException
    {
        final Path file = dir.resolve("model.pim");
        ModelFormat.write(TestModels.tinyMlp(ActivationKind.RELU), file);
        final byte[] before = Files.readAllBytes(file);
        final ModelGraph big = ReferenceNetworks.lenet(Options.of(ActivationKind.POLY));
        final IOException e = assertThrows(IOException.class,
            () -> ModelFormat.write(big, file, ch -> new FailingChannel(ch, 100_000)));
        assertEquals("disk full (simulated)", e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(file));
        assertEquals(List.of(file), listDir());
        ModelFormat.write(big, file);
        assertEquals(big, ModelFormat.read(file));
        assertEquals(List.of(file), listDir());
    }

    @Test
    void failedMoveLeavesNoTemporary() throws IOException
    {
        final Path target = dir.resolve("occupied");
        Files.createDirectory(target);
        Files.writeString(target.resolve("keep.txt"), "keep");
        assertThrows(IOException.class, () -> ModelFormat.write(TestModels.everyLayer(), target));
        assertEquals("keep", Files.readString(target.resolve("keep.txt")));
        assertEquals(List.of(target), listDir());
    }

    /** Passes {@code limit} bytes through, then fails like a full disk. */
    private static final class FailingChannel implements WritableByteChannel
    {
        private final WritableByteChannel delegate;
        private long left;

        FailingChannel(final WritableByteChannel delegate, final long limit)
        {
            this.delegate = delegate;
            this.left = limit;
        }

        @Override
        public int write(final ByteBuffer src) throws IOException
        {
            if (src.remaining() > left)
            {
                throw new IOException("disk full (simulated)");
            }
            final int n = delegate.write(src);
            left -= n;
            return n;
        }

        @Override
        public boolean isOpen()
        {
            return delegate.isOpen();
        }

        @Override
        public void close() throws IOException
        {
            delegate.close();
        }
    }
}
