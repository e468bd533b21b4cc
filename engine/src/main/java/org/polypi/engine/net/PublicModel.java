package org.polypi.engine.net;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

import org.polypi.engine.plan.CompiledModel;
import org.polypi.engine.plan.Plan;
import org.polypi.engine.plan.PlanCompiler;
import org.polypi.model.GraphInput;
import org.polypi.model.GraphTransforms;
import org.polypi.model.Layer;
import org.polypi.model.ModelGraph;
import org.polypi.model.Node;
import org.polypi.model.Tensor;

/**
 * The public description of a model that the client and the dealer run on: the server's model with BatchNorm folded
 * and every private number (convolution and linear weights and biases, HerPN's per-channel coefficients) replaced by
 * zeros. Architecture, shapes, public polynomial coefficients, masked-ReLU masks, fractional bits and activation
 * bound stay, which is all the plan depends on: compiling the public description gives the server's plan, and the
 * session handshake checks that (plan hash) before any secret moves. The header's activation statistics are dropped:
 * they are measured with the private weights (max |x| of every site's input on the test set), and the plan's hash
 * does not depend on them.
 * <p>
 * It is written in the ordinary model format ({@code polypi server --write-public FILE}), so it is handed to the
 * client and the dealer like any public file; its zeros compress to almost nothing.
 */
public final class PublicModel
{
    /** Bytes of {@link #fixedPointParameters}. */
    public static final int FIXED_POINT_BYTES = 2 * Integer.BYTES;
    /** Bits of the ring Z_2^64, the first field of {@link #fixedPointParameters}. */
    public static final int RING_BITS = Long.SIZE;

    private PublicModel()
    {
    }

    /** The public description of {@code model} (idempotent: the description of a description is itself). */
    public static ModelGraph of(final ModelGraph model)
    {
        final ModelGraph folded = GraphTransforms.foldBatchNorm(model);
        final ModelGraph.Builder b = ModelGraph.builder(folded.header().withoutStatistics());
        for (final GraphInput in : folded.inputs())
        {
            b.input(in.name(), in.shape());
        }
        for (final Node n : folded.nodes())
        {
            b.add(n.name(), strip(n.layer()), n.inputs().toArray(String[]::new));
        }
        for (final String out : folded.outputs())
        {
            b.output(out);
        }
        return b.build();
    }

    /**
     * The plan of {@code model} at {@code fractionalBits}, checked to be the plan of its public description: a
     * model whose plan depended on a private number could not be run by a client and a dealer that never see it.
     *
     * @throws IllegalArgumentException if the plans differ.
     */
    public static CompiledModel compileChecked(final ModelGraph model, final int fractionalBits)
    {
        final CompiledModel compiled = PlanCompiler.compile(GraphTransforms.foldBatchNorm(model), fractionalBits);
        final Plan pub = PlanCompiler.compile(of(model), fractionalBits).plan();
        if (!Arrays.equals(pub.hash(), compiled.plan().hash()))
        {
            throw new IllegalArgumentException("the plan of model " + model.header().architecture() + " depends on " +
                "private values (its public description compiles to plan " + pub.hashHex() + ", the model to " +
                compiled.plan().hashHex() + "): it cannot be served");
        }
        return compiled;
    }

    /** The fixed-point parameters the parties compare at the handshake: ring bits and f, each i32 little-endian. */
    public static byte[] fixedPointParameters(final int fractionalBits)
    {
        return ByteBuffer.allocate(FIXED_POINT_BYTES).order(ByteOrder.LITTLE_ENDIAN).putInt(RING_BITS)
            .putInt(fractionalBits).array();
    }

    /** The session parameters of {@code sessionId} for a model whose public description is {@code pub}. */
    public static SessionParameters parameters(final long sessionId, final ModelGraph pub, final Plan plan)
    {
        return SessionParameters.of(sessionId, pub.fingerprint().bytes(), fixedPointParameters(plan.fractionalBits()),
            plan.hash());
    }

    private static Layer strip(final Layer layer)
    {
        return switch (layer)
        {
            case final Layer.Conv2d c -> new Layer.Conv2d(c.inChannels(), c.outChannels(), c.kernelHeight(),
                c.kernelWidth(), c.stride(), c.padding(), zeros(c.weights()), zeros(c.bias()));
            case final Layer.Linear l -> new Layer.Linear(l.inFeatures(), l.outFeatures(), zeros(l.weights()),
                zeros(l.bias()));
            case final Layer.ChannelPoly p -> new Layer.ChannelPoly(zeros(p.coefficients()));
            default -> layer;
        };
    }

    private static Tensor zeros(final Tensor t)
    {
        return t == null ? null : Tensor.zeros(t.shape());
    }
}
