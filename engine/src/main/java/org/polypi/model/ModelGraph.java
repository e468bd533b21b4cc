package org.polypi.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * An immutable directed acyclic graph of {@link Layer}s over NCHW tensors, with named inputs and outputs.
 * <p>
 * {@link #nodes()} is in topological order (every node comes after its inputs): the builder only accepts a node
 * whose inputs already exist, so an interpreter simply walks the list. Every shape is inferred and checked when the
 * graph is built ({@link #shape(String)}), and every node contributes to some output (no dead nodes).
 * <p>
 * The header's {@link ActivationStatistics}, if any, belong to the graph: building checks that every site names an
 * activation node ({@link ActivationStatistics#isSiteLayer}), in node order, and counts {@code images} times that
 * node's elements; a transform that removes an activation node must drop its site
 * ({@link ModelHeader#retainingSites}).
 * <p>
 * Equality is structural: same header (statistics included), inputs, nodes (names, layers with bit-identical
 * tensors, input names) and outputs.
 */
public final class ModelGraph
{
    /** Most nodes in one graph (also the format's cap). */
    public static final int MAX_NODES = 100_000;
    /** Most graph inputs. */
    public static final int MAX_INPUTS = 64;
    /** Most graph outputs. */
    public static final int MAX_OUTPUTS = 64;

    private final ModelHeader header;
    private final List<GraphInput> inputs;
    private final List<Node> nodes;
    private final List<String> outputs;
    private final Map<String, Shape> shapes;
    private final Map<String, Node> byName;
    private final Map<String, List<Node>> consumers;
    private volatile Fingerprint fingerprint;

    private ModelGraph(final Builder b)
    {
        header = b.header;
        inputs = List.copyOf(b.inputs);
        nodes = List.copyOf(b.nodes);
        outputs = List.copyOf(b.outputs);
        shapes = Collections.unmodifiableMap(new LinkedHashMap<>(b.shapes));
        final Map<String, Node> index = new HashMap<>();
        final Map<String, List<Node>> users = new HashMap<>();
        for (final Node n : nodes)
        {
            index.put(n.name(), n);
            for (final String in : n.inputs())
            {
                users.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
            }
        }
        byName = Map.copyOf(index);
        final Map<String, List<Node>> frozen = new HashMap<>();
        users.forEach((k, v) -> frozen.put(k, List.copyOf(v)));
        consumers = Map.copyOf(frozen);
    }

    /** A builder for a graph with the given header. */
    public static Builder builder(final ModelHeader header)
    {
        return new Builder(header);
    }

    /** The header. */
    public ModelHeader header()
    {
        return header;
    }

    /**
     * This graph under another header (for example with activation statistics added), checked like any graph.
     *
     * @throws IllegalArgumentException if the header does not fit the graph (input shape, statistics sites).
     */
    public ModelGraph withHeader(final ModelHeader newHeader)
    {
        final Builder b = builder(newHeader);
        for (final GraphInput in : inputs)
        {
            b.input(in.name(), in.shape());
        }
        for (final Node n : nodes)
        {
            b.add(n.name(), n.layer(), n.inputs().toArray(String[]::new));
        }
        for (final String out : outputs)
        {
            b.output(out);
        }
        return b.build();
    }

    /** The graph inputs, in declaration order; the first one has {@link ModelHeader#inputShape()}. */
    public List<GraphInput> inputs()
    {
        return inputs;
    }

    /** The nodes in topological order. */
    public List<Node> nodes()
    {
        return nodes;
    }

    /** Names of the output nodes, in declaration order. */
    public List<String> outputs()
    {
        return outputs;
    }

    /**
     * The node called {@code name}.
     *
     * @throws IllegalArgumentException if there is none (graph inputs are not nodes).
     */
    public Node node(final String name)
    {
        final Node n = byName.get(name);
        if (n == null)
        {
            throw new IllegalArgumentException("no node named " + name);
        }
        return n;
    }

    /** The node called {@code name}, if any. */
    public Optional<Node> findNode(final String name)
    {
        return Optional.ofNullable(byName.get(name));
    }

    /**
     * Per-item output shape of a node, or the shape of a graph input.
     *
     * @throws IllegalArgumentException if no node or input has that name.
     */
    public Shape shape(final String name)
    {
        final Shape s = shapes.get(name);
        if (s == null)
        {
            throw new IllegalArgumentException("no node or input named " + name);
        }
        return s;
    }

    /** Shapes of the inputs of {@code node}, in order. */
    public List<Shape> inputShapes(final Node node)
    {
        final List<Shape> list = new ArrayList<>(node.inputs().size());
        for (final String in : node.inputs())
        {
            list.add(shape(in));
        }
        return List.copyOf(list);
    }

    /** Nodes that read the output of the node or graph input {@code name} (empty for pure outputs). */
    public List<Node> consumers(final String name)
    {
        return consumers.getOrDefault(name, List.of());
    }

    /** Multiply-adds of one inference of one item (convolutions and linear layers). */
    public long multiplyAdds()
    {
        long n = 0;
        for (final Node node : nodes)
        {
            n += node.layer().multiplyAdds(inputShapes(node), shape(node.name()));
        }
        return n;
    }

    /** Elements of all activation sites ({@link Layer#isActivation()}) for one item. */
    public long activationSites()
    {
        long n = 0;
        for (final Node node : nodes)
        {
            if (node.layer().isActivation())
            {
                n += shape(node.name()).elements();
            }
        }
        return n;
    }

    /**
     * Secure comparisons one item needs: one per ReLU element, one per masked-ReLU element whose mask is 1, and
     * {@code k*k - 1} per max-pool output element (a comparison tree over the window).
     */
    public long comparisons()
    {
        long n = 0;
        for (final Node node : nodes)
        {
            final long out = shape(node.name()).elements();
            n += switch (node.layer())
            {
                case Layer.ReLU r -> out;
                case Layer.MaskedReLU m -> m.reluCount();
                case Layer.MaxPool2d p -> out * ((long)p.kernel() * p.kernel() - 1);
                default -> 0;
            };
        }
        return n;
    }

    /** Total elements of all layer tensors (weights, biases, coefficients, masks, BatchNorm statistics). */
    public long parameterCount()
    {
        long n = 0;
        for (final Node node : nodes)
        {
            n += node.layer().parameterCount();
        }
        return n;
    }

    /** True if some node's layer is an instance of {@code type}. */
    public boolean contains(final Class<? extends Layer> type)
    {
        for (final Node node : nodes)
        {
            if (type.isInstance(node.layer()))
            {
                return true;
            }
        }
        return false;
    }

    /** SHA-256 of the canonical serialization ({@link ModelFormat}); computed once, then cached. */
    public Fingerprint fingerprint()
    {
        Fingerprint f = fingerprint;
        if (f == null)
        {
            f = ModelFormat.computeFingerprint(this);
            fingerprint = f;
        }
        return f;
    }

    /** Lets the reader record the fingerprint it has just verified, so it is not computed twice. */
    void cacheFingerprint(final Fingerprint f)
    {
        fingerprint = f;
    }

    /** One line per input and node: name, layer, inputs and output shape. */
    public String summary()
    {
        final StringBuilder sb = new StringBuilder(header.architecture()).append('\n');
        for (final GraphInput in : inputs)
        {
            sb.append("  input ").append(in.name()).append(' ').append(in.shape()).append('\n');
        }
        for (final Node n : nodes)
        {
            sb.append("  ").append(n.name()).append(" = ").append(n.layer().describe()).append(' ')
                .append(n.inputs()).append(" -> ").append(shape(n.name())).append('\n');
        }
        return sb.append("  outputs ").append(outputs).append('\n').toString();
    }

    @Override
    public boolean equals(final Object o)
    {
        return o instanceof ModelGraph g && header.equals(g.header) && inputs.equals(g.inputs) &&
            nodes.equals(g.nodes) && outputs.equals(g.outputs);
    }

    @Override
    public int hashCode()
    {
        return Objects.hash(header, inputs, nodes, outputs);
    }

    @Override
    public String toString()
    {
        return "ModelGraph[" + header.architecture() + ", " + nodes.size() + " nodes]";
    }

    /**
     * Builds a {@link ModelGraph} node by node. Each {@link #add} infers and checks the node's output shape at once,
     * so errors point at the node that causes them.
     */
    public static final class Builder
    {
        private final ModelHeader header;
        private final List<GraphInput> inputs = new ArrayList<>();
        private final List<Node> nodes = new ArrayList<>();
        private final List<String> outputs = new ArrayList<>();
        private final Map<String, Shape> shapes = new LinkedHashMap<>();
        private final Map<String, Integer> nodeIndex = new HashMap<>();

        private Builder(final ModelHeader header)
        {
            this.header = Objects.requireNonNull(header, "header");
        }

        /**
         * Declares a graph input.
         *
         * @throws IllegalArgumentException if the name is taken or invalid, or too many inputs.
         */
        public Builder input(final String name, final Shape shape)
        {
            final GraphInput in = new GraphInput(name, shape);
            if (inputs.size() == MAX_INPUTS)
            {
                throw new IllegalArgumentException("at most " + MAX_INPUTS + " graph inputs");
            }
            checkFresh(name);
            inputs.add(in);
            shapes.put(name, shape);
            return this;
        }

        /**
         * Adds a node reading the named inputs (graph inputs or earlier nodes).
         *
         * @throws IllegalArgumentException if the name is taken or invalid, an input is unknown, the input count
         *     does not match the layer, or the input shapes do not fit the layer (message: {@code layer NAME
         *     (DESCRIPTION): ...} with the shapes involved).
         */
        public Builder add(final String name, final Layer layer, final String... inputNames)
        {
            final Node node = new Node(name, layer, List.of(inputNames));
            if (nodes.size() == MAX_NODES)
            {
                throw new IllegalArgumentException("at most " + MAX_NODES + " nodes");
            }
            checkFresh(name);
            final List<Shape> in = new ArrayList<>(inputNames.length);
            for (final String input : inputNames)
            {
                final Shape s = shapes.get(input);
                if (s == null)
                {
                    throw new IllegalArgumentException("layer " + name + " (" + layer.describe() +
                        "): unknown input " + input + " (inputs must be declared before the nodes that read them)");
                }
                in.add(s);
            }
            final Shape out;
            try
            {
                out = layer.outputShape(List.copyOf(in));
            }
            catch (final IllegalArgumentException e)
            {
                throw new IllegalArgumentException("layer " + name + " (" + layer.describe() + "): " + e.getMessage(),
                    e);
            }
            nodeIndex.put(name, nodes.size());
            nodes.add(node);
            shapes.put(name, out);
            return this;
        }

        /**
         * Marks a node as a graph output.
         *
         * @throws IllegalArgumentException if no node has that name, it is already an output, or too many outputs.
         */
        public Builder output(final String name)
        {
            if (!shapes.containsKey(name) || inputs.stream().anyMatch(i -> i.name().equals(name)))
            {
                throw new IllegalArgumentException("output " + name + " is not a node");
            }
            if (outputs.contains(name))
            {
                throw new IllegalArgumentException("output " + name + " declared twice");
            }
            if (outputs.size() == MAX_OUTPUTS)
            {
                throw new IllegalArgumentException("at most " + MAX_OUTPUTS + " graph outputs");
            }
            outputs.add(name);
            return this;
        }

        /**
         * Output shape of a node added so far, or shape of a declared input.
         *
         * @throws IllegalArgumentException if there is no such name yet.
         */
        public Shape shapeOf(final String name)
        {
            final Shape s = shapes.get(name);
            if (s == null)
            {
                throw new IllegalArgumentException("no node or input named " + name + " yet");
            }
            return s;
        }

        /** Name of the most recently added node. */
        public String last()
        {
            if (nodes.isEmpty())
            {
                throw new IllegalStateException("no node added yet");
            }
            return nodes.getLast().name();
        }

        /**
         * The graph.
         *
         * @throws IllegalArgumentException if there is no input, no output, the first input's shape differs from
         *     the header's input shape, some node or input does not contribute to any output, or an activation
         *     statistics site does not fit the graph ({@link #checkSite}).
         */
        public ModelGraph build()
        {
            if (inputs.isEmpty())
            {
                throw new IllegalArgumentException("graph " + header.architecture() + " has no input");
            }
            if (outputs.isEmpty())
            {
                throw new IllegalArgumentException("graph " + header.architecture() + " has no output");
            }
            final Shape first = inputs.getFirst().shape();
            if (!first.equals(header.inputShape()))
            {
                throw new IllegalArgumentException("input " + inputs.getFirst().name() + " has shape " + first +
                    " but the header says " + header.inputShape());
            }
            final Map<String, Boolean> used = new HashMap<>();
            for (final Node n : nodes)
            {
                for (final String in : n.inputs())
                {
                    used.put(in, Boolean.TRUE);
                }
            }
            for (final String out : outputs)
            {
                used.put(out, Boolean.TRUE);
            }
            for (final String name : shapes.keySet())
            {
                if (!used.containsKey(name))
                {
                    throw new IllegalArgumentException(name + " is neither read by a node nor a graph output");
                }
            }
            if (header.statistics().isPresent())
            {
                for (int i = 0; i < header.statistics().get().sites().size(); i++)
                {
                    checkSite(i);
                }
            }
            return new ModelGraph(this);
        }

        /**
         * Checks site {@code index} of the header's statistics against the nodes added so far: it names a node (not
         * a graph input) whose layer is an {@link ActivationStatistics#isSiteLayer activation}, after the previous
         * site's node, and counts {@code images} times that node's elements. The format reader calls it per site
         * to report the site's own offset.
         *
         * @throws IllegalArgumentException naming the site and what is wrong.
         */
        void checkSite(final int index)
        {
            final ActivationStatistics stats = header.statistics().orElseThrow();
            final ActivationStatistics.Site site = stats.sites().get(index);
            final String what = "activation statistics site " + index + " (node " + site.node() + ")";
            final Integer at = nodeIndex.get(site.node());
            if (at == null)
            {
                throw new IllegalArgumentException(what + ": the graph has no node " + site.node());
            }
            final Layer layer = nodes.get(at).layer();
            if (!ActivationStatistics.isSiteLayer(layer))
            {
                throw new IllegalArgumentException(what + ": node " + site.node() + " is a " + layer.describe() +
                    ", not an activation (ReLU, Poly, ChannelPoly, MaskedReLU)");
            }
            if (index > 0)
            {
                final String previous = stats.sites().get(index - 1).node();
                final Integer before = nodeIndex.get(previous);
                if (before != null && before >= at)
                {
                    throw new IllegalArgumentException(what + ": sites must be in node order, but node " +
                        site.node() + " does not come after node " + previous + " of site " + (index - 1));
                }
            }
            final long expected = (long)stats.images() * shapes.get(site.node()).elements();
            if (site.elements() != expected)
            {
                throw new IllegalArgumentException(what + ": " + site.elements() + " elements, but " +
                    stats.images() + " images of " + shapes.get(site.node()) + " are " + expected);
            }
        }

        private void checkFresh(final String name)
        {
            if (shapes.containsKey(name))
            {
                throw new IllegalArgumentException("name " + name + " is used twice");
            }
        }
    }
}
