package org.polypi.trainer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

import org.polypi.datasets.Dataset;
import org.polypi.model.Layer;
import org.polypi.model.ModelFormat;
import org.polypi.model.ModelGraph;
import org.polypi.model.Node;
import org.polypi.model.Shape;
import org.polypi.model.Tensor;

/**
 * SENet (seeds.md §4): a partial-ReLU network for a ReLU budget, distilled from a trained all-ReLU teacher.
 * <ol>
 *   <li>ReLU sensitivity: for each site, the increase of the training cross-entropy when that site alone is
 *       linearised (identity); keep fractions {@code f_l = min(1, c · s_l)} with c found by bisection so that
 *       {@code SUM f_l N_l} equals the budget.</li>
 *   <li>Mask search: masks start as random positions with probability f_l (per spatial position, repeated over
 *       channels); each epoch trains the student with {@code 0.5 CE + 0.5 KL_T} (temperature 4) and accumulates
 *       {@code D_l += SUM_batch |A_T - A_S|} of the post-activation maps; at the epoch's end the mask becomes the
 *       top-{@code floor(f_l N_l)} positions of D_l (the normalised Hamming distance to the previous mask is
 *       logged).</li>
 *   <li>Fine-tuning with the mask frozen: {@code 0.1 CE + 0.5 KL_T + 1000 SUM_l AT_l}, attention transfer
 *       {@code AT_l = mean (q(A_S) - q(A_T))^2}, {@code q(A) = vec(mean_c A^2) / ||.||_2}.</li>
 * </ol>
 * The student starts from the teacher's weights (the teacher is the exported model, BatchNorm already folded) and
 * is exported with {@link Layer.MaskedReLU} sites.
 */
public final class Senet
{
    private static final double SEARCH_CE = 0.5;
    private static final double SEARCH_KL = 0.5;
    private static final double TUNE_CE = 0.1;
    private static final double TUNE_KL = 0.5;
    private static final double TUNE_AT = 1000;
    /** Training images used to measure the sensitivities. */
    private static final int SENSITIVITY_IMAGES = 2000;
    private static final double MIN_SENSITIVITY = 1e-6;
    private static final int BISECTION_STEPS = 200;
    private static final double NANOS = 1e9;
    private static final double PERCENT = 100.0;
    private static final int EVAL_CHUNK = 250;
    private static final double PROGRESS_SECONDS = 60;
    /**
     * Largest global L2 norm of the student's gradient; a larger one is scaled down to it. The student has no
     * BatchNorm, and a deep one with most ReLUs linearised (W3 at 50 %) starts with activations and gradients so
     * large that a few steps at any learning rate overflowed float32 (NaN loss at step 3-4, even with lr 5e-4 in its
     * warm-up).
     */
    static final double MAX_GRADIENT_NORM = 5.0;

    private final TrainConfig config;
    private final Dataset train;
    private final Dataset test;
    private final PrintStream log;
    private final ModelGraph teacherGraph;
    private final Network teacher;
    private final Network student;
    private final List<Site> sites = new ArrayList<>();
    private final double budget;
    private final int searchEpochs;

    /** One ReLU site: its name, item shape, keep fraction and the accumulated teacher-student differences. */
    private static final class Site
    {
        final String name;
        final Shape shape;
        final int size;
        double sensitivity;
        double keep;
        int kept;
        double[] difference;

        Site(final String name, final Shape shape)
        {
            this.name = name;
            this.shape = shape;
            this.size = shape.size();
        }

        /** Channels of a feature map (the first dimension of C×H×W), 1 for a vector. */
        int channels()
        {
            return shape.rank() == 3 ? shape.dim(0) : 1;
        }
    }

