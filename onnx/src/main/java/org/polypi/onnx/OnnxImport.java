package org.polypi.onnx;

import java.util.List;
import java.util.Objects;

import org.polypi.model.ModelGraph;

/**
 * The result of an import: the PolyPI model and what the user should know about how it was obtained.
 *
 * @param graph the model, BatchNorms and affine maps folded into the layers before them.
 * @param notices one line each for what changed or was dropped on the way (a training-only Clip, nodes that feed
 *     no output, affine maps that could not be folded); empty if the import was exact and complete.
 * @param opset the ONNX operator set version of the file.
 * @param producer who wrote the file, e.g. {@code pytorch 1.13.1} (may be empty).
 */
public record OnnxImport(ModelGraph graph, List<String> notices, int opset, String producer)
{
    /** Checks and copies. */
    public OnnxImport
    {
        Objects.requireNonNull(graph, "graph");
        notices = List.copyOf(notices);
        Objects.requireNonNull(producer, "producer");
    }
}
