package org.polypi.engine.plan;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.polypi.kernels.FixedPoint;
import org.polypi.model.ActivationStatistics;
import org.polypi.model.GraphInput;
import org.polypi.model.Layer;
import org.polypi.model.ModelGraph;
import org.polypi.model.ModelHeader;
import org.polypi.model.Node;
import org.polypi.model.Shape;

/**
 * Compiles a (BatchNorm-folded) {@link ModelGraph} at f fractional bits into a {@link CompiledModel}: the public
 * {@link Plan} and the server's encoded weights.
 * <p>
 * <b>Scales</b> (docs/engine-design.md §1). The input is encoded at f. A linear step multiplies by weights at g and
 * adds a bias at its output scale: {@code s_out = s_in + g}, no truncation; g is f, or up to 2f where the output is
 * truncated anyway (the logits, inputs of polynomial activations) and for weights that absorbed a folded
 * ChannelPoly's coefficients ({@link #weightScale}). A sum-pool of a power-of-two area only
 * changes the scale ({@code s_in + log2 A}); another area multiplies by {@code enc_f(1/A)} ({@code s_in + f}). An Add
 * aligns the lower operand exactly ({@code max(s_a, s_b)}). A polynomial activation truncates its input inside its
 * single opening (whatever the input's scale) and outputs at 2f (HerPN powers folded into the next linear layer) or,
 * for public coefficients, at the highest scale its reader chain (pools, then one linear layer) leaves within the
 * budget, each power's copy taking the bits its coefficient does not need; when that would leave a power fewer bits
 * than at 3f and a 3f output would make the reader truncate its input anyway (PILLAR at f = 16), at the highest scale
 * the output's own bound leaves, since that truncation's round is paid either way; otherwise (or when the reader is
 * anything else) at 3f. ReLU, masked ReLU and max-pool keep the scale.
 * <p>
 * <b>Budget.</b> Every tensor must satisfy {@code scale + ceil(log2 bound) + }{@value #HEADROOM_BITS}
 * {@code <= }{@value #BUDGET_BITS}: its ring values stay below 2^62 (the faithful truncation's range) even if the
 * real values exceed their bound 16-fold. Bounds: the header's activation bound B for the input and every linear
 * output (B bounds the activation inputs by the model's contract; logits and residual branches are assumed to share
 * it), the average's bound for a pool, the sum for an Add, {@code sum_k |a_k| B^k} for a polynomial. When a linear,
 * pool or Add step would break the budget, the compiler inserts an explicit faithful truncation of its input back to
 * scale f (one round; shared by all readers of that tensor); the logits are truncated to f before the output. A
 * public polynomial that cannot be sized by its reader and whose 3f output itself would break the budget (f >= 20
 * for bound 5 and coefficients that need every fractional bit) is split: stacked powers at 2f, a truncation to f,
 * and a local {@link PlanStep.Combine} with the coefficients (two rounds).
 * <p>
 * <b>ChannelPoly</b> (HerPN, server-private per-channel coefficients) is folded into the next linear layer when the
 * activation's only reader chain is average pools, flattens and identities ending in a Conv2d or Linear: the
 * activation outputs its powers {@code [x, x^2, ..., x^d]} stacked as d blocks of channels (plus a channel of ones
 * when the convolution pads, so that the constant term stays exact at the borders), and the linear layer's weights
 * become {@code W[o, (k-1) C + c] = W[o, c] a_k[c]} (constant {@code sum_c W[o, c] a_0[c]} in the bias or the ones
 * channel). The coefficients thus only ever leave the server inside weights, which are opened only as
 * {@code W - B}: as secure as the weights themselves, and the activation keeps its one round. Any other ChannelPoly
 * compiles to a {@link PlanStep.Activation.Kind#PRIVATE} step (or a private {@link PlanStep.Combine}) that only the
 * plaintext reference can run.
 */
public final class PlanCompiler
{
    /** The faithful truncation's range: every ring value must stay below 2^62 in absolute value. */
    public static final int BUDGET_BITS = 62;
    /** Bits kept free above every tensor's bound. */
    public static final int HEADROOM_BITS = 4;
    /** Smallest supported fractional bits. */
    public static final int MIN_FRACTIONAL_BITS = 1;
    /** Output scale of a public polynomial: powers at 2f times coefficients at f. */
    private static final int POLY_OUTPUT_FACTOR = 3;
    /**
     * A public polynomial whose output is truncated before its reader anyway is sized for inputs up to this many times
     * the bound B (its output bound then 2^d times larger for degree d): the bits the truncation frees go to the
     * copies' precision but not all of them, so that an input somewhat beyond B (trained PILLAR networks reach 2-2.5
     * B on the test set) is still far from wrapping: the 4 bits of headroom on top then cover an output 16 times
     * that, i.e. PILLAR's inputs up to about 4.4 B (22 for B = 5).
     */
    private static final int TRUNCATED_INPUT_EXCESS = 2;
    /** Wide weights take at most this many times f fractional bits ({@link #weightScale}). */
    private static final int WIDE_WEIGHT_SCALE_FACTOR = 2;
    /** Scale the powers are aligned to: 2f. */
    private static final int POWER_SCALE_FACTOR = 2;

    private final ModelGraph graph;
    private final int f;
    private final double bound;
    private final FixedPoint[] codecs = new FixedPoint[FixedPoint.MAX_FRACTIONAL_BITS + 1];
    private final List<PlanTensor> tensors = new ArrayList<>();
    private final List<Double> errors = new ArrayList<>();
    private final List<PlanStep> steps = new ArrayList<>();
    private final Set<String> stepNames = new HashSet<>();
    private final List<long[]> weights = new ArrayList<>();
    private final List<long[]> biases = new ArrayList<>();
    private final List<long[][]> privateMultipliers = new ArrayList<>();
    private final List<long[]> privateConstants = new ArrayList<>();
    private final Map<String, Integer> values = new HashMap<>();
    private final Map<Integer, Integer> truncatedToF = new HashMap<>();
    /** Linear node name -> the ChannelPoly coefficients to fold into it. */
    private final Map<String, Fold> folds = new HashMap<>();

