package org.polypi.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import com.google.protobuf.ByteString;
import onnx.Onnx.AttributeProto;
import onnx.Onnx.AttributeProto.AttributeType;
import onnx.Onnx.GraphProto;
import onnx.Onnx.ModelProto;
import onnx.Onnx.NodeProto;
import onnx.Onnx.OperatorSetIdProto;
import onnx.Onnx.TensorProto;
import onnx.Onnx.TensorShapeProto;
import onnx.Onnx.TypeProto;
import onnx.Onnx.ValueInfoProto;

/** Builds small ONNX models with the generated protobuf classes, for tests that need a specific graph. */
final class OnnxBuilder
{
    private static final long IR_VERSION = 8;
    private final GraphProto.Builder graph = GraphProto.newBuilder().setName("test");
    private final int opset;

    private OnnxBuilder(final int opset)
    {
        this.opset = opset;
    }

    static OnnxBuilder model(final int opset)
    {
        return new OnnxBuilder(opset);
    }

    /** A float32 graph input; a dimension of -1 is the symbolic batch {@code N}. */
    OnnxBuilder input(final String name, final long... dims)
    {
        graph.addInput(valueInfo(name, TensorProto.DataType.FLOAT.getNumber(), dims));
        return this;
    }

    OnnxBuilder output(final String name)
    {
        graph.addOutput(ValueInfoProto.newBuilder().setName(name));
        return this;
    }

    /** A float32 initializer stored as little-endian raw_data. */
    OnnxBuilder init(final String name, final long[] dims, final float... values)
    {
        graph.addInitializer(floats(name, dims, values));
        return this;
    }

    /** An int64 initializer. */
    OnnxBuilder initInts(final String name, final long[] dims, final long... values)
    {
        final TensorProto.Builder t = TensorProto.newBuilder().setName(name)
            .setDataType(TensorProto.DataType.INT64.getNumber());
        for (final long d : dims)
        {
            t.addDims(d);
        }
        for (final long v : values)
        {
            t.addInt64Data(v);
        }
        graph.addInitializer(t);
        return this;
    }

    /** A node; attributes are given as {@link #ints}, {@link #i}, {@link #f}, {@link #s} or {@link #t}. */
    OnnxBuilder node(final String op, final String name, final String[] inputs, final String[] outputs,
                     final AttributeProto... attributes)
    {
        final NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(name);
        for (final String in : inputs)
        {
            n.addInput(in);
        }
        for (final String out : outputs)
        {
            n.addOutput(out);
        }
        for (final AttributeProto a : attributes)
        {
            n.addAttribute(a);
        }
        graph.addNode(n);
        return this;
    }

    /** A one-output node whose output is named after it. */
    OnnxBuilder node(final String op, final String name, final String... inputs)
    {
        return node(op, name, inputs, new String[] {name});
    }

    /** A scalar float Constant node named {@code name}. */
    OnnxBuilder scalar(final String name, final float value)
    {
        return node("Constant", name, new String[0], new String[] {name},
            t("value", floats("", new long[0], value)));
    }

    ModelProto build()
    {
        return ModelProto.newBuilder().setIrVersion(IR_VERSION).setProducerName("polypi-test").setGraph(graph)
            .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset)).build();
    }

    byte[] bytes()
    {
        return build().toByteArray();
    }

    static TensorProto floats(final String name, final long[] dims, final float... values)
    {
        final ByteBuffer b = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (final float v : values)
        {
            b.putFloat(v);
        }
        final TensorProto.Builder t = TensorProto.newBuilder().setName(name)
            .setDataType(TensorProto.DataType.FLOAT.getNumber()).setRawData(ByteString.copyFrom(b.array()));
        for (final long d : dims)
        {
            t.addDims(d);
        }
        return t.build();
    }

    static ValueInfoProto valueInfo(final String name, final int elemType, final long... dims)
    {
        final TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (final long d : dims)
        {
            shape.addDim(d < 0 ? TensorShapeProto.Dimension.newBuilder().setDimParam("N") :
                TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
            TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape))).build();
    }

    static AttributeProto ints(final String name, final long... values)
    {
        final AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeType.INTS);
        for (final long v : values)
        {
            a.addInts(v);
        }
        return a.build();
    }

    static AttributeProto i(final String name, final long value)
    {
        return AttributeProto.newBuilder().setName(name).setType(AttributeType.INT).setI(value).build();
    }

    static AttributeProto f(final String name, final float value)
    {
        return AttributeProto.newBuilder().setName(name).setType(AttributeType.FLOAT).setF(value).build();
    }

    static AttributeProto s(final String name, final String value)
    {
        return AttributeProto.newBuilder().setName(name).setType(AttributeType.STRING)
            .setS(ByteString.copyFromUtf8(value)).build();
    }

    static AttributeProto t(final String name, final TensorProto value)
    {
        return AttributeProto.newBuilder().setName(name).setType(AttributeType.TENSOR).setT(value).build();
    }

    /** {@code n} values from a fixed LCG in [-scale, scale), for weights. */
    static float[] values(final long seed, final int n, final float scale)
    {
        final float[] v = Fixture.lcg(seed, n);
        for (int i = 0; i < n; i++)
        {
            v[i] *= scale;
        }
        return v;
    }
}
