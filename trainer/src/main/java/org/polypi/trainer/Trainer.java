package org.polypi.trainer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

import org.polypi.datasets.Dataset;
import org.polypi.model.Layer;
import org.polypi.model.ModelGraph;
import org.polypi.model.Node;
import org.polypi.model.ReferenceNetworks;

/**
 * The training loop: mini-batches from a {@link BatchSource}, forward, softmax cross-entropy (plus PILLAR's range
 * penalty), backward, an optimizer step with the cosine learning rate; after each epoch the test accuracy, a
 * summary line and, if asked, an atomic checkpoint from which {@link #train} resumes exactly.
 */
public final class Trainer
{
    private static final double NANOS = 1e9;
    private static final double PERCENT = 100.0;
    private static final int SECONDS_PER_MINUTE = 60;
    /** An in-range epoch replaces an escaping last epoch only if at most this much less accurate (0.5 points). */
    private static final double SELECTION_TOLERANCE = 0.005;
    /** Hex digits of a model's fingerprint in the config's init and teacher names. */
    private static final int MODEL_ID_HEX = 16;

    private final TrainConfig config;
    private final Dataset train;
    private final Dataset test;
    private final PrintStream log;
    private final Network network;
    private final Optimizer optimizer;
    private final BatchSource source;
    private final PolynomialFit fit;
    private double progressSeconds = 15;
    /** The network distilled from when the config's distillation weight is positive, else null. */
    private Network teacher;
    /**
     * PILLAR's fallback of the latest {@link #train} call: the latest epoch whose test-set activation inputs all
     * stayed inside [-r, r], the latest rather than the most accurate, so that the test set decides only whether the
     * inputs escape, never which accuracy is reported.
     */
    private InRangeEpoch inRange = new InRangeEpoch();

    /**
     * A trainer for {@code config} on the given data (already normalised; limits of the config applied here).
     *
     * @param log where progress and summaries go.
     * @throws IllegalArgumentException if the data does not fit the network's input.
     */
    public Trainer(final TrainConfig config, final Dataset train, final Dataset test, final PrintStream log)
    {
        this(config, train, test, log, null);
    }

    /**
     * A trainer whose network starts from the weights of {@code init} (a trained ReLU or PILLAR model of the same
     * architecture, as exported: BatchNorm folded), its activations replaced by the config's (PILLAR's fitted
     * polynomial, or ReLU), instead of the workload's seeded initial weights. Without BatchNorm the network needs a
     * small learning rate, as SENet's student does.
     *
     * @param init the model, null for the seeded initial weights; its {@link #modelId} must be the config's init.
     * @throws IllegalArgumentException if the config's init does not name {@code init}, or {@code init} is of
     *     another architecture or has other activations than ReLU and Poly.
     */
    public Trainer(final TrainConfig config, final Dataset train, final Dataset test, final PrintStream log,
                   final ModelGraph init)
    {
        this.config = config;
        this.train = limit(train, config.trainLimit());
        this.test = limit(test, config.testLimit());
        this.log = log;
        this.fit = config.activation() == ActivationChoice.PILLAR ?
            PolynomialFit.relu(config.degree(), config.clip(), config.precisionBits()) : null;
        final String expected = init == null ? "" : modelId(init, null);
        if (init == null ? !config.init().isEmpty() : !config.init().endsWith(expected))
        {
            throw new IllegalArgumentException("the config starts from '" + config.init() + "' but the model given" +
                (init == null ? " is none" : " is " + expected));
        }
        final ModelGraph template = init == null ? template(config, fit) : fromTrained(config, fit, init);
        final int sites = countPolySites(template);
        final RangePenalty penalty = sites == 0 ? null : new RangePenalty(config.penaltyRange(), sites);
        if (penalty != null)
        {
            penalty.setTail(config.tailMargin(), config.tailWeight());
        }
        this.network = new Network(template, config.activation() == ActivationChoice.PILLAR ? config.clip() : 0,
            penalty);
        final int imageSize = this.train.imageElements();
        if (imageSize != network.inputSize() || this.test.imageElements() != network.inputSize())
        {
            throw new IllegalArgumentException("images have " + imageSize + " elements, " +
                config.workload().id() + " takes " + network.inputSize());
        }
        this.optimizer = "adam".equals(config.optimizer()) ?
            new Adam(network.params(), config.weightDecay()) :
            new Sgd(network.params(), config.momentum(), config.nesterov(), config.weightDecay());
        this.source = new BatchSource(this.train, config.flip(), config.cropPadding(), config.seed());
    }

