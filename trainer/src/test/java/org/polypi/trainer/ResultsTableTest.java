package org.polypi.trainer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** training.md from training.csv: rows of one recipe are averaged over their seeds, old-layout rows still count. */
final class ResultsTableTest
{
    @TempDir
    Path dir;

    /**
     * A CSV line with the given fields set and plausible values elsewhere, in the layout {@code dropped} columns
     * ago: 9 the first (no distill, init, tail, weight_decay, warmup, ema, teacher, grad_clip or augmentation), 8 the
     * one before init, 7 the one before tail, 6 the one before weight_decay and warmup, 4 the one before ema, 3 the
     * one before teacher, 2 the one before grad_clip, 1 the one before augmentation, 0 the current.
     */
    private static String line(final Map<String, String> set, final int dropped)
    {
        final List<String> f = new ArrayList<>();
        for (final String c : ResultsTable.COLUMNS)
        {
            f.add(set.getOrDefault(c, switch (c)
            {
                case "machine" -> "test machine";
                case "degree", "distill", "init", "tail", "ema", "teacher", "grad_clip" -> "";
                case "epochs" -> "15";
                case "batch" -> "128";
                case "optimizer" -> "sgd";
                case "lr" -> "0.05";
                case "seed" -> "1";
                case "weight_decay" -> "5.0E-4";
                case "warmup" -> "1.0";
                case "augmentation" -> "flip";
                case "train_images" -> "60000";
                case "test_images" -> "10000";
                case "clip" -> "5.0";
                case "minutes" -> "5.0";
                case "test_acc_fixed12", "test_acc_fixed16" -> "90.00";
                case "agree_fixed12", "agree_fixed16" -> "99.90";
                case "act_max_abs" -> "4.00";
                case "act_outside_fraction" -> "0";
                case "relus" -> "0";
                case "model_bytes" -> "100";
                default -> "x";
            }));
        }
        return String.join(",", f.subList(0, f.size() - dropped));
    }

    @Test
    void goalsUseTheMeanOverSeedsOfTheBestRecipe() throws IOException
    {
        final List<String> lines = new ArrayList<>();
        lines.add(String.join(",", ResultsTable.COLUMNS.subList(0, ResultsTable.COLUMNS.size() - 1)));
        lines.add(line(Map.of("net", "lenet", "activation", "relu", "test_acc_float32", "92.82", "minutes", "46.7",
            "model", "a.pim"), 9));
        lines.add(line(Map.of("net", "lenet", "activation", "relu", "seed", "2", "test_acc_float32", "92.72",
            "minutes", "4.1", "model", "b.pim"), 0));
        lines.add(line(Map.of("net", "lenet", "activation", "pillar", "degree", "4", "test_acc_float32", "91.61",
            "model", "c.pim"), 9));
        lines.add(line(Map.of("net", "lenet", "activation", "pillar", "degree", "4", "distill", "0.5",
            "test_acc_float32", "92.40", "model", "d.pim"), 8));
        lines.add(line(Map.of("net", "lenet", "activation", "pillar", "degree", "4", "distill", "0.5", "seed", "2",
            "test_acc_float32", "92.20", "act_outside_fraction", "1e-06", "model", "e.pim"), 0));
        // same columns and seed as c.pim, so another recipe (a setting the CSV does not record): not a second seed
        lines.add(line(Map.of("net", "lenet", "activation", "pillar", "degree", "4", "test_acc_float32", "91.16",
            "model", "f.pim"), 9));
        // started from a trained model: a recipe of its own, named by the model in the goals and the table
        lines.add(line(Map.of("net", "lenet", "activation", "pillar", "degree", "4", "lr", "0.002",
            "init", "w2-relu.pim@4e33f6cd94a5ea80", "test_acc_float32", "92.10", "model", "g.pim"), 7));
        // the tail term: a recipe of its own, in range but less accurate than g.pim
        lines.add(line(Map.of("net", "lenet", "activation", "pillar", "degree", "4", "tail", "3.0:0.1",
            "test_acc_float32", "91.90", "model", "h.pim"), 0));
        // Adam with its own weight decay and warm-up: one recipe of two seeds, apart from the SGD runs
        for (final String seed : List.of("1", "2"))
        {
            lines.add(line(Map.of("net", "lenet", "activation", "relu", "optimizer", "adam", "lr", "0.008",
                "weight_decay", "0.05", "warmup", "4.5", "seed", seed, "test_acc_float32", "1".equals(seed) ? "93.01" :
                "92.77", "model", "adam" + seed + ".pim"), 0));
        }
        Files.write(dir.resolve("training.csv"), lines, StandardCharsets.UTF_8);
        ResultsTable.rewrite(dir, null);
        final String md = Files.readString(dir.resolve("training.md"));
        for (final String model : List.of("a.pim", "b.pim", "c.pim", "d.pim", "e.pim", "f.pim", "g.pim", "h.pim"))
        {
            assertTrue(md.contains("| " + model + " |"), model + " (old and new layout) must be in the table:\n" + md);
        }
        assertTrue(md.contains("lenet ReLU >= 92.6 %: 92.89 % (mean of 2 seeds: 93.01, 92.77), 15 epochs, adam lr " +
            "0.008 wd 0.05 warm-up 4.5 **PASS**"), md);
        assertTrue(md.contains("| lenet | relu | 15 epochs | 2 | 92.77 |"), "a.pim (old layout) and b.pim:\n" + md);
        assertTrue(md.contains("trains to its goal in < 15 min: 4.1 min (92.77 % (mean of 2 seeds"), md);
        assertTrue(md.contains("| 15 | 2 |  |  |  |  | adam lr 0.008 wd 0.05 warm-up 4.5 | flip | 60000 / 10000 |"),
            md);
        // the distilled recipe's mean (92.30) is the most accurate, but one of its seeds escapes the range: the goals
        // judge the most accurate recipe that stays inside (g.pim, 92.10: 0.67 under the ReLU mean) and name the other
        assertTrue(md.contains("lenet pillar: the goals below judge the most accurate recipe that keeps every input " +
            "in range; the most accurate overall, 92.30 % (mean of 2 seeds: 92.40, 92.20), 15 epochs, distilled (kd " +
            "0.5), reaches max |x| 4.00"), md);
        assertTrue(md.contains("lenet pillar within 0.5 points of our ReLU (92.89 %): 92.10 % (seed 1), 15 epochs, " +
            "sgd lr 0.002, from w2-relu.pim (gap 0.79) **MISS**"), md);
        assertTrue(md.contains("lenet pillar activation inputs inside [-r, r] on the test set: max |x| 4.00 vs r = 5.0 " +
            "**PASS**"), md);
        assertTrue(md.contains("| 4 | 15 | 1 |  |  |  | 3.0:0.1 |  | flip | 60000 / 10000 |"),
            "h.pim's tail column:\n" + md);
        assertTrue(md.contains("| lenet | pillar | 15 epochs, distilled (kd 0.5) | 2 | 92.30 | 92.20 | 92.40 |"), md);
        assertTrue(!md.contains("| lenet | pillar | 15 epochs | 2 |"), "c.pim and f.pim are one seed each:\n" + md);
        assertTrue(md.contains("| 4 | 15 | 1 |  |  | w2-relu.pim |  | sgd lr 0.002 | flip | 60000 / 10000 |"),
            "g.pim's from column:\n" + md);
    }