    /**
     * A SENet run.
     *
     * @param config epochs = fine-tuning epochs, learning rate = peak of both stages' cosine schedules.
     * @param teacherModel the trained all-ReLU model (exported, BatchNorm folded).
     * @param budget fraction of the teacher's ReLUs the student keeps, in (0, 1].
     * @param searchEpochs epochs of mask search.
     * @throws IllegalArgumentException if the teacher has no ReLU, or the budget or epochs are out of range.
     */
    public Senet(final TrainConfig config, final ModelGraph teacherModel, final Dataset train, final Dataset test,
                 final PrintStream log, final double budget, final int searchEpochs)
    {
        if (!(budget > 0 && budget <= 1))
        {
            throw new IllegalArgumentException("ReLU budget must be in (0, 1], was " + budget);
        }
        if (searchEpochs < 0)
        {
            throw new IllegalArgumentException("search epochs must be >= 0, was " + searchEpochs);
        }
        Trainer.checkTeacher(config, teacherModel);
        this.config = config;
        this.train = config.trainLimit() > 0 && config.trainLimit() < train.count() ?
            train.slice(0, config.trainLimit()) : train;
        this.test = config.testLimit() > 0 && config.testLimit() < test.count() ?
            test.slice(0, config.testLimit()) : test;
        this.log = log;
        this.teacherGraph = teacherModel;
        this.budget = budget;
        this.searchEpochs = searchEpochs;
        // the teacher's activation statistics (if its file has them) describe the teacher's inputs, not the student's
        final ModelGraph.Builder b = ModelGraph.builder(teacherModel.header().withoutStatistics());
        b.input(teacherModel.inputs().getFirst().name(), teacherModel.inputs().getFirst().shape());
        for (final Node node : teacherModel.nodes())
        {
            Layer layer = node.layer();
            if (layer instanceof Layer.ReLU)
            {
                final Shape s = teacherModel.shape(node.name());
                sites.add(new Site(node.name(), s));
                layer = new Layer.MaskedReLU(Tensor.filled(s, 1f));
            }
            b.add(node.name(), layer, node.inputs().toArray(String[]::new));
        }
        if (sites.isEmpty())
        {
            throw new IllegalArgumentException("teacher " + teacherModel.header().architecture() + " has no ReLU");
        }
        final ModelGraph studentGraph = b.output(teacherModel.outputs().getFirst()).build();
        this.teacher = new Network(teacherModel, 0, null);
        this.student = new Network(studentGraph, 0, null);
    }

    /** The student network. */
    public Network student()
    {
        return student;
    }

    /** ReLUs per image the student keeps. */
    public long relus()
    {
        long n = 0;
        for (final Site s : sites)
        {
            n += s.kept;
        }
        return n;
    }

    /** ReLUs per image of the teacher. */
    public long teacherRelus()
    {
        long n = 0;
        for (final Site s : sites)
        {
            n += s.size;
        }
        return n;
    }

    /**
     * Runs the three stages; returns the per-epoch history (mask search, then fine-tuning).
     */
    public List<EpochStats> train()
    {
        sensitivities();
        keepFractions();
        initialMasks(new SplittableRandom(config.seed()));
        final List<EpochStats> history = new ArrayList<>();
        final BatchSource source = new BatchSource(train, config.flip(), config.cropPadding(), config.seed());
        final int total = searchEpochs + config.epochs();
        Sgd search = new Sgd(student.params(), config.momentum(), config.nesterov(), config.weightDecay());
        final int batches = source.batches(config.batchSize());
        CosineSchedule schedule = new CosineSchedule(config.learningRate(), 0, 0, (long)batches * searchEpochs);
        final long start = System.nanoTime();
        for (int epoch = 0; epoch < total; epoch++)
        {
            final boolean searching = epoch < searchEpochs;
            if (epoch == searchEpochs)
            {
                search = new Sgd(student.params(), config.momentum(), config.nesterov(), config.weightDecay());
                schedule = new CosineSchedule(config.learningRate(), 0, 0, (long)batches * config.epochs());
            }
            for (final Site s : sites)
            {
                s.difference = searching ? new double[s.size] : null;
            }
            final EpochStats stats = epoch(epoch, total, source, search, schedule, searching,
                (long)batches * (searching ? epoch : epoch - searchEpochs));
            history.add(stats);
            if (searching)
            {
                final double nhd = updateMasks();
                log.printf(Locale.ROOT, "  mask search epoch %d: new masks keep %d ReLUs, normalised Hamming " +
                    "distance to the previous masks %.4f%n", epoch + 1, relus(), nhd);
            }
            final double elapsed = (System.nanoTime() - start) / NANOS;
            log.printf(Locale.ROOT, "epoch %2d/%d (%s)  loss %.4f  train %.2f %%  test %.2f %%  %.0f img/s  " +
                    "%.1f s  ETA %s%n", epoch + 1, total, searching ? "mask search" : "fine-tune", stats.loss(),
                PERCENT * stats.trainAccuracy(), PERCENT * stats.testAccuracy(), stats.imagesPerSecond(),
                stats.seconds(), Trainer.minutes(elapsed / (epoch + 1) * (total - epoch - 1)));
        }
        return history;
    }