    /**
     * Sets the trained model to distil from (run in evaluation mode on each training batch, augmentation included);
     * the loss becomes {@code (1 - w) CE + w T² KL} with w the config's distillation weight.
     *
     * @throws IllegalArgumentException if the config's distillation weight is 0, or the teacher does not take this
     *     network's input or does not produce its classes.
     */
    public void distillFrom(final ModelGraph teacherModel)
    {
        if (!(config.distillWeight() > 0))
        {
            throw new IllegalArgumentException("a teacher needs a positive distillation weight (--distill)");
        }
        checkTeacher(config, teacherModel);
        final Network t = new Network(teacherModel, 0, null);
        if (t.inputSize() != network.inputSize() || t.classes() != network.classes())
        {
            throw new IllegalArgumentException("teacher " + teacherModel.header().architecture() + " takes " +
                t.inputSize() + " inputs and has " + t.classes() + " classes; " + config.workload().id() +
                " takes " + network.inputSize() + " and has " + network.classes());
        }
        teacher = t;
    }

    /** The reference network for {@code config}, BatchNorm before each activation, seeded initial weights. */
    static ModelGraph template(final TrainConfig config, final PolynomialFit fit)
    {
        ReferenceNetworks.Options options = ReferenceNetworks.Options.of(config.activation().kind())
            .withBatchNorm(true).withSeed(config.seed())
            .withFixedPoint(config.evaluationBits(), (float)config.clip());
        if (fit != null)
        {
            options = options.withPoly(fit.toLayer());
        }
        return ReferenceNetworks.build(config.workload(), options);
    }

    /**
     * Checks that {@code teacher} is the model the config names as its teacher (if it names one).
     *
     * @throws IllegalArgumentException if the config names another model.
     */
    static void checkTeacher(final TrainConfig config, final ModelGraph teacher)
    {
        final String id = modelId(teacher, null);
        if (!config.teacher().isEmpty() && !config.teacher().endsWith(id))
        {
            throw new IllegalArgumentException("the config distils from '" + config.teacher() +
                "' but the model given is " + id);
        }
    }

    /**
     * How a config names its init or teacher model: {@code file name@first 16 hex digits of the fingerprint}, so
     * that a renamed file still matches and a retrained one with the same name does not.
     */
    static String modelId(final ModelGraph model, final String fileName)
    {
        return (fileName == null ? "" : fileName) + "@" + model.fingerprint().hex().substring(0, MODEL_ID_HEX);
    }

    /**
     * {@code init}'s graph and weights with the config's activations: every ReLU and Poly becomes the config's
     * (PILLAR: the fitted polynomial; ReLU), the header is the reference template's (fraction, bound), and the
     * activation statistics of the old activations are dropped with them.
     */
    static ModelGraph fromTrained(final TrainConfig config, final PolynomialFit fit, final ModelGraph init)
    {
        final ModelGraph reference = template(config, fit);
        if (!init.header().architecture().equals(reference.header().architecture()) ||
            !init.header().inputShape().equals(reference.header().inputShape()) ||
            init.inputs().size() != 1 || init.outputs().size() != 1)
        {
            throw new IllegalArgumentException("the model to start from is " + init.header().architecture() + " " +
                init.header().inputShape() + ", the run trains " + reference.header().architecture() + " " +
                reference.header().inputShape());
        }
        final ModelGraph.Builder b = ModelGraph.builder(reference.header());
        b.input(init.inputs().getFirst().name(), init.inputs().getFirst().shape());
        for (final Node node : init.nodes())
        {
            final Layer layer = switch (node.layer())
            {
                case Layer.ReLU _, Layer.Poly _ -> fit != null ? fit.toLayer() : new Layer.ReLU();
                case Layer.ChannelPoly _, Layer.MaskedReLU _ -> throw new IllegalArgumentException("node " +
                    node.name() + " of the model to start from is a " + node.layer().getClass().getSimpleName() +
                    ": start from a ReLU or PILLAR model");
                default -> node.layer();
            };
            b.add(node.name(), layer, node.inputs().toArray(String[]::new));
        }
        return b.output(init.outputs().getFirst()).build();
    }

