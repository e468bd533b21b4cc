package org.polypi.model;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Whole-graph transformations applied at export time. */
public final class GraphTransforms
{
    private GraphTransforms()
    {
    }

    /**
     * Folds every {@link Layer.BatchNorm} into the {@link Layer.Conv2d} or {@link Layer.Linear} that feeds it.
     * <p>
     * With {@code s_o = gamma_o / sqrt(var_o + eps)} for output channel {@code o}, the folded layer has weights
     * {@code W'[o,...] = s_o * W[o,...]} and bias {@code b'_o = s_o * (b_o - mean_o) + beta_o} ({@code b_o = 0} if
     * the layer had no bias); computed in double, rounded once to float. The folded layer keeps the producer's name;
     * readers of the BatchNorm (and outputs naming it) are rewired to it. The header, activation statistics included,
     * carries over unchanged: a statistics site names an activation node, which folding neither removes nor renames
     * (it only removes BatchNorms and rewrites Conv2d/Linear layers), and an activation reading a BatchNorm reads the
     * same values from the folded layer.
     *
     * @return the graph without BatchNorm nodes (the same instance if it had none).
     * @throws IllegalArgumentException naming the BatchNorm if one is not directly after a Conv2d/Linear whose only
     *     reader it is (its input is a graph input, another layer kind, read by other nodes too, or a graph output).
     */
    public static ModelGraph foldBatchNorm(final ModelGraph graph)
    {
        if (!graph.contains(Layer.BatchNorm.class))
        {
            return graph;
        }
        final Map<String, Layer.BatchNorm> foldInto = new HashMap<>();
        final Map<String, String> rename = new HashMap<>();
        for (final Node n : graph.nodes())
        {
            if (n.layer() instanceof Layer.BatchNorm bn)
            {
                final String in = n.input();
                final String why = unfoldable(graph, in);
                if (why != null)
                {
                    throw new IllegalArgumentException("BatchNorm " + n.name() + " cannot be folded: its input " + in +
                        " " + why);
                }
                foldInto.put(in, bn);
                rename.put(n.name(), in);
            }
        }
        final ModelGraph.Builder b = ModelGraph.builder(graph.header());
        for (final GraphInput in : graph.inputs())
        {
            b.input(in.name(), in.shape());
        }
        for (final Node n : graph.nodes())
        {
            if (n.layer() instanceof Layer.BatchNorm)
            {
                continue;
            }
            final Layer.BatchNorm bn = foldInto.get(n.name());
            final Layer layer = bn == null ? n.layer() : fold(n.layer(), bn);
            final List<String> inputs = new ArrayList<>(n.inputs().size());
            for (final String in : n.inputs())
            {
                inputs.add(rename.getOrDefault(in, in));
            }
            b.add(n.name(), layer, inputs.toArray(String[]::new));
        }
        for (final String out : graph.outputs())
        {
            b.output(rename.getOrDefault(out, out));
        }
        return b.build();
    }

    /** Why the producer {@code in} cannot absorb a BatchNorm, or null if it can. */
    private static String unfoldable(final ModelGraph graph, final String in)
    {
        final Node producer = graph.findNode(in).orElse(null);
        if (producer == null)
        {
            return "is a graph input";
        }
        if (!(producer.layer() instanceof Layer.Conv2d) && !(producer.layer() instanceof Layer.Linear))
        {
            return "is a " + producer.layer().describe() + ", not a Conv2d or Linear";
        }
        if (graph.consumers(in).size() != 1)
        {
            return "is read by " + graph.consumers(in).size() + " nodes";
        }
        if (graph.outputs().contains(in))
        {
            return "is a graph output";
        }
        return null;
    }

    private static Layer fold(final Layer layer, final Layer.BatchNorm bn)
    {
        return switch (layer)
        {
            case Layer.Conv2d c ->
            {
                final float[][] wb = fold(c.weights(), c.bias(), bn);
                yield new Layer.Conv2d(c.inChannels(), c.outChannels(), c.kernelHeight(), c.kernelWidth(), c.stride(),
                    c.padding(), Tensor.wrap(c.weights().shape(), wb[0]), Tensor.wrap(Shape.of(c.outChannels()),
                    wb[1]));
            }
            case Layer.Linear l ->
            {
                final float[][] wb = fold(l.weights(), l.bias(), bn);
                yield new Layer.Linear(l.inFeatures(), l.outFeatures(), Tensor.wrap(l.weights().shape(), wb[0]),
                    Tensor.wrap(Shape.of(l.outFeatures()), wb[1]));
            }
            default -> throw new IllegalStateException(layer.describe() + " was checked to be foldable");
        };
    }

    /** The closed form; the weight tensor's first dimension is the output channel (checked by the graph). */
    private static float[][] fold(final Tensor weights, final Tensor bias, final Layer.BatchNorm bn)
    {
        final int channels = bn.channels();
        final int perChannel = weights.size() / channels;
        final float[] w = new float[weights.size()];
        final float[] b = new float[channels];
        for (int o = 0; o < channels; o++)
        {
            final double scale = bn.gamma().get(o) / Math.sqrt((double)bn.runningVar().get(o) + bn.eps());
            for (int i = o * perChannel; i < (o + 1) * perChannel; i++)
            {
                w[i] = (float)(weights.get(i) * scale);
            }
            final double b0 = bias == null ? 0.0 : bias.get(o);
            b[o] = (float)((b0 - bn.runningMean().get(o)) * scale + bn.beta().get(o));
        }
        return new float[][] {w, b};
    }
}
