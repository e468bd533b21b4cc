package org.polypi.trainer;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.polypi.model.ReferenceNetworks.Workload;

/**
 * The training results table: one CSV row per model in {@code training.csv}, and {@code training.md} regenerated
 * from the CSV (the rows, the goals with PASS / MISS, and an optional notes file, e.g. the throughput
 * measurement). Each row carries the machine and the commit, so the numbers can be traced. Rows come from
 * {@link TrainerMain} ({@code --results}) or from {@link EvaluateMain}, which re-measures committed model files.
 */
public final class ResultsTable
{
    /** The optimizer and schedule every workload starts from (the same for all; only the defaults are read). */
    private static final TrainConfig DEFAULTS = TrainConfig.defaults(Workload.MLP, ActivationChoice.RELU);
    /** The augmentation column of the default recipe: random horizontal flips, no crops. */
    private static final String DEFAULT_AUGMENTATION = augmentation(DEFAULTS);
    /** CSV columns, in order. */
    static final List<String> COLUMNS = List.of("date", "commit", "machine", "net", "activation", "degree", "epochs",
        "batch", "optimizer", "lr", "seed", "train_images", "test_images", "clip", "minutes", "test_acc_float32",
        "test_acc_fixed12", "agree_fixed12", "test_acc_fixed16", "agree_fixed16", "act_max_abs",
        "act_outside_fraction", "relus", "model", "model_bytes", "distill", "init", "tail", "weight_decay", "warmup",
        "ema", "teacher", "grad_clip", "augmentation");
    /**
     * The columns that make a training recipe: rows equal in all of them differ only by seed, and the goals use
     * their mean (the issue asks for the mean of 3 seeds where time allows).
     */
    private static final List<String> RECIPE = List.of("net", "activation", "degree", "epochs", "batch", "optimizer",
        "lr", "train_images", "test_images", "clip", "distill", "init", "tail", "weight_decay", "warmup", "ema",
        "teacher", "grad_clip", "augmentation");
    /**
     * Columns added after the first layout, in order, with the value older rows had: none of distillation, a start
     * model or the tail term, the default weight decay and warm-up (every run before those two columns used
     * them: the 78 sidecars of that time all say {@code wd=5.0E-4 warmup=1.0}), no weight average, and no teacher
     * recorded (the distilled rows of that time had theirs filled in from the run notes when the column came), no
     * gradient clipping, and the default augmentation, flips without crops (the one cropped run of that time had its
     * column filled in from the run notes).
     */
    private static final List<Map.Entry<String, String>> LATER_COLUMNS = List.of(Map.entry("distill", ""),
        Map.entry("init", ""), Map.entry("tail", ""),
        Map.entry("weight_decay", Double.toString(DEFAULTS.weightDecay())),
        Map.entry("warmup", Double.toString(DEFAULTS.warmupEpochs())), Map.entry("ema", ""),
        Map.entry("teacher", ""), Map.entry("grad_clip", ""), Map.entry("augmentation", DEFAULT_AUGMENTATION));
    private static final double PERCENT = 100.0;
    /** Fine-tunings of fine-tunings followed back to the first recipe, at most. */
    private static final int MAX_FINE_TUNING_CHAIN = 8;
    private static final long GIT_TIMEOUT_SECONDS = 10;
    /** The goal for W2 with ReLU (anchor 93.1 minus 0.5 points). */
    private static final double W2_RELU_GOAL = 92.6;
    /** The goal for W3 with ReLU (anchor 94.1 minus 0.5 points). */
    private static final double W3_RELU_GOAL = 93.6;
    /** Co-designed models within this many points of our ReLU model. */
    private static final double CODESIGN_GAP = 0.5;
    /** Fixed-point top-1 agreement goal, in %. */
    private static final double AGREEMENT_GOAL = PERCENT * FractionChoice.AGREEMENT;
    /** W2 training-time goal in minutes. */
    private static final double W2_MINUTES_GOAL = 15;

