package org.polypi.trainer;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.polypi.datasets.Dataset;
import org.polypi.datasets.Normalization;
import org.polypi.model.ReferenceNetworks.Workload;
import org.polypi.model.Shape;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Optimizers, schedules, the batch source and the command line against hand-computed values. */
final class ComponentsTest
{
    private static Param param(final float value, final float grad, final boolean decay)
    {
        final Param p = Param.trainable("w", Shape.of(1), value, decay);
        p.grad()[0] = grad;
        return p;
    }

    @Test
    void gradientClippingScalesOnlyAboveTheNormAndKeepsDirections()
    {
        final Param a = Param.trainable("a", Shape.of(2), 0f, true);
        final Param b = Param.trainable("b", Shape.of(1), 0f, false);
        a.grad()[0] = 3f;
        a.grad()[1] = 0f;
        b.grad()[0] = 4f;
        // norm 5: at the limit nothing changes
        assertEquals(5.0, Senet.clipGradientNorm(List.of(a, b), 5.0), 1e-12);
        assertArrayEquals(new float[]{3f, 0f}, a.grad());
        // above it every gradient is scaled by the same factor, to norm 1
        assertEquals(5.0, Senet.clipGradientNorm(List.of(a, b), 1.0), 1e-12);
        assertArrayEquals(new float[]{0.6f, 0f}, a.grad(), 1e-7f);
        assertArrayEquals(new float[]{0.8f}, b.grad(), 1e-7f);
        // a non-finite gradient is reported, not spread over the others
        b.grad()[0] = Float.NaN;
        assertTrue(Double.isNaN(Senet.clipGradientNorm(List.of(a, b), 1.0)));
        assertArrayEquals(new float[]{0.6f, 0f}, a.grad(), 1e-7f);
    }

    @Test
    void sgdNesterovMatchesTheClosedForm()
    {
        final Param p = param(1.0f, 0.5f, true);
        final Sgd sgd = new Sgd(List.of(p), 0.9, true, 0.1);
        sgd.step(0.01);
        // g = 0.5 + 0.1·1 = 0.6, v = 0.6, w = 1 - 0.01·(0.6 + 0.9·0.6)
        assertEquals(1 - 0.01 * (0.6 + 0.9 * 0.6), p.value()[0], 1e-7);
        final float w1 = p.value()[0];
        sgd.step(0.01);
        final double g = 0.5 + 0.1 * w1;
        final double v = 0.9 * 0.6 + g;
        assertEquals(w1 - 0.01 * (g + 0.9 * v), p.value()[0], 1e-6);
        assertEquals(2, sgd.steps());
    }

    @Test
    void sgdDoesNotDecayBiasesOrNorms()
    {
        final Param p = param(2.0f, 0f, false);
        new Sgd(List.of(p), 0.9, false, 0.5).step(0.1);
        assertEquals(2.0f, p.value()[0], 0f);
    }

    @Test
    void adamFirstStepMovesByTheLearningRate()
    {
        // bias correction makes the first update lr · g / |g| for any g
        final Param a = param(1.0f, 3.0f, false);
        final Param b = param(1.0f, -0.001f, false);
        new Adam(List.of(a, b), 0).step(0.01);
        assertEquals(0.99, a.value()[0], 1e-6);
        assertEquals(1.01, b.value()[0], 1e-5);
        final Param c = param(1.0f, 0f, true);
        new Adam(List.of(c), 0.5).step(0.1);
        assertEquals(1 - 0.1 * 0.5, c.value()[0], 1e-7, "decoupled weight decay");
    }

    @Test
    void cosineScheduleWarmsUpLinearlyThenDecaysToTheFloor()
    {
        final CosineSchedule s = new CosineSchedule(1.0, 0.0, 10, 110);
        assertEquals(0.1, s.at(0), 1e-12);
        assertEquals(1.0, s.at(9), 1e-12);
        assertEquals(1.0, s.at(10), 1e-12);
        assertEquals(0.5, s.at(60), 1e-12);
        assertEquals(0.0, s.at(110), 1e-12);
        assertTrue(s.at(100) > 0 && s.at(100) < s.at(90));
        assertThrows(IllegalArgumentException.class, () -> new CosineSchedule(1.0, 0, 20, 10));
        assertThrows(IllegalArgumentException.class, () -> new CosineSchedule(0, 0, 0, 10));
    }