    @Test
    void aWeightAveragedRunIsARecipeOfItsOwnNamedInTheOptimizerColumn() throws IOException
    {
        final List<String> lines = new ArrayList<>();
        lines.add(String.join(",", ResultsTable.COLUMNS));
        // the layout before the ema column: read as a run without an average
        lines.add(line(Map.of("net", "lenet", "activation", "relu", "test_acc_float32", "92.82", "model", "a.pim"),
            4));
        lines.add(line(Map.of("net", "lenet", "activation", "relu", "ema", "0.999", "test_acc_float32", "93.20",
            "model", "b.pim"), 0));
        lines.add(line(Map.of("net", "lenet", "activation", "relu", "optimizer", "adam", "lr", "0.008", "ema",
            "0.9995", "test_acc_float32", "92.10", "model", "c.pim"), 0));
        Files.write(dir.resolve("training.csv"), lines, StandardCharsets.UTF_8);
        ResultsTable.rewrite(dir, null);
        final String md = Files.readString(dir.resolve("training.md"));
        assertTrue(md.contains("lenet ReLU >= 92.6 %: 93.20 % (seed 1), 15 epochs, ema 0.999 **PASS**"),
            "same seed and columns but the average: a recipe apart, not a second seed:\n" + md);
        assertTrue(md.contains("| 15 | 1 |  |  |  |  | ema 0.999 | flip | 60000 / 10000 |"),
            "b.pim's opt column:\n" + md);
        assertTrue(md.contains("| 15 | 1 |  |  |  |  |  | flip | 60000 / 10000 |"), "a.pim has no average:\n" + md);
        assertTrue(md.contains("| adam lr 0.008 ema 0.9995 |"), "c.pim's opt column:\n" + md);
    }

