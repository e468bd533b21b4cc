package org.polypi.trainer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import org.polypi.datasets.Dataset;
import org.polypi.datasets.FashionMnist;
import org.polypi.kernels.WorkerPool;
import org.polypi.model.ModelFormat;
import org.polypi.model.ModelGraph;
import org.polypi.model.ModelHeader;
import org.polypi.model.ReferenceNetworks.Workload;

/**
 * Command line of the trainer:
 * <pre>
 *   mvn -q -pl trainer validate exec:exec -Dexec.mainClass=org.polypi.trainer.TrainerMain \
 *       -Dapp.args="--net lenet --act pillar --degree 4 --epochs 15 --out models/lenet-pillar4.pim"
 * </pre>
 * Trains on Fashion-MNIST (standardised, as the demo feeds the models), exports the model, evaluates it in float32
 * and fixed point and, with {@code --results DIR}, appends a row to DIR/training.csv and .md. Run with
 * {@code --help} for every option.
 */
public final class TrainerMain
{
    /** Exit status for bad options. */
    public static final int EXIT_USAGE = 2;
    /** Exit status when training, export or evaluation failed. */
    public static final int EXIT_FAILURE = 1;
    private static final double NANOS_PER_MINUTE = 60e9;
    private static final double PERCENT = 100.0;
    private static final double SECONDS_PER_MINUTE = 60.0;
    private static final int MINIONN_PADDING = 2;
    /** Default penalty range R as a fraction of the clip range r (4.8 / 5 in the released configs). */
    private static final double PENALTY_RANGE_RATIO = 0.96;
    private static final double DEFAULT_RELU_BUDGET = 0.5;
    private static final int DEFAULT_SEARCH_EPOCHS = 2;
    private static final double SENET_LEARNING_RATE = 0.001;
    private static final String USAGE = """
        usage: TrainerMain --net mlp|lenet|minionn --act relu|pillar|herpn|senet [options]
          --degree D            PILLAR polynomial degree, 2..8 (default 4)
          --epochs N            epochs (default 15)
          --batch N             batch size (default 128)
          --optimizer sgd|adam  (default sgd: Nesterov momentum 0.9)
          --lr X                peak learning rate of the cosine schedule (default 0.05; senet and --init 0.001)
          --momentum X          SGD momentum (default 0.9)
          --no-nesterov         plain momentum
          --wd X                weight decay (default 5e-4; decoupled for adam)
          --warmup-epochs X     linear learning-rate warm-up (default 1)
          --seed N              seed of weights, order and augmentation (default 1)
          --no-flip             no random horizontal flips
          --crop P              random crop with padding P (default 0: none)
          --train-limit N       train on the first N images only (quick runs)
          --test-limit N        test on the first N images only
          --clip R              PILLAR clip / fit range r (default 5)
          --penalty-range R     PILLAR penalty range (default 0.96 r, i.e. 4.8 for r = 5)
          --penalty-beta B      PILLAR penalty strength (default 5e-5)
          --penalty-gamma G     PILLAR penalty exponent, even (default 10)
          --no-penalty-warmup   no 4-epoch ramp of the penalty
          --tail-margin M       PILLAR tail term: inputs beyond +-M add W (|x| - M)^2 (with --tail-weight; default
                                off); zero inside M, so it pulls the rare escapes in without pressing on the bulk
          --tail-weight W       weight of the tail term (summed over elements, averaged over sites)
          --range-epoch         epoch 0 trains the range penalty only (as the released PILLAR code)
          --precision P         coefficient precision bits p (default 10)
          --fraction-bits F     fixed-point fraction in the header and evaluated first (default: chosen at
                                export: of f = 12 and 16, the one whose secure plan needs the fewest rounds
                                among those whose top-1 agrees with float32 on >= 99.8 % of the test images)
          --teacher FILE        the trained model to distil from (senet: the ReLU teacher, the student starts from it)
          --init FILE           relu/pillar: start from this trained model's weights (BatchNorm folded, so no
                                BatchNorm; default lr 0.001), its ReLU or Poly activations replaced by the run's
          --distill W           relu/pillar/herpn with --teacher: loss (1-W) CE + W T^2 KL, T = 4
          --grad-clip C         scale the gradient of all parameters down to L2 norm C when it is larger
                                (default 0: off)
          --ema D               relu/pillar/herpn: average the weights over steps with decay D (e.g. 0.999; default
                                off); the test accuracy, PILLAR's model selection and the export use the average
          --relu-budget X       senet: fraction of the teacher's ReLUs to keep (default 0.5)
          --search-epochs N     senet: mask-search epochs (default 2; --epochs = fine-tuning epochs)
          --out FILE            model file (default models/NET-ACT.pim)
          --checkpoint FILE     checkpoint after each epoch (default OUT.ckpt)
          --resume              continue from the checkpoint if it exists
          --results DIR         append the results to DIR/training.csv and DIR/training.md
          --notes FILE          markdown appended to DIR/training.md (e.g. the throughput measurement)
          --progress-seconds S  seconds between progress lines (default 15, 0: none)
          --data DIR            Fashion-MNIST directory (default /usr/share/datasets/fashion-mnist)
        """;

