package org.polypi.trainer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.polypi.datasets.Dataset;
import org.polypi.datasets.FashionMnist;
import org.polypi.model.ActivationStatistics;
import org.polypi.model.Fingerprint;
import org.polypi.model.Layer;
import org.polypi.model.ModelFormat;
import org.polypi.model.ModelGraph;
import org.polypi.model.Node;
import org.polypi.model.ReferenceNetworks.Workload;
import org.polypi.model.reference.FloatInference;

/**
 * Re-measures exported model files on the Fashion-MNIST test set, independently of the trainer that produced them,
 * and writes the results table:
 * <pre>
 *   EvaluateMain --results ../bench/results [--notes FILE] [--test-limit N] models/w2-pillar4.pim ...
 *   EvaluateMain --results ../bench/results --notes FILE      (no models: only regenerate training.md)
 * </pre>
 * For each model: float32 accuracy ({@link FloatInference}), fixed-point accuracy and agreement with float32 at
 * f = 12 and 16, and the range of every activation input (each site's input, seen in one float32 pass). The run's config, training minutes and image counts come from the model's {@code .json} sidecar.
 * <p>
 * With {@code --write-statistics} it instead measures those activation inputs per site on the test set (its first
 * {@code --test-limit} images) and rewrites each model file atomically with them in its header (format version 2):
 * <pre>
 *   EvaluateMain --write-statistics [--range R] [--test-limit N] models/w2-pillar4.pim ...
 * </pre>
 * r is {@code --range} or else the header's activation bound. Images are zero-padded to the model's input size (W3's
 * 32x32). A {@code .json} sidecar whose fingerprint is the old file's gets the new one; no sidecar is needed.
 * <p>
 * With {@code --recommend-bits} it measures the fixed-point agreement at f = 12 and 16 and rewrites each model file
 * atomically with the fraction {@link FractionChoice} recommends in its header (the sidecar as above), if it differs:
 * <pre>
 *   EvaluateMain --recommend-bits [--test-limit N] models/w2-pillar4.pim ...
 * </pre>
 */
public final class EvaluateMain
{
    private static final int MINIONN_PADDING = 2;
    private static final double PERCENT = 100.0;
    private static final Pattern NUMBER = Pattern.compile("\"%s\": ([0-9.eE+-]+)");

    private EvaluateMain()
    {
    }

    /** Runs {@link #run}; exits with its status. */
    public static void main(final String[] args)
    {
        System.exit(run(args, System.out, System.err));
    }

