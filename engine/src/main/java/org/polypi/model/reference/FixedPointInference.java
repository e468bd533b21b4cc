package org.polypi.model.reference;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.polypi.engine.plan.CompiledModel;
import org.polypi.engine.plan.LocalSteps;
import org.polypi.engine.plan.Plan;
import org.polypi.engine.plan.PlanCompiler;
import org.polypi.engine.plan.PlanStep;
import org.polypi.engine.plan.PlanTensor;
import org.polypi.kernels.FixedPoint;
import org.polypi.kernels.Kernels;
import org.polypi.kernels.RingKernels;
import org.polypi.kernels.RingTensor;
import org.polypi.model.ModelGraph;
import org.polypi.model.ModelHeader;

/**
 * Plaintext inference in the ring Z_2^64 that walks the same compiled {@link Plan} as the secure engine: the same
 * steps, scales, truncation points and amounts, and the same polynomial evaluation (the local arithmetic is literally
 * shared, {@link LocalSteps}). The secure engine's opened logits are checked against it and its accuracy measured
 * without any party.
 * <p>
 * <b>Canonical fixed-point semantics</b> (docs/fixed-point.md). {@code enc_s(v) = new FixedPoint(s).encode(v)} (round
 * to nearest, ties to even; out of range is an error); all sums and products wrap modulo 2^64. The model is compiled
 * by {@link PlanCompiler} at f fractional bits (the header's unless overridden): the input is encoded at f, every
 * tensor carries the scale the plan gives it, and every truncation of the plan (inside an activation's opening, an
 * explicit truncation step, the final truncation of the logits to f) rounds to nearest, ties up, here
 * ({@link LocalSteps#roundShift}), where the secure engine's faithful truncation yields the floor or one more, with
 * the probability of one more equal to the dropped fraction: the same expectation. Everything else is exact in both.
 * <p>
 * The graph must have exactly one input; its first output is reported, as ring values at scale f and decoded. The
 * ring work runs on a {@link RingKernels} backend ({@link Kernels#get()} unless given); every backend gives the same
 * bits. Items are processed in chunks of {@link #chunkItems()}. Instances are immutable and may be shared between
 * threads.
 */
public final class FixedPointInference
{
    /** Items per chunk unless told otherwise: W3's largest activation is then 16 MiB. */
    public static final int DEFAULT_CHUNK_ITEMS = 32;

    private final ModelGraph graph;
    private final CompiledModel model;
    private final Plan plan;
    private final RingKernels kernels;
    private final int f;
    private final FixedPoint single;
    private final int chunkItems;
    /** Encoded weights live as long as this object: the garbage collector frees them. */
    private final MemorySegment[] weights;
    private final long[][] biases;
    /** Storage root of every tensor: a reshape shares its input's storage. */
    private final int[] root;
    /** Per step: the storage roots no later step reads. */
    private final List<List<Integer>> releaseAfter = new ArrayList<>();

    private FixedPointInference(final ModelGraph graph, final CompiledModel model, final RingKernels kernels,
                                final int chunkItems)
    {
        if (kernels == null)
        {
            throw new IllegalArgumentException("kernels must not be null");
        }
        if (chunkItems <= 0)
        {
            throw new IllegalArgumentException("chunkItems must be positive, was " + chunkItems);
        }
        this.graph = graph;
        this.model = model;
        this.plan = model.plan();
        this.kernels = kernels;
        this.f = plan.fractionalBits();
        this.single = new FixedPoint(f);
        this.chunkItems = chunkItems;
        final Arena weightArena = Arena.ofAuto();
        final int linear = plan.linearSteps().size();
        this.weights = new MemorySegment[linear];
        this.biases = new long[linear][];
        for (int i = 0; i < linear; i++)
        {
            weights[i] = model.weights(weightArena, i).segment();
            biases[i] = model.hasBias(i) ? model.bias(i) : null;
        }
        this.root = new int[plan.tensors().size()];
        for (int t = 0; t < root.length; t++)
        {
            root[t] = t;
        }
        final List<PlanStep> steps = plan.steps();
        final int[] lastRead = new int[root.length];
        Arrays.fill(lastRead, -1);
        for (int i = 0; i < steps.size(); i++)
        {
            final PlanStep step = steps.get(i);
            for (final int in : step.inputs())
            {
                lastRead[root[in]] = i;
            }
            if (step instanceof final PlanStep.Reshape r)
            {
                root[r.output()] = root[r.input()];
            }
            releaseAfter.add(new ArrayList<>());
        }
        for (int t = 0; t < root.length; t++)
        {
            if (root[t] == t && lastRead[t] >= 0 && t != root[plan.outputTensor()])
            {
                releaseAfter.get(lastRead[t]).add(t);
            }
        }
    }

