package org.polypi.model.reference;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.polypi.model.Layer;
import org.polypi.model.ModelGraph;
import org.polypi.model.Shape;
import org.polypi.model.Tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.polypi.model.reference.FixedPointInferenceTest.header;
import static org.polypi.model.reference.FixedPointInferenceTest.single;

/**
 * {@link FloatInference} on every layer kind: against the fixed-point reference at high precision (an independent
 * implementation over the ring kernels, itself checked exactly in {@link FixedPointInferenceTest}), against
 * hand-computed values, vector kernels against scalar ones, and bad input.
 */
final class FloatInferenceTest
{
    private static final long SEED = 0xF10A7_1EF5L;
    /** Fractional bits for the high-precision comparison: the ring error is then ~1e-7 per layer. */
    private static final int HIGH_PRECISION_BITS = 24;

    private final SplittableRandom random = new SplittableRandom(SEED);

    /** A small graph with every layer kind except BatchNorm, including a residual Add and aliases. */
    private ModelGraph everyLayer()
    {
        final Shape in = Shape.of(2, 9, 8);
        final float[] mask = new float[4 * 5 * 4];
        for (int i = 0; i < mask.length; i++)
        {
            mask[i] = random.nextBoolean() ? 1f : 0f;
        }
        return ModelGraph.builder(header(in, HIGH_PRECISION_BITS)).input("x", in)
            .add("conv1", Layer.Conv2d.of(tensor(Shape.of(4, 2, 3, 3), 0.5), tensor(Shape.of(4), 0.5), 1, 1), "x")
            .add("relu1", new Layer.ReLU(), "conv1")
            .add("max", new Layer.MaxPool2d(3, 2, 1), "relu1")
            .add("conv2", Layer.Conv2d.of(tensor(Shape.of(4, 4, 3, 3), 0.3), null, 1, 1), "max")
            .add("cpoly", new Layer.ChannelPoly(tensor(Shape.of(4, 3), 0.5)), "conv2")
            .add("res", new Layer.Add(), "cpoly", "max")
            .add("masked", new Layer.MaskedReLU(Tensor.of(Shape.of(4, 5, 4), mask)), "res")
            .add("avg", new Layer.AvgPool2d(2, 1), "masked")
            .add("conv3", Layer.Conv2d.of(tensor(Shape.of(3, 4, 1, 1), 1), tensor(Shape.of(3), 0.5), 1, 0), "avg")
            .add("gap", new Layer.GlobalAvgPool(), "conv3")
            .add("flat", new Layer.Flatten(), "gap")
            .add("fc1", Layer.Linear.of(tensor(Shape.of(6, 3), 1), tensor(Shape.of(6), 0.5)), "flat")
            .add("poly", Layer.Poly.of(0.2f, 0.6f, 0.3f, -0.05f), "fc1")
            .add("id", new Layer.Identity(), "poly")
            .add("fc2", Layer.Linear.of(tensor(Shape.of(5, 6), 1), tensor(Shape.of(5), 0.5)), "id")
            .output("fc2").build();
    }

    @Test
    void everyLayerAgreesWithFixedPointAtHighPrecision()
    {
        final ModelGraph graph = everyLayer();
        final int items = 40;
        final float[] x = inputs(items * graph.inputs().getFirst().shape().size());
        final FloatOutput floats = FloatInference.of(graph).run(x, items);
        final double[] fixed = FixedPointInference.of(graph).run(x, items).logits();
        assertEquals(5, floats.classes());
        double largest = 0;
        for (int i = 0; i < fixed.length; i++)
        {
            assertEquals(fixed[i], floats.logits()[i], 1e-4, "logit " + i);
            largest = Math.max(largest, Math.abs(fixed[i]));
        }
        assertTrue(largest > 0.1, "logits must not all vanish, largest " + largest);
    }

    @Test
    void theObserverSeesEveryValueAsTheGraphCutThereComputesIt()
    {
        final ModelGraph graph = everyLayer();
        final int items = 40; // two chunks of FloatInference.DEFAULT_CHUNK_ITEMS
        final float[] x = inputs(items * graph.inputs().getFirst().shape().size());
        final java.util.Map<String, float[]> seen = new java.util.LinkedHashMap<>();
        final FloatOutput out = FloatInference.of(graph).run(x, items, (node, values, chunkItems) ->
        {
            final float[] before = seen.getOrDefault(node, new float[0]);
            final float[] after = java.util.Arrays.copyOf(before, before.length + values.length);
            System.arraycopy(values, 0, after, before.length, values.length);
            seen.put(node, after);
        });
        final java.util.List<String> expectedOrder = new java.util.ArrayList<>();
        expectedOrder.add("x");
        graph.nodes().forEach(n -> expectedOrder.add(n.name()));
        assertEquals(expectedOrder, java.util.List.copyOf(seen.keySet()), "input, then the nodes in order");
        assertArrayEquals(x, seen.get("x"));
        assertArrayEquals(out.logits(), seen.get("fc2"));
        for (final String cut : new String[]{"conv1", "max", "res", "gap", "flat", "poly", "id"})
        {
            final ModelGraph.Builder b = ModelGraph.builder(graph.header()).input("x",
                graph.inputs().getFirst().shape());
            for (final org.polypi.model.Node n : graph.nodes())
            {
                b.add(n.name(), n.layer(), n.inputs().toArray(String[]::new));
                if (n.name().equals(cut))
                {
                    break;
                }
            }
            final float[] expected = FloatInference.of(b.output(cut).build()).run(x, items).logits();
            assertEquals(items * graph.shape(cut).size(), seen.get(cut).length, cut);
            assertArrayEquals(expected, seen.get(cut), cut);
        }
    }

