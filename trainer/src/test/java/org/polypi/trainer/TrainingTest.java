package org.polypi.trainer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.zip.CRC32C;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.polypi.datasets.BundledSample;
import org.polypi.datasets.Dataset;
import org.polypi.datasets.FashionMnist;
import org.polypi.model.ActivationKind;
import org.polypi.model.ActivationStatistics;
import org.polypi.model.Layer;
import org.polypi.model.ModelFormat;
import org.polypi.model.ModelGraph;
import org.polypi.model.ReferenceNetworks;
import org.polypi.model.ReferenceNetworks.Workload;
import org.polypi.model.Shape;
import org.polypi.model.reference.FloatInference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * End-to-end properties of the training loop on the bundled Fashion-MNIST sample (no installed data needed): a tiny
 * network overfits 64 images, the same seed gives the same weights bit for bit, a run resumed from a checkpoint
 * equals an uninterrupted one, and an exported model read back from its file computes what the trainer computes.
 */
final class TrainingTest
{
    private static final Dataset SAMPLE = BundledSample.fashionMnistTest(FashionMnist.STANDARD_NORMALIZATION);
    private static final Dataset TRAIN = SAMPLE.slice(0, 64);
    private static final Dataset TEST = SAMPLE.slice(400, 500);
    /** Test images of the export check: the fixed-point run is slow until the JIT has compiled it. */
    private static final int EXPORT_TEST_IMAGES = 24;

    @TempDir
    Path dir;

    private static Trainer trainer(final TrainConfig config)
    {
        final Trainer t = new Trainer(config, TRAIN, TEST, new PrintStream(new ByteArrayOutputStream(), true,
            StandardCharsets.UTF_8));
        t.progressSeconds(0);
        return t;
    }

    private static TrainConfig.Builder tiny(final Workload net, final ActivationChoice act)
    {
        return TrainConfig.builder(net, act).batchSize(16).epochs(2).warmupEpochs(0.5);
    }

    @Test
    void lossDropsWhenOverfittingSixtyFourImages() throws IOException
    {
        for (final ActivationChoice act : ActivationChoice.values())
        {
            final List<EpochStats> h = trainer(tiny(Workload.LENET, act).degree(2).epochs(8).learningRate(0.05)
                .flip(false).build()).train(null, false);
            final double first = h.getFirst().loss();
            final double last = h.getLast().loss();
            assertTrue(last < 0.5 * first, act + ": loss went from " + first + " to " + last);
            assertTrue(h.getLast().trainAccuracy() > 0.8, act + ": train accuracy " + h.getLast().trainAccuracy());
        }
    }

    /**
     * Distillation trains towards the teacher, not the labels: with a random-weight teacher whose predictions have
     * nothing to do with the labels, a student distilled from it agrees with it on most training images, and the
     * same student trained on the labels alone does not.
     */
    @Test
    void distilledStudentLearnsTheTeachersPredictions() throws IOException
    {
        final ModelGraph teacherModel = ReferenceNetworks.build(Workload.MLP,
            ReferenceNetworks.Options.of(ActivationKind.RELU).withSeed(5));
        final float[] images = TRAIN.toFloatArray();
        final int[] teacherTop = top1(new Network(teacherModel, 0, null).logits(images, TRAIN.count()));
        final TrainConfig.Builder base = tiny(Workload.MLP, ActivationChoice.PILLAR).degree(2).epochs(12).flip(false);
        final Trainer distilled = trainer(base.distillWeight(0.95).build());
        distilled.distillFrom(teacherModel);
        distilled.train(null, false);
        final Trainer labelsOnly = trainer(base.distillWeight(0).build());
        labelsOnly.train(null, false);
        final double withKd = agreement(top1(distilled.network().logits(images, TRAIN.count())), teacherTop);
        final double without = agreement(top1(labelsOnly.network().logits(images, TRAIN.count())), teacherTop);
        assertTrue(withKd > 0.75, "distilled student agrees with the teacher on " + withKd);
        assertTrue(without < withKd - 0.3, "label-trained student agrees on " + without + ", distilled " + withKd);
    }

