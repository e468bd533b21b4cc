package org.polypi.model;

import java.util.List;
import java.util.Objects;

/**
 * One operation of a {@link ModelGraph}. Every layer is an immutable record; an interpreter walks
 * {@link ModelGraph#nodes()} and switches over the permitted records:
 * <pre>{@code
 * switch (node.layer())
 * {
 *     case Layer.Conv2d c -> ...
 *     case Layer.Poly p -> ...
 *     ...
 * }
 * }</pre>
 * Tensors flow in NCHW layout; shapes here are per batch item ({@code [C,H,W]} or {@code [F]}).
 * Constructors validate their own parameters (tensor shapes against hyper-parameters); shapes of the inputs are
 * checked by {@link #outputShape(List)}, which the graph builder calls for every node.
 */
public sealed interface Layer
{
    /** Largest polynomial degree accepted by {@link Poly} and {@link ChannelPoly}. */
    int MAX_POLY_DEGREE = 16;

    /** A short description for error messages, e.g. {@code Linear 800->500} or {@code Conv2d 3->64 3x3/1 pad 1}. */
    String describe();

    /** Number of inputs: 2 for {@link Add}, 1 for every other layer. */
    default int arity()
    {
        return 1;
    }

    /**
     * The output shape for the given input shapes ({@link #arity()} of them).
     *
     * @throws IllegalArgumentException if the inputs do not fit this layer; the message names both shapes but not
     *     the node (the graph builder prefixes the node name and {@link #describe()}).
     */
    Shape outputShape(List<Shape> inputs);

    /** Multiply-adds for one batch item (only {@link Conv2d} and {@link Linear} count). */
    default long multiplyAdds(final List<Shape> inputs, final Shape output)
    {
        return 0;
    }

    /**
     * True for activation sites: {@link ReLU}, {@link Poly}, {@link ChannelPoly}, {@link MaskedReLU} and
     * {@link Identity} (an identity activation still marks the site where the other kinds would go).
     */
    default boolean isActivation()
    {
        return false;
    }

    /** The layer's tensors in canonical (serialization) order; empty for parameter-free layers. */
    default List<Tensor> tensors()
    {
        return List.of();
    }

    /** Total elements of {@link #tensors()}. */
    default long parameterCount()
    {
        long n = 0;
        for (final Tensor t : tensors())
        {
            n += t.size();
        }
        return n;
    }

    /**
     * 2-D convolution, groups 1, square stride, symmetric zero padding.
     *
     * @param weights {@code [outChannels, inChannels, kernelHeight, kernelWidth]}.
     * @param bias {@code [outChannels]} or {@code null} for none.
     */
    record Conv2d(int inChannels, int outChannels, int kernelHeight, int kernelWidth, int stride, int padding,
                  Tensor weights, Tensor bias) implements Layer
    {
        /** Checks the hyper-parameters and the tensor shapes against them. */
        public Conv2d
        {
            positive("inChannels", inChannels);
            positive("outChannels", outChannels);
            positive("kernelHeight", kernelHeight);
            positive("kernelWidth", kernelWidth);
            positive("stride", stride);
            nonNegative("padding", padding);
            expectShape("Conv2d weights", weights, Shape.of(outChannels, inChannels, kernelHeight, kernelWidth));
            if (bias != null)
            {
                expectShape("Conv2d bias", bias, Shape.of(outChannels));
            }
        }

        /** A convolution whose channel and kernel sizes are taken from {@code weights} {@code [out,in,kh,kw]}. */
        public static Conv2d of(final Tensor weights, final Tensor bias, final int stride, final int padding)
        {
            final Shape s = weights.shape();
            if (s.rank() != 4)
            {
                throw new IllegalArgumentException("Conv2d weights must be [out,in,kh,kw], was " + s);
            }
            return new Conv2d(s.dim(1), s.dim(0), s.dim(2), s.dim(3), stride, padding, weights, bias);
        }

        /** True if the convolution has a bias. */
        public boolean hasBias()
        {
            return bias != null;
        }

        @Override
        public String describe()
        {
            return "Conv2d " + inChannels + "->" + outChannels + " " + kernelHeight + "x" + kernelWidth + "/" + stride +
                " pad " + padding;
        }

        @Override
        public Shape outputShape(final List<Shape> inputs)
        {
            final Shape in = featureMap(inputs.getFirst());
            if (in.dim(0) != inChannels)
            {
                throw new IllegalArgumentException("input shape " + in + " has " + in.dim(0) + " channels, expected " +
                    inChannels);
            }
            // long: a padding read from a hostile file must not wrap around
            final long h = in.dim(1) + 2L * padding - kernelHeight;
            final long w = in.dim(2) + 2L * padding - kernelWidth;
            if (h < 0 || w < 0)
            {
                throw new IllegalArgumentException("input shape " + in + " padded by " + padding +
                    " is smaller than the kernel " + kernelHeight + "x" + kernelWidth);
            }
            return Shape.of(outChannels, outDim(h, stride), outDim(w, stride));
        }

        @Override
        public long multiplyAdds(final List<Shape> inputs, final Shape output)
        {
            return output.elements() * inChannels * kernelHeight * kernelWidth;
        }

        @Override
        public List<Tensor> tensors()
        {
            return bias == null ? List.of(weights) : List.of(weights, bias);
        }
    }

