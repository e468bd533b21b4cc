package org.polypi.model.reference;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntToDoubleFunction;

import org.polypi.kernels.Conv2dShape;
import org.polypi.kernels.FixedPoint;
import org.polypi.kernels.Kernels;
import org.polypi.kernels.RingKernels;
import org.polypi.kernels.RingTensor;
import org.polypi.model.Layer;
import org.polypi.model.ModelGraph;
import org.polypi.model.ModelHeader;
import org.polypi.model.Node;
import org.polypi.model.Shape;

/**
 * Plaintext inference in the ring Z_2^64 that performs exactly the arithmetic of the secure engine, so that the
 * secure engine's opened logits can be checked against it and its accuracy measured without any party.
 * <p>
 * <b>Canonical fixed-point semantics</b> (also in docs/fixed-point.md).
 * {@code enc_f(v) = new FixedPoint(f).encode(v)} (round to nearest, ties to even; out of range is an error),
 * {@code >>} is the arithmetic shift of a signed long (floor division by a power of two), all sums and products wrap
 * modulo 2^64. f is the header's {@link ModelHeader#fractionalBits()} unless overridden.
 * <ul>
 *   <li>Inputs and every activation are at scale 2^f: {@code x = enc_f(input)}.</li>
 *   <li>{@link Layer.Conv2d} / {@link Layer.Linear}: {@code acc = sum enc_f(w)·x + enc_2f(b)} (no bias term if the
 *       layer has none); {@code out = acc >> f}. The secure engine's faithful truncation yields {@code out} or
 *       {@code out - 1}.</li>
 *   <li>{@link Layer.AvgPool2d} (k) and {@link Layer.GlobalAvgPool} (over H·W): {@code s} = window sum,
 *       {@code out = (s · enc_f(1/area)) >> f}.</li>
 *   <li>{@link Layer.Poly} with public coefficients {@code a_0..a_d} (ESPN / HoneyBadger pre-scaling with t = 2):
 *       for k = 2..d, {@code s_k = max(0, ceil((k-2)·f/k))} ({@link #preScaleShift}), {@code x_k = x >> s_k},
 *       {@code p_k = (x_k^k) >> (f(k-1) - k·s_k)} ({@link #powerShift}; p_k is at scale f);
 *       {@code acc = enc_2f(a_0) + enc_f(a_1)·x + sum_{k>=2} enc_f(a_k)·p_k}; {@code out = acc >> f}. A power whose
 *       encoded coefficient is 0 contributes 0 and is skipped. For d ≤ 2 nothing is pre-scaled (s_2 = 0).
 *       {@link Layer.ChannelPoly}: the same with the coefficients of the element's channel.</li>
 *   <li>{@link Layer.ReLU}: {@code max(0, x)} on the signed value; {@link Layer.MaskedReLU}: ReLU where the mask is
 *       1, identity where 0; {@link Layer.MaxPool2d}: signed max over the window (padding never wins);
 *       {@link Layer.Add}: ring addition; {@link Layer.Flatten}, {@link Layer.Identity}: nothing.</li>
 *   <li>{@link Layer.BatchNorm} is rejected: fold it first ({@code GraphTransforms.foldBatchNorm}), as the secure
 *       engine runs folded models only.</li>
 * </ul>
 * The graph must have exactly one input; its first output is reported, as ring values and decoded. The ring work
 * runs on a {@link RingKernels} backend ({@link Kernels#get()} unless given); every backend gives the same bits.
 * Items are processed in chunks of {@link #chunkItems()}. Instances are immutable and may be shared between threads.
 */
public final class FixedPointInference
{
    /** Items per chunk unless told otherwise: W3's largest activation is then 16 MiB. */
    public static final int DEFAULT_CHUNK_ITEMS = 32;

