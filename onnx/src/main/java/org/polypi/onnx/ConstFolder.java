package org.polypi.onnx;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import onnx.Onnx.TensorProto;
import onnx.Onnx.TensorProto.DataType;

/**
 * Evaluates nodes whose inputs are all constants, as exporters leave them: PyTorch's {@code F.pad} becomes a small
 * chain of ConstantOfShape, Concat, Reshape, Slice, Transpose and Cast that computes the pad amounts; shape
 * arithmetic ({@code x.view(x.size(0), -1)}) becomes Shape, Gather, Unsqueeze and Concat, where the unknown batch
 * size travels as {@link ConstTensor#BATCH}.
 * <p>
 * Every result is bounded by {@link ConstTensor#MAX_FOLDED_ELEMENTS}, checked before allocating, so a hostile
 * {@code ConstantOfShape} cannot exhaust memory.
 */
final class ConstFolder
{
    private static final int LAST_OPSET_WITH_AXES_ATTRIBUTE = 12;

    private ConstFolder()
    {
    }

    /** True if {@link #fold} knows {@code opType}. */
    static boolean supports(final String opType)
    {
        return switch (opType)
        {
            case "Constant", "ConstantOfShape", "Identity", "Dropout", "Cast", "Reshape", "Flatten", "Squeeze",
                 "Unsqueeze", "Concat", "Slice", "Transpose", "Gather", "Shape", "Add", "Sub", "Mul", "Div", "Pow",
                 "Neg", "Sqrt", "Reciprocal" -> true;
            default -> false;
        };
    }

    /**
     * The outputs of {@code node} for constant {@code inputs} (null for an omitted optional input).
     *
     * @throws OnnxImportException naming the node if its inputs or attributes are invalid.
     */
    static List<ConstTensor> fold(final OnnxNode node, final List<ConstTensor> inputs, final int opset)
        throws OnnxImportException
    {
        final ConstTensor out = switch (node.opType())
        {
            case "Constant" -> constant(node);
            case "ConstantOfShape" -> constantOfShape(node, required(node, inputs, 0));
            case "Identity", "Dropout" -> required(node, inputs, 0);
            case "Cast" -> cast(node, required(node, inputs, 0));
            case "Reshape" -> reshape(node, required(node, inputs, 0), required(node, inputs, 1));
            case "Flatten" -> flatten(node, required(node, inputs, 0));
            case "Squeeze" -> squeeze(node, required(node, inputs, 0), axes(node, inputs, opset));
            case "Unsqueeze" -> unsqueeze(node, required(node, inputs, 0), axes(node, inputs, opset));
            case "Concat" -> concat(node, inputs);
            case "Slice" -> slice(node, inputs);
            case "Transpose" -> transpose(node, required(node, inputs, 0));
            case "Gather" -> gather(node, required(node, inputs, 0), required(node, inputs, 1));
            case "Shape" -> shapeOf(node, required(node, inputs, 0).dims());
            case "Add", "Sub", "Mul", "Div", "Pow" ->
                binary(node, required(node, inputs, 0), required(node, inputs, 1));
            case "Neg", "Sqrt", "Reciprocal" -> unary(node, required(node, inputs, 0));
            default -> throw node.error("cannot be evaluated on constants");
        };
        return List.of(out);
    }

    /** The pad, axes or shape vector of a node: a 1-D integer constant. */
    static long[] integers(final OnnxNode node, final ConstTensor t, final String what) throws OnnxImportException
    {
        if (!t.isInteger() || t.rank() > 1)
        {
            throw node.error(what + " must be a 1-D integer tensor, was " + t.describe());
        }
        return t.intValues().clone();
    }

    private static ConstTensor required(final OnnxNode node, final List<ConstTensor> inputs, final int i)
        throws OnnxImportException
    {
        if (i >= inputs.size() || inputs.get(i) == null)
        {
            throw node.error("input " + i + " is missing");
        }
        return inputs.get(i);
    }

