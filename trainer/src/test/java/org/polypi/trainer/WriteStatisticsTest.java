package org.polypi.trainer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.polypi.datasets.BundledSample;
import org.polypi.datasets.Dataset;
import org.polypi.datasets.FashionMnist;
import org.polypi.model.ActivationKind;
import org.polypi.model.ActivationStatistics;
import org.polypi.model.GraphTransforms;
import org.polypi.model.ModelFormat;
import org.polypi.model.ModelGraph;
import org.polypi.model.ReferenceNetworks;
import org.polypi.model.ReferenceNetworks.Workload;
import org.polypi.model.reference.FloatInference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code EvaluateMain --write-statistics}: an existing model file is measured on test images and rewritten, atomically,
 * as format version 2 with the statistics in its header; nothing else about the model changes.
 */
final class WriteStatisticsTest
{
    private static final Dataset SAMPLE = BundledSample.fashionMnistTest(FashionMnist.STANDARD_NORMALIZATION);
    /** Images measured: enough for several chunks' worth of sites, few enough to stay fast. */
    private static final int IMAGES = 12;

    @TempDir
    Path dir;

    private static ModelGraph lenet(final ActivationKind kind)
    {
        return GraphTransforms.foldBatchNorm(ReferenceNetworks.build(Workload.LENET,
            ReferenceNetworks.Options.of(kind).withBatchNorm(true).withSeed(11)));
    }

    private static PrintStream sink(final ByteArrayOutputStream bytes)
    {
        return new PrintStream(bytes, true, StandardCharsets.UTF_8);
    }

    @Test
    void rewritesTheModelWithItsMeasuredStatistics() throws IOException
    {
        final ModelGraph original = lenet(ActivationKind.POLY);
        final Path file = dir.resolve("w2.pim");
        ModelFormat.write(original, file);
        final String oldPrint = original.fingerprint().hex();
        Files.writeString(Exporter.sidecar(file), "{\n  \"config\": \"x\",\n  \"fingerprint\": \"" + oldPrint +
            "\",\n  \"epochs\": []\n}\n");
        final ByteArrayOutputStream log = new ByteArrayOutputStream();

        final ModelGraph written = EvaluateMain.writeStatistics(file, SAMPLE, IMAGES, null, sink(log));

        final ModelGraph read = ModelFormat.read(file);
        assertEquals(written, read);
        assertEquals(ModelFormat.STATISTICS_VERSION, ModelFormat.version(read));
        // only the header changed: same nodes, same weights, and without the statistics the very same file
        assertEquals(original.nodes(), read.nodes());
        assertArrayEquals(ModelFormat.toBytes(original), ModelFormat.toBytes(read.withHeader(
            read.header().withoutStatistics())));
        // what was written is what FloatInference sees at each site's input, against the header bound
        final float bound = original.header().activationBound();
        final Map<String, ActivationStats> expected = EvaluateMain.siteInputs(original,
            SAMPLE.slice(0, IMAGES).toFloatArray(), IMAGES, bound);
        final ActivationStatistics stats = read.header().statistics().orElseThrow();
        assertEquals(IMAGES, stats.images());
        assertEquals(List.copyOf(expected.keySet()), stats.sites().stream().map(ActivationStatistics.Site::node)
            .toList());
        assertEquals(3, stats.sites().size(), "LeNet's three activation sites");
        for (final ActivationStatistics.Site s : stats.sites())
        {
            final ActivationStats e = expected.get(s.node());
            assertEquals(IMAGES * read.shape(s.node()).elements(), s.elements(), s.node());
            assertEquals(e.outside(), s.outside(), s.node());
            assertEquals(e.maxAbs(), s.maxAbs(), 0.0, s.node());
            assertEquals(bound, s.range(), 0.0f, s.node());
        }
        // the sidecar now names the new file
        final String json = Files.readString(Exporter.sidecar(file));
        assertTrue(json.contains("\"fingerprint\": \"" + read.fingerprint().hex() + "\""), json);
        assertFalse(json.contains(oldPrint), json);
        final String out = log.toString(StandardCharsets.UTF_8);
        assertTrue(out.contains("activation statistics of 3 sites over 12 images against r = 5.0 written " +
            "(format version 2, fingerprint " + read.fingerprint().hex() + ", was " + oldPrint + ")"), out);
        try (Stream<Path> files = Files.list(dir))
        {
            assertEquals(List.of(Exporter.sidecar(file), file), files.sorted().toList(), "no temporary left");
        }

        // measuring again gives the same file; another range other outside counts, same maxima
        final byte[] once = Files.readAllBytes(file);
        EvaluateMain.writeStatistics(file, SAMPLE, IMAGES, null, sink(new ByteArrayOutputStream()));
        assertArrayEquals(once, Files.readAllBytes(file), "idempotent");
        final float tight = 0.25f;
        final ActivationStatistics narrow = EvaluateMain.writeStatistics(file, SAMPLE, IMAGES, tight,
            sink(new ByteArrayOutputStream())).header().statistics().orElseThrow();
        for (int i = 0; i < narrow.sites().size(); i++)
        {
            assertEquals(tight, narrow.sites().get(i).range(), 0.0f);
            assertEquals(stats.sites().get(i).maxAbs(), narrow.sites().get(i).maxAbs(), 0.0f);
            assertTrue(narrow.sites().get(i).outside() >= stats.sites().get(i).outside());
        }
        assertNotEquals(stats, narrow);
    }

