package org.polypi.model.reference;

import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.polypi.kernels.FixedPoint;
import org.polypi.engine.plan.LocalSteps;
import org.polypi.engine.plan.PlanCompiler;
import org.polypi.engine.plan.PlanStep;
import org.polypi.kernels.Kernels;
import org.polypi.model.Layer;
import org.polypi.model.ModelGraph;
import org.polypi.model.ModelHeader;
import org.polypi.model.ReferenceNetworks;
import org.polypi.model.Shape;
import org.polypi.model.Tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link FixedPointInference} checked to the exact ring value: a hand-computed case, each layer against a direct
 * computation over the encoded values, the kernel polynomial path against the plan's scalar definition, the
 * step-by-step interface the secure engine is checked with, and bad input.
 */
final class FixedPointInferenceTest
{
    private static final int F = 16;
    private static final long SEED = 0xF1CED_0017L;

    private final SplittableRandom random = new SplittableRandom(SEED);
    private final FixedPoint codec = new FixedPoint(F);

    static ModelHeader header(final Shape input, final int fractionalBits)
    {
        return new ModelHeader("test", input, List.of(), fractionalBits, 8f);
    }

    /** A graph {@code x -> layer -> out}. */
    static ModelGraph single(final Shape input, final Layer layer, final int fractionalBits)
    {
        return ModelGraph.builder(header(input, fractionalBits)).input("x", input).add("out", layer, "x")
            .output("out").build();
    }

    @Test
    void handComputedLinearAndPoly()
    {
        // f = 4. x = (-1.5, -0.375) -> (-24, -6). W = [[0.5, -1.25], [2, 0.75]] -> [[8, -20], [32, 12]],
        // b = (0.25, -0.5) at the output scale 2f = 8 bits -> (64, -128). No truncation after the layer:
        // z0 = 8*-24 + -20*-6 + 64 = -8,      z1 = 32*-24 + 12*-6 - 128 = -968   (scale 8)
        // Poly 0.5 + x + 0.25 x^2 on z at scale 8, output at 3f = 12: power 1 is z itself (scale 8 = 2f, multiplier
        // enc_f(1) = 16); power 2 uses the copy z rounded by 4 bits (scale f, square at 2f, multiplier
        // enc_f(0.25) = 4); constant enc_3f(0.5) = 2048. Then the logits are rounded to f by 8 bits. Every truncation
        // rounds to nearest, ties up: round(v, s) = (v + 2^(s-1)) >> s.
        // y0: 16*-8 + 4*(round(-8, 4) = 0)^2 + 2048 = 1920,          out = round(1920, 8) = 8
        // y1: 16*-968 + 4*(round(-968, 4) = -60)^2 + 2048 = 960,     out = round(960, 8) = 4 (a floor would give
        // -61, 1444 and 5: the copy's -60.5 and the output's 3.75 both round up)
        final Shape in = Shape.of(2);
        final ModelGraph graph = ModelGraph.builder(header(in, 4)).input("x", in)
            .add("fc", Layer.Linear.of(Tensor.of(Shape.of(2, 2), 0.5f, -1.25f, 2f, 0.75f),
                Tensor.of(Shape.of(2), 0.25f, -0.5f)), "x")
            .add("act", Layer.Poly.of(0.5f, 1f, 0.25f), "fc")
            .output("act").build();
        final FixedPointOutput out = FixedPointInference.of(graph).run(new float[] {-1.5f, -0.375f}, 1);
        assertEquals(4, out.fractionalBits());
        assertArrayEquals(new long[] {8, 4}, out.ringLogits());
        assertArrayEquals(new double[] {0.5, 0.25}, out.logits());
        assertArrayEquals(new int[] {0}, out.top1());
    }