    @Test
    void pillarWarmupFollowsTheReleasedTable()
    {
        final PillarSchedule s = new PillarSchedule(1.0, 10, true, true);
        final int[] gammas = {4, 6, 8, 10, 10};
        final double[] betas = {0.01, 0.02, 0.1, 0.2, 1.0};
        for (int e = 0; e < gammas.length; e++)
        {
            assertEquals(gammas[e], s.gammaAt(e));
            assertEquals(betas[e], s.betaAt(e), 1e-12);
        }
        assertEquals(0, s.crossEntropyWeight(0));
        assertEquals(1, s.crossEntropyWeight(1));
        final PillarSchedule flat = new PillarSchedule(1.0, 8, false, true);
        assertEquals(8, flat.gammaAt(0));
        assertEquals(1, flat.crossEntropyWeight(0));
        assertThrows(IllegalArgumentException.class, () -> new PillarSchedule(1.0, 5, true, false));
    }

    @Test
    void rangePenaltySumsEvenPowers()
    {
        final RangePenalty p = new RangePenalty(2.0, 4);
        p.set(8.0, 4);
        assertEquals(2.0, p.siteWeight(), 0);
        assertEquals(81.0 / 16, p.power(1.5), 1e-12);
        assertEquals(-27.0 / 8, p.powerBelow(-1.5), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> p.set(1, 3));
        assertThrows(IllegalArgumentException.class, () -> p.set(-1, 2));
    }

    @Test
    void rangePenaltyTailTermIsOffUntilSetAndChecksItsValues()
    {
        final RangePenalty p = new RangePenalty(2.0, 4);
        assertEquals(false, p.tailActive());
        assertEquals(Double.POSITIVE_INFINITY, p.tailMargin());
        p.setTail(4.5, 2.0);
        assertTrue(p.tailActive());
        assertEquals(0.5, p.tailSiteWeight(), 0);
        p.setTail(4.5, 0);
        assertEquals(false, p.tailActive());
        assertThrows(IllegalArgumentException.class, () -> p.setTail(4.5, -1));
        assertThrows(IllegalArgumentException.class, () -> p.setTail(0, 1));
        assertThrows(IllegalArgumentException.class, () -> p.setTail(Double.NaN, 1));
        assertThrows(IllegalArgumentException.class, () -> p.setTail(4.5, Double.POSITIVE_INFINITY));
    }

    @Test
    void tailTermKernelsMatchTheirScalarTwinAndAreZeroInsideTheMargin()
    {
        // the SIMD kernels themselves, not FloatOps.get(), which is the scalar twin when the Vector API is absent
        final FloatOps ops = new FloatOps.Vector();
        final FloatOps scalar = new FloatOps.Scalar();
        final float[] few = {-3f, -2f, -1f, 0.5f, 2f, 2.5f};
        assertEquals(1.0 + 0.25, scalar.tailSquareSum(few, 2f, 0, few.length), 1e-12);
        assertEquals(1.0 + 0.25, ops.tailSquareSum(few, 2f, 0, few.length), 1e-6);
        final float[] g = new float[few.length];
        ops.addTailGradient(few, 2f, 3f, g, 0, few.length);
        assertArrayEquals(new float[] {-3f, 0f, 0f, 0f, 0f, 1.5f}, g);

        final SplittableRandom random = new SplittableRandom(17);
        for (int trial = 0; trial < 50; trial++)
        {
            final int n = 1 + random.nextInt(300);
            final int from = random.nextInt(n);
            final float margin = (float)(0.5 + 3 * random.nextDouble());
            final float[] x = new float[n];
            final float[] dx = new float[n];
            for (int i = 0; i < n; i++)
            {
                x[i] = (float)(10 * random.nextDouble() - 5);
                dx[i] = (float)(random.nextDouble() - 0.5);
            }
            final double expected = scalar.tailSquareSum(x, margin, from, n);
            assertEquals(expected, ops.tailSquareSum(x, margin, from, n), 1e-5 * (1 + expected), "n " + n);
            final float[] a = dx.clone();
            final float[] b = dx.clone();
            ops.addTailGradient(x, margin, 0.7f, a, from, n);
            scalar.addTailGradient(x, margin, 0.7f, b, from, n);
            assertArrayEquals(b, a, 1e-6f, "n " + n);
            for (int i = 0; i < from; i++)
            {
                assertEquals(dx[i], a[i], "element " + i + " before the range must be untouched");
            }
        }
    }

