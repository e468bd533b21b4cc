package org.polypi.trainer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import org.polypi.datasets.Dataset;
import org.polypi.model.ActivationStatistics;
import org.polypi.model.ModelFormat;
import org.polypi.model.ModelGraph;
import org.polypi.model.ModelHeader;
import org.polypi.model.reference.FixedPointInference;
import org.polypi.model.reference.FloatInference;

/**
 * Turns a trained {@link Network} into the deployable model and measures it: BatchNorm folded, HerPN as per-channel
 * quadratics, the header's activation bound set, written atomically with {@link ModelFormat}, read back (fingerprint
 * checked), then evaluated on the test set three ways: the trainer's own evaluation forward, {@link FloatInference}
 * and {@link FixedPointInference}.
 * <p>
 * The activation-range statistics of the test set (per site the inputs seen, how many fell outside {@code [-r, r]}
 * and the max |input|, from the trainer's evaluation forward) are measured before the model is written, so they go
 * into its header ({@link ActivationStatistics}, format version 2) in the one write. The JSON file next to the model
 * repeats them with the combined figure, the config, the accuracies and the per-epoch history; its fingerprint is
 * that of the file as written.
 * <p>
 * Unless the config names a fraction, the header's f is chosen after the evaluation ({@link FractionChoice}: the
 * fewest online rounds among the fractions that agree with float32 on 99.8 % of the test set) and the model is
 * rewritten with it if it is not the one first written.
 */
public final class Exporter
{
    /** Fixed-point fractions every export is evaluated at (besides the header's). */
    public static final int[] EVALUATED_FRACTIONAL_BITS = {12, 16};
    private static final double PERCENT = 100.0;

    private Exporter()
    {
    }

    /**
     * What an export produced and measured.
     *
     * @param model the exported graph.
     * @param file where it was written.
     * @param bytes file size.
     * @param sites range statistics per activation site, in graph order.
     * @param overall the sites' statistics combined.
     * @param trainerAccuracy test accuracy of the trainer's evaluation forward.
     * @param floatAccuracy test accuracy of {@link FloatInference} on the exported model.
     * @param fixedPoint {@link FixedPointInference} results, the header's fraction first, then the others of
     *     {@link #EVALUATED_FRACTIONAL_BITS}.
     * @param maxLogitDifference largest |logit| difference between the trainer and FloatInference.
     * @param maxLogit largest |logit| of the trainer (the scale of that difference).
     */
    public record Report(ModelGraph model, Path file, long bytes, Map<String, ActivationStats> sites,
                         ActivationStats overall, double trainerAccuracy, double floatAccuracy,
                         List<FixedPointResult> fixedPoint, double maxLogitDifference, double maxLogit)
    {
        /** Test accuracy in fixed point at the primary fraction. */
        public double fixedAccuracy()
        {
            return fixedPoint.getFirst().accuracy();
        }

        /** The primary fraction's bits. */
        public int fixedBits()
        {
            return fixedPoint.getFirst().bits();
        }

        /** Fraction of test images whose fixed-point (primary fraction) and float32 top-1 agree. */
        public double agreement()
        {
            return fixedPoint.getFirst().agreement();
        }

        /** The result at {@code bits}, or null if that fraction was not evaluated. */
        public FixedPointResult fixedPoint(final int bits)
        {
            return fixedPoint.stream().filter(r -> r.bits() == bits).findFirst().orElse(null);
        }
    }

    /**
     * Test-set result of {@link FixedPointInference} at one fraction.
     *
     * @param bits fractional bits f.
     * @param accuracy top-1 accuracy.
     * @param agreement fraction of images whose fixed-point and float32 top-1 agree.
     */
    public record FixedPointResult(int bits, double accuracy, double agreement)
    {
    }

    /**
     * The header of the exported model: the template's, with the activation bound r for ReLU and PILLAR models and,
     * for HerPN (whose quadratics see raw convolution outputs), the observed max |input| rounded up, at least r.
     */
    static ModelHeader header(final TrainConfig config, final ModelHeader template, final double maxAbs)
    {
        double bound = config.clip();
        if (config.activation() == ActivationChoice.HERPN && Double.isFinite(maxAbs))
        {
            bound = Math.max(bound, Math.ceil(maxAbs));
        }
        return new ModelHeader(template.architecture(), template.inputShape(), template.classNames(),
            config.evaluationBits(), (float)bound);
    }