    private EpochStats epoch(final int epoch, final int total, final BatchSource source, final Sgd optimizer,
                             final CosineSchedule schedule, final boolean searching, final long firstStep)
    {
        final SplittableRandom random = source.random(epoch);
        final int[] order = source.shuffle(random);
        final int batches = source.batches(config.batchSize());
        final long start = System.nanoTime();
        long lastReport = start;
        double lossSum = 0;
        long correct = 0;
        long seen = 0;
        long clipped = 0;
        double largestNorm = 0;
        final int classes = student.classes();
        for (int b = 0; b < batches; b++)
        {
            final int from = b * config.batchSize();
            final int n = Math.min(config.batchSize(), source.count() - from);
            final float[] x = new float[n * source.imageSize()];
            final int[] y = new int[n];
            source.fill(order, from, n, random, x, y);
            final float[] teacherLogits = teacher.forward(x, n, false).clone();
            final Map<String, float[]> teacherMaps = new HashMap<>();
            for (final Site s : sites)
            {
                teacherMaps.put(s.name, teacher.output(s.name).clone());
            }
            student.zeroGrad();
            final float[] logits = student.forward(x, n, true);
            final SoftmaxCrossEntropy.Result ce = SoftmaxCrossEntropy.evaluate(logits, y, n, classes,
                searching ? SEARCH_CE : TUNE_CE);
            final float[] grad = ce.gradient();
            double loss = (searching ? SEARCH_CE : TUNE_CE) * ce.loss() +
                Distillation.loss(logits, teacherLogits, n, classes, searching ? SEARCH_KL : TUNE_KL, grad);
            final Map<String, float[]> extra = new HashMap<>();
            for (final Site s : sites)
            {
                final float[] a = student.output(s.name);
                final float[] t = teacherMaps.get(s.name);
                if (searching)
                {
                    for (int item = 0; item < n; item++)
                    {
                        final int base = item * s.size;
                        for (int i = 0; i < s.size; i++)
                        {
                            s.difference[i] += Math.abs(t[base + i] - a[base + i]);
                        }
                    }
                }
                else
                {
                    final float[] g = new float[a.length];
                    loss += attentionTransfer(a, t, n, s.channels(), s.size / s.channels(), TUNE_AT, g);
                    extra.put(s.name, g);
                }
            }
            student.backward(grad, n, extra);
            final double norm = clipGradientNorm(student.params(), MAX_GRADIENT_NORM);
            clipped += norm > MAX_GRADIENT_NORM ? 1 : 0;
            largestNorm = Math.max(largestNorm, norm);
            optimizer.step(schedule.at(firstStep + b));
            if (!Double.isFinite(loss))
            {
                throw new IllegalStateException("SENet diverged at epoch " + epoch + " step " + b +
                    " (the student has no BatchNorm: try a smaller --lr, e.g. 0.001)");
            }
            lossSum += loss;
            correct += ce.correct();
            seen += n;
            final long now = System.nanoTime();
            if ((now - lastReport) / NANOS >= PROGRESS_SECONDS)
            {
                lastReport = now;
                log.printf(Locale.ROOT, "  epoch %d/%d  step %d/%d  loss %.4f  train %.2f %%  %.0f img/s  " +
                        "gradient norm clipped in %d steps (largest %.3g)%n", epoch + 1, total, b + 1, batches,
                    lossSum / (b + 1), PERCENT * correct / seen, seen / ((now - start) / NANOS), clipped, largestNorm);
            }
        }
        final double seconds = (System.nanoTime() - start) / NANOS;
        return new EpochStats(epoch, lossSum / batches, 0, (double)correct / seen, testAccuracy(), seconds,
            seen / seconds);
    }

