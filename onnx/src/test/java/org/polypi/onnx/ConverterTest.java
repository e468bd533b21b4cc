package org.polypi.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.polypi.onnx.OnnxBuilder.f;
import static org.polypi.onnx.OnnxBuilder.i;
import static org.polypi.onnx.OnnxBuilder.ints;
import static org.polypi.onnx.OnnxBuilder.s;
import static org.polypi.onnx.OnnxBuilder.values;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import onnx.Onnx.GraphProto;
import onnx.Onnx.ModelProto;
import onnx.Onnx.NodeProto;
import onnx.Onnx.TensorProto;
import org.junit.jupiter.api.Test;
import org.polypi.model.Layer;
import org.polypi.model.ModelGraph;
import org.polypi.model.ModelHeader;
import org.polypi.model.Node;
import org.polypi.model.Shape;
import org.polypi.model.Tensor;
import org.polypi.model.reference.FloatInference;

/** Conversion of hand-built ONNX graphs: each supported pattern, and a clear error for each unsupported one. */
class ConverterTest
{
    private static final int OPSET = 17;
    private static final int BATCH = 3;
    private static final double TOLERANCE = 1e-5;
    private static final long[] C3 = {3};

    private static OnnxImport imported(final OnnxBuilder b) throws OnnxImportException
    {
        return OnnxImporter.importBytes(b.bytes(), ImportOptions.defaults());
    }

    private static ModelGraph graph(final OnnxBuilder b) throws OnnxImportException
    {
        return imported(b).graph();
    }

    private static String error(final OnnxBuilder b)
    {
        return error(b.bytes());
    }

    private static String error(final byte[] bytes)
    {
        final OnnxImportException e = assertThrows(OnnxImportException.class,
            () -> OnnxImporter.importBytes(bytes, ImportOptions.defaults()));
        assertFalse(e.getMessage().isBlank());
        return e.getMessage();
    }

    private static List<Layer> layers(final ModelGraph g)
    {
        final List<Layer> list = new ArrayList<>();
        for (final Node n : g.nodes())
        {
            list.add(n.layer());
        }
        return list;
    }

    /** Both graphs give the same logits, within float32 rounding of a different evaluation order. */
    private static void assertSameOutputs(final ModelGraph expected, final ModelGraph actual)
    {
        final int perItem = expected.header().inputShape().size();
        final float[] x = values(99, BATCH * perItem, 1f);
        final float[] want = FloatInference.of(expected).run(x, BATCH).logits();
        final float[] got = FloatInference.of(actual).run(x, BATCH).logits();
        final double worst = LogitComparison.worstRelativeDifference(got, want, BATCH, want.length / BATCH);
        assertTrue(worst <= TOLERANCE, "relative difference " + worst);
    }

    private static ModelGraph.Builder expected(final Shape input)
    {
        return ModelGraph.builder(new ModelHeader("test", input, List.of(), ImportOptions.DEFAULT_FRACTIONAL_BITS,
            ImportOptions.DEFAULT_ACTIVATION_BOUND)).input("x", input);
    }