    private TrainerMain()
    {
    }

    /** Runs the command line and exits with {@link #run(String[], PrintStream, PrintStream)}'s status. */
    public static void main(final String[] args)
    {
        System.exit(run(args, System.out, System.err));
    }

    /**
     * The trainer's public entry point (what {@code polypi train} calls): parses {@code args} (the options of
     * {@code --help}), trains, exports the model and prints the progress, the per-epoch summaries and the final
     * report to {@code out}. Never exits the JVM and never throws for bad input.
     *
     * @param args command-line options, e.g. {@code --net lenet --act pillar --degree 4 --epochs 15 --out m.pim}.
     * @param out progress and report.
     * @param err one-line error messages (and the usage after a bad option).
     * @return 0 on success, {@link #EXIT_USAGE} (2) for bad options, {@link #EXIT_FAILURE} (1) if training or
     *     writing failed.
     */
    public static int run(final String[] args, final PrintStream out, final PrintStream err)
    {
        try
        {
            return train(args, out);
        }
        catch (final IllegalArgumentException e)
        {
            err.println("polypi train: " + e.getMessage());
            err.println("run with --help for the options");
            return EXIT_USAGE;
        }
        catch (final IOException | RuntimeException e)
        {
            err.println("polypi train: failed: " + e);
            e.printStackTrace(err);
            return EXIT_FAILURE;
        }
    }