    /**
     * One table row.
     *
     * @param config the run's config (limits give the image counts).
     * @param trainImages training images used.
     * @param testImages test images evaluated.
     * @param minutes training minutes.
     * @param floatAccuracy float32 test accuracy of the exported model.
     * @param fixedPoint fixed-point results (f = 12 and 16 expected).
     * @param activations activation-input statistics over the test set against {@code [-clip, clip]}.
     * @param relus comparisons (ReLUs) per image of the exported model.
     * @param model the model file.
     * @param bytes its size.
     */
    public record Row(TrainConfig config, int trainImages, int testImages, double minutes, double floatAccuracy,
                      List<Exporter.FixedPointResult> fixedPoint, ActivationStats activations, long relus,
                      Path model, long bytes)
    {
        List<String> fields()
        {
            final TrainConfig c = config;
            return List.of(Instant.now().truncatedTo(ChronoUnit.SECONDS).toString(), commit(), machine(),
                c.workload().id(), label(c),
                c.activation() == ActivationChoice.PILLAR ? Integer.toString(c.degree()) :
                    c.activation() == ActivationChoice.HERPN ? "2" : "",
                Integer.toString(c.epochs()), Integer.toString(c.batchSize()), c.optimizer(),
                Double.toString(c.learningRate()), Long.toString(c.seed()), Integer.toString(trainImages),
                Integer.toString(testImages), Double.toString(c.clip()), fmt(minutes, 1),
                fmt(PERCENT * floatAccuracy, 2), fixed(12, true), fixed(12, false), fixed(16, true),
                fixed(16, false), fmt(activations.maxAbs(), 2),
                String.format(Locale.ROOT, "%.3g", activations.outsideFraction()), Long.toString(relus),
                model.getFileName().toString(), Long.toString(bytes),
                c.distillWeight() > 0 ? Double.toString(c.distillWeight()) : "", c.init(), tail(c),
                Double.toString(c.weightDecay()), Double.toString(c.warmupEpochs()),
                c.emaDecay() > 0 ? Double.toString(c.emaDecay()) : "", c.teacher(),
                c.gradClip() > 0 ? Double.toString(c.gradClip()) : "", augmentation(c));
        }

        private String fixed(final int bits, final boolean accuracy)
        {
            for (final Exporter.FixedPointResult r : fixedPoint)
            {
                if (r.bits() == bits)
                {
                    return fmt(PERCENT * (accuracy ? r.accuracy() : r.agreement()), 2);
                }
            }
            return "";
        }
    }

    private ResultsTable()
    {
    }

    /** The activation column: {@code relu}, {@code pillar}, {@code herpn}, {@code senet} (masked ReLU). */
    static String label(final TrainConfig c)
    {
        return c.activation().id();
    }

    /** The tail column: {@code margin:weight} of the PILLAR tail term, or "" when off. */
    static String tail(final TrainConfig c)
    {
        return c.tailWeight() > 0 ? c.tailMargin() + ":" + c.tailWeight() : "";
    }

    /** The augmentation column: {@code flip}, {@code flip crop 2}, {@code crop 1} or {@code none}. */
    static String augmentation(final TrainConfig c)
    {
        final String crop = c.cropPadding() > 0 ? "crop " + c.cropPadding() : "";
        final String both = ((c.flip() ? "flip " : "") + crop).strip();
        return both.isEmpty() ? "none" : both;
    }

    /**
     * The optimizer and schedule of a row when they are not the defaults (SGD, peak lr 0.05, weight decay 5e-4, 1
     * warm-up epoch), e.g. {@code adam lr 0.008 wd 0.05 warm-up 4.5}; "" for the defaults.
     */
    static String optimizer(final List<String> f)
    {
        final String opt = f.get(COLUMNS.indexOf("optimizer"));
        final double lr = Double.parseDouble(f.get(COLUMNS.indexOf("lr")));
        final double wd = Double.parseDouble(f.get(COLUMNS.indexOf("weight_decay")));
        final double warmup = Double.parseDouble(f.get(COLUMNS.indexOf("warmup")));
        final String ema = f.get(COLUMNS.indexOf("ema"));
        final String clipped = f.get(COLUMNS.indexOf("grad_clip"));
        final String average = (ema.isEmpty() ? "" : " ema " + number(Double.parseDouble(ema))) +
            (clipped.isEmpty() ? "" : " grad-clip " + number(Double.parseDouble(clipped)));
        if (opt.equals(DEFAULTS.optimizer()) && lr == DEFAULTS.learningRate() && wd == DEFAULTS.weightDecay() &&
            warmup == DEFAULTS.warmupEpochs())
        {
            return average.strip();
        }
        return opt + " lr " + number(lr) + (wd == DEFAULTS.weightDecay() ? "" : " wd " + number(wd)) +
            (warmup == DEFAULTS.warmupEpochs() ? "" : " warm-up " + number(warmup)) + average;
    }