    /** Conv, BatchNormalization, Relu, Flatten, Gemm (transB, alpha, beta): the BatchNorm folds into the Conv. */
    @Test
    void convBatchNormReluGemm() throws Exception
    {
        final float[] w = values(1, 3 * 2 * 9, 0.5f);
        final float[] b = values(2, 3, 0.1f);
        final float[] gamma = {1.2f, 0.8f, 1.1f};
        final float[] beta = {0.1f, -0.2f, 0.05f};
        final float[] mean = {0.3f, -0.1f, 0.2f};
        final float[] var = {0.9f, 1.3f, 0.7f};
        final float[] fc = values(3, 10 * 108, 0.1f);
        final float[] fcb = values(4, 10, 0.1f);
        final OnnxBuilder m = OnnxBuilder.model(OPSET).input("x", -1, 2, 6, 6).output("y")
            .init("w", new long[] {3, 2, 3, 3}, w).init("b", C3, b).init("g", C3, gamma).init("be", C3, beta)
            .init("m", C3, mean).init("v", C3, var).init("fc", new long[] {10, 108}, fc).init("fcb",
                new long[] {10}, fcb)
            .node("Conv", "conv", new String[] {"x", "w", "b"}, new String[] {"c"}, ints("pads", 1, 1, 1, 1),
                ints("kernel_shape", 3, 3))
            .node("BatchNormalization", "bn", new String[] {"c", "g", "be", "m", "v"}, new String[] {"n"},
                f("epsilon", 1e-3f))
            .node("Relu", "relu", new String[] {"n"}, new String[] {"r"})
            .node("Flatten", "flat", new String[] {"r"}, new String[] {"fl"})
            .node("Gemm", "gemm", new String[] {"fl", "fc", "fcb"}, new String[] {"y"}, i("transB", 1),
                f("alpha", 0.5f), f("beta", 2f));
        final ModelGraph g = graph(m);
        assertFalse(g.contains(Layer.BatchNorm.class));
        final Shape in = Shape.of(2, 6, 6);
        final float[] halfFc = fc.clone();
        final float[] twiceBias = fcb.clone();
        for (int k = 0; k < halfFc.length; k++)
        {
            halfFc[k] *= 0.5f;
        }
        for (int k = 0; k < twiceBias.length; k++)
        {
            twiceBias[k] *= 2f;
        }
        final ModelGraph want = expected(in)
            .add("conv", Layer.Conv2d.of(Tensor.of(Shape.of(3, 2, 3, 3), w), Tensor.of(Shape.of(3), b), 1, 1), "x")
            .add("bn", new Layer.BatchNorm(Tensor.of(Shape.of(3), gamma), Tensor.of(Shape.of(3), beta),
                Tensor.of(Shape.of(3), mean), Tensor.of(Shape.of(3), var), 1e-3f), "conv")
            .add("relu", new Layer.ReLU(), "bn").add("flat", new Layer.Flatten(), "relu")
            .add("gemm", Layer.Linear.of(Tensor.of(Shape.of(10, 108), halfFc), Tensor.of(Shape.of(10), twiceBias)),
                "flat").output("gemm").build();
        assertSameOutputs(want, g);
    }

    /** MatMul followed by Add of a constant vector is a Linear layer with that bias, bit for bit. */
    @Test
    void matMulPlusAddIsLinearWithBias() throws Exception
    {
        final float[] wt = values(5, 4 * 3, 1f);
        final float[] bias = {0.5f, -0.25f, 2f};
        final ModelGraph g = graph(OnnxBuilder.model(OPSET).input("x", -1, 4).output("y")
            .init("W", new long[] {4, 3}, wt).init("B", C3, bias)
            .node("MatMul", "mm", "x", "W").node("Add", "y", "mm", "B"));
        assertEquals(1, g.nodes().size());
        final Layer.Linear l = assertInstanceOf(Layer.Linear.class, g.nodes().getFirst().layer());
        final float[] w = new float[12];
        for (int o = 0; o < 3; o++)
        {
            for (int k = 0; k < 4; k++)
            {
                w[o * 4 + k] = wt[k * 3 + o];
            }
        }
        assertArrayEquals(w, l.weights().toArray());
        assertArrayEquals(bias, l.bias().toArray());
    }

    /** A polynomial in Horner form (Mul/Add chains) becomes one public Poly with the exact coefficients. */
    @Test
    void hornerChainIsPublicPoly() throws Exception
    {
        // ((c3 x + c2) x + c1) x + c0
        final OnnxBuilder m = OnnxBuilder.model(13).input("x", -1, 5).output("y")
            .scalar("c3", -0.0029296875f).scalar("c2", 0.15625f).scalar("c1", 0.5f).scalar("c0", 0.314453125f)
            .node("Mul", "m3", "x", "c3").node("Add", "a2", "m3", "c2").node("Mul", "m2", "a2", "x")
            .node("Add", "a1", "m2", "c1").node("Mul", "m1", "x", "a1").node("Add", "y", "c0", "m1");
        final ModelGraph g = graph(m);
        final Layer.Poly p = assertInstanceOf(Layer.Poly.class, g.nodes().getFirst().layer());
        assertArrayEquals(new float[] {0.314453125f, 0.5f, 0.15625f, -0.0029296875f}, p.coefficients().toArray());
    }

