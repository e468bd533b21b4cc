package org.polypi.onnx;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.polypi.onnx.OnnxBuilder.f;
import static org.polypi.onnx.OnnxBuilder.i;
import static org.polypi.onnx.OnnxBuilder.ints;
import static org.polypi.onnx.OnnxBuilder.values;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import com.google.protobuf.ByteString;
import onnx.Onnx.AttributeProto;
import onnx.Onnx.AttributeProto.AttributeType;
import onnx.Onnx.GraphProto;
import onnx.Onnx.ModelProto;
import onnx.Onnx.NodeProto;
import onnx.Onnx.TensorProto;
import onnx.Onnx.TensorShapeProto;
import onnx.Onnx.ValueInfoProto;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.polypi.model.ModelFormat;
import org.polypi.model.ModelGraph;
import org.polypi.model.reference.FloatInference;

/**
 * Mutation fuzz of the importer: valid models (small hand-built graphs covering every converter path, and four of
 * PyTorch's fixtures) are damaged at the byte level (truncation, bit flips, insertions, deletions) and at the
 * protobuf level (nodes and initializers removed, inputs rewired into cycles, attributes of the wrong type or with
 * extreme values, absurd dimensions, wrong data types, unknown operators and opsets, broken graph inputs and
 * outputs). Every case must end in a valid model or an {@link OnnxImportException}: never another exception, an
 * out-of-memory error or a hang. A model that imports must also serialize and run.
 */
class MutationFuzzTest
{
    /** Cases and seed of a run; override with -Dpolypi.onnx.fuzzCases=N -Dpolypi.onnx.fuzzSeed=S to explore more. */
    private static final int CASES = Integer.getInteger("polypi.onnx.fuzzCases", 1200);
    private static final long SEED = Long.getLong("polypi.onnx.fuzzSeed", 0x5EED_0A11_2026L);
    /** Imported mutants are run when this small, to check the graph is usable (not just constructed). */
    private static final long RUN_MAX_MULTIPLY_ADDS = 5_000_000;
    private static final long[] EXTREMES = {0, 1, -1, 2, 3, 7, 1L << 31, -(1L << 31), 1L << 40, Long.MAX_VALUE,
        Long.MIN_VALUE, Integer.MAX_VALUE, 1L << 20};
    private static final String[] OP_TYPES = {"Conv", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Pow", "Relu",
        "Clip", "BatchNormalization", "AveragePool", "GlobalAveragePool", "MaxPool", "Flatten", "Reshape",
        "Identity", "Dropout", "Constant", "Pad", "Sigmoid", "Concat", "Slice", "Shape", "Gather", "Transpose",
        "ConstantOfShape", "Cast", "Squeeze", "Unsqueeze", "ReduceMean", "Sum", "Neg", "Softmax", "", "\u0000"};

    /** What a mutation did to the model. */
    private enum Mutation
    {
        TRUNCATE, BIT_FLIPS, OVERWRITE_BYTES, INSERT_BYTES, DELETE_BYTES, DUPLICATE_BYTES, REMOVE_NODE,
        REMOVE_INITIALIZER, SHUFFLE_NODES, ATTRIBUTE_TYPE, ATTRIBUTE_VALUE, INITIALIZER_DIMS, INITIALIZER_TYPE,
        INITIALIZER_DATA, REWIRE_INPUT, BACK_EDGE, DUPLICATE_OUTPUT, OP_TYPE, OPSET, GRAPH_INPUT, GRAPH_OUTPUT,
        CONSTANT_VALUE, IR_VERSION
    }

    private record Seed(String name, byte[] bytes, ModelProto model, ModelGraph graph)
    {
    }