    /**
     * Fully connected layer {@code y = W x + b} on a flat {@code [inFeatures]} input.
     *
     * @param weights {@code [outFeatures, inFeatures]}.
     * @param bias {@code [outFeatures]} or {@code null} for none.
     */
    record Linear(int inFeatures, int outFeatures, Tensor weights, Tensor bias) implements Layer
    {
        /** Checks the sizes and the tensor shapes against them. */
        public Linear
        {
            positive("inFeatures", inFeatures);
            positive("outFeatures", outFeatures);
            expectShape("Linear weights", weights, Shape.of(outFeatures, inFeatures));
            if (bias != null)
            {
                expectShape("Linear bias", bias, Shape.of(outFeatures));
            }
        }

        /** A linear layer whose sizes are taken from {@code weights} {@code [out,in]}. */
        public static Linear of(final Tensor weights, final Tensor bias)
        {
            final Shape s = weights.shape();
            if (s.rank() != 2)
            {
                throw new IllegalArgumentException("Linear weights must be [out,in], was " + s);
            }
            return new Linear(s.dim(1), s.dim(0), weights, bias);
        }

        /** True if the layer has a bias. */
        public boolean hasBias()
        {
            return bias != null;
        }

        @Override
        public String describe()
        {
            return "Linear " + inFeatures + "->" + outFeatures;
        }

        @Override
        public Shape outputShape(final List<Shape> inputs)
        {
            final Shape in = inputs.getFirst();
            if (!in.isVector())
            {
                throw new IllegalArgumentException("input shape " + in + " has " + in.elements() +
                    " elements but is not flat; Linear needs [" + inFeatures + "] (insert a Flatten)");
            }
            if (in.dim(0) != inFeatures)
            {
                throw new IllegalArgumentException("input shape " + in + " does not match the expected [" +
                    inFeatures + "]");
            }
            return Shape.of(outFeatures);
        }

        @Override
        public long multiplyAdds(final List<Shape> inputs, final Shape output)
        {
            return (long)inFeatures * outFeatures;
        }

        @Override
        public List<Tensor> tensors()
        {
            return bias == null ? List.of(weights) : List.of(weights, bias);
        }
    }

    /** Average pooling, no padding (windows that do not fit are dropped, as PyTorch's floor mode). */
    record AvgPool2d(int kernel, int stride) implements Layer
    {
        /** Checks kernel and stride. */
        public AvgPool2d
        {
            positive("kernel", kernel);
            positive("stride", stride);
        }

        @Override
        public String describe()
        {
            return "AvgPool2d " + kernel + "/" + stride;
        }

        @Override
        public Shape outputShape(final List<Shape> inputs)
        {
            return pool(featureMap(inputs.getFirst()), kernel, stride, 0);
        }
    }