    private static int countPolySites(final ModelGraph graph)
    {
        int n = 0;
        for (final Node node : graph.nodes())
        {
            n += node.layer() instanceof Layer.Poly ? 1 : 0;
        }
        return n;
    }

    private static Dataset limit(final Dataset data, final int limit)
    {
        return limit == 0 || limit >= data.count() ? data : data.slice(0, limit);
    }

    /** Seconds between progress lines (0 or less: none). */
    public void progressSeconds(final double seconds)
    {
        progressSeconds = seconds;
    }

    /** The config. */
    public TrainConfig config()
    {
        return config;
    }

    /** The network being trained. */
    public Network network()
    {
        return network;
    }

    /** The optimizer. */
    public Optimizer optimizer()
    {
        return optimizer;
    }

    /** The PILLAR fit, or null for other activations. */
    public PolynomialFit fit()
    {
        return fit;
    }

    /** The (limited) training set. */
    public Dataset trainData()
    {
        return train;
    }

    /** The (limited) test set. */
    public Dataset testData()
    {
        return test;
    }

    /**
     * Trains the remaining epochs. With a checkpoint path, a checkpoint is written after each epoch, and with
     * {@code resume} an existing checkpoint there is loaded first.
     *
     * @return the history of every epoch (including those of a resumed checkpoint).
     * @throws IOException if a checkpoint cannot be read or written.
     * @throws IllegalStateException if the loss becomes NaN or infinite.
     */
    public List<EpochStats> train(final Path checkpoint, final boolean resume) throws IOException
    {
        return train(checkpoint, resume, config.epochs());
    }