    @Test
    void preScalingShiftsMatchTheSeedTable()
    {
        // seeds.md §2.4: f = 16, d = 4 -> s = (0, 0, 6, 8) for k = 1..4; f = 12 -> (0, 0, 4, 6).
        assertArrayEquals(new int[] {0, 6, 8}, new int[] {FixedPointInference.preScaleShift(2, 16),
            FixedPointInference.preScaleShift(3, 16), FixedPointInference.preScaleShift(4, 16)});
        assertArrayEquals(new int[] {0, 4, 6}, new int[] {FixedPointInference.preScaleShift(2, 12),
            FixedPointInference.preScaleShift(3, 12), FixedPointInference.preScaleShift(4, 12)});
        for (int f = 1; f <= ModelHeader.MAX_FRACTIONAL_BITS; f++)
        {
            for (int k = 2; k <= Math.min(Layer.MAX_POLY_DEGREE, f + 1); k++)
            {
                final int s = FixedPointInference.preScaleShift(k, f);
                assertTrue(k * (f - s) <= 2 * f, "power " + k + " at f=" + f + " carries more than 2f bits");
                assertTrue(k * (f - s) >= f, "power " + k + " at f=" + f + " keeps fewer than f bits");
            }
        }
    }

    @Test
    void polyKernelPathEqualsItsScalarDefinition()
    {
        final int n = 1000;
        final double range = 2;
        for (int degree = 1; degree <= 6; degree++)
        {
            final float[] a = new float[degree + 1];
            for (int k = 0; k <= degree; k++)
            {
                a[k] = (float)random.nextDouble(-1, 1);
            }
            if (degree >= 3)
            {
                a[2] = 0f; // a skipped power must not change anything
            }
            final Layer.Poly poly = Layer.Poly.of(a);
            // The header's bound keeps the 3f output inside the scale budget: |p(x)| <= 2^7 for |x| <= 2.
            final Shape in = Shape.of(n);
            final ModelGraph graph = ModelGraph.builder(new ModelHeader("test", in, List.of(), F, (float)range))
                .input("x", in).add("out", poly, "x").output("out").build();
            final float[] x = randomInputs(n, range);
            final FixedPointInference reference = FixedPointInference.of(graph);
            final long[] ring = reference.run(x, 1).ringLogits();
            final PlanStep.Activation step = (PlanStep.Activation)reference.plan().steps().getFirst();
            assertEquals(PlanStep.Activation.Kind.PUBLIC, step.kind());
            final PlanStep.Truncate truncate = (PlanStep.Truncate)reference.plan().steps().get(1);
            assertEquals(2 * F, truncate.shift(), "the 3f output is truncated to f");
            for (int i = 0; i < n; i++)
            {
                final long z = codec.encode(x[i]);
                assertEquals(LocalSteps.roundShift(step.publicValue(z, step.nearestCarries(z)), 2 * F), ring[i], "degree " + degree + " at x=" + x[i]);
                // And the result approximates the real polynomial within the error of its roundings.
                final double xr = codec.decode(z);
                assertEquals(poly.evaluate(xr), codec.decode(ring[i]), polyErrorBound(poly, step, xr),
                    "degree " + degree + " at x=" + x[i]);
            }
        }
    }

    @Test
    void channelPolyWithEqualChannelsEqualsPoly()
    {
        final int channels = 3;
        final int degree = 4;
        final float[] a = {0.1f, 0.5f, 0.25f, -0.05f, 0.01f};
        final float[] perChannel = new float[channels * (degree + 1)];
        for (int c = 0; c < channels; c++)
        {
            System.arraycopy(a, 0, perChannel, c * (degree + 1), degree + 1);
        }
        final Shape in = Shape.of(channels, 5, 7);
        final float[] x = randomInputs(2 * in.size(), 4);
        final long[] poly = FixedPointInference.of(single(in, Layer.Poly.of(a), F)).run(x, 2).ringLogits();
        final long[] channelPoly = FixedPointInference.of(single(in, new Layer.ChannelPoly(
            Tensor.of(Shape.of(channels, degree + 1), perChannel)), F)).run(x, 2).ringLogits();
        assertArrayEquals(poly, channelPoly);
    }

    @Test
    void channelPolyUsesTheElementsChannel()
    {
        final Shape in = Shape.of(2, 2, 2);
        // Channel 0: 1 + x; channel 1: -x + x^2.
        final Layer.ChannelPoly layer = new Layer.ChannelPoly(Tensor.of(Shape.of(2, 3), 1f, 1f, 0f, 0f, -1f, 1f));
        final float[] x = {0.5f, -0.25f, 1f, 2f, 0.5f, -0.25f, 1f, 2f};
        final double[] out = FixedPointInference.of(single(in, layer, F)).run(x, 1).logits();
        assertArrayEquals(new double[] {1.5, 0.75, 2, 3, -0.25, 0.3125, 0, 2}, out);
    }

