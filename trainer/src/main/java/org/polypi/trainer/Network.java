package org.polypi.trainer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.polypi.model.GraphTransforms;
import org.polypi.model.Layer;
import org.polypi.model.ModelGraph;
import org.polypi.model.ModelHeader;
import org.polypi.model.Node;
import org.polypi.model.Shape;

/**
 * A trainable network: the layers of a {@link ModelGraph} template (e.g. a {@code ReferenceNetworks} builder's, with
 * BatchNorm before each activation) as {@link TrainLayer}s, run in the template's topological order.
 * <p>
 * Mapping: Conv2d, Linear, BatchNorm, pools, Add, Flatten, Identity and ReLU become their trainable twins, initialised
 * from the template's tensors (BatchNorm starts at the identity); {@link Layer.Poly} becomes a {@link PolyLayer}
 * with the training clip and the shared {@link RangePenalty}; {@link Layer.ChannelPoly} becomes a
 * {@link HerPnLayer}, which absorbs a BatchNorm directly before it (HerPN replaces "BatchNorm, activation");
 * {@link Layer.MaskedReLU} trains with its mask fixed.
 * <p>
 * {@link #toModelGraph} writes the trained values back into the template's structure (HerPN as its folded
 * {@link Layer.ChannelPoly}); {@link #export} also folds the BatchNorms, which is the graph the engine runs.
 */
public final class Network
{
    /** Items per evaluation chunk in {@link #logits}. */
    private static final int EVAL_CHUNK = 250;

    private final ModelGraph template;
    private final List<Entry> entries = new ArrayList<>();
    private final int outputSlot;
    private final int inputSize;
    private final int classes;
    private final RangePenalty penalty;
    private final Map<String, String> absorbed = new HashMap<>();
    private final List<Param> params = new ArrayList<>();
    /** Per value slot: does the loss gradient w.r.t. this value have to be computed? */
    private boolean[] gradientNeeded;
    private float[][] values;

    /** One layer and the value slots it reads (slot 0 is the graph input, slot i + 1 the output of entry i). */
    private record Entry(String name, TrainLayer layer, int[] inputs)
    {
    }

    /**
     * Trainable layers for {@code template}.
     *
     * @param clip PILLAR's training clip for {@link Layer.Poly} sites (0: none).
     * @param penalty shared range penalty of the Poly sites, or null.
     * @throws IllegalArgumentException if the graph has several inputs or outputs, or an unsupported layer.
     */
    public Network(final ModelGraph template, final double clip, final RangePenalty penalty)
    {
        if (template.inputs().size() != 1 || template.outputs().size() != 1)
        {
            throw new IllegalArgumentException("the trainer supports one input and one output, graph " +
                template.header().architecture() + " has " + template.inputs().size() + " and " +
                template.outputs().size());
        }
        this.template = template;
        this.penalty = penalty;
        final Map<String, Integer> slots = new HashMap<>();
        final String input = template.inputs().getFirst().name();
        slots.put(input, 0);
        inputSize = template.inputs().getFirst().shape().size();
        for (final Node node : template.nodes())
        {
            if (node.layer() instanceof Layer.BatchNorm && absorbable(node))
            {
                absorbed.put(node.name(), node.input());
                slots.put(node.name(), slots.get(node.input()));
                continue;
            }
            final int[] in = new int[node.inputs().size()];
            for (int i = 0; i < in.length; i++)
            {
                in[i] = slots.get(node.inputs().get(i));
            }
            final Shape inShape = template.shape(node.inputs().getFirst());
            final TrainLayer layer = trainable(node, inShape, clip, penalty);
            entries.add(new Entry(node.name(), layer, in));
            params.addAll(layer.params());
            slots.put(node.name(), entries.size());
        }
        outputSlot = slots.get(template.outputs().getFirst());
        computeInputGradient(false);
        classes = template.shape(template.outputs().getFirst()).size();
        final Set<String> names = new HashSet<>();
        for (final Param p : params)
        {
            if (!names.add(p.name()))
            {
                throw new IllegalArgumentException("parameter name " + p.name() + " is used twice");
            }
        }
    }

    /** A BatchNorm whose only reader is a ChannelPoly: HerPN replaces the pair. */
    private boolean absorbable(final Node bn)
    {
        final List<Node> readers = template.consumers(bn.name());
        return readers.size() == 1 && readers.getFirst().layer() instanceof Layer.ChannelPoly &&
            !template.outputs().contains(bn.name());
    }