    private static ConstTensor constant(final OnnxNode node) throws OnnxImportException
    {
        final TensorProto value = node.tensorAttribute("value");
        if (value != null)
        {
            return TensorDecoder.decode(value, node.label() + ": value");
        }
        if (node.has("value_float"))
        {
            return ConstTensor.scalar(node.floatAttribute("value_float", 0));
        }
        if (node.has("value_int"))
        {
            return ConstTensor.integer(new long[0], new long[] {node.intAttribute("value_int", 0)});
        }
        final float[] floats = node.floatsAttribute("value_floats");
        if (floats != null)
        {
            final double[] v = new double[floats.length];
            for (int i = 0; i < v.length; i++)
            {
                v[i] = floats[i];
            }
            return ConstTensor.real(new long[] {v.length}, v);
        }
        final long[] ints = node.intsAttribute("value_ints");
        if (ints != null)
        {
            return ConstTensor.integer(new long[] {ints.length}, ints);
        }
        throw node.error("has no supported value attribute (value, value_float(s) or value_int(s))");
    }

    private static ConstTensor constantOfShape(final OnnxNode node, final ConstTensor shape)
        throws OnnxImportException
    {
        final long[] dims = integers(node, shape, "the shape");
        if (shape.dependsOnBatch())
        {
            throw node.error("creates a tensor whose shape depends on the batch size, which is not supported");
        }
        final int n = folded(node, dims);
        final TensorProto value = node.tensorAttribute("value");
        final ConstTensor fill = value == null ? ConstTensor.scalar(0) : TensorDecoder.decode(value, node.label() +
            ": value");
        if (fill.size() != 1)
        {
            throw node.error("value must hold one element, has " + fill.size());
        }
        if (fill.isInteger())
        {
            final long[] v = new long[n];
            Arrays.fill(v, fill.intValues()[0]);
            return ConstTensor.integer(dims, v);
        }
        final double[] v = new double[n];
        Arrays.fill(v, fill.real(0));
        return ConstTensor.real(dims, v);
    }

    private static ConstTensor cast(final OnnxNode node, final ConstTensor x) throws OnnxImportException
    {
        final long to = node.intAttribute("to", -1);
        final DataType type = to >= 0 && to <= Integer.MAX_VALUE ? DataType.forNumber((int)to) : null;
        if (type == null)
        {
            throw node.error("attribute 'to' = " + to + " is not a data type");
        }
        switch (type)
        {
            case FLOAT, DOUBLE ->
            {
                if (x.dependsOnBatch())
                {
                    throw node.error("casts the batch size to a real number, which is not supported");
                }
                final double[] v = x.realValues();
                if (type == DataType.FLOAT)
                {
                    for (int i = 0; i < v.length; i++)
                    {
                        v[i] = (float)v[i];
                    }
                }
                return ConstTensor.real(x.dims(), v);
            }
            case INT64, INT32, INT16, INT8, UINT8, UINT16, UINT32, UINT64, BOOL ->
            {
                if (x.isInteger())
                {
                    return x;
                }
                final long[] v = new long[x.size()];
                for (int i = 0; i < v.length; i++)
                {
                    final double r = x.real(i);
                    if (!Double.isFinite(r))
                    {
                        throw node.error("casts " + r + " to an integer");
                    }
                    v[i] = type == DataType.BOOL ? (r != 0 ? 1 : 0) : (long)r;
                }
                return ConstTensor.integer(x.dims(), v);
            }
            default -> throw node.error("casts to " + type + ", which is not supported");
        }
    }

    private static ConstTensor reshape(final OnnxNode node, final ConstTensor x, final ConstTensor shape)
        throws OnnxImportException
    {
        final long[] target = integers(node, shape, "the shape");
        final long[] dims = resolveShape(node, x.dims(), target, node.intAttribute("allowzero", 0) != 0);
        return x.reshaped(dims);
    }