    private PlanCompiler(final ModelGraph graph, final int fractionalBits)
    {
        this.graph = graph;
        this.f = fractionalBits;
        this.bound = graph.header().activationBound();
    }

    /** Compiles {@code graph} at the header's fractional bits. */
    public static CompiledModel compile(final ModelGraph graph)
    {
        return compile(graph, graph.header().fractionalBits());
    }

    /**
     * Compiles {@code graph} at {@code fractionalBits}.
     *
     * @throws IllegalArgumentException if the graph contains a BatchNorm (fold it first with
     *     {@code GraphTransforms.foldBatchNorm}), has more than one input, f is outside [1, 30], a parameter does not
     *     fit the ring, or a step cannot meet the scale budget; the message names the node.
     */
    public static CompiledModel compile(final ModelGraph graph, final int fractionalBits)
    {
        if (fractionalBits < MIN_FRACTIONAL_BITS || fractionalBits > ModelHeader.MAX_FRACTIONAL_BITS)
        {
            throw new IllegalArgumentException("fractionalBits must be " + MIN_FRACTIONAL_BITS + ".." +
                ModelHeader.MAX_FRACTIONAL_BITS + ", was " + fractionalBits);
        }
        if (graph.inputs().size() != 1)
        {
            throw new IllegalArgumentException("a plan needs a graph with exactly one input, " + graph + " has " +
                graph.inputs().size() + " " + graph.inputs());
        }
        for (final Node node : graph.nodes())
        {
            if (node.layer() instanceof Layer.BatchNorm)
            {
                throw new IllegalArgumentException("node " + node.name() + " (" + node.layer().describe() +
                    "): the secure engine and the fixed-point reference need a folded model: apply " +
                    "GraphTransforms.foldBatchNorm first");
            }
        }
        return new PlanCompiler(graph, fractionalBits).run();
    }

    /** The smallest number of bits {@code b >= 0} with {@code bound <= 2^b}. */
    static int boundBits(final double bound)
    {
        if (!(bound > 1))
        {
            return 0;
        }
        return Math.getExponent(bound) + (bound == Math.scalb(1.0, Math.getExponent(bound)) ? 0 : 1);
    }

    /** True if a tensor at {@code scale} with real values up to {@code bound} meets the budget. */
    public static boolean fits(final int scale, final double bound)
    {
        return scale + boundBits(bound) + HEADROOM_BITS <= BUDGET_BITS;
    }

    /**
     * ESPN's pre-scaling of power k (seeds.md §2.4): {@code s_k = max(0, ceil((k - 2) f / k))}, so that the copy at
     * {@code f - s_k} fractional bits has a k-th power of at most 2f fractional bits.
     */
    public static int preScale(final int k, final int fractionalBits)
    {
        return Math.max(0, Math.ceilDiv((k - POWER_SCALE_FACTOR) * fractionalBits, k));
    }

    private CompiledModel run()
    {
        final GraphInput input = graph.inputs().getFirst();
        final int inputId = newTensor(input.name(), input.shape().toArray(), f, bound, 0);
        values.put(input.name(), inputId);
        for (final Node node : graph.nodes())
        {
            try
            {
                compileNode(node);
            }
            catch (final IllegalArgumentException e)
            {
                throw new IllegalArgumentException("node " + node.name() + " (" + node.layer().describe() + "): " +
                    e.getMessage(), e);
            }
        }
        final String outName = graph.outputs().getFirst();
        int out = values.get(outName);
        if (tensors.get(out).scale() > f)
        {
            out = truncateToF(out);
        }
        final double[] errorBounds = new double[errors.size()];
        for (int i = 0; i < errorBounds.length; i++)
        {
            errorBounds[i] = errors.get(i);
        }
        final Plan plan = new Plan(graph.header().architecture(), f, graph.header().activationBound(),
            HEADROOM_BITS, tensors, steps, inputId, out, observedRanges());
        return new CompiledModel(plan, weights, biases, privateMultipliers, privateConstants, errorBounds);
    }

    /** The header's activation statistics against the bound the budget was sized for (the graph checked the sites). */
    private List<Plan.ObservedRange> observedRanges()
    {
        final List<Plan.ObservedRange> ranges = new ArrayList<>();
        graph.header().statistics().ifPresent(stats ->
        {
            for (final ActivationStatistics.Site s : stats.sites())
            {
                final Layer layer = graph.node(s.node()).layer();
                final boolean polynomial = layer instanceof Layer.Poly || layer instanceof Layer.ChannelPoly;
                ranges.add(new Plan.ObservedRange(s.node(), polynomial, s.maxAbs(), s.outside(), s.elements(),
                    s.range(), s.within(bound)));
            }
        });
        return ranges;
    }

    private void compileNode(final Node node)
    {
        switch (node.layer())
        {
            case Layer.Conv2d c -> conv(node, c);
            case Layer.Linear l -> dense(node, l);
            case Layer.AvgPool2d p -> pool(node, p.kernel(), p.kernel(), p.stride(), false);
            case Layer.GlobalAvgPool _ -> pool(node, 0, 0, 1, true);
            case Layer.MaxPool2d p -> maxPool(node, p);
            case Layer.Add _ -> add(node);
            case Layer.Flatten _ ->
            {
                final PlanTensor in = tensors.get(input(node));
                final int out = newTensor(node.name(), new int[]{in.size()}, in.scale(), in.bound(), error(in.id()));
                addStep(new PlanStep.Reshape(uniqueName(node.name()), in.id(), out));
                values.put(node.name(), out);
            }
            case Layer.Identity _ -> values.put(node.name(), input(node));
            case Layer.ReLU _ ->
            {
                final PlanTensor in = tensors.get(input(node));
                final int out = newTensor(node.name(), in.shape(), in.scale(), in.bound(), error(in.id()));
                addStep(new PlanStep.Relu(uniqueName(node.name()), in.id(), out));
                values.put(node.name(), out);
            }
            case Layer.MaskedReLU m ->
            {
                final PlanTensor in = tensors.get(input(node));
                final boolean[] mask = new boolean[in.size()];
                for (int i = 0; i < mask.length; i++)
                {
                    mask[i] = m.isReLU(i);
                }
                final int out = newTensor(node.name(), in.shape(), in.scale(), in.bound(), error(in.id()));
                addStep(new PlanStep.MaskedRelu(uniqueName(node.name()), in.id(), out, mask));
                values.put(node.name(), out);
            }
            case Layer.Poly p -> publicActivation(node, p);
            case Layer.ChannelPoly p -> channelActivation(node, p);
            case Layer.BatchNorm _ -> throw new IllegalStateException("BatchNorm was rejected before compiling");
        }
    }