    @Test
    // a hang guard only (the whole run takes a few seconds); a separate thread, so that even a loop that ignores
    // interrupts fails the test instead of hanging the build
    @Timeout(value = 120, unit = SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void everyMutantImportsOrFailsCleanly() throws Exception
    {
        final List<Seed> seeds = seeds();
        final SplittableRandom random = new SplittableRandom(SEED);
        final Mutation[] all = Mutation.values();
        final Map<Mutation, int[]> outcomes = new EnumMap<>(Mutation.class);
        int refused = 0;
        int accepted = 0;
        for (int c = 0; c < CASES; c++)
        {
            final Seed seed = seeds.get(c % seeds.size());
            final Mutation m = all[random.nextInt(all.length)];
            final byte[] mutant = mutate(seed, m, random);
            final String id = "case " + c + " (" + seed.name() + ", " + m + ")";
            try
            {
                final OnnxImport result = OnnxImporter.importBytes(mutant, ImportOptions.defaults());
                checkUsable(result.graph(), id);
                if (m == Mutation.SHUFFLE_NODES)
                {
                    assertEquals(seed.graph(), result.graph(), id + ": reordering the nodes changed the model");
                }
                accepted++;
                outcomes.computeIfAbsent(m, k -> new int[2])[0]++;
            }
            catch (final OnnxImportException e)
            {
                assertFalse(e.getMessage() == null || e.getMessage().isBlank(), id + ": empty message");
                assertFalse(m == Mutation.SHUFFLE_NODES, id + ": reordering the nodes broke the import: " +
                    e.getMessage());
                refused++;
                outcomes.computeIfAbsent(m, k -> new int[2])[1]++;
            }
            catch (final Throwable t)
            {
                fail(id + ": the importer threw " + t, t);
            }
        }
        assertEquals(CASES, accepted + refused);
        assertTrue(accepted > 0 && refused > 0, "accepted " + accepted + ", refused " + refused);
        // most mutation kinds must have produced refusals: otherwise they do not reach the checks they target
        int kindsRefused = 0;
        for (final int[] o : outcomes.values())
        {
            kindsRefused += o[1] > 0 ? 1 : 0;
        }
        assertTrue(kindsRefused >= all.length - 2, "only " + kindsRefused + " mutation kinds were ever refused");
    }

    /** An imported model round-trips through the model format and, if small, runs. */
    private static void checkUsable(final ModelGraph g, final String id) throws Exception
    {
        assertEquals(g, ModelFormat.fromBytes(ModelFormat.toBytes(g)), id + ": model format round trip");
        if (g.multiplyAdds() <= RUN_MAX_MULTIPLY_ADDS && g.header().inputShape().elements() <= 1 << 16)
        {
            final int n = g.header().inputShape().size();
            FloatInference.of(g).run(values(1, n, 1f), 1);
        }
    }

    private static List<Seed> seeds() throws OnnxImportException
    {
        final List<byte[]> models = new ArrayList<>();
        final List<String> names = new ArrayList<>();
        names.add("conv-bn-pillar");
        models.add(OnnxBuilder.model(13).input("x", -1, 2, 6, 6).output("y")
            .init("w", new long[] {3, 2, 3, 3}, values(1, 54, 0.5f)).init("g", new long[] {3}, 1f, 0.9f, 1.1f)
            .init("b", new long[] {3}, 0f, 0.1f, -0.1f).init("m", new long[] {3}, 0f, 0.2f, 0.1f)
            .init("v", new long[] {3}, 1f, 0.5f, 2f).init("fc", new long[] {108, 4}, values(2, 432, 0.1f))
            .scalar("lo", -5f).scalar("hi", 5f).scalar("two", 2f).scalar("c2", 0.15625f).scalar("c1", 0.5f)
            .scalar("c0", 0.3f)
            .node("Conv", "conv", new String[] {"x", "w"}, new String[] {"conv"}, ints("pads", 1, 1, 1, 1),
                ints("strides", 1, 1), ints("kernel_shape", 3, 3))
            .node("BatchNormalization", "bn", new String[] {"conv", "g", "b", "m", "v"}, new String[] {"bn"},
                f("epsilon", 1e-5f))
            .node("Clip", "clip", "bn", "lo", "hi").node("Pow", "sq", "clip", "two").node("Mul", "t2", "sq", "c2")
            .node("Mul", "t1", "clip", "c1").node("Add", "s", "t2", "t1").node("Add", "act", "s", "c0")
            .node("Flatten", "flat", new String[] {"act"}, new String[] {"flat"}, i("axis", 1))
            .node("MatMul", "y", "flat", "fc").bytes());
        names.add("residual-pools");
        models.add(OnnxBuilder.model(17).input("x", 1, 3, 8, 8).output("y")
            .init("w1", new long[] {3, 3, 3, 3}, values(3, 81, 0.3f)).init("w2", new long[] {3, 3, 1, 1},
                values(4, 9, 0.3f)).init("fc", new long[] {5, 3}, values(5, 15, 0.5f)).init("fb", new long[] {5},
                values(6, 5, 0.1f))
            .initInts("pads", new long[] {8}, 0, 0, 1, 1, 0, 0, 1, 1)
            .node("Pad", "pad", "x", "pads").node("Conv", "c1", "pad", "w1").node("Relu", "r1", "c1")
            .node("Conv", "c2", "r1", "w2").node("Add", "sum", "c2", "x")
            .node("MaxPool", "mp", new String[] {"sum"}, new String[] {"mp"}, ints("kernel_shape", 3, 3),
                ints("strides", 2, 2), ints("pads", 1, 1, 1, 1))
            .node("AveragePool", "ap", new String[] {"mp"}, new String[] {"ap"}, ints("kernel_shape", 2, 2),
                ints("strides", 2, 2))
            .node("GlobalAveragePool", "gap", "ap")
            .node("Flatten", "flat", new String[] {"gap"}, new String[] {"flat"}, i("axis", 1))
            .node("Gemm", "y", new String[] {"flat", "fc", "fb"}, new String[] {"y"}, i("transB", 1)).bytes());
        names.add("mlp-herpn-reshape");
        models.add(OnnxBuilder.model(14).input("x", -1, 1, 4, 4).output("y")
            .initInts("zero", new long[0], 0).initInts("axes", new long[] {1}, 0)
            .initInts("minus", new long[] {1}, -1).init("w", new long[] {16, 6}, values(7, 96, 0.3f))
            .init("g", new long[] {1, 6}, values(8, 6, 1f)).init("mu", new long[] {6}, values(9, 6, 0.1f))
            .init("one", new long[] {6}, 1f, 1f, 1f, 1f, 1f, 1f).init("zeros", new long[] {6}, new float[6])
            .init("w2", new long[] {6, 3}, values(10, 18, 0.5f)).init("b2", new long[] {3}, values(11, 3, 0.1f))
            .scalar("one_s", 1f).scalar("root2", 1.4142135f).scalar("r", 0.5f)
            .node("Shape", "shape", "x").node("Gather", "n", "shape", "zero").node("Unsqueeze", "n1", "n", "axes")
            .node("Concat", "target", new String[] {"n1", "minus"}, new String[] {"target"}, i("axis", 0))
            .node("Reshape", "flat", "x", "target").node("MatMul", "h", "flat", "w")
            .node("Mul", "hh", "h", "h").node("Sub", "hm", "hh", "one_s").node("Div", "h2", "hm", "root2")
            .node("BatchNormalization", "bn1", "h", "one", "zeros", "mu", "one")
            .node("BatchNormalization", "bn2", "h2", "one", "zeros", "mu", "one")
            .node("Mul", "t1", "bn1", "r").node("Add", "s", "t1", "bn2").node("Mul", "gs", "g", "s")
            .node("Dropout", "drop", "gs").node("MatMul", "mm", "drop", "w2").node("Add", "y", "mm", "b2").bytes());
        for (final String fixture : new String[] {"mlp-pillar", "lenet-pillar", "minionn-fmnist-relu",
            "tv-resnet18-pillar"})
        {
            names.add(fixture);
            models.add(Fixture.load(fixture).onnx());
        }
        final List<Seed> seeds = new ArrayList<>();
        for (int k = 0; k < models.size(); k++)
        {
            final byte[] b = models.get(k);
            seeds.add(new Seed(names.get(k), b, OnnxImporter.parse(b),
                OnnxImporter.importBytes(b, ImportOptions.defaults()).graph()));
        }
        return seeds;
    }

    private static byte[] mutate(final Seed seed, final Mutation m, final SplittableRandom r)
    {
        final byte[] b = seed.bytes();
        return switch (m)
        {
            case TRUNCATE -> Arrays.copyOf(b, r.nextInt(b.length));
            case BIT_FLIPS ->
            {
                final byte[] c = b.clone();
                for (int k = 1 + r.nextInt(8); k > 0; k--)
                {
                    final int at = r.nextInt(c.length);
                    c[at] ^= (byte)(1 << r.nextInt(Byte.SIZE));
                }
                yield c;
            }
            case OVERWRITE_BYTES ->
            {
                final byte[] c = b.clone();
                for (int k = 1 + r.nextInt(4); k > 0; k--)
                {
                    c[r.nextInt(c.length)] = (byte)r.nextInt(1 << Byte.SIZE);
                }
                yield c;
            }
            case INSERT_BYTES ->
            {
                final int at = r.nextInt(b.length + 1);
                final byte[] extra = new byte[1 + r.nextInt(16)];
                for (int k = 0; k < extra.length; k++)
                {
                    extra[k] = (byte)r.nextInt(1 << Byte.SIZE);
                }
                yield splice(b, at, at, extra);
            }
            case DELETE_BYTES ->
            {
                final int at = r.nextInt(b.length);
                yield splice(b, at, Math.min(b.length, at + 1 + r.nextInt(64)), new byte[0]);
            }
            case DUPLICATE_BYTES ->
            {
                final int from = r.nextInt(b.length);
                final byte[] piece = Arrays.copyOfRange(b, from, Math.min(b.length, from + 1 + r.nextInt(64)));
                final int at = r.nextInt(b.length + 1);
                yield splice(b, at, at, piece);
            }
            default -> mutateModel(seed.model(), m, r).toByteArray();
        };
    }

    private static byte[] splice(final byte[] b, final int from, final int to, final byte[] insert)
    {
        final byte[] c = new byte[b.length - (to - from) + insert.length];
        System.arraycopy(b, 0, c, 0, from);
        System.arraycopy(insert, 0, c, from, insert.length);
        System.arraycopy(b, to, c, from + insert.length, b.length - to);
        return c;
    }

    private static ModelProto mutateModel(final ModelProto model, final Mutation m, final SplittableRandom r)
    {
        final ModelProto.Builder mb = model.toBuilder();
        final GraphProto.Builder g = mb.getGraphBuilder();
        final int nodes = g.getNodeCount();
        switch (m)
        {
            case REMOVE_NODE -> g.removeNode(r.nextInt(nodes));
            case REMOVE_INITIALIZER ->
            {
                if (g.getInitializerCount() > 0)
                {
                    g.removeInitializer(r.nextInt(g.getInitializerCount()));
                }
            }
            case SHUFFLE_NODES ->
            {
                final List<NodeProto> list = new ArrayList<>(g.getNodeList());
                for (int k = list.size() - 1; k > 0; k--)
                {
                    final int j = r.nextInt(k + 1);
                    final NodeProto t = list.get(k);
                    list.set(k, list.get(j));
                    list.set(j, t);
                }
                g.clearNode().addAllNode(list);
            }
            case ATTRIBUTE_TYPE, ATTRIBUTE_VALUE -> mutateAttribute(g, m, r);
            case INITIALIZER_DIMS, INITIALIZER_TYPE, INITIALIZER_DATA -> mutateInitializer(g, m, r);
            case REWIRE_INPUT ->
            {
                final NodeProto.Builder n = g.getNodeBuilder(r.nextInt(nodes));
                if (n.getInputCount() > 0)
                {
                    n.setInput(r.nextInt(n.getInputCount()), randomValueName(g, r));
                }
            }
            case BACK_EDGE ->
            {
                final int to = r.nextInt(nodes);
                final int from = to + r.nextInt(nodes - to);
                final NodeProto.Builder n = g.getNodeBuilder(to);
                if (n.getInputCount() > 0)
                {
                    n.setInput(r.nextInt(n.getInputCount()), g.getNode(from).getOutput(0));
                }
            }
            case DUPLICATE_OUTPUT -> g.getNodeBuilder(r.nextInt(nodes)).setOutput(0,
                g.getNode(r.nextInt(nodes)).getOutput(0));
            case OP_TYPE -> g.getNodeBuilder(r.nextInt(nodes)).setOpType(OP_TYPES[r.nextInt(OP_TYPES.length)]);
            case OPSET ->
            {
                if (r.nextBoolean())
                {
                    mb.setOpsetImport(0, mb.getOpsetImport(0).toBuilder().setVersion(r.nextInt(-5, 30)));
                }
                else
                {
                    mb.setOpsetImport(0, mb.getOpsetImport(0).toBuilder().setDomain(r.nextBoolean() ? "ai.onnx.ml" :
                        "ai.onnx"));
                }
            }
            case GRAPH_INPUT -> mutateGraphInput(g, r);
            case GRAPH_OUTPUT ->
            {
                switch (r.nextInt(4))
                {
                    case 0 -> g.clearOutput();
                    case 1 -> g.setOutput(0, ValueInfoProto.newBuilder().setName(randomValueName(g, r)));
                    case 2 -> g.addOutput(g.getOutput(0));
                    default -> g.addOutput(ValueInfoProto.newBuilder().setName(g.getInput(0).getName()));
                }
            }
            case CONSTANT_VALUE -> mutateConstant(g, r);
            case IR_VERSION -> mb.setIrVersion(EXTREMES[r.nextInt(EXTREMES.length)]);
            default -> throw new IllegalStateException(m + " is a byte-level mutation");
        }
        return mb.build();
    }

    private static void mutateAttribute(final GraphProto.Builder g, final Mutation m, final SplittableRandom r)
    {
        final List<Integer> withAttributes = new ArrayList<>();
        for (int k = 0; k < g.getNodeCount(); k++)
        {
            if (g.getNode(k).getAttributeCount() > 0)
            {
                withAttributes.add(k);
            }
        }
        if (withAttributes.isEmpty())
        {
            return;
        }
        final NodeProto.Builder n = g.getNodeBuilder(withAttributes.get(r.nextInt(withAttributes.size())));
        final int which = r.nextInt(n.getAttributeCount());
        final AttributeProto.Builder a = n.getAttributeBuilder(which);
        if (m == Mutation.ATTRIBUTE_TYPE)
        {
            final AttributeType[] types = AttributeType.values();
            a.setType(types[r.nextInt(types.length)]);
            return;
        }
        final long v = EXTREMES[r.nextInt(EXTREMES.length)];
        switch (a.getType())
        {
            case INT -> a.setI(v);
            case INTS ->
            {
                if (a.getIntsCount() == 0 || r.nextInt(4) == 0)
                {
                    a.addInts(v);
                }
                else
                {
                    a.setInts(r.nextInt(a.getIntsCount()), v);
                }
            }
            case FLOAT -> a.setF(r.nextBoolean() ? Float.NaN : (float)v);
            case STRING -> a.setS(ByteString.copyFromUtf8(r.nextBoolean() ? "reflect" : "SAME_UPPER"));
            case TENSOR -> a.setT(a.getT().toBuilder().clearDims().addDims(v));
            default -> n.addAttribute(i("group", v));
        }
    }

    private static void mutateInitializer(final GraphProto.Builder g, final Mutation m, final SplittableRandom r)
    {
        if (g.getInitializerCount() == 0)
        {
            return;
        }
        final TensorProto.Builder t = g.getInitializerBuilder(r.nextInt(g.getInitializerCount()));
        switch (m)
        {
            case INITIALIZER_DIMS ->
            {
                final long v = EXTREMES[r.nextInt(EXTREMES.length)];
                if (t.getDimsCount() == 0 || r.nextInt(4) == 0)
                {
                    t.addDims(v);
                }
                else if (r.nextInt(4) == 0)
                {
                    t.clearDims();
                }
                else
                {
                    t.setDims(r.nextInt(t.getDimsCount()), v);
                }
            }
            case INITIALIZER_TYPE -> t.setDataType(r.nextInt(-1, 21));
            default ->
            {
                final ByteString raw = t.getRawData();
                if (!raw.isEmpty() && r.nextBoolean())
                {
                    t.setRawData(raw.substring(0, r.nextInt(raw.size())));
                }
                else if (r.nextBoolean())
                {
                    t.addFloatData(1f);
                }
                else
                {
                    t.setDataLocation(TensorProto.DataLocation.EXTERNAL);
                }
            }
        }
    }

    private static void mutateGraphInput(final GraphProto.Builder g, final SplittableRandom r)
    {
        final ValueInfoProto.Builder in = g.getInputBuilder(0);
        final TensorShapeProto.Builder shape = in.getTypeBuilder().getTensorTypeBuilder().getShapeBuilder();
        switch (r.nextInt(5))
        {
            case 0 -> in.getTypeBuilder().getTensorTypeBuilder().setElemType(r.nextInt(0, 17));
            case 1 -> shape.setDim(r.nextInt(shape.getDimCount()), TensorShapeProto.Dimension.newBuilder()
                .setDimValue(EXTREMES[r.nextInt(EXTREMES.length)]));
            case 2 -> shape.setDim(r.nextInt(shape.getDimCount()), TensorShapeProto.Dimension.newBuilder()
                .setDimParam("H"));
            case 3 -> shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(2));
            default -> g.addInput(OnnxBuilder.valueInfo("extra", TensorProto.DataType.FLOAT.getNumber(), 1, 4));
        }
    }