    /**
     * {@link #train(Path, boolean)}, but stops after epoch {@code untilEpoch} (exclusive, at most the config's
     * epochs): an interrupted run, for tests of resumption. The learning-rate schedule is that of the full run.
     */
    public List<EpochStats> train(final Path checkpoint, final boolean resume, final int untilEpoch)
        throws IOException
    {
        if (config.distillWeight() > 0 && teacher == null)
        {
            throw new IllegalStateException("the config distils (weight " + config.distillWeight() +
                ") but no teacher was given (distillFrom)");
        }
        final int batches = source.batches(config.batchSize());
        final long totalSteps = (long)batches * config.epochs();
        final CosineSchedule schedule = new CosineSchedule(config.learningRate(), 0,
            Math.round(config.warmupEpochs() * batches), totalSteps);
        final List<EpochStats> history = new ArrayList<>();
        int firstEpoch = 0;
        long step = 0;
        inRange = new InRangeEpoch();
        final WeightAverage average = config.emaDecay() > 0 ?
            new WeightAverage(network.params(), config.emaDecay()) : null;
        if (checkpoint != null && resume && Files.exists(checkpoint))
        {
            final Checkpoint.State state = Checkpoint.load(checkpoint, config, network, optimizer, inRange,
                average);
            firstEpoch = state.epochsDone();
            step = state.steps();
            history.addAll(state.history());
            log.printf(Locale.ROOT, "resumed %s after epoch %d (%d steps)%n", checkpoint, firstEpoch, step);
        }
        final float[] testImages = test.toFloatArray();
        final PillarSchedule pillar = config.pillarSchedule();
        final boolean selectByRange = config.activation() == ActivationChoice.PILLAR;
        final int lastEpoch = Math.min(untilEpoch, config.epochs());
        for (int epoch = firstEpoch; epoch < lastEpoch; epoch++)
        {
            final RangePenalty penalty = network.penalty();
            if (penalty != null)
            {
                pillar.apply(penalty, epoch);
            }
            final double ceWeight = penalty == null ? 1 : pillar.crossEntropyWeight(epoch);
            final SplittableRandom random = source.random(epoch);
            final int[] order = source.shuffle(random);
            final long start = System.nanoTime();
            long lastReport = start;
            double lossSum = 0;
            double penaltySum = 0;
            long correct = 0;
            long seen = 0;
            float[] x = new float[config.batchSize() * source.imageSize()];
            final int[] y = new int[config.batchSize()];
            for (int b = 0; b < batches; b++, step++)
            {
                final int from = b * config.batchSize();
                final int n = Math.min(config.batchSize(), source.count() - from);
                if (x.length != n * source.imageSize())
                {
                    x = new float[n * source.imageSize()];
                }
                source.fill(order, from, n, random, x, y);
                network.zeroGrad();
                final float[] logits = network.forward(x, n, true);
                final double rangePenalty = penalty == null ? 0 : penalty.take();
                final double kdWeight = config.distillWeight();
                final SoftmaxCrossEntropy.Result ce = SoftmaxCrossEntropy.evaluate(logits, y, n,
                    network.classes(), ceWeight * (1 - kdWeight));
                // teacher.forward reuses its buffers, so its logits are consumed before the next batch
                final double kd = teacher == null ? 0 : Distillation.loss(logits, teacher.forward(x, n, false), n,
                    network.classes(), ceWeight * kdWeight, ce.gradient());
                if (!Double.isFinite(ce.loss()) || !Double.isFinite(rangePenalty) || !Double.isFinite(kd))
                {
                    throw new IllegalStateException(String.format(Locale.ROOT,
                        "training diverged at epoch %d step %d: cross-entropy %s, range penalty %s, " +
                            "distillation %s", epoch, b, ce.loss(), rangePenalty, kd));
                }
                network.backward(ce.gradient(), n);
                if (config.gradClip() > 0)
                {
                    clipGradients(network.params(), config.gradClip());
                }
                optimizer.step(schedule.at(step));
                if (average != null)
                {
                    average.update();
                }
                lossSum += ce.loss();
                penaltySum += rangePenalty;
                correct += ce.correct();
                seen += n;
                final long now = System.nanoTime();
                if (progressSeconds > 0 && (now - lastReport) / NANOS >= progressSeconds)
                {
                    lastReport = now;
                    log.printf(Locale.ROOT, "  epoch %d/%d  step %d/%d  loss %.4f  range %.4g  train %.2f %%  " +
                            "lr %.4g  %.0f img/s%n", epoch + 1, config.epochs(), b + 1, batches,
                        lossSum / (b + 1), penaltySum / (b + 1), PERCENT * correct / seen, schedule.at(step),
                        seen / ((now - start) / NANOS));
                }
            }
            final double seconds = (System.nanoTime() - start) / NANOS;
            final boolean finalEpoch = epoch + 1 == config.epochs();
            if (average != null)
            {
                // the test accuracy, the range statistics, the selection and (after the last epoch) the export are
                // those of the averaged weights
                average.swap();
            }
            final Map<String, ActivationStats> sites = selectByRange ? network.recordActivations(config.clip()) :
                Map.of();
            final double testAccuracy = accuracy(network.logits(testImages, test.count()), test.labels());
            String rangeNote = "";
            long outside = 0;
            if (selectByRange)
            {
                network.recordActivations(null);
                final ActivationStats all = ActivationStats.combined(sites.values(), config.clip());
                rangeNote = String.format(Locale.ROOT, "  act max |x| %.2f, %d outside", all.maxAbs(),
                    all.outside());
                outside = all.outside();
                if (outside == 0 && epoch + 1 < config.epochs())
                {
                    inRange.record(epoch, testAccuracy, network.params());
                }
            }
            final EpochStats stats = new EpochStats(epoch, lossSum / batches, penaltySum / batches,
                (double)correct / seen, testAccuracy, seconds, seen / seconds);
            history.add(stats);
            final int done = epoch + 1 - firstEpoch;
            final double eta = trainedSecondsThisRun(history, firstEpoch) / done * (config.epochs() - epoch - 1);
            log.printf(Locale.ROOT, "epoch %2d/%d  loss %.4f  range %.4g  train %.2f %%  test %.2f %%  " +
                    "%.0f img/s  %.1f s  ETA %s%s%n", epoch + 1, config.epochs(), stats.loss(), stats.penalty(),
                PERCENT * stats.trainAccuracy(), PERCENT * testAccuracy, stats.imagesPerSecond(), seconds,
                minutes(eta), rangeNote);
            if (average != null && !finalEpoch)
            {
                average.swap();
            }
            if (finalEpoch && selectByRange &&
                exportsEarlierEpoch(outside, inRange.epoch(), inRange.testAccuracy(), testAccuracy))
            {
                // PILLAR's model selection: a model whose activation inputs escape [-r, r] can blow up under
                // encryption, so an epoch that kept them all inside wins over the escaping last one unless it is
                // clearly less accurate
                inRange.copyInto(network.params());
                log.printf(Locale.ROOT, "model selection: epoch %d escapes [-%s, %s]; exporting the weights of " +
                    "epoch %d (test %.2f %%), the latest whose test-set activation inputs all stayed inside%n",
                    epoch + 1, config.clip(), config.clip(), inRange.epoch() + 1,
                    PERCENT * inRange.testAccuracy());
            }
            else if (finalEpoch && selectByRange && outside > 0)
            {
                log.printf(Locale.ROOT, "model selection: epoch %d escapes [-%s, %s] but %s; exporting it%n",
                    epoch + 1, config.clip(), config.clip(), !inRange.present() ?
                        "no earlier epoch of this run kept every test-set activation input inside" :
                        String.format(Locale.ROOT, "the latest epoch that kept them all inside (%d, test %.2f %%) " +
                            "is more than %.1f points less accurate", inRange.epoch() + 1,
                            PERCENT * inRange.testAccuracy(),
                            PERCENT * SELECTION_TOLERANCE));
            }
            if (checkpoint != null)
            {
                Checkpoint.save(checkpoint, config, new Checkpoint.State(epoch + 1, step, history), network,
                    optimizer, inRange, average);
            }
        }
        return history;
    }