    /**
     * Inference of a folded {@code graph} at the header's fractional bits, on {@link Kernels#get()}.
     *
     * @throws IllegalArgumentException if the graph contains a BatchNorm, has more than one input, or does not
     *                                  compile ({@link PlanCompiler#compile(ModelGraph, int)}).
     */
    public static FixedPointInference of(final ModelGraph graph)
    {
        return of(graph, graph.header().fractionalBits());
    }

    /** As {@link #of(ModelGraph)} with f overridden. */
    public static FixedPointInference of(final ModelGraph graph, final int fractionalBits)
    {
        return of(graph, fractionalBits, Kernels.get(), DEFAULT_CHUNK_ITEMS);
    }

    /** As {@link #of(ModelGraph, int)} on a given backend and chunk size. */
    public static FixedPointInference of(final ModelGraph graph, final int fractionalBits, final RingKernels kernels,
                                         final int chunkItems)
    {
        if (fractionalBits < PlanCompiler.MIN_FRACTIONAL_BITS || fractionalBits > ModelHeader.MAX_FRACTIONAL_BITS)
        {
            throw new IllegalArgumentException("fractionalBits must be " + PlanCompiler.MIN_FRACTIONAL_BITS + ".." +
                ModelHeader.MAX_FRACTIONAL_BITS + ", was " + fractionalBits);
        }
        return new FixedPointInference(graph, PlanCompiler.compile(graph, fractionalBits), kernels, chunkItems);
    }

    /** The reference of an already compiled model (the server's {@link CompiledModel}), on a given backend. */
    public static FixedPointInference of(final CompiledModel model, final RingKernels kernels, final int chunkItems)
    {
        return new FixedPointInference(null, model, kernels, chunkItems);
    }