    private static void mutateConstant(final GraphProto.Builder g, final SplittableRandom r)
    {
        for (int k = 0; k < g.getNodeCount(); k++)
        {
            final NodeProto.Builder n = g.getNodeBuilder(k);
            if ("Constant".equals(n.getOpType()) && n.getAttributeCount() > 0 && r.nextBoolean())
            {
                final TensorProto.Builder t = n.getAttributeBuilder(0).getTBuilder();
                switch (r.nextInt(3))
                {
                    case 0 -> t.addDims(EXTREMES[r.nextInt(EXTREMES.length)]);
                    case 1 -> t.setDataType(TensorProto.DataType.INT64.getNumber());
                    default -> n.setAttribute(0, f("value", 2f));
                }
                return;
            }
        }
        // no Constant chosen: make one out of a random node
        final NodeProto.Builder n = g.getNodeBuilder(r.nextInt(g.getNodeCount()));
        n.setOpType("Constant").clearInput();
    }

    private static String randomValueName(final GraphProto.Builder g, final SplittableRandom r)
    {
        return switch (r.nextInt(4))
        {
            case 0 -> "no-such-value";
            case 1 -> g.getInput(0).getName();
            case 2 -> g.getInitializerCount() > 0 ? g.getInitializer(r.nextInt(g.getInitializerCount())).getName() :
                "";
            default -> g.getNode(r.nextInt(g.getNodeCount())).getOutput(0);
        };
    }
}