    /** PILLAR's pattern: BatchNorm, then powers and multiples of its output: BatchNorm folds, the Poly stays public. */
    @Test
    void batchNormBeforePolynomialFoldsIntoConv() throws Exception
    {
        final OnnxBuilder m = OnnxBuilder.model(OPSET).input("x", 1, 2, 4, 4).output("y")
            .init("w", new long[] {3, 2, 1, 1}, values(6, 6, 1f)).init("g", C3, 1.5f, 0.5f, 2f)
            .init("be", C3, 0.1f, 0.2f, 0.3f).init("m", C3, 0f, 1f, -1f).init("v", C3, 1f, 4f, 0.25f)
            .scalar("two", 2f).scalar("half", 0.5f).scalar("q", 0.09375f)
            .node("Conv", "conv", "x", "w").node("BatchNormalization", "bn", "conv", "g", "be", "m", "v")
            .node("Pow", "sq", "bn", "two").node("Mul", "qsq", "sq", "q").node("Mul", "lin", "bn", "half")
            .node("Add", "y", "qsq", "lin");
        final ModelGraph g = graph(m);
        assertEquals(List.of(Layer.Conv2d.class, Layer.Poly.class),
            layers(g).stream().map(Object::getClass).toList());
        final Layer.Poly p = (Layer.Poly)g.nodes().get(1).layer();
        assertArrayEquals(new float[] {0f, 0.5f, 0.09375f}, p.coefficients().toArray());
    }

    /** A per-channel constant factor makes the polynomial private per channel (HerPN's folded form). */
    @Test
    void perChannelConstantsGiveChannelPoly() throws Exception
    {
        final OnnxBuilder m = OnnxBuilder.model(OPSET).input("x", -1, 3, 2, 2).output("y")
            .init("a", new long[] {1, 3, 1, 1}, 1f, 2f, 3f).init("c", new long[] {3, 1, 1}, 0.5f, 0.25f, 0f)
            .node("Mul", "xx", "x", "x").node("Mul", "ax", "xx", "a").node("Add", "y", "ax", "c");
        final Layer.ChannelPoly p = assertInstanceOf(Layer.ChannelPoly.class, graph(m).nodes().getFirst().layer());
        assertArrayEquals(new float[] {0.5f, 0f, 1f, 0.25f, 0f, 2f, 0f, 0f, 3f}, p.coefficients().toArray());
    }

    /** The same model with its nodes in reverse order imports to the same graph. */
    @Test
    void anyTopologicalOrder() throws Exception
    {
        final ModelProto sorted = residualModel().build();
        final GraphProto.Builder reversed = sorted.getGraph().toBuilder().clearNode();
        final List<NodeProto> nodes = new ArrayList<>(sorted.getGraph().getNodeList());
        Collections.reverse(nodes);
        reversed.addAllNode(nodes);
        final ModelGraph a = OnnxImporter.importBytes(sorted.toByteArray(), ImportOptions.defaults()).graph();
        final ModelGraph b = OnnxImporter.importBytes(sorted.toBuilder().setGraph(reversed).build().toByteArray(),
            ImportOptions.defaults()).graph();
        assertEquals(a, b);
        assertTrue(a.contains(Layer.Add.class));
    }

    private static OnnxBuilder residualModel()
    {
        return OnnxBuilder.model(OPSET).input("x", -1, 3, 4, 4).output("y")
            .init("w1", new long[] {3, 3, 3, 3}, values(7, 81, 0.3f)).init("w2", new long[] {3, 3, 1, 1},
                values(8, 9, 0.3f))
            .node("Conv", "c1", new String[] {"x", "w1"}, new String[] {"c1"}, ints("pads", 1, 1, 1, 1))
            .node("Relu", "r1", "c1").node("Conv", "c2", "r1", "w2").node("Add", "sum", "c2", "x")
            .node("Relu", "y", "sum");
    }

