package org.polypi.onnx;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

import onnx.Onnx.GraphProto;
import onnx.Onnx.ModelProto;
import onnx.Onnx.NodeProto;
import onnx.Onnx.OperatorSetIdProto;
import onnx.Onnx.TensorProto;
import onnx.Onnx.TensorShapeProto;
import onnx.Onnx.TypeProto;
import onnx.Onnx.ValueInfoProto;
import org.polypi.model.GraphInput;
import org.polypi.model.GraphTransforms;
import org.polypi.model.Layer;
import org.polypi.model.ModelGraph;
import org.polypi.model.ModelHeader;
import org.polypi.model.Node;
import org.polypi.model.Shape;
import org.polypi.model.Tensor;

/**
 * Turns one parsed ONNX model into a {@link ModelGraph}.
 * <p>
 * The nodes are sorted topologically first (any order in the file is accepted; cycles, missing values and values
 * produced twice are errors), nodes that feed no graph output are dropped, then each node is converted in order. A
 * node whose inputs are all constants is evaluated ({@link ConstFolder}); elementwise arithmetic and
 * BatchNormalization on a data tensor only extend a {@link Polynomial} of that tensor; every other operator becomes
 * a layer, and first turns the polynomial of its input into a {@link Layer.Poly} or {@link Layer.ChannelPoly}. A
 * zero {@code Pad} waits for the {@code Conv} it folds into. Finally every degree-1 polynomial (BatchNormalization,
 * a MatMul's bias Add) that directly follows a Conv or Gemm read only by it is folded into that layer with
 * {@link GraphTransforms#foldBatchNorm}.
 * <p>
 * One converter per import; not thread-safe.
 */
final class GraphConverter
{
    /** Lowest and highest default-domain operator set versions accepted. */
    static final int MIN_OPSET = 11;
    static final int MAX_OPSET = 20;
    /** Most nodes, initializers or graph inputs of one ONNX graph. */
    static final int MAX_GRAPH_ITEMS = 1 << 20;
    /** Most elements of one activation per item: 1 GiB of float32, far beyond any model PolyPI can run privately. */
    static final long MAX_ACTIVATION_ELEMENTS = 1L << 28;
    /** Most elements of all constants the importer computes itself, so a chain of folds cannot exhaust memory. */
    static final long MAX_FOLDED_TOTAL = 1L << 25;
    /** Longest layer name kept from the ONNX file (UTF-8 bytes); leaves room for a uniqueness suffix. */
    private static final int MAX_NAME_BYTES = 200;
    private static final int CYCLE_NODES_SHOWN = 5;
    private static final int SPATIAL_AXES = 2;
    private static final String STANDARD_DOMAIN = "ai.onnx";
    private static final int ONNX_FLOAT = TensorProto.DataType.FLOAT.getNumber();
    private static final int ONNX_DOUBLE = TensorProto.DataType.DOUBLE.getNumber();
    /** Ops that only extend a polynomial: a Clip whose readers are all of these may be a PILLAR training clip. */
    private static final Set<String> POLYNOMIAL_OPS = Set.of("Add", "Sub", "Mul", "Div", "Pow", "Neg", "Sum");
    /** Operators converted on data tensors (besides the constant folds of {@link ConstFolder}). */
    private static final Set<String> DATA_OPS = Set.of("Conv", "Gemm", "MatMul", "Sum", "BatchNormalization",
        "Relu", "Clip", "AveragePool", "MaxPool", "GlobalAveragePool", "ReduceMean", "Pad");
    /** Fewest and most inputs of each operator converted on data tensors (ONNX's arities for opsets 11-20). */
    private static final Map<String, int[]> ARITY = Map.ofEntries(
        Map.entry("Identity", new int[] {1, 1}), Map.entry("Dropout", new int[] {1, 3}),
        Map.entry("Cast", new int[] {1, 1}), Map.entry("Conv", new int[] {2, 3}), Map.entry("Gemm", new int[] {2, 3}),
        Map.entry("MatMul", new int[] {2, 2}), Map.entry("Add", new int[] {2, 2}), Map.entry("Sub", new int[] {2, 2}),
        Map.entry("Mul", new int[] {2, 2}), Map.entry("Div", new int[] {2, 2}), Map.entry("Pow", new int[] {2, 2}),
        Map.entry("Sum", new int[] {1, OnnxNode.MAX_ARITY}), Map.entry("Neg", new int[] {1, 1}),
        Map.entry("BatchNormalization", new int[] {5, 5}), Map.entry("Relu", new int[] {1, 1}),
        Map.entry("Clip", new int[] {1, 3}), Map.entry("AveragePool", new int[] {1, 1}),
        Map.entry("MaxPool", new int[] {1, 1}), Map.entry("GlobalAveragePool", new int[] {1, 1}),
        Map.entry("ReduceMean", new int[] {1, 2}), Map.entry("Flatten", new int[] {1, 1}),
        Map.entry("Reshape", new int[] {2, 2}), Map.entry("Squeeze", new int[] {1, 2}),
        Map.entry("Pad", new int[] {2, 4}), Map.entry("Shape", new int[] {1, 1}));
    /** Graph names exporters give every model; not worth an architecture name. */
    private static final Set<String> GENERIC_GRAPH_NAMES = Set.of("main_graph", "torch_jit", "torch-jit-export",
        "graph", "");

    private final ModelProto model;
    private final ImportOptions options;
    private final List<String> notices = new ArrayList<>();
    private final Map<String, TensorProto> initializers = new HashMap<>();
    private final Map<String, Value> values = new HashMap<>();
    private final Set<String> usedNames = new HashSet<>();
    private final Set<String> nonlinearUses = new HashSet<>();
    private final Map<String, List<OnnxNode>> consumers = new HashMap<>();
    private final Set<String> graphOutputs = new HashSet<>();
    private ModelGraph.Builder builder;
    private int opset;
    private long staticBatch = -1;
    private double clipBound = Double.NaN;
    private long foldedElements;
    /** The graph input's name in the ONNX file and in the PolyPI graph (cleaned), and its per-item shape. */
    private String valueNameOfInput;
    private String inputName;
    private Shape inputShape;

    GraphConverter(final ModelProto model, final ImportOptions options)
    {
        this.model = model;
        this.options = options;
    }

