package org.polypi.model.reference;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.polypi.kernels.Conv2dShape;
import org.polypi.kernels.FloatKernels;
import org.polypi.kernels.Kernels;
import org.polypi.kernels.ScalarFloatKernels;
import org.polypi.model.Layer;
import org.polypi.model.ModelGraph;
import org.polypi.model.Node;
import org.polypi.model.Shape;

/**
 * Plaintext float32 inference of a {@link ModelGraph}: the accuracy reference the fixed-point and secure engines are
 * compared with.
 * <p>
 * Every layer is supported, including {@link Layer.BatchNorm} (applied as {@code x·scale + shift} per channel with
 * {@code scale = gamma / sqrt(var + eps)} and {@code shift = beta - mean·scale} computed in double) and
 * {@link Layer.MaxPool2d} (padded positions never win). Convolutions, linear layers and residual additions run on
 * {@link FloatKernels} when {@code jdk.incubator.vector} is present, else on {@link ScalarFloatKernels}; the other
 * layers are plain loops. Polynomials are evaluated by Horner's rule in double and rounded to float once.
 * <p>
 * The graph must have exactly one input; its first output is reported as the logits. Items are processed in chunks
 * of {@link #chunkItems()} to bound memory. Instances are immutable and may be shared between threads.
 */
public final class FloatInference
{
    /** Items per chunk unless told otherwise: W3's largest activation is then 8 MiB. */
    public static final int DEFAULT_CHUNK_ITEMS = 32;

    private final GraphSchedule schedule;
    private final FloatOps ops;
    private final int chunkItems;
    private final List<Step> steps = new ArrayList<>();

    private FloatInference(final ModelGraph graph, final FloatOps ops, final int chunkItems)
    {
        if (chunkItems <= 0)
        {
            throw new IllegalArgumentException("chunkItems must be positive, was " + chunkItems);
        }
        this.schedule = GraphSchedule.of(graph);
        this.ops = ops;
        this.chunkItems = chunkItems;
        for (final Node node : graph.nodes())
        {
            steps.add(compile(graph, node));
        }
    }

    /** Inference of {@code graph} on the vector kernels if the Vector API module is present, else the scalar ones. */
    public static FloatInference of(final ModelGraph graph)
    {
        return new FloatInference(graph, Kernels.vectorModulePresent() ? new VectorOps() : new ScalarOps(),
            DEFAULT_CHUNK_ITEMS);
    }

    /** Inference of {@code graph} on the scalar kernels only (the oracle of the oracle). */
    public static FloatInference scalar(final ModelGraph graph)
    {
        return new FloatInference(graph, new ScalarOps(), DEFAULT_CHUNK_ITEMS);
    }

    /** Items processed at once. */
    public int chunkItems()
    {
        return chunkItems;
    }

    /** The graph. */
    public ModelGraph graph()
    {
        return schedule.graph();
    }

    /** Name of the kernels in use: {@code vector} or {@code scalar}. */
    public String kernels()
    {
        return ops.name();
    }

    /**
     * Runs {@code batch} items.
     *
     * @param inputs {@code batch} items of the graph input's shape, concatenated (NCHW for feature maps).
     * @throws IllegalArgumentException if {@code inputs.length != batch * input elements} or batch is not positive.
     */
    public FloatOutput run(final float[] inputs, final int batch)
    {
        return run(inputs, batch, null);
    }

    /**
     * Runs {@code batch} items and shows {@code observer} the graph input and every node's output, chunk by chunk,
     * in node order: one pass over the graph for whatever a caller measures inside it (e.g. every activation site's
     * input), where cutting the graph at each point would repeat its prefix.
     *
     * @param observer sees each value before the next node runs; null: none.
     * @throws IllegalArgumentException if {@code inputs.length != batch * input elements} or batch is not positive.
     */
    public FloatOutput run(final float[] inputs, final int batch, final NodeObserver observer)
    {
        schedule.checkInput(inputs, batch);
        final int itemIn = schedule.inputElements();
        final int classes = schedule.outputShape().size();
        final float[] logits = new float[batch * classes];
        for (int from = 0; from < batch; from += chunkItems)
        {
            final int items = Math.min(chunkItems, batch - from);
            final float[] chunk = new float[items * itemIn];
            System.arraycopy(inputs, from * itemIn, chunk, 0, chunk.length);
            final float[] out = runChunk(chunk, items, observer);
            System.arraycopy(out, 0, logits, from * classes, items * classes);
        }
        return new FloatOutput(batch, classes, logits);
    }