    @Test
    void aCroppedRunIsARecipeOfItsOwnNamedInTheAugmentationColumn() throws IOException
    {
        final List<String> lines = new ArrayList<>();
        lines.add(String.join(",", ResultsTable.COLUMNS));
        lines.add(line(Map.of("net", "lenet", "activation", "relu", "test_acc_float32", "93.10", "model", "r.pim"), 0));
        // the layout before the augmentation column: read as flips without crops, so one recipe with h2.pim
        lines.add(line(Map.of("net", "lenet", "activation", "herpn", "test_acc_float32", "92.60", "model", "h1.pim"),
            1));
        lines.add(line(Map.of("net", "lenet", "activation", "herpn", "seed", "2", "test_acc_float32", "92.50",
            "model", "h2.pim"), 0));
        // a third seed, but with crops: not a seed of that recipe (which the seed alone would not tell) but its own
        lines.add(line(Map.of("net", "lenet", "activation", "herpn", "augmentation", "flip crop 1", "seed", "3",
            "test_acc_float32", "92.70", "model", "c1.pim"), 0));
        Files.write(dir.resolve("training.csv"), lines, StandardCharsets.UTF_8);
        ResultsTable.rewrite(dir, null);
        final String md = Files.readString(dir.resolve("training.md"));
        assertTrue(md.contains("| lenet | herpn | 15 epochs | 2 | 92.55 | 92.50 | 92.60 |"),
            "h1.pim (old layout) and h2.pim are one recipe:\n" + md);
        assertTrue(md.contains("lenet herpn within 0.5 points of our ReLU (93.10 %): 92.70 % (seed 3), 15 epochs, " +
            "augmentation flip crop 1 (gap 0.40) **PASS**"), md);
        assertTrue(md.contains("|  |  |  |  | flip crop 1 | 60000 / 10000 |"), "c1.pim's aug column:\n" + md);
        assertTrue(md.contains("`aug` = the training images' augmentation"), "the column is explained:\n" + md);
    }

    @Test
    void runsDistilledFromAnotherTeacherAreARecipeOfTheirOwn() throws IOException
    {
        final String w1 = "w1-relu-e45.pim@02a26b3be86a75cf";
        final List<String> lines = new ArrayList<>();
        lines.add(String.join(",", ResultsTable.COLUMNS));
        lines.add(line(Map.of("net", "mlp", "activation", "relu", "test_acc_float32", "90.16", "model", "r.pim"), 3));
        for (final String seed : List.of("1", "2"))
        {
            lines.add(line(Map.of("net", "mlp", "activation", "pillar", "degree", "4", "distill", "0.5", "teacher", w1,
                "seed", seed, "test_acc_float32", "1".equals(seed) ? "89.60" : "89.80", "model", "p" + seed + ".pim"),
                0));
        }
        // seed 1 again, from a stronger teacher: not a third seed of the recipe above
        lines.add(line(Map.of("net", "mlp", "activation", "pillar", "degree", "4", "distill", "0.5", "teacher",
            "w2-relu-adam-a4.pim@0123456789abcdef", "test_acc_float32", "89.92", "model", "q.pim"), 0));
        // another range r: a recipe of its own, named by it
        for (final String seed : List.of("1", "2"))
        {
            lines.add(line(Map.of("net", "mlp", "activation", "pillar", "degree", "4", "distill", "0.5", "teacher", w1,
                "clip", "6.0", "seed", seed, "test_acc_float32", "1".equals(seed) ? "89.30" : "89.50", "model",
                "r6-" + seed + ".pim"), 0));
        }
        // distilled before the teacher column: its teacher is not known, so it is not averaged with either
        lines.add(line(Map.of("net", "mlp", "activation", "pillar", "degree", "4", "distill", "0.5",
            "seed", "3", "test_acc_float32", "89.00", "model", "o.pim"), 3));
        Files.write(dir.resolve("training.csv"), lines, StandardCharsets.UTF_8);
        ResultsTable.rewrite(dir, null);
        final String md = Files.readString(dir.resolve("training.md"));
        assertTrue(md.contains("| mlp | pillar | 15 epochs, distilled from w1-relu-e45.pim (kd 0.5) | 2 | 89.70 | " +
            "89.60 | 89.80 |"), "p1 and p2 are one recipe, q and o are not in it:\n" + md);
        assertTrue(md.contains("mlp pillar within 0.5 points of our ReLU (90.16 %): 89.92 % (seed 1), 15 epochs, " +
            "distilled from w2-relu-adam-a4.pim (kd 0.5) (gap 0.24) **PASS**"), md);
        assertTrue(md.contains("| 15 | 1 | 0.5 | w2-relu-adam-a4.pim |  |  |  | flip | 60000 / 10000 |"),
            "q.pim's teacher column shows the file, not the fingerprint:\n" + md);
        assertTrue(md.contains("| 15 | 3 | 0.5 |  |  |  |  | flip | 60000 / 10000 |"),
            "o.pim's teacher is unknown:\n" + md);
        assertTrue(md.contains("| mlp | pillar | 15 epochs, r = 6.0, distilled from w1-relu-e45.pim (kd 0.5) | 2 | " +
            "89.40 |"), "the r = 6 runs are a recipe named by its range:\n" + md);
    }