    /** Parses {@code args}, trains, exports; returns the exit status. */
    static int train(final String[] args, final PrintStream out) throws IOException
    {
        final Options o = Options.parse(args);
        if (o.help)
        {
            out.print(USAGE);
            return 0;
        }
        final ModelGraph init = o.init == null ? null : ModelFormat.read(o.init);
        if (init != null)
        {
            o.config.init(Trainer.modelId(init, o.init.getFileName().toString()));
        }
        final ModelGraph teacher = o.teacher == null ? null : ModelFormat.read(o.teacher);
        if (teacher != null)
        {
            o.config.teacher(Trainer.modelId(teacher, o.teacher.getFileName().toString()));
        }
        final TrainConfig config = o.config.build();
        final Path model = o.out != null ? o.out : Path.of("models", defaultName(config));
        final Path checkpoint = o.checkpoint != null ? o.checkpoint :
            model.resolveSibling(model.getFileName() + ".ckpt");

        Dataset train = o.data == null ?
            FashionMnist.load(FashionMnist.Split.TRAIN, FashionMnist.STANDARD_NORMALIZATION) :
            FashionMnist.load(o.data, FashionMnist.Split.TRAIN, FashionMnist.STANDARD_NORMALIZATION);
        Dataset test = o.data == null ?
            FashionMnist.load(FashionMnist.Split.TEST, FashionMnist.STANDARD_NORMALIZATION) :
            FashionMnist.load(o.data, FashionMnist.Split.TEST, FashionMnist.STANDARD_NORMALIZATION);
        if (config.workload() == Workload.MINIONN_FASHION)
        {
            train = train.pad(MINIONN_PADDING);
            test = test.pad(MINIONN_PADDING);
        }
        if (config.activation() == ActivationChoice.SENET)
        {
            return senet(o, config, teacher, model, train, test, out);
        }
        final Trainer trainer = new Trainer(config, train, test, out, init);
        trainer.progressSeconds(o.progressSeconds);
        out.printf(Locale.ROOT, "PolyPI trainer: %s%n", config.signature());
        if (init != null)
        {
            out.printf(Locale.ROOT, "starting from the weights of %s (%s)%n", o.init, config.init());
        }
        if (teacher != null)
        {
            trainer.distillFrom(teacher);
            out.printf(Locale.ROOT, "distilling from %s (weight %s, temperature %s)%n", o.teacher,
                config.distillWeight(), Distillation.TEMPERATURE);
        }
        out.printf(Locale.ROOT, "kernels: %s, %d threads; %d training images, %d test images; optimizer %s%n",
            FloatOps.get().name(), WorkerPool.shared().threads(), trainer.trainData().count(),
            trainer.testData().count(), trainer.optimizer().describe());
        if (trainer.fit() != null)
        {
            out.println(trainer.fit());
        }
        out.print(trainer.network().summary());

        final long start = System.nanoTime();
        final List<EpochStats> history = trainer.train(checkpoint, o.resume);
        double minutes = 0;
        for (final EpochStats e : history)
        {
            minutes += e.seconds() / SECONDS_PER_MINUTE;
        }
        final Exporter.Report r = Exporter.export(trainer, history, minutes, model, config.evaluationBits());
        out.printf(Locale.ROOT, "exported %s (%,d bytes, format version %d, fingerprint %s) and %s%n", r.file(),
            r.bytes(), ModelFormat.version(r.model()), r.model().fingerprint().hex().substring(0, 16),
            Exporter.sidecar(model).getFileName());
        if (r.model().header().statistics().isEmpty())
        {
            out.println("no activation statistics in the header (format version 1): no activation site was measured, " +
                "or an activation input was NaN or infinite");
        }
        out.printf(Locale.ROOT, "test accuracy: trainer %.2f %%, float32 %.2f %%; trainer vs float32 logits differ " +
                "by at most %.2g (logits up to %.3g)%n", PERCENT * r.trainerAccuracy(), PERCENT * r.floatAccuracy(),
            r.maxLogitDifference(), r.maxLogit());
        for (final Exporter.FixedPointResult f : r.fixedPoint())
        {
            out.printf(Locale.ROOT, "fixed point f=%d: %.2f %%, top-1 equals float32 on %.2f %% of the test images%n",
                f.bits(), PERCENT * f.accuracy(), PERCENT * f.agreement());
        }
        out.println("activation inputs on the test set: " + r.overall());
        out.printf(Locale.ROOT, "training %.1f min, this run %.1f min wall-clock%n", minutes,
            (System.nanoTime() - start) / NANOS_PER_MINUTE);
        if (o.results != null)
        {
            ResultsTable.append(o.results, ResultsTable.row(trainer, minutes, r), o.notes);
            out.println("results appended to " + o.results.resolve("training.csv"));
        }
        return 0;
    }

    /** SENet from {@code --teacher}: sensitivity, mask search, fine-tuning, export. */
    private static int senet(final Options o, final TrainConfig config, final ModelGraph teacher, final Path model,
                             final Dataset train, final Dataset test, final PrintStream out) throws IOException
    {
        if (teacher == null)
        {
            throw new IllegalArgumentException("--act senet needs --teacher FILE (a trained ReLU model)");
        }
        final Senet senet = new Senet(config, teacher, train, test, out, o.reluBudget, o.searchEpochs);
        out.printf(Locale.ROOT, "PolyPI trainer: SENet from %s, ReLU budget %.2f, %d mask-search epochs; %s%n",
            o.teacher, o.reluBudget, o.searchEpochs, config.signature());
        final long start = System.nanoTime();
        final List<EpochStats> history = senet.train();
        double minutes = 0;
        for (final EpochStats e : history)
        {
            minutes += e.seconds() / SECONDS_PER_MINUTE;
        }
        final ResultsTable.Row row = senet.export(model, history, minutes);
        out.printf(Locale.ROOT, "exported %s (%,d bytes): %d of %d ReLUs; float32 %.2f %%%n", model, row.bytes(),
            senet.relus(), senet.teacherRelus(), PERCENT * row.floatAccuracy());
        for (final Exporter.FixedPointResult f : row.fixedPoint())
        {
            out.printf(Locale.ROOT, "fixed point f=%d: %.2f %%, top-1 equals float32 on %.2f %% of the test images%n",
                f.bits(), PERCENT * f.accuracy(), PERCENT * f.agreement());
        }
        out.printf(Locale.ROOT, "training %.1f min, this run %.1f min wall-clock%n", minutes,
            (System.nanoTime() - start) / NANOS_PER_MINUTE);
        if (o.results != null)
        {
            ResultsTable.append(o.results, row, o.notes);
            out.println("results appended to " + o.results.resolve("training.csv"));
        }
        return 0;
    }