    /** A number as one would type it: 0.008, 0.0005, 4.5, 1 (not 1.0); 1e-5 once the plain form is longer. */
    private static String number(final double v)
    {
        final String s = BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
        return s.length() <= 6 ? s : String.format(Locale.ROOT, "%.0e", v).replace("e-0", "e-");
    }

    /** The row of a {@link TrainerMain} export. */
    static Row row(final Trainer trainer, final double minutes, final Exporter.Report report)
    {
        return new Row(trainer.config(), trainer.trainData().count(), trainer.testData().count(), minutes,
            report.floatAccuracy(), report.fixedPoint(), report.overall(), report.model().comparisons(),
            report.file(), report.bytes());
    }

    /**
     * Appends {@code row} to {@code dir}/training.csv, replacing an earlier row of the same model file, and rewrites
     * {@code dir}/training.md (with {@code notes} appended if not null).
     */
    public static void append(final Path dir, final Row row, final Path notes) throws IOException
    {
        Files.createDirectories(dir);
        final Path csv = dir.resolve("training.csv");
        final List<String> lines = new ArrayList<>();
        lines.add(String.join(",", COLUMNS));
        if (Files.exists(csv))
        {
            final String file = row.model().getFileName().toString();
            for (final List<String> f : rows(Files.readAllLines(csv, StandardCharsets.UTF_8)))
            {
                if (!f.get(COLUMNS.indexOf("model")).equals(file))
                {
                    lines.add(String.join(",", f.stream().map(ResultsTable::csvField).toList()));
                }
            }
        }
        lines.add(String.join(",", row.fields().stream().map(ResultsTable::csvField).toList()));
        Checkpoint.writeAtomically(csv, (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8));
        final String extra = notes != null && Files.exists(notes) ? Files.readString(notes) : "";
        Checkpoint.writeAtomically(dir.resolve("training.md"),
            (markdown(lines) + extra).getBytes(StandardCharsets.UTF_8));
    }

    /** Rewrites {@code dir}/training.md from {@code dir}/training.csv (with {@code notes} appended if not null). */
    public static void rewrite(final Path dir, final Path notes) throws IOException
    {
        final List<String> lines = Files.readAllLines(dir.resolve("training.csv"), StandardCharsets.UTF_8);
        final String extra = notes != null && Files.exists(notes) ? Files.readString(notes) : "";
        Checkpoint.writeAtomically(dir.resolve("training.md"),
            (markdown(lines) + extra).getBytes(StandardCharsets.UTF_8));
    }

    /**
     * One CSV line as the current columns, or null if it has neither the current count nor that of a layout before
     * the {@code distill}, {@code init} or {@code tail} column (whose rows had none of them).
     */
    private static List<String> row(final String line)
    {
        final List<String> f = new ArrayList<>(parseCsv(line));
        final int firstLater = COLUMNS.size() - LATER_COLUMNS.size();
        if (f.size() >= firstLater && f.size() < COLUMNS.size())
        {
            LATER_COLUMNS.subList(f.size() - firstLater, LATER_COLUMNS.size()).forEach(c -> f.add(c.getValue()));
        }
        return f.size() == COLUMNS.size() ? f : null;
    }

    /**
     * The data rows of a training.csv, one per model file (the last wins: a model retrained under the same name
     * replaces its row), skipping lines that repeat a header: two result files concatenated, e.g. by merging a
     * clone's training.csv into this one, must not show their header as a run or count a run twice.
     */
    static List<List<String>> rows(final List<String> csvLines)
    {
        final int model = COLUMNS.indexOf("model");
        final LinkedHashMap<String, List<String>> byModel = new LinkedHashMap<>();
        for (int i = 1; i < csvLines.size(); i++)
        {
            final String line = csvLines.get(i);
            if (line.isBlank() || line.startsWith(COLUMNS.get(0) + ","))
            {
                continue;
            }
            final List<String> f = row(line);
            if (f != null)
            {
                byModel.remove(f.get(model));
                byModel.put(f.get(model), f);
            }
        }
        return new ArrayList<>(byModel.values());
    }