    /**
     * The header statistics of per-site measurements over {@code images} images, in the map's (node) order, each
     * against its own bound as r. Empty if nothing was measured or some site saw a NaN or infinite input (a diverged
     * model): the header cannot hold a non-finite maximum, so such a model is written without statistics (version 1)
     * and only its JSON records the NaN.
     */
    static Optional<ActivationStatistics> statistics(final Map<String, ActivationStats> sites, final int images)
    {
        final List<ActivationStatistics.Site> list = new ArrayList<>(sites.size());
        for (final Map.Entry<String, ActivationStats> e : sites.entrySet())
        {
            final ActivationStats s = e.getValue();
            // the max of float inputs is a float, so the cast is exact; a non-finite one has no header encoding
            final float max = (float)s.maxAbs();
            if (!Float.isFinite(max))
            {
                return Optional.empty();
            }
            list.add(new ActivationStatistics.Site(e.getKey(), s.elements(), s.outside(), max, (float)s.bound()));
        }
        return list.isEmpty() ? Optional.empty() : Optional.of(new ActivationStatistics(images, list));
    }

    /**
     * Exports the trainer's network to {@code out} (and {@code out}.json) and evaluates it at {@code fixedBits}.
     *
     * @throws IOException if writing or reading back fails.
     * @throws IllegalStateException if the model read back differs from the one written.
     */
    public static Report export(final Trainer trainer, final List<EpochStats> history, final double minutes,
                                final Path out, final int fixedBits) throws IOException
    {
        final TrainConfig config = trainer.config();
        final Network network = trainer.network();
        final Dataset test = trainer.testData();
        final float[] images = test.toFloatArray();
        final int n = test.count();

        final Map<String, ActivationStats> sites = network.recordActivations(config.clip());
        final float[] trainerLogits = network.logits(images, n);
        network.recordActivations(null);
        final ActivationStats overall = ActivationStats.combined(sites.values(), config.clip());

        final ModelHeader plain = header(config, network.template().header(), overall.maxAbs());
        final Optional<ActivationStatistics> statistics = statistics(sites, n);
        final ModelGraph model = network.export(statistics.map(plain::withStatistics).orElse(plain));
        if (out.toAbsolutePath().getParent() != null)
        {
            Files.createDirectories(out.toAbsolutePath().getParent());
        }
        ModelGraph read = writeAndCheck(model, out);

        final float[] floatLogits = FloatInference.of(read).run(images, n).logits();
        double maxDiff = 0;
        double maxLogit = 0;
        for (int i = 0; i < floatLogits.length; i++)
        {
            maxDiff = Math.max(maxDiff, Math.abs(floatLogits[i] - trainerLogits[i]));
            maxLogit = Math.max(maxLogit, Math.abs(trainerLogits[i]));
        }
        final int[] floatTop = SoftmaxCrossEntropy.top1(floatLogits, n, network.classes());
        int floatCorrect = 0;
        for (int i = 0; i < n; i++)
        {
            floatCorrect += floatTop[i] == test.label(i) ? 1 : 0;
        }
        final List<FixedPointResult> fixed = new ArrayList<>();
        fixed.add(fixedPoint(read, fixedBits, images, floatTop, test));
        for (final int bits : EVALUATED_FRACTIONAL_BITS)
        {
            if (bits != fixedBits)
            {
                fixed.add(fixedPoint(read, bits, images, floatTop, test));
            }
        }
        if (config.fractionalBits() == TrainConfig.CHOSEN_AT_EXPORT)
        {
            final int chosen = FractionChoice.recommend(read, fixed);
            if (chosen != read.header().fractionalBits())
            {
                read = writeAndCheck(read.withHeader(read.header().withFractionalBits(chosen)), out);
            }
            // the header's fraction first, as the report promises
            fixed.sort(Comparator.comparingInt(r -> r.bits() == chosen ? 0 : 1));
        }
        final Report report = new Report(read, out, Files.size(out), sites, overall,
            Trainer.accuracy(trainerLogits, test.labels()), (double)floatCorrect / n, List.copyOf(fixed), maxDiff,
            maxLogit);
        Checkpoint.writeAtomically(sidecar(out), json(trainer, history, minutes, report)
            .getBytes(StandardCharsets.UTF_8));
        return report;
    }

    /** Writes {@code model} to {@code out} atomically and reads it back, checking the fingerprint. */
    static ModelGraph writeAndCheck(final ModelGraph model, final Path out) throws IOException
    {
        ModelFormat.write(model, out);
        final ModelGraph read = ModelFormat.read(out);
        if (!read.fingerprint().equals(model.fingerprint()))
        {
            throw new IllegalStateException("model read back from " + out + " differs from the one written");
        }
        return read;
    }