    /** Subtracting one branch from another is an Add of the negated branch. */
    @Test
    void subOfTwoBranches() throws Exception
    {
        final float[] w1 = values(9, 12, 0.5f);
        final float[] w2 = values(10, 12, 0.5f);
        final ModelGraph g = graph(OnnxBuilder.model(OPSET).input("x", -1, 4).output("y")
            .init("w1", new long[] {4, 3}, w1).init("w2", new long[] {4, 3}, w2)
            .node("MatMul", "a", "x", "w1").node("MatMul", "b", "x", "w2").node("Sub", "y", "a", "b"));
        final float[] t1 = new float[12];
        final float[] t2 = new float[12];
        for (int o = 0; o < 3; o++)
        {
            for (int k = 0; k < 4; k++)
            {
                t1[o * 4 + k] = w1[k * 3 + o];
                t2[o * 4 + k] = -w2[k * 3 + o];
            }
        }
        final ModelGraph want = expected(Shape.of(4))
            .add("a", Layer.Linear.of(Tensor.of(Shape.of(3, 4), t1), null), "x")
            .add("b", Layer.Linear.of(Tensor.of(Shape.of(3, 4), t2), null), "x")
            .add("y", new Layer.Add(), "a", "b").output("y").build();
        assertSameOutputs(want, g);
    }

    /** PyTorch's F.pad chain (ConstantOfShape, Concat, Reshape, Slice, Transpose, Cast) folds into the Conv. */
    @Test
    void zeroPadFoldsIntoConv() throws Exception
    {
        final OnnxBuilder m = OnnxBuilder.model(OPSET).input("x", -1, 1, 5, 5).output("y")
            .init("w", new long[] {2, 1, 3, 3}, values(11, 18, 1f))
            .initInts("four", new long[] {1}, 4).initInts("given", new long[] {4}, 2, 2, 2, 2)
            .initInts("shape", new long[] {2}, -1, 2).initInts("st", new long[] {1}, -1)
            .initInts("en", new long[] {1}, Long.MIN_VALUE + 1).initInts("ax", new long[] {1}, 0)
            .initInts("sp", new long[] {1}, -1).initInts("flat", new long[] {1}, -1)
            .node("ConstantOfShape", "zeros", new String[] {"four"}, new String[] {"zeros"},
                OnnxBuilder.t("value", intScalar()))
            .node("Concat", "cat", new String[] {"given", "zeros"}, new String[] {"cat"}, i("axis", 0))
            .node("Reshape", "pairs", "cat", "shape").node("Slice", "rev", "pairs", "st", "en", "ax", "sp")
            .node("Transpose", "tr", new String[] {"rev"}, new String[] {"tr"}, ints("perm", 1, 0))
            .node("Reshape", "pads", "tr", "flat")
            .node("Cast", "pads64", new String[] {"pads"}, new String[] {"pads64"}, i("to", 7))
            .node("Pad", "pad", new String[] {"x", "pads64", ""}, new String[] {"p"}, s("mode", "constant"))
            .node("Conv", "y", new String[] {"p", "w"}, new String[] {"y"}, ints("pads", 1, 1, 1, 1));
        final ModelGraph g = graph(m);
        final Layer.Conv2d c = assertInstanceOf(Layer.Conv2d.class, g.nodes().getFirst().layer());
        assertEquals(3, c.padding());
        assertEquals(Shape.of(2, 9, 9), g.shape(g.outputs().getFirst()));
    }

    private static TensorProto intScalar()
    {
        return TensorProto.newBuilder().setDataType(TensorProto.DataType.INT64.getNumber()).addDims(1)
            .addInt64Data(0).build();
    }

