package org.polypi.engine.plan;

import java.util.Arrays;
import java.util.Objects;

import org.polypi.engine.protocol.ActivationPlan;
import org.polypi.kernels.Conv2dShape;

/**
 * One step of a compiled {@link Plan}. Steps read and write plan tensors by id ({@link Plan#tensors()}); every field
 * here is public knowledge (the server's weights, biases and private coefficients live in {@link CompiledModel}).
 * The secure parties and the plaintext reference walk the same steps in the same order.
 */
public sealed interface PlanStep permits PlanStep.Linear, PlanStep.SumPool, PlanStep.Add, PlanStep.Reshape,
    PlanStep.Activation, PlanStep.Combine, PlanStep.Truncate, PlanStep.Relu, PlanStep.MaskedRelu, PlanStep.MaxPool
{
    /** Unique step name: the graph node's name, or {@code trunc:<tensor>} for an inserted truncation. */
    String name();

    /** Ids of the tensors the step reads, in order. */
    int[] inputs();

    /** Id of the tensor the step writes. */
    int output();

    /** Canonical one-line description (part of the plan hash). */
    String describe();

    /** A matrix product or a convolution with the server's weights ({@link CompiledModel#linear}). */
    sealed interface Linear extends PlanStep permits Dense, Conv
    {
        /** Index among the plan's linear steps: the order of the set-up and of the weights. */
        int linearIndex();

        /** Fractional bits of the encoded weights. */
        int weightScale();

        /** Input elements per item. */
        int inputElements();

        /** Output elements per item. */
        int outputElements();

        /** Weight elements. */
        long weightElements();

        /** Output channels (features for a dense layer): the bias has one value per channel. */
        int outChannels();

        /** Output positions per channel and item (1 for a dense layer). */
        int positions();

        /** Multiply-adds per item. */
        long multiplyAdds();
    }

    /**
     * {@code y = x · W + b}, x of {@code [batch, in]}, W stored as {@code [in, out]} (row-major, the layout of
     * {@code RingKernels.matmul}).
     */
    record Dense(String name, int input, int output, int inFeatures, int outFeatures, int weightScale,
                 int linearIndex) implements Linear
    {
        @Override
        public int[] inputs()
        {
            return new int[]{input};
        }

        @Override
        public int inputElements()
        {
            return inFeatures;
        }

        @Override
        public int outputElements()
        {
            return outFeatures;
        }

        @Override
        public long weightElements()
        {
            return (long)inFeatures * outFeatures;
        }

        @Override
        public int outChannels()
        {
            return outFeatures;
        }

        @Override
        public int positions()
        {
            return 1;
        }

        @Override
        public long multiplyAdds()
        {
            return weightElements();
        }

        @Override
        public String describe()
        {
            return "dense " + name + " in " + input + " out " + output + " " + inFeatures + "x" + outFeatures +
                " weights 2^-" + weightScale + " linear " + linearIndex;
        }
    }

    /** NCHW convolution with OIHW weights, square stride, symmetric zero padding, plus a per-channel bias. */
    record Conv(String name, int input, int output, int inChannels, int outChannels, int kernelHeight,
                int kernelWidth, int stride, int padding, int inHeight, int inWidth, int outHeight, int outWidth,
                int weightScale, int linearIndex) implements Linear
    {
        /** The kernels' shape of a batch. */
        public Conv2dShape shape(final int batch)
        {
            return new Conv2dShape(batch, inChannels, inHeight, inWidth, outChannels, kernelHeight, kernelWidth, stride,
                padding);
        }

        @Override
        public int[] inputs()
        {
            return new int[]{input};
        }

        @Override
        public int inputElements()
        {
            return inChannels * inHeight * inWidth;
        }

        @Override
        public int outputElements()
        {
            return outChannels * outHeight * outWidth;
        }

        @Override
        public long weightElements()
        {
            return (long)outChannels * inChannels * kernelHeight * kernelWidth;
        }

        @Override
        public int positions()
        {
            return outHeight * outWidth;
        }

        @Override
        public long multiplyAdds()
        {
            return (long)outputElements() * inChannels * kernelHeight * kernelWidth;
        }

        @Override
        public String describe()
        {
            return "conv " + name + " in " + input + " out " + output + " " + inChannels + "->" + outChannels + " " +
                kernelHeight + "x" + kernelWidth + "/" + stride + " pad " + padding + " map " + inHeight + "x" +
                inWidth + "->" + outHeight + "x" + outWidth + " weights 2^-" + weightScale + " linear " + linearIndex;
        }
    }

    /**
     * Window sums of {@code windowHeight x windowWidth} (stride {@code stride}, no padding), then a multiplication by
     * the public {@code multiplier}: 1 when the area is a power of two (the division is only a change of scale,
     * engine-design.md §1), else {@code enc_f(1 / area)}.
     */
    record SumPool(String name, int input, int output, int channels, int inHeight, int inWidth, int windowHeight,
                   int windowWidth, int stride, int outHeight, int outWidth, long multiplier) implements PlanStep
    {
        @Override
        public int[] inputs()
        {
            return new int[]{input};
        }

        @Override
        public String describe()
        {
            return "sumpool " + name + " in " + input + " out " + output + " channels " + channels + " map " +
                inHeight + "x" + inWidth + " window " + windowHeight + "x" + windowWidth + "/" + stride + " -> " +
                outHeight + "x" + outWidth + " multiplier " + multiplier;
        }
    }

    /** {@code y = a * 2^shiftA + b * 2^shiftB}: a residual sum with the lower-scale operand aligned exactly. */
    record Add(String name, int a, int b, int output, int shiftA, int shiftB) implements PlanStep
    {
        @Override
        public int[] inputs()
        {
            return new int[]{a, b};
        }

        @Override
        public String describe()
        {
            return "add " + name + " in " + a + "," + b + " out " + output + " shifts " + shiftA + "," + shiftB;
        }
    }

    /** Flatten: the same values under another shape; no work, no cost. */
    record Reshape(String name, int input, int output) implements PlanStep
    {
        @Override
        public int[] inputs()
        {
            return new int[]{input};
        }

        @Override
        public String describe()
        {
            return "reshape " + name + " in " + input + " out " + output;
        }
    }

    /** Faithful truncation by {@code shift} bits (floor, or floor + 1 in the secure engine): one opening. */
    record Truncate(String name, int input, int output, int shift) implements PlanStep
    {
        @Override
        public int[] inputs()
        {
            return new int[]{input};
        }

        @Override
        public String describe()
        {
            return "truncate " + name + " in " + input + " out " + output + " shift " + shift;
        }
    }

    /** {@code max(0, x)}: needs a secure comparison. */
    record Relu(String name, int input, int output) implements PlanStep
    {
        @Override
        public int[] inputs()
        {
            return new int[]{input};
        }

        @Override
        public String describe()
        {
            return "relu " + name + " in " + input + " out " + output;
        }
    }

    /** Signed max over {@code kernel x kernel} windows; padded positions never win. Needs secure comparisons. */
    record MaxPool(String name, int input, int output, int channels, int inHeight, int inWidth, int kernel, int stride,
                   int padding, int outHeight, int outWidth) implements PlanStep
    {
        @Override
        public int[] inputs()
        {
            return new int[]{input};
        }

        @Override
        public String describe()
        {
            return "maxpool " + name + " in " + input + " out " + output + " channels " + channels + " map " +
                inHeight + "x" + inWidth + " " + kernel + "/" + stride + " pad " + padding + " -> " + outHeight + "x" +
                outWidth;
        }
    }

    /** ReLU where the (public) mask is set, identity elsewhere (SENet). */
    final class MaskedRelu implements PlanStep
    {
        private final String name;
        private final int input;
        private final int output;
        private final boolean[] mask;

        MaskedRelu(final String name, final int input, final int output, final boolean[] mask)
        {
            this.name = Objects.requireNonNull(name);
            this.input = input;
            this.output = output;
            this.mask = mask.clone();
        }

        @Override
        public String name()
        {
            return name;
        }

        @Override
        public int[] inputs()
        {
            return new int[]{input};
        }

        @Override
        public int output()
        {
            return output;
        }

        /** True if element {@code i} of an item goes through ReLU. */
        public boolean isRelu(final int i)
        {
            return mask[i];
        }

        /** Elements per item. */
        public int size()
        {
            return mask.length;
        }

        /** Positions per item that go through ReLU. */
        public int keptCount()
        {
            int n = 0;
            for (final boolean b : mask)
            {
                n += b ? 1 : 0;
            }
            return n;
        }

        /** A copy of the mask. */
        public boolean[] mask()
        {
            return mask.clone();
        }

        @Override
        public String describe()
        {
            final StringBuilder bits = new StringBuilder(mask.length);
            for (final boolean b : mask)
            {
                bits.append(b ? '1' : '0');
            }
            return "maskedrelu " + name + " in " + input + " out " + output + " mask " + bits;
        }
    }

    /**
     * A polynomial activation on top of one fused opening (engine-design.md §2): the truncated copies
     * {@code x_j = z >> shift_j} (floor in the reference, floor or floor + 1 in the secure engine) and their powers,
     * combined linearly.
     * <p>
     * Power k (1..degree) comes from copy {@link #powerSource}{@code (k)}, or directly from the input z when the
     * source is {@link #DIRECT} (power 1 whose copy would need no shift: exact, and no material), or is skipped
     * ({@link #SKIPPED}, a public coefficient that encodes to 0). Power k has scale {@code k * t_k} with
     * {@code t_k = inputScale - shift_k}; {@code align(k) = 2f - k t_k >= 0} brings it to 2f exactly (for PUBLIC:
     * {@code outputScale - f - k t_k}, see {@link #powerAlign}).
     * <ul>
     *   <li>{@link Kind#PUBLIC} (PILLAR's {@code Poly}): {@code y = sum_k multiplier(k) x^k + constant} at the output
     *       scale S (3f, or what the next linear layer leaves room for), {@code multiplier(k) = enc_f(a_k)
     *       2^align(k)} (an exact shift either way), {@code constant = enc_S(a_0)} (added by the server).</li>
     *   <li>{@link Kind#POWERS}: the output stacks the aligned powers, block k-1 = {@code x^k 2^align(k)} for every
     *       channel, at scale 2f, plus, when {@link #ones()}, one channel of 1.0 ({@code 2^2f}, held by the server)
     *       that carries the constant term through a zero-padded convolution. Used for HerPN's {@code ChannelPoly}
     *       (coefficients folded into the next linear layer), and when the 3f output of a polynomial would break the
     *       scale budget: the powers are then truncated to f and a {@link Combine} step applies the
     *       coefficients.</li>
     *   <li>{@link Kind#PRIVATE} (a {@code ChannelPoly} that can be neither folded nor split): per-channel
     *       multipliers and constants from {@link CompiledModel#privateMultipliers}, at scale 3f. Plaintext reference
     *       only.</li>
     * </ul>
     */
    final class Activation implements PlanStep
    {
        /** How the coefficients are applied. */
        public enum Kind
        {
            /** Public coefficients, applied by both parties. */
            PUBLIC,
            /** No coefficients: the aligned powers, stacked as blocks of channels. */
            POWERS,
            /** Private per-channel coefficients applied in place (reference only). */
            PRIVATE
        }

        /** {@link #powerSource} of a power taken from the input itself. */
        public static final int DIRECT = -1;
        /** {@link #powerSource} of a power whose coefficient is 0. */
        public static final int SKIPPED = -2;

        private final String name;
        private final int input;
        private final int output;
        private final Kind kind;
        private final int degree;
        private final int channels;
        private final int mapSize;
        private final int fractionalBits;
        private final int inputScale;
        private final int outputScale;
        private final int[] copyShifts;
        private final int[] copyDegrees;
        private final int[] powerSource;
        private final int[] powerShift;
        private final int[] powerAlign;
        private final long[] multipliers;
        private final long constant;
        private final boolean ones;

        Activation(final String name, final int input, final int output, final Kind kind, final int degree,
                   final int channels, final int mapSize, final int fractionalBits, final int inputScale,
                   final int outputScale, final int[] copyShifts, final int[] copyDegrees, final int[] powerSource,
                   final int[] powerShift, final int[] powerAlign, final long[] multipliers, final long constant,
                   final boolean ones)
        {
            this.name = Objects.requireNonNull(name);
            this.input = input;
            this.output = output;
            this.kind = Objects.requireNonNull(kind);
            this.degree = degree;
            this.channels = channels;
            this.mapSize = mapSize;
            this.fractionalBits = fractionalBits;
            this.inputScale = inputScale;
            this.outputScale = outputScale;
            this.copyShifts = copyShifts.clone();
            this.copyDegrees = copyDegrees.clone();
            this.powerSource = powerSource.clone();
            this.powerShift = powerShift.clone();
            this.powerAlign = powerAlign.clone();
            this.multipliers = multipliers.clone();
            this.constant = constant;
            this.ones = ones;
        }

        @Override
        public String name()
        {
            return name;
        }

        @Override
        public int[] inputs()
        {
            return new int[]{input};
        }

        @Override
        public int output()
        {
            return output;
        }

        /** How the coefficients are applied. */
        public Kind kind()
        {
            return kind;
        }

        /** Highest power d. */
        public int degree()
        {
            return degree;
        }

        /** Channels C (dimension 0 of the per-item input shape). */
        public int channels()
        {
            return channels;
        }

        /** Elements per channel and item (H·W, or 1 for a vector). */
        public int mapSize()
        {
            return mapSize;
        }

        /** Input elements per item. */
        public int inputElements()
        {
            return channels * mapSize;
        }

        /** Output elements per item: the input's, or for {@link Kind#POWERS} d blocks plus the ones channel. */
        public int outputElements()
        {
            return kind == Kind.POWERS ? degree * inputElements() + (ones ? mapSize : 0) : inputElements();
        }

        /** Fractional bits f of the plan. */
        public int fractionalBits()
        {
            return fractionalBits;
        }

        /** Scale of the input z. */
        public int inputScale()
        {
            return inputScale;
        }

        /** Scale of the output (PUBLIC: 3f or what the next linear layer leaves room for; 2f for the others). */
        public int outputScale()
        {
            return outputScale;
        }

        /** Truncated copies the opening produces (0 when the step needs no opening). */
        public int copies()
        {
            return copyShifts.length;
        }

        /** Shift of copy j. */
        public int copyShift(final int j)
        {
            return copyShifts[j];
        }

        /** Highest power of copy j. */
        public int copyDegree(final int j)
        {
            return copyDegrees[j];
        }

        /** The copies' shifts (for {@code ActivationPlan.of}). */
        public int[] copyShifts()
        {
            return copyShifts.clone();
        }

        /** The copies' highest powers. */
        public int[] copyDegrees()
        {
            return copyDegrees.clone();
        }

        /** {@code sum_j copyDegree(j)}: power tensors of the opening. */
        public int totalPowers()
        {
            return Arrays.stream(copyDegrees).sum();
        }

        /**
         * {@code sum_j (k_j + w_j)}: the material tensors the dealer sends the server per opening, every copy's powers
         * and its {@code CandidateDifferences} words ({@link ActivationPlan#materialTensors(int[], int[])}).
         */
        public int materialTensors()
        {
            return ActivationPlan.materialTensors(copyShifts, copyDegrees);
        }

        /** Copy index of power k, or {@link #DIRECT} or {@link #SKIPPED}. */
        public int powerSource(final int k)
        {
            return powerSource[k];
        }

        /** Shift of the copy that power k uses ({@code inputScale - t_k}). */
        public int powerShift(final int k)
        {
            return powerShift[k];
        }

        /**
         * Shift that brings power k to the scale its multiplier expects: left by this much to 2f for POWERS and
         * PRIVATE; for PUBLIC folded into {@link #multiplier}, and negative when the coefficient's zero low bits
         * absorb it (the plan sizes a public output by its reader, engine-design.md §2).
         */
        public int powerAlign(final int k)
        {
            return powerAlign[k];
        }

        /** Multiplier of power k: {@code enc_f(a_k) 2^align(k)} for PUBLIC, {@code 2^align(k)} otherwise. */
        public long multiplier(final int k)
        {
            return multipliers[k];
        }

        /**
         * Per copy j, the multiplier of each of its powers 1..{@link #copyDegree}(j) in the PUBLIC output:
         * {@link #multiplier}(k) at index k - 1 when power k comes from copy j, else 0 (a power the copy only needs
         * for the binomial expansion of a higher one, or one taken from another copy). A fresh array.
         */
        public long[][] copyMultipliers()
        {
            final long[][] m = new long[copyShifts.length][];
            for (int j = 0; j < m.length; j++)
            {
                m[j] = new long[copyDegrees[j]];
            }
            for (int k = 1; k <= degree; k++)
            {
                if (powerSource[k] >= 0)
                {
                    m[powerSource[k]][k - 1] = multipliers[k];
                }
            }
            return m;
        }

        /** Multiplier of z itself in the PUBLIC output: {@link #multiplier}(1) when power 1 is DIRECT, else 0. */
        public long directMultiplier()
        {
            return powerSource[1] == DIRECT ? multipliers[1] : 0L;
        }

        /** {@code a_0} encoded at the output scale for PUBLIC (0 otherwise). */
        public long constant()
        {
            return constant;
        }

        /** True if a POWERS output ends with a channel of ones. */
        public boolean ones()
        {
            return ones;
        }

        /** The ring value of 1.0 at scale 2f in the ones channel. */
        public long oneValue()
        {
            return 1L << (2 * fractionalBits);
        }

        /** Copy j of z in the reference ({@code carries} bit j clear) or its floor + 1 ({@code carries} bit j set). */
        public long copyValue(final long z, final int j, final int carries)
        {
            return (z >> copyShifts[j]) + ((carries >>> j) & 1);
        }

        /**
         * Power k of z as this step computes it, before alignment: {@code z} itself for a DIRECT power, else the
         * k-th power of its copy (with the given carries).
         */
        public long powerValue(final long z, final int k, final int carries)
        {
            final int source = powerSource[k];
            if (source == DIRECT)
            {
                return z;
            }
            if (source == SKIPPED)
            {
                return 0;
            }
            final long x = copyValue(z, source, carries);
            long p = x;
            for (int i = 2; i <= k; i++)
            {
                p *= x;
            }
            return p;
        }

        /**
         * The carries that make {@link #copyValue} the reference's copy, {@code z} rounded to nearest (ties up) by the
         * copy's shift: bit j is set when the highest bit the copy drops is 1 ({@link LocalSteps#roundShift}).
         */
        public int nearestCarries(final long z)
        {
            int carries = 0;
            for (int j = 0; j < copyShifts.length; j++)
            {
                if (copyShifts[j] > 0 && ((z >> (copyShifts[j] - 1)) & 1) != 0)
                {
                    carries |= 1 << j;
                }
            }
            return carries;
        }

        /**
         * The PUBLIC output of one element: {@code sum_k multiplier(k) powerValue(z, k) + constant}. With
         * {@code carries = nearestCarries(z)} this is the reference; the secure engine yields it for some carries.
         */
        public long publicValue(final long z, final int carries)
        {
            long y = constant;
            for (int k = 1; k <= degree; k++)
            {
                if (powerSource[k] != SKIPPED)
                {
                    y += multipliers[k] * powerValue(z, k, carries);
                }
            }
            return y;
        }

        /** The POWERS output of one element of block {@code k - 1}: {@code powerValue(z, k) 2^align(k)}. */
        public long stackedValue(final long z, final int k, final int carries)
        {
            return powerValue(z, k, carries) << powerAlign[k];
        }

        @Override
        public String describe()
        {
            return "activation " + name + " in " + input + " out " + output + " " + kind + " degree " + degree +
                " channels " + channels + " map " + mapSize + " f " + fractionalBits + " scales " + inputScale + "->" +
                outputScale + " copies " + Arrays.toString(copyShifts) + Arrays.toString(copyDegrees) + " powers " +
                Arrays.toString(powerSource) + " shifts " + Arrays.toString(powerShift) + " align " +
                Arrays.toString(powerAlign) + " multipliers " + Arrays.toString(multipliers) + " constant " + constant +
                " ones " + ones;
        }
    }

    /**
     * The second half of a polynomial split in two because its 3f output would break the scale budget: from the
     * stacked powers (an {@link Activation} of kind {@link Activation.Kind#POWERS}, truncated to f),
     * {@code y = sum_k multiplier(k) x^k + constant} at scale 2f, with {@code multiplier(k) = enc_f(a_k)} and
     * {@code constant = enc_2f(a_0)}. Local. With {@code privateCoefficients} the multipliers and constants are
     * per channel and the server's ({@link CompiledModel#privateMultipliers}): plaintext reference only.
     */
    final class Combine implements PlanStep
    {
        private final String name;
        private final int input;
        private final int output;
        private final int degree;
        private final int channels;
        private final int mapSize;
        private final long[] multipliers;
        private final long constant;
        private final boolean privateCoefficients;

        Combine(final String name, final int input, final int output, final int degree, final int channels,
                final int mapSize, final long[] multipliers, final long constant, final boolean privateCoefficients)
        {
            this.name = Objects.requireNonNull(name);
            this.input = input;
            this.output = output;
            this.degree = degree;
            this.channels = channels;
            this.mapSize = mapSize;
            this.multipliers = multipliers.clone();
            this.constant = constant;
            this.privateCoefficients = privateCoefficients;
        }

        @Override
        public String name()
        {
            return name;
        }

        @Override
        public int[] inputs()
        {
            return new int[]{input};
        }

        @Override
        public int output()
        {
            return output;
        }

        /** Highest power d (the input holds d blocks). */
        public int degree()
        {
            return degree;
        }

        /** Channels C of the output. */
        public int channels()
        {
            return channels;
        }

        /** Elements per channel and item. */
        public int mapSize()
        {
            return mapSize;
        }

        /** Output elements per item. */
        public int outputElements()
        {
            return channels * mapSize;
        }

        /** {@code enc_f(a_k)} (0 for private coefficients). */
        public long multiplier(final int k)
        {
            return multipliers[k];
        }

        /** {@code enc_2f(a_0)} (0 for private coefficients). */
        public long constant()
        {
            return constant;
        }

        /** True if the coefficients are the server's, per channel. */
        public boolean privateCoefficients()
        {
            return privateCoefficients;
        }

        @Override
        public String describe()
        {
            return "combine " + name + " in " + input + " out " + output + " degree " + degree + " channels " +
                channels + " map " + mapSize + (privateCoefficients ? " private" : " multipliers " +
                Arrays.toString(multipliers) + " constant " + constant);
        }
    }
}