    /** {@code lenet-pillar4.pim}, {@code mlp-relu.pim}. */
    static String defaultName(final TrainConfig c)
    {
        final String net = c.workload() == Workload.MINIONN_FASHION ? "minionn" : c.workload().id();
        final String act = c.activation() == ActivationChoice.PILLAR ? "pillar" + c.degree() : c.activation().id();
        return net + "-" + act + ".pim";
    }

    /** Parsed command line. */
    static final class Options
    {
        TrainConfig.Builder config;
        Path out;
        Path checkpoint;
        Path results;
        Path notes;
        Path teacher;
        Path init;
        double reluBudget = DEFAULT_RELU_BUDGET;
        int searchEpochs = DEFAULT_SEARCH_EPOCHS;
        Path data;
        boolean resume;
        boolean help;
        double progressSeconds = 15;

        static Options parse(final String[] args)
        {
            final Options o = new Options();
            String net = null;
            String act = null;
            for (final String a : args)
            {
                if ("--help".equals(a) || "-h".equals(a))
                {
                    o.help = true;
                    return o;
                }
            }
            for (int i = 0; i < args.length; i++)
            {
                if ("--net".equals(args[i]))
                {
                    net = value(args, ++i);
                }
                else if ("--act".equals(args[i]))
                {
                    act = value(args, ++i);
                }
            }
            if (net == null || act == null)
            {
                throw new IllegalArgumentException("--net and --act are required");
            }
            final Workload workload = "minionn".equalsIgnoreCase(net) ? Workload.MINIONN_FASHION :
                Workload.byId(net);
            o.config = TrainConfig.builder(workload, ActivationChoice.byId(act));
            boolean penaltyRangeGiven = false;
            boolean lrGiven = false;
            double tailMargin = Double.NaN;
            double tailWeight = 0;
            for (int i = 0; i < args.length; i++)
            {
                final String a = args[i];
                switch (a)
                {
                    case "--net", "--act" -> i++;
                    case "--degree" -> o.config.degree(integer(a, value(args, ++i)));
                    case "--epochs" -> o.config.epochs(integer(a, value(args, ++i)));
                    case "--batch" -> o.config.batchSize(integer(a, value(args, ++i)));
                    case "--optimizer" -> o.config.optimizer(value(args, ++i).toLowerCase(Locale.ROOT));
                    case "--lr" ->
                    {
                        o.config.learningRate(number(a, value(args, ++i)));
                        lrGiven = true;
                    }
                    case "--momentum" -> o.config.momentum(number(a, value(args, ++i)));
                    case "--no-nesterov" -> o.config.nesterov(false);
                    case "--wd" -> o.config.weightDecay(number(a, value(args, ++i)));
                    case "--warmup-epochs" -> o.config.warmupEpochs(number(a, value(args, ++i)));
                    case "--seed" -> o.config.seed(Long.parseLong(value(args, ++i)));
                    case "--no-flip" -> o.config.flip(false);
                    case "--crop" -> o.config.cropPadding(integer(a, value(args, ++i)));
                    case "--train-limit" -> o.config.trainLimit(integer(a, value(args, ++i)));
                    case "--test-limit" -> o.config.testLimit(integer(a, value(args, ++i)));
                    case "--clip" -> o.config.clip(number(a, value(args, ++i)));
                    case "--penalty-range" ->
                    {
                        o.config.penaltyRange(number(a, value(args, ++i)));
                        penaltyRangeGiven = true;
                    }
                    case "--penalty-beta" -> o.config.penaltyBeta(number(a, value(args, ++i)));
                    case "--penalty-gamma" -> o.config.penaltyGamma(integer(a, value(args, ++i)));
                    case "--no-penalty-warmup" -> o.config.penaltyWarmup(false);
                    case "--tail-margin" -> tailMargin = number(a, value(args, ++i));
                    case "--tail-weight" -> tailWeight = number(a, value(args, ++i));
                    case "--range-epoch" -> o.config.rangeOnlyFirstEpoch(true);
                    case "--precision" -> o.config.precisionBits(integer(a, value(args, ++i)));
                    case "--fraction-bits" -> o.config.fractionalBits(fractionBits(a, value(args, ++i)));
                    case "--out" -> o.out = Path.of(value(args, ++i));
                    case "--checkpoint" -> o.checkpoint = Path.of(value(args, ++i));
                    case "--resume" -> o.resume = true;
                    case "--results" -> o.results = Path.of(value(args, ++i));
                    case "--notes" -> o.notes = Path.of(value(args, ++i));
                    case "--teacher" -> o.teacher = Path.of(value(args, ++i));
                    case "--init" -> o.init = Path.of(value(args, ++i));
                    case "--distill" -> o.config.distillWeight(number(a, value(args, ++i)));
                    case "--ema" -> o.config.emaDecay(number(a, value(args, ++i)));
                    case "--grad-clip" -> o.config.gradClip(number(a, value(args, ++i)));
                    case "--relu-budget" -> o.reluBudget = number(a, value(args, ++i));
                    case "--search-epochs" -> o.searchEpochs = integer(a, value(args, ++i));
                    case "--data" -> o.data = Path.of(value(args, ++i));
                    case "--progress-seconds" -> o.progressSeconds = number(a, value(args, ++i));
                    default -> throw new IllegalArgumentException("unknown option " + a);
                }
            }
            if (tailWeight > 0 && Double.isNaN(tailMargin))
            {
                throw new IllegalArgumentException("--tail-weight needs --tail-margin");
            }
            if (!Double.isNaN(tailMargin) && !(tailWeight > 0))
            {
                throw new IllegalArgumentException("--tail-margin needs a positive --tail-weight");
            }
            o.config.tail(Double.isNaN(tailMargin) ? 0 : tailMargin, tailWeight);
            if (!lrGiven && o.config.activation == ActivationChoice.SENET)
            {
                // the SENet student starts from the folded teacher, without BatchNorm: fine-tuning needs a small rate
                o.config.learningRate(SENET_LEARNING_RATE);
            }
            if (!lrGiven && o.init != null)
            {
                // like the SENet student, a network started from a folded model has no BatchNorm
                o.config.learningRate(SENET_LEARNING_RATE);
            }
            if (o.config.activation == ActivationChoice.SENET && o.config.distillWeight > 0)
            {
                throw new IllegalArgumentException("--distill is for relu, pillar and herpn; senet distils by its " +
                    "own recipe from --teacher");
            }
            if (o.config.activation != ActivationChoice.SENET && (o.teacher != null) != (o.config.distillWeight > 0))
            {
                throw new IllegalArgumentException("--teacher and --distill go together for --act " + act);
            }
            if (!penaltyRangeGiven)
            {
                // the released configs put the penalty wall at 4.8 for the clip 5: keep that ratio
                o.config.penaltyRange(PENALTY_RANGE_RATIO * o.config.clip);
            }
            return o;
        }

        private static String value(final String[] args, final int i)
        {
            if (i >= args.length)
            {
                throw new IllegalArgumentException("option " + args[i - 1] + " needs a value");
            }
            return args[i];
        }

        private static int integer(final String option, final String v)
        {
            try
            {
                return Integer.parseInt(v);
            }
            catch (final NumberFormatException e)
            {
                throw new IllegalArgumentException(option + " needs an integer, got " + v, e);
            }
        }

        /** An explicit f: at least 1 (0 is the config's "chosen at export", the default). */
        private static int fractionBits(final String option, final String v)
        {
            final int f = integer(option, v);
            if (f < 1 || f > ModelHeader.MAX_FRACTIONAL_BITS)
            {
                throw new IllegalArgumentException(option + " must be 1.." + ModelHeader.MAX_FRACTIONAL_BITS +
                    ", got " + v);
            }
            return f;
        }

        private static double number(final String option, final String v)
        {
            try
            {
                return Double.parseDouble(v);
            }
            catch (final NumberFormatException e)
            {
                throw new IllegalArgumentException(option + " needs a number, got " + v, e);
            }
        }
    }
}