    /**
     * Max pooling with symmetric padding; padded positions never win (they act as minus infinity, as in PyTorch).
     * In MPC this needs comparisons, like ReLU.
     */
    record MaxPool2d(int kernel, int stride, int padding) implements Layer
    {
        /** Checks kernel, stride and padding (at most half the kernel, as PyTorch requires). */
        public MaxPool2d
        {
            positive("kernel", kernel);
            positive("stride", stride);
            nonNegative("padding", padding);
            if (2 * padding > kernel)
            {
                throw new IllegalArgumentException("MaxPool2d padding " + padding + " exceeds half the kernel " +
                    kernel);
            }
        }

        @Override
        public String describe()
        {
            return "MaxPool2d " + kernel + "/" + stride + " pad " + padding;
        }

        @Override
        public Shape outputShape(final List<Shape> inputs)
        {
            return pool(featureMap(inputs.getFirst()), kernel, stride, padding);
        }
    }

    /** Mean over H and W: {@code [C,H,W] -> [C,1,1]}. */
    record GlobalAvgPool() implements Layer
    {
        @Override
        public String describe()
        {
            return "GlobalAvgPool";
        }

        @Override
        public Shape outputShape(final List<Shape> inputs)
        {
            return Shape.of(featureMap(inputs.getFirst()).dim(0), 1, 1);
        }
    }

    /**
     * Inference-mode batch normalisation over the channel dimension (dimension 0 of {@code [C,H,W]} or
     * {@code [F]}): {@code y = gamma * (x - mean) / sqrt(var + eps) + beta}. Kept for training; exported models fold
     * it into the preceding linear layer ({@link GraphTransforms#foldBatchNorm(ModelGraph)}).
     */
    record BatchNorm(Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float eps) implements Layer
    {
        /** Checks that the four tensors are {@code [C]} and eps is finite and non-negative. */
        public BatchNorm
        {
            Objects.requireNonNull(gamma, "gamma");
            final Shape c = gamma.shape();
            if (!c.isVector())
            {
                throw new IllegalArgumentException("BatchNorm gamma must be [C], was " + c);
            }
            expectShape("BatchNorm beta", beta, c);
            expectShape("BatchNorm runningMean", runningMean, c);
            expectShape("BatchNorm runningVar", runningVar, c);
            if (!(eps >= 0) || Float.isInfinite(eps))
            {
                throw new IllegalArgumentException("BatchNorm eps must be finite and >= 0, was " + eps);
            }
        }

        /** Number of channels. */
        public int channels()
        {
            return gamma.size();
        }

        @Override
        public String describe()
        {
            return "BatchNorm " + channels();
        }

        @Override
        public Shape outputShape(final List<Shape> inputs)
        {
            return channelwise(inputs.getFirst(), channels());
        }

        @Override
        public List<Tensor> tensors()
        {
            return List.of(gamma, beta, runningMean, runningVar);
        }
    }

    /** Element-wise sum of two tensors of equal shape (residual connection). */
    record Add() implements Layer
    {
        @Override
        public String describe()
        {
            return "Add";
        }

        @Override
        public int arity()
        {
            return 2;
        }

        @Override
        public Shape outputShape(final List<Shape> inputs)
        {
            final Shape a = inputs.get(0);
            final Shape b = inputs.get(1);
            if (!a.equals(b))
            {
                throw new IllegalArgumentException("shapes " + a + " and " + b + " differ");
            }
            return a;
        }
    }

    /** Row-major flattening of any shape to {@code [elements]}. */
    record Flatten() implements Layer
    {
        @Override
        public String describe()
        {
            return "Flatten";
        }

        @Override
        public Shape outputShape(final List<Shape> inputs)
        {
            return Shape.of(inputs.getFirst().size());
        }
    }

    /** {@code max(x, 0)}: needs a comparison per element in MPC. */
    record ReLU() implements Layer
    {
        @Override
        public String describe()
        {
            return "ReLU";
        }

        @Override
        public Shape outputShape(final List<Shape> inputs)
        {
            return inputs.getFirst();
        }