    @Test
    void tailTermIsForPillarRunsAndNeedsAMarginAndAWeight()
    {
        final TrainConfig plain = TrainConfig.defaults(Workload.MLP,
            ActivationChoice.PILLAR);
        assertEquals(false, plain.signature().contains("tail"), "runs without the term keep their signature");
        final TrainConfig tailed = plain.toBuilder().tail(4.5, 0.1).build();
        assertTrue(tailed.signature().endsWith(" tail=4.5 tailWeight=0.1"), tailed.signature());
        assertThrows(IllegalArgumentException.class, () -> plain.toBuilder().tail(0, 0.1).build());
        assertThrows(IllegalArgumentException.class, () -> plain.toBuilder().tail(4.5, -0.1).build());
        final IllegalArgumentException herpn = assertThrows(IllegalArgumentException.class, () ->
            TrainConfig.builder(Workload.MLP, ActivationChoice.HERPN)
                .tail(4.5, 0.1).build());
        assertTrue(herpn.getMessage().contains("herpn has no polynomial range"), herpn.getMessage());
        final TrainConfig parsed = TrainerMain.Options.parse(new String[] {"--net", "mlp", "--act", "pillar",
            "--tail-margin", "4.5", "--tail-weight", "0.1"}).config.build();
        assertEquals(tailed.signature(), parsed.signature());
        final IllegalArgumentException alone = assertThrows(IllegalArgumentException.class, () ->
            TrainerMain.Options.parse(new String[] {"--net", "mlp", "--act", "pillar", "--tail-weight", "0.1"}));
        assertTrue(alone.getMessage().contains("--tail-weight needs --tail-margin"), alone.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TrainerMain.Options.parse(
            new String[] {"--net", "mlp", "--act", "pillar", "--tail-margin", "4.5"}));
    }

    @Test
    void sidecarConfigKeepsDistillationStartModelAndTailTerm()
    {
        // EvaluateMain re-measures a model from its sidecar: a config it reads back without the distillation weight,
        // the start model or the tail term would put the row under another recipe
        final TrainConfig c = TrainConfig.builder(Workload.MLP, ActivationChoice.PILLAR).epochs(45).distillWeight(0.5)
            .init("w1-relu.pim@0123456789abcdef").tail(3.0, 0.1).build();
        final String sidecar = "{\n  \"config\": \"" + c.signature() + "\",\n  \"minutes\": 1.0\n}\n";
        assertEquals(c, EvaluateMain.config(sidecar));
        final TrainConfig plain = TrainConfig.defaults(Workload.LENET, ActivationChoice.RELU);
        assertEquals(plain, EvaluateMain.config("{\"config\": \"" + plain.signature() + "\"}"));
    }

    /** Four 1x3x4 images whose pixel (r, q) is 100·image + 10·r + q. */
    private static Dataset ramp()
    {
        final float[] v = new float[4 * 12];
        for (int i = 0; i < 4; i++)
        {
            for (int r = 0; r < 3; r++)
            {
                for (int q = 0; q < 4; q++)
                {
                    v[i * 12 + r * 4 + q] = 100 * i + 10 * r + q;
                }
            }
        }
        return Dataset.of(v, new int[] {0, 1, 2, 3}, 1, 3, 4, List.of("a", "b", "c", "d"), Normalization.raw());
    }