    private static String markdown(final List<String> csvLines)
    {
        final List<List<String>> rows = rows(csvLines);
        final StringBuilder sb = new StringBuilder("# PolyPI training results\n\n");
        sb.append("Generated from `training.csv` by `org.polypi.trainer.ResultsTable` (`TrainerMain --results` or ");
        sb.append("`EvaluateMain`); do not edit by hand.\n\n");
        sb.append("Fashion-MNIST, test accuracy in % over the test images of the row (10,000 unless it says ");
        sb.append("otherwise) of the exported model (BatchNorm folded, HerPN folded to per-channel quadratics): ");
        sb.append("`float32` under `FloatInference`, `f=12` / `f=16` under `FixedPointInference` at that fraction, ");
        sb.append("`agree` the fraction of test images whose fixed-point top-1 equals the float32 top-1. ");
        sb.append("`max |x|` and `outside` describe every activation input over the test set (outside = fraction ");
        sb.append("beyond r, the polynomial's range / PILLAR's clip). `ReLUs` = comparisons per image. `min` = ");
        sb.append("training minutes on a machine shared with other jobs (wall-clock, so an upper bound). ");
        sb.append("Anchors (workloads.md, PyTorch, 15 epochs, ReLU): W1 mlp 89.7, W2 lenet 93.1, W3 minionn ");
        sb.append("94.1.\n\n");
        sb.append("`seed` = the run's seed, `kd` = its distillation weight (a teacher's soft labels, blank: none), ");
        sb.append("`teacher` = the model distilled from (SENet: the ReLU model the student starts from), ");
        sb.append("`from` = the trained model its weights started from (blank: the seeded initial weights), ");
        sb.append("`tail` = PILLAR's tail term `m:w` (`w·SUM max(0, |x| - m)²` added to the range penalty; blank: ");
        sb.append(String.format(Locale.ROOT, "none), `opt` = the optimizer and schedule when not the default (%s " +
            "with Nesterov momentum %s, peak lr %s, cosine decay, weight decay %s, %s warm-up epoch; `ema D`: the " +
            "weights averaged over steps with decay D; `grad-clip C`: the gradient's L2 norm clipped to C; blank: " +
            "none), `aug` = the training images' augmentation (`flip`: random horizontal flips, `crop P`: random " +
            "crops of the image padded by P pixels).%n%n",
            DEFAULTS.optimizer().toUpperCase(Locale.ROOT), number(DEFAULTS.momentum()),
            number(DEFAULTS.learningRate()), number(DEFAULTS.weightDecay()), number(DEFAULTS.warmupEpochs())));
        sb.append("| net | act | deg | epochs | seed | kd | teacher | from | tail | opt | aug | train / test imgs | ");
        sb.append("min | ");
        sb.append("float32 | f=12 | agree | f=16 | agree | max \\|x\\| | r | outside | ReLUs | model | bytes | ");
        sb.append("commit |\n");
        final String[] keys = {"net", "activation", "degree", "epochs", "seed", "distill", "teacher", "from", "tail",
            "opt", "augmentation", "images", "minutes", "test_acc_float32", "test_acc_fixed12", "agree_fixed12",
            "test_acc_fixed16", "agree_fixed16", "act_max_abs", "clip", "act_outside_fraction", "relus", "model",
            "model_bytes", "commit"};
        sb.append("|---".repeat(keys.length)).append("|\n");
        for (final List<String> f : rows)
        {
            sb.append('|');
            for (final String k : keys)
            {
                final String v = switch (k)
                {
                    case "images" -> f.get(COLUMNS.indexOf("train_images")) + " / " +
                        f.get(COLUMNS.indexOf("test_images"));
                    case "from" -> modelFile(f.get(COLUMNS.indexOf("init")));
                    case "teacher" -> modelFile(f.get(COLUMNS.indexOf("teacher")));
                    case "opt" -> optimizer(f);
                    default -> f.get(COLUMNS.indexOf(k));
                };
                sb.append(' ').append(v.replace("|", "\\|")).append(" |");
            }
            sb.append('\n');
        }
        if (!rows.isEmpty())
        {
            sb.append("\nMachine: ").append(rows.getLast().get(COLUMNS.indexOf("machine"))).append(".\n");
        }
        sb.append(goals(rows));
        return sb.toString();
    }