    /** A W2 PILLAR fine-tuning row: 4 epochs of Adam with a tail weight of 1 from the model {@code init}. */
    private static Map<String, String> fineTuning(final String seed, final String init, final String accuracy,
        final String outside, final String model)
    {
        final Map<String, String> f = new HashMap<>(Map.of("net", "lenet", "activation", "pillar", "degree", "4",
            "epochs", "4", "optimizer", "adam", "lr", "3.0E-4", "tail", "3.0:1.0", "seed", seed, "init", init));
        f.putAll(Map.of("test_acc_float32", accuracy, "act_outside_fraction", outside, "model", model));
        return f;
    }

    @Test
    void fineTuningsOfEachSeedsModelOfOneRecipeAreOneRecipe() throws IOException
    {
        final List<String> lines = new ArrayList<>();
        lines.add(String.join(",", ResultsTable.COLUMNS));
        lines.add(line(Map.of("net", "lenet", "activation", "relu", "test_acc_float32", "93.16", "model", "r.pim"), 0));
        for (final String seed : List.of("1", "2", "3"))
        {
            // the base recipe: 60 epochs, one seed escaping the range
            lines.add(line(Map.of("net", "lenet", "activation", "pillar", "degree", "4", "epochs", "60", "tail",
                "3.0:0.03", "seed", seed, "test_acc_float32", "92.80", "act_outside_fraction",
                "3".equals(seed) ? "6.57e-09" : "0", "model", "base-s" + seed + ".pim"), 0));
            // each seed's model fine-tuned with one setting
            lines.add(line(fineTuning(seed, "base-s" + seed + ".pim@0123",
                "1".equals(seed) ? "92.90" : "2".equals(seed) ? "92.70" : "92.75", "0", "ft-s" + seed + ".pim"), 0));
        }
        // the same setting from another seed's model: not a seed of that recipe, one of its own
        lines.add(line(fineTuning("2", "base-s1.pim@0123", "93.50", "1e-06", "ft-cross.pim"), 0));
        Files.write(dir.resolve("training.csv"), lines, StandardCharsets.UTF_8);
        ResultsTable.rewrite(dir, null);
        final String md = Files.readString(dir.resolve("training.md"));
        final String recipe = "4 epochs, adam lr 0.0003, tail term 3.0 (weight 1.0), each seed from its model of: " +
            "60 epochs, tail term 3.0 (weight 0.03)";
        assertTrue(md.contains("| lenet | pillar | " + recipe + " | 3 | 92.78 | 92.70 | 92.90 |"), md);
        assertTrue(md.contains("lenet pillar within 0.5 points of our ReLU (93.16 %): 92.78 % (mean of 3 seeds: " +
            "92.90, 92.70, 92.75), " + recipe + " (gap 0.38) **PASS**"), md);
        assertTrue(md.contains("| 4 | 4 | 2 |  |  | base-s1.pim |"), "ft-cross.pim names its start model:\n" + md);
    }

    @Test
    void aConcatenatedFileShowsNoHeaderAsARunAndCountsNoRunTwice() throws IOException
    {
        final String header = String.join(",", ResultsTable.COLUMNS);
        final String a = line(Map.of("net", "lenet", "activation", "relu", "test_acc_float32", "92.82", "model",
            "a.pim"), 0);
        final String b = line(Map.of("net", "lenet", "activation", "relu", "seed", "2", "test_acc_float32", "92.72",
            "model", "b.pim"), 0);
        final String bRetrained = line(Map.of("net", "lenet", "activation", "relu", "seed", "2",
            "test_acc_float32", "92.90", "model", "b.pim"), 0);
        Files.write(dir.resolve("training.csv"), List.of(header, a, b, header, a, bRetrained),
            StandardCharsets.UTF_8);
        assertEquals(2, ResultsTable.rows(Files.readAllLines(dir.resolve("training.csv"))).size());
        ResultsTable.rewrite(dir, null);
        final String md = Files.readString(dir.resolve("training.md"));
        assertTrue(!md.contains("| net | activation |"), "the repeated header is not a run:\n" + md);
        assertEquals(1, md.split("\\| a\\.pim \\|", -1).length - 1, "a.pim once:\n" + md);
        assertTrue(md.contains("92.86 % (mean of 2 seeds: 92.82, 92.90)"),
            "the retrained b.pim replaces its row:\n" + md);
    }
}
