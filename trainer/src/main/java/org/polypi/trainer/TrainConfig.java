package org.polypi.trainer;

import java.util.Locale;
import java.util.Objects;

import org.polypi.model.ModelHeader;
import org.polypi.model.ReferenceNetworks.Workload;

/**
 * Everything that determines a training run. Two runs with equal configs and data produce bit-identical weights;
 * a checkpoint is only resumed by a run with an equal config ({@link #signature()}).
 *
 * @param workload the reference network (its architecture and seeded initial weights).
 * @param activation what replaces the activations.
 * @param degree PILLAR polynomial degree.
 * @param epochs passes over the training set.
 * @param batchSize images per step.
 * @param optimizer {@code sgd} or {@code adam}.
 * @param learningRate peak learning rate of the cosine schedule.
 * @param momentum SGD momentum.
 * @param nesterov SGD Nesterov momentum.
 * @param weightDecay weight decay (L2 for SGD, decoupled for Adam).
 * @param warmupEpochs epochs of linear learning-rate warm-up.
 * @param seed seed of the initial weights, the order and the augmentation.
 * @param flip random horizontal flips.
 * @param cropPadding random crop with this padding (0: none).
 * @param trainLimit use only the first this many training images (0: all), for quick runs.
 * @param testLimit use only the first this many test images (0: all).
 * @param clip PILLAR's training clip range r, also the range of the fit and of the header bound.
 * @param penaltyRange PILLAR's penalty range R.
 * @param penaltyBeta PILLAR's final penalty strength beta.
 * @param penaltyGamma PILLAR's final penalty exponent.
 * @param penaltyWarmup ramp the penalty up over 4 epochs.
 * @param rangeOnlyFirstEpoch with warm-up: epoch 0 trains the penalty alone (CE weight 0).
 * @param precisionBits PILLAR coefficient precision p (coefficients are k / 2^p).
 * @param fractionalBits recommended fixed-point fraction written into the model header, or {@link #CHOSEN_AT_EXPORT}
 *     for the one {@link FractionChoice} picks from the export's evaluation.
 * @param distillWeight weight w of knowledge distillation from a trained teacher, in [0, 1): the loss is
 *     {@code (1 - w) CE + w T² KL(teacher || student)} at temperature T = 4 ({@code Distillation}); 0 trains on
 *     the labels alone. The teacher model itself is given to the {@link Trainer}.
 * @param init the trained model the weights start from ({@code name@fingerprint}, e.g. a ReLU model fine-tuned
 *     into PILLAR), or "" for the workload's seeded initial weights. The model itself is given to the
 *     {@link Trainer}.
 * @param tailMargin PILLAR's tail term: elements of an activation input beyond {@code ±tailMargin} add
 *     {@code tailWeight · (|x| - tailMargin)²} (summed over elements, averaged over sites like the range penalty).
 *     Unlike {@code (x/R)^gamma} it is exactly zero inside the margin, so a strong weight pulls the few escaping
 *     elements in without pressing on the bulk of the distribution.
 * @param tailWeight weight of the tail term (0: off).
 * @param emaDecay decay D of an exponential moving average of the weights over optimizer steps ({@code WeightAverage});
 *     the test accuracy, PILLAR's model selection and the export then use the average. 0: off.
 * @param teacher the trained model distilled from ({@code name@fingerprint}; senet: the ReLU model the student starts
 *     from), or "" for none or not recorded. Two runs distilled from different teachers are different recipes, so the
 *     results table and the checkpoint's signature tell them apart. The model itself is given to the {@link Trainer}.
 * @param gradClip largest L2 norm of the gradient of all parameters together: a larger one is scaled down to it
 *     before the optimizer step (0: off). One outlier batch then moves the weights no further than a typical one,
 *     where without it PILLAR runs at lr 0.05 sometimes blew up (the range penalty's (x/R)^gamma grows fast).
 */