    /** Runs the conversion. */
    OnnxImport convert(final String fallbackArchitecture) throws OnnxImportException
    {
        opset = checkVersions();
        final GraphProto graph = model.getGraph();
        readInitializers(graph);
        readInput(graph);
        final List<OnnxNode> order = schedule(graph);
        analyseUses(order);
        builder = ModelGraph.builder(header(graph, fallbackArchitecture, Float.NaN, List.of()));
        try
        {
            builder.input(inputName, inputShape);
        }
        catch (final IllegalArgumentException e)
        {
            throw new OnnxImportException("graph input '" + inputName + "': " + e.getMessage(), e);
        }
        values.put(valueNameOfInput, new Value.Data(inputName, inputShape, null, inputName, valueNameOfInput));
        for (final OnnxNode node : order)
        {
            convertNode(node);
        }
        final List<String> outputs = new ArrayList<>();
        for (final ValueInfoProto out : graph.getOutputList())
        {
            outputs.add(outputNode(out.getName()));
        }
        final ModelGraph first;
        try
        {
            for (final String out : outputs)
            {
                builder.output(out);
            }
            first = builder.build();
        }
        catch (final IllegalArgumentException e)
        {
            throw new OnnxImportException("the converted graph is invalid: " + e.getMessage(), e);
        }
        final float bound = Float.isNaN(options.activationBound()) ?
            (Double.isNaN(clipBound) ? ImportOptions.DEFAULT_ACTIVATION_BOUND : (float)clipBound) :
            options.activationBound();
        final List<String> classes = options.classNames();
        final Shape logits = first.shape(first.outputs().getFirst());
        if (!classes.isEmpty() && classes.size() != logits.elements())
        {
            throw new OnnxImportException(classes.size() + " class names given, but the first output " +
                first.outputs().getFirst() + " has " + logits.elements() + " elements " + logits);
        }
        final ModelGraph folded = foldAffine(first, header(graph, fallbackArchitecture, bound, classes));
        return new OnnxImport(folded, notices, opset, (model.getProducerName() + " " +
            model.getProducerVersion()).trim());
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Model-level checks, initializers, input, scheduling

    private int checkVersions() throws OnnxImportException
    {
        if (model.getIrVersion() <= 0)
        {
            throw new OnnxImportException("not an ONNX model: ir_version is " + model.getIrVersion() +
                " (missing or invalid)");
        }
        if (!model.hasGraph())
        {
            throw new OnnxImportException("not an ONNX model: it has no graph");
        }
        int version = -1;
        for (final OperatorSetIdProto set : model.getOpsetImportList())
        {
            if (isStandardDomain(set.getDomain()))
            {
                if (version >= 0)
                {
                    throw new OnnxImportException("the standard operator set is imported twice");
                }
                if (set.getVersion() < MIN_OPSET || set.getVersion() > MAX_OPSET)
                {
                    throw new OnnxImportException("operator set version " + set.getVersion() + " is not supported (" +
                        MIN_OPSET + "-" + MAX_OPSET + "); re-export with torch.onnx.export(..., opset_version=17)");
                }
                version = (int)set.getVersion();
            }
        }
        if (version < 0)
        {
            throw new OnnxImportException("the model does not import the standard ONNX operator set (opset_import " +
                "has no entry for the default domain)");
        }
        return version;
    }

    private static boolean isStandardDomain(final String domain)
    {
        return domain.isEmpty() || STANDARD_DOMAIN.equals(domain);
    }

    private void readInitializers(final GraphProto graph) throws OnnxImportException
    {
        if (graph.getInitializerCount() > MAX_GRAPH_ITEMS)
        {
            throw new OnnxImportException("the graph has " + graph.getInitializerCount() + " initializers, at most " +
                MAX_GRAPH_ITEMS);
        }
        if (graph.getSparseInitializerCount() > 0)
        {
            throw new OnnxImportException("sparse initializers are not supported; save the weights as dense tensors");
        }
        for (final TensorProto t : graph.getInitializerList())
        {
            if (t.getName().isEmpty())
            {
                throw new OnnxImportException("an initializer has no name");
            }
            if (initializers.put(t.getName(), t) != null)
            {
                throw new OnnxImportException("initializer '" + t.getName() + "' is defined twice");
            }
        }
    }

    /** The one data input: graph inputs minus the initializers (old exporters list those as inputs too). */
    private void readInput(final GraphProto graph) throws OnnxImportException
    {
        if (graph.getInputCount() > MAX_GRAPH_ITEMS)
        {
            throw new OnnxImportException("the graph has " + graph.getInputCount() + " inputs");
        }
        final List<ValueInfoProto> data = new ArrayList<>();
        final Set<String> seen = new HashSet<>();
        for (final ValueInfoProto in : graph.getInputList())
        {
            if (!seen.add(in.getName()))
            {
                throw new OnnxImportException("graph input '" + in.getName() + "' is declared twice");
            }
            if (!initializers.containsKey(in.getName()))
            {
                data.add(in);
            }
        }
        if (data.size() != 1)
        {
            final List<String> names = new ArrayList<>();
            for (final ValueInfoProto in : data)
            {
                names.add("'" + in.getName() + "'");
            }
            throw new OnnxImportException("the graph has " + data.size() + " data inputs " + names + "; PolyPI " +
                "models take exactly one (the image or feature vector)");
        }
        final ValueInfoProto in = data.getFirst();
        if (in.getName().isEmpty())
        {
            throw new OnnxImportException("the graph input has no name");
        }
        final TypeProto type = in.getType();
        if (!type.hasTensorType())
        {
            throw new OnnxImportException("graph input '" + in.getName() + "' is not a tensor");
        }
        final int elem = type.getTensorType().getElemType();
        if (elem != ONNX_FLOAT)
        {
            final TensorProto.DataType t = TensorProto.DataType.forNumber(elem);
            throw new OnnxImportException("graph input '" + in.getName() + "' has element type " +
                (t == null ? String.valueOf(elem) : t.name()) + "; PolyPI models take float32 input");
        }
        if (!type.getTensorType().hasShape())
        {
            throw new OnnxImportException("graph input '" + in.getName() + "' has no shape; export with a fixed " +
                "example input so that C, H and W are known");
        }
        final TensorShapeProto shape = type.getTensorType().getShape();
        final int rank = shape.getDimCount();
        if (rank != 2 && rank != 4)
        {
            throw new OnnxImportException("graph input '" + in.getName() + "' has rank " + rank + "; PolyPI takes " +
                "[N, C, H, W] images or [N, F] feature vectors");
        }
        final TensorShapeProto.Dimension batch = shape.getDim(0);
        if (batch.hasDimValue())
        {
            if (batch.getDimValue() < 1)
            {
                throw new OnnxImportException("graph input '" + in.getName() + "' has batch dimension " +
                    batch.getDimValue());
            }
            staticBatch = batch.getDimValue();
        }
        final int[] dims = new int[rank - 1];
        long elements = 1;
        for (int i = 1; i < rank; i++)
        {
            final TensorShapeProto.Dimension d = shape.getDim(i);
            if (!d.hasDimValue() || d.getDimValue() < 1)
            {
                throw new OnnxImportException("graph input '" + in.getName() + "' dimension " + i + " is " +
                    (d.hasDimParam() ? "symbolic ('" + d.getDimParam() + "')" : "not a positive number") +
                    "; only the batch dimension may vary");
            }
            elements = d.getDimValue() > MAX_ACTIVATION_ELEMENTS ? MAX_ACTIVATION_ELEMENTS + 1 :
                elements * d.getDimValue();
            if (elements > MAX_ACTIVATION_ELEMENTS)
            {
                throw new OnnxImportException("graph input '" + in.getName() + "' has more than " +
                    MAX_ACTIVATION_ELEMENTS + " elements per item");
            }
            dims[i - 1] = (int)d.getDimValue();
        }
        inputName = freshName(in.getName(), "input");
        inputShape = Shape.of(dims);
        valueNameOfInput = in.getName();
    }

    /** Topological order of the nodes that contribute to some graph output. */
    private List<OnnxNode> schedule(final GraphProto graph) throws OnnxImportException
    {
        if (graph.getNodeCount() > MAX_GRAPH_ITEMS)
        {
            throw new OnnxImportException("the graph has " + graph.getNodeCount() + " nodes, at most " +
                MAX_GRAPH_ITEMS);
        }
        final List<OnnxNode> nodes = new ArrayList<>(graph.getNodeCount());
        final Map<String, Integer> producer = new HashMap<>();
        for (int i = 0; i < graph.getNodeCount(); i++)
        {
            final NodeProto proto = graph.getNode(i);
            final OnnxNode node = OnnxNode.of(i, proto);
            nodes.add(node);
            for (final String out : node.outputs())
            {
                if (out.isEmpty())
                {
                    continue;
                }
                if (out.equals(valueNameOfInput) || initializers.containsKey(out))
                {
                    throw node.error("output '" + out + "' is already a graph input or initializer");
                }
                final Integer other = producer.put(out, i);
                if (other != null)
                {
                    throw node.error("output '" + out + "' is also produced by " + nodes.get(other).label());
                }
            }
        }
        if (graph.getOutputCount() == 0)
        {
            throw new OnnxImportException("the graph has no outputs");
        }
        if (graph.getOutputCount() > ModelGraph.MAX_OUTPUTS)
        {
            throw new OnnxImportException("the graph has " + graph.getOutputCount() + " outputs, at most " +
                ModelGraph.MAX_OUTPUTS);
        }
        final boolean[] needed = new boolean[nodes.size()];
        final List<Integer> stack = new ArrayList<>();
        for (final ValueInfoProto out : graph.getOutputList())
        {
            if (!graphOutputs.add(out.getName()))
            {
                throw new OnnxImportException("graph output '" + out.getName() + "' is declared twice");
            }
            final Integer p = producer.get(out.getName());
            if (p == null)
            {
                throw new OnnxImportException("graph output '" + out.getName() + "' is not computed by any node" +
                    (out.getName().equals(valueNameOfInput) ? " (it is the graph input)" :
                        initializers.containsKey(out.getName()) ? " (it is a constant)" : ""));
            }
            stack.add(p);
        }
        while (!stack.isEmpty())
        {
            final int i = stack.removeLast();
            if (needed[i])
            {
                continue;
            }
            needed[i] = true;
            for (final String in : nodes.get(i).inputs())
            {
                final Integer p = producer.get(in);
                if (p != null && !needed[p])
                {
                    stack.add(p);
                }
            }
        }
        return sort(nodes, needed, producer);
    }

    /**
     * Kahn's algorithm; among the nodes ready at a time the one with the smallest name goes first (file position
     * breaks ties), so a model whose nodes have distinct names imports to the same graph, with the same
     * fingerprint, whatever the order of the nodes in the file.
     */
    private List<OnnxNode> sort(final List<OnnxNode> nodes, final boolean[] needed, final Map<String, Integer> producer)
        throws OnnxImportException
    {
        final int[] waiting = new int[nodes.size()];
        final Map<Integer, List<Integer>> readers = new HashMap<>();
        int dead = 0;
        for (int i = 0; i < nodes.size(); i++)
        {
            if (!needed[i])
            {
                dead += "Constant".equals(nodes.get(i).opType()) ? 0 : 1;
                continue;
            }
            final OnnxNode node = nodes.get(i);
            for (final String in : node.inputs())
            {
                if (in.isEmpty() || in.equals(valueNameOfInput) || initializers.containsKey(in))
                {
                    continue;
                }
                final Integer p = producer.get(in);
                if (p == null)
                {
                    throw node.error("input '" + in + "' is not computed by any node and is neither a graph input " +
                        "nor an initializer (missing initializer?)");
                }
                waiting[i]++;
                readers.computeIfAbsent(p, k -> new ArrayList<>()).add(i);
            }
        }
        if (dead > 0)
        {
            notices.add(dead + " node(s) do not contribute to any graph output and were ignored");
        }
        final PriorityQueue<Integer> ready = new PriorityQueue<>(
            Comparator.comparing((Integer i) -> nodes.get(i).name()).thenComparing(Comparator.naturalOrder()));
        for (int i = 0; i < nodes.size(); i++)
        {
            if (needed[i] && waiting[i] == 0)
            {
                ready.add(i);
            }
        }
        final List<OnnxNode> order = new ArrayList<>();
        while (!ready.isEmpty())
        {
            final int i = ready.poll();
            order.add(nodes.get(i));
            for (final int r : readers.getOrDefault(i, List.of()))
            {
                if (--waiting[r] == 0)
                {
                    ready.add(r);
                }
            }
        }
        int total = 0;
        for (final boolean b : needed)
        {
            total += b ? 1 : 0;
        }
        if (order.size() != total)
        {
            final List<String> stuck = new ArrayList<>();
            for (int i = 0; i < nodes.size() && stuck.size() < CYCLE_NODES_SHOWN; i++)
            {
                if (needed[i] && waiting[i] > 0)
                {
                    stuck.add(nodes.get(i).label());
                }
            }
            throw new OnnxImportException("the graph has a cycle: " + (total - order.size()) + " nodes wait on " +
                "each other, among them " + String.join(", ", stuck));
        }
        return order;
    }

    /** Which values are constant, who reads each value, and which values some reader raises to a power. */
    private void analyseUses(final List<OnnxNode> order)
    {
        final Set<String> constant = new HashSet<>(initializers.keySet());
        for (final OnnxNode node : order)
        {
            boolean allConstant = true;
            for (final String in : node.inputs())
            {
                allConstant &= in.isEmpty() || constant.contains(in);
                if (!in.isEmpty())
                {
                    consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(node);
                }
            }
            if (allConstant && !"Shape".equals(node.opType()))
            {
                constant.addAll(node.outputs());
            }
        }
        for (final OnnxNode node : order)
        {
            final String a = node.input(0);
            final String b = node.input(1);
            switch (node.opType())
            {
                case "Pow" -> nonlinearUses.add(a);
                case "Mul" ->
                {
                    if (!constant.contains(a) && !constant.contains(b))
                    {
                        nonlinearUses.add(a);
                        nonlinearUses.add(b);
                    }
                }
                default ->
                {
                }
            }
        }
    }

    private ModelHeader header(final GraphProto graph, final String fallback, final float bound,
                               final List<String> classes) throws OnnxImportException
    {
        String arch = options.architecture();
        if (arch == null)
        {
            arch = fallback != null ? fallback : graph.getName();
            if (arch == null || GENERIC_GRAPH_NAMES.contains(arch))
            {
                arch = "onnx";
            }
            arch = cleanName(arch, "onnx");
        }
        try
        {
            return new ModelHeader(arch, inputShape, classes, options.fractionalBits(),
                Float.isNaN(bound) ? ImportOptions.DEFAULT_ACTIVATION_BOUND : bound);
        }
        catch (final IllegalArgumentException e)
        {
            throw new OnnxImportException("model header: " + e.getMessage(), e);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Per-node conversion

    private void convertNode(final OnnxNode node) throws OnnxImportException
    {
        if (!isStandardDomain(node.domain()))
        {
            throw node.unsupported("operator " + node.opType() + " of domain '" + node.domain() + "' is not a " +
                "standard ONNX operator", "the standard operators " + Unsupported.SUPPORTED);
        }
        final List<Value> in = new ArrayList<>(node.inputs().size());
        boolean allConstant = true;
        for (final String name : node.inputs())
        {
            final Value v = name.isEmpty() ? null : resolve(node, name);
            in.add(v);
            allConstant &= v == null || v instanceof Value.Const;
        }
        if (allConstant && !"Shape".equals(node.opType()))
        {
            if (!ConstFolder.supports(node.opType()))
            {
                if (DATA_OPS.contains(node.opType()))
                {
                    throw node.error("has only constant inputs; it must read a tensor computed from the graph input");
                }
                throw Unsupported.operator(node);
            }
            final List<ConstTensor> constants = new ArrayList<>(in.size());
            for (final Value v : in)
            {
                constants.add(v == null ? null : ((Value.Const)v).tensor());
            }
            final List<Value> out = new ArrayList<>();
            for (final ConstTensor t : ConstFolder.fold(node, constants, opset))
            {
                foldedElements += t.size();
                if (foldedElements > MAX_FOLDED_TOTAL)
                {
                    throw node.error("the constants computed so far exceed " + MAX_FOLDED_TOTAL + " elements");
                }
                out.add(new Value.Const(t));
            }
            bind(node, out);
            return;
        }
        final int[] arity = ARITY.get(node.opType());
        if (arity != null && (in.size() < arity[0] || in.size() > arity[1]))
        {
            throw node.error("has " + in.size() + " inputs, " + node.opType() + " takes " + (arity[0] == arity[1] ?
                String.valueOf(arity[0]) : arity[0] + " to " + arity[1]));
        }
        final Value out = switch (node.opType())
        {
            case "Identity" -> arg(node, in, 0);
            case "Dropout" -> dropout(node, in);
            case "Cast" -> cast(node, in);
            case "Conv" -> conv(node, in);
            case "Gemm" -> gemm(node, in);
            case "MatMul" -> matMul(node, in);
            case "Add", "Sub", "Mul", "Div", "Pow" -> arithmetic(node, node.opType(), arg(node, in, 0),
                arg(node, in, 1));
            case "Sum" -> sum(node, in);
            case "Neg" -> scaled(node, data(node, in, 0), -1);
            case "BatchNormalization" -> batchNorm(node, in);
            case "Relu" -> layer(node, new Layer.ReLU(), data(node, in, 0));
            case "Clip" -> clip(node, in);
            case "AveragePool" -> averagePool(node, in);
            case "MaxPool" -> maxPool(node, in);
            case "GlobalAveragePool" -> layer(node, new Layer.GlobalAvgPool(), featureMap(node, data(node, in, 0)));
            case "ReduceMean" -> reduceMean(node, in);
            case "Flatten" -> flatten(node, in);
            case "Reshape" -> reshape(node, in);
            case "Squeeze" -> squeeze(node, in);
            case "Pad" -> pad(node, in);
            case "Shape" -> shape(node, in);
            default -> throw Unsupported.operator(node);
        };
        bind(node, List.of(out));
    }

    private Value resolve(final OnnxNode node, final String name) throws OnnxImportException
    {
        final Value v = values.get(name);
        if (v != null)
        {
            return v;
        }
        final TensorProto t = initializers.get(name);
        if (t == null)
        {
            throw node.error("input '" + name + "' is not defined");
        }
        final Value c = new Value.Const(TensorDecoder.decode(t, "initializer '" + name + "'"));
        values.put(name, c);
        return c;
    }

    /**
     * Binds the node's outputs. Outputs the conversion does not produce (Dropout's mask, BatchNormalization's
     * training statistics, MaxPool's indices) must not be read by anything. A degree-1 polynomial that some reader
     * raises to a power becomes a layer here if nothing else reads its base, so that it can fold into the Conv or
     * Gemm before it while the activation polynomial stays public and shared (PILLAR's BatchNorm, then polynomial).
     * When the base has other readers, the affine map is a step of a larger polynomial of the base (Horner's form
     * {@code (a x + b) x + c}, HerPN's terms) and stays part of it.
     */
    private void bind(final OnnxNode node, final List<Value> produced) throws OnnxImportException
    {
        for (int i = 0; i < node.outputs().size(); i++)
        {
            final String name = node.outputs().get(i);
            if (name.isEmpty())
            {
                continue;
            }
            if (i >= produced.size())
            {
                if (consumers.containsKey(name) || graphOutputs.contains(name))
                {
                    throw node.unsupported("output " + i + " ('" + name + "') is used, but only the first output " +
                        "is supported", "a model that reads only the node's main output (inference mode)");
                }
                continue;
            }
            Value v = produced.get(i);
            if (v instanceof Value.Data d && d.poly() != null && d.poly().degree() <= 1 &&
                nonlinearUses.contains(name) && consumers.getOrDefault(d.origin(), List.of()).size() == 1)
            {
                v = new Value.Data(materialize(d), d.shape(), null, d.label(), name);
            }
            values.put(name, v);
        }
    }

    private static Value arg(final OnnxNode node, final List<Value> in, final int i) throws OnnxImportException
    {
        if (i >= in.size() || in.get(i) == null)
        {
            throw node.error("input " + i + " is missing");
        }
        return in.get(i);
    }

    /** Input {@code i} as a data tensor (a zero Pad is only allowed before a Conv). */
    private static Value.Data data(final OnnxNode node, final List<Value> in, final int i)
        throws OnnxImportException
    {
        return asData(node, arg(node, in, i), "input " + i);
    }

    private static Value.Data asData(final OnnxNode node, final Value v, final String role)
        throws OnnxImportException
    {
        return switch (v)
        {
            case Value.Data d -> d;
            case Value.Padded p -> throw p.node().unsupported("a zero Pad is only supported directly before a " +
                "Conv, but " + node.label() + " reads it", "Conv with padding=p instead of a separate pad");
            case Value.Const c -> throw node.error(role + " is a constant " + c.tensor().describe() +
                ", expected a tensor computed from the graph input");
        };
    }

    private static ConstTensor constant(final OnnxNode node, final List<Value> in, final int i, final String role)
        throws OnnxImportException
    {
        final Value v = arg(node, in, i);
        if (v instanceof Value.Const c)
        {
            return c.tensor();
        }
        throw node.unsupported(role + " (input " + i + ") is computed from the graph input, not a constant",
            "constant weights (initializers)");
    }

    private static ConstTensor optionalConstant(final OnnxNode node, final List<Value> in, final int i,
                                                final String role) throws OnnxImportException
    {
        return i < in.size() && in.get(i) != null ? constant(node, in, i, role) : null;
    }

    /** The polynomial of {@code d} becomes a layer if it has one; returns the name to read. */
    String materialize(final Value.Data d) throws OnnxImportException
    {
        if (d.poly() == null)
        {
            return d.base();
        }
        if (d.materialized() != null)
        {
            return d.materialized();
        }
        final Layer layer;
        try
        {
            layer = d.poly().toLayer(d.channels());
        }
        catch (final IllegalArgumentException e)
        {
            throw new OnnxImportException("the elementwise computation ending at '" + d.label() + "': " +
                e.getMessage(), e);
        }
        final String name = add(d.label(), layer, d.base());
        d.materialized(name);
        return name;
    }

    /** Adds a layer named after the node (or its label), returns its name. */
    private String add(final String preferred, final Layer layer, final String... inputs) throws OnnxImportException
    {
        final String name = freshName(preferred, "layer");
        try
        {
            builder.add(name, layer, inputs);
        }
        catch (final IllegalArgumentException e)
        {
            throw new OnnxImportException(e.getMessage(), e);
        }
        final Shape out = builder.shapeOf(name);
        if (out.elements() > MAX_ACTIVATION_ELEMENTS)
        {
            throw new OnnxImportException("layer " + name + " (" + layer.describe() + ") outputs " + out +
                ", more than " + MAX_ACTIVATION_ELEMENTS + " elements per item");
        }
        return name;
    }

    /** {@code layer} applied to {@code input} (its polynomial made a layer first), as the node's output. */
    private Value.Data layer(final OnnxNode node, final Layer layer, final Value.Data input)
        throws OnnxImportException
    {
        final String source = materialize(input);
        final String name;
        try
        {
            name = add(nodeName(node), layer, source);
        }
        catch (final OnnxImportException e)
        {
            throw node.error(e.getMessage());
        }
        return new Value.Data(name, builder.shapeOf(name), null, name, node.outputs().getFirst());
    }

    private static String nodeName(final OnnxNode node)
    {
        return node.name().isEmpty() ? node.opType() + "_" + node.index() : node.name();
    }

    private static Value.Data featureMap(final OnnxNode node, final Value.Data d) throws OnnxImportException
    {
        if (!d.shape().isFeatureMap())
        {
            throw node.error("input has per-item shape " + d.shape() + ", expected a feature map [C,H,W]");
        }
        return d;
    }

    private static Value dropout(final OnnxNode node, final List<Value> in) throws OnnxImportException
    {
        final ConstTensor training = in.size() > 2 && in.get(2) != null ? constant(node, in, 2, "training_mode") :
            null;
        if (training != null && training.size() == 1 && training.real(0) != 0)
        {
            throw node.unsupported("Dropout in training mode", "export in inference mode (model.eval())");
        }
        return arg(node, in, 0);
    }

    private static Value cast(final OnnxNode node, final List<Value> in) throws OnnxImportException
    {
        final long to = node.intAttribute("to", -1);
        if (to != ONNX_FLOAT && to != ONNX_DOUBLE)
        {
            throw node.unsupported("Cast of a data tensor to type " + to, "float32 activations throughout");
        }
        return data(node, in, 0);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Linear layers

    private Value conv(final OnnxNode node, final List<Value> in) throws OnnxImportException
    {
        final Value x = arg(node, in, 0);
        final Value.Data input;
        int prePad = 0;
        if (x instanceof Value.Padded p)
        {
            input = p.data();
            prePad = p.pad();
        }
        else
        {
            input = asData(node, x, "input 0");
        }
        final ConstTensor w = constant(node, in, 1, "the weights");
        final ConstTensor b = optionalConstant(node, in, 2, "the bias");
        if (w.rank() != 4)
        {
            throw node.unsupported("a " + (w.rank() - 2) + "-D convolution (weights of rank " + w.rank() + ")",
                "2-D convolution (nn.Conv2d)");
        }
        final long group = node.intAttribute("group", 1);
        if (group != 1)
        {
            throw node.unsupported("grouped or depthwise convolution (group=" + group + ")",
                "a dense Conv with group=1");
        }
        requireOnes(node, "dilations", "dilated convolution", "Conv with dilation 1");
        final int[] kernel = node.smallInts("kernel_shape", 1, Integer.MAX_VALUE);
        if (kernel != null && (kernel.length != 2 || kernel[0] != w.dim(2) || kernel[1] != w.dim(3)))
        {
            throw node.error("kernel_shape " + Arrays.toString(kernel) + " does not match the weights " +
                w.describe());
        }
        featureMap(node, input);
        final int stride = squareStride(node, "Conv");
        final int pad = symmetricPads(node, input.shape(), (int)Math.min(w.dim(2), Integer.MAX_VALUE),
            (int)Math.min(w.dim(3), Integer.MAX_VALUE), stride, "Conv");
        final long padding = (long)pad + prePad;
        if (padding > Integer.MAX_VALUE)
        {
            throw node.error("padding " + padding + " is too large");
        }
        final Layer layer;
        try
        {
            layer = Layer.Conv2d.of(tensor(node, w, "weights"), b == null ? null : tensor(node, b, "bias"), stride,
                (int)padding);
        }
        catch (final IllegalArgumentException e)
        {
            throw node.error(e.getMessage());
        }
        return layer(node, layer, input);
    }

    private Value gemm(final OnnxNode node, final List<Value> in) throws OnnxImportException
    {
        final Value.Data x = vector(node, data(node, in, 0), "Gemm");
        if (node.intAttribute("transA", 0) != 0)
        {
            throw node.unsupported("Gemm with transA=1", "Gemm with the data as its first, untransposed operand");
        }
        final ConstTensor b = constant(node, in, 1, "the weights");
        final ConstTensor c = optionalConstant(node, in, 2, "the bias");
        final boolean transB = node.intAttribute("transB", 0) != 0;
        final double alpha = node.floatAttribute("alpha", 1);
        final double beta = node.floatAttribute("beta", 1);
        if (b.rank() != 2)
        {
            throw node.error("weights must be a matrix, are " + b.describe());
        }
        final long k = transB ? b.dim(1) : b.dim(0);
        final long m = transB ? b.dim(0) : b.dim(1);
        if (k != x.channels())
        {
            throw node.error("weights " + b.describe() + (transB ? " (transposed)" : "") + " expect " + k +
                " input features, the input has " + x.channels());
        }
        final float[] w = weightMatrix(b, (int)k, (int)m, transB, alpha);
        float[] bias = null;
        if (c != null && beta != 0)
        {
            bias = rowVector(node, c, (int)m, beta, "bias");
        }
        return linear(node, x, w, bias, (int)k, (int)m);
    }

    private Value matMul(final OnnxNode node, final List<Value> in) throws OnnxImportException
    {
        if (arg(node, in, 0) instanceof Value.Const && arg(node, in, 1) instanceof Value.Data)
        {
            throw node.unsupported("MatMul with the weights on the left", "x @ W with the data on the left " +
                "(nn.Linear)");
        }
        final Value.Data x = vector(node, data(node, in, 0), "MatMul");
        final ConstTensor b = constant(node, in, 1, "the weights");
        if (b.rank() != 2)
        {
            throw node.unsupported("MatMul with a weight tensor of rank " + b.rank(), "a 2-D weight matrix " +
                "(nn.Linear)");
        }
        if (b.dim(0) != x.channels())
        {
            throw node.error("weights " + b.describe() + " expect " + b.dim(0) + " input features, the input has " +
                x.channels());
        }
        final int k = (int)b.dim(0);
        final int m = (int)b.dim(1);
        return linear(node, x, weightMatrix(b, k, m, false, 1), null, k, m);
    }

    private Value linear(final OnnxNode node, final Value.Data x, final float[] w, final float[] bias, final int k,
                         final int m) throws OnnxImportException
    {
        final Layer layer;
        try
        {
            final Tensor weights = Tensor.of(Shape.of(m, k), checkFinite(node, w, "weights"));
            layer = new Layer.Linear(k, m, weights, bias == null ? null : Tensor.of(Shape.of(m),
                checkFinite(node, bias, "bias")));
        }
        catch (final IllegalArgumentException e)
        {
            throw node.error(e.getMessage());
        }
        return layer(node, layer, x);
    }

    /** {@code W[o][i]} of a Linear layer from a [K,M] matrix (or [M,K] when transposed), times alpha. */
    private static float[] weightMatrix(final ConstTensor b, final int k, final int m, final boolean transposed,
                                        final double alpha)
    {
        final float[] w = new float[m * k];
        for (int o = 0; o < m; o++)
        {
            for (int i = 0; i < k; i++)
            {
                final double v = transposed ? b.real(o * k + i) : b.real(i * m + o);
                w[o * k + i] = (float)(alpha * v);
            }
        }
        return w;
    }

    /** A bias-like constant broadcast to {@code [m]}: a scalar, {@code [m]} or {@code [1, m]}, times scale. */
    private static float[] rowVector(final OnnxNode node, final ConstTensor c, final int m, final double scale,
                                     final String role) throws OnnxImportException
    {
        final long[] dims = c.dims();
        final long last = dims.length == 0 ? 1 : dims[dims.length - 1];
        for (int i = 0; i < dims.length - 1; i++)
        {
            if (dims[i] != 1)
            {
                throw node.error(role + " " + c.describe() + " does not broadcast to [" + m + "]");
            }
        }
        if (last != 1 && last != m || c.dependsOnBatch())
        {
            throw node.error(role + " " + c.describe() + " does not broadcast to [" + m + "]");
        }
        final float[] out = new float[m];
        for (int o = 0; o < m; o++)
        {
            out[o] = (float)(scale * c.real(last == 1 ? 0 : o));
        }
        return out;
    }

    private static Value.Data vector(final OnnxNode node, final Value.Data x, final String op)
        throws OnnxImportException
    {
        if (!x.shape().isVector())
        {
            throw node.unsupported(op + " on a tensor of per-item shape " + x.shape(),
                "Flatten (torch.flatten(x, 1)) before the fully connected layer");
        }
        return x;
    }

    private static Tensor tensor(final OnnxNode node, final ConstTensor c, final String role)
        throws OnnxImportException
    {
        if (c.rank() < 1 || c.rank() > Shape.MAX_RANK)
        {
            throw node.error(role + " " + c.describe() + " must have rank 1 to " + Shape.MAX_RANK);
        }
        final int[] dims = new int[c.rank()];
        for (int i = 0; i < dims.length; i++)
        {
            if (c.dim(i) < 1 || c.dim(i) > Integer.MAX_VALUE)
            {
                throw node.error(role + " " + c.describe() + " has an empty or too large dimension");
            }
            dims[i] = (int)c.dim(i);
        }
        if (c.dependsOnBatch())
        {
            throw node.error(role + " depends on the batch size");
        }
        try
        {
            return Tensor.of(Shape.of(dims), checkFinite(node, c.floatValues(), role));
        }
        catch (final IllegalArgumentException e)
        {
            throw node.error(role + ": " + e.getMessage());
        }
    }

    private static float[] checkFinite(final OnnxNode node, final float[] v, final String role)
        throws OnnxImportException
    {
        for (int i = 0; i < v.length; i++)
        {
            if (!Float.isFinite(v[i]))
            {
                throw node.error(role + " element " + i + " is " + v[i] + " in float32");
            }
        }
        return v;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Elementwise arithmetic: polynomials of one tensor, residual additions

    private Value arithmetic(final OnnxNode node, final String op, final Value a, final Value b)
        throws OnnxImportException
    {
        if (a instanceof Value.Const ca && b instanceof Value.Const cb)
        {
            final List<ConstTensor> out = ConstFolder.fold(node, List.of(ca.tensor(), cb.tensor()), opset);
            return new Value.Const(out.getFirst());
        }
        if (a instanceof Value.Data da && b instanceof Value.Data db)
        {
            if (da.base().equals(db.base()) && da.shape().equals(db.shape()))
            {
                return switch (op)
                {
                    case "Add" -> poly(node, da, da.polyOrIdentity().plus(db.polyOrIdentity()));
                    case "Sub" -> poly(node, da, da.polyOrIdentity().plus(negate(db.polyOrIdentity())));
                    case "Mul" -> poly(node, da, times(node, da.polyOrIdentity(), db.polyOrIdentity()));
                    default -> throw node.unsupported(op + " of two tensors", "Mul, Add and Pow with constant " +
                        "exponents (a polynomial)");
                };
            }
            return switch (op)
            {
                case "Add" -> residual(node, da, db);
                case "Sub" -> residual(node, da, scaledData(node, db, -1));
                default -> throw node.unsupported(op + " of two different tensors ('" + node.input(0) + "' and '" +
                    node.input(1) + "'): only polynomials of a single tensor are supported",
                    "Add of two branches (residual), or Mul/Add/Pow on one tensor (a polynomial activation)");
            };
        }
        if (a instanceof Value.Data da && b instanceof Value.Const cb)
        {
            final Polynomial p = da.polyOrIdentity();
            return switch (op)
            {
                case "Add" -> poly(node, da, p.plus(Polynomial.constant(perChannel(node, cb.tensor(), da, 1))));
                case "Sub" -> poly(node, da, p.plus(Polynomial.constant(perChannel(node, cb.tensor(), da, -1))));
                case "Mul" -> poly(node, da, times(node, p, Polynomial.constant(perChannel(node, cb.tensor(), da,
                    1))));
                case "Div" -> poly(node, da, times(node, p, Polynomial.constant(reciprocal(node,
                    perChannel(node, cb.tensor(), da, 1)))));
                default -> poly(node, da, power(node, p, cb.tensor()));
            };
        }
        if (a instanceof Value.Const ca && b instanceof Value.Data db)
        {
            final Polynomial p = db.polyOrIdentity();
            return switch (op)
            {
                case "Add" -> poly(node, db, p.plus(Polynomial.constant(perChannel(node, ca.tensor(), db, 1))));
                case "Sub" -> poly(node, db, negate(p).plus(Polynomial.constant(perChannel(node, ca.tensor(), db,
                    1))));
                case "Mul" -> poly(node, db, times(node, p, Polynomial.constant(perChannel(node, ca.tensor(), db,
                    1))));
                default -> throw node.unsupported(op + " with a tensor as " + ("Div".equals(op) ? "divisor" :
                    "exponent"), "division by constants and constant integer exponents");
            };
        }
        // a Padded operand: asData names the Pad
        asData(node, a, "input 0");
        asData(node, b, "input 1");
        throw node.error("unexpected operands");
    }

    private Value sum(final OnnxNode node, final List<Value> in) throws OnnxImportException
    {
        Value acc = arg(node, in, 0);
        for (int i = 1; i < in.size(); i++)
        {
            acc = arithmetic(node, "Add", acc, arg(node, in, i));
        }
        return acc;
    }

    private static Value.Data poly(final OnnxNode node, final Value.Data on, final Polynomial p)
    {
        return new Value.Data(on.base(), on.shape(), p, nodeName(node), on.origin());
    }

    private static Polynomial negate(final Polynomial p)
    {
        return p.times(Polynomial.constant(new double[] {-1}));
    }

    private static Polynomial times(final OnnxNode node, final Polynomial a, final Polynomial b)
        throws OnnxImportException
    {
        try
        {
            return a.times(b);
        }
        catch (final IllegalArgumentException e)
        {
            throw node.unsupported(e.getMessage(), "a polynomial of degree at most " + Layer.MAX_POLY_DEGREE);
        }
    }

    private static Polynomial power(final OnnxNode node, final Polynomial p, final ConstTensor exponent)
        throws OnnxImportException
    {
        final Long k = exponent.size() == 1 && !exponent.dependsOnBatch() ? exponent.integer(0) : null;
        if (k == null || k < 0 || k > Layer.MAX_POLY_DEGREE)
        {
            throw node.unsupported("Pow with exponent " + (exponent.size() == 1 && !exponent.dependsOnBatch() ?
                String.valueOf(exponent.real(0)) : exponent.describe()), "an integer exponent from 0 to " +
                Layer.MAX_POLY_DEGREE + " (a polynomial)");
        }
        try
        {
            return p.power((int)(long)k);
        }
        catch (final IllegalArgumentException e)
        {
            throw node.unsupported(e.getMessage(), "a polynomial of degree at most " + Layer.MAX_POLY_DEGREE);
        }
    }

    private static double[] reciprocal(final OnnxNode node, final double[] v) throws OnnxImportException
    {
        final double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++)
        {
            if (v[i] == 0)
            {
                throw node.error("divides by zero");
            }
            r[i] = 1 / v[i];
        }
        return r;
    }

    private Value.Data scaled(final OnnxNode node, final Value.Data d, final double factor)
    {
        return poly(node, d, d.polyOrIdentity().times(Polynomial.constant(new double[] {factor})));
    }

    /** {@code factor * d} as its own tensor (for subtracting a branch). */
    private Value.Data scaledData(final OnnxNode node, final Value.Data d, final double factor)
        throws OnnxImportException
    {
        final Value.Data s = new Value.Data(materialize(d), d.shape(), Polynomial.affine(new double[] {factor},
            new double[] {0}), nodeName(node) + "/negate", d.origin());
        return new Value.Data(materialize(s), d.shape(), null, s.label(), d.origin());
    }

    private Value residual(final OnnxNode node, final Value.Data a, final Value.Data b) throws OnnxImportException
    {
        if (!a.shape().equals(b.shape()))
        {
            throw node.unsupported("Add of tensors of per-item shapes " + a.shape() + " and " + b.shape() +
                " (broadcasting)", "Add of two tensors of the same shape (a residual connection)");
        }
        final String left = materialize(a);
        final String right = materialize(b);
        final String name;
        try
        {
            name = add(nodeName(node), new Layer.Add(), left, right);
        }
        catch (final OnnxImportException e)
        {
            throw node.error(e.getMessage());
        }
        return new Value.Data(name, a.shape(), null, name, node.outputs().getFirst());
    }

    /**
     * The per-channel values of a constant operand of {@code d}: a scalar gives one value, a tensor that varies only
     * along the channel axis (e.g. {@code [C,1,1]} or {@code [1,C,1,1]} for a feature map, {@code [F]} for a
     * vector) gives C values; each times {@code factor}.
     */
    private static double[] perChannel(final OnnxNode node, final ConstTensor c, final Value.Data d,
                                       final double factor) throws OnnxImportException
    {
        final int rank = d.shape().rank() + 1;
        if (c.rank() > rank)
        {
            throw node.unsupported("a constant of shape " + c.describe() + " broadcast against a tensor of rank " +
                rank, "a scalar or per-channel constant");
        }
        if (c.dependsOnBatch())
        {
            throw node.error("uses the batch size as a number");
        }
        long channelDim = 1;
        for (int p = 0; p < rank; p++)
        {
            final long cd = p < rank - c.rank() ? 1 : c.dim(p - (rank - c.rank()));
            if (p == 1)
            {
                channelDim = cd;
            }
            else if (cd != 1)
            {
                throw node.unsupported("a constant of shape " + c.describe() + " that varies along axis " + p +
                    " of the tensor", "a scalar or a per-channel constant (shape [C,1,1] for [N,C,H,W])");
            }
        }
        if (channelDim != 1 && channelDim != d.channels())
        {
            throw node.error("a constant with " + channelDim + " channels applied to " + d.channels() + " channels");
        }
        final double[] v = new double[(int)channelDim];
        for (int i = 0; i < v.length; i++)
        {
            v[i] = factor * c.real(i);
        }
        return v;
    }

    private Value batchNorm(final OnnxNode node, final List<Value> in) throws OnnxImportException
    {
        final Value.Data x = data(node, in, 0);
        if (node.intAttribute("training_mode", 0) != 0)
        {
            throw node.unsupported("BatchNormalization in training mode", "export in inference mode (model.eval())");
        }
        final double eps = node.floatAttribute("epsilon", 1e-5f);
        final int channels = x.channels();
        final double[] gamma = channelVector(node, constant(node, in, 1, "scale"), channels, "scale");
        final double[] beta = channelVector(node, constant(node, in, 2, "bias"), channels, "bias");
        final double[] mean = channelVector(node, constant(node, in, 3, "mean"), channels, "mean");
        final double[] var = channelVector(node, constant(node, in, 4, "variance"), channels, "variance");
        final double[] scale = new double[channels];
        final double[] shift = new double[channels];
        for (int c = 0; c < channels; c++)
        {
            scale[c] = gamma[c] / Math.sqrt(var[c] + eps);
            shift[c] = beta[c] - mean[c] * scale[c];
            if (!Double.isFinite(scale[c]) || !Double.isFinite(shift[c]))
            {
                throw node.error("channel " + c + " has variance " + var[c] + " + epsilon " + eps + ", scale " +
                    gamma[c] + ", mean " + mean[c] + ": not a finite affine map");
            }
        }
        return poly(node, x, times(node, x.polyOrIdentity(), Polynomial.constant(scale))
            .plus(Polynomial.constant(shift)));
    }

    private static double[] channelVector(final OnnxNode node, final ConstTensor t, final int channels,
                                          final String role) throws OnnxImportException
    {
        if (t.rank() != 1 || t.dim(0) != channels || t.dependsOnBatch())
        {
            throw node.error(role + " " + t.describe() + " must be [" + channels + "] (one value per channel)");
        }
        return t.realValues();
    }

    private Value clip(final OnnxNode node, final List<Value> in) throws OnnxImportException
    {
        final Value.Data x = data(node, in, 0);
        final double lo = bound(node, in, 1, "min", Double.NEGATIVE_INFINITY);
        final double hi = bound(node, in, 2, "max", Double.POSITIVE_INFINITY);
        if (lo == 0 && hi == Double.POSITIVE_INFINITY)
        {
            return layer(node, new Layer.ReLU(), x);
        }
        final String out = node.outputs().getFirst();
        boolean polynomialInput = nonlinearUses.contains(out) && !graphOutputs.contains(out);
        for (final OnnxNode reader : consumers.getOrDefault(out, List.of()))
        {
            polynomialInput &= POLYNOMIAL_OPS.contains(reader.opType());
        }
        if (!polynomialInput)
        {
            throw node.unsupported("Clip to [" + lo + ", " + hi + "]", "Relu (Clip with min 0 and no max), or a " +
                "Clip directly before a polynomial activation (dropped: PILLAR clips only while training)");
        }
        if (Double.isFinite(lo) && Double.isFinite(hi))
        {
            final double b = Math.max(Math.abs(lo), Math.abs(hi));
            clipBound = Double.isNaN(clipBound) ? b : Math.max(clipBound, b);
        }
        notices.add(node.label() + ": Clip to [" + lo + ", " + hi + "] before a polynomial activation dropped " +
            "(PILLAR clips only while training); inputs outside that range now give other results than PyTorch's");
        return new Value.Data(materialize(x), x.shape(), null, nodeName(node), node.outputs().getFirst());
    }

    private static double bound(final OnnxNode node, final List<Value> in, final int i, final String role,
                                final double fallback) throws OnnxImportException
    {
        final ConstTensor t = optionalConstant(node, in, i, role);
        if (t == null)
        {
            return node.has(role) ? node.floatAttribute(role, 0) : fallback;
        }
        if (t.size() != 1 || t.dependsOnBatch())
        {
            throw node.error(role + " must be a scalar, is " + t.describe());
        }
        return t.real(0);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Pooling and shape operators

    private Value averagePool(final OnnxNode node, final List<Value> in) throws OnnxImportException
    {
        final Value.Data x = featureMap(node, data(node, in, 0));
        final int kernel = squareKernel(node);
        final int stride = squareStride(node, "AveragePool");
        requireOnes(node, "dilations", "dilated pooling", "AveragePool with dilation 1");
        final int pad = symmetricPads(node, x.shape(), kernel, kernel, stride, "AveragePool");
        if (pad != 0)
        {
            throw node.unsupported("average pooling with padding " + pad, "AveragePool without padding " +
                "(padding=0)");
        }
        checkCeilMode(node, x.shape(), kernel, stride, 0);
        try
        {
            return layer(node, new Layer.AvgPool2d(kernel, stride), x);
        }
        catch (final IllegalArgumentException e)
        {
            throw node.error(e.getMessage());
        }
    }

    private Value maxPool(final OnnxNode node, final List<Value> in) throws OnnxImportException
    {
        final Value.Data x = featureMap(node, data(node, in, 0));
        final int kernel = squareKernel(node);
        final int stride = squareStride(node, "MaxPool");
        requireOnes(node, "dilations", "dilated pooling", "MaxPool with dilation 1");
        final int pad = symmetricPads(node, x.shape(), kernel, kernel, stride, "MaxPool");
        checkCeilMode(node, x.shape(), kernel, stride, pad);
        final Layer layer;
        try
        {
            layer = new Layer.MaxPool2d(kernel, stride, pad);
        }
        catch (final IllegalArgumentException e)
        {
            throw node.error(e.getMessage());
        }
        return layer(node, layer, x);
    }

    private Value reduceMean(final OnnxNode node, final List<Value> in) throws OnnxImportException
    {
        final Value.Data x = data(node, in, 0);
        final long[] axes = opset >= 18 ? (in.size() > 1 && in.get(1) != null ?
            ConstFolder.integers(node, constant(node, in, 1, "axes"), "axes") : null) : node.intsAttribute("axes");
        final int rank = x.shape().rank() + 1;
        final Set<Integer> set = new HashSet<>();
        if (axes != null)
        {
            for (final long a : axes)
            {
                set.add(ConstFolder.axis(node, a, rank));
            }
        }
        if (!x.shape().isFeatureMap() || !set.equals(Set.of(2, 3)))
        {
            throw node.unsupported("ReduceMean over axes " + (axes == null ? "(all)" :
                Arrays.toString(axes)), "a mean over H and W (x.mean((2, 3)) or GlobalAveragePool)");
        }
        final Value.Data pooled = layer(node, new Layer.GlobalAvgPool(), x);
        if (node.intAttribute("keepdims", 1) != 0)
        {
            return pooled;
        }
        final String name = add(nodeName(node) + "/flatten", new Layer.Flatten(), pooled.base());
        return new Value.Data(name, builder.shapeOf(name), null, name, node.outputs().getFirst());
    }

    private Value flatten(final OnnxNode node, final List<Value> in) throws OnnxImportException
    {
        final Value.Data x = data(node, in, 0);
        final int rank = x.shape().rank() + 1;
        final int axis = ConstFolder.axis(node, node.intAttribute("axis", 1), rank + 1);
        if (axis != 1)
        {
            throw node.unsupported("Flatten at axis " + axis + (axis == 0 ? " (merges the batch)" : ""),
                "Flatten with axis 1 (torch.flatten(x, 1))");
        }
        return x.shape().isVector() ? x : layer(node, new Layer.Flatten(), x);
    }

    private Value reshape(final OnnxNode node, final List<Value> in) throws OnnxImportException
    {
        final Value.Data x = data(node, in, 0);
        final long[] target = ConstFolder.integers(node, constant(node, in, 1, "the shape"), "the shape");
        final boolean allowZero = node.intAttribute("allowzero", 0) != 0;
        if (target.length < 2)
        {
            throw node.unsupported("Reshape to " + describeShape(target) + " (drops the batch dimension)",
                "torch.flatten(x, 1)");
        }
        final long lead = target[0];
        final boolean keepsBatch = lead == ConstTensor.BATCH || (lead == 0 && !allowZero) ||
            (staticBatch > 0 && lead == staticBatch);
        final long[] rest = Arrays.copyOfRange(target, 1, target.length);
        boolean restHasInfer = false;
        for (int i = 0; i < rest.length; i++)
        {
            if (rest[i] == ConstTensor.BATCH)
            {
                throw node.unsupported("Reshape with the batch size inside the item shape " +
                    describeShape(target), "torch.flatten(x, 1)");
            }
            if (rest[i] == 0 && !allowZero)
            {
                // 0 copies the input's dimension at the same position, which is item dimension i
                if (i >= x.shape().rank())
                {
                    throw node.error("target " + describeShape(target) + " copies a dimension the input lacks");
                }
                rest[i] = x.shape().dim(i);
            }
            restHasInfer |= rest[i] == -1;
        }
        if (!keepsBatch && !(lead == -1 && !restHasInfer))
        {
            throw node.unsupported("Reshape to " + describeShape(target) + " changes the batch dimension",
                "torch.flatten(x, 1) or x.reshape(x.size(0), -1)");
        }
        final long[] item = new long[x.shape().rank()];
        for (int i = 0; i < item.length; i++)
        {
            item[i] = x.shape().dim(i);
        }
        final long[] out = ConstFolder.resolveShape(node, item, rest, true);
        if (Arrays.equals(out, item))
        {
            return x;
        }
        if (out.length == 1)
        {
            return x.shape().isVector() ? x : layer(node, new Layer.Flatten(), x);
        }
        throw node.unsupported("Reshape from per-item shape " + x.shape() + " to " + describeShape(out),
            "Flatten (torch.flatten(x, 1)) before a Gemm or MatMul");
    }

    private Value squeeze(final OnnxNode node, final List<Value> in) throws OnnxImportException
    {
        final Value.Data x = data(node, in, 0);
        final long[] axes = opset >= 13 ? (in.size() > 1 && in.get(1) != null ?
            ConstFolder.integers(node, constant(node, in, 1, "axes"), "axes") : null) : node.intsAttribute("axes");
        if (axes == null)
        {
            throw node.unsupported("Squeeze without axes (would also drop a batch of 1)",
                "torch.flatten(x, 1)");
        }
        final int rank = x.shape().rank() + 1;
        final boolean[] drop = new boolean[rank];
        for (final long a : axes)
        {
            final int i = ConstFolder.axis(node, a, rank);
            if (i == 0 || x.shape().dim(i - 1) != 1)
            {
                throw node.error("cannot squeeze axis " + a + " of [N," + x.shape().toString().substring(1));
            }
            drop[i] = true;
        }
        int kept = 0;
        for (int i = 1; i < rank; i++)
        {
            kept += drop[i] ? 0 : 1;
        }
        if (kept == x.shape().rank())
        {
            return x;
        }
        if (kept == 1)
        {
            return layer(node, new Layer.Flatten(), x);
        }
        throw node.unsupported("Squeeze of " + x.shape() + " to rank " + kept, "Flatten (torch.flatten(x, 1))");
    }

    private Value pad(final OnnxNode node, final List<Value> in) throws OnnxImportException
    {
        final Value.Data x = data(node, in, 0);
        final String mode = node.stringAttribute("mode", "constant");
        if (!"constant".equals(mode))
        {
            throw node.unsupported("Pad mode '" + mode + "'", "zero padding (mode 'constant', value 0), folded " +
                "into the following Conv");
        }
        final long[] pads = ConstFolder.integers(node, constant(node, in, 1, "pads"), "pads");
        final ConstTensor value = optionalConstant(node, in, 2, "constant_value");
        if (value != null && (value.size() != 1 || value.dependsOnBatch() || value.real(0) != 0))
        {
            throw node.unsupported("Pad with value " + value.describe(), "zero padding folded into the Conv");
        }
        final int rank = x.shape().rank() + 1;
        final ConstTensor axesInput = in.size() > 3 && in.get(3) != null ? constant(node, in, 3, "axes") : null;
        final long[] axes;
        if (axesInput != null)
        {
            axes = ConstFolder.integers(node, axesInput, "axes");
        }
        else
        {
            axes = new long[rank];
            for (int i = 0; i < rank; i++)
            {
                axes[i] = i;
            }
        }
        if (pads.length != 2 * axes.length)
        {
            throw node.error("pads has " + pads.length + " values for " + axes.length + " axes");
        }
        final long[] begin = new long[rank];
        final long[] end = new long[rank];
        for (int i = 0; i < axes.length; i++)
        {
            final int a = ConstFolder.axis(node, axes[i], rank);
            begin[a] = pads[i];
            end[a] = pads[i + axes.length];
        }
        boolean zero = true;
        for (int a = 0; a < rank; a++)
        {
            zero &= begin[a] == 0 && end[a] == 0;
        }
        if (zero)
        {
            return x;
        }
        final long p = begin[rank - 1];
        boolean symmetric = x.shape().isFeatureMap() && begin[0] == 0 && end[0] == 0 && begin[1] == 0 && end[1] == 0;
        for (int a = rank - SPATIAL_AXES; a < rank; a++)
        {
            symmetric &= begin[a] == p && end[a] == p;
        }
        if (!symmetric || p < 0 || p > Integer.MAX_VALUE)
        {
            throw node.unsupported("Pad with pads " + describeShape(pads) + " (not the same zero padding on " +
                "all four sides of H and W)", "symmetric zero padding of H and W, folded into the following Conv");
        }
        return new Value.Padded(x, (int)p, node);
    }

    private static Value shape(final OnnxNode node, final List<Value> in) throws OnnxImportException
    {
        final Value v = arg(node, in, 0);
        if (v instanceof Value.Const c)
        {
            return new Value.Const(ConstFolder.shapeOf(node, c.tensor().dims()));
        }
        final Value.Data x = asData(node, v, "input 0");
        final long[] dims = new long[x.shape().rank() + 1];
        dims[0] = ConstTensor.BATCH;
        for (int i = 1; i < dims.length; i++)
        {
            dims[i] = x.shape().dim(i - 1);
        }
        return new Value.Const(ConstFolder.shapeOf(node, dims));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Attribute helpers for Conv and pooling

    private static void requireOnes(final OnnxNode node, final String attribute, final String what,
                                    final String alternative) throws OnnxImportException
    {
        final long[] v = node.intsAttribute(attribute);
        if (v != null)
        {
            for (final long d : v)
            {
                if (d != 1)
                {
                    throw node.unsupported(what + " (" + attribute + " " + Arrays.toString(v) + ")",
                        alternative);
                }
            }
        }
    }

    private static int squareKernel(final OnnxNode node) throws OnnxImportException
    {
        final int[] k = node.smallInts("kernel_shape", 1, Integer.MAX_VALUE);
        if (k == null)
        {
            throw node.error("has no kernel_shape");
        }
        if (k.length != 2 || k[0] != k[1])
        {
            throw node.unsupported("pooling window " + Arrays.toString(k), "a square 2-D window");
        }
        return k[0];
    }

    private static int squareStride(final OnnxNode node, final String op) throws OnnxImportException
    {
        final int[] s = node.smallInts("strides", 1, Integer.MAX_VALUE);
        if (s == null)
        {
            return 1;
        }
        if (s.length != 2 || s[0] != s[1])
        {
            throw node.unsupported(op + " with strides " + Arrays.toString(s), "the same stride in H " +
                "and W");
        }
        return s[0];
    }

    /** The one padding of H and W (pads or auto_pad); asymmetric padding is refused. */
    private static int symmetricPads(final OnnxNode node, final Shape in, final int kh, final int kw,
                                     final int stride, final String op) throws OnnxImportException
    {
        final String auto = node.stringAttribute("auto_pad", "NOTSET");
        switch (auto)
        {
            case "NOTSET" ->
            {
                final int[] p = node.smallInts("pads", 0, Integer.MAX_VALUE);
                if (p == null)
                {
                    return 0;
                }
                if (p.length != 2 * SPATIAL_AXES || p[0] != p[1] || p[0] != p[2] || p[0] != p[3])
                {
                    throw node.unsupported(op + " with pads " + Arrays.toString(p) + " (not the same on " +
                        "all four sides)", "symmetric padding (padding=p in PyTorch)");
                }
                return p[0];
            }
            case "VALID" ->
            {
                return 0;
            }
            case "SAME_UPPER", "SAME_LOWER" ->
            {
                final long ph = samePad(in.dim(1), kh, stride);
                final long pw = samePad(in.dim(2), kw, stride);
                if (ph != pw || ph % 2 != 0)
                {
                    throw node.unsupported(op + " with auto_pad " + auto + " needing " + ph + " x " + pw + " padding " +
                        "(asymmetric)", "explicit symmetric pads");
                }
                return (int)(ph / 2);
            }
            default -> throw node.error("auto_pad '" + auto + "' is not an ONNX value");
        }
    }

    private static long samePad(final int size, final int kernel, final int stride)
    {
        final long out = (size + (long)stride - 1) / stride;
        return Math.max(0, (out - 1) * stride + kernel - size);
    }

    /** ceil_mode=1 is accepted when it gives the same size as floor mode (no partial window). */
    private static void checkCeilMode(final OnnxNode node, final Shape in, final int kernel, final int stride,
                                      final int pad) throws OnnxImportException
    {
        if (node.intAttribute("ceil_mode", 0) == 0)
        {
            return;
        }
        for (int axis = 1; axis <= SPATIAL_AXES; axis++)
        {
            final long span = in.dim(axis) + 2L * pad - kernel;
            if (span >= 0 && span % stride != 0)
            {
                throw node.unsupported("ceil_mode=1 with a partial last window on " + in, "ceil_mode=False");
            }
        }
    }

    private static String describeShape(final long[] dims)
    {
        final StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < dims.length; i++)
        {
            sb.append(i > 0 ? "," : "").append(dims[i] == ConstTensor.BATCH ? "N" : String.valueOf(dims[i]));
        }
        return sb.append(']').toString();
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Outputs, folding, names

    private String outputNode(final String valueName) throws OnnxImportException
    {
        final Value v = values.get(valueName);
        if (v == null)
        {
            throw new OnnxImportException("graph output '" + valueName + "' was not computed");
        }
        return switch (v)
        {
            case Value.Const c -> throw new OnnxImportException("graph output '" + valueName + "' is a constant " +
                c.tensor().describe() + " that does not depend on the input");
            case Value.Padded p -> throw p.node().unsupported("its output is a graph output",
                "a zero Pad directly before a Conv");
            case Value.Data d ->
            {
                final String name = materialize(d);
                if (name.equals(inputName))
                {
                    throw new OnnxImportException("graph output '" + valueName + "' is the graph input itself");
                }
                yield name;
            }
        };
    }

    /**
     * Folds every degree-1 polynomial that directly follows a Conv or Gemm read only by it into that layer (as an
     * equivalent BatchNorm, which {@link GraphTransforms#foldBatchNorm} folds), under the final header.
     */
    private ModelGraph foldAffine(final ModelGraph g, final ModelHeader header) throws OnnxImportException
    {
        try
        {
            final ModelGraph.Builder b = ModelGraph.builder(header);
            for (final GraphInput in : g.inputs())
            {
                b.input(in.name(), in.shape());
            }
            for (final Node n : g.nodes())
            {
                Layer layer = n.layer();
                final Polynomial affine = affine(layer);
                if (affine != null)
                {
                    final String in = n.input();
                    final Node producer = g.findNode(in).orElse(null);
                    final boolean foldable = producer != null && (producer.layer() instanceof Layer.Conv2d ||
                        producer.layer() instanceof Layer.Linear) && g.consumers(in).size() == 1 &&
                        !g.outputs().contains(in);
                    if (foldable)
                    {
                        layer = batchNorm(affine, g.shape(in).dim(0));
                    }
                    else
                    {
                        notices.add("layer " + n.name() + ": a per-channel affine map (BatchNormalization or Mul/Add " +
                            "by constants) stays a degree-1 polynomial layer: its input " + in + " is not a Conv or " +
                            "Gemm read only by it");
                    }
                }
                b.add(n.name(), layer, n.inputs().toArray(String[]::new));
            }
            for (final String out : g.outputs())
            {
                b.output(out);
            }
            return GraphTransforms.foldBatchNorm(b.build());
        }
        catch (final IllegalArgumentException e)
        {
            throw new OnnxImportException("folding affine maps failed: " + e.getMessage(), e);
        }
    }

    /** The polynomial of a degree-1 Poly or ChannelPoly layer, else null. */
    private static Polynomial affine(final Layer layer)
    {
        return switch (layer)
        {
            case Layer.Poly p when p.degree() == 1 -> Polynomial.affine(new double[] {p.coefficient(1)},
                new double[] {p.coefficient(0)});
            case Layer.ChannelPoly p when p.degree() == 1 ->
            {
                final double[] scale = new double[p.channels()];
                final double[] shift = new double[p.channels()];
                for (int c = 0; c < scale.length; c++)
                {
                    scale[c] = p.coefficient(c, 1);
                    shift[c] = p.coefficient(c, 0);
                }
                yield Polynomial.affine(scale, shift);
            }
            default -> null;
        };
    }

    /** {@code scale * x + shift} as a BatchNorm: gamma = scale, beta = shift, mean 0, variance 1, epsilon 0. */
    private static Layer.BatchNorm batchNorm(final Polynomial affine, final int channels)
    {
        final double[][] ab = affine.affineCoefficients();
        final float[] gamma = new float[channels];
        final float[] beta = new float[channels];
        final float[] ones = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            final int r = ab[0].length == 1 ? 0 : c;
            gamma[c] = (float)ab[0][r];
            beta[c] = (float)ab[1][r];
            ones[c] = 1f;
        }
        final Shape s = Shape.of(channels);
        return new Layer.BatchNorm(Tensor.of(s, gamma), Tensor.of(s, beta), Tensor.zeros(s), Tensor.of(s, ones), 0f);
    }

    /** A valid, unused layer name close to {@code preferred}. */
    private String freshName(final String preferred, final String fallback)
    {
        final String base = cleanName(preferred, fallback);
        String name = base;
        for (int k = 2; !usedNames.add(name); k++)
        {
            name = base + "#" + k;
        }
        return name;
    }

    /** {@code name} without control characters or unpaired surrogates, at most {@value #MAX_NAME_BYTES} bytes. */
    private static String cleanName(final String name, final String fallback)
    {
        final StringBuilder sb = new StringBuilder();
        int bytes = 0;
        for (int i = 0; i < name.length(); i++)
        {
            final char c = name.charAt(i);
            String piece;
            if (Character.isHighSurrogate(c) && i + 1 < name.length() && Character.isLowSurrogate(name.charAt(i + 1)))
            {
                piece = name.substring(i, i + 2);
                i++;
            }
            else if (Character.isSurrogate(c) || Character.isISOControl(c))
            {
                piece = "_";
            }
            else
            {
                piece = String.valueOf(c);
            }
            bytes += piece.getBytes(StandardCharsets.UTF_8).length;
            if (bytes > MAX_NAME_BYTES)
            {
                break;
            }
            sb.append(piece);
        }
        return sb.isEmpty() ? fallback.toLowerCase(Locale.ROOT) : sb.toString();
    }
}