    /** Top-1 class of each item: {@code run(inputs, batch).top1()}. */
    public int[] top1(final float[] inputs, final int batch)
    {
        return run(inputs, batch).top1();
    }

    private float[] runChunk(final float[] chunk, final int items, final NodeObserver observer)
    {
        final ModelGraph graph = schedule.graph();
        final Map<String, float[]> values = new HashMap<>();
        values.put(schedule.input().name(), chunk);
        if (observer != null)
        {
            observer.value(schedule.input().name(), chunk, items);
        }
        final List<Node> nodes = graph.nodes();
        for (int i = 0; i < nodes.size(); i++)
        {
            final Node node = nodes.get(i);
            final List<float[]> in = new ArrayList<>(node.inputs().size());
            for (final String name : node.inputs())
            {
                in.add(values.get(name));
            }
            final float[] value = steps.get(i).apply(in, items);
            values.put(node.name(), value);
            if (observer != null)
            {
                observer.value(node.name(), value, items);
            }
            for (final String root : schedule.releaseAfter(i))
            {
                // Drop the root and every alias of it (Flatten, Identity) so the array can be collected.
                final float[] dead = values.get(root);
                values.values().removeIf(v -> v == dead);
            }
        }
        return values.get(schedule.output());
    }

    /** Sees the values of a run ({@link #run(float[], int, NodeObserver)}). */
    @FunctionalInterface
    public interface NodeObserver
    {
        /**
         * The value of {@code node} (the graph input's name for the input) for {@code items} items of a chunk, in
         * the graph's layout; read it, do not keep or modify it.
         */
        void value(String node, float[] values, int items);
    }

    /** One node, compiled: reads its inputs (never modifies them) and returns its output for {@code items} items. */
    @FunctionalInterface
    private interface Step
    {
        float[] apply(List<float[]> inputs, int items);
    }

