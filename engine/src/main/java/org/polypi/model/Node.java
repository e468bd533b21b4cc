package org.polypi.model;

import java.util.List;
import java.util.Objects;

/**
 * One node of a {@link ModelGraph}: a unique name, the layer it applies and the names of its inputs (graph inputs
 * or earlier nodes), {@link Layer#arity()} of them, in order.
 */
public record Node(String name, Layer layer, List<String> inputs)
{
    /** Checks the name, the layer and the input count against the layer's arity. */
    public Node
    {
        Names.check("node name", name);
        Objects.requireNonNull(layer, "layer");
        inputs = List.copyOf(inputs);
        if (inputs.size() != layer.arity())
        {
            throw new IllegalArgumentException("layer " + name + " (" + layer.describe() + ") takes " + layer.arity() +
                " input(s), got " + inputs.size() + " " + inputs);
        }
    }

    /** The single input of a one-input layer (every layer except {@link Layer.Add}). */
    public String input()
    {
        return inputs.getFirst();
    }
}