    // ---- linear steps ---------------------------------------------------------------------------------------

    private void dense(final Node node, final Layer.Linear l)
    {
        int in = input(node);
        if (!fits(tensors.get(in).scale() + f, bound))
        {
            in = truncateToF(in);
        }
        final PlanTensor x = tensors.get(in);
        final Fold fold = folds.remove(node.name());
        final int weightScale = weightScale(node, x.scale(), fold);
        final int outScale = checkFits(x.scale() + weightScale, bound, "output");
        final int inFeatures = x.size();
        final int outFeatures = l.outFeatures();
        // Real weights [out][inFeatures] and bias, folded if a ChannelPoly feeds this layer.
        final double[] w = new double[outFeatures * inFeatures];
        final double[] b = new double[outFeatures];
        final boolean hasBias = l.hasBias() || fold != null;
        if (fold == null)
        {
            for (int i = 0; i < w.length; i++)
            {
                w[i] = l.weights().get(i);
            }
        }
        else
        {
            final int original = l.inFeatures();
            final int perChannel = original / fold.channels;
            for (int o = 0; o < outFeatures; o++)
            {
                for (int i = 0; i < original; i++)
                {
                    final double wi = l.weights().get(o * original + i);
                    final int c = i / perChannel;
                    for (int k = 1; k <= fold.degree; k++)
                    {
                        w[o * inFeatures + (k - 1) * original + i] = wi * fold.coefficient(c, k);
                    }
                    b[o] += wi * fold.coefficient(c, 0);
                }
            }
        }
        if (l.hasBias())
        {
            for (int o = 0; o < outFeatures; o++)
            {
                b[o] += l.bias().get(o);
            }
        }
        // Protocol layout [in][out]; the Lipschitz constant of each output row for the error bound.
        final long[] encoded = new long[w.length];
        double lipschitz = 0;
        for (int o = 0; o < outFeatures; o++)
        {
            double row = 0;
            for (int i = 0; i < inFeatures; i++)
            {
                final long v = encode(w[o * inFeatures + i], weightScale, "weight " + (o * inFeatures + i));
                encoded[i * outFeatures + o] = v;
                row += Math.abs((double)v);
            }
            lipschitz = Math.max(lipschitz, Math.scalb(row, -weightScale));
        }
        final long[] bias = hasBias ? encodeAll(b, outScale, "bias") : new long[0];
        final int out = newTensor(node.name(), new int[]{outFeatures}, outScale, bound, error(in) * lipschitz);
        addLinear(new PlanStep.Dense(uniqueName(node.name()), in, out, inFeatures, outFeatures, weightScale,
            weights.size()),
            encoded, bias);
        values.put(node.name(), out);
    }

    private void conv(final Node node, final Layer.Conv2d c)
    {
        int in = input(node);
        if (!fits(tensors.get(in).scale() + f, bound))
        {
            in = truncateToF(in);
        }
        final PlanTensor x = tensors.get(in);
        final Fold fold = folds.remove(node.name());
        final int weightScale = weightScale(node, x.scale(), fold);
        final int outScale = checkFits(x.scale() + weightScale, bound, "output");
        final int[] s = x.shape();
        final int inChannels = s[0];
        final int h = s[1];
        final int wd = s[2];
        final int outH = (h + 2 * c.padding() - c.kernelHeight()) / c.stride() + 1;
        final int outW = (wd + 2 * c.padding() - c.kernelWidth()) / c.stride() + 1;
        final int kernel = c.kernelHeight() * c.kernelWidth();
        final int outC = c.outChannels();
        final double[] w = new double[outC * inChannels * kernel];
        final double[] b = new double[outC];
        final boolean hasBias = c.hasBias() || (fold != null && !fold.ones);
        for (int o = 0; o < outC; o++)
        {
            for (int ci = 0; ci < c.inChannels(); ci++)
            {
                for (int q = 0; q < kernel; q++)
                {
                    final double wi = c.weights().get((o * c.inChannels() + ci) * kernel + q);
                    if (fold == null)
                    {
                        w[(o * inChannels + ci) * kernel + q] = wi;
                        continue;
                    }
                    for (int k = 1; k <= fold.degree; k++)
                    {
                        w[(o * inChannels + (k - 1) * c.inChannels() + ci) * kernel + q] = wi * fold.coefficient(ci, k);
                    }
                    final double constant = wi * fold.coefficient(ci, 0);
                    if (fold.ones)
                    {
                        // Through the ones channel the constant is zero-padded exactly like the powers.
                        w[(o * inChannels + fold.degree * c.inChannels()) * kernel + q] += constant;
                    }
                    else
                    {
                        b[o] += constant;
                    }
                }
            }
            if (c.hasBias())
            {
                b[o] += c.bias().get(o);
            }
        }
        final long[] encoded = new long[w.length];
        double lipschitz = 0;
        for (int o = 0; o < outC; o++)
        {
            double row = 0;
            for (int i = o * inChannels * kernel; i < (o + 1) * inChannels * kernel; i++)
            {
                encoded[i] = encode(w[i], weightScale, "weight " + i);
                row += Math.abs((double)encoded[i]);
            }
            lipschitz = Math.max(lipschitz, Math.scalb(row, -weightScale));
        }
        final long[] bias = hasBias ? encodeAll(b, outScale, "bias") : new long[0];
        final int out = newTensor(node.name(), new int[]{outC, outH, outW}, outScale, bound, error(in) * lipschitz);
        addLinear(new PlanStep.Conv(uniqueName(node.name()), in, out, inChannels, outC, c.kernelHeight(),
            c.kernelWidth(), c.stride(), c.padding(), h, wd, outH, outW, weightScale, weights.size()), encoded, bias);
        values.put(node.name(), out);
    }