    private final GraphSchedule schedule;
    private final RingKernels kernels;
    private final int f;
    /** Codecs at scale 2^f and 2^2f. */
    private final FixedPoint single;
    private final FixedPoint dual;
    private final int chunkItems;
    /** Encoded weights live as long as this object: the garbage collector frees them. */
    private final Arena weightArena = Arena.ofAuto();
    private final List<Step> steps = new ArrayList<>();

    private FixedPointInference(final ModelGraph graph, final int fractionalBits, final RingKernels kernels,
                                final int chunkItems)
    {
        if (fractionalBits < 0 || fractionalBits > ModelHeader.MAX_FRACTIONAL_BITS)
        {
            throw new IllegalArgumentException("fractionalBits must be 0.." + ModelHeader.MAX_FRACTIONAL_BITS +
                ", was " + fractionalBits);
        }
        if (kernels == null)
        {
            throw new IllegalArgumentException("kernels must not be null");
        }
        if (chunkItems <= 0)
        {
            throw new IllegalArgumentException("chunkItems must be positive, was " + chunkItems);
        }
        this.schedule = GraphSchedule.of(graph);
        this.kernels = kernels;
        this.f = fractionalBits;
        this.single = new FixedPoint(fractionalBits);
        this.dual = new FixedPoint(2 * fractionalBits);
        this.chunkItems = chunkItems;
        for (final Node node : graph.nodes())
        {
            try
            {
                steps.add(compile(graph, node));
            }
            catch (final IllegalArgumentException e)
            {
                throw new IllegalArgumentException("node " + node.name() + " (" + node.layer().describe() + "): " +
                    e.getMessage(), e);
            }
        }
    }

    /**
     * Inference of a folded {@code graph} at the header's fractional bits, on {@link Kernels#get()}.
     *
     * @throws IllegalArgumentException if the graph contains a BatchNorm, has more than one input, or a parameter
     *                                  does not fit the ring at that scale.
     */
    public static FixedPointInference of(final ModelGraph graph)
    {
        return of(graph, graph.header().fractionalBits());
    }

    /** As {@link #of(ModelGraph)} with f overridden. */
    public static FixedPointInference of(final ModelGraph graph, final int fractionalBits)
    {
        return new FixedPointInference(graph, fractionalBits, Kernels.get(), DEFAULT_CHUNK_ITEMS);
    }

    /** As {@link #of(ModelGraph, int)} on a given backend and chunk size. */
    public static FixedPointInference of(final ModelGraph graph, final int fractionalBits, final RingKernels kernels,
                                         final int chunkItems)
    {
        return new FixedPointInference(graph, fractionalBits, kernels, chunkItems);
    }

    /**
     * Pre-scaling shift of the k-th power: {@code s_k = max(0, ceil((k-2)·f/k))}, so that {@code (x >> s_k)^k}
     * carries at most 2f fractional bits.
     */
    public static int preScaleShift(final int k, final int fractionalBits)
    {
        return Math.max(0, ((k - 2) * fractionalBits + k - 1) / k);
    }

    /**
     * Shift that brings {@code (x >> s_k)^k}, at scale {@code 2^(k(f - s_k))}, to scale 2^f:
     * {@code f(k-1) - k·s_k}; between 0 and f whenever {@code f >= k - 1}.
     */
    public static int powerShift(final int k, final int fractionalBits)
    {
        return fractionalBits * (k - 1) - k * preScaleShift(k, fractionalBits);
    }