    /**
     * Evaluates the model files named in {@code args} and appends their rows to the results table.
     *
     * @return 0 on success, 2 for bad options, 1 if a model could not be read or evaluated.
     */
    public static int run(final String[] args, final PrintStream out, final PrintStream err)
    {
        Path results = null;
        Path notes = null;
        int testLimit = 0;
        boolean writeStatistics = false;
        boolean recommendBits = false;
        Float range = null;
        final List<Path> models = new ArrayList<>();
        try
        {
            for (int i = 0; i < args.length; i++)
            {
                switch (args[i])
                {
                    case "--results" -> results = Path.of(value(args, ++i));
                    case "--notes" -> notes = Path.of(value(args, ++i));
                    case "--test-limit" -> testLimit = Integer.parseInt(value(args, ++i));
                    case "--write-statistics" -> writeStatistics = true;
                    case "--recommend-bits" -> recommendBits = true;
                    case "--range" -> range = range(value(args, ++i));
                    default ->
                    {
                        if (args[i].startsWith("--"))
                        {
                            throw new IllegalArgumentException("unknown option " + args[i]);
                        }
                        models.add(Path.of(args[i]));
                    }
                }
            }
            final boolean rewrites = writeStatistics || recommendBits;
            if (models.isEmpty() && (results == null || rewrites))
            {
                throw new IllegalArgumentException("no model files given");
            }
            if (writeStatistics && recommendBits)
            {
                throw new IllegalArgumentException("--write-statistics and --recommend-bits are separate runs");
            }
            if (rewrites && (results != null || notes != null))
            {
                throw new IllegalArgumentException((writeStatistics ? "--write-statistics" : "--recommend-bits") +
                    " rewrites model files; it takes no --results or --notes");
            }
            if (range != null && !writeStatistics)
            {
                throw new IllegalArgumentException("--range only applies to --write-statistics");
            }
            if (testLimit < 0)
            {
                throw new IllegalArgumentException("--test-limit must be >= 0, was " + testLimit);
            }
        }
        catch (final IllegalArgumentException e)
        {
            err.println("evaluate: " + e.getMessage());
            err.println("usage: EvaluateMain [--results DIR] [--notes FILE] [--test-limit N] MODEL.pim...");
            err.println("       EvaluateMain --write-statistics [--range R] [--test-limit N] MODEL.pim...");
            err.println("       EvaluateMain --recommend-bits [--test-limit N] MODEL.pim...");
            return TrainerMain.EXIT_USAGE;
        }
        try
        {
            if (writeStatistics)
            {
                final Dataset test = FashionMnist.load(FashionMnist.Split.TEST, FashionMnist.STANDARD_NORMALIZATION);
                for (final Path model : models)
                {
                    writeStatistics(model, test, testLimit, range, out);
                }
                return 0;
            }
            if (recommendBits)
            {
                final Dataset test = FashionMnist.load(FashionMnist.Split.TEST, FashionMnist.STANDARD_NORMALIZATION);
                for (final Path model : models)
                {
                    recommendBits(model, test, testLimit, out);
                }
                return 0;
            }
            if (models.isEmpty())
            {
                // no models: only regenerate the markdown from the CSV (e.g. after editing the notes)
                ResultsTable.rewrite(results, notes);
                return 0;
            }
            final Dataset test = FashionMnist.load(FashionMnist.Split.TEST, FashionMnist.STANDARD_NORMALIZATION);
            for (final Path model : models)
            {
                final ResultsTable.Row row = evaluate(model, test, testLimit);
                out.printf(Locale.ROOT, "%s: %s %s, float32 %.2f %%", model, row.config().workload().id(),
                    row.config().activation().id(), PERCENT * row.floatAccuracy());
                for (final Exporter.FixedPointResult f : row.fixedPoint())
                {
                    out.printf(Locale.ROOT, ", f=%d %.2f %% (agree %.2f %%)", f.bits(), PERCENT * f.accuracy(),
                        PERCENT * f.agreement());
                }
                out.printf(Locale.ROOT, "; activation inputs %s%n", row.activations());
                if (results != null)
                {
                    ResultsTable.append(results, row, notes);
                }
            }
            return 0;
        }
        catch (final IOException | RuntimeException e)
        {
            err.println("evaluate: failed: " + e);
            e.printStackTrace(err);
            return TrainerMain.EXIT_FAILURE;
        }
    }

    /** Measures {@code file} (and reads its sidecar) on {@code test} (its first {@code limit} images if > 0). */
    static ResultsTable.Row evaluate(final Path file, final Dataset fullTest, final int limit) throws IOException
    {
        final ModelGraph model = ModelFormat.read(file);
        final String json = Files.readString(Exporter.sidecar(file));
        final TrainConfig config = config(json);
        Dataset test = limit > 0 && limit < fullTest.count() ? fullTest.slice(0, limit) : fullTest;
        if (config.workload() == Workload.MINIONN_FASHION)
        {
            test = test.pad(MINIONN_PADDING);
        }
        final float[] images = test.toFloatArray();
        final int n = test.count();
        final int[] floatTop = FloatInference.of(model).top1(images, n);
        int correct = 0;
        for (int i = 0; i < n; i++)
        {
            correct += floatTop[i] == test.label(i) ? 1 : 0;
        }
        final List<Exporter.FixedPointResult> fixed = new ArrayList<>();
        for (final int bits : Exporter.EVALUATED_FRACTIONAL_BITS)
        {
            fixed.add(Exporter.fixedPoint(model, bits, images, floatTop, test));
        }
        final ActivationStats stats = activationInputs(model, images, n, config.clip());
        return new ResultsTable.Row(config, (int)number(json, "train_images"), n, number(json, "minutes"),
            (double)correct / n, List.copyOf(fixed), stats, model.comparisons(), file, Files.size(file));
    }