    /**
     * Fractional bits of a linear step's weights: f, or the bits the budget leaves above the input (at most 2f) when
     * the extra bits cost nothing, i.e. when the output is truncated anyway before it is read ({@link
     * #readersTruncate}), and always for weights that absorbed a ChannelPoly's coefficients. At f, a weight's rounding
     * (up to 2^-(f+1) whatever its size) is a large relative error for the small weights trained networks have, summed
     * over hundreds of inputs: at f = 12 it moved a W1 PILLAR model's logits by up to 0.15 and flipped 21 of 10,000
     * test images' top-1 (0.075 and 8 with 2f weights). Folded weights {@code w a_k} are products of two small numbers
     * (trained W3 HerPN: typically 1e-3) that multiply {@code x^k}, up to {@code B^k} (at f = 12, 2^-13 against x^2
     * up to 1.1e4 cost W3 HerPN 0.35 % of its top-1 agreement), so they take the bits whatever reads the output.
     * Elsewhere (an output read by a ReLU or another linear step) f keeps the scales from growing into a truncation
     * of their own, which would cost a round.
     */
    private int weightScale(final Node node, final int inputScale, final Fold fold)
    {
        if (fold == null && !readersTruncate(node))
        {
            return f;
        }
        final int room = BUDGET_BITS - HEADROOM_BITS - boundBits(bound) - inputScale;
        return Math.max(f, Math.min(WIDE_WEIGHT_SCALE_FACTOR * f, room));
    }

    /**
     * True if {@code node}'s output is truncated before anything reads it whatever its scale: it is the graph's
     * output (truncated to f at the end) and nothing else reads it, or every reader is a polynomial activation (its
     * input is truncated inside its one opening).
     */
    private boolean readersTruncate(final Node node)
    {
        final List<Node> readers = graph.consumers(node.name());
        if (graph.outputs().contains(node.name()))
        {
            return readers.isEmpty();
        }
        return !readers.isEmpty() && readers.stream()
            .allMatch(r -> r.layer() instanceof Layer.Poly || r.layer() instanceof Layer.ChannelPoly);
    }

    private void addLinear(final PlanStep.Linear step, final long[] encoded, final long[] bias)
    {
        addStep(step);
        weights.add(encoded);
        biases.add(bias);
    }

    // ---- local steps ----------------------------------------------------------------------------------------

    private void pool(final Node node, final int kernelH, final int kernelW, final int stride, final boolean global)
    {
        int in = input(node);
        for (int attempt = 0; ; attempt++)
        {
            final PlanTensor x = tensors.get(in);
            final int[] s = x.shape();
            final int wh = global ? s[1] : kernelH;
            final int ww = global ? s[2] : kernelW;
            final long area = (long)wh * ww;
            final boolean powerOfTwo = Long.bitCount(area) == 1;
            final int outScale = x.scale() + poolScaleGrowth(area);
            if (!fits(outScale, x.bound()) && attempt == 0 && x.scale() > f)
            {
                in = truncateToF(in);
                continue;
            }
            checkFits(outScale, x.bound(), "output");
            final long multiplier = powerOfTwo ? 1 : encode(1.0 / area, f, "1/area");
            if (multiplier == 0)
            {
                throw new IllegalArgumentException("1/" + area + " rounds to 0 at f = " + f);
            }
            final int outH = (s[1] - wh) / stride + 1;
            final int outW = (s[2] - ww) / stride + 1;
            final double err = powerOfTwo ? error(in) : error(in) * area * Math.scalb((double)multiplier, -f);
            final int out = newTensor(node.name(), new int[]{s[0], outH, outW}, outScale, x.bound(), err);
            addStep(new PlanStep.SumPool(uniqueName(node.name()), in, out, s[0], s[1], s[2], wh, ww, stride, outH,
                outW, multiplier));
            values.put(node.name(), out);
            return;
        }
    }

    /** Scale bits a sum-pool of {@code area} adds: log2 of a power-of-two area (a change of scale), else f. */
    private int poolScaleGrowth(final long area)
    {
        return Long.bitCount(area) == 1 ? Long.numberOfTrailingZeros(area) : f;
    }

    private void maxPool(final Node node, final Layer.MaxPool2d p)
    {
        final PlanTensor x = tensors.get(input(node));
        final int[] s = x.shape();
        final int outH = (s[1] + 2 * p.padding() - p.kernel()) / p.stride() + 1;
        final int outW = (s[2] + 2 * p.padding() - p.kernel()) / p.stride() + 1;
        final int out = newTensor(node.name(), new int[]{s[0], outH, outW}, x.scale(), x.bound(), error(x.id()));
        addStep(new PlanStep.MaxPool(uniqueName(node.name()), x.id(), out, s[0], s[1], s[2], p.kernel(), p.stride(),
            p.padding(), outH, outW));
        values.put(node.name(), out);
    }

    private void add(final Node node)
    {
        int a = values.get(node.inputs().get(0));
        int b = values.get(node.inputs().get(1));
        double sum = tensors.get(a).bound() + tensors.get(b).bound();
        if (!fits(Math.max(tensors.get(a).scale(), tensors.get(b).scale()), sum))
        {
            a = truncateToF(a);
            b = truncateToF(b);
            sum = tensors.get(a).bound() + tensors.get(b).bound();
        }
        final int sa = tensors.get(a).scale();
        final int sb = tensors.get(b).scale();
        final int scale = checkFits(Math.max(sa, sb), sum, "output");
        final int out = newTensor(node.name(), tensors.get(a).shape(), scale, sum, error(a) + error(b));
        addStep(new PlanStep.Add(uniqueName(node.name()), a, b, out, scale - sa, scale - sb));
        values.put(node.name(), out);
    }