    /**
     * Scales every gradient of {@code params} by {@code max / norm} if their global L2 norm exceeds {@code max};
     * returns that norm (before scaling; infinite or NaN if a gradient is).
     */
    static double clipGradientNorm(final List<Param> params, final double max)
    {
        double sum = 0;
        for (final Param p : params)
        {
            for (final float g : p.grad())
            {
                sum += (double)g * g;
            }
        }
        final double norm = Math.sqrt(sum);
        if (norm > max && Double.isFinite(norm))
        {
            final float scale = (float)(max / norm);
            for (final Param p : params)
            {
                final float[] g = p.grad();
                for (int i = 0; i < g.length; i++)
                {
                    g[i] *= scale;
                }
            }
        }
        return norm;
    }

    /**
     * Attention transfer between student maps {@code a} and teacher maps {@code t} ({@code batch × channels ×
     * positions}): {@code weight · mean over batch and positions of (q(a) - q(t))^2}, {@code q(A) = v / ||v||},
     * {@code v = mean_c A^2}. Writes the gradient w.r.t. {@code a} into {@code grad} and returns the loss.
     */
    static double attentionTransfer(final float[] a, final float[] t, final int batch, final int channels,
                                    final int positions, final double weight, final float[] grad)
    {
        double loss = 0;
        final double[] vs = new double[positions];
        final double[] vt = new double[positions];
        final double[] gv = new double[positions];
        final double scale = weight / ((double)batch * positions);
        for (int item = 0; item < batch; item++)
        {
            final int base = item * channels * positions;
            Arrays.fill(vs, 0);
            Arrays.fill(vt, 0);
            for (int c = 0; c < channels; c++)
            {
                for (int p = 0; p < positions; p++)
                {
                    final double x = a[base + c * positions + p];
                    final double y = t[base + c * positions + p];
                    vs[p] += x * x / channels;
                    vt[p] += y * y / channels;
                }
            }
            final double ns = Math.max(norm(vs), Double.MIN_NORMAL);
            final double nt = Math.max(norm(vt), Double.MIN_NORMAL);
            double dot = 0;
            for (int p = 0; p < positions; p++)
            {
                final double d = vs[p] / ns - vt[p] / nt;
                loss += d * d;
                dot += vs[p] / ns * d;
            }
            // d/dv of ||v/|v| - q||^2 = 2/|v| (d - u (u . d)), d = u - q
            for (int p = 0; p < positions; p++)
            {
                final double u = vs[p] / ns;
                gv[p] = 2 / ns * ((u - vt[p] / nt) - u * dot) * scale;
            }
            for (int c = 0; c < channels; c++)
            {
                for (int p = 0; p < positions; p++)
                {
                    final int i = base + c * positions + p;
                    grad[i] = (float)(gv[p] * 2 * a[i] / channels);
                }
            }
        }
        return scale * loss;
    }

    private static double norm(final double[] v)
    {
        double s = 0;
        for (final double x : v)
        {
            s += x * x;
        }
        return Math.sqrt(s);
    }

    private double testAccuracy()
    {
        return Trainer.accuracy(student.logits(test.toFloatArray(), test.count()), test.labels());
    }

    /** Mean cross-entropy of the student in evaluation mode on the first training images. */
    private double crossEntropy(final float[] images, final int[] labels)
    {
        double sum = 0;
        final int n = labels.length;
        final int itemSize = images.length / n;
        for (int from = 0; from < n; from += EVAL_CHUNK)
        {
            final int items = Math.min(EVAL_CHUNK, n - from);
            final float[] chunk = Arrays.copyOfRange(images, from * itemSize, (from + items) * itemSize);
            final float[] logits = student.forward(chunk, items, false);
            sum += items * SoftmaxCrossEntropy.evaluate(logits, Arrays.copyOfRange(labels, from, from + items), items,
                student.classes(), 1).loss();
        }
        return sum / n;
    }

