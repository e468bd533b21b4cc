package org.polypi.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.polypi.kernels.Kernels;
import org.polypi.model.ActivationKind;
import org.polypi.model.ModelFormat;
import org.polypi.model.ReferenceNetworks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs the bench's own code path on tiny W1 cells (in memory and over plaintext TCP) and one cell the engine cannot
 * run (W4's unfoldable HerPN), each workload in a worker JVM as the bench runs by default, and checks
 * the structure of what it writes, so that the report code cannot rot silently: the CSV's columns, one row per
 * cell, numbers that parse and agree with each other, the markdown's sections, and real PNG files.
 */
final class EndToEndBenchTest
{
    private static final byte[] PNG_SIGNATURE = {(byte)0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    private static final String[] CELLS = {"w1/relu/inmem/1", "w1/pillar/inmem/1", "w1/pillar-espn/inmem/1",
        "w1/crypten/inmem/1", "w1/pillar/lan/1", "w4/herpn/inmem/1"};
    private static final String[] TINY = {"--runs", "2", "--warmup", "1", "--min-runs", "1", "--no-tls",
        "--images", "16"};

    @TempDir
    Path dir;

    private Path models;

    @BeforeEach
    void folders()
    {
        models = dir.resolve("models");
    }

    @Test
    void floorsTakeTheHigherOfTheTwoProductRateReadings()
    {
        // 10 ms of compute at the first reading (20 Gma/s), 3 ms of bytes and rounds on top.
        final E2eResult r = new E2eResult(new E2eCell(E2eWorkload.W3, E2eVariant.PILLAR, E2eProfile.LAN, 64),
            E2eResult.OK, "trained", "minionn", 16, 1000, 1, 3, 26, 30, 40, 5, 1, 1, 1, 25, 100, 10, 13, Map.of(),
            List.of(), E2eResult.Accuracy.NONE);
        final E2eResult faster = r.atRate(20e9, 25e9);
        assertEquals(8, faster.computeFloorMs(), 1e-9, "compute floor at the higher rate");
        assertEquals(11, faster.floorMs(), 1e-9, "the physical floor keeps its bytes and rounds");
        assertEquals(26 / 8.0, faster.computeFloorRatio(), 1e-9);
        assertEquals(r, r.atRate(20e9, 20e9));

        final MachineStamp stamp = MachineStamp.collect();
        final String steady = new E2eReport.Context(stamp, false, "vector", 20.5e9, 20.5e9, 20e9, "", "", List.of())
            .rateText();
        assertTrue(steady.startsWith("20.50 Gma/s") && steady.contains("20.50 before the cells, 20.00 after") &&
            !steady.contains("differ by"), steady);
        final String unsteady = new E2eReport.Context(stamp, false, "vector", 20.5e9, 16.7e9, 20.5e9, "", "",
            List.of()).rateText();
        assertTrue(unsteady.contains("differ by 19 %: the machine or this JVM's compiled code was not the same"),
            unsteady);
    }

    @Test
    void endToEndReportHasOneParsableRowPerCell() throws IOException
    {
        final Path out = dir.resolve("out");
        // A "trained" W1 PILLAR model (seeded weights written as the trainer would): its cells report accuracy.
        Files.createDirectories(models);
        ModelFormat.write(ReferenceNetworks.mlp(ReferenceNetworks.Options.of(ActivationKind.POLY)
            .withPoly(ReferenceNetworks.PILLAR_DEGREE4).withSeed(3)), models.resolve("w1-pillar4.pim"));
        final String log = run(out, "--filter", String.join(",", CELLS));

        final List<Path> md = list(out, ".md");
        final List<Path> csv = list(out, ".csv").stream().filter(p -> !p.toString().endsWith("-activations.csv"))
            .toList();
        assertEquals(2, md.size(), "dated report and latest.md: " + md);
        assertEquals(2, csv.size(), "dated CSV and latest.csv: " + csv);
        assertEquals(2, list(out, "-activations.csv").size(), "dated and latest activation CSVs");
        assertEquals(Files.readString(out.resolve("latest.csv")), Files.readString(csvNotLatest(csv)));
        for (final String png : List.of("latest-latency.png", "latest-breakdown.png"))
        {
            final byte[] head = new byte[PNG_SIGNATURE.length];
            System.arraycopy(Files.readAllBytes(out.resolve(png)), 0, head, 0, head.length);
            assertArrayEquals(PNG_SIGNATURE, head, png);
        }

        final List<Map<String, String>> rows = parseCsv(Files.readString(out.resolve("latest.csv")));
        assertEquals(CELLS.length, rows.size(), "one row per cell");
        final Map<String, Map<String, String>> byCell = new HashMap<>();
        for (final Map<String, String> r : rows)
        {
            byCell.put(r.get("workload").toLowerCase() + "/" + r.get("variant") + "/" + r.get("profile") + "/" +
                r.get("batch"), r);
        }
        for (final String c : CELLS)
        {
            assertTrue(byCell.containsKey(c), "row of " + c + " in " + byCell.keySet());
        }
        assertTrue(byCell.get("w4/herpn/inmem/1").get("status").startsWith("not run"));
        for (final String c : new String[]{"w1/relu/inmem/1", "w1/pillar/inmem/1", "w1/pillar-espn/inmem/1",
            "w1/crypten/inmem/1", "w1/pillar/lan/1"})
        {
            final Map<String, String> r = byCell.get(c);
            assertEquals("ok", r.get("status"), c + ": " + r.get("status"));
            for (final String col : E2eReport.NUMERIC_COLUMNS)
            {
                if (!col.equals("relu_over_this") || !c.endsWith("lan/1"))
                {
                    Double.parseDouble(r.get(col));
                }
            }
            assertTrue(number(r, "online_median_ms") > 0 && number(r, "online_p90_ms") >= number(r,
                "online_median_ms"), c + ": median and p90");
            assertEquals(number(r, "batch") * 1e3 / number(r, "online_median_ms"), number(r, "throughput_per_s"),
                1e-3 * number(r, "throughput_per_s"), c + ": throughput = batch / median");
            assertTrue(number(r, "floor_ms") >= number(r, "compute_floor_ms"), c + ": floor includes compute");
            assertTrue(number(r, "dealer_bytes_per_inference") > 0 && number(r, "rounds") > 0, c);
            assertEquals("false", r.get("tls"));
            final boolean trained = c.contains("pillar") || c.contains("crypten");
            assertEquals(Boolean.toString(trained), r.get("trained"), c);
            if (trained)
            {
                assertEquals(16, number(r, "accuracy_images"), c);
                for (final String col : List.of("accuracy_float", "accuracy_fixed", "accuracy_secure", "agreement"))
                {
                    assertTrue(number(r, col) >= 0 && number(r, col) <= 1, c + " " + col);
                }
                assertTrue(r.get("model").endsWith("w1-pillar4.pim"), r.get("model"));
            }
            else
            {
                assertEquals("", r.get("accuracy_secure"), c + ": no accuracy without trained weights");
            }
        }
        assertTrue(Files.readString(out.resolve("latest.md")).contains("## Accuracy (trained models only)"));
        assertEquals(1.0, number(byCell.get("w1/relu/inmem/1"), "relu_over_this"));
        assertEquals(number(byCell.get("w1/relu/inmem/1"), "online_median_ms") /
                number(byCell.get("w1/pillar/inmem/1"), "online_median_ms"),
            number(byCell.get("w1/pillar/inmem/1"), "relu_over_this"), 1e-3);
        // The engine's costs are deterministic: the same over every transport.
        assertEquals(byCell.get("w1/pillar/inmem/1").get("rounds"), byCell.get("w1/pillar/lan/1").get("rounds"));
        assertEquals(byCell.get("w1/pillar/inmem/1").get("server_online_bytes_per_inference"),
            byCell.get("w1/pillar/lan/1").get("server_online_bytes_per_inference"));
        // ESPN (a truncation, then d-1 openings per copy) takes more rounds and bytes than the fused opening.
        assertTrue(number(byCell.get("w1/pillar-espn/inmem/1"), "rounds") >
            number(byCell.get("w1/pillar/inmem/1"), "rounds"));
        assertTrue(number(byCell.get("w1/pillar-espn/inmem/1"), "server_online_bytes_per_inference") >
            number(byCell.get("w1/pillar/inmem/1"), "server_online_bytes_per_inference"));

        final String report = Files.readString(out.resolve("latest.md"));
        for (final String section : List.of("## Goals", "## Charts", "## Results", "### W1 mlp",
            "## Online time per layer type", "## Polynomial activation steps", "## Cells not measured",
            "latest-latency.png", "W2 PILLAR batch-1 online latency, lan"))
        {
            assertTrue(report.contains(section), "report has " + section);
        }
        assertTrue(report.contains("| w1/pillar/inmem/1 | act1 | 4 | 1.00 | 1.00 | PASS |"), "fused row:\n" + report);
        assertTrue(report.contains("| w1/pillar-espn/inmem/1 | act1 | 4 |") && report.contains("| baseline |"),
            "ESPN rows are baselines:\n" + report);
        // CrypTen's power schedule: more rounds and bytes than the fused opening too.
        assertTrue(number(byCell.get("w1/crypten/inmem/1"), "rounds") >
            number(byCell.get("w1/pillar/inmem/1"), "rounds"));
        assertTrue(log.contains("[6/6]"), log);
        assertTrue(log.contains("W1: 5 cells in a fresh JVM") && log.contains("W4: 1 cells in a fresh JVM"), log);

        // With a CrypTen cell the protocols also run alone, CrypTen's own polynomial (local truncation per product)
        // among them, at W1's 256 activation elements.
        assertTrue(report.contains("## Activation protocols in isolation"), report);
        final String[] lines = Files.readString(out.resolve("latest-activations.csv")).split("\n");
        assertEquals("elements,profile,protocol,runs,online_median_ms,rounds,elements_per_party_per_element,commit",
            lines[0]);
        final Map<String, String[]> protocols = new HashMap<>();
        for (int i = 1; i < lines.length; i++)
        {
            final String[] f = lines[i].split(",");
            assertEquals("256", f[0]);
            assertEquals("inmem", f[1]);
            assertTrue(Double.parseDouble(f[4]) > 0, lines[i]);
            protocols.put(f[2], f);
        }
        // Rounds and ring elements per party per element of each protocol (docs/protocols.md §4), d = 4.
        final Map<String, double[]> expected = Map.of("fused", new double[]{1, 1}, "honeybadger", new double[]{1, 1},
            "espn", new double[]{1, 3}, "crypten", new double[]{2, 6});
        assertEquals(expected.keySet(), protocols.keySet());
        for (final Map.Entry<String, double[]> e : expected.entrySet())
        {
            assertEquals(e.getValue()[0], Double.parseDouble(protocols.get(e.getKey())[5]), e.getKey() + " rounds");
            assertEquals(e.getValue()[1], Double.parseDouble(protocols.get(e.getKey())[6]), e.getKey() + " elements");
        }
    }

    @Test
    void engineReportWritesEngineFiles() throws IOException
    {
        final Path out = dir.resolve("engine");
        // In this JVM (--no-fork); endToEndReportHasOneParsableRowPerCell runs its workloads in worker JVMs.
        run(out, "--engine-report", "--no-fork", "--filter", "w1/pillar/*/1");
        final List<Map<String, String>> rows = parseCsv(Files.readString(out.resolve("engine.csv")));
        assertEquals(1, rows.size());
        assertEquals("inmem", rows.getFirst().get("profile"));
        final String md = Files.readString(out.resolve("engine.md"));
        assertTrue(md.startsWith("# PolyPI engine costs (issue 4)"), md);
        assertTrue(md.contains("| polynomial activation: 1 round and <= d-1 ring elements per party per element | " +
            "every step | 2 of 2 activation steps | PASS |"), md);
        assertFalse(Files.exists(out.resolve("latest.md")));
    }

    @Test
    void badOptionIsAnErrorWithoutOutput()
    {
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final int code = EndToEndBench.run(new String[]{"--filter", "nothing/matches", "--out", dir.toString()},
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(1, code);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("no cell matches --filter nothing/matches"),
            err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void kernelBackendOptionIsCheckedBeforeAnyCell()
    {
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final int unknown = EndToEndBench.run(new String[]{"--kernels", "gpu", "--list"},
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(1, unknown);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains(
            "unknown kernel backend 'gpu': expected vector, scalar or native"), err.toString(StandardCharsets.UTF_8));
        // This JVM runs its backend already, so asking for another one is refused, naming both.
        final String running = Kernels.get().name();
        final String other = running.equals("scalar") ? "vector" : "scalar";
        final IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> EndToEndBench.selectBackend(other));
        assertEquals("--kernels " + other + ": this JVM already runs the " + running + " backend (chosen before the " +
            "option was read); pass -Dpolypi.kernels=" + other + " to the JVM instead", e.getMessage());
        assertEquals(running, Kernels.get().name());
        EndToEndBench.selectBackend(running);
    }

    @Test
    void quickSubsetHoldsTheGoalCells()
    {
        final EndToEndBench b = new EndToEndBench();
        b.quick = true;
        final List<String> ids = b.cells().stream().map(E2eCell::id).toList();
        for (final String goal : List.of("w2/pillar/lan/1", "w3/pillar/lan/1", "w2/pillar/lan/64", "w3/pillar/wan/1",
            "w3/relu/wan/1", "w3/pillar/inmem/1", "w2/pillar-espn/lan/1", "w2/pillar-hb/inmem/1"))
        {
            assertTrue(ids.contains(goal), goal + " in " + ids);
        }
        assertTrue(ids.stream().noneMatch(id -> id.startsWith("w4")), ids.toString());
    }

    private String run(final Path out, final String... args)
    {
        final List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of(TINY));
        all.addAll(List.of("--out", out.toString(), "--models", models.toString()));
        final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        final int code = EndToEndBench.run(all.toArray(String[]::new),
            new PrintStream(stdout, true, StandardCharsets.UTF_8), new PrintStream(stderr, true, StandardCharsets.UTF_8));
        assertEquals(0, code, stderr.toString(StandardCharsets.UTF_8));
        return stdout.toString(StandardCharsets.UTF_8);
    }

    private static double number(final Map<String, String> row, final String column)
    {
        return Double.parseDouble(row.get(column));
    }

    private static Path csvNotLatest(final List<Path> csv)
    {
        return csv.stream().filter(p -> !p.getFileName().toString().startsWith("latest")).findFirst().orElseThrow();
    }

    private static List<Path> list(final Path dir, final String suffix) throws IOException
    {
        try (Stream<Path> s = Files.list(dir))
        {
            return s.filter(p -> p.toString().endsWith(suffix)).sorted().toList();
        }
    }

    /** Rows of the bench's CSV as column -> value; checks the header and every row's width. */
    static List<Map<String, String>> parseCsv(final String text)
    {
        return csvRows(text, E2eReport.CSV_COLUMNS);
    }

    /** Rows of an RFC 4180 CSV whose header is {@code columns}, as column -> value; checks every row's width. */
    static List<Map<String, String>> csvRows(final String text, final List<String> columns)
    {
        final List<List<String>> records = new ArrayList<>();
        List<String> fields = new ArrayList<>();
        final StringBuilder f = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < text.length(); i++)
        {
            final char c = text.charAt(i);
            if (quoted)
            {
                if (c == '"' && i + 1 < text.length() && text.charAt(i + 1) == '"')
                {
                    f.append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    f.append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.add(f.toString());
                f.setLength(0);
            }
            else if (c == '\n')
            {
                fields.add(f.toString());
                f.setLength(0);
                records.add(fields);
                fields = new ArrayList<>();
            }
            else
            {
                f.append(c);
            }
        }
        assertTrue(fields.isEmpty() && f.isEmpty(), "CSV ends with a newline");
        assertEquals(columns, records.getFirst(), "header");
        final List<Map<String, String>> rows = new ArrayList<>();
        for (final List<String> r : records.subList(1, records.size()))
        {
            assertEquals(columns.size(), r.size(), "width of " + r);
            final Map<String, String> m = new HashMap<>();
            for (int i = 0; i < r.size(); i++)
            {
                m.put(columns.get(i), r.get(i));
            }
            rows.add(m);
        }
        return rows;
    }
}