    // ---- activations ----------------------------------------------------------------------------------------

    /** Per power k: the copy's scale {@code t_k} (power 1: up to 2f, else {@code f - s_k}) and its shift. */
    private int copyScale(final int k, final int inputScale)
    {
        return k == 1 ? Math.min(inputScale, POWER_SCALE_FACTOR * f) : f - preScale(k, f);
    }

    private void checkDegree(final int degree)
    {
        if (degree - 1 > f)
        {
            throw new IllegalArgumentException("degree " + degree + " needs at least " + (degree - 1) +
                " fractional bits for the pre-scaled power " + degree + ", f is " + f);
        }
    }

    private void publicActivation(final Node node, final Layer.Poly p)
    {
        final PlanTensor z = tensors.get(input(node));
        final int degree = p.degree();
        checkDegree(degree);
        final double[][] a = new double[1][degree + 1];
        for (int k = 0; k <= degree; k++)
        {
            a[0][k] = p.coefficient(k);
        }
        final long[] coefficient = new long[degree + 1];
        final boolean[] used = new boolean[degree + 1];
        for (int k = 1; k <= degree; k++)
        {
            coefficient[k] = encode(a[0][k], f, "coefficient " + k);
            used[k] = coefficient[k] != 0;
        }
        final double outBound = polynomialBound(a);
        final int[] standard = defaultCopyScales(degree, z.scale());
        final List<Node> chain = linearReaderChain(node);
        int outScale = -1;
        int[] copyScale = null;
        if (chain != null)
        {
            final int growth = chainScaleGrowth(chain);
            final int withoutTruncation = readerLimitedScale(outBound, growth);
            copyScale = copyScalesFor(withoutTruncation, z.scale(), coefficient, used, standard);
            outScale = withoutTruncation;
            if (copyScale == null && withoutTruncation < POLY_OUTPUT_FACTOR * f)
            {
                // A 3f output would make the reader truncate (one round) anyway; since it does, the output may take
                // every bit its own bound leaves, and the copies with it (engine-design.md §2).
                final int beforeTruncation = truncatedReaderScale(polynomialBound(a, TRUNCATED_INPUT_EXCESS * bound),
                    growth);
                copyScale = copyScalesFor(beforeTruncation, z.scale(), coefficient, used, standard);
                outScale = beforeTruncation;
            }
        }
        if (copyScale == null)
        {
            copyScale = standard;
            outScale = POLY_OUTPUT_FACTOR * f;
        }
        if (!fits(outScale, outBound))
        {
            splitActivation(node, z, a, false);
            return;
        }
        copyScale = powerOneFromACopy(copyScale, used, z.scale());
        final long constant = encode(a[0][0], outScale, "coefficient 0");
        // Power k at k t_k fractional bits times the coefficient at f lands on outScale after this exact shift; it is
        // negative only when the coefficient's low bits are zero (a dyadic PILLAR coefficient), so nothing is lost.
        final Powers powers = powers(z, degree, used, copyScale, outScale - f);
        final long[] multipliers = new long[degree + 1];
        double err = 0;
        for (int k = 1; k <= degree; k++)
        {
            if (used[k])
            {
                final int align = powers.align[k];
                multipliers[k] = align >= 0 ? coefficient[k] << align : coefficient[k] >> -align;
                err += Math.abs(Math.scalb((double)coefficient[k], -f)) * powerError(k, powers.delta[k]);
            }
        }
        final int out = newTensor(node.name(), z.shape(), outScale, outBound, err);
        addStep(powers.step(uniqueName(node.name()), z, out, PlanStep.Activation.Kind.PUBLIC, f, outScale,
            multipliers, constant, false));
        values.put(node.name(), out);
    }

    /**
     * Where power 1 would be z itself (its copy needs no shift) while a higher power has a copy of its own keeping at
     * least f fractional bits, power 1 is taken from the finest such copy instead: that copy's tuple holds power 1
     * already (a copy of degree d gives powers 1 to d), so it costs no material and no round, and the activation
     * then reads only its opened value and its material, never z. Which is what lets a party fold the activation's
     * mask into the linear layer that produces z (engine-design.md §3): the masking pass {@code z + r} leaves the
     * online phase. The price is precision: power 1 keeps that copy's bits (23 for PILLAR at f = 16, 19 at f = 12)
     * instead of being exact, a deviation far below that of the highest power's copy.
     */
    private int[] powerOneFromACopy(final int[] copyScale, final boolean[] used, final int inputScale)
    {
        if (used.length < 2 || !used[1] || copyScale[1] != inputScale)
        {
            return copyScale;
        }
        int finest = -1;
        for (int k = 2; k < used.length; k++)
        {
            if (used[k] && copyScale[k] < inputScale && copyScale[k] >= f)
            {
                finest = Math.max(finest, copyScale[k]);
            }
        }
        if (finest < 0)
        {
            return copyScale;
        }
        final int[] moved = copyScale.clone();
        moved[1] = finest;
        return moved;
    }

    /** The scale growth of the average pools along a {@link #linearReaderChain}. */
    private int chainScaleGrowth(final List<Node> chain)
    {
        int growth = 0;
        for (final Node reader : chain)
        {
            switch (reader.layer())
            {
                case Layer.AvgPool2d pool -> growth += poolScaleGrowth((long)pool.kernel() * pool.kernel());
                case Layer.GlobalAvgPool _ ->
                {
                    final Shape in = graph.shape(reader.input());
                    growth += poolScaleGrowth((long)in.dim(1) * in.dim(2));
                }
                default ->
                {
                }
            }
        }
        return growth;
    }