    @Test
    void distillationNeedsATeacherAndAWeight()
    {
        final TrainConfig kd = tiny(Workload.MLP, ActivationChoice.RELU).distillWeight(0.5).build();
        final IllegalStateException missing = assertThrows(IllegalStateException.class,
            () -> trainer(kd).train(null, false));
        assertTrue(missing.getMessage().contains("no teacher"), missing.getMessage());
        final ModelGraph teacher = ReferenceNetworks.build(Workload.MLP,
            ReferenceNetworks.Options.of(ActivationKind.RELU));
        final IllegalArgumentException noWeight = assertThrows(IllegalArgumentException.class,
            () -> trainer(tiny(Workload.MLP, ActivationChoice.RELU).build()).distillFrom(teacher));
        assertTrue(noWeight.getMessage().contains("distillation weight"), noWeight.getMessage());
        final IllegalArgumentException wrongShape = assertThrows(IllegalArgumentException.class,
            () -> trainer(tiny(Workload.LENET, ActivationChoice.RELU).distillWeight(0.5).build())
                .distillFrom(ReferenceNetworks.build(Workload.MINIONN_FASHION,
                    ReferenceNetworks.Options.of(ActivationKind.RELU))));
        assertTrue(wrongShape.getMessage().contains("takes"), wrongShape.getMessage());
        // the config names its teacher by fingerprint: another model (even under the same file name) is refused
        final ModelGraph other = ReferenceNetworks.build(Workload.MLP,
            ReferenceNetworks.Options.of(ActivationKind.RELU).withSeed(2));
        final String id = Trainer.modelId(teacher, "t.pim");
        final IllegalArgumentException wrongTeacher = assertThrows(IllegalArgumentException.class,
            () -> trainer(tiny(Workload.MLP, ActivationChoice.RELU).distillWeight(0.5).teacher(id).build())
                .distillFrom(other));
        assertTrue(wrongTeacher.getMessage().contains(id) &&
            wrongTeacher.getMessage().contains(Trainer.modelId(other, null)), wrongTeacher.getMessage());
        trainer(tiny(Workload.MLP, ActivationChoice.RELU).distillWeight(0.5).teacher(id).build()).distillFrom(teacher);
        final IllegalArgumentException teacherWithoutWeight = assertThrows(IllegalArgumentException.class,
            () -> tiny(Workload.MLP, ActivationChoice.PILLAR).teacher(id).build());
        assertTrue(teacherWithoutWeight.getMessage().contains("--distill"), teacherWithoutWeight.getMessage());
        assertThrows(IllegalArgumentException.class,
            () -> tiny(Workload.MLP, ActivationChoice.RELU).distillWeight(1).build());
        assertFalse(tiny(Workload.MLP, ActivationChoice.RELU).build().signature().contains("kd="),
            "a run without distillation keeps its old signature");
    }

    /**
     * {@code --init}: the network starts from a trained model's weights with the run's activations. A ReLU run
     * computes exactly what the model computes before its first step; a PILLAR run holds the same weights, with the
     * fitted polynomial at every former ReLU, and trains from there; mismatches are refused.
     */
    @Test
    void aRunStartsFromATrainedModelsWeights() throws IOException
    {
        final ModelGraph relu = ReferenceNetworks.build(Workload.MLP,
            ReferenceNetworks.Options.of(ActivationKind.RELU).withSeed(7));
        final float[] images = TRAIN.toFloatArray();
        final String id = Trainer.modelId(relu, "w1-relu.pim");
        assertTrue(id.startsWith("w1-relu.pim@") && relu.fingerprint().hex().startsWith(id.substring(12)), id);

        final Trainer same = new Trainer(tiny(Workload.MLP, ActivationChoice.RELU).init(id).build(), TRAIN, TEST,
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), relu);
        assertArrayEquals(new Network(relu, 0, null).logits(images, TRAIN.count()),
            same.network().logits(images, TRAIN.count()), "the ReLU run starts as the model");