    /**
     * Scales the gradients of {@code params} down so that their joint L2 norm is at most {@code maxNorm}; leaves
     * them as they are if it already is. The squares are summed in parameter order in double, so the result does not
     * depend on the number of threads.
     *
     * @return the norm before clipping.
     */
    static double clipGradients(final List<Param> params, final double maxNorm)
    {
        double squares = 0;
        for (final Param p : params)
        {
            if (p.trainable())
            {
                squares += sumOfSquares(p.grad());
            }
        }
        final double norm = Math.sqrt(squares);
        if (norm > maxNorm)
        {
            final float scale = (float)(maxNorm / norm);
            for (final Param p : params)
            {
                if (p.trainable())
                {
                    scale(p.grad(), scale);
                }
            }
        }
        return norm;
    }

    private static double sumOfSquares(final float[] g)
    {
        double sum = 0;
        for (final float v : g)
        {
            sum += (double)v * v;
        }
        return sum;
    }

    private static void scale(final float[] g, final float factor)
    {
        for (int i = 0; i < g.length; i++)
        {
            g[i] *= factor;
        }
    }

    /**
     * PILLAR's model selection at the last epoch: export the latest earlier epoch whose test-set activation inputs
     * all stayed inside instead of the last one only if the last one lets {@code lastOutside} > 0 inputs escape
     * and that epoch ({@code inRangeEpoch}, -1 for none) is at most {@link #SELECTION_TOLERANCE} less accurate.
     */
    static boolean exportsEarlierEpoch(final long lastOutside, final int inRangeEpoch, final double inRangeAccuracy,
        final double lastAccuracy)
    {
        return lastOutside > 0 && inRangeEpoch >= 0 && inRangeAccuracy >= lastAccuracy - SELECTION_TOLERANCE;
    }

    /** PILLAR's in-range fallback of the latest {@link #train} call (for tests of resumption). */
    InRangeEpoch inRangeEpoch()
    {
        return inRange;
    }

    private static double trainedSecondsThisRun(final List<EpochStats> history, final int firstEpoch)
    {
        double s = 0;
        for (final EpochStats e : history)
        {
            s += e.epoch() >= firstEpoch ? e.seconds() : 0;
        }
        return s;
    }

    /** {@code 4m 05s}. */
    static String minutes(final double seconds)
    {
        final long s = Math.round(seconds);
        return String.format(Locale.ROOT, "%dm %02ds", s / SECONDS_PER_MINUTE, s % SECONDS_PER_MINUTE);
    }

    /** Fraction of items whose largest logit is the label. */
    static double accuracy(final float[] logits, final int[] labels)
    {
        final int classes = logits.length / labels.length;
        final int[] top = SoftmaxCrossEntropy.top1(logits, labels.length, classes);
        int correct = 0;
        for (int i = 0; i < labels.length; i++)
        {
            correct += top[i] == labels[i] ? 1 : 0;
        }
        return (double)correct / labels.length;
    }
}
