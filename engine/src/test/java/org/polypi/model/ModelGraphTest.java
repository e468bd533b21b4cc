package org.polypi.model;

import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelGraphTest
{
    private static Tensor zeros(final int... dims)
    {
        return Tensor.zeros(Shape.of(dims));
    }

    private static ModelGraph.Builder builder(final Shape in)
    {
        return ModelGraph.builder(TestModels.header("t", in)).input("x", in);
    }

    private static void assertMessage(final Runnable r, final String... parts)
    {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        for (final String p : parts)
        {
            assertTrue(e.getMessage().contains(p), () -> "message \"" + e.getMessage() + "\" lacks \"" + p + "\"");
        }
    }

    @Test
    void linearOnFeatureMapNamesLayerAndShapes()
    {
        final ModelGraph.Builder b = builder(Shape.of(50, 4, 4));
        assertMessage(() -> b.add("fc1", Layer.Linear.of(zeros(500, 800), null), "x"),
            "layer fc1 (Linear 800->500)", "input shape [50,4,4] has 800 elements", "Flatten");
        b.add("flat", new Layer.Flatten(), "x");
        assertMessage(() -> b.add("fc2", Layer.Linear.of(zeros(500, 700), null), "flat"),
            "layer fc2 (Linear 700->500)", "[800]", "[700]");
    }

    @Test
    void addWithDifferentShapesNamesBoth()
    {
        final ModelGraph.Builder b = builder(Shape.of(64, 8, 8));
        b.add("c", Layer.Conv2d.of(zeros(128, 64, 1, 1), null, 1, 0), "x");
        assertMessage(() -> b.add("res2", new Layer.Add(), "x", "c"), "layer res2 (Add)",
            "shapes [64,8,8] and [128,8,8] differ");
    }

    @Test
    void convErrorsNameLayerAndShapes()
    {
        final ModelGraph.Builder b = builder(Shape.of(3, 4, 4));
        assertMessage(() -> b.add("conv1", Layer.Conv2d.of(zeros(8, 1, 3, 3), null, 1, 0), "x"),
            "layer conv1 (Conv2d 1->8 3x3/1 pad 0)", "[3,4,4]", "3 channels, expected 1");
        assertMessage(() -> b.add("conv2", Layer.Conv2d.of(zeros(8, 3, 5, 5), null, 1, 0), "x"),
            "layer conv2", "[3,4,4]", "smaller than the kernel 5x5");
        final ModelGraph.Builder v = builder(Shape.of(12));
        assertMessage(() -> v.add("conv3", Layer.Conv2d.of(zeros(8, 3, 1, 1), null, 1, 0), "x"),
            "layer conv3", "[12] is not a feature map");
    }

    @Test
    void activationAndNormShapeErrors()
    {
        final ModelGraph.Builder b = builder(Shape.of(4, 2, 2));
        assertMessage(() -> b.add("m", new Layer.MaskedReLU(zeros(4, 2, 3)), "x"), "layer m", "[4,2,2]",
            "[4,2,3]");
        assertMessage(() -> b.add("p", new Layer.ChannelPoly(zeros(3, 3)), "x"), "layer p", "[4,2,2]");
        assertMessage(() -> b.add("n", new Layer.BatchNorm(zeros(5), zeros(5), zeros(5), zeros(5), 1e-5f), "x"),
            "layer n (BatchNorm 5)", "[4,2,2]");
        assertMessage(() -> b.add("pool", new Layer.AvgPool2d(3, 1), "x"), "layer pool", "[4,2,2]", "3x3");
    }

    @Test
    void layerConstructorsCheckTensorShapes()
    {
        assertMessage(() -> new Layer.Conv2d(3, 8, 3, 3, 1, 1, zeros(8, 3, 3, 2), null), "Conv2d weights",
            "[8,3,3,2]", "[8,3,3,3]");
        assertMessage(() -> new Layer.Linear(4, 2, zeros(2, 4), zeros(3)), "Linear bias", "[3]", "[2]");
        assertMessage(() -> new Layer.MaskedReLU(Tensor.of(Shape.of(2), 1f, 0.5f)), "mask element 1");
        assertMessage(() -> new Layer.MaskedReLU(Tensor.of(Shape.of(2), 1f, -0f)), "mask element 1");
        assertMessage(() -> new Layer.Poly(zeros(1)), "Poly coefficients");
        assertMessage(() -> new Layer.MaxPool2d(2, 2, 2), "padding 2 exceeds half the kernel 2");
        assertMessage(() -> new Layer.BatchNorm(zeros(2), zeros(2), zeros(2), zeros(2), Float.NaN), "eps");
    }

    @Test
    void namesAreUniqueKnownAndUsed()
    {
        final ModelGraph.Builder b = builder(Shape.of(4));
        b.add("a", new Layer.ReLU(), "x");
        assertMessage(() -> b.add("a", new Layer.ReLU(), "x"), "name a is used twice");
        assertMessage(() -> b.add("x", new Layer.ReLU(), "a"), "name x is used twice");
        assertMessage(() -> b.add("b", new Layer.ReLU(), "nope"), "layer b (ReLU)", "unknown input nope");
        assertMessage(() -> b.add("c", new Layer.Add(), "a"), "layer c (Add) takes 2 input(s), got 1");
        assertMessage(() -> b.add("", new Layer.ReLU(), "a"), "node name");
        assertMessage(() -> b.add("x".repeat(Names.MAX_BYTES + 1), new Layer.ReLU(), "a"), "257 UTF-8 bytes");
        assertMessage(() -> b.add("tab\there", new Layer.ReLU(), "a"), "control character");
        b.add("dead", new Layer.ReLU(), "x");
        b.output("a");
        assertMessage(b::build, "dead is neither read by a node nor a graph output");
        assertMessage(() -> b.output("x"), "output x is not a node");
        assertMessage(() -> b.output("a"), "declared twice");
    }

    @Test
    void headerInputShapeMustMatchFirstInput()
    {
        final ModelGraph.Builder b = ModelGraph.builder(TestModels.header("t", Shape.of(3))).input("x", Shape.of(4));
        b.add("a", new Layer.ReLU(), "x").output("a");
        assertMessage(b::build, "input x has shape [4] but the header says [3]");
    }

    @Test
    void nodesAreTopologicalWithShapesAndConsumers()
    {
        final ModelGraph g = TestModels.everyLayer();
        final List<Node> nodes = g.nodes();
        for (int i = 0; i < nodes.size(); i++)
        {
            for (final String in : nodes.get(i).inputs())
            {
                if (g.findNode(in).isPresent())
                {
                    final int at = nodes.indexOf(g.node(in));
                    assertTrue(at >= 0 && at < i, in + " must precede " + nodes.get(i).name());
                }
                else
                {
                    assertEquals("x", g.inputs().getFirst().name());
                }
            }
        }
        assertEquals(Shape.of(4, 6, 6), g.shape("res"));
        assertEquals(Shape.of(4, 3, 3), g.shape("max"));
        assertEquals(Shape.of(4, 2, 2), g.shape("avg"));
        assertEquals(Shape.of(4, 1, 1), g.shape("gap"));
        assertEquals(Shape.of(3), g.shape("id"));
        assertEquals(List.of("conv2", "res"), g.consumers("relu").stream().map(Node::name).toList());
        assertEquals(List.of(Shape.of(4, 6, 6), Shape.of(4, 6, 6)), g.inputShapes(g.node("res")));
        assertEquals(List.of(), g.consumers("id"));
        // conv 4*36*18 + conv2 4*36*4 + fc 12
        assertEquals(4L * 36 * 18 + 4L * 36 * 4 + 12, g.multiplyAdds());
        // relu, poly, cpoly: 144 each; masked 36; id 3
        assertEquals(3 * 144 + 36 + 3, g.activationSites());
        // relu 144 + masked ones (every third of 36) 12 + maxpool 36 outputs * 8
        assertEquals(144 + 12 + 36 * 8, g.comparisons());
        assertTrue(g.summary().contains("res = Add [poly, relu] -> [4,6,6]"), g.summary());
    }

    @Test
    void equalityIsStructuralAndBitExact()
    {
        assertEquals(TestModels.everyLayer(), TestModels.everyLayer());
        assertEquals(TestModels.everyLayer().hashCode(), TestModels.everyLayer().hashCode());
        assertNotEquals(TestModels.tinyMlp(ActivationKind.RELU), TestModels.tinyMlp(ActivationKind.IDENTITY));
        assertNotEquals(Tensor.of(Shape.of(1), 0.0f), Tensor.of(Shape.of(1), -0.0f));
        assertEquals(Tensor.of(Shape.of(1), Float.NaN), Tensor.of(Shape.of(1), Float.NaN));
        assertNotEquals(Tensor.of(Shape.of(1), Float.intBitsToFloat(0x7fc00001)), Tensor.of(Shape.of(1), Float.NaN));
    }

    @Test
    void tensorsAreImmutable()
    {
        final float[] v = {1, 2};
        final Tensor t = Tensor.of(Shape.of(2), v);
        v[0] = 9;
        t.toArray()[1] = 9;
        assertEquals(1f, t.get(0));
        assertEquals(2f, t.get(1));
        assertThrows(java.nio.ReadOnlyBufferException.class, () -> t.buffer().put(0, 5f));
    }
}