    @Test
    void conv2dWithBiasEqualsDirectRingComputation()
    {
        final int cin = 2;
        final int cout = 3;
        final int h = 6;
        final int w = 5;
        final Layer.Conv2d conv = Layer.Conv2d.of(randomTensor(Shape.of(cout, cin, 3, 3), 1),
            randomTensor(Shape.of(cout), 1), 2, 1);
        final Shape in = Shape.of(cin, h, w);
        final int items = 2;
        final float[] x = randomInputs(items * in.size(), 3);
        final ModelGraph graph = single(in, conv, F);
        final Shape outShape = graph.shape("out");
        final FixedPointInference inference = FixedPointInference.of(graph);
        final long[] ring = inference.run(x, items).ringLogits();
        final FixedPoint weightCodec = new FixedPoint(outputWeightScale(inference));
        final FixedPoint biasCodec = new FixedPoint(F + weightCodec.fractionalBits());
        final int oh = outShape.dim(1);
        final int ow = outShape.dim(2);
        for (int b = 0; b < items; b++)
        {
            for (int co = 0; co < cout; co++)
            {
                for (int oy = 0; oy < oh; oy++)
                {
                    for (int ox = 0; ox < ow; ox++)
                    {
                        long acc = biasCodec.encode(conv.bias().get(co));
                        for (int ci = 0; ci < cin; ci++)
                        {
                            for (int r = 0; r < 3; r++)
                            {
                                for (int s = 0; s < 3; s++)
                                {
                                    final int iy = oy * 2 + r - 1;
                                    final int ix = ox * 2 + s - 1;
                                    if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                                    {
                                        acc += weightCodec.encode(
                                            conv.weights().get(((co * cin + ci) * 3 + r) * 3 + s)) *
                                            codec.encode(x[((b * cin + ci) * h + iy) * w + ix]);
                                    }
                                }
                            }
                        }
                        assertEquals(LocalSteps.roundShift(acc, weightCodec.fractionalBits()),
                            ring[((b * cout + co) * oh + oy) * ow + ox]);
                    }
                }
            }
        }
    }

    /**
     * The weight scale of the single linear step of {@code inference}: 2f, since its output is the logits, truncated
     * to f anyway (PlanCompiler gives such weights the extra bits for free).
     */
    private static int outputWeightScale(final FixedPointInference inference)
    {
        final PlanStep.Linear linear = (PlanStep.Linear)inference.plan().steps().getFirst();
        assertEquals(2 * F, linear.weightScale(), "an output layer's weights take 2f");
        return linear.weightScale();
    }

    @Test
    void linearEqualsDirectRingComputation()
    {
        final int[][] sizes = {{19, 7, 5}, {3, 6, 40}, {1, 1, 1}, {64, 10, 9}};
        for (final int[] size : sizes)
        {
            for (final boolean withBias : new boolean[] {false, true})
            {
                final int in = size[0];
                final int out = size[1];
                final int items = size[2];
                final Layer.Linear fc = Layer.Linear.of(randomTensor(Shape.of(out, in), 1),
                    withBias ? randomTensor(Shape.of(out), 1) : null);
                final float[] x = randomInputs(items * in, 2);
                final FixedPointInference inference = FixedPointInference.of(single(Shape.of(in), fc, F));
                final long[] ring = inference.run(x, items).ringLogits();
                final FixedPoint weightCodec = new FixedPoint(outputWeightScale(inference));
                final FixedPoint biasCodec = new FixedPoint(F + weightCodec.fractionalBits());
                for (int b = 0; b < items; b++)
                {
                    for (int o = 0; o < out; o++)
                    {
                        long acc = withBias ? biasCodec.encode(fc.bias().get(o)) : 0;
                        for (int i = 0; i < in; i++)
                        {
                            acc += weightCodec.encode(fc.weights().get(o * in + i)) * codec.encode(x[b * in + i]);
                        }
                        assertEquals(LocalSteps.roundShift(acc, weightCodec.fractionalBits()), ring[b * out + o],
                            fc.describe() + " bias " + withBias + " item " + b + " output " + o);
                    }
                }
            }
        }
    }