    /**
     * ONNX Reshape's rules: 0 copies the input dimension (unless allowzero), one -1 is inferred.
     *
     * @throws OnnxImportException if the target is invalid or does not hold the input's element count.
     */
    static long[] resolveShape(final OnnxNode node, final long[] in, final long[] target, final boolean allowZero)
        throws OnnxImportException
    {
        if (target.length > ConstTensor.MAX_RANK)
        {
            throw node.error("target shape has rank " + target.length + ", at most " + ConstTensor.MAX_RANK);
        }
        final long total = count(in);
        final long[] out = new long[target.length];
        int infer = -1;
        long known = 1;
        for (int i = 0; i < target.length; i++)
        {
            long d = target[i];
            if (d == 0 && !allowZero)
            {
                if (i >= in.length)
                {
                    throw node.error("target shape " + Arrays.toString(target) + " copies dimension " + i +
                        " of a rank-" + in.length + " input");
                }
                d = in[i];
            }
            if (d == -1)
            {
                if (infer >= 0)
                {
                    throw node.error("target shape " + Arrays.toString(target) + " has more than one -1");
                }
                infer = i;
                continue;
            }
            if (d < 0)
            {
                throw node.error("target shape " + Arrays.toString(target) + " has a negative dimension");
            }
            out[i] = d;
            known = d == 0 || known == 0 ? 0 : multiply(node, known, d);
        }
        if (infer >= 0)
        {
            if (known == 0 || total % known != 0)
            {
                throw node.error("cannot reshape " + Arrays.toString(in) + " to " + Arrays.toString(target));
            }
            out[infer] = total / known;
            known = total;
        }
        if (known != total)
        {
            throw node.error("cannot reshape " + Arrays.toString(in) + " (" + total + " elements) to " +
                Arrays.toString(target));
        }
        return out;
    }

    private static ConstTensor flatten(final OnnxNode node, final ConstTensor x) throws OnnxImportException
    {
        final int axis = axis(node, node.intAttribute("axis", 1), x.rank() + 1);
        long outer = 1;
        for (int i = 0; i < axis; i++)
        {
            outer *= x.dim(i);
        }
        return x.reshaped(new long[] {outer, outer == 0 ? 0 : x.size() / outer});
    }

    /** Axes of Squeeze/Unsqueeze: an attribute up to opset 12, the optional second input since 13. */
    private static long[] axes(final OnnxNode node, final List<ConstTensor> inputs, final int opset)
        throws OnnxImportException
    {
        if (opset <= LAST_OPSET_WITH_AXES_ATTRIBUTE)
        {
            return node.intsAttribute("axes");
        }
        return inputs.size() > 1 && inputs.get(1) != null ? integers(node, inputs.get(1), "axes") : null;
    }

    private static ConstTensor squeeze(final OnnxNode node, final ConstTensor x, final long[] axes)
        throws OnnxImportException
    {
        final boolean[] drop = new boolean[x.rank()];
        if (axes == null)
        {
            for (int i = 0; i < drop.length; i++)
            {
                drop[i] = x.dim(i) == 1;
            }
        }
        else
        {
            for (final long a : axes)
            {
                final int i = axis(node, a, x.rank());
                if (x.dim(i) != 1)
                {
                    throw node.error("cannot squeeze axis " + a + " of size " + x.dim(i));
                }
                drop[i] = true;
            }
        }
        final List<Long> dims = new ArrayList<>();
        for (int i = 0; i < drop.length; i++)
        {
            if (!drop[i])
            {
                dims.add(x.dim(i));
            }
        }
        return x.reshaped(dims.stream().mapToLong(Long::longValue).toArray());
    }

    private static ConstTensor unsqueeze(final OnnxNode node, final ConstTensor x, final long[] axes)
        throws OnnxImportException
    {
        if (axes == null)
        {
            throw node.error("has no axes");
        }
        final int rank = x.rank() + axes.length;
        if (rank > ConstTensor.MAX_RANK)
        {
            throw node.error("result rank " + rank + " exceeds " + ConstTensor.MAX_RANK);
        }
        final boolean[] inserted = new boolean[rank];
        for (final long a : axes)
        {
            final int i = axis(node, a, rank);
            if (inserted[i])
            {
                throw node.error("axis " + a + " is given twice");
            }
            inserted[i] = true;
        }
        final long[] dims = new long[rank];
        int k = 0;
        for (int i = 0; i < rank; i++)
        {
            dims[i] = inserted[i] ? 1 : x.dim(k++);
        }
        return x.reshaped(dims);
    }