        @Override
        public boolean isActivation()
        {
            return true;
        }
    }

    /**
     * A public polynomial {@code a_0 + a_1 x + ... + a_d x^d}, the same for every element of the layer (PILLAR).
     *
     * @param coefficients {@code [d+1]}, lowest power first; {@code 1 <= d <= MAX_POLY_DEGREE}.
     */
    record Poly(Tensor coefficients) implements Layer
    {
        /** Checks the coefficient shape. */
        public Poly
        {
            Objects.requireNonNull(coefficients, "coefficients");
            final Shape s = coefficients.shape();
            if (!s.isVector() || s.dim(0) < 2 || s.dim(0) > MAX_POLY_DEGREE + 1)
            {
                throw new IllegalArgumentException("Poly coefficients must be [d+1] with 1 <= d <= " +
                    MAX_POLY_DEGREE + ", was " + s);
            }
        }

        /** A polynomial with the given coefficients, lowest power first. */
        public static Poly of(final float... coefficients)
        {
            return new Poly(Tensor.of(Shape.of(coefficients.length), coefficients));
        }

        /** Degree d. */
        public int degree()
        {
            return coefficients.size() - 1;
        }

        /** Coefficient of {@code x^power}. */
        public float coefficient(final int power)
        {
            return coefficients.get(power);
        }

        /** Horner evaluation in double, for reference computations. */
        public double evaluate(final double x)
        {
            double y = 0;
            for (int k = degree(); k >= 0; k--)
            {
                y = y * x + coefficients.get(k);
            }
            return y;
        }

        @Override
        public String describe()
        {
            return "Poly degree " + degree();
        }

        @Override
        public Shape outputShape(final List<Shape> inputs)
        {
            return inputs.getFirst();
        }

        @Override
        public boolean isActivation()
        {
            return true;
        }

        @Override
        public List<Tensor> tensors()
        {
            return List.of(coefficients);
        }
    }

    /**
     * A per-channel polynomial (HerPN / AESPA folded form): channel {@code c} computes
     * {@code sum_k coefficients[c][k] x^k}. The coefficients are model parameters, private to the server.
     *
     * @param coefficients {@code [C, d+1]}, lowest power first; {@code 1 <= d <= MAX_POLY_DEGREE}.
     */
    record ChannelPoly(Tensor coefficients) implements Layer
    {
        /** Checks the coefficient shape. */
        public ChannelPoly
        {
            Objects.requireNonNull(coefficients, "coefficients");
            final Shape s = coefficients.shape();
            if (s.rank() != 2 || s.dim(1) < 2 || s.dim(1) > MAX_POLY_DEGREE + 1)
            {
                throw new IllegalArgumentException("ChannelPoly coefficients must be [C, d+1] with 1 <= d <= " +
                    MAX_POLY_DEGREE + ", was " + s);
            }
        }

        /** Number of channels C. */
        public int channels()
        {
            return coefficients.shape().dim(0);
        }

        /** Degree d. */
        public int degree()
        {
            return coefficients.shape().dim(1) - 1;
        }

        /** Coefficient of {@code x^power} in channel {@code channel}. */
        public float coefficient(final int channel, final int power)
        {
            return coefficients.get(channel * (degree() + 1) + power);
        }

        /** Horner evaluation in double of channel {@code channel}, for reference computations. */
        public double evaluate(final int channel, final double x)
        {
            double y = 0;
            for (int k = degree(); k >= 0; k--)
            {
                y = y * x + coefficient(channel, k);
            }
            return y;
        }

        @Override
        public String describe()
        {
            return "ChannelPoly " + channels() + "x degree " + degree();
        }

        @Override
        public Shape outputShape(final List<Shape> inputs)
        {
            return channelwise(inputs.getFirst(), channels());
        }

        @Override
        public boolean isActivation()
        {
            return true;
        }

        @Override
        public List<Tensor> tensors()
        {
            return List.of(coefficients);
        }
    }