    /** Fractional bits f. */
    public int fractionalBits()
    {
        return f;
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

    /** The ring kernel backend in use. */
    public RingKernels kernels()
    {
        return kernels;
    }

    /**
     * Runs {@code batch} items: encodes them at scale 2^f and evaluates the graph in the ring.
     *
     * @param inputs {@code batch} items of the graph input's shape, concatenated (NCHW for feature maps).
     * @throws IllegalArgumentException if {@code inputs.length != batch * input elements}, batch is not positive,
     *                                  or an input does not fit the ring at scale 2^f.
     */
    public FixedPointOutput run(final float[] inputs, final int batch)
    {
        schedule.checkInput(inputs, batch);
        final int itemIn = schedule.inputElements();
        final int classes = schedule.outputShape().size();
        final long[] logits = new long[batch * classes];
        for (int from = 0; from < batch; from += chunkItems)
        {
            final int items = Math.min(chunkItems, batch - from);
            final long[] chunk = runChunk(inputs, from * itemIn, items);
            System.arraycopy(chunk, 0, logits, from * classes, items * classes);
        }
        return new FixedPointOutput(batch, classes, f, logits);
    }

    /** Top-1 class of each item: {@code run(inputs, batch).top1()}. */
    public int[] top1(final float[] inputs, final int batch)
    {
        return run(inputs, batch).top1();
    }

    private long[] runChunk(final float[] inputs, final int offset, final int items)
    {
        final Map<String, MemorySegment> values = new HashMap<>();
        final Map<String, Arena> arenas = new HashMap<>();
        try
        {
            final Arena inputArena = Arena.ofShared();
            arenas.put(schedule.input().name(), inputArena);
            final int n = items * schedule.inputElements();
            final MemorySegment x = allocate(inputArena, n);
            try
            {
                single.encode(inputs, offset, x, n);
            }
            catch (final ArithmeticException e)
            {
                throw new IllegalArgumentException("input does not fit the ring at scale 2^" + f + ": " +
                    e.getMessage(), e);
            }
            values.put(schedule.input().name(), x);
            final List<Node> nodes = schedule.graph().nodes();
            for (int i = 0; i < nodes.size(); i++)
            {
                final Node node = nodes.get(i);
                final List<MemorySegment> in = new ArrayList<>(node.inputs().size());
                for (final String name : node.inputs())
                {
                    in.add(values.get(name));
                }
                if (GraphSchedule.aliasesInput(node.layer()))
                {
                    values.put(node.name(), in.getFirst());
                }
                else
                {
                    final Arena arena = Arena.ofShared();
                    arenas.put(node.name(), arena);
                    values.put(node.name(), steps.get(i).apply(in, items, arena));
                }
                for (final String root : schedule.releaseAfter(i))
                {
                    final MemorySegment dead = values.get(root);
                    values.values().removeIf(v -> v == dead);
                    arenas.remove(root).close();
                }
            }
            return values.get(schedule.output()).toArray(RingTensor.ELEMENT);
        }
        finally
        {
            for (final Arena arena : arenas.values())
            {
                arena.close();
            }
        }
    }

    private static MemorySegment allocate(final Arena arena, final long elements)
    {
        return arena.allocate(elements * RingTensor.ELEMENT_BYTES, RingTensor.ALIGNMENT_BYTES);
    }

    /** {@code codec.encode(value)}, with the value's origin in the error if it does not fit. */
    private static long encode(final FixedPoint codec, final double value, final String what)
    {
        try
        {
            return codec.encode(value);
        }
        catch (final ArithmeticException e)
        {
            throw new IllegalArgumentException(what + " = " + value + " does not fit the ring at scale 2^" +
                codec.fractionalBits() + ": " + e.getMessage(), e);
        }
    }

    /** One node, compiled: reads its inputs (never modifies them), returns its output allocated in {@code arena}. */
    @FunctionalInterface
    private interface Step
    {
        MemorySegment apply(List<MemorySegment> inputs, int items, Arena arena);
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
                final MemorySegment w = encodeAll(c.weights().toArray(), single, "weight");
                final long[] bias = c.hasBias() ? encodeArray(c.bias().toArray(), dual, "bias") : null;
                final int positions = out.dim(1) * out.dim(2);
                yield (x, items, arena) ->
                {
                    final MemorySegment y = allocate(arena, (long)items * outSize);
                    kernels.conv2d(x.getFirst(), w, y, new Conv2dShape(items, c.inChannels(), in.dim(1), in.dim(2),
                        c.outChannels(), c.kernelHeight(), c.kernelWidth(), c.stride(), c.padding()));
                    if (bias != null)
                    {
                        for (int g = 0; g < items * c.outChannels(); g++)
                        {
                            final MemorySegment map = slice(y, (long)g * positions, positions);
                            kernels.addConstant(map, bias[g % c.outChannels()], map, positions);
                        }
                    }
                    kernels.shiftRightArithmetic(y, f, y, (long)items * outSize);
                    return y;
                };
            }
            case Layer.Linear l ->
            {
                final MemorySegment w = encodeAll(l.weights().toArray(), single, "weight");
                final MemorySegment bias = l.hasBias() ? encodeAll(l.bias().toArray(), dual, "bias") : null;
                yield (x, items, arena) ->
                {
                    final MemorySegment y = allocate(arena, (long)items * outSize);
                    kernels.matmulTransposedB(x.getFirst(), w, y, items, l.inFeatures(), l.outFeatures());
                    if (bias != null)
                    {
                        for (int b = 0; b < items; b++)
                        {
                            final MemorySegment row = slice(y, (long)b * outSize, outSize);
                            kernels.add(row, bias, row, outSize);
                        }
                    }
                    kernels.shiftRightArithmetic(y, f, y, (long)items * outSize);
                    return y;
                };
            }
            case Layer.AvgPool2d p ->
            {
                final long inverseArea = encode(single, 1.0 / ((double)p.kernel() * p.kernel()), "1/area");
                yield (x, items, arena) ->
                {
                    final MemorySegment y = allocate(arena, (long)items * outSize);
                    kernels.sumPool2d(x.getFirst(), y, items, in.dim(0), in.dim(1), in.dim(2), p.kernel(), p.stride());
                    return scaleDown(y, inverseArea, (long)items * outSize);
                };
            }
            case Layer.GlobalAvgPool _ ->
            {
                final long inverseArea = encode(single, 1.0 / ((double)in.dim(1) * in.dim(2)), "1/area");
                yield (x, items, arena) ->
                {
                    final MemorySegment y = allocate(arena, (long)items * outSize);
                    globalSum(x.getFirst(), y, items * in.dim(0), in.dim(1), in.dim(2));
                    return scaleDown(y, inverseArea, (long)items * outSize);
                };
            }
            case Layer.MaxPool2d p -> (x, items, arena) -> maxPool(x.getFirst(), allocate(arena, (long)items * outSize),
                items, in, out, p);
            case Layer.BatchNorm _ -> throw new IllegalArgumentException(
                "fixed-point inference needs a folded model: apply GraphTransforms.foldBatchNorm first");
            case Layer.Add _ -> (x, items, arena) ->
            {
                final MemorySegment y = allocate(arena, (long)items * outSize);
                kernels.add(x.get(0), x.get(1), y, (long)items * outSize);
                return y;
            };
            // Never called: the runner aliases these to their input.
            case Layer.Flatten _, Layer.Identity _ -> (x, items, arena) -> x.getFirst();
            case Layer.ReLU _ -> (x, items, arena) ->
            {
                final MemorySegment v = x.getFirst();
                final long n = (long)items * inSize;
                final MemorySegment y = allocate(arena, n);
                for (long i = 0; i < n; i++)
                {
                    y.setAtIndex(RingTensor.ELEMENT, i, Math.max(0L, v.getAtIndex(RingTensor.ELEMENT, i)));
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
                yield (x, items, arena) ->
                {
                    final MemorySegment v = x.getFirst();
                    final MemorySegment y = allocate(arena, (long)items * inSize);
                    int i = 0;
                    for (int b = 0; b < items; b++)
                    {
                        for (int e = 0; e < inSize; e++, i++)
                        {
                            final long value = v.getAtIndex(RingTensor.ELEMENT, i);
                            y.setAtIndex(RingTensor.ELEMENT, i, relu[e] ? Math.max(0L, value) : value);
                        }
                    }
                    return y;
                };
            }
            case Layer.Poly p ->
            {
                final PolyConstants k = PolyConstants.of(single, dual, p.degree(), power -> p.coefficient(power));
                yield (x, items, arena) -> poly(x.getFirst(), allocate(arena, (long)items * inSize),
                    (long)items * inSize, k);
            }
            case Layer.ChannelPoly p ->
            {
                final PolyConstants[] perChannel = new PolyConstants[p.channels()];
                for (int c = 0; c < perChannel.length; c++)
                {
                    final int channel = c;
                    perChannel[c] = PolyConstants.of(single, dual, p.degree(), power -> p.coefficient(channel, power));
                }
                final int mapSize = inSize / p.channels();
                yield (x, items, arena) ->
                {
                    final MemorySegment v = x.getFirst();
                    final MemorySegment y = allocate(arena, (long)items * inSize);
                    for (long i = 0; i < (long)items * inSize; i++)
                    {
                        final PolyConstants k = perChannel[(int)(i / mapSize % p.channels())];
                        y.setAtIndex(RingTensor.ELEMENT, i, k.evaluate(v.getAtIndex(RingTensor.ELEMENT, i)));
                    }
                    return y;
                };
            }
        };
    }