        final TrainConfig pillar = tiny(Workload.MLP, ActivationChoice.PILLAR).degree(2).init(id).build();
        assertTrue(pillar.signature().endsWith(" init=" + id), pillar.signature());
        final Trainer fromRelu = new Trainer(pillar, TRAIN, TEST,
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), relu);
        fromRelu.progressSeconds(0);
        assertSameParams(new Network(relu, 0, null), fromRelu.network());
        int polys = 0;
        for (final org.polypi.model.Node n : fromRelu.network().template().nodes())
        {
            assertFalse(n.layer() instanceof Layer.ReLU, "ReLU " + n.name() + " left in a PILLAR run");
            polys += n.layer() instanceof Layer.Poly ? 1 : 0;
        }
        assertEquals(2, polys, "W1's two ReLUs became the fitted polynomial");
        final List<EpochStats> h = fromRelu.train(null, false);
        assertTrue(Double.isFinite(h.getLast().loss()), "loss " + h.getLast().loss());
        assertFalse(Arrays.equals(new Network(relu, 0, null).params().getFirst().value(),
            fromRelu.network().params().getFirst().value()), "training moved the weights");

        final PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        final IllegalArgumentException unnamed = assertThrows(IllegalArgumentException.class,
            () -> new Trainer(tiny(Workload.MLP, ActivationChoice.RELU).build(), TRAIN, TEST, quiet, relu));
        assertTrue(unnamed.getMessage().contains("the model given is @"), unnamed.getMessage());
        final IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
            () -> new Trainer(tiny(Workload.MLP, ActivationChoice.RELU).init(id).build(), TRAIN, TEST, quiet, null));
        assertTrue(missing.getMessage().contains("is none"), missing.getMessage());
        final ModelGraph lenet = ReferenceNetworks.build(Workload.LENET,
            ReferenceNetworks.Options.of(ActivationKind.RELU));
        final IllegalArgumentException other = assertThrows(IllegalArgumentException.class,
            () -> new Trainer(tiny(Workload.MLP, ActivationChoice.RELU).init(Trainer.modelId(lenet, "l.pim")).build(),
                TRAIN, TEST, quiet, lenet));
        assertTrue(other.getMessage().contains("the run trains mlp"), other.getMessage());
        final IllegalArgumentException herpn = assertThrows(IllegalArgumentException.class,
            () -> tiny(Workload.MLP, ActivationChoice.HERPN).init(id).build());
        assertTrue(herpn.getMessage().contains("only relu and pillar"), herpn.getMessage());
    }

    private static int[] top1(final float[] logits)
    {
        final int classes = logits.length / TRAIN.count();
        final int[] top = new int[TRAIN.count()];
        for (int i = 0; i < top.length; i++)
        {
            for (int c = 1; c < classes; c++)
            {
                top[i] = logits[i * classes + c] > logits[i * classes + top[i]] ? c : top[i];
            }
        }
        return top;
    }

    private static double agreement(final int[] a, final int[] b)
    {
        int same = 0;
        for (int i = 0; i < a.length; i++)
        {
            same += a[i] == b[i] ? 1 : 0;
        }
        return (double)same / a.length;
    }

    @Test
    void sameSeedGivesBitIdenticalWeights() throws IOException
    {
        final TrainConfig config = tiny(Workload.LENET, ActivationChoice.PILLAR).cropPadding(2).seed(7).build();
        final Trainer a = trainer(config);
        final Trainer b = trainer(config);
        a.train(null, false);
        b.train(null, false);
        assertSameParams(a.network(), b.network());
        final Trainer c = trainer(config.toBuilder().seed(8).build());
        c.train(null, false);
        assertFalse(Arrays.equals(a.network().params().getFirst().value(),
            c.network().params().getFirst().value()), "another seed must give other weights");
    }

    @Test
    void resumedRunEqualsUninterruptedRun() throws IOException
    {
        for (final String run : new String[] {"sgd", "adam", "sgd+ema"})
        {
            final String optimizer = run.replace("+ema", "");
            final TrainConfig config = tiny(Workload.MLP, ActivationChoice.PILLAR).epochs(3).optimizer(optimizer)
                .learningRate("adam".equals(optimizer) ? 0.01 : 0.05).emaDecay(run.endsWith("+ema") ? 0.9 : 0)
                .build();
            final Trainer straight = trainer(config);
            final List<EpochStats> full = straight.train(null, false);

            final Path ckpt = dir.resolve(run + ".ckpt");
            final Trainer first = trainer(config);
            first.train(ckpt, false, 1);
            final Trainer second = trainer(config);
            final List<EpochStats> resumed = second.train(ckpt, true);
            assertSameParams(straight.network(), second.network());
            assertEquals(full.size(), resumed.size());
            assertEquals(full.getLast().loss(), resumed.getLast().loss(), 0.0);
        }
    }

    /**
     * PILLAR's in-range fallback survives an interruption: a run stopped after the epoch it recorded, then resumed,
     * holds the same epoch, accuracy and weights as the uninterrupted run, so its model selection can still fall
     * back to an epoch trained before the resume.
     */
    @Test
    void resumedRunKeepsItsInRangeFallback() throws IOException
    {
        // a wide range, so that every epoch's inputs stay inside and each but the last is recorded
        final TrainConfig config = tiny(Workload.MLP, ActivationChoice.PILLAR).epochs(3).clip(40).penaltyRange(38.4)
            .build();
        final Trainer straight = trainer(config);
        straight.train(null, false);
        final InRangeEpoch expected = straight.inRangeEpoch();
        assertEquals(1, expected.epoch(), "precondition: the second epoch is the latest recorded");

        final Path ckpt = dir.resolve("fallback.ckpt");
        trainer(config).train(ckpt, false, 2);
        final Trainer resumed = trainer(config);
        resumed.train(ckpt, true);
        final InRangeEpoch got = resumed.inRangeEpoch();
        assertEquals(expected.epoch(), got.epoch());
        assertEquals(expected.testAccuracy(), got.testAccuracy(), 0.0);
        assertEquals(expected.weights().length, got.weights().length);
        for (int i = 0; i < expected.weights().length; i++)
        {
            assertArrayEquals(expected.weights()[i], got.weights()[i], "array " + i);
        }
        assertSameParams(straight.network(), resumed.network());
    }

    /**
     * Checkpoints of the earlier layouts still resume: "PPTRNCK2" (no weight-average section) and "PPTRNCK1" (no
     * in-range section either), as runs without an average and with no fallback.
     */
    @Test
    void earlierLayoutCheckpointsStillResume() throws IOException
    {
        final TrainConfig config = tiny(Workload.MLP, ActivationChoice.RELU).epochs(2).build();
        final Trainer straight = trainer(config);
        straight.train(null, false);
        final Path ckpt = dir.resolve("old.ckpt");
        trainer(config).train(ckpt, false, 1);
        final byte[] v3 = Files.readAllBytes(ckpt);
        final ByteBuffer end = ByteBuffer.wrap(v3);
        final int averageAt = v3.length - Integer.BYTES - Long.BYTES;
        assertEquals(-1L, end.getLong(averageAt), "a run without --ema keeps no average");
        assertEquals(InRangeEpoch.NONE, end.getInt(averageAt - Integer.BYTES), "a ReLU run records no in-range epoch");
        // v2 drops the average's update count, v1 also the in-range epoch; each with its magic and a new CRC
        final long[] magics = {0x5050_5452_4E43_4B32L, 0x5050_5452_4E43_4B31L};
        for (int version = 0; version < magics.length; version++)
        {
            final int dropped = Long.BYTES + version * Integer.BYTES;
            final byte[] old = Arrays.copyOf(v3, v3.length - dropped);
            ByteBuffer.wrap(old).putLong(0, magics[version]);
            final CRC32C crc = new CRC32C();
            crc.update(old, 0, old.length - Integer.BYTES);
            ByteBuffer.wrap(old).putInt(old.length - Integer.BYTES, (int)crc.getValue());
            Files.write(ckpt, old);
            final Trainer resumed = trainer(config);
            resumed.train(ckpt, true);
            assertFalse(resumed.inRangeEpoch().present());
            assertSameParams(straight.network(), resumed.network());
        }
    }

    /**
     * With {@code --ema} the epochs' test accuracy is that of the averaged weights, and the network the run ends
     * with (the one exported) holds the average, not the last step's weights.
     */
    @Test
    void averagedRunEvaluatesAndExportsTheAverage() throws IOException
    {
        final TrainConfig plain = tiny(Workload.MLP, ActivationChoice.HERPN).epochs(2).build();
        final TrainConfig averaged = plain.toBuilder().emaDecay(0.9).build();
        assertTrue(averaged.signature().endsWith(" ema=0.9"), averaged.signature());
        assertFalse(plain.signature().contains("ema"), plain.signature());
        final Trainer withoutAverage = trainer(plain);
        withoutAverage.train(null, false);
        final Trainer withAverage = trainer(averaged);
        final List<EpochStats> h = withAverage.train(null, false);
        final float[] testImages = TEST.toFloatArray();
        assertEquals(h.getLast().testAccuracy(), Trainer.accuracy(withAverage.network().logits(testImages,
            TEST.count()), TEST.labels()), 0.0);
        // the same steps (same seed and data order) without the average end elsewhere: the export is the average
        final List<Param> raw = withoutAverage.network().params();
        final List<Param> avg = withAverage.network().params();
        boolean differs = false;
        for (int i = 0; i < raw.size(); i++)
        {
            differs |= !Arrays.equals(raw.get(i).value(), avg.get(i).value());
        }
        assertTrue(differs, "the averaged run exported the last step's weights");
        assertThrows(IllegalArgumentException.class, () -> plain.toBuilder().emaDecay(1).build());
        assertThrows(IllegalArgumentException.class, () -> plain.toBuilder().emaDecay(-0.5).build());
        final IllegalArgumentException senet = assertThrows(IllegalArgumentException.class, () ->
            tiny(Workload.MLP, ActivationChoice.SENET).emaDecay(0.99).build());
        assertTrue(senet.getMessage().contains("senet"), senet.getMessage());
    }

    @Test
    void checkpointOfAnotherConfigOrCorruptIsRefused() throws IOException
    {
        final TrainConfig config = tiny(Workload.MLP, ActivationChoice.RELU).epochs(1).build();
        final Path ckpt = dir.resolve("run.ckpt");
        trainer(config).train(ckpt, false);
        final Trainer other = trainer(config.toBuilder().seed(99).build());
        final IOException e = assertThrows(IOException.class, () -> other.train(ckpt, true));
        assertTrue(e.getMessage().contains("another config"), e.getMessage());
        final byte[] bytes = Files.readAllBytes(ckpt);
        bytes[bytes.length / 2] ^= 1;
        Files.write(ckpt, bytes);
        final IOException corrupt = assertThrows(IOException.class, () -> trainer(config).train(ckpt, true));
        assertTrue(corrupt.getMessage().contains("CRC32C"), corrupt.getMessage());
    }

    @Test
    void exportedModelReadBackComputesWhatTheTrainerComputes() throws IOException
    {
        for (final ActivationChoice act : ActivationChoice.values())
        {
            final Trainer t = trainer(tiny(Workload.LENET, act).degree(4).testLimit(EXPORT_TEST_IMAGES).build());
            final List<EpochStats> h = t.train(null, false);
            final Path file = dir.resolve("lenet-" + act.id() + ".pim");
            final Exporter.Report r = Exporter.export(t, h, 0.1, file, 16);

            final ModelGraph model = ModelFormat.read(file);
            assertEquals(r.model(), model);
            assertFalse(model.contains(Layer.BatchNorm.class), act + ": BatchNorm must be folded");
            final Class<? extends Layer> site = switch (act)
            {
                case RELU -> Layer.ReLU.class;
                case PILLAR -> Layer.Poly.class;
                case HERPN -> Layer.ChannelPoly.class;
                case SENET -> Layer.MaskedReLU.class;
            };
            assertTrue(model.contains(site), act + ": activation sites must be " + site.getSimpleName());
            assertEquals(15_220, model.activationSites());

            final Dataset test = t.testData();
            final float[] images = test.toFloatArray();
            final float[] ours = t.network().logits(images, test.count());
            final float[] theirs = FloatInference.of(model).run(images, test.count()).logits();
            double scale = 0;
            for (final float v : ours)
            {
                scale = Math.max(scale, Math.abs(v));
            }
            for (int i = 0; i < ours.length; i++)
            {
                assertEquals(ours[i], theirs[i], 1e-4 * (1 + scale), act + ": logit " + i);
            }
            assertEquals(r.trainerAccuracy(), r.floatAccuracy(), 0.0, act + ": top-1 of trainer and float32");
            assertTrue(r.agreement() >= 0.97, act + ": fixed point agrees on " + r.agreement());
            assertEquals(t.network().recordActivations(null).size(), 0);
            assertEquals(15_220L * test.count(), r.overall().elements(), "stats over every activation input");
            final String json = Files.readString(Exporter.sidecar(file));
            assertTrue(json.contains("\"activation_inputs\""));
            assertEquals(t.config().signature(), EvaluateMain.config(json).signature(), "sidecar config round trip");
            // f chosen at export (the config names none): the header's fraction is the recommended one, listed first
            assertEquals(Set.of(16, 12), r.fixedPoint().stream().map(Exporter.FixedPointResult::bits)
                .collect(Collectors.toSet()));
            assertEquals(FractionChoice.recommend(model, r.fixedPoint()), model.header().fractionalBits(), act.id());
            assertEquals(model.header().fractionalBits(), r.fixedBits(), act + ": the header's fraction first");

            // an independent measurement from the file alone (graph cut before each site) sees the same inputs
            final ActivationStats again = EvaluateMain.activationInputs(model, images, test.count(),
                t.config().clip());
            assertEquals(r.overall().elements(), again.elements(), act + ": elements");
            assertEquals(r.overall().maxAbs(), again.maxAbs(), 1e-3 * (1 + r.overall().maxAbs()), act + ": max");

            // the header carries what the trainer measured, per site, over the test images, against r
            assertEquals(ModelFormat.STATISTICS_VERSION, ModelFormat.version(model), act.id());
            final ActivationStatistics stats = model.header().statistics().orElseThrow();
            assertEquals(test.count(), stats.images());
            assertEquals(List.copyOf(r.sites().keySet()), stats.sites().stream().map(ActivationStatistics.Site::node)
                .toList(), act + ": every trainer site, in node order");
            for (final ActivationStatistics.Site s : stats.sites())
            {
                final ActivationStats measured = r.sites().get(s.node());
                assertEquals(measured.elements(), s.elements(), s.node());
                assertEquals(measured.outside(), s.outside(), s.node());
                assertEquals(measured.maxAbs(), s.maxAbs(), 0.0, s.node());
                assertEquals((float)t.config().clip(), s.range(), 0.0f, s.node());
                assertTrue(site.isInstance(model.node(s.node()).layer()), s.node());
            }
            assertTrue(json.contains("\"fingerprint\": \"" + model.fingerprint().hex() + "\""),
                act + ": the sidecar names the final file");
        }
    }

    @Test
    void gradientsAreClippedToTheNormOnlyWhenAboveIt()
    {
        final Param a = Param.trainable("a", Shape.of(2), 0f, true);
        final Param b = Param.trainable("b", Shape.of(1), 0f, false);
        a.grad()[0] = 3;
        b.grad()[0] = 4;
        assertEquals(5.0, Trainer.clipGradients(List.of(a, b), 10), 1e-12);
        assertArrayEquals(new float[] {3, 0}, a.grad(), "a norm below the limit is left alone");
        assertEquals(5.0, Trainer.clipGradients(List.of(a, b), 1), 1e-12);
        assertArrayEquals(new float[] {0.6f, 0}, a.grad(), 1e-7f);
        assertArrayEquals(new float[] {0.8f}, b.grad(), 1e-7f);

        final TrainConfig clipped = tiny(Workload.LENET, ActivationChoice.PILLAR).gradClip(2.5).build();
        assertTrue(clipped.signature().endsWith(" gradClip=2.5"), clipped.signature());
        assertEquals(clipped, EvaluateMain.config("{\"config\": \"" + clipped.signature() + "\"}"));
        assertFalse(tiny(Workload.LENET, ActivationChoice.PILLAR).build().signature().contains("gradClip"),
            "runs without clipping keep their signatures");
        assertThrows(IllegalArgumentException.class, () -> tiny(Workload.MLP, ActivationChoice.RELU).gradClip(-1)
            .build());
        assertThrows(IllegalArgumentException.class, () -> tiny(Workload.MLP, ActivationChoice.RELU)
            .gradClip(Double.NaN).build());
    }

    @Test
    void anExplicitFractionIsKeptAndAChosenOneRewritesTheFile() throws IOException
    {
        final TrainConfig.Builder config = tiny(Workload.MLP, ActivationChoice.PILLAR).degree(4)
            .testLimit(EXPORT_TEST_IMAGES);
        final Trainer explicit = trainer(config.fractionalBits(16).build());
        final Exporter.Report kept = Exporter.export(explicit, explicit.train(null, false), 0.1,
            dir.resolve("explicit.pim"), 16);
        assertEquals(16, ModelFormat.read(dir.resolve("explicit.pim")).header().fractionalBits());
        assertEquals(16, kept.fixedBits());

        final Trainer chosen = trainer(config.fractionalBits(TrainConfig.CHOSEN_AT_EXPORT).build());
        final Exporter.Report r = Exporter.export(chosen, chosen.train(null, false), 0.1, dir.resolve("chosen.pim"),
            chosen.config().evaluationBits());
        // the same weights (same seed), so the same agreements; at f = 12 a PILLAR plan has no truncation after its
        // activations, so 12 bits win wherever they agree on 99.8 % of the images
        final int expected = r.fixedPoint(12).agreement() >= FractionChoice.AGREEMENT ? 12 : 16;
        final ModelGraph model = ModelFormat.read(dir.resolve("chosen.pim"));
        assertEquals(expected, model.header().fractionalBits());
        assertEquals(r.model(), model);
        assertEquals(expected, r.fixedBits());
        assertTrue(chosen.config().signature().contains(" f=auto"), chosen.config().signature());
        assertEquals(chosen.config().signature(), EvaluateMain.config(Files.readString(Exporter.sidecar(
            dir.resolve("chosen.pim")))).signature(), "auto survives the sidecar round trip");
    }

    @Test
    void senetKeepsTheBudgetAndExportsItsMasks() throws IOException
    {
        final Trainer t = trainer(tiny(Workload.LENET, ActivationChoice.RELU).testLimit(EXPORT_TEST_IMAGES).build());
        final List<EpochStats> h = t.train(null, false);
        final Path teacherFile = dir.resolve("teacher.pim");
        Exporter.export(t, h, 0.1, teacherFile, 16);
        final ModelGraph teacher = ModelFormat.read(teacherFile);

        final TrainConfig config = tiny(Workload.LENET, ActivationChoice.SENET).epochs(1).learningRate(0.01)
            .testLimit(EXPORT_TEST_IMAGES).teacher(Trainer.modelId(teacher, "teacher.pim")).build();
        assertTrue(config.signature().endsWith(" teacher=" + Trainer.modelId(teacher, "teacher.pim")),
            "the teacher is part of the run's signature (checkpoint and sidecar): " + config.signature());
        final Senet senet = new Senet(config, teacher, TRAIN, TEST, new PrintStream(new ByteArrayOutputStream(),
            true, StandardCharsets.UTF_8), 0.5, 1);
        final List<EpochStats> history = senet.train();
        assertEquals(2, history.size(), "one mask-search and one fine-tuning epoch");
        assertEquals(15_220, senet.teacherRelus());
        assertTrue(senet.relus() <= 15_220 / 2 && senet.relus() >= 15_220 / 2 - 3, "kept " + senet.relus());

        final Path file = dir.resolve("lenet-senet.pim");
        final ResultsTable.Row row = senet.export(file, history, 0.1);
        final ModelGraph model = ModelFormat.read(file);
        assertTrue(model.contains(Layer.MaskedReLU.class));
        assertFalse(model.contains(Layer.ReLU.class));
        assertEquals(senet.relus(), model.comparisons(), "the exported masks are the searched ones");
        final float[] images = TEST.slice(0, EXPORT_TEST_IMAGES).toFloatArray();
        final float[] ours = senet.student().logits(images, EXPORT_TEST_IMAGES);
        final float[] theirs = FloatInference.of(model).run(images, EXPORT_TEST_IMAGES).logits();
        for (int i = 0; i < ours.length; i++)
        {
            assertEquals(ours[i], theirs[i], 1e-4 * (1 + Math.abs(ours[i])), "logit " + i);
        }
        assertEquals(config.signature(), EvaluateMain.config(Files.readString(Exporter.sidecar(file))).signature());
        assertTrue(row.fixedPoint().getFirst().agreement() >= 0.9);

        // the teacher's statistics (its file has them) are not carried into the student: the student's are its own,
        // measured on the first file and written into the final one, which the sidecar names
        assertTrue(teacher.header().statistics().isPresent());
        final ActivationStatistics stats = model.header().statistics().orElseThrow();
        assertEquals(EXPORT_TEST_IMAGES, stats.images());
        final java.util.Map<String, ActivationStats> sites = EvaluateMain.siteInputs(model.withHeader(
            model.header().withoutStatistics()), images, EXPORT_TEST_IMAGES, config.clip());
        assertEquals(List.copyOf(sites.keySet()), stats.sites().stream().map(ActivationStatistics.Site::node)
            .toList());
        for (final ActivationStatistics.Site s : stats.sites())
        {
            assertEquals(sites.get(s.node()).maxAbs(), s.maxAbs(), 0.0, s.node());
            assertEquals(sites.get(s.node()).outside(), s.outside(), s.node());
        }
        assertNotEquals(teacher.header().statistics().orElseThrow().sites(), stats.sites());
        assertTrue(Files.readString(Exporter.sidecar(file)).contains("\"fingerprint\": \"" +
            model.fingerprint().hex() + "\""), "the sidecar names the final file");
        assertEquals(Files.size(file), row.bytes());
    }

    @Test
    void modelSelectionKeepsAnInRangeLastEpochAndOtherwiseTakesTheLatestInRangeOneWithinTolerance()
    {
        // the last epoch stays inside: exported, even if an earlier in-range epoch scored higher on the test set
        assertFalse(Trainer.exportsEarlierEpoch(0, 40, 0.899, 0.895));
        // the last epoch lets one input escape: the latest in-range epoch, when at most 0.5 points less accurate
        assertTrue(Trainer.exportsEarlierEpoch(1, 40, 0.891, 0.895));
        assertTrue(Trainer.exportsEarlierEpoch(1, 40, 0.900, 0.895));
        assertFalse(Trainer.exportsEarlierEpoch(1, 40, 0.889, 0.895), "more than 0.5 points less accurate");
        assertFalse(Trainer.exportsEarlierEpoch(3, -1, 0, 0.895), "no epoch stayed inside");
    }

    private static void assertSameParams(final Network a, final Network b)
    {
        final List<Param> pa = a.params();
        final List<Param> pb = b.params();
        assertEquals(pa.size(), pb.size());
        for (int i = 0; i < pa.size(); i++)
        {
            assertArrayEquals(pa.get(i).value(), pb.get(i).value(), pa.get(i).name());
        }
    }
}