    /**
     * The highest output scale a public polynomial (real values up to {@code outBound}) can have so that its readers
     * need no truncation of their own: along its {@link #linearReaderChain} (pools adding {@code growth} bits),
     * every pool's output and the linear layer's output meet the budget. The extra bits buy precision for the copies
     * at no cost in rounds (engine-design.md §2).
     */
    private int readerLimitedScale(final double outBound, final int growth)
    {
        // Growth only accumulates, so the last pool's output is the tightest pool, at the same growth as the layer.
        return Math.min(truncatedReaderScale(outBound, growth), BUDGET_BITS - HEADROOM_BITS - boundBits(bound) -
            growth - f);
    }

    /**
     * The highest output scale a public polynomial whose real values reach {@code outBound} can have when its linear
     * reader truncates its input to f anyway: only the activation's output and the pools after it must meet the
     * budget.
     */
    private int truncatedReaderScale(final double outBound, final int growth)
    {
        return BUDGET_BITS - HEADROOM_BITS - boundBits(outBound) - growth;
    }

    /**
     * Per used power k, the most fractional bits {@code t_k} of its copy such that {@code coefficient_k x^k} is an
     * exact ring multiple at {@code outScale}: {@code k t_k + c_k <= outScale}, with {@code c_k} the bits the
     * coefficient (encoded at f) really needs, capped at the input's scale. Null if some power would keep fewer bits
     * than in the standard 3f layout: a saved truncation round is not worth a coarser copy, whose carries are what
     * the secure logits deviate by (engine-design.md §4).
     */
    private int[] copyScalesFor(final int outScale, final int inputScale, final long[] coefficient,
                                final boolean[] used, final int[] standard)
    {
        final int degree = coefficient.length - 1;
        final int[] t = new int[degree + 1];
        for (int k = 1; k <= degree; k++)
        {
            if (!used[k])
            {
                continue;
            }
            // enc_f(a_k) = m 2^tz with m odd: the coefficient needs f - tz fractional bits, not f.
            final int c = f - Long.numberOfTrailingZeros(coefficient[k]);
            t[k] = Math.min(inputScale, Math.floorDiv(outScale - c, k));
            if (t[k] < standard[k])
            {
                return null;
            }
        }
        return t;
    }

    /** The copies' scales of a 3f (public) or 2f (powers) output: power 1 up to 2f, else {@code f - s_k}. */
    private int[] defaultCopyScales(final int degree, final int inputScale)
    {
        final int[] t = new int[degree + 1];
        for (int k = 1; k <= degree; k++)
        {
            t[k] = copyScale(k, inputScale);
        }
        return t;
    }

    /** {@code max_c sum_k |a_k[c]| B^k}: the bound of a polynomial's output over [-B, B]. */
    private double polynomialBound(final double[][] a)
    {
        return polynomialBound(a, bound);
    }

    /** {@code max_c sum_k |a_k[c]| x^k}: the bound of a polynomial's output over [-x, x]. */
    private static double polynomialBound(final double[][] a, final double x)
    {
        double max = 0;
        for (final double[] channel : a)
        {
            double sum = 0;
            for (int k = 0; k < channel.length; k++)
            {
                sum += Math.abs(channel[k]) * Math.pow(x, k);
            }
            max = Math.max(max, sum);
        }
        return max;
    }

    private void channelActivation(final Node node, final Layer.ChannelPoly p)
    {
        final PlanTensor z = tensors.get(input(node));
        final int degree = p.degree();
        checkDegree(degree);
        final int channels = p.channels();
        final double[][] a = new double[channels][degree + 1];
        for (int c = 0; c < channels; c++)
        {
            for (int k = 0; k <= degree; k++)
            {
                a[c][k] = p.coefficient(c, k);
            }
        }
        final Node linear = foldTarget(node);
        if (linear != null)
        {
            final boolean ones = linear.layer() instanceof final Layer.Conv2d c && c.padding() > 0;
            values.put(node.name(), stackedPowers(node.name(), z, degree, ones));
            folds.put(linear.name(), new Fold(a, degree, channels, ones));
        }
        else if (fits(POLY_OUTPUT_FACTOR * f, polynomialBound(a)))
        {
            privateActivation(node, z, a);
        }
        else
        {
            splitActivation(node, z, a, true);
        }
    }

    /**
     * An activation step whose output stacks the aligned powers {@code x^1..x^d} of z (scale 2f) as d blocks of
     * channels, plus a channel of ones if asked; returns the output tensor.
     */
    private int stackedPowers(final String name, final PlanTensor z, final int degree, final boolean ones)
    {
        final int outScale = POWER_SCALE_FACTOR * f;
        final double outBound = Math.max(1, Math.pow(bound, degree));
        checkFits(outScale, outBound, "stacked powers");
        final boolean[] used = new boolean[degree + 1];
        Arrays.fill(used, 1, degree + 1, true);
        final Powers powers = powers(z, degree, used, defaultCopyScales(degree, z.scale()), POWER_SCALE_FACTOR * f);
        final long[] multipliers = new long[degree + 1];
        double err = 0;
        for (int k = 1; k <= degree; k++)
        {
            multipliers[k] = 1L << powers.align[k];
            err = Math.max(err, powerError(k, powers.delta[k]));
        }
        final int[] shape = z.shape();
        shape[0] = degree * shape[0] + (ones ? 1 : 0);
        final int out = newTensor(name, shape, outScale, outBound, err);
        addStep(powers.step(uniqueName(name), z, out, PlanStep.Activation.Kind.POWERS, f, outScale, multipliers, 0,
            ones));
        return out;
    }