    /** The model file of an init or teacher column ({@code name@fingerprint}), or "" for none. */
    private static String modelFile(final String id)
    {
        final int at = id.lastIndexOf('@');
        return at < 0 ? id : id.substring(0, at);
    }

    /**
     * The runs of one recipe (rows equal in every {@link #RECIPE} column, a start model standing for its recipe: see
     * {@link #recipeKey}), in table order; {@code start} describes the recipe whose same-seed models the runs started
     * from ("" if they started from seeded weights or from one model outside such a recipe).
     */
    private record Recipe(List<List<String>> runs, String start)
    {
        double mean(final String column)
        {
            return runs.stream().mapToDouble(r -> value(r, column)).average().orElse(Double.NaN);
        }

        double min(final String column)
        {
            return runs.stream().mapToDouble(r -> value(r, column)).min().orElse(Double.NaN);
        }

        double max(final String column)
        {
            return runs.stream().mapToDouble(r -> value(r, column)).max().orElse(Double.NaN);
        }

        String get(final String column)
        {
            return runs.getFirst().get(COLUMNS.indexOf(column));
        }

        /** "92.77 % (mean of 2 seeds: 92.82, 92.72)" or "92.82 % (seed 1)". */
        String accuracy()
        {
            if (runs.size() == 1)
            {
                return String.format(Locale.ROOT, "%.2f %% (seed %s)", mean("test_acc_float32"), get("seed"));
            }
            return String.format(Locale.ROOT, "%.2f %% (mean of %d seeds: %s)", mean("test_acc_float32"),
                runs.size(), String.join(", ", runs.stream().map(r -> r.get(COLUMNS.indexOf("test_acc_float32")))
                    .toList()));
        }

        String describe()
        {
            final String kd = get("distill");
            final String init = get("init");
            final String teacher = modelFile(get("teacher"));
            final String tail = get("tail");
            final String opt = optimizer(runs.getFirst());
            final String clip = get("clip");
            final String augmentation = get("augmentation");
            final boolean perSeedStart = runs.size() > 1 && !start.isEmpty();
            return get("epochs") + " epochs" + (opt.isEmpty() ? "" : ", " + opt) +
                (Double.parseDouble(clip) == DEFAULTS.clip() ? "" : ", r = " + clip) +
                (augmentation.equals(DEFAULT_AUGMENTATION) ? "" : ", augmentation " + augmentation) +
                (kd.isEmpty() ? "" : ", distilled" + (teacher.isEmpty() ? "" : " from " + teacher) +
                    " (kd " + kd + ")") +
                (init.isEmpty() || perSeedStart ? "" : ", from " + modelFile(init)) +
                (tail.isEmpty() ? "" : ", tail term " + tail.replace(":", " (weight ") + ")") +
                (perSeedStart ? ", each seed from its model of: " + start : "");
        }
    }

    /**
     * The row of the same seed whose model {@code row} started from (its {@code init}), or null. A fine-tuning of
     * each seed's model of one recipe, with one setting, is itself one recipe over those seeds.
     */
    private static List<String> startRow(final List<List<String>> rows, final List<String> row)
    {
        final String init = modelFile(row.get(COLUMNS.indexOf("init")));
        if (init.isEmpty())
        {
            return null;
        }
        final int model = COLUMNS.indexOf("model");
        final int seed = COLUMNS.indexOf("seed");
        for (final List<String> r : rows)
        {
            if (r != row && r.get(model).equals(init) && r.get(seed).equals(row.get(seed)))
            {
                return r;
            }
        }
        return null;
    }

    /**
     * The {@link #RECIPE} columns of {@code row}, with a start model that is a same-seed row of the table replaced by
     * that row's recipe key, so fine-tunings of seed 1's and seed 2's models of one recipe share a key.
     * {@code depth} bounds chains of fine-tunings (and a cycle of model names).
     */
    private static List<String> recipeKey(final List<List<String>> rows, final List<String> row, final int depth)
    {
        final List<String> key = new ArrayList<>(RECIPE.stream().map(c -> row.get(COLUMNS.indexOf(c))).toList());
        final List<String> start = depth < MAX_FINE_TUNING_CHAIN ? startRow(rows, row) : null;
        if (start != null)
        {
            key.set(RECIPE.indexOf("init"), "recipe " + recipeKey(rows, start, depth + 1));
        }
        return key;
    }