    /** A Pad that is not the same on all sides, or not before a Conv, is refused with the node's name. */
    @Test
    void padThatCannotFoldIsRefused()
    {
        final String asymmetric = error(OnnxBuilder.model(OPSET).input("x", -1, 1, 5, 5).output("y")
            .init("w", new long[] {1, 1, 1, 1}, 1f).initInts("pads", new long[] {8}, 0, 0, 1, 0, 0, 0, 1, 1)
            .node("Pad", "pad0", "x", "pads").node("Conv", "y", "pad0", "w"));
        assertTrue(asymmetric.contains("node 'pad0' (Pad)") && asymmetric.contains("nearest supported alternative"),
            asymmetric);
        final String notConv = error(OnnxBuilder.model(OPSET).input("x", -1, 1, 5, 5).output("y")
            .initInts("pads", new long[] {8}, 0, 0, 1, 1, 0, 0, 1, 1)
            .node("Pad", "pad0", "x", "pads").node("Relu", "y", "pad0"));
        assertTrue(notConv.contains("node 'pad0' (Pad)") && notConv.contains("node 'y' (Relu)"), notConv);
    }

    /** Clip(0, +inf) is ReLU; a Clip feeding a polynomial is PILLAR's training clip: dropped, with a notice. */
    @Test
    void clipAsReluAndAsTrainingClip() throws Exception
    {
        final OnnxImport relu = imported(OnnxBuilder.model(OPSET).input("x", -1, 4).output("y").scalar("zero", 0f)
            .node("Clip", "y", new String[] {"x", "zero", ""}, new String[] {"y"}));
        assertInstanceOf(Layer.ReLU.class, relu.graph().nodes().getFirst().layer());
        assertTrue(relu.notices().isEmpty());

        final OnnxImport pillar = imported(OnnxBuilder.model(OPSET).input("x", -1, 4).output("y")
            .scalar("lo", -4f).scalar("hi", 4f).scalar("two", 2f)
            .node("Clip", "clip", "x", "lo", "hi").node("Pow", "sq", "clip", "two").node("Add", "y", "sq", "clip"));
        assertInstanceOf(Layer.Poly.class, pillar.graph().nodes().getFirst().layer());
        assertEquals(1, pillar.notices().size());
        assertTrue(pillar.notices().getFirst().contains("node 'clip' (Clip)"), pillar.notices().toString());
        assertEquals(4f, pillar.graph().header().activationBound());

        final String relu6 = error(OnnxBuilder.model(OPSET).input("x", -1, 4).output("y").scalar("zero", 0f)
            .scalar("six", 6f).node("Clip", "r6", "x", "zero", "six").node("Relu", "y", "r6"));
        assertTrue(relu6.contains("node 'r6' (Clip)") && relu6.contains("nearest supported alternative: Relu"),
            relu6);
    }

    /** A BatchNorm that cannot fold (after a residual Add) stays as a per-channel affine layer, with a notice. */
    @Test
    void unfoldableBatchNormStaysAffine() throws Exception
    {
        final float[] gamma = {1.5f, 0.5f, 2f};
        final float[] beta = {0.1f, 0.2f, 0.3f};
        final float[] mean = {0f, 1f, -1f};
        final float[] var = {1f, 4f, 0.25f};
        final OnnxBuilder m = OnnxBuilder.model(OPSET).input("x", -1, 3, 2, 2).output("y")
            .init("g", C3, gamma).init("be", C3, beta).init("m", C3, mean).init("v", C3, var)
            .init("w", new long[] {3, 3, 1, 1}, values(12, 9, 1f))
            .node("Conv", "c", "x", "w").node("Add", "sum", "c", "x")
            .node("BatchNormalization", "bn", "sum", "g", "be", "m", "v").node("Relu", "y", "bn");
        final OnnxImport r = imported(m);
        assertTrue(r.graph().contains(Layer.ChannelPoly.class));
        assertEquals(1, r.notices().size(), r.notices().toString());
        final Shape s = Shape.of(3);
        final ModelGraph want = expected(Shape.of(3, 2, 2))
            .add("c", Layer.Conv2d.of(((Layer.Conv2d)r.graph().nodes().getFirst().layer()).weights(), null, 1, 0),
                "x")
            .add("sum", new Layer.Add(), "c", "x")
            .add("bn", new Layer.BatchNorm(Tensor.of(s, gamma), Tensor.of(s, beta), Tensor.of(s, mean),
                Tensor.of(s, var), 1e-5f), "sum")
            .add("y", new Layer.ReLU(), "bn").output("y").build();
        assertSameOutputs(want, r.graph());
    }