    private static TrainLayer trainable(final Node node, final Shape in, final double clip,
                                        final RangePenalty penalty)
    {
        final String name = node.name();
        return switch (node.layer())
        {
            case Layer.Conv2d c -> new Conv2dLayer(name, c, in);
            case Layer.Linear l -> new LinearLayer(name, l);
            case Layer.AvgPool2d p -> new AvgPool2dLayer(name, in, p.kernel(), p.stride());
            case Layer.GlobalAvgPool _ -> new AvgPool2dLayer(name, in, 0, 1);
            case Layer.MaxPool2d p -> new MaxPool2dLayer(name, in, p);
            case Layer.BatchNorm _ -> new BatchNormLayer(name, in);
            case Layer.Add _ -> new AddLayer(name, in.size());
            case Layer.Flatten _, Layer.Identity _ -> new FlattenLayer(name, in.size());
            case Layer.ReLU _ -> new ReluLayer(name, in.size());
            case Layer.Poly p -> new PolyLayer(name, in.size(), p, clip, penalty);
            case Layer.ChannelPoly _ -> new HerPnLayer(name, in);
            case Layer.MaskedReLU m -> new MaskedReluLayer(name, m);
        };
    }

    /**
     * Whether {@link #backward} computes the gradient w.r.t. the network input (off by default: training does not
     * need it, and the first layer can skip its input-gradient product).
     */
    public void computeInputGradient(final boolean on)
    {
        gradientNeeded = new boolean[entries.size() + 1];
        gradientNeeded[0] = on;
        for (int i = 0; i < entries.size(); i++)
        {
            final Entry e = entries.get(i);
            boolean inputsNeed = false;
            for (final int slot : e.inputs())
            {
                inputsNeed |= gradientNeeded[slot];
            }
            e.layer().inputGradientNeeded(inputsNeed);
            gradientNeeded[i + 1] = inputsNeed || e.layer().params().stream().anyMatch(Param::trainable);
        }
    }

    /** The template graph. */
    public ModelGraph template()
    {
        return template;
    }

    /** The shared range penalty, or null. */
    public RangePenalty penalty()
    {
        return penalty;
    }

    /** Elements of one input item. */
    public int inputSize()
    {
        return inputSize;
    }

    /** Number of logits per item. */
    public int classes()
    {
        return classes;
    }

    /** Every parameter and buffer, in a fixed order (layers in graph order). */
    public List<Param> params()
    {
        return List.copyOf(params);
    }

    /** The trainable parameters only. */
    public List<Param> trainableParams()
    {
        return params.stream().filter(Param::trainable).toList();
    }

    /** One description line per layer. */
    public String summary()
    {
        final StringBuilder sb = new StringBuilder();
        for (final Entry e : entries)
        {
            sb.append("  ").append(e.layer().describe()).append('\n');
        }
        return sb.toString();
    }

    /** Clears every gradient. */
    public void zeroGrad()
    {
        for (final Param p : params)
        {
            p.zeroGrad();
        }
    }

    /**
     * Forward pass of {@code batch} items; returns the logits ({@code batch × classes}), an array the network may
     * reuse on the next call.
     *
     * @throws IllegalArgumentException if {@code x} does not hold exactly {@code batch} items.
     */
    public float[] forward(final float[] x, final int batch, final boolean training)
    {
        if (batch <= 0 || x.length != batch * inputSize)
        {
            throw new IllegalArgumentException("input has " + x.length + " floats, expected batch " + batch + " x " +
                inputSize);
        }
        values = new float[entries.size() + 1][];
        values[0] = x;
        for (int i = 0; i < entries.size(); i++)
        {
            final Entry e = entries.get(i);
            final float[][] in = new float[e.inputs().length][];
            for (int k = 0; k < in.length; k++)
            {
                in[k] = values[e.inputs()[k]];
            }
            values[i + 1] = e.layer().forward(in, batch, training);
        }
        return values[outputSlot];
    }

    /**
     * Backward pass of the latest training forward: adds every parameter gradient, given the gradient of the loss
     * w.r.t. the logits, and returns the gradient w.r.t. the input (do not modify it), or null unless
     * {@link #computeInputGradient} asked for it.
     */
    public float[] backward(final float[] gradLogits, final int batch)
    {
        return backward(gradLogits, batch, Map.of());
    }