    @Test
    void poolingEqualsDirectRingComputation()
    {
        final Shape in = Shape.of(2, 6, 4);
        final float[] x = randomInputs(2 * in.size(), 3);
        final long[] avg = FixedPointInference.of(single(in, new Layer.AvgPool2d(2, 2), F)).run(x, 2).ringLogits();
        final long[] global = FixedPointInference.of(single(in, new Layer.GlobalAvgPool(), F)).run(x, 2).ringLogits();
        final long[] max = FixedPointInference.of(single(in, new Layer.MaxPool2d(3, 2, 1), F)).run(x, 2).ringLogits();
        final long quarter = codec.encode(0.25);
        final long perArea = codec.encode(1.0 / 24);
        for (int m = 0; m < 4; m++)
        {
            long total = 0;
            for (int i = 0; i < 24; i++)
            {
                total += codec.encode(x[m * 24 + i]);
            }
            assertEquals(LocalSteps.roundShift(total * perArea, F), global[m], "global average of map " + m);
            for (int oy = 0; oy < 3; oy++)
            {
                for (int ox = 0; ox < 2; ox++)
                {
                    long sum = 0;
                    for (int r = 0; r < 2; r++)
                    {
                        for (int s = 0; s < 2; s++)
                        {
                            sum += codec.encode(x[m * 24 + (oy * 2 + r) * 4 + ox * 2 + s]);
                        }
                    }
                    assertEquals(LocalSteps.roundShift(sum * quarter, F), avg[(m * 3 + oy) * 2 + ox], "avg pool map " + m);
                    long best = Long.MIN_VALUE;
                    for (int r = 0; r < 3; r++)
                    {
                        for (int s = 0; s < 3; s++)
                        {
                            final int iy = oy * 2 + r - 1;
                            final int ix = ox * 2 + s - 1;
                            if (iy >= 0 && iy < 6 && ix >= 0 && ix < 4)
                            {
                                best = Math.max(best, codec.encode(x[m * 24 + iy * 4 + ix]));
                            }
                        }
                    }
                    assertEquals(best, max[(m * 3 + oy) * 2 + ox], "max pool map " + m);
                }
            }
        }
    }

    @Test
    void reluMaskedReluAddAndAliasesAreExact()
    {
        final Shape in = Shape.of(2, 3, 3);
        final float[] maskValues = new float[in.size()];
        for (int i = 0; i < maskValues.length; i++)
        {
            maskValues[i] = i % 3 == 0 ? 0f : 1f;
        }
        // out = relu(x) + masked(flatten(identity(x))) reshaped: build on flat vectors to exercise aliases.
        final ModelGraph graph = ModelGraph.builder(header(in, F)).input("x", in)
            .add("id", new Layer.Identity(), "x")
            .add("flat", new Layer.Flatten(), "id")
            .add("relu", new Layer.ReLU(), "flat")
            .add("masked", new Layer.MaskedReLU(Tensor.of(Shape.of(in.size()), maskValues)), "flat")
            .add("sum", new Layer.Add(), "relu", "masked")
            .output("sum").build();
        final int items = 3;
        final float[] x = randomInputs(items * in.size(), 2);
        final long[] ring = FixedPointInference.of(graph).run(x, items).ringLogits();
        for (int i = 0; i < x.length; i++)
        {
            final long v = codec.encode(x[i]);
            final long masked = maskValues[i % in.size()] == 0f ? v : Math.max(0, v);
            assertEquals(Math.max(0, v) + masked, ring[i], "element " + i);
        }
    }