public record TrainConfig(Workload workload, ActivationChoice activation, int degree, int epochs, int batchSize,
                          String optimizer, double learningRate, double momentum, boolean nesterov,
                          double weightDecay, double warmupEpochs, long seed, boolean flip, int cropPadding,
                          int trainLimit, int testLimit, double clip, double penaltyRange, double penaltyBeta,
                          int penaltyGamma, boolean penaltyWarmup, boolean rangeOnlyFirstEpoch, int precisionBits,
                          int fractionalBits, double distillWeight, String init, double tailMargin,
                          double tailWeight, double emaDecay, String teacher, double gradClip)
{
    /** {@code fractionalBits} value: the header's f is chosen at export ({@link FractionChoice}). */
    public static final int CHOSEN_AT_EXPORT = 0;
    /** How {@link #signature()} writes {@link #CHOSEN_AT_EXPORT}. */
    public static final String AUTO = "auto";
    /** The fraction a model is first written and evaluated at when its f is chosen at export. */
    public static final int FIRST_EVALUATED_BITS = 16;

    /** Checks every field. */
    public TrainConfig
    {
        Objects.requireNonNull(workload, "workload");
        Objects.requireNonNull(activation, "activation");
        if (workload != Workload.MLP && workload != Workload.LENET && workload != Workload.MINIONN_FASHION)
        {
            throw new IllegalArgumentException("the trainer trains mlp, lenet and minionn-fmnist (Fashion-MNIST), " +
                "not " + workload.id());
        }
        if (activation == ActivationChoice.PILLAR &&
            (degree < PolynomialFit.MIN_DEGREE || degree > PolynomialFit.MAX_DEGREE))
        {
            throw new IllegalArgumentException("degree must be in [" + PolynomialFit.MIN_DEGREE + ", " +
                PolynomialFit.MAX_DEGREE + "], was " + degree);
        }
        positive("epochs", epochs);
        positive("batch size", batchSize);
        if (!"sgd".equals(optimizer) && !"adam".equals(optimizer))
        {
            throw new IllegalArgumentException("optimizer must be sgd or adam, was " + optimizer);
        }
        if (!(learningRate > 0) || Double.isInfinite(learningRate))
        {
            throw new IllegalArgumentException("learning rate must be finite and positive, was " + learningRate);
        }
        if (!(warmupEpochs >= 0) || warmupEpochs > epochs)
        {
            throw new IllegalArgumentException("warm-up epochs must be in [0, epochs], was " + warmupEpochs);
        }
        if (trainLimit < 0 || testLimit < 0 || cropPadding < 0)
        {
            throw new IllegalArgumentException("limits and crop padding must be >= 0, were " + trainLimit + ", " +
                testLimit + ", " + cropPadding);
        }
        if (!(clip > 0) || !(penaltyRange > 0))
        {
            throw new IllegalArgumentException("clip and penalty range must be positive, were " + clip + " and " +
                penaltyRange);
        }
        if (fractionalBits < 0 || fractionalBits > ModelHeader.MAX_FRACTIONAL_BITS)
        {
            throw new IllegalArgumentException("fractional bits must be in [0, " + ModelHeader.MAX_FRACTIONAL_BITS +
                "], was " + fractionalBits);
        }
        if (!(distillWeight >= 0 && distillWeight < 1))
        {
            throw new IllegalArgumentException("distillation weight must be in [0, 1), was " + distillWeight);
        }
        Objects.requireNonNull(init, "init");
        if (!init.isEmpty() && activation != ActivationChoice.RELU && activation != ActivationChoice.PILLAR)
        {
            throw new IllegalArgumentException("only relu and pillar runs start from a trained model (" +
                activation.id() + " needs BatchNorm before its activations, which an exported model has folded" +
                (activation == ActivationChoice.SENET ? "; senet starts from its --teacher" : "") + ")");
        }
        RangePenalty.checkTail(tailMargin, tailWeight);
        if (tailWeight > 0 && activation != ActivationChoice.PILLAR)
        {
            throw new IllegalArgumentException("the tail term keeps a polynomial's inputs in range; " +
                activation.id() + " has no polynomial range");
        }
        if (!(gradClip >= 0) || Double.isInfinite(gradClip))
        {
            throw new IllegalArgumentException("gradient clip must be a finite norm >= 0 (0: off), was " + gradClip);
        }
        if (!(emaDecay >= 0 && emaDecay < 1))
        {
            throw new IllegalArgumentException("weight-average decay must be in [0, 1) (0: off), was " + emaDecay);
        }
        if (emaDecay > 0 && activation == ActivationChoice.SENET)
        {
            throw new IllegalArgumentException("senet fine-tunes by its own recipe; the weight average is for relu, " +
                "pillar and herpn");
        }
        Objects.requireNonNull(teacher, "teacher");
        if (!teacher.isEmpty() && distillWeight == 0 && activation != ActivationChoice.SENET)
        {
            throw new IllegalArgumentException("a teacher (" + teacher + ") without a distillation weight: " +
                activation.id() + " learns from a teacher only with --distill");
        }
        // the schedule checks beta and gamma
        new PillarSchedule(penaltyBeta, penaltyGamma, penaltyWarmup, rangeOnlyFirstEpoch);
    }

    /**
     * The defaults for {@code workload} and {@code activation}: 15 epochs, batch 128, SGD Nesterov momentum 0.9,
     * peak lr 0.05 with 1 warm-up epoch and cosine decay, weight decay 5e-4, flips, no crop; PILLAR degree 4,
     * clip 5, penalty R 4.8, beta 5e-5, gamma 10 with the 4-epoch warm-up (CE on from epoch 0), p = 10; header
     * f chosen at export.
     */
    public static TrainConfig defaults(final Workload workload, final ActivationChoice activation)
    {
        return new TrainConfig(workload, activation, 4, 15, 128, "sgd", 0.05, 0.9, true, 5e-4, 1, 1, true, 0, 0, 0,
            5.0, 4.8, 5e-5, 10, true, false, PolynomialFit.DEFAULT_PRECISION_BITS, CHOSEN_AT_EXPORT, 0, "", 0, 0, 0,
            "", 0);
    }

    /** The fraction the export first writes the header with and evaluates first. */
    public int evaluationBits()
    {
        return fractionalBits == CHOSEN_AT_EXPORT ? FIRST_EVALUATED_BITS : fractionalBits;
    }

    /** The PILLAR penalty schedule. */
    public PillarSchedule pillarSchedule()
    {
        return new PillarSchedule(penaltyBeta, penaltyGamma, penaltyWarmup, rangeOnlyFirstEpoch);
    }

    /** A canonical one-line form: equal configs, equal signatures. */
    public String signature()
    {
        return String.format(Locale.ROOT, "net=%s act=%s degree=%d epochs=%d batch=%d opt=%s lr=%s momentum=%s " +
                "nesterov=%b wd=%s warmup=%s seed=%d flip=%b crop=%d train=%d test=%d clip=%s R=%s beta=%s gamma=%d " +
                "penaltyWarmup=%b rangeEpoch=%b p=%d f=%s", workload.id(), activation.id(), degree, epochs,
            batchSize, optimizer, learningRate, momentum, nesterov, weightDecay, warmupEpochs, seed, flip,
            cropPadding, trainLimit, testLimit, clip, penaltyRange, penaltyBeta, penaltyGamma, penaltyWarmup,
            rangeOnlyFirstEpoch, precisionBits, fractionalBits == CHOSEN_AT_EXPORT ? AUTO : fractionalBits) +
            // only when on, so that the signatures (and checkpoints) of runs without distillation stay as they were
            (distillWeight > 0 ? String.format(Locale.ROOT, " kd=%s", distillWeight) : "") +
            (init.isEmpty() ? "" : " init=" + init) +
            (tailWeight > 0 ? String.format(Locale.ROOT, " tail=%s tailWeight=%s", tailMargin, tailWeight) : "") +
            (emaDecay > 0 ? String.format(Locale.ROOT, " ema=%s", emaDecay) : "") +
            (teacher.isEmpty() ? "" : " teacher=" + teacher) +
            (gradClip > 0 ? String.format(Locale.ROOT, " gradClip=%s", gradClip) : "");
    }

    /** A builder starting from {@link #defaults}. */
    public static Builder builder(final Workload workload, final ActivationChoice activation)
    {
        return new Builder(defaults(workload, activation));
    }

    /** A builder starting from this config. */
    public Builder toBuilder()
    {
        return new Builder(this);
    }

    /** Mutable twin of the record, for the command line and tests; {@link #build()} validates. */
    public static final class Builder
    {
        Workload workload;
        ActivationChoice activation;
        int degree;
        int epochs;
        int batchSize;
        String optimizer;
        double learningRate;
        double momentum;
        boolean nesterov;
        double weightDecay;
        double warmupEpochs;
        long seed;
        boolean flip;
        int cropPadding;
        int trainLimit;
        int testLimit;
        double clip;
        double penaltyRange;
        double penaltyBeta;
        int penaltyGamma;
        boolean penaltyWarmup;
        boolean rangeOnlyFirstEpoch;
        int precisionBits;
        int fractionalBits;
        double distillWeight;
        String init;
        double tailMargin;
        double tailWeight;
        double emaDecay;
        double gradClip;
        String teacher;

        Builder(final TrainConfig c)
        {
            workload = c.workload;
            activation = c.activation;
            degree = c.degree;
            epochs = c.epochs;
            batchSize = c.batchSize;
            optimizer = c.optimizer;
            learningRate = c.learningRate;
            momentum = c.momentum;
            nesterov = c.nesterov;
            weightDecay = c.weightDecay;
            warmupEpochs = c.warmupEpochs;
            seed = c.seed;
            flip = c.flip;
            cropPadding = c.cropPadding;
            trainLimit = c.trainLimit;
            testLimit = c.testLimit;
            clip = c.clip;
            penaltyRange = c.penaltyRange;
            penaltyBeta = c.penaltyBeta;
            penaltyGamma = c.penaltyGamma;
            penaltyWarmup = c.penaltyWarmup;
            rangeOnlyFirstEpoch = c.rangeOnlyFirstEpoch;
            precisionBits = c.precisionBits;
            fractionalBits = c.fractionalBits;
            distillWeight = c.distillWeight;
            init = c.init;
            tailMargin = c.tailMargin;
            tailWeight = c.tailWeight;
            emaDecay = c.emaDecay;
            gradClip = c.gradClip;
            teacher = c.teacher;
        }

        /** Sets the PILLAR degree. */
        public Builder degree(final int v)
        {
            degree = v;
            return this;
        }

        /** Sets the number of epochs. */
        public Builder epochs(final int v)
        {
            epochs = v;
            return this;
        }

        /** Sets the batch size. */
        public Builder batchSize(final int v)
        {
            batchSize = v;
            return this;
        }

        /** Sets the optimizer ({@code sgd} or {@code adam}). */
        public Builder optimizer(final String v)
        {
            optimizer = v;
            return this;
        }

        /** Sets the peak learning rate. */
        public Builder learningRate(final double v)
        {
            learningRate = v;
            return this;
        }

        /** Sets the SGD momentum. */
        public Builder momentum(final double v)
        {
            momentum = v;
            return this;
        }

        /** Sets Nesterov momentum on or off. */
        public Builder nesterov(final boolean v)
        {
            nesterov = v;
            return this;
        }

        /** Sets the weight decay. */
        public Builder weightDecay(final double v)
        {
            weightDecay = v;
            return this;
        }

        /** Sets the learning-rate warm-up in epochs. */
        public Builder warmupEpochs(final double v)
        {
            warmupEpochs = v;
            return this;
        }

        /** Sets the seed. */
        public Builder seed(final long v)
        {
            seed = v;
            return this;
        }

        /** Sets random horizontal flips on or off. */
        public Builder flip(final boolean v)
        {
            flip = v;
            return this;
        }

        /** Sets the random-crop padding (0: none). */
        public Builder cropPadding(final int v)
        {
            cropPadding = v;
            return this;
        }

        /** Uses only the first {@code v} training images (0: all). */
        public Builder trainLimit(final int v)
        {
            trainLimit = v;
            return this;
        }

        /** Uses only the first {@code v} test images (0: all). */
        public Builder testLimit(final int v)
        {
            testLimit = v;
            return this;
        }

        /** Sets PILLAR's clip range r. */
        public Builder clip(final double v)
        {
            clip = v;
            return this;
        }

        /** Sets PILLAR's penalty range R. */
        public Builder penaltyRange(final double v)
        {
            penaltyRange = v;
            return this;
        }

        /** Sets PILLAR's final penalty strength. */
        public Builder penaltyBeta(final double v)
        {
            penaltyBeta = v;
            return this;
        }

        /** Sets PILLAR's final penalty exponent. */
        public Builder penaltyGamma(final int v)
        {
            penaltyGamma = v;
            return this;
        }

        /** Sets the penalty warm-up on or off. */
        public Builder penaltyWarmup(final boolean v)
        {
            penaltyWarmup = v;
            return this;
        }

        /** Sets the range-only first epoch on or off. */
        public Builder rangeOnlyFirstEpoch(final boolean v)
        {
            rangeOnlyFirstEpoch = v;
            return this;
        }

        /** Sets the coefficient precision p. */
        public Builder precisionBits(final int v)
        {
            precisionBits = v;
            return this;
        }

        /** Sets the header's fractional bits. */
        public Builder fractionalBits(final int v)
        {
            fractionalBits = v;
            return this;
        }

        /** Sets the trained model the weights start from ({@code name@fingerprint}; "": none). */
        public Builder init(final String v)
        {
            init = v;
            return this;
        }

        /** Sets the tail term: margin and weight (weight 0: off). */
        public Builder tail(final double margin, final double weight)
        {
            tailMargin = margin;
            tailWeight = weight;
            return this;
        }

        /** Sets the decay of the weight average (0: none). */
        public Builder emaDecay(final double v)
        {
            emaDecay = v;
            return this;
        }

        /** Sets the largest gradient norm (0: no clipping). */
        public Builder gradClip(final double v)
        {
            gradClip = v;
            return this;
        }

        /** Sets the trained model distilled from ({@code name@fingerprint}; "": none). */
        public Builder teacher(final String v)
        {
            teacher = v;
            return this;
        }

        /** Sets the knowledge-distillation weight (0: none). */
        public Builder distillWeight(final double v)
        {
            distillWeight = v;
            return this;
        }

        /**
         * The config.
         *
         * @throws IllegalArgumentException if a value is invalid.
         */
        public TrainConfig build()
        {
            return new TrainConfig(workload, activation, degree, epochs, batchSize, optimizer, learningRate, momentum,
                nesterov, weightDecay, warmupEpochs, seed, flip, cropPadding, trainLimit, testLimit, clip,
                penaltyRange, penaltyBeta, penaltyGamma, penaltyWarmup, rangeOnlyFirstEpoch, precisionBits,
                fractionalBits, distillWeight, init, tailMargin, tailWeight, emaDecay, teacher, gradClip);
        }
    }

    private static void positive(final String what, final int value)
    {
        if (value <= 0)
        {
            throw new IllegalArgumentException(what + " must be positive, was " + value);
        }
    }
}
