package org.polypi.onnx;

import java.io.IOException;
import java.io.Serial;

/**
 * An ONNX model that cannot be imported: not a well-formed ONNX protobuf, a graph that is malformed (cycles, missing
 * initializers, wrong attribute types, absurd dimensions), or an operator PolyPI does not support. The message names
 * the node (its name and op type) when one is at fault, and for unsupported operators the nearest supported
 * alternative.
 * <p>
 * This is the importer's one exception type: whatever the bytes, {@link OnnxImporter} either returns a valid model or
 * throws this. Checked (an {@link IOException}), because a broken or foreign model file is an expected input.
 */
public final class OnnxImportException extends IOException
{
    @Serial
    private static final long serialVersionUID = 1L;

    /** An import failure described by {@code message}. */
    public OnnxImportException(final String message)
    {
        super(message);
    }

    /** An import failure described by {@code message}, caused by {@code cause} (e.g. the protobuf parser). */
    public OnnxImportException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