    /**
     * The range of every activation input of {@code model} on {@code images}, all sites combined
     * ({@link #siteInputs}).
     */
    static ActivationStats activationInputs(final ModelGraph model, final float[] images, final int n,
                                            final double bound)
    {
        return ActivationStats.combined(siteInputs(model, images, n, bound).values(), bound);
    }

    /**
     * The range of the input of every activation site of {@code model} on {@code images}, against
     * {@code [-bound, bound]}, by site name in node order, from one float32 pass over the graph
     * ({@link FloatInference}, what the engine's plaintext reference computes).
     */
    static Map<String, ActivationStats> siteInputs(final ModelGraph model, final float[] images, final int n,
                                                  final double bound)
    {
        final Map<String, ActivationStats> sites = new LinkedHashMap<>();
        final Map<String, List<ActivationStats>> byInput = new HashMap<>();
        for (final Node site : model.nodes())
        {
            if (isActivation(site.layer()))
            {
                final ActivationStats stats = new ActivationStats(bound);
                sites.put(site.name(), stats);
                byInput.computeIfAbsent(site.input(), k -> new ArrayList<>()).add(stats);
            }
        }
        if (sites.isEmpty())
        {
            return sites;
        }
        FloatInference.of(model).run(images, n, (node, values, items) ->
        {
            final List<ActivationStats> readers = byInput.get(node);
            if (readers != null)
            {
                readers.forEach(stats -> stats.record(values, 0, values.length));
            }
        });
        return sites;
    }

    /** The sites that are measured: those {@link ActivationStatistics} accepts (not Identity). */
    static boolean isActivation(final Layer layer)
    {
        return ActivationStatistics.isSiteLayer(layer);
    }

    /**
     * Measures the activation inputs of the model in {@code file} on {@code fullTest} (its first {@code limit}
     * images if > 0) against {@code range} (null: the header's activation bound), writes the model back atomically
     * with them in its header, and updates the fingerprint of a sidecar that described the old file.
     *
     * @return the model as written.
     * @throws IOException if reading or writing fails.
     * @throws IllegalArgumentException if the model has no measurable site, its input does not fit the images, or a
     *     site's input is NaN or infinite (a maximum the header cannot hold).
     */
    static ModelGraph writeStatistics(final Path file, final Dataset fullTest, final int limit, final Float range,
                                      final PrintStream out) throws IOException
    {
        final ModelGraph model = ModelFormat.read(file);
        final Dataset test = fitted(model, limit > 0 && limit < fullTest.count() ? fullTest.slice(0, limit) :
            fullTest);
        final float r = range != null ? range : model.header().activationBound();
        final int n = test.count();
        final Map<String, ActivationStats> sites = siteInputs(model, test.toFloatArray(), n, r);
        if (sites.isEmpty())
        {
            throw new IllegalArgumentException(file + ": no ReLU, Poly, ChannelPoly or MaskedReLU site to measure");
        }
        final ActivationStatistics statistics = Exporter.statistics(sites, n).orElseThrow(() ->
            new IllegalArgumentException(file + ": an activation input is NaN or infinite: " + sites));
        final ModelGraph written = Exporter.writeAndCheck(model.withHeader(model.header().withStatistics(statistics)),
            file);
        out.printf(Locale.ROOT, "%s: activation statistics of %d sites over %d images against r = %s written " +
            "(format version %d, fingerprint %s, was %s)%n", file, statistics.sites().size(), n, r,
            ModelFormat.version(written), written.fingerprint().hex(), model.fingerprint().hex());
        for (final ActivationStatistics.Site s : statistics.sites())
        {
            out.printf(Locale.ROOT, "  %s: max |x| %.4f, %d of %d (%.3g) outside [-%s, %s]%n", s.node(), s.maxAbs(),
                s.outside(), s.elements(), s.outsideFraction(), s.range(), s.range());
        }
        updateSidecar(file, model.fingerprint(), written.fingerprint(), out);
        return written;
    }

