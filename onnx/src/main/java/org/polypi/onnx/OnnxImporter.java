package org.polypi.onnx;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import onnx.Onnx.ModelProto;
import org.polypi.model.ModelGraph;

/**
 * Imports ONNX models exported from PyTorch (operator sets {@value GraphConverter#MIN_OPSET} to
 * {@value GraphConverter#MAX_OPSET}) as PolyPI {@link ModelGraph}s. The file is parsed with protobuf-java and the
 * classes generated at build time from the official {@code onnx.proto}.
 * <p>
 * Supported: Conv, Gemm, MatMul (+ Add as bias), Add of two branches (residual), Relu, BatchNormalization (folded
 * into the Conv or Gemm before it), AveragePool, GlobalAveragePool, MaxPool, Flatten, Reshape, Identity, Dropout,
 * Constant, a zero Pad before a Conv (folded into its padding), and polynomial activations written as elementwise
 * Mul/Add/Sub/Div/Pow chains of one tensor (PILLAR's public polynomial becomes a {@link org.polypi.model.Layer.Poly},
 * HerPN's per-channel quadratic a {@link org.polypi.model.Layer.ChannelPoly}); a Clip right before such a
 * polynomial is PILLAR's training clip and is dropped with a notice. Everything else is refused with an
 * {@link OnnxImportException} naming the op type, the node and the nearest supported alternative: never a silently
 * different model.
 * <pre>{@code
 * OnnxImport result = OnnxImporter.importFile(Path.of("model.onnx"), ImportOptions.defaults());
 * result.notices().forEach(System.err::println);
 * ModelFormat.write(result.graph(), Path.of("model.pim"));
 * }</pre>
 */
public final class OnnxImporter
{
    /** Largest ONNX file: protobuf messages cannot exceed 2 GiB (bigger models keep their weights externally). */
    public static final long MAX_FILE_BYTES = Integer.MAX_VALUE - 8;
    /** Nesting limit for the protobuf parser (ONNX graphs nest only through control-flow subgraphs). */
    private static final int RECURSION_LIMIT = 64;

    private OnnxImporter()
    {
    }

    /**
     * Imports the ONNX file at {@code path}. Unless the options name an architecture, the file name without its
     * extension is used (e.g. {@code resnet18-pillar}).
     *
     * @throws OnnxImportException if the file is not a valid, supported ONNX model.
     * @throws IOException if the file cannot be read.
     */
    public static OnnxImport importFile(final Path path, final ImportOptions options) throws IOException
    {
        Objects.requireNonNull(options, "options");
        final long size = Files.size(path);
        if (size > MAX_FILE_BYTES)
        {
            throw new OnnxImportException(path + " is " + size + " bytes; ONNX files over 2 GiB keep their " +
                "weights in external data files, which PolyPI does not read");
        }
        final String file = path.getFileName().toString();
        final int dot = file.lastIndexOf('.');
        final String stem = dot > 0 ? file.substring(0, dot) : file;
        return convert(Files.readAllBytes(path), options, stem);
    }

    /**
     * Imports an ONNX model held in memory. Unless the options name an architecture, the graph's name is used if
     * it is not a generic exporter name, else {@code onnx}.
     *
     * @throws OnnxImportException if the bytes are not a valid, supported ONNX model (and nothing else, whatever
     *     the bytes).
     */
    public static OnnxImport importBytes(final byte[] bytes, final ImportOptions options) throws OnnxImportException
    {
        Objects.requireNonNull(bytes, "bytes");
        Objects.requireNonNull(options, "options");
        return convert(bytes, options, null);
    }

    /** Parses the protobuf; exposed to the tests, which build and mutate models. */
    static ModelProto parse(final byte[] bytes) throws OnnxImportException
    {
        if (bytes.length == 0)
        {
            throw new OnnxImportException("not an ONNX model: the file is empty");
        }
        try
        {
            final CodedInputStream in = CodedInputStream.newInstance(bytes);
            in.setRecursionLimit(RECURSION_LIMIT);
            final ModelProto model = ModelProto.parseFrom(in);
            in.checkLastTagWas(0);
            return model;
        }
        catch (final InvalidProtocolBufferException e)
        {
            throw new OnnxImportException("not a valid ONNX file (protobuf parse error: " + e.getMessage() + ")", e);
        }
        catch (final IOException e)
        {
            throw new OnnxImportException("not a valid ONNX file: " + e.getMessage(), e);
        }
    }

    private static OnnxImport convert(final byte[] bytes, final ImportOptions options, final String fallbackName)
        throws OnnxImportException
    {
        return new GraphConverter(parse(bytes), options).convert(fallbackName);
    }
}