    @Test
    void batchSourceShufflesDeterministicallyAndAugmentsByFlipAndShift()
    {
        final BatchSource plain = new BatchSource(ramp(), false, 0, 5);
        final int[] order = plain.shuffle(plain.random(0));
        assertArrayEquals(order, plain.shuffle(plain.random(0)));
        final int[] sorted = order.clone();
        Arrays.sort(sorted);
        assertArrayEquals(new int[] {0, 1, 2, 3}, sorted);
        assertEquals(2, plain.batches(3));

        final float[] x = new float[2 * 12];
        final int[] y = new int[2];
        plain.fill(new int[] {2, 1}, 0, 2, plain.random(0), x, y);
        assertArrayEquals(new int[] {2, 1}, y);
        assertEquals(200f, x[0]);
        assertEquals(123f, x[12 + 11]);

        // with flips and shifts every output pixel is a shifted, maybe mirrored, source pixel or background (0)
        final BatchSource aug = new BatchSource(ramp(), true, 1, 5);
        final SplittableRandom random = aug.random(3);
        boolean mirrored = false;
        for (int trial = 0; trial < 50; trial++)
        {
            aug.fill(new int[] {1}, 0, 1, random, x, y);
            final float corner = x[0];
            for (int r = 0; r < 3; r++)
            {
                for (int q = 0; q < 4; q++)
                {
                    final float v = x[r * 4 + q];
                    assertTrue(v == 0f || (v >= 100 && v < 200), "pixel " + v);
                }
            }
            // within a row, neighbours differ by one column in one direction
            final float a = x[4 + 1];
            final float b = x[4 + 2];
            if (a != 0f && b != 0f)
            {
                assertEquals(1f, Math.abs(a - b), 0f);
                mirrored |= a > b;
            }
            assertTrue(corner == 0f || corner >= 100);
        }
        assertTrue(mirrored, "50 draws without a single flip");
    }

    @Test
    void commandLineParsesOptionsAndRejectsUnknownOnes()
    {
        final TrainerMain.Options o = TrainerMain.Options.parse(new String[] {"--net", "lenet", "--act", "pillar",
            "--degree", "2", "--epochs", "3", "--lr", "0.1", "--no-flip", "--resume", "--out", "m.pim"});
        final TrainConfig c = o.config.build();
        assertEquals(2, c.degree());
        assertEquals(3, c.epochs());
        assertEquals(0.1, c.learningRate());
        assertEquals(false, c.flip());
        assertTrue(o.resume);
        assertEquals("lenet-pillar2.pim", TrainerMain.defaultName(c));
        assertEquals("minionn-herpn.pim", TrainerMain.defaultName(TrainerMain.Options.parse(
            new String[] {"--net", "minionn", "--act", "herpn"}).config.build()));
        assertThrows(IllegalArgumentException.class, () -> TrainerMain.Options.parse(
            new String[] {"--net", "lenet", "--act", "relu", "--bogus"}));
        assertThrows(IllegalArgumentException.class, () -> TrainerMain.Options.parse(new String[] {"--net", "lenet"}));
        assertThrows(IllegalArgumentException.class, () -> TrainerMain.Options.parse(
            new String[] {"--net", "lenet", "--act", "relu", "--epochs"}));
        assertThrows(IllegalArgumentException.class, () -> TrainerMain.Options.parse(
            new String[] {"--net", "resnet18", "--act", "relu"}).config.build());
        assertNotEquals(c.signature(), o.config.seed(2).build().signature());
    }

    @Test
    void entryPointReportsBadOptionsInOneLineWithoutThrowing()
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        final PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        assertEquals(TrainerMain.EXIT_USAGE, TrainerMain.run(new String[] {"--net", "lenet", "--act", "tanh"}, o, e));
        final String first = err.toString(StandardCharsets.UTF_8).lines().findFirst().orElseThrow();
        assertTrue(first.contains("unknown activation tanh"), first);
        err.reset();
        assertEquals(TrainerMain.EXIT_USAGE, TrainerMain.run(new String[] {"--net", "lenet", "--act", "relu",
            "--epochs", "many"}, o, e));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--epochs needs an integer, got many"));
        assertEquals(TrainerMain.EXIT_USAGE, TrainerMain.run(new String[] {"--net", "vgg", "--act", "relu"}, o, e));
        assertEquals(0, TrainerMain.run(new String[] {"--help"}, o, e));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("--degree"));
    }

    @Test
    void csvFieldsWithCommasRoundTrip()
    {
        assertEquals(List.of("a", "b, c", "d\"e", ""), ResultsTable.parseCsv("a,\"b, c\",\"d\"\"e\","));
    }
}