    /**
     * A polynomial whose 3f output would break the budget, in two rounds: the stacked powers at 2f, truncated to f,
     * then a local {@link PlanStep.Combine} with the coefficients at f (output at 2f).
     */
    private void splitActivation(final Node node, final PlanTensor z, final double[][] a, final boolean isPrivate)
    {
        final int degree = a[0].length - 1;
        final int outScale = POWER_SCALE_FACTOR * f;
        final double outBound = polynomialBound(a);
        checkFits(outScale, outBound, "polynomial output");
        final int powers = truncateToF(stackedPowers(node.name(), z, degree, false));
        final int channels = z.shape()[0];
        final int mapSize = z.size() / channels;
        final long[] multipliers = new long[degree + 1];
        long constant = 0;
        final long[][] perChannel = new long[a.length][degree + 1];
        final long[] constants = new long[a.length];
        double err = 0;
        for (int c = 0; c < a.length; c++)
        {
            constants[c] = encode(a[c][0], outScale, (isPrivate ? "channel " + c + " " : "") + "coefficient 0");
            double channelErr = 0;
            for (int k = 1; k <= degree; k++)
            {
                perChannel[c][k] = encode(a[c][k], f, (isPrivate ? "channel " + c + " " : "") + "coefficient " + k);
                channelErr += Math.abs(Math.scalb((double)perChannel[c][k], -f)) * error(powers);
            }
            err = Math.max(err, channelErr);
        }
        if (!isPrivate)
        {
            System.arraycopy(perChannel[0], 0, multipliers, 0, degree + 1);
            constant = constants[0];
        }
        final int out = newTensor(node.name(), z.shape(), outScale, outBound, err);
        addStep(new PlanStep.Combine(uniqueName(node.name() + ".combine"), powers, out, degree, channels, mapSize,
            multipliers, constant, isPrivate));
        if (isPrivate)
        {
            privateMultipliers.set(steps.size() - 1, perChannel);
            privateConstants.set(steps.size() - 1, constants);
        }
        values.put(node.name(), out);
    }

    private void privateActivation(final Node node, final PlanTensor z, final double[][] a)
    {
        final int degree = a[0].length - 1;
        final int channels = a.length;
        final int outScale = POLY_OUTPUT_FACTOR * f;
        final long[][] coefficient = new long[channels][degree + 1];
        final boolean[] used = new boolean[degree + 1];
        for (int c = 0; c < channels; c++)
        {
            for (int k = 1; k <= degree; k++)
            {
                coefficient[c][k] = encode(a[c][k], f, "channel " + c + " coefficient " + k);
                used[k] |= coefficient[c][k] != 0;
            }
        }
        final double outBound = polynomialBound(a);
        final Powers powers = powers(z, degree, used, defaultCopyScales(degree, z.scale()), POWER_SCALE_FACTOR * f);
        final long[] multipliers = new long[degree + 1];
        final long[][] perChannel = new long[channels][degree + 1];
        final long[] constants = new long[channels];
        double err = 0;
        for (int c = 0; c < channels; c++)
        {
            constants[c] = encode(a[c][0], outScale, "channel " + c + " coefficient 0");
            double channelErr = 0;
            for (int k = 1; k <= degree; k++)
            {
                if (used[k])
                {
                    multipliers[k] = 1L << powers.align[k];
                    perChannel[c][k] = coefficient[c][k] << powers.align[k];
                    channelErr += Math.abs(Math.scalb((double)coefficient[c][k], -f)) *
                        powerError(k, powers.delta[k]);
                }
            }
            err = Math.max(err, channelErr);
        }
        final int out = newTensor(node.name(), z.shape(), outScale, outBound, err);
        addStep(powers.step(uniqueName(node.name()), z, out, PlanStep.Activation.Kind.PRIVATE, f, outScale,
            multipliers, 0, false));
        privateMultipliers.set(steps.size() - 1, perChannel);
        privateConstants.set(steps.size() - 1, constants);
        values.put(node.name(), out);
    }

    /** {@code |x^k - y^k| <= k (B + delta)^(k-1) delta} for copies within {@code delta} of each other. */
    private double powerError(final int k, final double delta)
    {
        return k * Math.pow(bound + delta, k - 1) * delta;
    }

    /**
     * The copies, sources, shifts and alignments of the used powers of z: power k from a copy at {@code copyScale[k]}
     * fractional bits, aligned to {@code alignTo} ({@code alignTo - k t_k}, negative only for a PUBLIC coefficient
     * with that many zero low bits).
     */
    private Powers powers(final PlanTensor z, final int degree, final boolean[] used, final int[] copyScale,
                          final int alignTo)
    {
        final int sz = z.scale();
        final int[] source = new int[degree + 1];
        final int[] shift = new int[degree + 1];
        final int[] align = new int[degree + 1];
        final double[] delta = new double[degree + 1];
        Arrays.fill(source, PlanStep.Activation.SKIPPED);
        // shift -> highest power, in increasing shift order (a canonical copy order)
        final TreeMap<Integer, Integer> copyDegree = new TreeMap<>();
        for (int k = 1; k <= degree; k++)
        {
            if (!used[k])
            {
                continue;
            }
            final int t = copyScale[k];
            shift[k] = sz - t;
            if (shift[k] < 0 || shift[k] > BUDGET_BITS)
            {
                throw new IllegalArgumentException("power " + k + " needs a shift of " + shift[k] + " from scale " +
                    sz + ", outside [0, " + BUDGET_BITS + "]");
            }
            align[k] = alignTo - k * t;
            copyDegree.merge(shift[k], k, Math::max);
            // The faithful copy is floor or floor + 1 of z / 2^shift: one unit of 2^-t, two once z itself is off.
            final double zErr = error(z.id());
            delta[k] = shift[k] == 0 ? zErr : zErr + (zErr > 0 ? 2 : 1) * Math.scalb(1.0, -t);
        }
        // A copy at shift 0 used only for power 1 is z itself: exact, so it needs no opening and no material.
        final boolean direct = copyDegree.containsKey(0) && copyDegree.get(0) == 1;
        if (direct)
        {
            copyDegree.remove(0);
        }
        final int[] shifts = new int[copyDegree.size()];
        final int[] degrees = new int[copyDegree.size()];
        int j = 0;
        for (final Map.Entry<Integer, Integer> e : copyDegree.entrySet())
        {
            shifts[j] = e.getKey();
            degrees[j] = e.getValue();
            j++;
        }
        for (int k = 1; k <= degree; k++)
        {
            if (used[k])
            {
                source[k] = direct && k == 1 ? PlanStep.Activation.DIRECT :
                    Arrays.binarySearch(shifts, shift[k]);
            }
        }
        return new Powers(degree, shifts, degrees, source, shift, align, delta);
    }