    @Test
    void chunkingDoesNotChangeResults()
    {
        final Shape in = Shape.of(1, 8, 8);
        final ModelGraph graph = ModelGraph.builder(header(in, F)).input("x", in)
            .add("conv", Layer.Conv2d.of(randomTensor(Shape.of(4, 1, 3, 3), 1), randomTensor(Shape.of(4), 1), 1, 1),
                "x")
            .add("act", Layer.Poly.of(0.1f, 0.5f, 0.2f), "conv")
            .add("pool", new Layer.AvgPool2d(2, 2), "act")
            .add("flat", new Layer.Flatten(), "pool")
            .add("fc", Layer.Linear.of(randomTensor(Shape.of(10, 64), 0.5), randomTensor(Shape.of(10), 1)), "flat")
            .output("fc").build();
        final float[] x = randomInputs(37 * in.size(), 2);
        final long[] whole = FixedPointInference.of(graph, F, Kernels.get(), 64).run(x, 37).ringLogits();
        final long[] chunked = FixedPointInference.of(graph, F, Kernels.get(), 5).run(x, 37).ringLogits();
        final long[] scalar = FixedPointInference.of(graph, F, Kernels.byName("scalar"), 7).run(x, 37).ringLogits();
        assertArrayEquals(whole, chunked);
        assertArrayEquals(whole, scalar);
    }

