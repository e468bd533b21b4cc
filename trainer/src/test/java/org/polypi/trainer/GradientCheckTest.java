package org.polypi.trainer;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.function.Function;

import org.junit.jupiter.api.Test;
import org.polypi.model.Layer;
import org.polypi.model.ModelGraph;
import org.polypi.model.ModelHeader;
import org.polypi.model.Shape;
import org.polypi.model.Tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every layer's backward pass against central finite differences of {@link DoubleTwin}, an independent float64
 * forward, on small random shapes: the loss is {@code L = SUM out · r + penalty} for a random {@code r}, the analytic
 * gradients come from {@link Network#backward} (float32, kernels, parallel parts), the numeric ones from the twin in
 * double. Forward outputs are compared with the twin too, in training and evaluation mode.
 */
final class GradientCheckTest
{
    private static final long SEED = 0x6AD_C4ECL;
    /** Central-difference step: tiny, so a step almost never straddles a ReLU or max-pool kink. */
    private static final double STEP = 1e-6;
    /** Allowed |analytic - numeric| relative to |numeric| + the tensor's RMS gradient. */
    private static final double TOLERANCE = 2e-3;
    /** Most entries of one tensor that are checked (chosen at random). */
    private static final int MAX_CHECKS = 40;

    private final SplittableRandom random = new SplittableRandom(SEED);

    static ModelHeader header(final Shape in)
    {
        return new ModelHeader("test", in, List.of(), 12, 5f);
    }

    private Tensor tensor(final Shape s, final double scale)
    {
        final float[] v = new float[s.size()];
        for (int i = 0; i < v.length; i++)
        {
            v[i] = (float)(scale * (2 * random.nextDouble() - 1));
        }
        return Tensor.of(s, v);
    }

    @Test
    void conv2dStridedPaddedWithBias()
    {
        final Shape in = Shape.of(2, 7, 6);
        check(ModelGraph.builder(header(in)).input("x", in)
            .add("conv", Layer.Conv2d.of(tensor(Shape.of(3, 2, 3, 3), 0.5), tensor(Shape.of(3), 0.5), 2, 1), "x")
            .output("conv").build(), 9, 0, null);
    }

    @Test
    void conv2dRectangularKernelWidePaddingNoBias()
    {
        final Shape in = Shape.of(3, 5, 4);
        check(ModelGraph.builder(header(in)).input("x", in)
            .add("conv", new Layer.Conv2d(3, 2, 3, 2, 1, 2, tensor(Shape.of(2, 3, 3, 2), 0.5), null), "x")
            .output("conv").build(), 4, 0, null);
    }

    /** Fewer im2col rows (2·2·1 = 4) than output channels (6): the weight gradient takes the untransposed path. */
    @Test
    void conv2dWithMoreChannelsThanRows()
    {
        final Shape in = Shape.of(2, 5, 5);
        check(ModelGraph.builder(header(in)).input("x", in)
            .add("conv", Layer.Conv2d.of(tensor(Shape.of(6, 2, 2, 1), 0.5), tensor(Shape.of(6), 0.5), 1, 0), "x")
            .output("conv").build(), 9, 0, null);
    }

    @Test
    void linearWithBiasOverSeveralRowParts()
    {
        final Shape in = Shape.of(7);
        check(ModelGraph.builder(header(in)).input("x", in)
            .add("fc", Layer.Linear.of(tensor(Shape.of(5, 7), 0.5), tensor(Shape.of(5), 0.5)), "x")
            .output("fc").build(), 37, 0, null);
    }

    @Test
    void averagePoolsIncludingGlobalAndDroppedBorders()
    {
        final Shape in = Shape.of(2, 7, 7);
        check(ModelGraph.builder(header(in)).input("x", in)
            .add("pool", new Layer.AvgPool2d(3, 2), "x")
            .output("pool").build(), 3, 0, null);
        check(ModelGraph.builder(header(in)).input("x", in)
            .add("pool", new Layer.AvgPool2d(2, 2), "x")
            .output("pool").build(), 3, 0, null);
        check(ModelGraph.builder(header(in)).input("x", in)
            .add("gap", new Layer.GlobalAvgPool(), "x")
            .add("flat", new Layer.Flatten(), "gap")
            .output("flat").build(), 3, 0, null);
    }

    @Test
    void maxPoolWithPadding()
    {
        final Shape in = Shape.of(2, 6, 5);
        check(ModelGraph.builder(header(in)).input("x", in)
            .add("pool", new Layer.MaxPool2d(3, 2, 1), "x")
            .output("pool").build(), 3, 0, null);
    }

    @Test
    void batchNormOnFeatureMapsAndVectors()
    {
        final Shape map = Shape.of(3, 4, 3);
        check(ModelGraph.builder(header(map)).input("x", map)
            .add("bn", identityBatchNorm(3), "x")
            .output("bn").build(), 5, 0, null);
        final Shape vec = Shape.of(6);
        check(ModelGraph.builder(header(vec)).input("x", vec)
            .add("bn", identityBatchNorm(6), "x")
            .output("bn").build(), 7, 0, null);
    }

    @Test
    void reluAfterConvolution()
    {
        final Shape in = Shape.of(2, 5, 5);
        check(ModelGraph.builder(header(in)).input("x", in)
            .add("conv", Layer.Conv2d.of(tensor(Shape.of(3, 2, 3, 3), 0.5), tensor(Shape.of(3), 0.3), 1, 1), "x")
            .add("relu", new Layer.ReLU(), "conv")
            .output("relu").build(), 3, 0, null);
    }

    @Test
    void maskedReluAfterConvolution()
    {
        final Shape in = Shape.of(2, 4, 4);
        final float[] mask = new float[3 * 4 * 4];
        for (int i = 0; i < mask.length; i++)
        {
            mask[i] = random.nextBoolean() ? 1f : 0f;
        }
        check(ModelGraph.builder(header(in)).input("x", in)
            .add("conv", Layer.Conv2d.of(tensor(Shape.of(3, 2, 3, 3), 0.5), tensor(Shape.of(3), 0.3), 1, 1), "x")
            .add("masked", new Layer.MaskedReLU(Tensor.of(Shape.of(3, 4, 4), mask)), "conv")
            .output("masked").build(), 3, 0, null);
    }

    @Test
    void polynomialWithClipAndRangePenalty()
    {
        final Shape in = Shape.of(3, 4, 4);
        final RangePenalty penalty = new RangePenalty(2.0, 2);
        penalty.set(0.01, 10);
        // inputs are U(-3, 3) (see check): some beyond the clip 2.5, where the polynomial's gradient must vanish
        check(ModelGraph.builder(header(in)).input("x", in)
            .add("poly", Layer.Poly.of(0.3f, 0.5f, 0.15f, 0.01f, -0.003f), "x")
            .output("poly").build(), 4, 2.5, penalty);
    }

    @Test
    void polynomialWithTailTerm()
    {
        final Shape in = Shape.of(3, 4, 4);
        final RangePenalty both = new RangePenalty(2.0, 2);
        both.set(0.01, 10);
        both.setTail(1.5, 0.2);
        // inputs are U(-3, 3): about half lie beyond the margin 1.5, where the tail term's gradient is 2w(x -+ 1.5)
        check(ModelGraph.builder(header(in)).input("x", in)
            .add("poly", Layer.Poly.of(0.3f, 0.5f, 0.15f, 0.01f, -0.003f), "x")
            .output("poly").build(), 4, 2.5, both);
        final RangePenalty tailOnly = new RangePenalty(2.0, 1);
        tailOnly.setTail(2.0, 0.5);
        check(ModelGraph.builder(header(in)).input("x", in)
            .add("poly", Layer.Poly.of(0.46875f, 0.5f, 0.09375f), "x")
            .output("poly").build(), 40, 2.5, tailOnly);
    }

    @Test
    void polynomialOverManyParallelParts()
    {
        final Shape in = Shape.of(8, 16, 16);
        final RangePenalty penalty = new RangePenalty(2.0, 1);
        penalty.set(1e-3, 4);
        check(ModelGraph.builder(header(in)).input("x", in)
            .add("poly", Layer.Poly.of(0.46875f, 0.5f, 0.09375f), "x")
            .output("poly").build(), 40, 2.5, penalty);
    }

    @Test
    void herpnReplacesBatchNormAndChannelPoly()
    {
        final Shape in = Shape.of(2, 5, 4);
        check(ModelGraph.builder(header(in)).input("x", in)
            .add("conv", Layer.Conv2d.of(tensor(Shape.of(3, 2, 3, 3), 0.5), null, 1, 1), "x")
            .add("bn", identityBatchNorm(3), "conv")
            .add("act", new Layer.ChannelPoly(tensor(Shape.of(3, 3), 1)), "bn")
            .output("act").build(), 4, 0, null);
        final Shape vec = Shape.of(5);
        check(ModelGraph.builder(header(vec)).input("x", vec)
            .add("act", new Layer.ChannelPoly(tensor(Shape.of(5, 3), 1)), "x")
            .output("act").build(), 6, 0, null);
    }

    @Test
    void residualNetworkAccumulatesBothBranches()
    {
        final Shape in = Shape.of(2, 6, 6);
        check(ModelGraph.builder(header(in)).input("x", in)
            .add("conv1", Layer.Conv2d.of(tensor(Shape.of(2, 2, 3, 3), 0.5), null, 1, 1), "x")
            .add("bn1", identityBatchNorm(2), "conv1")
            .add("act1", new Layer.ReLU(), "bn1")
            .add("conv2", Layer.Conv2d.of(tensor(Shape.of(2, 2, 3, 3), 0.5), tensor(Shape.of(2), 0.2), 1, 1),
                "act1")
            .add("add", new Layer.Add(), "conv2", "x")
            .add("pool", new Layer.AvgPool2d(2, 2), "add")
            .add("flat", new Layer.Flatten(), "pool")
            .add("fc", Layer.Linear.of(tensor(Shape.of(4, 18), 0.5), tensor(Shape.of(4), 0.2)), "flat")
            .add("id", new Layer.Identity(), "fc")
            .output("id").build(), 5, 0, null);
    }

    @Test
    void senetDistillationAndAttentionTransferGradients()
    {
        final int batch = 3;
        final int classes = 5;
        final float[] student = new float[batch * classes];
        final float[] teacher = new float[batch * classes];
        for (int i = 0; i < student.length; i++)
        {
            student[i] = (float)(6 * random.nextDouble() - 3);
            teacher[i] = (float)(6 * random.nextDouble() - 3);
        }
        final float[] grad = new float[student.length];
        final double weight = 0.5;
        final double loss = Distillation.loss(student, teacher, batch, classes, weight, grad);
        assertTrue(loss > 0, "KL of different distributions is positive");
        assertEquals(0, Distillation.loss(teacher, teacher, batch, classes, weight, new float[grad.length]), 1e-9);
        final double h = 1e-3;
        for (int i = 0; i < student.length; i++)
        {
            final float[] plus = student.clone();
            final float[] minus = student.clone();
            plus[i] += (float)h;
            minus[i] -= (float)h;
            final double numeric = (Distillation.loss(plus, teacher, batch, classes, weight, new float[grad.length]) -
                Distillation.loss(minus, teacher, batch, classes, weight, new float[grad.length])) /
                (plus[i] - minus[i]);
            assertEquals(numeric, grad[i], 1e-3 * (1 + Math.abs(numeric)), "KD logit " + i);
        }

        final int channels = 3;
        final int positions = 4;
        final float[] a = new float[batch * channels * positions];
        final float[] t = new float[a.length];
        for (int i = 0; i < a.length; i++)
        {
            a[i] = (float)(2 * random.nextDouble() - 1);
            t[i] = (float)(2 * random.nextDouble() - 1);
        }
        final float[] g = new float[a.length];
        final double at = Senet.attentionTransfer(a, t, batch, channels, positions, 10, g);
        assertTrue(at > 0);
        for (int i = 0; i < a.length; i++)
        {
            final float[] plus = a.clone();
            final float[] minus = a.clone();
            plus[i] += (float)h;
            minus[i] -= (float)h;
            final double numeric = (Senet.attentionTransfer(plus, t, batch, channels, positions, 10,
                new float[a.length]) - Senet.attentionTransfer(minus, t, batch, channels, positions, 10,
                new float[a.length])) / (plus[i] - minus[i]);
            assertEquals(numeric, g[i], 2e-3 * (1 + Math.abs(numeric)), "AT element " + i);
        }
    }

    @Test
    void softmaxCrossEntropyGradient()
    {
        final int batch = 5;
        final int classes = 4;
        final float[] logits = new float[batch * classes];
        final int[] labels = new int[batch];
        for (int i = 0; i < logits.length; i++)
        {
            logits[i] = (float)(3 * random.nextDouble() - 1.5);
        }
        for (int i = 0; i < batch; i++)
        {
            labels[i] = random.nextInt(classes);
        }
        final float weight = 0.7f;
        final SoftmaxCrossEntropy.Result r = SoftmaxCrossEntropy.evaluate(logits, labels, batch, classes, weight);
        assertEquals(crossEntropy(toDouble(logits), labels, batch, classes), r.loss(), 1e-6);
        for (int i = 0; i < logits.length; i++)
        {
            final double[] plus = toDouble(logits);
            final double[] minus = toDouble(logits);
            plus[i] += STEP;
            minus[i] -= STEP;
            final double numeric = weight * (crossEntropy(plus, labels, batch, classes) -
                crossEntropy(minus, labels, batch, classes)) / (2 * STEP);
            assertEquals(numeric, r.gradient()[i], 1e-5, "logit " + i);
        }
    }

    private static double crossEntropy(final double[] logits, final int[] labels, final int batch,
                                       final int classes)
    {
        double loss = 0;
        for (int i = 0; i < batch; i++)
        {
            double sum = 0;
            for (int c = 0; c < classes; c++)
            {
                sum += Math.exp(logits[i * classes + c]);
            }
            loss += Math.log(sum) - logits[i * classes + labels[i]];
        }
        return loss / batch;
    }

    private static Layer.BatchNorm identityBatchNorm(final int c)
    {
        return new Layer.BatchNorm(Tensor.filled(Shape.of(c), 1f), Tensor.zeros(Shape.of(c)),
            Tensor.zeros(Shape.of(c)), Tensor.filled(Shape.of(c), 1f), BatchNormLayer.EPS);
    }

    /**
     * Builds the network, randomises the normalisation parameters and statistics, and checks forward outputs
     * (training and evaluation) and every input and parameter gradient against the twin.
     */
    private void check(final ModelGraph graph, final int batch, final double clip, final RangePenalty penalty)
    {
        final Network net = new Network(graph, clip, penalty);
        net.computeInputGradient(true);
        for (final Param p : net.params())
        {
            if (!p.decay())
            {
                final boolean variance = p.name().contains("running_var");
                final boolean scale = p.name().endsWith(".weight") || variance;
                for (int i = 0; i < p.size(); i++)
                {
                    p.value()[i] = (float)(scale ? 0.6 + 0.8 * random.nextDouble() : random.nextDouble() - 0.5);
                }
            }
        }
        final float[] x = new float[batch * net.inputSize()];
        for (int i = 0; i < x.length; i++)
        {
            x[i] = (float)(6 * random.nextDouble() - 3);
        }
        final Map<String, double[]> p = new HashMap<>();
        for (final Param q : net.params())
        {
            p.put(q.name(), toDouble(q.value()));
        }
        final DoubleTwin twin = new DoubleTwin(graph, clip, penalty);
        final double[] dx = toDouble(x);

        // evaluation mode first: it must not touch the running statistics
        final float[] eval = net.forward(x, batch, false).clone();
        assertClose(twin.forward(dx, batch, false, p).output(), eval, "eval forward");

        net.zeroGrad();
        final float[] y = net.forward(x, batch, true).clone();
        final double penaltyValue = penalty == null ? 0 : penalty.take();
        final DoubleTwin.Result reference = twin.forward(dx, batch, true, p);
        assertClose(reference.output(), y, "training forward");
        assertEquals(reference.penalty(), penaltyValue, 1e-6 * (1 + Math.abs(reference.penalty())), "penalty");

        final float[] r = new float[y.length];
        for (int i = 0; i < r.length; i++)
        {
            r[i] = (float)(2 * random.nextDouble() - 1);
        }
        final float[] gx = net.backward(r, batch).clone();
        final double[] dr = toDouble(r);

        checkTensor("input", gx, dx, v -> loss(twin, v, batch, p, dr));
        for (final Param q : net.trainableParams())
        {
            final double[] values = p.get(q.name());
            checkTensor(q.name(), q.grad(), values, v ->
            {
                final Map<String, double[]> changed = new HashMap<>(p);
                changed.put(q.name(), v);
                return loss(twin, dx, batch, changed, dr);
            });
        }
    }

    private static double loss(final DoubleTwin twin, final double[] x, final int batch,
                               final Map<String, double[]> p, final double[] r)
    {
        final DoubleTwin.Result res = twin.forward(x, batch, true, p);
        double sum = res.penalty();
        for (int i = 0; i < r.length; i++)
        {
            sum += res.output()[i] * r[i];
        }
        return sum;
    }

    private void checkTensor(final String name, final float[] analytic, final double[] at,
                             final Function<double[], Double> f)
    {
        final List<Integer> indices = new ArrayList<>();
        for (int i = 0; i < at.length; i++)
        {
            indices.add(i);
        }
        Collections.shuffle(indices, new Random(random.nextLong()));
        final int n = Math.min(MAX_CHECKS, at.length);
        final double[] numeric = new double[n];
        double squares = 0;
        for (int k = 0; k < n; k++)
        {
            final int i = indices.get(k);
            final double[] plus = at.clone();
            final double[] minus = at.clone();
            plus[i] += STEP;
            minus[i] -= STEP;
            numeric[k] = (f.apply(plus) - f.apply(minus)) / (2 * STEP);
            squares += numeric[k] * numeric[k];
        }
        final double rms = Math.sqrt(squares / n);
        assertTrue(rms > 0 || name.equals("input"), name + ": all checked gradients are zero, the check is empty");
        for (int k = 0; k < n; k++)
        {
            final int i = indices.get(k);
            final double err = Math.abs(analytic[i] - numeric[k]);
            assertTrue(err <= TOLERANCE * (Math.abs(numeric[k]) + rms) + 1e-9,
                name + "[" + i + "]: analytic " + analytic[i] + " vs numeric " + numeric[k] + " (rms " + rms + ")");
        }
    }

    private static void assertClose(final double[] expected, final float[] actual, final String what)
    {
        assertEquals(expected.length, actual.length, what + " length");
        for (int i = 0; i < expected.length; i++)
        {
            assertEquals(expected[i], actual[i], 1e-4 * (1 + Math.abs(expected[i])), what + " element " + i);
        }
    }

    private static double[] toDouble(final float[] v)
    {
        final double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++)
        {
            d[i] = v[i];
        }
        return d;
    }
}