    /** Stage 1: the cross-entropy increase when each site alone is linearised. */
    private void sensitivities()
    {
        final Dataset subset = train.slice(0, Math.min(SENSITIVITY_IMAGES, train.count()));
        final float[] images = subset.toFloatArray();
        final int[] labels = subset.labels();
        final double base = crossEntropy(images, labels);
        for (final Site s : sites)
        {
            final MaskedReluLayer layer = (MaskedReluLayer)student.layer(s.name);
            final boolean[] all = layer.mask();
            layer.mask(new boolean[s.size]);
            s.sensitivity = Math.max(MIN_SENSITIVITY, crossEntropy(images, labels) - base);
            layer.mask(all);
            log.printf(Locale.ROOT, "  sensitivity of %s (%d ReLUs): cross-entropy %.4f -> +%.4f when linearised%n",
                s.name, s.size, base, s.sensitivity);
        }
    }

    /** Keep fractions {@code min(1, c · s_l)} with {@code SUM f_l N_l = budget · SUM N_l} (c by bisection). */
    private void keepFractions()
    {
        final double target = budget * teacherRelus();
        double lo = 0;
        double hi = 1;
        while (kept(hi) < target && hi < Double.MAX_VALUE / 2)
        {
            hi *= 2;
        }
        for (int i = 0; i < BISECTION_STEPS; i++)
        {
            final double mid = (lo + hi) / 2;
            if (kept(mid) < target)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }
        for (final Site s : sites)
        {
            s.keep = Math.min(1, hi * s.sensitivity);
            s.kept = (int)Math.min(s.size, Math.floor(s.keep * s.size));
            log.printf(Locale.ROOT, "  keep fraction of %s: %.4f (%d of %d ReLUs)%n", s.name, s.keep, s.kept, s.size);
        }
    }

    private double kept(final double c)
    {
        double n = 0;
        for (final Site s : sites)
        {
            n += Math.min(1, c * s.sensitivity) * s.size;
        }
        return n;
    }

    /** Random positions with probability f_l, per spatial position and repeated over the channels. */
    private void initialMasks(final SplittableRandom random)
    {
        for (final Site s : sites)
        {
            final int channels = s.channels();
            final int positions = s.size / channels;
            final boolean[] m = new boolean[s.size];
            for (int p = 0; p < positions; p++)
            {
                final boolean keep = random.nextDouble() < s.keep;
                for (int c = 0; c < channels; c++)
                {
                    m[c * positions + p] = keep;
                }
            }
            ((MaskedReluLayer)student.layer(s.name)).mask(m);
        }
    }

    /** New masks = top-k of the accumulated differences; returns the normalised Hamming distance to the old ones. */
    private double updateMasks()
    {
        double nhd = 0;
        for (final Site s : sites)
        {
            final MaskedReluLayer layer = (MaskedReluLayer)student.layer(s.name);
            final boolean[] old = layer.mask();
            final Integer[] index = new Integer[s.size];
            for (int i = 0; i < index.length; i++)
            {
                index[i] = i;
            }
            final double[] d = s.difference;
            // largest difference first; ties by position, so the mask is deterministic
            Arrays.sort(index, (x, y) -> d[x] != d[y] ? Double.compare(d[y], d[x]) : Integer.compare(x, y));
            final boolean[] m = new boolean[s.size];
            for (int i = 0; i < s.kept; i++)
            {
                m[index[i]] = true;
            }
            int changed = 0;
            for (int i = 0; i < m.length; i++)
            {
                changed += m[i] != old[i] ? 1 : 0;
            }
            nhd += (double)changed / s.size;
            layer.mask(m);
        }
        return nhd;
    }