    private static ConstTensor concat(final OnnxNode node, final List<ConstTensor> inputs)
        throws OnnxImportException
    {
        if (inputs.isEmpty())
        {
            throw node.error("has no inputs");
        }
        final ConstTensor first = required(node, inputs, 0);
        final int rank = first.rank();
        if (rank == 0)
        {
            throw node.error("cannot concatenate scalars");
        }
        final int axis = axis(node, node.intAttribute("axis", Long.MIN_VALUE), rank);
        final long[] dims = first.dims();
        dims[axis] = 0;
        for (int i = 0; i < inputs.size(); i++)
        {
            final ConstTensor t = required(node, inputs, i);
            if (t.rank() != rank || t.isInteger() != first.isInteger())
            {
                throw node.error("input " + i + " " + t.describe() + " does not match input 0 " + first.describe());
            }
            for (int d = 0; d < rank; d++)
            {
                if (d != axis && t.dim(d) != first.dim(d))
                {
                    throw node.error("input " + i + " " + t.describe() + " does not match input 0 " +
                        first.describe());
                }
            }
            dims[axis] += t.dim(axis);
        }
        final int n = folded(node, dims);
        long outer = 1;
        for (int d = 0; d < axis; d++)
        {
            outer *= dims[d];
        }
        final long[] ints = first.isInteger() ? new long[n] : null;
        final double[] reals = first.isInteger() ? null : new double[n];
        int pos = 0;
        for (long o = 0; o < outer; o++)
        {
            for (final ConstTensor t : inputs)
            {
                final int block = (int)(t.size() / outer);
                for (int j = 0; j < block; j++)
                {
                    final int src = (int)(o * block + j);
                    if (ints != null)
                    {
                        ints[pos++] = t.intValues()[src];
                    }
                    else
                    {
                        reals[pos++] = t.real(src);
                    }
                }
            }
        }
        return ints != null ? ConstTensor.integer(dims, ints) : ConstTensor.real(dims, reals);
    }

    private static ConstTensor slice(final OnnxNode node, final List<ConstTensor> inputs)
        throws OnnxImportException
    {
        final ConstTensor x = required(node, inputs, 0);
        final long[] starts = integers(node, required(node, inputs, 1), "starts");
        final long[] ends = integers(node, required(node, inputs, 2), "ends");
        final int rank = x.rank();
        final long[] axes = inputs.size() > 3 && inputs.get(3) != null ? integers(node, inputs.get(3), "axes") :
            null;
        final long[] steps = inputs.size() > 4 && inputs.get(4) != null ? integers(node, inputs.get(4), "steps") :
            null;
        if (ends.length != starts.length || (axes != null && axes.length != starts.length) ||
            (steps != null && steps.length != starts.length))
        {
            throw node.error("starts, ends, axes and steps differ in length");
        }
        final long[] from = new long[rank];
        final long[] step = new long[rank];
        final long[] dims = x.dims();
        Arrays.fill(step, 1);
        final boolean[] seen = new boolean[rank];
        for (int i = 0; i < starts.length; i++)
        {
            final int a = axis(node, axes == null ? i : axes[i], rank);
            if (seen[a])
            {
                throw node.error("axis " + a + " is sliced twice");
            }
            seen[a] = true;
            final long s = steps == null ? 1 : steps[i];
            if (s == 0 || s == ConstTensor.BATCH)
            {
                throw node.error("step " + s + " is not allowed");
            }
            final long d = x.dim(a);
            final long start = clampIndex(starts[i], d, s);
            final long end = clampIndex(ends[i], d, s);
            // ceil(|end - start| / |step|) without forming |end - start| + |step|, which may overflow
            final long n = s > 0 ? (end > start ? (end - start - 1) / s + 1 : 0) :
                (start > end ? (start - end - 1) / -s + 1 : 0);
            from[a] = start;
            step[a] = s;
            dims[a] = n;
        }
        final int n = folded(node, dims);
        final long[] inStrides = strides(x.dims());
        final long[] outStrides = strides(dims);
        final long[] ints = x.isInteger() ? new long[n] : null;
        final double[] reals = x.isInteger() ? null : new double[n];
        for (int o = 0; o < n; o++)
        {
            long src = 0;
            long rest = o;
            for (int d = 0; d < rank; d++)
            {
                final long idx = rest / outStrides[d];
                rest %= outStrides[d];
                src += (from[d] + idx * step[d]) * inStrides[d];
            }
            if (ints != null)
            {
                ints[o] = x.intValues()[(int)src];
            }
            else
            {
                reals[o] = x.real((int)src);
            }
        }
        return ints != null ? ConstTensor.integer(dims, ints) : ConstTensor.real(dims, reals);
    }