    private Step compile(final ModelGraph graph, final Node node)
    {
        final Shape in = graph.shape(node.inputs().getFirst());
        final Shape out = graph.shape(node.name());
        final int inSize = in.size();
        final int outSize = out.size();
        return switch (node.layer())
        {
            case Layer.Conv2d c ->
            {
                final float[] w = c.weights().toArray();
                final float[] bias = c.hasBias() ? c.bias().toArray() : null;
                final int positions = out.dim(1) * out.dim(2);
                yield (x, items) ->
                {
                    final float[] y = new float[items * outSize];
                    ops.conv2d(x.getFirst(), w, y, new Conv2dShape(items, c.inChannels(), in.dim(1), in.dim(2),
                        c.outChannels(), c.kernelHeight(), c.kernelWidth(), c.stride(), c.padding()));
                    addChannelBias(y, bias, items * c.outChannels(), c.outChannels(), positions);
                    return y;
                };
            }
            case Layer.Linear l ->
            {
                final float[] w = l.weights().toArray();
                final float[] bias = l.hasBias() ? l.bias().toArray() : null;
                yield (x, items) ->
                {
                    final float[] y = new float[items * outSize];
                    ops.matmulTransposedB(x.getFirst(), w, y, items, l.inFeatures(), l.outFeatures());
                    addChannelBias(y, bias, items * l.outFeatures(), l.outFeatures(), 1);
                    return y;
                };
            }
            case Layer.AvgPool2d p -> (x, items) -> avgPool(x.getFirst(), items, in, out, p.kernel(), p.stride());
            case Layer.GlobalAvgPool _ -> (x, items) -> avgPool(x.getFirst(), items, in, out, 0, 1);
            case Layer.MaxPool2d p -> (x, items) -> maxPool(x.getFirst(), items, in, out, p);
            case Layer.BatchNorm b -> batchNorm(b, in);
            case Layer.Add _ -> (x, items) ->
            {
                final float[] y = new float[items * outSize];
                ops.add(x.get(0), x.get(1), y, y.length);
                return y;
            };
            case Layer.Flatten _ -> (x, items) -> x.getFirst();
            case Layer.Identity _ -> (x, items) -> x.getFirst();
            case Layer.ReLU _ -> (x, items) ->
            {
                final float[] v = x.getFirst();
                final float[] y = new float[items * inSize];
                for (int i = 0; i < y.length; i++)
                {
                    y[i] = Math.max(0f, v[i]);
                }
                return y;
            };
            case Layer.MaskedReLU m ->
            {
                final boolean[] relu = new boolean[inSize];
                for (int i = 0; i < inSize; i++)
                {
                    relu[i] = m.isReLU(i);
                }
                yield (x, items) ->
                {
                    final float[] v = x.getFirst();
                    final float[] y = new float[items * inSize];
                    for (int i = 0; i < y.length; i++)
                    {
                        y[i] = relu[i % inSize] ? Math.max(0f, v[i]) : v[i];
                    }
                    return y;
                };
            }
            case Layer.Poly p ->
            {
                final double[] a = new double[p.degree() + 1];
                for (int k = 0; k < a.length; k++)
                {
                    a[k] = p.coefficient(k);
                }
                yield (x, items) ->
                {
                    final float[] v = x.getFirst();
                    final float[] y = new float[items * inSize];
                    for (int i = 0; i < y.length; i++)
                    {
                        y[i] = (float)horner(a, 0, a.length, v[i]);
                    }
                    return y;
                };
            }
            case Layer.ChannelPoly p ->
            {
                final int terms = p.degree() + 1;
                final double[] a = new double[p.channels() * terms];
                for (int c = 0; c < p.channels(); c++)
                {
                    for (int k = 0; k < terms; k++)
                    {
                        a[c * terms + k] = p.coefficient(c, k);
                    }
                }
                final int perChannel = inSize / p.channels();
                yield (x, items) ->
                {
                    final float[] v = x.getFirst();
                    final float[] y = new float[items * inSize];
                    for (int i = 0; i < y.length; i++)
                    {
                        final int channel = i / perChannel % p.channels();
                        y[i] = (float)horner(a, channel * terms, terms, v[i]);
                    }
                    return y;
                };
            }
        };
    }

    private static double horner(final double[] a, final int from, final int terms, final double x)
    {
        double y = 0;
        for (int k = terms - 1; k >= 0; k--)
        {
            y = y * x + a[from + k];
        }
        return y;
    }

    /** Adds {@code bias[c]} to each of the {@code groups} runs of {@code perChannel} elements, channel c cycling. */
    private static void addChannelBias(final float[] y, final float[] bias, final int groups, final int channels,
                                       final int perChannel)
    {
        if (bias == null)
        {
            return;
        }
        int i = 0;
        for (int g = 0; g < groups; g++)
        {
            final float b = bias[g % channels];
            for (int p = 0; p < perChannel; p++, i++)
            {
                y[i] += b;
            }
        }
    }