    @Test
    void traceAndSingleStepsAgreeWithTheWholeRun()
    {
        final Shape in = Shape.of(1, 8, 8);
        final ModelGraph graph = ModelGraph.builder(header(in, F)).input("x", in)
            .add("conv", Layer.Conv2d.of(randomTensor(Shape.of(4, 1, 3, 3), 1), randomTensor(Shape.of(4), 1), 1, 1),
                "x")
            .add("act", Layer.Poly.of(0.1f, 0.5f, 0.2f), "conv")
            .add("pool", new Layer.AvgPool2d(2, 2), "act")
            .add("flat", new Layer.Flatten(), "pool")
            .add("fc", Layer.Linear.of(randomTensor(Shape.of(10, 64), 0.5), randomTensor(Shape.of(10), 1)), "flat")
            .output("fc").build();
        final int items = 3;
        final float[] x = randomInputs(items * in.size(), 2);
        final FixedPointInference reference = FixedPointInference.of(graph);
        final long[][] trace = reference.trace(x, items);
        assertArrayEquals(reference.run(x, items).ringLogits(), trace[reference.plan().outputTensor()]);
        for (int i = 0; i < reference.plan().steps().size(); i++)
        {
            final PlanStep step = reference.plan().steps().get(i);
            assertArrayEquals(trace[step.output()], reference.evaluateStep(i, trace, items), step.name());
        }
        final IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
            () -> reference.evaluateStep(0, new long[trace.length][], items));
        assertTrue(missing.getMessage().contains("must hold"), missing.getMessage());
    }

    @Test
    void rejectsUnfoldedModelsAndBadInput()
    {
        final Shape in = Shape.of(3);
        final Tensor ones = Tensor.filled(Shape.of(3), 1f);
        final ModelGraph withBatchNorm = ModelGraph.builder(header(in, F)).input("x", in)
            .add("bn1", new Layer.BatchNorm(ones, ones, ones, ones, 1e-5f), "x").output("bn1").build();
        final IllegalArgumentException bn = assertThrows(IllegalArgumentException.class,
            () -> FixedPointInference.of(withBatchNorm));
        assertTrue(bn.getMessage().contains("bn1") && bn.getMessage().contains("foldBatchNorm"), bn.getMessage());

        final FixedPointInference relu = FixedPointInference.of(single(in, new Layer.ReLU(), F));
        final IllegalArgumentException length = assertThrows(IllegalArgumentException.class,
            () -> relu.run(new float[7], 2));
        assertTrue(length.getMessage().contains("7") && length.getMessage().contains("needs 6"), length.getMessage());
        final IllegalArgumentException range = assertThrows(IllegalArgumentException.class,
            () -> relu.run(new float[] {0f, 1e30f, 0f}, 1));
        assertTrue(range.getMessage().contains("2^16"), range.getMessage());
        final IllegalArgumentException bits = assertThrows(IllegalArgumentException.class,
            () -> FixedPointInference.of(single(in, new Layer.ReLU(), F), 31));
        assertTrue(bits.getMessage().contains("fractionalBits") && bits.getMessage().contains("31"), bits.getMessage());
        final IllegalArgumentException degree = assertThrows(IllegalArgumentException.class,
            () -> FixedPointInference.of(single(in, Layer.Poly.of(0f, 0f, 0f, 1f), 1)));
        assertTrue(degree.getMessage().contains("out") && degree.getMessage().contains("fractional bits"),
            degree.getMessage());
        final IllegalArgumentException weight = assertThrows(IllegalArgumentException.class,
            () -> FixedPointInference.of(single(in, Layer.Linear.of(Tensor.filled(Shape.of(1, 3), 1e30f), null), F)));
        assertTrue(weight.getMessage().contains("weight 0"), weight.getMessage());
    }

    /**
     * Error of the plan's evaluation against the exact polynomial at x: the final rounding to f, the coefficient
     * encodings (a_k at f, a_0 at 3f), and per power k the rounding of its copy ({@code |δ| <= 2^(shift_k - f - 1)}
     * for an input at scale f, bounded here by {@code 2^(shift_k - f)}, so {@code |x^k - (x-δ)^k| <= k |δ| (|x| +
     * |δ|)^(k-1)}).
     */
    private static double polyErrorBound(final Layer.Poly poly, final PlanStep.Activation step, final double x)
    {
        final double ulp = Math.scalb(1.0, -F);
        final double ax = Math.abs(x);
        double bound = ulp + Math.scalb(1.0, -3 * F - 1);
        for (int k = 1; k <= poly.degree(); k++)
        {
            final double delta = Math.scalb(1.0, step.powerShift(k) - F);
            bound += Math.pow(ax + delta, k) * ulp / 2;
            if (step.powerShift(k) > 0)
            {
                bound += Math.abs(poly.coefficient(k)) * k * delta * Math.pow(ax + delta, k - 1);
            }
        }
        return bound * (1 + 1e-9);
    }

    private float[] randomInputs(final int n, final double bound)
    {
        final float[] x = new float[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = (float)random.nextDouble(-bound, bound);
        }
        return x;
    }

    private Tensor randomTensor(final Shape shape, final double bound)
    {
        return Tensor.of(shape, randomInputs(shape.size(), bound));
    }

    @Test
    void pillarSizedForItsReadersTruncationStillEvaluatesInputsFourTimesTheBound()
    {
        // fc (identity) -> PILLAR -> fc (identity) at f = 16, B = 5: the reader truncates PILLAR's output anyway, so
        // the plan sizes it for inputs up to 2B (output at 52 bits, x^4's copy at 10); the budget's headroom must
        // still carry inputs of 4B = 20 without a wrap (PlanCompiler.TRUNCATED_INPUT_EXCESS).
        final int n = 41;
        final float[] identity = new float[n * n];
        for (int i = 0; i < n; i++)
        {
            identity[i * n + i] = 1f;
        }
        final Shape in = Shape.of(n);
        final ModelGraph graph = ModelGraph.builder(new ModelHeader("test", in, List.of(), 16, 5f)).input("x", in)
            .add("fc1", Layer.Linear.of(Tensor.of(Shape.of(n, n), identity), null), "x")
            .add("act", ReferenceNetworks.PILLAR_DEGREE4, "fc1")
            .add("fc2", Layer.Linear.of(Tensor.of(Shape.of(n, n), identity), null), "act")
            .output("fc2").build();
        final FixedPointInference reference = FixedPointInference.of(graph);
        final PlanStep.Activation act = (PlanStep.Activation)reference.plan().steps().get(1);
        assertEquals(52, act.outputScale(), act.describe());
        final float[] x = new float[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = -20f + i; // -4B .. 4B
        }
        final double[] y = reference.run(x, 1).logits();
        final long[] ring = reference.trace(x, 1)[act.output()];
        for (int i = 0; i < n; i++)
        {
            final double exact = ReferenceNetworks.PILLAR_DEGREE4.evaluate(x[i]);
            assertEquals(exact, y[i], 1e-3 * Math.max(1, Math.abs(exact)), "PILLAR at x = " + x[i]);
            // the secure engine's faithful truncation of this output needs |v| < 2^62 (sized at B it would be 2^62.6)
            assertTrue(Math.abs(ring[i]) < 1L << PlanCompiler.BUDGET_BITS, "PILLAR output at x = " + x[i] + ": " +
                ring[i] + " is beyond the truncation's range");
        }
    }
}
