package org.polypi.model.reference;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.polypi.model.GraphInput;
import org.polypi.model.Layer;
import org.polypi.model.ModelGraph;
import org.polypi.model.Node;
import org.polypi.model.Shape;

/**
 * What the float32 reference interpreter needs to know about a graph before running it: its one input, the output it
 * reports as logits, and when each intermediate tensor can be released. (The fixed-point reference walks the
 * compiled plan instead, like the secure engine.)
 * <p>
 * {@link Layer.Flatten} and {@link Layer.Identity} return their input unchanged, so their output shares storage
 * with it; a storage "root" is released after the last node that reads any name sharing it, and never if it backs
 * the logits.
 */
final class GraphSchedule
{
    private final ModelGraph graph;
    private final GraphInput input;
    private final String output;
    private final Map<String, String> rootOf = new HashMap<>();
    private final List<List<String>> releaseAfter;

    private GraphSchedule(final ModelGraph graph)
    {
        this.graph = graph;
        if (graph.inputs().size() != 1)
        {
            throw new IllegalArgumentException("reference inference needs a graph with exactly one input, " +
                graph + " has " + graph.inputs().size() + " " + graph.inputs());
        }
        input = graph.inputs().getFirst();
        output = graph.outputs().getFirst();
        rootOf.put(input.name(), input.name());
        final Map<String, Integer> lastUse = new HashMap<>();
        final List<Node> nodes = graph.nodes();
        for (int i = 0; i < nodes.size(); i++)
        {
            final Node node = nodes.get(i);
            for (final String in : node.inputs())
            {
                lastUse.put(rootOf.get(in), i);
            }
            rootOf.put(node.name(), aliasesInput(node.layer()) ? rootOf.get(node.input()) : node.name());
        }
        final String kept = rootOf.get(output);
        releaseAfter = new ArrayList<>(nodes.size());
        for (int i = 0; i < nodes.size(); i++)
        {
            releaseAfter.add(new ArrayList<>());
        }
        lastUse.forEach((root, at) ->
        {
            if (!root.equals(kept))
            {
                releaseAfter.get(at).add(root);
            }
        });
    }

    /** The schedule of {@code graph}, which must have exactly one input. */
    static GraphSchedule of(final ModelGraph graph)
    {
        return new GraphSchedule(graph);
    }

    /** True for layers whose output is their input, unchanged (no storage of their own). */
    static boolean aliasesInput(final Layer layer)
    {
        return layer instanceof Layer.Flatten || layer instanceof Layer.Identity;
    }

    ModelGraph graph()
    {
        return graph;
    }

    GraphInput input()
    {
        return input;
    }

    /** Elements of one input item. */
    int inputElements()
    {
        return input.shape().size();
    }

    /** Name of the node whose output is reported as the logits (the graph's first output). */
    String output()
    {
        return output;
    }

    /** Per-item shape of the logits. */
    Shape outputShape()
    {
        return graph.shape(output);
    }

    /** The storage root of a node or input name. */
    String rootOf(final String name)
    {
        return rootOf.get(name);
    }

    /** Storage roots no node after node {@code index} reads. */
    List<String> releaseAfter(final int index)
    {
        return releaseAfter.get(index);
    }

    /** Checks a flat input array against the batch size, naming both. */
    void checkInput(final float[] inputs, final int batch)
    {
        if (batch <= 0)
        {
            throw new IllegalArgumentException("batch must be positive, was " + batch);
        }
        if (inputs == null)
        {
            throw new IllegalArgumentException("inputs must not be null");
        }
        final long needed = (long)batch * inputElements();
        if (inputs.length != needed)
        {
            throw new IllegalArgumentException("inputs has " + inputs.length + " elements, batch " + batch + " x " +
                input.shape() + " needs " + needed);
        }
    }
}