    /** The linear node a ChannelPoly's coefficients fold into: the end of its {@link #linearReaderChain}, or null. */
    private Node foldTarget(final Node activation)
    {
        final List<Node> chain = linearReaderChain(activation);
        return chain == null ? null : chain.getLast();
    }

    /**
     * The activation's only reader chain through average pools, flattens and identities, ending in the Conv2d or
     * Linear it feeds (the last element); null if the chain branches, ends in a graph output or meets any other
     * layer.
     */
    private List<Node> linearReaderChain(final Node activation)
    {
        final List<Node> chain = new ArrayList<>();
        String current = activation.name();
        while (true)
        {
            final List<Node> readers = graph.consumers(current);
            if (graph.outputs().contains(current) || readers.size() != 1)
            {
                return null;
            }
            final Node next = readers.getFirst();
            chain.add(next);
            switch (next.layer())
            {
                case Layer.AvgPool2d _, Layer.GlobalAvgPool _, Layer.Flatten _, Layer.Identity _ ->
                    current = next.name();
                case Layer.Conv2d _, Layer.Linear _ ->
                {
                    return chain;
                }
                default ->
                {
                    return null;
                }
            }
        }
    }

    // ---- tensors and truncations ----------------------------------------------------------------------------

    /** A truncation of tensor {@code id} to scale f (shared by every reader), or {@code id} if it is at f. */
    private int truncateToF(final int id)
    {
        final Integer cached = truncatedToF.get(id);
        if (cached != null)
        {
            return cached;
        }
        final PlanTensor t = tensors.get(id);
        final int shift = t.scale() - f;
        if (shift <= 0)
        {
            return id;
        }
        if (shift > BUDGET_BITS)
        {
            throw new IllegalArgumentException("tensor " + t.name() + " at scale " + t.scale() + " cannot be " +
                "truncated by " + shift + " bits");
        }
        final double e = error(id);
        final int out = newTensor(t.name() + ">>" + shift, t.shape(), f, t.bound(),
            e + (e > 0 ? 2 : 1) * Math.scalb(1.0, -f));
        addStep(new PlanStep.Truncate(uniqueName("trunc:" + t.name()), id, out, shift));
        truncatedToF.put(id, out);
        return out;
    }

    private int checkFits(final int scale, final double valueBound, final String what)
    {
        if (!fits(scale, valueBound))
        {
            throw new IllegalArgumentException(what + " at scale " + scale + " with real values up to " + valueBound +
                " needs " + (scale + boundBits(valueBound)) + " bits plus " + HEADROOM_BITS + " of headroom, more " +
                "than the " + BUDGET_BITS + "-bit budget, even from inputs at scale f = " + f + "; use fewer " +
                "fractional bits or a smaller activation bound");
        }
        return scale;
    }

    private int newTensor(final String name, final int[] shape, final int scale, final double valueBound,
                          final double err)
    {
        final int id = tensors.size();
        tensors.add(new PlanTensor(id, name, shape, scale, valueBound));
        errors.add(err);
        return id;
    }

    private void addStep(final PlanStep step)
    {
        steps.add(step);
        privateMultipliers.add(new long[0][]);
        privateConstants.add(new long[0]);
    }

    private double error(final int id)
    {
        return errors.get(id);
    }

    private int input(final Node node)
    {
        return values.get(node.input());
    }

    /** The node's name, made unique among steps and distinct from the fixed step names of {@link Plan}. */
    private String uniqueName(final String name)
    {
        String candidate = name;
        for (int i = 2; isTaken(candidate); i++)
        {
            candidate = name + "#" + i;
        }
        stepNames.add(candidate);
        return candidate;
    }

    private boolean isTaken(final String name)
    {
        return stepNames.contains(name) || name.equals(Plan.HANDSHAKE) || name.equals(Plan.SEEDS) ||
            name.equals(Plan.INPUT) || name.equals(Plan.OUTPUT);
    }

    private long encode(final double value, final int scale, final String what)
    {
        if (scale > FixedPoint.MAX_FRACTIONAL_BITS)
        {
            throw new IllegalArgumentException(what + " would need scale 2^" + scale + ", more than the ring allows");
        }
        FixedPoint codec = codecs[scale];
        if (codec == null)
        {
            codec = new FixedPoint(scale);
            codecs[scale] = codec;
        }
        try
        {
            return codec.encode(value);
        }
        catch (final ArithmeticException e)
        {
            throw new IllegalArgumentException(what + " = " + value + " does not fit the ring at scale 2^" + scale +
                ": " + e.getMessage(), e);
        }
    }

    private long[] encodeAll(final double[] v, final int scale, final String what)
    {
        final long[] out = new long[v.length];
        for (int i = 0; i < v.length; i++)
        {
            out[i] = encode(v[i], scale, what + " " + i);
        }
        return out;
    }

    /** The coefficients of a ChannelPoly waiting to be folded into its linear reader. */
    private record Fold(double[][] a, int degree, int channels, boolean ones)
    {
        double coefficient(final int channel, final int k)
        {
            return a[channel][k];
        }
    }

    /** The power layout of one activation, before the coefficients are applied. */
    private record Powers(int degree, int[] shifts, int[] degrees, int[] source, int[] shift, int[] align,
                          double[] delta)
    {
        PlanStep.Activation step(final String name, final PlanTensor z, final int out,
                                 final PlanStep.Activation.Kind kind, final int fractionalBits, final int outScale,
                                 final long[] multipliers, final long constant, final boolean ones)
        {
            final int channels = z.shape()[0];
            return new PlanStep.Activation(name, z.id(), out, kind, degree, channels, z.size() / channels,
                fractionalBits, z.scale(), outScale, shifts, degrees, source, shift, align, multipliers, constant,
                ones);
        }
    }
}