    @Test
    void vectorAndScalarKernelsAgree()
    {
        final ModelGraph graph = everyLayer();
        final int items = 33;
        final float[] x = inputs(items * graph.inputs().getFirst().shape().size());
        final FloatInference vector = FloatInference.of(graph);
        final FloatInference scalar = FloatInference.scalar(graph);
        assertEquals("scalar", scalar.kernels());
        final float[] v = vector.run(x, items).logits();
        final float[] s = scalar.run(x, items).logits();
        for (int i = 0; i < v.length; i++)
        {
            assertEquals(s[i], v[i], 1e-5 * (1 + Math.abs(s[i])), "logit " + i);
        }
        assertArrayEquals(scalar.top1(x, items), vector.top1(x, items));
    }

    @Test
    void batchNormAppliesTheInferenceFormula()
    {
        final Shape in = Shape.of(2, 1, 2);
        final Layer.BatchNorm bn = new Layer.BatchNorm(Tensor.of(Shape.of(2), 2f, 0.5f), Tensor.of(Shape.of(2), 1f, -1f),
            Tensor.of(Shape.of(2), 0.5f, -2f), Tensor.of(Shape.of(2), 4f, 0.25f), 1e-3f);
        final float[] x = {1f, -1f, 0f, 3f};
        final float[] y = FloatInference.of(single(in, bn, 16)).run(x, 1).logits();
        final double[] expected = {
            2 * (1 - 0.5) / Math.sqrt(4.001) + 1, 2 * (-1 - 0.5) / Math.sqrt(4.001) + 1,
            0.5 * (0 + 2) / Math.sqrt(0.251) - 1, 0.5 * (3 + 2) / Math.sqrt(0.251) - 1,
        };
        for (int i = 0; i < 4; i++)
        {
            assertEquals(expected[i], y[i], 1e-6, "element " + i);
        }
    }

    @Test
    void handComputedPoolingAndActivations()
    {
        final Shape in = Shape.of(1, 2, 3);
        final float[] x = {1f, -2f, 3f, -4f, 5f, 7f};
        assertArrayEquals(new float[] {0f, 3.25f}, run(single(in, new Layer.AvgPool2d(2, 1), 16), x), 1e-6f);
        assertArrayEquals(new float[] {10f / 6}, run(single(in, new Layer.GlobalAvgPool(), 16), x), 1e-6f);
        // Padding 1, window 2, stride 2: windows {1}, {-2, 3}, {-4}, {5, 7} plus padding, which never wins.
        assertArrayEquals(new float[] {1f, 3f, -4f, 7f}, run(single(in, new Layer.MaxPool2d(2, 2, 1), 16), x));
        assertArrayEquals(new float[] {1f, 0f, 3f, 0f, 5f, 7f}, run(single(in, new Layer.ReLU(), 16), x));
        // 1 - x + 0.5 x^2
        assertArrayEquals(new float[] {0.5f, 5f, 2.5f, 13f, 8.5f, 18.5f},
            run(single(in, Layer.Poly.of(1f, -1f, 0.5f), 16), x));
        final FloatOutput out = new FloatOutput(2, 3, new float[] {1f, 3f, 3f, -1f, -2f, -0.5f});
        assertArrayEquals(new int[] {1, 2}, out.top1());
    }

    @Test
    void rejectsBadInput()
    {
        final FloatInference relu = FloatInference.of(single(Shape.of(3), new Layer.ReLU(), 16));
        final IllegalArgumentException length = assertThrows(IllegalArgumentException.class,
            () -> relu.run(new float[5], 2));
        assertTrue(length.getMessage().contains("5") && length.getMessage().contains("needs 6"), length.getMessage());
        final IllegalArgumentException batch = assertThrows(IllegalArgumentException.class,
            () -> relu.run(new float[0], 0));
        assertTrue(batch.getMessage().contains("batch"), batch.getMessage());
        final ModelGraph twoInputs = ModelGraph.builder(header(Shape.of(3), 16)).input("a", Shape.of(3))
            .input("b", Shape.of(3)).add("sum", new Layer.Add(), "a", "b").output("sum").build();
        final IllegalArgumentException inputs = assertThrows(IllegalArgumentException.class,
            () -> FloatInference.of(twoInputs));
        assertTrue(inputs.getMessage().contains("exactly one input"), inputs.getMessage());
    }

    private static float[] run(final ModelGraph graph, final float[] x)
    {
        return FloatInference.of(graph).run(x, 1).logits();
    }

    private float[] inputs(final int n)
    {
        final float[] x = new float[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = (float)random.nextDouble(-1, 1);
        }
        return x;
    }

    private Tensor tensor(final Shape shape, final double bound)
    {
        final float[] v = new float[shape.size()];
        for (int i = 0; i < v.length; i++)
        {
            v[i] = (float)random.nextDouble(-bound, bound);
        }
        return Tensor.of(shape, v);
    }
}