    /** {@code y = (y · inverseArea) >> f}, in place. */
    private MemorySegment scaleDown(final MemorySegment y, final long inverseArea, final long n)
    {
        kernels.multiplyConstant(y, inverseArea, y, n);
        kernels.shiftRightArithmetic(y, f, y, n);
        return y;
    }

    /** Window sum over whole {@code h × w} maps: the kernels' square pooling when the map is square. */
    private void globalSum(final MemorySegment x, final MemorySegment y, final int maps, final int h, final int w)
    {
        if (h == w)
        {
            kernels.sumPool2d(x, y, 1, maps, h, w, h, 1);
            return;
        }
        final int area = h * w;
        for (int m = 0; m < maps; m++)
        {
            long sum = 0;
            for (int i = 0; i < area; i++)
            {
                sum += x.getAtIndex(RingTensor.ELEMENT, (long)m * area + i);
            }
            y.setAtIndex(RingTensor.ELEMENT, m, sum);
        }
    }

    private static MemorySegment maxPool(final MemorySegment x, final MemorySegment y, final int items, final Shape in,
                                         final Shape out, final Layer.MaxPool2d p)
    {
        final int h = in.dim(1);
        final int w = in.dim(2);
        final int oh = out.dim(1);
        final int ow = out.dim(2);
        final int maps = items * in.dim(0);
        for (int m = 0; m < maps; m++)
        {
            for (int oy = 0; oy < oh; oy++)
            {
                for (int ox = 0; ox < ow; ox++)
                {
                    long max = Long.MIN_VALUE;
                    for (int r = 0; r < p.kernel(); r++)
                    {
                        final int iy = oy * p.stride() + r - p.padding();
                        for (int s = 0; s < p.kernel(); s++)
                        {
                            final int ix = ox * p.stride() + s - p.padding();
                            if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                            {
                                max = Math.max(max, x.getAtIndex(RingTensor.ELEMENT, ((long)m * h + iy) * w + ix));
                            }
                        }
                    }
                    y.setAtIndex(RingTensor.ELEMENT, ((long)m * oh + oy) * ow + ox, max);
                }
            }
        }
        return y;
    }