    private static Step batchNorm(final Layer.BatchNorm b, final Shape in)
    {
        final int channels = b.channels();
        final float[] scale = new float[channels];
        final float[] shift = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            final double s = b.gamma().get(c) / Math.sqrt((double)b.runningVar().get(c) + b.eps());
            scale[c] = (float)s;
            shift[c] = (float)(b.beta().get(c) - b.runningMean().get(c) * s);
        }
        final int perChannel = in.size() / channels;
        return (x, items) ->
        {
            final float[] v = x.getFirst();
            final float[] y = new float[v.length];
            for (int i = 0; i < y.length; i++)
            {
                final int c = i / perChannel % channels;
                y[i] = v[i] * scale[c] + shift[c];
            }
            return y;
        };
    }

    /** Window mean, no padding; {@code kernel == 0} means the whole map (global average pooling). */
    private static float[] avgPool(final float[] x, final int items, final Shape in, final Shape out, final int kernel,
                                   final int stride)
    {
        final int h = in.dim(1);
        final int w = in.dim(2);
        final int kh = kernel == 0 ? h : kernel;
        final int kw = kernel == 0 ? w : kernel;
        final int oh = out.dim(1);
        final int ow = out.dim(2);
        final float inverseArea = 1f / (kh * kw);
        final int maps = items * in.dim(0);
        final float[] y = new float[maps * oh * ow];
        for (int m = 0; m < maps; m++)
        {
            for (int oy = 0; oy < oh; oy++)
            {
                for (int ox = 0; ox < ow; ox++)
                {
                    float sum = 0f;
                    for (int r = 0; r < kh; r++)
                    {
                        final int row = (m * h + oy * stride + r) * w + ox * stride;
                        for (int s = 0; s < kw; s++)
                        {
                            sum += x[row + s];
                        }
                    }
                    y[(m * oh + oy) * ow + ox] = sum * inverseArea;
                }
            }
        }
        return y;
    }

    private static float[] maxPool(final float[] x, final int items, final Shape in, final Shape out,
                                   final Layer.MaxPool2d p)
    {
        final int h = in.dim(1);
        final int w = in.dim(2);
        final int oh = out.dim(1);
        final int ow = out.dim(2);
        final int maps = items * in.dim(0);
        final float[] y = new float[maps * oh * ow];
        for (int m = 0; m < maps; m++)
        {
            for (int oy = 0; oy < oh; oy++)
            {
                for (int ox = 0; ox < ow; ox++)
                {
                    float max = Float.NEGATIVE_INFINITY;
                    for (int r = 0; r < p.kernel(); r++)
                    {
                        final int iy = oy * p.stride() + r - p.padding();
                        for (int s = 0; s < p.kernel(); s++)
                        {
                            final int ix = ox * p.stride() + s - p.padding();
                            if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                            {
                                max = Math.max(max, x[(m * h + iy) * w + ix]);
                            }
                        }
                    }
                    y[(m * oh + oy) * ow + ox] = max;
                }
            }
        }
        return y;
    }

    /** The three kernels this interpreter delegates, on one backend. */
    private interface FloatOps
    {
        String name();

        void conv2d(float[] input, float[] weights, float[] out, Conv2dShape shape);

        void matmulTransposedB(float[] a, float[] b, float[] c, int m, int k, int n);

        void add(float[] a, float[] b, float[] out, int n);
    }

    /** Loaded only when the Vector API module is present (it links {@link FloatKernels}). */
    private static final class VectorOps implements FloatOps
    {
        @Override
        public String name()
        {
            return "vector";
        }

        @Override
        public void conv2d(final float[] input, final float[] weights, final float[] out, final Conv2dShape shape)
        {
            FloatKernels.conv2d(input, weights, out, shape);
        }

        @Override
        public void matmulTransposedB(final float[] a, final float[] b, final float[] c, final int m, final int k,
                                      final int n)
        {
            FloatKernels.matmulTransposedB(a, b, c, m, k, n);
        }

        @Override
        public void add(final float[] a, final float[] b, final float[] out, final int n)
        {
            FloatKernels.add(a, b, out, n);
        }
    }

    private static final class ScalarOps implements FloatOps
    {
        @Override
        public String name()
        {
            return "scalar";
        }

        @Override
        public void conv2d(final float[] input, final float[] weights, final float[] out, final Conv2dShape shape)
        {
            ScalarFloatKernels.conv2d(input, weights, out, shape);
        }

        @Override
        public void matmulTransposedB(final float[] a, final float[] b, final float[] c, final int m, final int k,
                                      final int n)
        {
            ScalarFloatKernels.matmulTransposedB(a, b, c, m, k, n);
        }

        @Override
        public void add(final float[] a, final float[] b, final float[] out, final int n)
        {
            ScalarFloatKernels.add(a, b, out, n);
        }
    }
}