    /** ONNX Slice's clamping of a start or end index into a dimension of size {@code d}. */
    private static long clampIndex(final long index, final long d, final long step)
    {
        long i = index;
        if (i < 0)
        {
            // the BATCH marker and INT64_MIN both mean "from the far end"
            i = i < -d ? -1 : i + d;
        }
        if (step > 0)
        {
            return Math.max(0, Math.min(i, d));
        }
        return Math.max(-1, Math.min(i, d - 1));
    }

    private static ConstTensor transpose(final OnnxNode node, final ConstTensor x) throws OnnxImportException
    {
        final int rank = x.rank();
        final long[] permAttribute = node.intsAttribute("perm");
        final int[] perm = new int[rank];
        final boolean[] used = new boolean[rank];
        for (int i = 0; i < rank; i++)
        {
            if (permAttribute != null && permAttribute.length != rank)
            {
                throw node.error("perm has " + permAttribute.length + " entries for a rank-" + rank + " input");
            }
            final int p = permAttribute == null ? rank - 1 - i : axis(node, permAttribute[i], rank);
            if (used[p])
            {
                throw node.error("perm " + Arrays.toString(permAttribute) + " is not a permutation");
            }
            used[p] = true;
            perm[i] = p;
        }
        final long[] dims = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            dims[i] = x.dim(perm[i]);
        }
        final int n = folded(node, dims);
        final long[] inStrides = strides(x.dims());
        final long[] outStrides = strides(dims);
        final long[] ints = x.isInteger() ? new long[n] : null;
        final double[] reals = x.isInteger() ? null : new double[n];
        for (int o = 0; o < n; o++)
        {
            long src = 0;
            long rest = o;
            for (int d = 0; d < rank; d++)
            {
                src += rest / outStrides[d] * inStrides[perm[d]];
                rest %= outStrides[d];
            }
            if (ints != null)
            {
                ints[o] = x.intValues()[(int)src];
            }
            else
            {
                reals[o] = x.real((int)src);
            }
        }
        return ints != null ? ConstTensor.integer(dims, ints) : ConstTensor.real(dims, reals);
    }

    private static ConstTensor gather(final OnnxNode node, final ConstTensor x, final ConstTensor indices)
        throws OnnxImportException
    {
        if (x.rank() == 0)
        {
            throw node.error("cannot gather from a scalar");
        }
        if (!indices.isInteger())
        {
            throw node.error("indices must be integers, were " + indices.describe());
        }
        final int axis = axis(node, node.intAttribute("axis", 0), x.rank());
        final long[] dims = new long[x.rank() - 1 + indices.rank()];
        if (dims.length > ConstTensor.MAX_RANK)
        {
            throw node.error("result rank " + dims.length + " exceeds " + ConstTensor.MAX_RANK);
        }
        int k = 0;
        for (int d = 0; d < axis; d++)
        {
            dims[k++] = x.dim(d);
        }
        for (int d = 0; d < indices.rank(); d++)
        {
            dims[k++] = indices.dim(d);
        }
        for (int d = axis + 1; d < x.rank(); d++)
        {
            dims[k++] = x.dim(d);
        }
        final int n = folded(node, dims);
        final long axisSize = x.dim(axis);
        long inner = 1;
        for (int d = axis + 1; d < x.rank(); d++)
        {
            inner *= x.dim(d);
        }
        final long[] ints = x.isInteger() ? new long[n] : null;
        final double[] reals = x.isInteger() ? null : new double[n];
        final int count = indices.size();
        for (int o = 0; o < n; o++)
        {
            final long within = o % inner;
            final long j = o / inner % count;
            final long outer = o / inner / count;
            long idx = indices.intValues()[(int)j];
            if (idx < 0 && idx != ConstTensor.BATCH)
            {
                idx += axisSize;
            }
            if (idx < 0 || idx >= axisSize)
            {
                throw node.error("index " + indices.intValues()[(int)j] + " is out of range for a dimension of " +
                    axisSize);
            }
            final int src = (int)((outer * axisSize + idx) * inner + within);
            if (ints != null)
            {
                ints[o] = x.intValues()[src];
            }
            else
            {
                reals[o] = x.real(src);
            }
        }
        return ints != null ? ConstTensor.integer(dims, ints) : ConstTensor.real(dims, reals);
    }

    /** Shape (with opset 15's start/end) of a tensor with the given dimensions. */
    static ConstTensor shapeOf(final OnnxNode node, final long[] dims) throws OnnxImportException
    {
        final int rank = dims.length;
        final long start = node.intAttribute("start", 0);
        final long end = node.intAttribute("end", rank);
        final int from = (int)Math.max(0, Math.min(rank, start < 0 ? start + rank : start));
        final int to = (int)Math.max(0, Math.min(rank, end < 0 ? end + rank : end));
        final long[] v = Arrays.copyOfRange(dims, from, Math.max(from, to));
        return ConstTensor.integer(new long[] {v.length}, v);
    }

    private static ConstTensor unary(final OnnxNode node, final ConstTensor x) throws OnnxImportException
    {
        if (x.isInteger())
        {
            if (!"Neg".equals(node.opType()) || x.dependsOnBatch())
            {
                throw node.error("is only supported on real constants here");
            }
            final long[] v = x.intValues().clone();
            for (int i = 0; i < v.length; i++)
            {
                v[i] = -v[i];
            }
            return ConstTensor.integer(x.dims(), v);
        }
        final double[] v = x.realValues();
        for (int i = 0; i < v.length; i++)
        {
            v[i] = switch (node.opType())
            {
                case "Neg" -> -v[i];
                case "Sqrt" -> Math.sqrt(v[i]);
                default -> 1 / v[i];
            };
        }
        return ConstTensor.real(x.dims(), v);
    }

    private static ConstTensor binary(final OnnxNode node, final ConstTensor a, final ConstTensor b)
        throws OnnxImportException
    {
        if (a.isInteger() != b.isInteger())
        {
            throw node.error("operands " + a.describe() + " and " + b.describe() + " differ in type");
        }
        if (a.dependsOnBatch() || b.dependsOnBatch())
        {
            throw node.error("computes with the batch size, which is unknown at import time; export with " +
                "torch.flatten(x, 1) instead of shape arithmetic");
        }
        final long[] dims = broadcast(node, a.dims(), b.dims());
        final int n = folded(node, dims);
        final long[] aStrides = broadcastStrides(a.dims(), dims.length);
        final long[] bStrides = broadcastStrides(b.dims(), dims.length);
        final long[] outStrides = strides(dims);
        final long[] ints = a.isInteger() ? new long[n] : null;
        final double[] reals = a.isInteger() ? null : new double[n];
        for (int o = 0; o < n; o++)
        {
            long ia = 0;
            long ib = 0;
            long rest = o;
            for (int d = 0; d < dims.length; d++)
            {
                final long idx = rest / outStrides[d];
                rest %= outStrides[d];
                ia += idx * aStrides[d];
                ib += idx * bStrides[d];
            }
            if (ints != null)
            {
                ints[o] = integerOp(node, a.intValues()[(int)ia], b.intValues()[(int)ib]);
            }
            else
            {
                reals[o] = realOp(node.opType(), a.real((int)ia), b.real((int)ib));
            }
        }
        return ints != null ? ConstTensor.integer(dims, ints) : ConstTensor.real(dims, reals);
    }

    private static long integerOp(final OnnxNode node, final long x, final long y) throws OnnxImportException
    {
        try
        {
            return switch (node.opType())
            {
                case "Add" -> Math.addExact(x, y);
                case "Sub" -> Math.subtractExact(x, y);
                case "Mul" -> Math.multiplyExact(x, y);
                case "Div" ->
                {
                    if (y == 0)
                    {
                        throw node.error("divides the integer " + x + " by zero");
                    }
                    yield x / y;
                }
                default -> throw node.error("is only supported on real constants");
            };
        }
        catch (final ArithmeticException e)
        {
            throw node.error("integer overflow computing " + x + " and " + y);
        }
    }

    private static double realOp(final String op, final double x, final double y)
    {
        return switch (op)
        {
            case "Add" -> x + y;
            case "Sub" -> x - y;
            case "Mul" -> x * y;
            case "Div" -> x / y;
            default -> Math.pow(x, y);
        };
    }

    /** Numpy-style broadcast of two shapes (right-aligned; 1 stretches). */
    static long[] broadcast(final OnnxNode node, final long[] a, final long[] b) throws OnnxImportException
    {
        final int rank = Math.max(a.length, b.length);
        final long[] out = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            final long x = i < rank - a.length ? 1 : a[i - (rank - a.length)];
            final long y = i < rank - b.length ? 1 : b[i - (rank - b.length)];
            if (x != y && x != 1 && y != 1)
            {
                throw node.error("shapes " + Arrays.toString(a) + " and " + Arrays.toString(b) + " do not broadcast");
            }
            out[i] = x == 1 ? y : x;
        }
        return out;
    }

    /** Strides of {@code dims} right-aligned into {@code rank} dimensions, 0 where the dimension is broadcast. */
    private static long[] broadcastStrides(final long[] dims, final int rank)
    {
        final long[] own = strides(dims);
        final long[] s = new long[rank];
        for (int i = 0; i < dims.length; i++)
        {
            s[rank - dims.length + i] = dims[i] == 1 ? 0 : own[i];
        }
        return s;
    }

    private static long[] strides(final long[] dims)
    {
        final long[] s = new long[dims.length];
        long stride = 1;
        for (int i = dims.length - 1; i >= 0; i--)
        {
            s[i] = stride;
            stride *= Math.max(dims[i], 1);
        }
        return s;
    }

    private static long count(final long[] dims)
    {
        long n = 1;
        for (final long d : dims)
        {
            n *= d;
        }
        return n;
    }

    private static long multiply(final OnnxNode node, final long x, final long y) throws OnnxImportException
    {
        try
        {
            return Math.multiplyExact(x, y);
        }
        catch (final ArithmeticException e)
        {
            throw node.error("dimensions " + x + " x " + y + " overflow");
        }
    }

    /** Checks that a folded result of {@code dims} stays small; returns its element count. */
    private static int folded(final OnnxNode node, final long[] dims) throws OnnxImportException
    {
        return ConstTensor.elements(dims, ConstTensor.MAX_FOLDED_ELEMENTS, node.label() + " result");
    }

    /**
     * An axis in {@code [-rank, rank)} normalised to {@code [0, rank)}.
     *
     * @throws OnnxImportException if it is out of range.
     */
    static int axis(final OnnxNode node, final long axis, final int rank) throws OnnxImportException
    {
        if (axis < -rank || axis >= rank)
        {
            throw node.error("axis " + (axis == Long.MIN_VALUE ? "(missing)" : axis) + " is out of range for rank " +
                rank);
        }
        return (int)(axis < 0 ? axis + rank : axis);
    }
}
