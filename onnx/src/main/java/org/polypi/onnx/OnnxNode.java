package org.polypi.onnx;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import onnx.Onnx.AttributeProto;
import onnx.Onnx.AttributeProto.AttributeType;
import onnx.Onnx.NodeProto;
import onnx.Onnx.TensorProto;

/**
 * One ONNX node with typed, checked access to its attributes. Every accessor that fails throws an
 * {@link OnnxImportException} that names the node, so callers never build messages themselves.
 */
final class OnnxNode
{
    /** Most inputs or outputs of one node (ONNX variadic ops such as Concat or Sum stay far below this). */
    static final int MAX_ARITY = 4096;
    /** Most elements of one ints/floats attribute. */
    static final int MAX_ATTRIBUTE_ELEMENTS = 1 << 16;

    private final int index;
    private final String name;
    private final String opType;
    private final String domain;
    private final List<String> inputs;
    private final List<String> outputs;
    private final Map<String, AttributeProto> attributes;

    private OnnxNode(final int index, final NodeProto proto, final Map<String, AttributeProto> attributes)
    {
        this.index = index;
        this.name = proto.getName();
        this.opType = proto.getOpType();
        this.domain = proto.getDomain();
        this.inputs = List.copyOf(proto.getInputList());
        this.outputs = List.copyOf(proto.getOutputList());
        this.attributes = attributes;
    }

    /**
     * Wraps node number {@code index} of the graph.
     *
     * @throws OnnxImportException if it has no op type, too many inputs or outputs, no output, or two attributes
     *     with the same name.
     */
    static OnnxNode of(final int index, final NodeProto proto) throws OnnxImportException
    {
        final String label = label(index, proto.getName(), proto.getOpType());
        if (proto.getOpType().isEmpty())
        {
            throw new OnnxImportException(label + ": no op_type");
        }
        if (proto.getInputCount() > MAX_ARITY || proto.getOutputCount() > MAX_ARITY)
        {
            throw new OnnxImportException(label + ": " + proto.getInputCount() + " inputs and " +
                proto.getOutputCount() + " outputs, at most " + MAX_ARITY + " each");
        }
        if (proto.getOutputCount() == 0)
        {
            throw new OnnxImportException(label + ": no output");
        }
        final Map<String, AttributeProto> attributes = new HashMap<>();
        for (final AttributeProto a : proto.getAttributeList())
        {
            if (attributes.put(a.getName(), a) != null)
            {
                throw new OnnxImportException(label + ": attribute '" + a.getName() + "' is given twice");
            }
        }
        return new OnnxNode(index, proto, attributes);
    }

    private static String label(final int index, final String name, final String opType)
    {
        return "node " + (name.isEmpty() ? "#" + index : "'" + name + "'") + " (" + opType + ")";
    }

    /** {@code node 'conv1' (Conv)}, or {@code node #3 (Conv)} for an unnamed node: the prefix of every message. */
    String label()
    {
        return label(index, name, opType);
    }

    /** An exception whose message starts with {@link #label()}. */
    OnnxImportException error(final String problem)
    {
        return new OnnxImportException(label() + ": " + problem);
    }

    /** An exception for something PolyPI cannot represent, naming the nearest supported alternative. */
    OnnxImportException unsupported(final String problem, final String alternative)
    {
        return new OnnxImportException(label() + ": " + problem + "; nearest supported alternative: " + alternative);
    }

    int index()
    {
        return index;
    }

    String name()
    {
        return name;
    }

    String opType()
    {
        return opType;
    }

    /** The operator domain; empty or {@code ai.onnx} for the standard operators. */
    String domain()
    {
        return domain;
    }

    List<String> inputs()
    {
        return inputs;
    }

    List<String> outputs()
    {
        return outputs;
    }

    /** Input {@code i}, or the empty string if the node has fewer inputs (an omitted optional input). */
    String input(final int i)
    {
        return i < inputs.size() ? inputs.get(i) : "";
    }

    boolean has(final String attribute)
    {
        return attributes.containsKey(attribute);
    }

    private AttributeProto typed(final String attribute, final AttributeType type) throws OnnxImportException
    {
        final AttributeProto a = attributes.get(attribute);
        if (a != null && a.getType() != type)
        {
            throw error("attribute '" + attribute + "' has type " + a.getType() + ", expected " + type);
        }
        return a;
    }

    /** An INT attribute, or {@code fallback} if absent. */
    long intAttribute(final String attribute, final long fallback) throws OnnxImportException
    {
        final AttributeProto a = typed(attribute, AttributeType.INT);
        return a == null ? fallback : a.getI();
    }

    /** A FLOAT attribute, or {@code fallback} if absent. */
    float floatAttribute(final String attribute, final float fallback) throws OnnxImportException
    {
        final AttributeProto a = typed(attribute, AttributeType.FLOAT);
        return a == null ? fallback : a.getF();
    }

    /** A STRING attribute decoded as UTF-8, or {@code fallback} if absent. */
    String stringAttribute(final String attribute, final String fallback) throws OnnxImportException
    {
        final AttributeProto a = typed(attribute, AttributeType.STRING);
        return a == null ? fallback : a.getS().toString(StandardCharsets.UTF_8);
    }

    /** An INTS attribute, or null if absent. */
    long[] intsAttribute(final String attribute) throws OnnxImportException
    {
        final AttributeProto a = typed(attribute, AttributeType.INTS);
        if (a == null)
        {
            return null;
        }
        if (a.getIntsCount() > MAX_ATTRIBUTE_ELEMENTS)
        {
            throw error("attribute '" + attribute + "' has " + a.getIntsCount() + " values, at most " +
                MAX_ATTRIBUTE_ELEMENTS);
        }
        final long[] v = new long[a.getIntsCount()];
        for (int i = 0; i < v.length; i++)
        {
            v[i] = a.getInts(i);
        }
        return v;
    }

    /** A FLOATS attribute, or null if absent. */
    float[] floatsAttribute(final String attribute) throws OnnxImportException
    {
        final AttributeProto a = typed(attribute, AttributeType.FLOATS);
        if (a == null)
        {
            return null;
        }
        if (a.getFloatsCount() > MAX_ATTRIBUTE_ELEMENTS)
        {
            throw error("attribute '" + attribute + "' has " + a.getFloatsCount() + " values, at most " +
                MAX_ATTRIBUTE_ELEMENTS);
        }
        final float[] v = new float[a.getFloatsCount()];
        for (int i = 0; i < v.length; i++)
        {
            v[i] = a.getFloats(i);
        }
        return v;
    }

    /** A TENSOR attribute, or null if absent. */
    TensorProto tensorAttribute(final String attribute) throws OnnxImportException
    {
        final AttributeProto a = typed(attribute, AttributeType.TENSOR);
        return a == null ? null : a.getT();
    }

    /** The INTS attribute {@code attribute} as ints, each checked to be in {@code [min, max]}; null if absent. */
    int[] smallInts(final String attribute, final int min, final int max) throws OnnxImportException
    {
        final long[] v = intsAttribute(attribute);
        if (v == null)
        {
            return null;
        }
        final int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++)
        {
            if (v[i] < min || v[i] > max)
            {
                throw error("attribute '" + attribute + "' value " + v[i] + " is outside [" + min + ", " + max + "]");
            }
            out[i] = (int)v[i];
        }
        return out;
    }
}