    /**
     * Measures {@code file}'s fixed-point agreement with float32 at f = 12 and 16 on {@code fullTest} (its first
     * {@code limit} images if > 0) and, if {@link FractionChoice} recommends another f than its header's, rewrites it
     * atomically with that f (and points a sidecar that named the old fingerprint at the new one).
     *
     * @return the model as it is now in {@code file}.
     * @throws IOException if reading or writing fails.
     */
    static ModelGraph recommendBits(final Path file, final Dataset fullTest, final int limit, final PrintStream out)
        throws IOException
    {
        final ModelGraph model = ModelFormat.read(file);
        final Dataset test = fitted(model, limit > 0 && limit < fullTest.count() ? fullTest.slice(0, limit) :
            fullTest);
        final float[] images = test.toFloatArray();
        final int[] floatTop = FloatInference.of(model).top1(images, test.count());
        final List<Exporter.FixedPointResult> fixed = new ArrayList<>();
        out.printf(Locale.ROOT, "%s (header f = %d), %d images:", file, model.header().fractionalBits(), test.count());
        for (final int bits : Exporter.EVALUATED_FRACTIONAL_BITS)
        {
            final Exporter.FixedPointResult r = Exporter.fixedPoint(model, bits, images, floatTop, test);
            fixed.add(r);
            out.printf(Locale.ROOT, " f=%d agrees on %.2f %%, %d online rounds;", bits, PERCENT * r.agreement(),
                FractionChoice.onlineRounds(model, bits));
        }
        final int chosen = FractionChoice.recommend(model, fixed);
        if (chosen == model.header().fractionalBits())
        {
            out.printf(Locale.ROOT, " f = %d kept%n", chosen);
            return model;
        }
        final ModelGraph written = Exporter.writeAndCheck(
            model.withHeader(model.header().withFractionalBits(chosen)), file);
        out.printf(Locale.ROOT, " f = %d written (fingerprint %s, was %s)%n", chosen, written.fingerprint().hex(),
            model.fingerprint().hex());
        updateSidecar(file, model.fingerprint(), written.fingerprint(), out);
        return written;
    }

    /** {@code test} zero-padded, centred, to the model's input size (W3 takes 32x32 images). */
    static Dataset fitted(final ModelGraph model, final Dataset test)
    {
        final int[] in = model.header().inputShape().toArray();
        if (in.length != 3 || in[0] != test.channels() || in[1] < test.height() || in[2] < test.width())
        {
            throw new IllegalArgumentException("model " + model.header().architecture() + " takes " +
                model.header().inputShape() + ", which " + test.channels() + "x" + test.height() + "x" +
                test.width() + " test images cannot be padded to");
        }
        return in[1] == test.height() && in[2] == test.width() ? test : test.padTo(in[1], in[2]);
    }

    /** Points the sidecar of {@code file}, if it described the old file, at the new fingerprint. */
    private static void updateSidecar(final Path file, final Fingerprint old, final Fingerprint now,
                                      final PrintStream out) throws IOException
    {
        final Path json = Exporter.sidecar(file);
        if (!Files.isRegularFile(json))
        {
            return;
        }
        final String text = Files.readString(json);
        final String before = "\"fingerprint\": \"" + old.hex() + "\"";
        if (!text.contains(before))
        {
            out.println("  " + json + " does not name the old fingerprint " + old.hex() + "; left as it is");
            return;
        }
        Checkpoint.writeAtomically(json, text.replace(before, "\"fingerprint\": \"" + now.hex() + "\"")
            .getBytes(StandardCharsets.UTF_8));
        out.println("  " + json + ": fingerprint updated");
    }