    /** The description of the recipe {@code row} started from (its same-seed start row), or "". */
    private static String startRecipe(final List<List<String>> rows, final List<String> row, final int depth)
    {
        final List<String> start = depth < MAX_FINE_TUNING_CHAIN ? startRow(rows, row) : null;
        return start == null ? "" : new Recipe(List.of(start), startRecipe(rows, start, depth + 1)).describe();
    }

    /** The full-test-set recipes of {@code net} and {@code act}. */
    private static List<Recipe> recipes(final List<List<String>> rows, final String net, final String act)
    {
        // Columns the CSV does not record (e.g. PILLAR's beta) can tell two recipes apart; a seed that repeats within
        // one key shows it, since one recipe and one seed give one model: such a row starts a group of its own.
        final Map<List<String>, List<List<List<String>>>> groups = new LinkedHashMap<>();
        for (final List<String> r : rows)
        {
            if (r.get(COLUMNS.indexOf("net")).equals(net) && r.get(COLUMNS.indexOf("activation")).equals(act) &&
                "10000".equals(r.get(COLUMNS.indexOf("test_images"))))
            {
                final List<String> key = recipeKey(rows, r, 0);
                final String seed = r.get(COLUMNS.indexOf("seed"));
                final List<List<List<String>>> same = groups.computeIfAbsent(key, k -> new ArrayList<>());
                same.stream().filter(g -> g.stream().noneMatch(x -> x.get(COLUMNS.indexOf("seed")).equals(seed)))
                    .findFirst().orElseGet(() ->
                    {
                        final List<List<String>> g = new ArrayList<>();
                        same.add(g);
                        return g;
                    }).add(r);
            }
        }
        return groups.values().stream().flatMap(List::stream)
            .map(g -> new Recipe(g, startRecipe(rows, g.getFirst(), 0))).toList();
    }

    /**
     * The PILLAR recipe of {@code net} the goals judge: the most accurate one whose every seed keeps every test-set
     * activation input inside [-r, r], or, if none does, the most accurate one (null if there is none). The accuracy
     * and range goals are about one deliverable model, so they are judged on the same recipe.
     */
    private static Recipe bestInRange(final List<List<String>> rows, final String net)
    {
        Recipe best = null;
        for (final Recipe r : recipes(rows, net, "pillar"))
        {
            if (r.max("act_outside_fraction") == 0 &&
                (best == null || r.mean("test_acc_float32") > best.mean("test_acc_float32")))
            {
                best = r;
            }
        }
        return best != null ? best : best(rows, net, "pillar");
    }

    /** The recipe of {@code net} and {@code act} with the highest mean float32 accuracy, or null. */
    private static Recipe best(final List<List<String>> rows, final String net, final String act)
    {
        Recipe best = null;
        for (final Recipe r : recipes(rows, net, act))
        {
            if (best == null || r.mean("test_acc_float32") > best.mean("test_acc_float32"))
            {
                best = r;
            }
        }
        return best;
    }