    /** {@link FixedPointInference} of {@code model} at {@code bits} over the test set, against the float32 top-1. */
    static FixedPointResult fixedPoint(final ModelGraph model, final int bits, final float[] images,
                                       final int[] floatTop, final Dataset test)
    {
        final int n = test.count();
        final int[] top = FixedPointInference.of(model, bits).top1(images, n);
        int correct = 0;
        int agree = 0;
        for (int i = 0; i < n; i++)
        {
            correct += top[i] == test.label(i) ? 1 : 0;
            agree += top[i] == floatTop[i] ? 1 : 0;
        }
        return new FixedPointResult(bits, (double)correct / n, (double)agree / n);
    }

    /** {@code model.pim} -> {@code model.json}. */
    public static Path sidecar(final Path model)
    {
        final String name = model.getFileName().toString();
        final int dot = name.lastIndexOf('.');
        return model.resolveSibling((dot > 0 ? name.substring(0, dot) : name) + ".json");
    }

    private static String json(final Trainer trainer, final List<EpochStats> history, final double minutes,
                               final Report r)
    {
        final TrainConfig c = trainer.config();
        final StringBuilder sb = new StringBuilder("{\n");
        sb.append("  \"config\": \"").append(c.signature()).append("\",\n");
        sb.append("  \"architecture\": \"").append(r.model().header().architecture()).append("\",\n");
        sb.append("  \"fingerprint\": \"").append(r.model().fingerprint().hex()).append("\",\n");
        if (trainer.fit() != null)
        {
            final PolynomialFit f = trainer.fit();
            sb.append(String.format(Locale.ROOT, "  \"polynomial\": {\"degree\": %d, \"range\": %s, " +
                    "\"precision_bits\": %d, \"numerators\": %s, \"max_fit_error\": %.6f},%n", f.degree(),
                f.range(), f.precisionBits(), Arrays.toString(f.numerators()), f.maxError()));
        }
        sb.append(String.format(Locale.ROOT, "  \"train_images\": %d,%n  \"test_images\": %d,%n  \"minutes\": %.2f,%n",
            trainer.trainData().count(), trainer.testData().count(), minutes));
        sb.append(String.format(Locale.ROOT, "  \"test_accuracy\": {\"trainer\": %.4f, \"float32\": %.4f, " +
                "\"max_logit_difference\": %.3g, \"max_logit\": %.3g, \"fixed_point\": [", PERCENT * r.trainerAccuracy(),
            PERCENT * r.floatAccuracy(), r.maxLogitDifference(), r.maxLogit()));
        for (int i = 0; i < r.fixedPoint().size(); i++)
        {
            final FixedPointResult f = r.fixedPoint().get(i);
            sb.append(String.format(Locale.ROOT, "%s{\"bits\": %d, \"accuracy\": %.4f, \"agreement\": %.4f}",
                i == 0 ? "" : ", ", f.bits(), PERCENT * f.accuracy(), PERCENT * f.agreement()));
        }
        sb.append("]},\n");
        sb.append(String.format(Locale.ROOT, "  \"activation_bound\": %s,%n",
            r.model().header().activationBound()));
        sb.append("  \"activation_inputs\": {\n");
        sb.append(String.format(Locale.ROOT, "    \"all\": %s", statsJson(r.overall())));
        for (final Map.Entry<String, ActivationStats> e : r.sites().entrySet())
        {
            sb.append(String.format(Locale.ROOT, ",%n    \"%s\": %s", e.getKey(), statsJson(e.getValue())));
        }
        sb.append("\n  },\n  \"epochs\": [\n");
        for (int i = 0; i < history.size(); i++)
        {
            final EpochStats e = history.get(i);
            sb.append(String.format(Locale.ROOT, "    {\"epoch\": %d, \"loss\": %.5f, \"penalty\": %.5g, " +
                    "\"train_accuracy\": %.4f, \"test_accuracy\": %.4f, \"seconds\": %.1f, " +
                    "\"images_per_second\": %.0f}%s%n", e.epoch() + 1, e.loss(), e.penalty(),
                PERCENT * e.trainAccuracy(), PERCENT * e.testAccuracy(), e.seconds(), e.imagesPerSecond(),
                i + 1 < history.size() ? "," : ""));
        }
        return sb.append("  ]\n}\n").toString();
    }

    private static String statsJson(final ActivationStats s)
    {
        return String.format(Locale.ROOT, "{\"elements\": %d, \"max_abs\": %.4f, \"outside\": %d, " +
            "\"outside_fraction\": %.3g, \"bound\": %s}", s.elements(), s.maxAbs(), s.outside(), s.outsideFraction(),
            s.bound());
    }
}