    /** x.view(x.size(0), -1) with a dynamic batch: Shape, Gather, Unsqueeze, Concat, Reshape is a Flatten. */
    @Test
    void shapeArithmeticFlatten() throws Exception
    {
        final ModelGraph g = graph(OnnxBuilder.model(OPSET).input("x", -1, 2, 3, 3).output("y")
            .initInts("zero", new long[0], 0).initInts("axes", new long[] {1}, 0)
            .initInts("minus", new long[] {1}, -1).init("w", new long[] {18, 2}, values(13, 36, 1f))
            .node("Shape", "shape", "x").node("Gather", "n", "shape", "zero").node("Unsqueeze", "n1", "n", "axes")
            .node("Concat", "target", new String[] {"n1", "minus"}, new String[] {"target"}, i("axis", 0))
            .node("Reshape", "flat", "x", "target").node("MatMul", "y", "flat", "w"));
        assertEquals(List.of(Layer.Flatten.class, Layer.Linear.class),
            layers(g).stream().map(Object::getClass).toList());
    }

    /** ReduceMean over H and W (x.mean((2, 3))) is a global average pool. */
    @Test
    void reduceMeanIsGlobalAveragePool() throws Exception
    {
        final ModelGraph g = graph(OnnxBuilder.model(OPSET).input("x", -1, 4, 3, 3).output("y")
            .node("ReduceMean", "y", new String[] {"x"}, new String[] {"y"}, ints("axes", 2, 3), i("keepdims", 0)));
        assertEquals(List.of(Layer.GlobalAvgPool.class, Layer.Flatten.class),
            layers(g).stream().map(Object::getClass).toList());
        assertEquals(Shape.of(4), g.shape(g.outputs().getFirst()));
    }

    /** Inference-mode Dropout is the identity; nodes that feed no output are dropped with a notice. */
    @Test
    void dropoutAndDeadNodes() throws Exception
    {
        final OnnxImport r = imported(OnnxBuilder.model(13).input("x", -1, 4).output("y").scalar("ratio", 0.5f)
            .node("Dropout", "drop", "x", "ratio").node("Relu", "y", "drop").node("Relu", "unused", "x"));
        assertEquals(List.of(Layer.ReLU.class), layers(r.graph()).stream().map(Object::getClass).toList());
        assertEquals(1, r.notices().size(), r.notices().toString());
    }

    /** Unsupported operators: the message names op type, node and the nearest supported alternative. */
    @Test
    void unsupportedOperatorsNameTheNodeAndAnAlternative()
    {
        final String sigmoid = error(OnnxBuilder.model(OPSET).input("x", -1, 4).output("y")
            .node("Sigmoid", "act", new String[] {"x"}, new String[] {"y"}));
        assertTrue(sigmoid.contains("node 'act' (Sigmoid)") && sigmoid.contains("nearest supported alternative: " +
            "Relu, or a polynomial activation"), sigmoid);
        final String unknown = error(OnnxBuilder.model(OPSET).input("x", -1, 4).output("y")
            .node("FrobnicateV2", "fz", new String[] {"x"}, new String[] {"y"}));
        assertTrue(unknown.contains("node 'fz' (FrobnicateV2)") && unknown.contains("Conv, Gemm"), unknown);
        final String grouped = error(OnnxBuilder.model(OPSET).input("x", -1, 4, 5, 5).output("y")
            .init("w", new long[] {4, 1, 3, 3}, values(14, 36, 1f))
            .node("Conv", "dw", new String[] {"x", "w"}, new String[] {"y"}, i("group", 4)));
        assertTrue(grouped.contains("node 'dw' (Conv)") && grouped.contains("group=4") &&
            grouped.contains("group=1"), grouped);
        final String product = error(OnnxBuilder.model(OPSET).input("x", -1, 4).output("y")
            .init("w", new long[] {4, 4}, values(15, 16, 1f))
            .node("MatMul", "a", "x", "w").node("Mul", "y", "a", "x"));
        assertTrue(product.contains("node 'y' (Mul)") && product.contains("two different tensors"), product);
        final String exponent = error(OnnxBuilder.model(OPSET).input("x", -1, 4).output("y").scalar("k", 2.5f)
            .node("Pow", "y", "x", "k"));
        assertTrue(exponent.contains("node 'y' (Pow)") && exponent.contains("exponent 2.5") &&
            exponent.contains("from 0 to 16"), exponent);
        final String degree = error(OnnxBuilder.model(OPSET).input("x", -1, 4).output("y").scalar("k", 5f)
            .scalar("four", 4f).node("Pow", "p4", "x", "four").node("Pow", "y", "p4", "k"));
        assertTrue(degree.contains("node 'y' (Pow)") && degree.contains("degree 20"), degree);
        final String ceil = error(OnnxBuilder.model(OPSET).input("x", -1, 1, 5, 5).output("y")
            .node("MaxPool", "mp", new String[] {"x"}, new String[] {"y"}, ints("kernel_shape", 2, 2),
                ints("strides", 2, 2), i("ceil_mode", 1)));
        assertTrue(ceil.contains("node 'mp' (MaxPool)") && ceil.contains("ceil_mode=False"), ceil);
        final ModelProto base = OnnxBuilder.model(OPSET).input("x", -1, 4).output("y").node("Relu", "y", "x")
            .build();
        final String custom = error(base.toBuilder().setGraph(base.getGraph().toBuilder().setNode(0,
            base.getGraph().getNode(0).toBuilder().setDomain("com.example"))).build().toByteArray());
        assertTrue(custom.contains("node 'y' (Relu)") && custom.contains("com.example"), custom);
    }