    @Test
    void recommendBitsRewritesOnlyTheHeadersFraction() throws IOException
    {
        final ModelGraph original = GraphTransforms.foldBatchNorm(ReferenceNetworks.build(Workload.LENET,
            ReferenceNetworks.Options.of(ActivationKind.POLY).withPoly(ReferenceNetworks.PILLAR_DEGREE4)
                .withBatchNorm(true).withSeed(11).withFixedPoint(16, ReferenceNetworks.DEFAULT_ACTIVATION_BOUND)));
        final Path file = dir.resolve("w2.pim");
        ModelFormat.write(original, file);
        final String oldPrint = original.fingerprint().hex();
        Files.writeString(Exporter.sidecar(file), "{\n  \"fingerprint\": \"" + oldPrint + "\"\n}\n");
        final ByteArrayOutputStream log = new ByteArrayOutputStream();

        final ModelGraph written = EvaluateMain.recommendBits(file, SAMPLE, IMAGES, sink(log));

        // what the rule says for the agreements measured independently here
        final float[] images = SAMPLE.slice(0, IMAGES).toFloatArray();
        final int[] floatTop = FloatInference.of(original).top1(images, IMAGES);
        final List<Exporter.FixedPointResult> measured = List.of(
            Exporter.fixedPoint(original, 12, images, floatTop, SAMPLE.slice(0, IMAGES)),
            Exporter.fixedPoint(original, 16, images, floatTop, SAMPLE.slice(0, IMAGES)));
        final int expected = FractionChoice.recommend(original, measured);
        final ModelGraph read = ModelFormat.read(file);
        assertEquals(written, read);
        assertEquals(expected, read.header().fractionalBits(), log.toString(StandardCharsets.UTF_8));
        // nothing but the fraction changed
        assertArrayEquals(ModelFormat.toBytes(original), ModelFormat.toBytes(read.withHeader(
            read.header().withFractionalBits(16))));
        if (expected != 16)
        {
            final String json = Files.readString(Exporter.sidecar(file));
            assertTrue(json.contains(read.fingerprint().hex()) && !json.contains(oldPrint), json);
        }
        // a second run keeps what the first chose
        final byte[] once = Files.readAllBytes(file);
        final ByteArrayOutputStream again = new ByteArrayOutputStream();
        EvaluateMain.recommendBits(file, SAMPLE, IMAGES, sink(again));
        assertArrayEquals(once, Files.readAllBytes(file), "idempotent");
        assertTrue(again.toString(StandardCharsets.UTF_8).contains("f = " + expected + " kept"),
            again.toString(StandardCharsets.UTF_8));
    }