    /**
     * Writes the student (MaskedReLU sites) to {@code out} atomically and a {@code .json} sidecar, evaluates it in
     * float32 and fixed point, and returns the results-table row. The activation statistics (every site's input,
     * from one float pass) are measured on the graph before its one atomic write,
     * so they are in its header; the sidecar's fingerprint is that of the file.
     */
    public ResultsTable.Row export(final Path out, final List<EpochStats> history, final double minutes)
        throws IOException
    {
        final ModelGraph plain = student.toModelGraph(teacherGraph.header().withoutStatistics());
        final float[] images = test.toFloatArray();
        final int n = test.count();
        // measured on the graph in memory, which the file encodes exactly, so the model is written once
        final Map<String, ActivationStats> siteStats = EvaluateMain.siteInputs(plain, images, n, config.clip());
        final ActivationStats stats = ActivationStats.combined(siteStats.values(), config.clip());
        final ModelGraph model = Exporter.statistics(siteStats, n)
            .map(st -> plain.withHeader(plain.header().withStatistics(st))).orElse(plain);
        if (out.toAbsolutePath().getParent() != null)
        {
            Files.createDirectories(out.toAbsolutePath().getParent());
        }
        ModelFormat.write(model, out);
        final ModelGraph read = ModelFormat.read(out);
        if (!read.fingerprint().equals(model.fingerprint()))
        {
            throw new IllegalStateException("model read back from " + out + " differs from the one written");
        }
        final int[] floatTop = org.polypi.model.reference.FloatInference.of(read).top1(images, n);
        int correct = 0;
        for (int i = 0; i < n; i++)
        {
            correct += floatTop[i] == test.label(i) ? 1 : 0;
        }
        final List<Exporter.FixedPointResult> fixed = new ArrayList<>();
        for (final int bits : Exporter.EVALUATED_FRACTIONAL_BITS)
        {
            fixed.add(Exporter.fixedPoint(read, bits, images, floatTop, test));
        }
        final StringBuilder sb = new StringBuilder("{\n");
        sb.append("  \"config\": \"").append(config.signature()).append("\",\n");
        sb.append("  \"architecture\": \"").append(read.header().architecture()).append("\",\n");
        sb.append("  \"fingerprint\": \"").append(read.fingerprint().hex()).append("\",\n");
        sb.append(String.format(Locale.ROOT, "  \"senet\": {\"budget\": %s, \"search_epochs\": %d, " +
            "\"relus\": %d, \"teacher_relus\": %d, \"sites\": [", budget, searchEpochs, relus(), teacherRelus()));
        for (int i = 0; i < sites.size(); i++)
        {
            final Site s = sites.get(i);
            sb.append(String.format(Locale.ROOT, "%s{\"name\": \"%s\", \"sensitivity\": %.5g, \"keep\": %.5f, " +
                "\"relus\": %d, \"size\": %d}", i == 0 ? "" : ", ", s.name, s.sensitivity, s.keep, s.kept, s.size));
        }
        sb.append("]},\n");
        sb.append(String.format(Locale.ROOT, "  \"train_images\": %d,%n  \"test_images\": %d,%n  \"minutes\": %.2f,%n",
            train.count(), n, minutes));
        sb.append(String.format(Locale.ROOT, "  \"test_accuracy\": {\"float32\": %.4f, \"fixed_point\": [",
            PERCENT * correct / n));
        for (int i = 0; i < fixed.size(); i++)
        {
            final Exporter.FixedPointResult f = fixed.get(i);
            sb.append(String.format(Locale.ROOT, "%s{\"bits\": %d, \"accuracy\": %.4f, \"agreement\": %.4f}",
                i == 0 ? "" : ", ", f.bits(), PERCENT * f.accuracy(), PERCENT * f.agreement()));
        }
        sb.append("]},\n  \"epochs\": [\n");
        for (int i = 0; i < history.size(); i++)
        {
            final EpochStats e = history.get(i);
            sb.append(String.format(Locale.ROOT, "    {\"epoch\": %d, \"loss\": %.5f, \"train_accuracy\": %.4f, " +
                    "\"test_accuracy\": %.4f, \"seconds\": %.1f}%s%n", e.epoch() + 1, e.loss(),
                PERCENT * e.trainAccuracy(), PERCENT * e.testAccuracy(), e.seconds(),
                i + 1 < history.size() ? "," : ""));
        }
        sb.append("  ]\n}\n");
        Checkpoint.writeAtomically(Exporter.sidecar(out), sb.toString().getBytes(StandardCharsets.UTF_8));
        return new ResultsTable.Row(config, train.count(), n, minutes, (double)correct / n, List.copyOf(fixed),
            stats, read.comparisons(), out, Files.size(out));
    }
}