    /** Malformed graphs: each problem is an OnnxImportException that says what is wrong. */
    @Test
    void malformedGraphs()
    {
        final String cycle = error(OnnxBuilder.model(OPSET).input("x", -1, 4).output("y")
            .node("Add", "a", "x", "b").node("Relu", "b", "a").node("Relu", "y", "b"));
        assertTrue(cycle.contains("cycle"), cycle);
        final String missing = error(OnnxBuilder.model(OPSET).input("x", -1, 4).output("y")
            .node("MatMul", "y", "x", "weights"));
        assertTrue(missing.contains("'weights'") && missing.contains("missing initializer"), missing);
        final String wrongType = error(OnnxBuilder.model(OPSET).input("x", -1, 1, 4, 4).output("y")
            .init("w", new long[] {1, 1, 1, 1}, 1f)
            .node("Conv", "c", new String[] {"x", "w"}, new String[] {"y"}, f("strides", 2f)));
        assertTrue(wrongType.contains("'strides'") && wrongType.contains("FLOAT"), wrongType);
        final String absurd = error(OnnxBuilder.model(OPSET).input("x", -1, 4).output("y")
            .init("w", new long[] {1L << 40, 1L << 40}, 1f, 2f).node("MatMul", "y", "x", "w"));
        assertTrue(absurd.contains("initializer 'w'"), absurd);
        final String mismatch = error(OnnxBuilder.model(OPSET).input("x", -1, 4).output("y")
            .init("w", new long[] {4, 3}, 1f, 2f).node("MatMul", "y", "x", "w"));
        assertTrue(mismatch.contains("12 elements but stores 2"), mismatch);
        final String twice = error(OnnxBuilder.model(OPSET).input("x", -1, 4).output("y")
            .node("Relu", "a", new String[] {"x"}, new String[] {"y"})
            .node("Relu", "b", new String[] {"x"}, new String[] {"y"}));
        assertTrue(twice.contains("also produced by"), twice);
        final String opset = error(OnnxBuilder.model(9).input("x", -1, 4).output("y").node("Relu", "y", "x"));
        assertTrue(opset.contains("operator set version 9"), opset);
        final String twoInputs = error(OnnxBuilder.model(OPSET).input("x", -1, 4).input("z", -1, 4).output("y")
            .node("Add", "y", "x", "z"));
        assertTrue(twoInputs.contains("2 data inputs"), twoInputs);
        final byte[] good = OnnxBuilder.model(OPSET).input("x", -1, 4).output("y").node("Relu", "y", "x").bytes();
        assertTrue(error(java.util.Arrays.copyOf(good, good.length - 3)).contains("not a valid ONNX file"));
        assertTrue(error(new byte[0]).contains("empty"));
        assertTrue(error(new byte[] {0x08, 0x07}).contains("no graph"));
    }