    /**
     * {@link #backward(float[], int)} for a loss that also depends on intermediate values: {@code extra} maps node
     * names to the gradient of the loss w.r.t. that node's output (e.g. SENet's attention-transfer term).
     *
     * @throws IllegalArgumentException if a name is not a layer of the network or a gradient has the wrong size.
     */
    public float[] backward(final float[] gradLogits, final int batch, final Map<String, float[]> extra)
    {
        final float[][] grads = new float[entries.size() + 1][];
        final boolean[] owned = new boolean[grads.length];
        for (final Map.Entry<String, float[]> e : extra.entrySet())
        {
            final int slot = slot(e.getKey());
            if (e.getValue().length != values[slot].length)
            {
                throw new IllegalArgumentException("gradient of " + e.getKey() + " has " + e.getValue().length +
                    " floats, the value has " + values[slot].length);
            }
            grads[slot] = e.getValue().clone();
            owned[slot] = true;
        }
        if (grads[outputSlot] == null)
        {
            grads[outputSlot] = gradLogits;
        }
        else
        {
            for (int j = 0; j < gradLogits.length; j++)
            {
                grads[outputSlot][j] += gradLogits[j];
            }
        }
        for (int i = entries.size() - 1; i >= 0; i--)
        {
            final float[] g = grads[i + 1];
            if (g == null || !gradientNeeded[i + 1])
            {
                continue;
            }
            final Entry e = entries.get(i);
            final float[][] gin = e.layer().backwardAll(g, batch);
            for (int k = 0; k < gin.length; k++)
            {
                final int slot = e.inputs()[k];
                if (!gradientNeeded[slot])
                {
                    continue;
                }
                if (grads[slot] == null)
                {
                    grads[slot] = gin[k];
                    continue;
                }
                if (!owned[slot])
                {
                    grads[slot] = grads[slot].clone();
                    owned[slot] = true;
                }
                final float[] acc = grads[slot];
                final float[] add = gin[k];
                for (int j = 0; j < acc.length; j++)
                {
                    acc[j] += add[j];
                }
            }
        }
        values = null;
        return grads[0];
    }

    /** Value slot of the layer called {@code name}. */
    private int slot(final String name)
    {
        for (int i = 0; i < entries.size(); i++)
        {
            if (entries.get(i).name().equals(name))
            {
                return i + 1;
            }
        }
        throw new IllegalArgumentException("no layer named " + name);
    }

    /**
     * The output of layer {@code name} in the latest forward pass (valid until the next forward or backward; do not
     * modify it).
     *
     * @throws IllegalArgumentException if there is no such layer.
     * @throws IllegalStateException if no forward pass is pending.
     */
    public float[] output(final String name)
    {
        if (values == null)
        {
            throw new IllegalStateException("no forward pass to read " + name + " from");
        }
        return values[slot(name)];
    }

    /** The trainable layer called {@code name}. */
    TrainLayer layer(final String name)
    {
        return entries.get(slot(name) - 1).layer();
    }

    /** Names of the layers, in run order. */
    public List<String> layerNames()
    {
        return entries.stream().map(Entry::name).toList();
    }

    /** Evaluation-mode logits of {@code count} items of {@code inputs}, computed in chunks. */
    public float[] logits(final float[] inputs, final int count)
    {
        final float[] out = new float[count * classes];
        for (int from = 0; from < count; from += EVAL_CHUNK)
        {
            final int n = Math.min(EVAL_CHUNK, count - from);
            final float[] chunk = new float[n * inputSize];
            System.arraycopy(inputs, from * inputSize, chunk, 0, chunk.length);
            System.arraycopy(forward(chunk, n, false), 0, out, from * classes, n * classes);
        }
        values = null;
        return out;
    }

    /**
     * Attaches fresh range statistics against {@code [-bound, bound]} to every activation site (null bound: detach
     * them all) and returns them by site name, in graph order.
     */
    public Map<String, ActivationStats> recordActivations(final Double bound)
    {
        final Map<String, ActivationStats> stats = new LinkedHashMap<>();
        for (final Entry e : entries)
        {
            if (e.layer() instanceof ActivationLayer a)
            {
                final ActivationStats s = bound == null ? null : new ActivationStats(bound);
                a.recordInto(s);
                if (s != null)
                {
                    stats.put(e.name(), s);
                }
            }
        }
        return stats;
    }

    /**
     * The template's structure with the trained values and {@code header}: BatchNorms kept (inference mode), HerPN
     * sites as their folded {@link Layer.ChannelPoly} (the BatchNorm it absorbed is dropped).
     */
    public ModelGraph toModelGraph(final ModelHeader header)
    {
        final Map<String, TrainLayer> byName = new HashMap<>();
        for (final Entry e : entries)
        {
            byName.put(e.name(), e.layer());
        }
        final ModelGraph.Builder b = ModelGraph.builder(header);
        b.input(template.inputs().getFirst().name(), template.inputs().getFirst().shape());
        for (final Node node : template.nodes())
        {
            if (absorbed.containsKey(node.name()))
            {
                continue;
            }
            final Layer layer = switch (byName.get(node.name()))
            {
                case Conv2dLayer c -> c.toLayer();
                case LinearLayer l -> l.toLayer();
                case BatchNormLayer bn -> bn.toLayer();
                case HerPnLayer h -> h.toLayer();
                case MaskedReluLayer m -> m.toLayer();
                default -> node.layer();
            };
            final String[] in = node.inputs().stream().map(n -> absorbed.getOrDefault(n, n)).toArray(String[]::new);
            b.add(node.name(), layer, in);
        }
        return b.output(template.outputs().getFirst()).build();
    }

    /** {@link #toModelGraph} with every BatchNorm folded into its convolution or linear layer: the deployable model. */
    public ModelGraph export(final ModelHeader header)
    {
        return GraphTransforms.foldBatchNorm(toModelGraph(header));
    }
}