    @Test
    void sidecarOfAnotherFileIsLeftAlone() throws IOException
    {
        final Path file = dir.resolve("m.pim");
        ModelFormat.write(lenet(ActivationKind.RELU), file);
        final String other = "{\n  \"fingerprint\": \"" + "0".repeat(64) + "\"\n}\n";
        Files.writeString(Exporter.sidecar(file), other);
        final ByteArrayOutputStream log = new ByteArrayOutputStream();
        EvaluateMain.writeStatistics(file, SAMPLE, 2, null, sink(log));
        assertEquals(other, Files.readString(Exporter.sidecar(file)));
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("does not name the old fingerprint"));
        assertTrue(ModelFormat.read(file).header().statistics().isPresent());
    }

    @Test
    void imagesArePaddedToTheModelInputAndAModelWithoutSitesIsRefused() throws IOException
    {
        final ModelGraph w3 = ReferenceNetworks.build(Workload.MINIONN_FASHION,
            ReferenceNetworks.Options.of(ActivationKind.POLY));
        final Dataset padded = EvaluateMain.fitted(w3, SAMPLE.slice(0, 2));
        assertEquals(w3.header().inputShape().elements(), (long)padded.channels() * padded.height() *
            padded.width());
        final Dataset two = SAMPLE.slice(0, 2);
        assertSame(two, EvaluateMain.fitted(lenet(ActivationKind.POLY), two), "a 28x28 model takes them as they are");

        final Path file = dir.resolve("linear.pim");
        final ModelGraph linear = lenet(ActivationKind.IDENTITY);
        ModelFormat.write(linear, file);
        final byte[] before = Files.readAllBytes(file);
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> EvaluateMain.writeStatistics(file, SAMPLE, 2, null, sink(new ByteArrayOutputStream())));
        assertTrue(e.getMessage().contains("no ReLU, Poly, ChannelPoly or MaskedReLU site to measure"),
            e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(file), "left as it was");
    }

    @Test
    void optionsAreChecked()
    {
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final String m = dir.resolve("none.pim").toString();
        assertEquals(TrainerMain.EXIT_USAGE, EvaluateMain.run(new String[] {"--range", "5", m},
            sink(new ByteArrayOutputStream()), sink(err)));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--range only applies to --write-statistics"));
        assertEquals(TrainerMain.EXIT_USAGE, EvaluateMain.run(new String[] {"--write-statistics", "--range", "-1",
            m}, sink(new ByteArrayOutputStream()), sink(new ByteArrayOutputStream())));
        assertEquals(TrainerMain.EXIT_USAGE, EvaluateMain.run(new String[] {"--write-statistics"},
            sink(new ByteArrayOutputStream()), sink(new ByteArrayOutputStream())));
        assertEquals(TrainerMain.EXIT_USAGE, EvaluateMain.run(new String[] {"--write-statistics", "--results",
            dir.toString(), m}, sink(new ByteArrayOutputStream()), sink(new ByteArrayOutputStream())));
        final ByteArrayOutputStream both = new ByteArrayOutputStream();
        assertEquals(TrainerMain.EXIT_USAGE, EvaluateMain.run(new String[] {"--write-statistics",
            "--recommend-bits", m}, sink(new ByteArrayOutputStream()), sink(both)));
        assertTrue(both.toString(StandardCharsets.UTF_8).contains("separate runs"));
        final ByteArrayOutputStream results = new ByteArrayOutputStream();
        assertEquals(TrainerMain.EXIT_USAGE, EvaluateMain.run(new String[] {"--recommend-bits", "--notes", m, m},
            sink(new ByteArrayOutputStream()), sink(results)));
        assertTrue(results.toString(StandardCharsets.UTF_8).contains("--recommend-bits rewrites model files"));
    }

    @Test
    void statisticsOfSiteMeasurementsAreExactOrAbsentForADivergedModel()
    {
        final ActivationStats a = new ActivationStats(5);
        a.record(new float[] {1.5f, -7.25f, 0f, 5f}, 0, 4);
        final ActivationStats b = new ActivationStats(5);
        b.record(new float[] {0.125f, -0.5f}, 0, 2);
        final Map<String, ActivationStats> sites = new java.util.LinkedHashMap<>();
        sites.put("act1", a);
        sites.put("act2", b);
        final ActivationStatistics stats = Exporter.statistics(sites, 2).orElseThrow();
        assertEquals(2, stats.images());
        assertEquals(List.of(new ActivationStatistics.Site("act1", 4, 1, 7.25f, 5f),
            new ActivationStatistics.Site("act2", 2, 0, 0.5f, 5f)), stats.sites());
        // a NaN or infinite input has no header encoding: no statistics at all rather than a partial set
        final ActivationStats diverged = new ActivationStats(5);
        diverged.record(new float[] {1f, Float.NaN}, 0, 2);
        sites.put("act3", diverged);
        assertTrue(Exporter.statistics(sites, 2).isEmpty());
        final ActivationStats infinite = new ActivationStats(5);
        infinite.record(new float[] {Float.NEGATIVE_INFINITY}, 0, 1);
        sites.put("act3", infinite);
        assertTrue(Exporter.statistics(sites, 2).isEmpty());
        assertTrue(Exporter.statistics(Map.of(), 2).isEmpty());
    }

    /** The command line path on the installed Fashion-MNIST test set (skipped where it is not installed). */
    @Test
    void commandLineRewritesTheFileOnTheInstalledTestSet() throws IOException
    {
        assumeTrue(Files.isDirectory(FashionMnist.DEFAULT_DIRECTORY) ||
            System.getProperty(FashionMnist.DIRECTORY_PROPERTY) != null, "Fashion-MNIST is not installed");
        final Path file = dir.resolve("cli.pim");
        ModelFormat.write(lenet(ActivationKind.CHANNEL_POLY), file);
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(0, EvaluateMain.run(new String[] {"--write-statistics", "--test-limit", "4", "--range", "3",
            file.toString()}, sink(out), sink(err)), err.toString(StandardCharsets.UTF_8));
        final ActivationStatistics stats = ModelFormat.read(file).header().statistics().orElseThrow();
        assertEquals(4, stats.images());
        assertTrue(stats.sites().stream().allMatch(s -> s.range() == 3.0f));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("over 4 images against r = 3.0"),
            out.toString(StandardCharsets.UTF_8));
    }
}