    /** Recipes run with more than one seed: mean and range. */
    private static String seeds(final List<List<String>> rows)
    {
        final StringBuilder sb = new StringBuilder();
        for (final String net : List.of("mlp", "lenet", "minionn-fmnist"))
        {
            for (final String act : List.of("relu", "pillar", "herpn", "senet"))
            {
                for (final Recipe r : recipes(rows, net, act))
                {
                    if (r.runs().size() > 1)
                    {
                        sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %d | %.2f | %.2f | %.2f | %.1f |%n",
                            net, act, r.describe(), r.runs().size(), r.mean("test_acc_float32"),
                            r.min("test_acc_float32"), r.max("test_acc_float32"), r.mean("minutes")));
                    }
                }
            }
        }
        return sb.isEmpty() ? "" : "\n## Seeds\n\nRecipes trained with several seeds (float32 test accuracy, %).\n\n" +
            "| net | act | recipe | seeds | mean | min | max | mean min |\n|---|---|---|---|---|---|---|---|\n" + sb;
    }

    /**
     * The acceptance goals against the rows (full test sets only). Each net and activation is represented by
     * its best recipe by mean accuracy over seeds; the range and agreement goals must hold for every seed of it.
     */
    private static String goals(final List<List<String>> rows)
    {
        final StringBuilder sb = new StringBuilder(seeds(rows)).append("\n## Goals (issue 5)\n\n");
        for (final String net : List.of("mlp", "lenet", "minionn-fmnist"))
        {
            final Recipe relu = best(rows, net, "relu");
            if (rows.stream().noneMatch(r -> r.get(COLUMNS.indexOf("net")).equals(net)))
            {
                sb.append(String.format(Locale.ROOT, "- %s: no trained model in this table **MISS**%n", net));
                continue;
            }
            final Double reluGoal = "lenet".equals(net) ? Double.valueOf(W2_RELU_GOAL) :
                "minionn-fmnist".equals(net) ? Double.valueOf(W3_RELU_GOAL) : null;
            if (relu == null && reluGoal != null)
            {
                sb.append(String.format(Locale.ROOT, "- %s ReLU >= %.1f %%: no run on the full data (partial runs " +
                    "only) **MISS**%n", net, reluGoal));
            }
            if (relu != null && reluGoal != null)
            {
                final double acc = relu.mean("test_acc_float32");
                sb.append(String.format(Locale.ROOT, "- %s ReLU >= %.1f %%: %s, %s **%s**%n", net, reluGoal,
                    relu.accuracy(), relu.describe(), acc >= reluGoal ? "PASS" : "MISS"));
            }
            if ("lenet".equals(net) && relu != null)
            {
                // the quickest recipe that reaches the goal on average, by its fastest seed
                Recipe quickest = null;
                for (final Recipe r : recipes(rows, net, "relu"))
                {
                    if (r.mean("test_acc_float32") >= W2_RELU_GOAL &&
                        (quickest == null || r.min("minutes") < quickest.min("minutes")))
                    {
                        quickest = r;
                    }
                }
                final double fastest = quickest == null ? Double.NaN : quickest.min("minutes");
                sb.append(String.format(Locale.ROOT, "- lenet trains to its goal in < %.0f min: %s **%s**%n",
                    W2_MINUTES_GOAL, quickest == null ? "no ReLU recipe reaches the goal" :
                        String.format(Locale.ROOT, "%.1f min (%s, %s; the fastest seed, wall-clock on the " +
                            "machine as loaded during the run)", fastest, quickest.accuracy(), quickest.describe()),
                    fastest < W2_MINUTES_GOAL ? "PASS" : "MISS"));
            }
            for (final String act : List.of("pillar", "herpn", "senet"))
            {
                final Recipe r = "pillar".equals(act) ? bestInRange(rows, net) : best(rows, net, act);
                if (r == null)
                {
                    continue;
                }
                final Recipe mostAccurate = best(rows, net, act);
                if (!mostAccurate.equals(r))
                {
                    sb.append(String.format(Locale.ROOT, "- %s pillar: the goals below judge the most accurate " +
                        "recipe that keeps every input in range; the most accurate overall, %s, %s, reaches max " +
                        "|x| %.2f%n", net, mostAccurate.accuracy(), mostAccurate.describe(),
                        mostAccurate.max("act_max_abs")));
                }
                final double acc = r.mean("test_acc_float32");
                if (relu != null && "senet".equals(act))
                {
                    sb.append(String.format(Locale.ROOT, "- %s senet (%s ReLUs per image vs %s): %s, %.2f " +
                        "points below our ReLU model (no goal set)%n", net, r.get("relus"), relu.get("relus"),
                        r.accuracy(), relu.mean("test_acc_float32") - acc));
                }
                else if (relu != null)
                {
                    final double gap = relu.mean("test_acc_float32") - acc;
                    sb.append(String.format(Locale.ROOT, "- %s %s within %.1f points of our ReLU (%.2f %%): " +
                        "%s, %s (gap %.2f) **%s**%n", net, act, CODESIGN_GAP, relu.mean("test_acc_float32"),
                        r.accuracy(), r.describe(), gap, gap <= CODESIGN_GAP ? "PASS" : "MISS"));
                }
                if ("herpn".equals(act))
                {
                    sb.append(String.format(Locale.ROOT, "- %s herpn activation inputs: max |x| %.2f; the " +
                        "per-channel quadratic is exact at every x (no approximation range), so the exporter sets " +
                        "the header bound to ceil(max |x|) rather than r (range goal not applicable)%n", net,
                        r.max("act_max_abs")));
                }
                else if (!"senet".equals(act))
                {
                    final boolean inside = r.max("act_outside_fraction") == 0;
                    sb.append(String.format(Locale.ROOT, "- %s %s activation inputs inside [-r, r] on the test " +
                        "set: max |x| %.2f vs r = %s **%s**%n", net, act, r.max("act_max_abs"), r.get("clip"),
                        inside ? "PASS" : "MISS"));
                }
                final double agree = Math.min(r.min("agree_fixed12"), r.min("agree_fixed16"));
                sb.append(String.format(Locale.ROOT, "- %s %s fixed-point top-1 = float32 top-1 on >= %.1f %% " +
                    "(f = 12: %.2f %%, f = 16: %.2f %%) **%s**%n", net, act, AGREEMENT_GOAL,
                    r.min("agree_fixed12"), r.min("agree_fixed16"), agree >= AGREEMENT_GOAL ? "PASS" : "MISS"));
            }
        }
        return sb.toString();
    }

    private static double value(final List<String> row, final String column)
    {
        final String v = row.get(COLUMNS.indexOf(column));
        return v.isEmpty() ? Double.NaN : Double.parseDouble(v);
    }

    private static String fmt(final double v, final int decimals)
    {
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    private static String csvField(final String v)
    {
        return v.contains(",") || v.contains("\"") ? "\"" + v.replace("\"", "\"\"") + "\"" : v;
    }

    /** Splits one CSV line (quoted fields with doubled quotes). */
    static List<String> parseCsv(final String line)
    {
        final List<String> out = new ArrayList<>();
        final StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++)
        {
            final char ch = line.charAt(i);
            if (quoted)
            {
                if (ch == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"')
                {
                    cur.append('"');
                    i++;
                }
                else if (ch == '"')
                {
                    quoted = false;
                }
                else
                {
                    cur.append(ch);
                }
            }
            else if (ch == '"')
            {
                quoted = true;
            }
            else if (ch == ',')
            {
                out.add(cur.toString());
                cur.setLength(0);
            }
            else
            {
                cur.append(ch);
            }
        }
        out.add(cur.toString());
        return out;
    }

    /** CPU model, logical CPUs and memory, e.g. {@code AMD EPYC, 2 CPUs, 23.5 GiB RAM}. */
    static String machine()
    {
        String cpu = System.getProperty("os.arch");
        try
        {
            for (final String line : Files.readAllLines(Path.of("/proc/cpuinfo")))
            {
                if (line.startsWith("model name"))
                {
                    cpu = line.substring(line.indexOf(':') + 1).trim();
                    break;
                }
            }
        }
        catch (final IOException | RuntimeException e)
        {
            // not Linux: the architecture name has to do
        }
        String memory = "";
        try
        {
            for (final String line : Files.readAllLines(Path.of("/proc/meminfo")))
            {
                if (line.startsWith("MemTotal:"))
                {
                    final long kib = Long.parseLong(line.replaceAll("[^0-9]", ""));
                    memory = String.format(Locale.ROOT, ", %.1f GiB RAM", kib / (double)(1L << 20));
                    break;
                }
            }
        }
        catch (final IOException | RuntimeException e)
        {
            // not Linux: no memory figure
        }
        return String.format(Locale.ROOT, "%s, %d CPUs%s", cpu, Runtime.getRuntime().availableProcessors(), memory);
    }

    /** Short commit of the working directory's git checkout, with {@code -dirty} if it has changes. */
    static String commit()
    {
        final String head = git("rev-parse", "--short", "HEAD");
        if (head.isEmpty())
        {
            return "unknown";
        }
        return git("status", "--porcelain", "--untracked-files=no").isEmpty() ? head : head + "-dirty";
    }

    private static String git(final String... args)
    {
        final List<String> cmd = new ArrayList<>();
        cmd.add("git");
        cmd.addAll(List.of(args));
        try
        {
            final Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            final String text;
            try (InputStream in = p.getInputStream())
            {
                text = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
            }
            if (!p.waitFor(GIT_TIMEOUT_SECONDS, TimeUnit.SECONDS) || p.exitValue() != 0)
            {
                return "";
            }
            return text;
        }
        catch (final IOException e)
        {
            return "";
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            return "";
        }
    }
}