    /** The public polynomial of {@link Layer.Poly} over the ring kernels, exactly as {@link PolyConstants#evaluate}. */
    private MemorySegment poly(final MemorySegment x, final MemorySegment acc, final long n, final PolyConstants k)
    {
        kernels.multiplyConstant(x, k.linear(), acc, n);
        kernels.addConstant(acc, k.constant(), acc, n);
        if (k.degree() >= 2)
        {
            try (Arena temp = Arena.ofShared())
            {
                final MemorySegment scaled = allocate(temp, n);
                final MemorySegment power = allocate(temp, n);
                for (int d = 2; d <= k.degree(); d++)
                {
                    if (k.coefficient(d) == 0)
                    {
                        continue;
                    }
                    MemorySegment base = x;
                    if (k.preShift(d) > 0)
                    {
                        kernels.shiftRightArithmetic(x, k.preShift(d), scaled, n);
                        base = scaled;
                    }
                    kernels.multiply(base, base, power, n);
                    for (int j = 3; j <= d; j++)
                    {
                        kernels.multiply(power, base, power, n);
                    }
                    if (k.postShift(d) > 0)
                    {
                        kernels.shiftRightArithmetic(power, k.postShift(d), power, n);
                    }
                    kernels.multiplyConstant(power, k.coefficient(d), power, n);
                    kernels.add(acc, power, acc, n);
                }
            }
        }
        kernels.shiftRightArithmetic(acc, f, acc, n);
        return acc;
    }