    private static Float range(final String text)
    {
        final float r = Float.parseFloat(text);
        if (!(r > 0) || Float.isInfinite(r))
        {
            throw new IllegalArgumentException("--range must be finite and positive, was " + text);
        }
        return r;
    }

    /** The config of a sidecar's {@code config} signature. */
    static TrainConfig config(final String json)
    {
        final Matcher m = Pattern.compile("\"config\": \"([^\"]*)\"").matcher(json);
        if (!m.find())
        {
            throw new IllegalArgumentException("sidecar has no config signature");
        }
        final Map<String, String> kv = new HashMap<>();
        for (final String pair : m.group(1).trim().split(" +"))
        {
            final int eq = pair.indexOf('=');
            kv.put(pair.substring(0, eq), pair.substring(eq + 1));
        }
        return TrainConfig.builder(Workload.byId(kv.get("net")), ActivationChoice.byId(kv.get("act")))
            .degree(Integer.parseInt(kv.get("degree"))).epochs(Integer.parseInt(kv.get("epochs")))
            .batchSize(Integer.parseInt(kv.get("batch"))).optimizer(kv.get("opt"))
            .learningRate(Double.parseDouble(kv.get("lr"))).momentum(Double.parseDouble(kv.get("momentum")))
            .nesterov(Boolean.parseBoolean(kv.get("nesterov"))).weightDecay(Double.parseDouble(kv.get("wd")))
            .warmupEpochs(Double.parseDouble(kv.get("warmup"))).seed(Long.parseLong(kv.get("seed")))
            .flip(Boolean.parseBoolean(kv.get("flip"))).cropPadding(Integer.parseInt(kv.get("crop")))
            .trainLimit(Integer.parseInt(kv.get("train"))).testLimit(Integer.parseInt(kv.get("test")))
            .clip(Double.parseDouble(kv.get("clip"))).penaltyRange(Double.parseDouble(kv.get("R")))
            .penaltyBeta(Double.parseDouble(kv.get("beta"))).penaltyGamma(Integer.parseInt(kv.get("gamma")))
            .penaltyWarmup(Boolean.parseBoolean(kv.get("penaltyWarmup")))
            .rangeOnlyFirstEpoch(Boolean.parseBoolean(kv.get("rangeEpoch")))
            .precisionBits(Integer.parseInt(kv.get("p")))
            .fractionalBits(TrainConfig.AUTO.equals(kv.get("f")) ? TrainConfig.CHOSEN_AT_EXPORT :
                Integer.parseInt(kv.get("f")))
            .distillWeight(Double.parseDouble(kv.getOrDefault("kd", "0"))).init(kv.getOrDefault("init", ""))
            .tail(Double.parseDouble(kv.getOrDefault("tail", "0")),
                Double.parseDouble(kv.getOrDefault("tailWeight", "0")))
            .emaDecay(Double.parseDouble(kv.getOrDefault("ema", "0"))).teacher(kv.getOrDefault("teacher", ""))
            .gradClip(Double.parseDouble(kv.getOrDefault("gradClip", "0")))
            .build();
    }

    private static double number(final String json, final String key)
    {
        final Matcher m = Pattern.compile(String.format(Locale.ROOT, NUMBER.pattern(), key)).matcher(json);
        if (!m.find())
        {
            throw new IllegalArgumentException("sidecar has no " + key);
        }
        return Double.parseDouble(m.group(1));
    }

    private static String value(final String[] args, final int i)
    {
        if (i >= args.length)
        {
            throw new IllegalArgumentException("option " + args[i - 1] + " needs a value");
        }
        return args[i];
    }
}
