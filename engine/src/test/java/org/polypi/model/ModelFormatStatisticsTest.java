package org.polypi.model;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Format version 2: the activation statistics block after the class names. Round trips, the version chosen by the
 * content (a graph without statistics keeps version 1's bytes), a pinned fingerprint, and every rejection rule with
 * its offset.
 */
class ModelFormatStatisticsTest
{
    /** Offset of the statistics block in a {@link TestModels#tinyMlp} encoding: right after the class names. */
    private static final int STATS = ModelFormat.PREAMBLE_BYTES + (2 + "tiny-mlp".length()) + 1 + 4 + 4 + 3 * (2 + 1);
    /** Offset of the site count. */
    private static final int COUNT = STATS + 4;
    /** Offset of the first site. */
    private static final int SITE0 = COUNT + 4;
    /** Bytes of one site named "actN": name, elements, outside, max |x|, range. */
    private static final int SITE_BYTES = 2 + 4 + 8 + 8 + 4 + 4;
    /** Offsets of a site's fields from its start. */
    private static final int ELEMENTS = 2 + 4;
    private static final int OUTSIDE = ELEMENTS + 8;
    private static final int MAX_ABS = OUTSIDE + 8;
    private static final int RANGE = MAX_ABS + 4;
    private static final int SITE1 = SITE0 + SITE_BYTES;
    /** Bytes of the whole block of {@link TestModels#tinyMlpWithStatistics}. */
    private static final int BLOCK_BYTES = 4 + 4 + 2 * SITE_BYTES;

    @TempDir
    Path dir;

    private static byte[] v2()
    {
        return ModelFormat.toBytes(TestModels.tinyMlpWithStatistics(ActivationKind.POLY));
    }

    private static ModelFormatException reject(final byte[] bytes)
    {
        return assertThrows(ModelFormatException.class, () -> ModelFormat.fromBytes(bytes));
    }

    /** Rejected at {@code offset} with a message that starts with the offset and contains every part. */
    private static void assertRejected(final byte[] bytes, final long offset, final String... parts)
    {
        final ModelFormatException e = reject(bytes);
        assertEquals(offset, e.offset(), e.getMessage());
        assertTrue(e.getMessage().startsWith("at byte " + offset + ": "), e.getMessage());
        for (final String p : parts)
        {
            assertTrue(e.getMessage().contains(p), () -> "message \"" + e.getMessage() + "\" lacks \"" + p + "\"");
        }
    }

    private static ByteBuffer le(final byte[] bytes)
    {
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static byte[] putInt(final byte[] bytes, final int at, final int v)
    {
        final byte[] copy = bytes.clone();
        le(copy).putInt(at, v);
        return copy;
    }

    private static byte[] putLong(final byte[] bytes, final int at, final long v)
    {
        final byte[] copy = bytes.clone();
        le(copy).putLong(at, v);
        return copy;
    }

    private static byte[] putFloat(final byte[] bytes, final int at, final float v)
    {
        return putInt(bytes, at, Float.floatToRawIntBits(v));
    }

    /** Sets the total-length field to the array's length and re-signs, so a spliced file reaches the checks. */
    private static byte[] fix(final byte[] bytes) throws Exception
    {
        le(bytes).putLong(12, bytes.length);
        return ModelFormatTest.resign(bytes);
    }

    /** {@code original} with bytes [from, to) replaced by {@code insert}, length fixed and re-signed. */
    private static byte[] splice(final byte[] original, final int from, final int to, final byte[] insert)
        throws Exception
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(original, 0, from);
        out.writeBytes(insert);
        out.write(original, to, original.length - to);
        return fix(out.toByteArray());
    }

    /** A version-2 tinyMlp whose statistics block is {@code block} instead of the valid one. */
    private static byte[] withBlock(final byte[] block) throws Exception
    {
        return splice(v2(), STATS, STATS + BLOCK_BYTES, block);
    }

    /** Little-endian encoder of a hand-made statistics block. */
    private static final class Block
    {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Block(final long images, final long sites)
        {
            u32(images);
            u32(sites);
        }

        private void u32(final long v)
        {
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int)v).array());
        }

        Block site(final String node, final long elements, final long outside, final float maxAbs, final float range)
        {
            final byte[] name = node.getBytes(StandardCharsets.UTF_8);
            out.writeBytes(ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort((short)name.length)
                .array());
            out.writeBytes(name);
            out.writeBytes(ByteBuffer.allocate(8 + 8 + 4 + 4).order(ByteOrder.LITTLE_ENDIAN).putLong(elements)
                .putLong(outside).putFloat(maxAbs).putFloat(range).array());
            return this;
        }

        byte[] bytes()
        {
            return out.toByteArray();
        }
    }

    @Test
    void roundTripsByteForByteWithEqualGraphs() throws IOException
    {
        final List<ModelGraph> graphs = new java.util.ArrayList<>(List.of(TestModels.everyLayerWithStatistics()));
        for (final ActivationKind k : List.of(ActivationKind.RELU, ActivationKind.POLY, ActivationKind.CHANNEL_POLY,
            ActivationKind.MASKED_RELU))
        {
            graphs.add(TestModels.tinyMlpWithStatistics(k));
            graphs.add(TestModels.tinyLenetWithStatistics(k));
        }
        for (final ModelGraph g : graphs)
        {
            final byte[] bytes = ModelFormat.toBytes(g);
            assertEquals(ModelFormat.STATISTICS_VERSION, le(bytes).getShort(8), g.toString());
            final ModelGraph back = ModelFormat.fromBytes(bytes);
            ModelFormatTest.assertIdentical(g, back);
            assertEquals(g.header().statistics(), back.header().statistics());
            assertArrayEquals(bytes, ModelFormat.toBytes(back), "encoding is canonical");
            final Path file = dir.resolve(g.header().architecture() + ".pim");
            ModelFormat.write(g, file);
            ModelFormatTest.assertIdentical(g, ModelFormat.read(file));
        }
    }

    @Test
    void versionFollowsTheContentAndVersionTwoIsVersionOnePlusTheBlock() throws Exception
    {
        final ModelGraph with = TestModels.tinyMlpWithStatistics(ActivationKind.POLY);
        final ModelGraph without = TestModels.tinyMlp(ActivationKind.POLY);
        assertEquals(ModelFormat.STATISTICS_VERSION, ModelFormat.version(with));
        assertEquals(ModelFormat.BASE_VERSION, ModelFormat.version(without));
        assertNotEquals(with, without);
        assertNotEquals(with.fingerprint(), without.fingerprint());

        // dropping the statistics gives exactly the version-1 bytes (and the pinned fingerprint of ModelFormatTest)
        final ModelGraph dropped = with.withHeader(with.header().withoutStatistics());
        assertEquals(without, dropped);
        final byte[] v1 = ModelFormat.toBytes(without);
        assertArrayEquals(v1, ModelFormat.toBytes(dropped));
        assertEquals(ModelFormat.BASE_VERSION, le(v1).getShort(8));

        // the version-2 file is the version-1 file with the block inserted after the class names
        final byte[] v2 = v2();
        assertEquals(v1.length + BLOCK_BYTES, v2.length);
        assertArrayEquals(Arrays.copyOfRange(v1, 20, STATS), Arrays.copyOfRange(v2, 20, STATS));
        assertArrayEquals(Arrays.copyOfRange(v1, STATS, v1.length - Fingerprint.LENGTH),
            Arrays.copyOfRange(v2, STATS + BLOCK_BYTES, v2.length - Fingerprint.LENGTH));
        final byte[] removed = splice(v2, STATS, STATS + BLOCK_BYTES, new byte[0]);
        le(removed).putShort(8, (short)ModelFormat.BASE_VERSION);
        assertArrayEquals(v1, ModelFormatTest.resign(removed));
    }

    /** The block of docs/model-format.md's version-2 example, byte for byte. */
    @Test
    void blockMatchesTheDocumentedExample()
    {
        final byte[] expected = HexFormat.of().parseHex(
            "0a000000" + "02000000" +
            "0400" + "61637431" + "5000000000000000" + "0300000000000000" + "0000c040" + "0000a040" +
            "0400" + "61637432" + "2800000000000000" + "0000000000000000" + "00002040" + "0000a040");
        assertArrayEquals(expected, Arrays.copyOfRange(v2(), STATS, STATS + BLOCK_BYTES));
    }

    /**
     * The fingerprint of a fixed version-2 model must not change across machines, JDKs or commits. If this fails
     * after an intended format change, bump the format version.
     */
    @Test
    void versionTwoFingerprintIsStable()
    {
        assertEquals("3f7c3d0d179b5f038ebfb2cc00d6acfdd1c3aed1d8450f7e54220bd012d28769",
            TestModels.tinyMlpWithStatistics(ActivationKind.POLY).fingerprint().hex());
    }

    @Test
    void versionByteMustMatchTheLayout() throws Exception
    {
        final byte[] v2 = v2();
        final byte[] v3 = v2.clone();
        le(v3).putShort(8, (short)3);
        assertRejected(v3, 8, "unsupported format version 3",
            "(this reader knows versions 1 and 2)");
        // a version-2 file claiming version 1: the block is read as the input count and so on
        final byte[] asV1 = v2.clone();
        asV1[8] = 1;
        assertTrue(reject(asV1).offset() >= STATS);
        // a version-1 file claiming version 2: its input count and first input name are read as the block
        final byte[] v1 = ModelFormat.toBytes(TestModels.tinyMlp(ActivationKind.POLY));
        final byte[] asV2 = v1.clone();
        asV2[8] = 2;
        assertTrue(reject(asV2).offset() >= STATS);
    }

    @Test
    void rejectsBadImagesAndSiteCounts() throws Exception
    {
        final byte[] v2 = v2();
        assertRejected(putInt(v2, STATS, 0), STATS, "images measured 0 is not in 1..2147483647");
        assertRejected(putInt(v2, STATS, Integer.MIN_VALUE), STATS, "images measured 2147483648 is not in");
        assertRejected(putInt(v2, COUNT, 0), COUNT, "activation statistics site count 0 is not in 1..100000");
        assertRejected(putInt(v2, COUNT, ActivationStatistics.MAX_SITES + 1), COUNT, "site count 100001 is not in");
        assertRejected(putInt(v2, COUNT, 50_000), COUNT, "site count 50000 needs at least 1350000 bytes", "remain");
        // zero sites cannot be spelled any other way either: an empty block is still a count of zero
        assertRejected(withBlock(new Block(1, 0).bytes()), COUNT, "site count 0");
    }

    @Test
    void rejectsBadSiteFields() throws Exception
    {
        final byte[] v2 = v2();
        assertRejected(putLong(v2, SITE0 + ELEMENTS, 0), SITE0 + ELEMENTS, "site 0 (node act1)",
            "elements 0 is not in 1..9223372036854775807");
        assertRejected(putLong(v2, SITE0 + ELEMENTS, -1), SITE0 + ELEMENTS, "elements 18446744073709551615");
        assertRejected(putLong(v2, SITE0 + OUTSIDE, 81), SITE0 + OUTSIDE, "site 0 (node act1)",
            "outside count 81 exceeds the 80 elements");
        assertRejected(putLong(v2, SITE1 + OUTSIDE, -1), SITE1 + OUTSIDE, "site 1 (node act2)",
            "outside count 18446744073709551615 exceeds the 40 elements");
        for (final float bad : new float[] {Float.NaN, -1.0f, -0.0f, Float.POSITIVE_INFINITY,
            Float.intBitsToFloat(0xffc00001)})
        {
            assertRejected(putFloat(v2, SITE1 + MAX_ABS, bad), SITE1 + MAX_ABS, "site 1 (node act2)",
                "max |x| must be finite and +0.0 or positive");
        }
        for (final float bad : new float[] {0.0f, -0.0f, -5.0f, Float.NaN, Float.POSITIVE_INFINITY})
        {
            assertRejected(putFloat(v2, SITE0 + RANGE, bad), SITE0 + RANGE, "site 0 (node act1)",
                "range must be finite and positive");
        }
        // the limits themselves are accepted
        assertEquals(0.0f, ModelFormat.fromBytes(ModelFormatTest.resign(putFloat(v2, SITE0 + MAX_ABS, 0.0f))).header()
            .statistics().orElseThrow().sites().getFirst().maxAbs());
        assertEquals(80, ModelFormat.fromBytes(ModelFormatTest.resign(putLong(v2, SITE0 + OUTSIDE, 80))).header()
            .statistics().orElseThrow().sites().getFirst().outside());
    }

    @Test
    void rejectsSitesThatDoNotNameAnActivationInNodeOrder() throws Exception
    {
        // a same-length name that is no node: caught with the node table, before the fingerprint is checked
        final byte[] unknown = v2();
        unknown[SITE0 + 2] = 'x';
        assertRejected(unknown, SITE0, "site 0 (node xct1)", "the node table has no node xct1");
        assertRejected(withBlock(new Block(10, 1).site("input", 160, 0, 1, 5).bytes()), SITE0,
            "site 0 (node input)", "input is a graph input, not a node");
        assertRejected(withBlock(new Block(10, 2).site("act1", 80, 0, 1, 5).site("fc3", 30, 0, 1, 5).bytes()),
            SITE1, "site 1 (node fc3)", "node fc3 has layer tag 2, not an activation");
        assertRejected(withBlock(new Block(10, 2).site("act2", 40, 0, 1, 5).site("act1", 80, 0, 1, 5).bytes()),
            SITE1, "site 1 (node act1)", "sites must be in node order", "node act1 does not come after node act2");
        assertRejected(withBlock(new Block(10, 2).site("act1", 80, 0, 1, 5).site("act1", 80, 0, 1, 5).bytes()),
            SITE1, "site 1 (node act1)", "node act1 already has site 0");
        // the element count needs the inferred shapes: checked at build time, still at the site's offset
        assertRejected(withBlock(new Block(10, 2).site("act1", 80, 0, 1, 5).site("act2", 41, 0, 1, 5).bytes()),
            SITE1, "site 1 (node act2)", "41 elements, but 10 images of [4] are 40");
        assertRejected(withBlock(new Block(9, 1).site("act1", 80, 0, 1, 5).bytes()), SITE0,
            "site 0 (node act1)", "80 elements, but 9 images of [8] are 72");
        // an Identity marks an activation site for the cost model, but has no range to check
        final byte[] every = ModelFormat.toBytes(TestModels.everyLayer());
        final int everyStats = ModelFormat.PREAMBLE_BYTES + (2 + "every-layer".length()) + 1 + 4 + 4 + 3 * (2 + 1);
        final byte[] identity = splice(every, everyStats, everyStats, new Block(1, 1).site("id", 3, 0, 1, 5).bytes());
        le(identity).putShort(8, (short)ModelFormat.STATISTICS_VERSION);
        assertRejected(ModelFormatTest.resign(identity), everyStats + 8, "site 0 (node id)",
            "node id has layer tag 13, not an activation");
        // and the same block naming a real activation is fine: the splice itself is sound
        final byte[] relu = splice(every, everyStats, everyStats, new Block(1, 1).site("relu", 144, 0, 1, 5).bytes());
        le(relu).putShort(8, (short)ModelFormat.STATISTICS_VERSION);
        final ModelGraph g = ModelFormat.fromBytes(ModelFormatTest.resign(relu));
        assertEquals(144, g.header().statistics().orElseThrow().site("relu").orElseThrow().elements());
    }

    @Test
    void rejectsATruncatedBlock() throws Exception
    {
        // the declared length and the fingerprint are right, but the content ends inside site 1 (before its range):
        // the count check passes (60 bytes for two sites remain), the range read does not
        final byte[] v2 = v2();
        final byte[] cut = Arrays.copyOf(v2, SITE1 + RANGE + Fingerprint.LENGTH);
        assertRejected(fix(cut), SITE1 + RANGE, "truncated: 4 more bytes needed, only 0 remain");
        // the whole file cut anywhere inside the block is caught by the declared length
        for (int end = SITE0; end < STATS + BLOCK_BYTES; end += 7)
        {
            assertRejected(Arrays.copyOf(v2, end), 12, "(truncated)");
        }
        // two sites need at least 2 x 27 bytes: a block that ends after the count fails the count check
        final byte[] noSites = Arrays.copyOf(v2, SITE0 + Fingerprint.LENGTH);
        assertRejected(fix(noSites), COUNT, "site count 2 needs at least 54 bytes, only 0 remain");
    }

    @Test
    void graphChecksTheSitesWhenBuilt()
    {
        final ModelGraph g = TestModels.tinyMlp(ActivationKind.POLY);
        final ModelHeader h = g.header();
        final IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> g.withHeader(
            h.withStatistics(new ActivationStatistics(1, List.of(new ActivationStatistics.Site("nope", 8, 0, 1, 5))))));
        assertTrue(unknown.getMessage().contains("activation statistics site 0 (node nope): the graph has no node"),
            unknown.getMessage());
        final IllegalArgumentException linear = assertThrows(IllegalArgumentException.class, () -> g.withHeader(
            h.withStatistics(new ActivationStatistics(1, List.of(new ActivationStatistics.Site("fc1", 8, 0, 1, 5))))));
        assertTrue(linear.getMessage().contains("node fc1 is a Linear 16->8, not an activation"), linear.getMessage());
        final IllegalArgumentException order = assertThrows(IllegalArgumentException.class, () -> g.withHeader(
            h.withStatistics(new ActivationStatistics(1, List.of(new ActivationStatistics.Site("act2", 4, 0, 1, 5),
                new ActivationStatistics.Site("act1", 8, 0, 1, 5))))));
        assertTrue(order.getMessage().contains("site 1 (node act1): sites must be in node order"), order.getMessage());
        final IllegalArgumentException count = assertThrows(IllegalArgumentException.class, () -> g.withHeader(
            h.withStatistics(new ActivationStatistics(2, List.of(new ActivationStatistics.Site("act1", 8, 0, 1, 5))))));
        assertTrue(count.getMessage().contains("8 elements, but 2 images of [8] are 16"), count.getMessage());
        final ModelGraph identity = TestModels.tinyMlp(ActivationKind.IDENTITY);
        assertThrows(IllegalArgumentException.class, () -> identity.withHeader(identity.header().withStatistics(
            new ActivationStatistics(1, List.of(new ActivationStatistics.Site("act1", 8, 0, 1, 5))))));
        // a subset of the sites is fine
        final ModelGraph one = g.withHeader(h.withStatistics(new ActivationStatistics(1,
            List.of(new ActivationStatistics.Site("act2", 4, 1, 7, 5)))));
        assertFalse(one.header().statistics().orElseThrow().within(5));
    }

    @Test
    void statisticsRecordsCheckTheirFields()
    {
        final ActivationStatistics.Site ok = new ActivationStatistics.Site("a", 10, 2, 3, 1);
        assertEquals(0.2, ok.outsideFraction(), 0.0);
        assertThrows(IllegalArgumentException.class, () -> new ActivationStatistics.Site("a", 0, 0, 3, 1));
        assertThrows(IllegalArgumentException.class, () -> new ActivationStatistics.Site("a", 10, 11, 3, 1));
        assertThrows(IllegalArgumentException.class, () -> new ActivationStatistics.Site("a", 10, -1, 3, 1));
        assertThrows(IllegalArgumentException.class, () -> new ActivationStatistics.Site("a", 10, 0, Float.NaN, 1));
        assertThrows(IllegalArgumentException.class, () -> new ActivationStatistics.Site("a", 10, 0, -0.0f, 1));
        assertThrows(IllegalArgumentException.class, () -> new ActivationStatistics.Site("a", 10, 0, 1,
            Float.POSITIVE_INFINITY));
        assertThrows(IllegalArgumentException.class, () -> new ActivationStatistics.Site("a", 10, 0, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new ActivationStatistics.Site("", 10, 0, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new ActivationStatistics(0, List.of(ok)));
        assertThrows(IllegalArgumentException.class, () -> new ActivationStatistics(1, List.of()));
        final IllegalArgumentException twice = assertThrows(IllegalArgumentException.class,
            () -> new ActivationStatistics(1, List.of(ok, ok)));
        assertTrue(twice.getMessage().contains("name node a twice"), twice.getMessage());
    }

    @Test
    void retainingSitesDropsExactlyTheRemovedOnes()
    {
        final ModelHeader h = TestModels.tinyMlpWithStatistics(ActivationKind.POLY).header();
        assertEquals(h, h.retainingSites(List.of("act1", "act2", "fc1")));
        final ModelHeader one = h.retainingSites(List.of("act1"));
        assertEquals(List.of("act1"), one.statistics().orElseThrow().sites().stream()
            .map(ActivationStatistics.Site::node).toList());
        assertEquals(h.statistics().orElseThrow().images(), one.statistics().orElseThrow().images());
        assertTrue(h.retainingSites(List.of("fc1")).statistics().isEmpty(), "no site left: no statistics");
        assertEquals(h.withoutStatistics(), h.retainingSites(List.of()));
    }
}
