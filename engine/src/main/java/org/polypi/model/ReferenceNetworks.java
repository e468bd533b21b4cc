package org.polypi.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Builders for the reference networks W1-W5 of {@code workloads.md}, with random weights from a seed.
 * <p>
 * Every activation site gets the layer chosen by {@link Options#activation()}; with {@link Options#batchNorm()} a
 * {@link Layer.BatchNorm} is placed after each convolution / hidden linear layer, i.e. before each activation (in
 * the ResNets also after each shortcut convolution and before each residual addition, as in the originals), ready
 * for {@link GraphTransforms#foldBatchNorm(ModelGraph)}. A layer followed by a BatchNorm has no bias.
 * <p>
 * Weights are Kaiming-uniform, {@code U(-g sqrt(3/fanIn), g sqrt(3/fanIn))}, with gains chosen so that every
 * activation input has a root mean square of about {@value #TARGET_RMS} for unit-variance network inputs: {@code g =
 * TARGET_RMS} for a layer reading the network input, and {@code g = TARGET_RMS / sqrt(E[act(TARGET_RMS z)^2])}, z
 * standard normal, for a layer reading an activation (for ReLU that is He's {@code sqrt 2}; for the polynomials the
 * Gaussian moments give it exactly). The last convolution of each residual branch is further scaled by
 * {@code sqrt(1 / (2 blocks))} and shortcut convolutions have gain 1 (Fixup-style), so the residual stream stays
 * bounded without BatchNorm statistics. The target leaves the tail of the activation inputs (about 5 RMS for the
 * largest layers) inside the default bound [-5, 5] where the polynomials are meant to be used. Biases are
 * {@code U(-b, b)} with {@code b = 0.1 / sqrt(fanIn)}. Random numbers come from {@link SplitMix64}, one stream per
 * tensor keyed by seed and tensor name, so the weights are identical on every machine and JDK.
 * <p>
 * Node names follow PyTorch's: {@code conv1}, {@code bn1}, {@code act1}, ... for W1-W3, and {@code stem.conv},
 * {@code layer2.0.conv1}, {@code layer2.0.shortcut.conv}, {@code layer2.0.add}, {@code fc} for the ResNets. The graph
 * input is {@code input}; the single output is the last linear layer.
 */
public final class ReferenceNetworks
{
    /**
     * Degree-2 least-squares fit of ReLU on [-5, 5] (continuous L2, Legendre projection):
     * {@code 15/32 + x/2 + 3/32 x^2}; all three coefficients are multiples of 2^-10 as PILLAR requires.
     */
    public static final Layer.Poly QUADRATIC_RELU_FIT = Layer.Poly.of(0.46875f, 0.5f, 0.09375f);
    /** PILLAR's released degree-4 polynomial: {@code (322 + 512 x + 160 x^2 - 3 x^4) / 1024} (seeds.md 2.2). */
    public static final Layer.Poly PILLAR_DEGREE4 = Layer.Poly.of(0.314453125f, 0.5f, 0.15625f, 0f, -0.0029296875f);
    /** Fashion-MNIST labels in class-index order. */
    public static final List<String> FASHION_MNIST_CLASSES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress",
        "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");
    /** CIFAR-10 labels in class-index order. */
    public static final List<String> CIFAR10_CLASSES = List.of("airplane", "automobile", "bird", "cat", "deer", "dog",
        "frog", "horse", "ship", "truck");
    /** Default recommended fractional bits (the seed's accuracy runs use f = 12). */
    public static final int DEFAULT_FRACTIONAL_BITS = 12;
    /** Default activation range bound (PILLAR's clip range). */
    public static final float DEFAULT_ACTIVATION_BOUND = 5.0f;
    /** Default fraction of masked-ReLU positions that keep their ReLU. */
    public static final double DEFAULT_MASK_KEEP_FRACTION = 0.5;
    /** Name of the graph input of every reference network. */
    public static final String INPUT = "input";

    /** Root mean square the random weights aim for at every activation input (see the class comment). */
    public static final double TARGET_RMS = 0.7;

    private static final int IMAGENET_CLASSES = 1000;
    /** Biases are small so that they do not shift the activation inputs much: bound BIAS_SCALE / sqrt(fanIn). */
    private static final double BIAS_SCALE = 0.1;
    private static final float BN_EPS = 1e-5f;
    /** BatchNorm parameters are drawn near the identity: gamma, var in [1-d, 1+d], beta, mean in [-d', d']. */
    private static final float BN_SCALE_SPREAD = 0.1f;
    private static final float BN_SHIFT_SPREAD = 0.05f;
    /** Channel-poly coefficients: those of {@link #QUADRATIC_RELU_FIT}, each scaled per channel by 1 +- this. */
    private static final float CHANNEL_POLY_SPREAD = 0.2f;

    private ReferenceNetworks()
    {
    }

    /** The reference networks, by their {@code workloads.md} names. */
    public enum Workload
    {
        /** W1: fc 784-128, act, fc 128-128, act, fc 128-10 on 1x28x28. */
        MLP("mlp"),
        /** W2: LeNet-5-like on 1x28x28. */
        LENET("lenet"),
        /** W3: the MiniONN CIFAR-10 network on 3x32x32. */
        MINIONN("minionn"),
        /** W3 for Fashion-MNIST: 1x32x32 input (the 28x28 image zero-padded by 2 on each side). */
        MINIONN_FASHION("minionn-fmnist"),
        /** W4: CIFAR ResNet-18 on 3x32x32. */
        RESNET18("resnet18"),
        /** W5: ImageNet ResNet-50 on 3x224x224. */
        RESNET50("resnet50");

        private final String id;

        Workload(final String id)
        {
            this.id = id;
        }

        /** The name used in workloads.md, result tables and model headers. */
        public String id()
        {
            return id;
        }

        /**
         * The workload called {@code id} (case-insensitive).
         *
         * @throws IllegalArgumentException if there is none.
         */
        public static Workload byId(final String id)
        {
            for (final Workload w : values())
            {
                if (w.id.equals(id.toLowerCase(Locale.ROOT)))
                {
                    return w;
                }
            }
            throw new IllegalArgumentException("unknown workload " + id + "; known: mlp, lenet, minionn, " +
                "minionn-fmnist, resnet18, resnet50");
        }
    }

    /**
     * How to build a reference network.
     *
     * @param activation the layer at every activation site.
     * @param batchNorm whether to put a BatchNorm before each activation.
     * @param seed seed of all random weights, coefficients and masks.
     * @param poly the polynomial of {@link ActivationKind#POLY}.
     * @param maskKeepFraction for {@link ActivationKind#MASKED_RELU}: probability that a position keeps its ReLU.
     * @param fractionalBits recommended fixed-point fractional bits written into the header.
     * @param activationBound activation input bound written into the header.
     */
    public record Options(ActivationKind activation, boolean batchNorm, long seed, Layer.Poly poly,
                          double maskKeepFraction, int fractionalBits, float activationBound)
    {
        /** Checks the fields. */
        public Options
        {
            Objects.requireNonNull(activation, "activation");
            Objects.requireNonNull(poly, "poly");
            if (!(maskKeepFraction >= 0 && maskKeepFraction <= 1))
            {
                throw new IllegalArgumentException("maskKeepFraction must be in [0, 1], was " + maskKeepFraction);
            }
        }

        /**
         * Defaults: no BatchNorm, seed 1, {@link ReferenceNetworks#QUADRATIC_RELU_FIT}, keep fraction
         * {@value ReferenceNetworks#DEFAULT_MASK_KEEP_FRACTION},
         * {@value ReferenceNetworks#DEFAULT_FRACTIONAL_BITS} fractional bits, bound
         * {@value ReferenceNetworks#DEFAULT_ACTIVATION_BOUND}.
         */
        public static Options of(final ActivationKind activation)
        {
            return new Options(activation, false, 1, QUADRATIC_RELU_FIT, DEFAULT_MASK_KEEP_FRACTION,
                DEFAULT_FRACTIONAL_BITS, DEFAULT_ACTIVATION_BOUND);
        }

        /** A copy with BatchNorm on or off. */
        public Options withBatchNorm(final boolean on)
        {
            return new Options(activation, on, seed, poly, maskKeepFraction, fractionalBits, activationBound);
        }

        /** A copy with another seed. */
        public Options withSeed(final long newSeed)
        {
            return new Options(activation, batchNorm, newSeed, poly, maskKeepFraction, fractionalBits,
                activationBound);
        }

        /** A copy with another polynomial for {@link ActivationKind#POLY}. */
        public Options withPoly(final Layer.Poly newPoly)
        {
            return new Options(activation, batchNorm, seed, newPoly, maskKeepFraction, fractionalBits,
                activationBound);
        }

        /** A copy with another masked-ReLU keep fraction. */
        public Options withMaskKeepFraction(final double fraction)
        {
            return new Options(activation, batchNorm, seed, poly, fraction, fractionalBits, activationBound);
        }

        /** A copy with other header values. */
        public Options withFixedPoint(final int bits, final float bound)
        {
            return new Options(activation, batchNorm, seed, poly, maskKeepFraction, bits, bound);
        }
    }

    /** Builds {@code workload} with {@code options}. */
    public static ModelGraph build(final Workload workload, final Options options)
    {
        return switch (workload)
        {
            case MLP -> mlp(options);
            case LENET -> lenet(options);
            case MINIONN -> minionn(options);
            case MINIONN_FASHION -> minionnFashion(options);
            case RESNET18 -> resnet18(options);
            case RESNET50 -> resnet50(options);
        };
    }

    /** W1 {@code mlp}: flatten 1x28x28, fc 784-128, act, fc 128-128, act, fc 128-10. */
    public static ModelGraph mlp(final Options o)
    {
        final Net n = new Net(o, "mlp", Shape.of(1, 28, 28), FASHION_MNIST_CLASSES, 1);
        String x = n.add("flatten", new Layer.Flatten(), INPUT);
        x = n.linearAct("1", x, 128);
        x = n.linearAct("2", x, 128);
        return n.finish(n.linear("fc3", x, FASHION_MNIST_CLASSES.size(), 1.0, true));
    }

    /**
     * W2 {@code lenet}: conv 1-20 5x5, act, avgpool 2, conv 20-50 5x5, act, avgpool 2, fc 800-500, act, fc 500-10
     * (no padding).
     */
    public static ModelGraph lenet(final Options o)
    {
        final Net n = new Net(o, "lenet", Shape.of(1, 28, 28), FASHION_MNIST_CLASSES, 1);
        String x = n.convAct("1", INPUT, 20, 5, 1, 0);
        x = n.add("pool1", new Layer.AvgPool2d(2, 2), x);
        x = n.convAct("2", x, 50, 5, 1, 0);
        x = n.add("pool2", new Layer.AvgPool2d(2, 2), x);
        x = n.add("flatten", new Layer.Flatten(), x);
        x = n.linearAct("3", x, 500);
        return n.finish(n.linear("fc4", x, FASHION_MNIST_CLASSES.size(), 1.0, true));
    }

    /** W3 {@code minionn} for CIFAR-10 (3x32x32 input). */
    public static ModelGraph minionn(final Options o)
    {
        return minionn(o, "minionn", Shape.of(3, 32, 32), CIFAR10_CLASSES);
    }

    /** W3 {@code minionn-fmnist}: the same network on 1x32x32 (Fashion-MNIST zero-padded by 2 on each side). */
    public static ModelGraph minionnFashion(final Options o)
    {
        return minionn(o, "minionn-fmnist", Shape.of(1, 32, 32), FASHION_MNIST_CLASSES);
    }

    /**
     * conv 3x3 64 pad 1, act, conv 3x3 64 pad 1, act, avgpool 2, conv 3x3 64 pad 1, act, conv 3x3 64 pad 1, act,
     * avgpool 2, conv 3x3 64 pad 1, act, conv 1x1 64, act, conv 1x1 16, act, fc 1024-10. Every 3x3 convolution is
     * padded by 1: that is what makes the fc input 16x8x8 = 1024 and the totals 61.1 M / 173,056.
     */
    private static ModelGraph minionn(final Options o, final String arch, final Shape input,
                                      final List<String> classes)
    {
        final Net n = new Net(o, arch, input, classes, 1);
        String x = n.convAct("1", INPUT, 64, 3, 1, 1);
        x = n.convAct("2", x, 64, 3, 1, 1);
        x = n.add("pool1", new Layer.AvgPool2d(2, 2), x);
        x = n.convAct("3", x, 64, 3, 1, 1);
        x = n.convAct("4", x, 64, 3, 1, 1);
        x = n.add("pool2", new Layer.AvgPool2d(2, 2), x);
        x = n.convAct("5", x, 64, 3, 1, 1);
        x = n.convAct("6", x, 64, 1, 1, 0);
        x = n.convAct("7", x, 16, 1, 1, 0);
        x = n.add("flatten", new Layer.Flatten(), x);
        return n.finish(n.linear("fc8", x, classes.size(), 1.0, true));
    }

    /**
     * W4 {@code resnet18}, the CIFAR variant: 3x3 stem with 64 channels (stride 1, no max-pool), 4 stages of 2 basic
     * blocks with 64, 128, 256, 512 channels, stride 2 at the first block of stages 2-4 with a 1x1 stride-2
     * convolution on the shortcut, global average pool, fc 512-10.
     */
    public static ModelGraph resnet18(final Options o)
    {
        final int[] widths = {64, 128, 256, 512};
        final int blocks = 2;
        final Net n = new Net(o, "resnet18", Shape.of(3, 32, 32), CIFAR10_CLASSES, widths.length * blocks);
        String x = n.convBnAct("stem", INPUT, 64, 3, 1, 1);
        for (int s = 0; s < widths.length; s++)
        {
            for (int b = 0; b < blocks; b++)
            {
                x = basicBlock(n, "layer" + (s + 1) + "." + b, x, widths[s], s > 0 && b == 0 ? 2 : 1);
            }
        }
        x = n.add("pool", new Layer.GlobalAvgPool(), x);
        x = n.add("flatten", new Layer.Flatten(), x);
        return n.finish(n.linear("fc", x, CIFAR10_CLASSES.size(), 1.0, true));
    }

    /**
     * W5 {@code resnet50}, torchvision's ImageNet ResNet-50 (v1.5: stride on the 3x3 convolution): 7x7/2 stem with
     * 64 channels, 3x3/2 max-pool (padding 1; needs comparisons in MPC whatever the activation kind), bottleneck
     * stages of 3, 4, 6, 3 blocks (width 64, 128, 256, 512, expansion 4), global average pool, fc 2048-1000.
     */
    public static ModelGraph resnet50(final Options o)
    {
        final int[] widths = {64, 128, 256, 512};
        final int[] blocks = {3, 4, 6, 3};
        final List<String> classes = new ArrayList<>(IMAGENET_CLASSES);
        for (int i = 0; i < IMAGENET_CLASSES; i++)
        {
            classes.add(String.format(Locale.ROOT, "class%03d", i));
        }
        final Net n = new Net(o, "resnet50", Shape.of(3, 224, 224), classes, 16);
        String x = n.convBnAct("stem", INPUT, 64, 7, 2, 3);
        x = n.add("maxpool", new Layer.MaxPool2d(3, 2, 1), x);
        for (int s = 0; s < widths.length; s++)
        {
            for (int b = 0; b < blocks[s]; b++)
            {
                x = bottleneck(n, "layer" + (s + 1) + "." + b, x, widths[s], s > 0 && b == 0 ? 2 : 1);
            }
        }
        x = n.add("pool", new Layer.GlobalAvgPool(), x);
        x = n.add("flatten", new Layer.Flatten(), x);
        return n.finish(n.linear("fc", x, IMAGENET_CLASSES, 1.0, true));
    }

    private static String basicBlock(final Net n, final String p, final String in, final int width, final int stride)
    {
        String x = n.convBnAct(p + ".", in, width, 3, stride, 1, "1");
        x = n.convBn(p + ".conv2", p + ".bn2", x, width, 3, 1, 1, n.gain * n.residualScale);
        final String shortcut = shortcut(n, p, in, width, stride);
        x = n.add(p + ".add", new Layer.Add(), x, shortcut);
        return n.act(p + ".act2", x);
    }

    private static String bottleneck(final Net n, final String p, final String in, final int width, final int stride)
    {
        final int expansion = 4;
        String x = n.convBnAct(p + ".", in, width, 1, 1, 0, "1");
        x = n.convBnAct(p + ".", x, width, 3, stride, 1, "2");
        x = n.convBn(p + ".conv3", p + ".bn3", x, width * expansion, 1, 1, 0, n.gain * n.residualScale);
        final String shortcut = shortcut(n, p, in, width * expansion, stride);
        x = n.add(p + ".add", new Layer.Add(), x, shortcut);
        return n.act(p + ".act3", x);
    }

    private static String shortcut(final Net n, final String p, final String in, final int width, final int stride)
    {
        if (stride == 1 && n.builder.shapeOf(in).dim(0) == width)
        {
            return in;
        }
        // gain 1: the stream's second moment passes through unchanged (its values are not zero-mean Gaussians)
        return n.convBn(p + ".shortcut.conv", p + ".shortcut.bn", in, width, 1, stride, 0, 1.0);
    }

    /** Network under construction: the builder plus the options and the per-kind gain. */
    private static final class Net
    {
        final Options options;
        final ModelGraph.Builder builder;
        final double gain;
        final double residualScale;

        Net(final Options options, final String arch, final Shape input, final List<String> classes,
            final int residualBlocks)
        {
            this.options = options;
            this.builder = ModelGraph.builder(new ModelHeader(arch, input, classes, options.fractionalBits(),
                options.activationBound())).input(INPUT, input);
            this.gain = TARGET_RMS / Math.sqrt(secondMoment(options, TARGET_RMS));
            this.residualScale = Math.sqrt(0.5 / residualBlocks);
        }

        /** {@code E[act(sigma z)^2]} for a standard normal z and the options' activation kind. */
        private static double secondMoment(final Options o, final double sigma)
        {
            final double v = sigma * sigma;
            return switch (o.activation())
            {
                case RELU -> v / 2;
                // ReLU on a fraction p of the positions, identity on the rest
                case MASKED_RELU -> v * (1 - o.maskKeepFraction() / 2);
                case IDENTITY -> v;
                case POLY -> polySecondMoment(o.poly(), sigma);
                // channel polynomials are spread around the quadratic fit
                case CHANNEL_POLY -> polySecondMoment(QUADRATIC_RELU_FIT, sigma);
            };
        }

        /**
         * {@code E[q(sigma z)^2] = sum_ij a_i a_j sigma^(i+j) E[z^(i+j)]}, with {@code E[z^n] = (n-1)!!} for even n.
         */
        private static double polySecondMoment(final Layer.Poly q, final double sigma)
        {
            double m = 0;
            for (int i = 0; i <= q.degree(); i++)
            {
                for (int j = 0; j <= q.degree(); j++)
                {
                    final int n = i + j;
                    if (n % 2 == 0)
                    {
                        // products only (no Math.pow, which may differ by an ulp between platforms): the weights
                        // derived from this gain must be bit-identical everywhere
                        double moment = 1;
                        for (int k = n - 1; k > 1; k -= 2)
                        {
                            moment *= k;
                        }
                        for (int k = 0; k < n; k++)
                        {
                            moment *= sigma;
                        }
                        m += (double)q.coefficient(i) * q.coefficient(j) * moment;
                    }
                }
            }
            if (!(m > 0) || Double.isInfinite(m))
            {
                throw new IllegalArgumentException("polynomial " + q.describe() + " has no usable second moment");
            }
            return m;
        }

        /** Gain of a layer reading {@code in}: the network input is assumed normalised to unit variance. */
        double gainFor(final String in)
        {
            return INPUT.equals(in) ? TARGET_RMS : gain;
        }

        String add(final String name, final Layer layer, final String... inputs)
        {
            builder.add(name, layer, inputs);
            return name;
        }

        ModelGraph finish(final String output)
        {
            return builder.output(output).build();
        }

        /** fc{suffix} (bias unless BatchNorm follows), [bn{suffix}], act{suffix}. */
        String linearAct(final String suffix, final String in, final int out)
        {
            String x = linear("fc" + suffix, in, out, gainFor(in), !options.batchNorm());
            if (options.batchNorm())
            {
                x = batchNorm("bn" + suffix, x);
            }
            return act("act" + suffix, x);
        }

        /** conv{suffix} (bias unless BatchNorm follows), [bn{suffix}], act{suffix}. */
        String convAct(final String suffix, final String in, final int out, final int k, final int stride,
                       final int pad)
        {
            return convBnAct("", in, out, k, stride, pad, suffix);
        }

        /** {prefix}conv, [{prefix}bn], {prefix}act: the ResNet stem. */
        String convBnAct(final String prefix, final String in, final int out, final int k, final int stride,
                         final int pad)
        {
            return convBnAct(prefix + ".", in, out, k, stride, pad, "");
        }

        /** {prefix}conv{suffix}, [{prefix}bn{suffix}], {prefix}act{suffix}. */
        String convBnAct(final String prefix, final String in, final int out, final int k, final int stride,
                         final int pad, final String suffix)
        {
            final String x = convBn(prefix + "conv" + suffix, prefix + "bn" + suffix, in, out, k, stride, pad,
                gainFor(in));
            return act(prefix + "act" + suffix, x);
        }

        /** A convolution followed by a BatchNorm if the options ask for one; returns the last node's name. */
        String convBn(final String convName, final String bnName, final String in, final int out, final int k,
                      final int stride, final int pad, final double g)
        {
            final int inChannels = builder.shapeOf(in).dim(0);
            final int fanIn = inChannels * k * k;
            final Tensor w = kaiming(convName + ".weight", Shape.of(out, inChannels, k, k), fanIn, g);
            final Tensor b = options.batchNorm() ? null : bias(convName + ".bias", out, fanIn);
            String x = add(convName, new Layer.Conv2d(inChannels, out, k, k, stride, pad, w, b), in);
            if (options.batchNorm())
            {
                x = batchNorm(bnName, x);
            }
            return x;
        }

        String linear(final String name, final String in, final int out, final double g, final boolean withBias)
        {
            final int fanIn = builder.shapeOf(in).dim(0);
            final Tensor w = kaiming(name + ".weight", Shape.of(out, fanIn), fanIn, g);
            return add(name, new Layer.Linear(fanIn, out, w, withBias ? bias(name + ".bias", out, fanIn) : null), in);
        }

        String batchNorm(final String name, final String in)
        {
            final int c = builder.shapeOf(in).dim(0);
            final Tensor gamma = uniform(name + ".weight", Shape.of(c), 1 - BN_SCALE_SPREAD, 1 + BN_SCALE_SPREAD);
            final Tensor beta = uniform(name + ".bias", Shape.of(c), -BN_SHIFT_SPREAD, BN_SHIFT_SPREAD);
            final Tensor mean = uniform(name + ".running_mean", Shape.of(c), -BN_SHIFT_SPREAD, BN_SHIFT_SPREAD);
            final Tensor var = uniform(name + ".running_var", Shape.of(c), 1 - BN_SCALE_SPREAD, 1 + BN_SCALE_SPREAD);
            return add(name, new Layer.BatchNorm(gamma, beta, mean, var, BN_EPS), in);
        }

        /** The activation layer of the chosen kind for the site {@code name}. */
        String act(final String name, final String in)
        {
            final Shape s = builder.shapeOf(in);
            final Layer layer = switch (options.activation())
            {
                case RELU -> new Layer.ReLU();
                case POLY -> options.poly();
                case CHANNEL_POLY -> channelPoly(name, s.dim(0));
                case MASKED_RELU -> mask(name, s);
                case IDENTITY -> new Layer.Identity();
            };
            return add(name, layer, in);
        }

        /**
         * Per channel, the coefficients of {@link #QUADRATIC_RELU_FIT} each scaled by a factor in [0.8, 1.2]: a
         * private quadratic per channel as HerPN folds to. (The folded HerPN of a unit Gaussian, {@code a0 = -a2},
         * has zero mean and makes a deep random network's second moment unstable; a ReLU-like quadratic does not.)
         */
        private Layer.ChannelPoly channelPoly(final String name, final int channels)
        {
            final SplitMix64 r = SplitMix64.stream(options.seed(), name + ".coefficients");
            final int terms = QUADRATIC_RELU_FIT.degree() + 1;
            final float[] c = new float[channels * terms];
            for (int i = 0; i < c.length; i++)
            {
                c[i] = QUADRATIC_RELU_FIT.coefficient(i % terms) *
                    r.uniform(1 - CHANNEL_POLY_SPREAD, 1 + CHANNEL_POLY_SPREAD);
            }
            return new Layer.ChannelPoly(Tensor.wrap(Shape.of(channels, terms), c));
        }

        private Layer.MaskedReLU mask(final String name, final Shape s)
        {
            final SplitMix64 r = SplitMix64.stream(options.seed(), name + ".mask");
            final float keep = (float)options.maskKeepFraction();
            final float[] m = new float[s.size()];
            for (int i = 0; i < m.length; i++)
            {
                m[i] = r.nextFloat() < keep ? 1.0f : 0.0f;
            }
            return new Layer.MaskedReLU(Tensor.wrap(s, m));
        }

        private Tensor kaiming(final String name, final Shape s, final int fanIn, final double g)
        {
            final float bound = (float)(g * Math.sqrt(3.0 / fanIn));
            return uniform(name, s, -bound, bound);
        }

        private Tensor bias(final String name, final int out, final int fanIn)
        {
            final float bound = (float)(BIAS_SCALE / Math.sqrt(fanIn));
            return uniform(name, Shape.of(out), -bound, bound);
        }

        private Tensor uniform(final String name, final Shape s, final float lo, final float hi)
        {
            final SplitMix64 r = SplitMix64.stream(options.seed(), name);
            final float[] v = new float[s.size()];
            for (int i = 0; i < v.length; i++)
            {
                v[i] = r.uniform(lo, hi);
            }
            return Tensor.wrap(s, v);
        }
    }
}