    /**
     * Pre-scaling shift of the k-th power: {@code s_k = max(0, ceil((k-2)·f/k))}, so that {@code (x >> s_k)^k}
     * carries at most 2f fractional bits ({@link PlanCompiler#preScale}).
     */
    public static int preScaleShift(final int k, final int fractionalBits)
    {
        return PlanCompiler.preScale(k, fractionalBits);
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

    /** The graph, or null if this reference was made from a compiled model. */
    public ModelGraph graph()
    {
        return graph;
    }

    /** The compiled plan this reference walks. */
    public Plan plan()
    {
        return plan;
    }

    /** The compiled model (plan and encoded weights). */
    public CompiledModel model()
    {
        return model;
    }

    /** The ring kernel backend in use. */
    public RingKernels kernels()
    {
        return kernels;
    }

    /**
     * Runs {@code batch} items: encodes them at scale 2^f and walks the plan in the ring.
     *
     * @param inputs {@code batch} items of the graph input's shape, concatenated (NCHW for feature maps).
     * @throws IllegalArgumentException if {@code inputs.length != batch * input elements}, batch is not positive,
     *                                  or an input does not fit the ring at scale 2^f.
     */
    public FixedPointOutput run(final float[] inputs, final int batch)
    {
        checkInput(inputs, batch);
        final int itemIn = plan.inputElements();
        final int classes = plan.outputElements();
        final long[] logits = new long[batch * classes];
        for (int from = 0; from < batch; from += chunkItems)
        {
            final int items = Math.min(chunkItems, batch - from);
            final long[][] chunk = runChunk(inputs, from * itemIn, items, false);
            System.arraycopy(chunk[plan.outputTensor()], 0, logits, from * classes, items * classes);
        }
        return new FixedPointOutput(batch, classes, f, logits);
    }

    /** Top-1 class of each item: {@code run(inputs, batch).top1()}. */
    public int[] top1(final float[] inputs, final int batch)
    {
        return run(inputs, batch).top1();
    }

    /**
     * Every tensor of the plan for {@code batch} items, by tensor id ({@code batch * size} ring values each), for
     * checking the secure engine step by step. Keeps everything in memory: meant for small batches.
     */
    public long[][] trace(final float[] inputs, final int batch)
    {
        checkInput(inputs, batch);
        return runChunk(inputs, 0, batch, true);
    }

    /**
     * The reference output of step {@code stepIndex} from the given values of its input tensors
     * ({@code tensors[id]}, {@code batch} items each; other entries are ignored and may be null).
     */
    public long[] evaluateStep(final int stepIndex, final long[][] tensors, final int batch)
    {
        final PlanStep step = plan.steps().get(stepIndex);
        try (Arena arena = Arena.ofShared())
        {
            final int[] ins = step.inputs();
            final MemorySegment[] in = new MemorySegment[ins.length];
            for (int i = 0; i < ins.length; i++)
            {
                final long[] v = tensors[ins[i]];
                final long expected = (long)batch * plan.tensor(ins[i]).size();
                if (v == null || v.length != expected)
                {
                    throw new IllegalArgumentException("tensor " + ins[i] + " (" + plan.tensor(ins[i]).name() +
                        ") must hold " + expected + " values for step " + step.name());
                }
                in[i] = LocalSteps.allocate(arena, v.length);
                MemorySegment.copy(v, 0, in[i], RingTensor.ELEMENT, 0, v.length);
            }
            return apply(stepIndex, in, batch, arena).toArray(RingTensor.ELEMENT);
        }
    }

    private void checkInput(final float[] inputs, final int batch)
    {
        if (batch <= 0)
        {
            throw new IllegalArgumentException("batch must be positive, was " + batch);
        }
        if (inputs == null)
        {
            throw new IllegalArgumentException("inputs must not be null");
        }
        final PlanTensor input = plan.tensor(plan.inputTensor());
        final long needed = (long)batch * input.size();
        if (inputs.length != needed)
        {
            throw new IllegalArgumentException("inputs has " + inputs.length + " elements, batch " + batch + " x " +
                Arrays.toString(input.shape()) + " needs " + needed);
        }
    }

    private long[][] runChunk(final float[] inputs, final int offset, final int items, final boolean keepAll)
    {
        final int tensorCount = plan.tensors().size();
        final MemorySegment[] values = new MemorySegment[tensorCount];
        final Map<Integer, Arena> arenas = new HashMap<>();
        final long[][] kept = new long[tensorCount][];
        try
        {
            final Arena inputArena = Arena.ofShared();
            arenas.put(plan.inputTensor(), inputArena);
            final int n = items * plan.inputElements();
            final MemorySegment x = LocalSteps.allocate(inputArena, n);
            try
            {
                single.encode(inputs, offset, x, n);
            }
            catch (final ArithmeticException e)
            {
                throw new IllegalArgumentException("input does not fit the ring at scale 2^" + f + ": " +
                    e.getMessage(), e);
            }
            values[plan.inputTensor()] = x;
            if (keepAll)
            {
                kept[plan.inputTensor()] = x.toArray(RingTensor.ELEMENT);
            }
            final List<PlanStep> steps = plan.steps();
            for (int i = 0; i < steps.size(); i++)
            {
                final PlanStep step = steps.get(i);
                final int[] ins = step.inputs();
                final MemorySegment[] in = new MemorySegment[ins.length];
                for (int j = 0; j < ins.length; j++)
                {
                    in[j] = values[ins[j]];
                }
                final Arena arena;
                if (step instanceof PlanStep.Reshape)
                {
                    arena = null;
                }
                else
                {
                    arena = Arena.ofShared();
                    arenas.put(step.output(), arena);
                }
                values[step.output()] = apply(i, in, items, arena);
                if (keepAll)
                {
                    kept[step.output()] = values[step.output()].toArray(RingTensor.ELEMENT);
                }
                for (final int dead : releaseAfter.get(i))
                {
                    for (int t = 0; t < tensorCount; t++)
                    {
                        if (root[t] == dead)
                        {
                            values[t] = null;
                        }
                    }
                    arenas.remove(dead).close();
                }
            }
            if (!keepAll)
            {
                kept[plan.outputTensor()] = values[plan.outputTensor()].toArray(RingTensor.ELEMENT);
            }
            return kept;
        }
        finally
        {
            for (final Arena arena : arenas.values())
            {
                arena.close();
            }
        }
    }

    /** Step {@code index} on the given inputs; the output is allocated in {@code arena} (null for a reshape). */
    private MemorySegment apply(final int index, final MemorySegment[] in, final int items, final Arena arena)
    {
        final PlanStep step = plan.steps().get(index);
        return switch (step)
        {
            case PlanStep.Dense d ->
            {
                final MemorySegment y = LocalSteps.allocate(arena, (long)items * d.outFeatures());
                kernels.matmul(in[0], weights[d.linearIndex()], y, items, d.inFeatures(), d.outFeatures());
                addBias(d, y, items);
                yield y;
            }
            case PlanStep.Conv c ->
            {
                final MemorySegment y = LocalSteps.allocate(arena, (long)items * c.outputElements());
                kernels.conv2d(in[0], weights[c.linearIndex()], y, c.shape(items));
                addBias(c, y, items);
                yield y;
            }
            case PlanStep.SumPool p ->
            {
                final MemorySegment y = LocalSteps.allocate(arena, (long)items * size(p.output()));
                LocalSteps.sumPool(kernels, p, in[0], y, items);
                yield y;
            }
            case PlanStep.Add a ->
            {
                final long n = (long)items * size(a.output());
                final MemorySegment y = LocalSteps.allocate(arena, n);
                LocalSteps.add(kernels, a, in[0], in[1], y, n);
                yield y;
            }
            case PlanStep.Reshape _ -> in[0];
            case PlanStep.Truncate t ->
            {
                final long n = (long)items * size(t.output());
                final MemorySegment y = LocalSteps.allocate(arena, n);
                LocalSteps.roundShift(kernels, in[0], t.shift(), y, n);
                yield y;
            }
            case PlanStep.Activation a ->
            {
                final MemorySegment y = LocalSteps.allocate(arena, (long)items * a.outputElements());
                final boolean isPrivate = a.kind() == PlanStep.Activation.Kind.PRIVATE;
                try (Arena temp = Arena.ofShared())
                {
                    LocalSteps.combine(kernels, a, isPrivate ? model.privateMultipliers(index) : null,
                        isPrivate ? model.privateConstants(index) : null, in[0],
                        LocalSteps.plaintextPowers(kernels, a, in[0], items, temp), true, y, items);
                }
                yield y;
            }
            case PlanStep.Combine c ->
            {
                final MemorySegment y = LocalSteps.allocate(arena, (long)items * c.outputElements());
                final boolean isPrivate = c.privateCoefficients();
                LocalSteps.combineStacked(kernels, c, isPrivate ? model.privateMultipliers(index) : null,
                    isPrivate ? model.privateConstants(index) : null, in[0], true, y, items);
                yield y;
            }
            case PlanStep.Relu r ->
            {
                final long n = (long)items * size(r.output());
                final MemorySegment y = LocalSteps.allocate(arena, n);
                for (long i = 0; i < n; i++)
                {
                    y.setAtIndex(RingTensor.ELEMENT, i, Math.max(0L, in[0].getAtIndex(RingTensor.ELEMENT, i)));
                }
                yield y;
            }
            case PlanStep.MaskedRelu m ->
            {
                final int size = m.size();
                final MemorySegment y = LocalSteps.allocate(arena, (long)items * size);
                for (long i = 0; i < (long)items * size; i++)
                {
                    final long v = in[0].getAtIndex(RingTensor.ELEMENT, i);
                    y.setAtIndex(RingTensor.ELEMENT, i, m.isRelu((int)(i % size)) ? Math.max(0L, v) : v);
                }
                yield y;
            }
            case PlanStep.MaxPool p -> maxPool(in[0], LocalSteps.allocate(arena, (long)items * size(p.output())),
                items, p);
        };
    }

    private int size(final int tensor)
    {
        return plan.tensor(tensor).size();
    }

    private void addBias(final PlanStep.Linear step, final MemorySegment y, final int items)
    {
        final long[] bias = biases[step.linearIndex()];
        if (bias != null)
        {
            LocalSteps.addBias(kernels, step, bias, y, items);
        }
    }

    private static MemorySegment maxPool(final MemorySegment x, final MemorySegment y, final int items,
                                         final PlanStep.MaxPool p)
    {
        final int h = p.inHeight();
        final int w = p.inWidth();
        final int oh = p.outHeight();
        final int ow = p.outWidth();
        final int maps = items * p.channels();
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
}