    /**
     * SENet's partial ReLU: {@code ReLU(x)} where {@code mask == 1}, {@code x} where {@code mask == 0}.
     *
     * @param mask the input's shape exactly; every element {@code 0.0f} or {@code 1.0f} (not {@code -0.0f}).
     */
    record MaskedReLU(Tensor mask) implements Layer
    {
        /** Checks that the mask is 0/1. */
        public MaskedReLU
        {
            Objects.requireNonNull(mask, "mask");
            final int zero = Float.floatToRawIntBits(0.0f);
            final int one = Float.floatToRawIntBits(1.0f);
            for (int i = 0; i < mask.size(); i++)
            {
                final int bits = Float.floatToRawIntBits(mask.get(i));
                if (bits != zero && bits != one)
                {
                    throw new IllegalArgumentException("MaskedReLU mask element " + i + " is " + mask.get(i) +
                        ", must be 0 or 1");
                }
            }
        }

        /** True if element {@code i} (row-major) goes through ReLU. */
        public boolean isReLU(final int i)
        {
            return mask.get(i) != 0.0f;
        }

        /** Number of elements that go through ReLU (need a comparison in MPC). */
        public long reluCount()
        {
            long n = 0;
            for (int i = 0; i < mask.size(); i++)
            {
                n += mask.get(i) != 0.0f ? 1 : 0;
            }
            return n;
        }

        @Override
        public String describe()
        {
            return "MaskedReLU " + mask.shape();
        }

        @Override
        public Shape outputShape(final List<Shape> inputs)
        {
            final Shape in = inputs.getFirst();
            if (!in.equals(mask.shape()))
            {
                throw new IllegalArgumentException("input shape " + in + " differs from the mask shape " +
                    mask.shape());
            }
            return in;
        }

        @Override
        public boolean isActivation()
        {
            return true;
        }

        @Override
        public List<Tensor> tensors()
        {
            return List.of(mask);
        }
    }

    /** {@code y = x}: the activation site of a purely linear network. */
    record Identity() implements Layer
    {
        @Override
        public String describe()
        {
            return "Identity";
        }

        @Override
        public Shape outputShape(final List<Shape> inputs)
        {
            return inputs.getFirst();
        }

        @Override
        public boolean isActivation()
        {
            return true;
        }
    }

    private static void positive(final String name, final int value)
    {
        if (value <= 0)
        {
            throw new IllegalArgumentException(name + " must be positive, was " + value);
        }
    }

    private static void nonNegative(final String name, final int value)
    {
        if (value < 0)
        {
            throw new IllegalArgumentException(name + " must be non-negative, was " + value);
        }
    }

    private static void expectShape(final String what, final Tensor t, final Shape expected)
    {
        Objects.requireNonNull(t, what);
        if (!t.shape().equals(expected))
        {
            throw new IllegalArgumentException(what + " shape " + t.shape() + " differs from the expected " + expected);
        }
    }

    private static Shape featureMap(final Shape in)
    {
        if (!in.isFeatureMap())
        {
            throw new IllegalArgumentException("input shape " + in + " is not a feature map [C,H,W]");
        }
        return in;
    }

    private static Shape channelwise(final Shape in, final int channels)
    {
        if ((in.isFeatureMap() || in.isVector()) && in.dim(0) == channels)
        {
            return in;
        }
        throw new IllegalArgumentException("input shape " + in + " is not [" + channels + ",H,W] or [" + channels +
            "]");
    }

    private static int outDim(final long span, final int stride)
    {
        final long out = span / stride + 1;
        if (out > Integer.MAX_VALUE)
        {
            throw new IllegalArgumentException("output dimension " + out + " is too large");
        }
        return (int)out;
    }

    private static Shape pool(final Shape in, final int kernel, final int stride, final int padding)
    {
        final long h = in.dim(1) + 2L * padding - kernel;
        final long w = in.dim(2) + 2L * padding - kernel;
        if (h < 0 || w < 0)
        {
            throw new IllegalArgumentException("input shape " + in + " padded by " + padding +
                " is smaller than the window " + kernel + "x" + kernel);
        }
        return Shape.of(in.dim(0), outDim(h, stride), outDim(w, stride));
    }
}