    private static long[] encodeArray(final float[] values, final FixedPoint codec, final String what)
    {
        final long[] encoded = new long[values.length];
        for (int i = 0; i < values.length; i++)
        {
            encoded[i] = encode(codec, values[i], what + " " + i);
        }
        return encoded;
    }

    private MemorySegment encodeAll(final float[] values, final FixedPoint codec, final String what)
    {
        final long[] encoded = encodeArray(values, codec, what);
        final MemorySegment segment = allocate(weightArena, encoded.length);
        MemorySegment.copy(encoded, 0, segment, RingTensor.ELEMENT, 0, encoded.length);
        return segment;
    }

    private static MemorySegment slice(final MemorySegment segment, final long fromElement, final long elements)
    {
        return segment.asSlice(fromElement * RingTensor.ELEMENT_BYTES, elements * RingTensor.ELEMENT_BYTES);
    }

    /**
     * The encoded constants of one polynomial and its per-power shifts, with the scalar evaluation that defines the
     * semantics (the kernel path in {@link #poly} computes the same ring values).
     */
    record PolyConstants(int f, long[] coefficients, int[] preShifts, int[] postShifts)
    {
        /** Encodes {@code a_0} at 2f, {@code a_1..a_d} at f, and checks that every shift is usable. */
        static PolyConstants of(final FixedPoint single, final FixedPoint dual, final int degree,
                                final IntToDoubleFunction a)
        {
            final int f = single.fractionalBits();
            final long[] c = new long[degree + 1];
            final int[] pre = new int[degree + 1];
            final int[] post = new int[degree + 1];
            c[0] = encode(dual, a.applyAsDouble(0), "coefficient 0");
            for (int k = 1; k <= degree; k++)
            {
                c[k] = encode(single, a.applyAsDouble(k), "coefficient " + k);
                if (k >= 2)
                {
                    pre[k] = preScaleShift(k, f);
                    post[k] = powerShift(k, f);
                    if (post[k] < 0)
                    {
                        throw new IllegalArgumentException("degree " + degree + " needs at least " + (k - 1) +
                            " fractional bits for the pre-scaled power " + k + ", f is " + f);
                    }
                }
            }
            return new PolyConstants(f, c, pre, post);
        }

        int degree()
        {
            return coefficients.length - 1;
        }

        /** {@code enc_2f(a_0)}. */
        long constant()
        {
            return coefficients[0];
        }

        /** {@code enc_f(a_1)}. */
        long linear()
        {
            return coefficients[1];
        }

        long coefficient(final int k)
        {
            return coefficients[k];
        }

        int preShift(final int k)
        {
            return preShifts[k];
        }

        int postShift(final int k)
        {
            return postShifts[k];
        }

        /** The canonical evaluation of one element. */
        long evaluate(final long x)
        {
            long acc = coefficients[0] + coefficients[1] * x;
            for (int k = 2; k < coefficients.length; k++)
            {
                if (coefficients[k] == 0)
                {
                    continue;
                }
                final long base = x >> preShifts[k];
                long power = base;
                for (int j = 2; j <= k; j++)
                {
                    power *= base;
                }
                acc += coefficients[k] * (power >> postShifts[k]);
            }
            return acc >> f;
        }
    }
}