    /** Every opset from 11 to 20 is accepted; 10 and 21 are not. */
    @Test
    void opsetRange() throws Exception
    {
        for (int v = GraphConverter.MIN_OPSET; v <= GraphConverter.MAX_OPSET; v++)
        {
            assertEquals(v, imported(OnnxBuilder.model(v).input("x", -1, 4).output("y").node("Relu", "y", "x"))
                .opset());
        }
        assertTrue(error(OnnxBuilder.model(10).input("x", -1, 4).output("y").node("Relu", "y", "x"))
            .contains("11-20"));
        assertTrue(error(OnnxBuilder.model(21).input("x", -1, 4).output("y").node("Relu", "y", "x"))
            .contains("11-20"));
    }

    /**
     * Opsets 18-20 moved attributes to inputs: Pad's axes (only H and W here), ReduceMean's axes. PyTorch 1.13
     * exports at most opset 17, so these forms are checked on hand-built graphs.
     */
    @Test
    void opset18InputsInsteadOfAttributes() throws Exception
    {
        for (int v = 18; v <= GraphConverter.MAX_OPSET; v++)
        {
            final ModelGraph g = graph(OnnxBuilder.model(v).input("x", -1, 1, 5, 5).output("y")
                .init("w", new long[] {2, 1, 3, 3}, values(12, 18, 1f))
                .initInts("pads", new long[] {4}, 1, 1, 1, 1).initInts("axes", new long[] {2}, 2, 3)
                .initInts("mean", new long[] {2}, -2, -1).scalar("lo", 0f)
                .node("Pad", "pad", new String[] {"x", "pads", "", "axes"}, new String[] {"p"})
                .node("Conv", "conv", new String[] {"p", "w"}, new String[] {"c"})
                .node("Clip", "relu", new String[] {"c", "lo", ""}, new String[] {"r"})
                .node("ReduceMean", "gap", new String[] {"r", "mean"}, new String[] {"y"}, i("keepdims", 0)));
            assertEquals(List.of(Layer.Conv2d.class, Layer.ReLU.class, Layer.GlobalAvgPool.class, Layer.Flatten.class),
                layers(g).stream().map(Object::getClass).toList(), "opset " + v);
            assertEquals(1, assertInstanceOf(Layer.Conv2d.class, g.nodes().getFirst().layer()).padding());
            assertEquals(Shape.of(2), g.shape(g.outputs().getFirst()));
        }
        // opset 18: ReduceMean without axes reduces everything, which a PolyPI layer cannot do
        final String all = error(OnnxBuilder.model(18).input("x", -1, 2, 3, 3).output("y")
            .node("ReduceMean", "all", new String[] {"x"}, new String[] {"y"}));
        assertTrue(all.contains("node 'all' (ReduceMean)") && all.contains("GlobalAveragePool"), all);
    }

    /** Class names must match the logits; the header takes them, and the bound and bits given. */
    @Test
    void headerOptions() throws Exception
    {
        final byte[] bytes = OnnxBuilder.model(OPSET).input("x", -1, 3).output("y").node("Relu", "y", "x").bytes();
        final ModelGraph g = OnnxImporter.importBytes(bytes, ImportOptions.defaults().withArchitecture("tiny")
            .withClassNames(List.of("a", "b", "c")).withFractionalBits(14).withActivationBound(7f)).graph();
        assertEquals(new ModelHeader("tiny", Shape.of(3), List.of("a", "b", "c"), 14, 7f), g.header());
        final OnnxImportException e = assertThrows(OnnxImportException.class, () -> OnnxImporter.importBytes(bytes,
            ImportOptions.defaults().withClassNames(List.of("a", "b"))));
        assertTrue(e.getMessage().contains("2 class names"), e.getMessage());
    }
}
