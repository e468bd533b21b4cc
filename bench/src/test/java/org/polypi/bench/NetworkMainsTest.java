package org.polypi.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs issue 6's three bench mains (process agreement, network report, soak) on tiny configurations and checks the
 * structure of what they write, so that they cannot rot: the CSV headers, one row per model / cell / sample, numbers
 * that parse and agree with each other, the markdown's tables and verdict lines. The agreement and the soak start
 * real {@code polypi dealer} and {@code polypi server} child processes over TLS.
 */
final class NetworkMainsTest
{
    @TempDir
    Path dir;

    @Test
    void processAgreementComparesEveryImageOverTcpAndInMemory() throws IOException
    {
        final Path out = dir.resolve("agreement");
        final Run r = run(ProcessAgreement::run, "--images", "4", "--batch", "2", "--select", "w1/pillar",
            "--models", dir.resolve("no-models").toString(), "--timeout", "120", "--out", out.toString());
        assertEquals(0, r.status, r.toString());
        final List<Map<String, String>> rows = csv(out.resolve("network-agreement.csv"),
            ProcessAgreement.CSV_HEADER);
        assertEquals(1, rows.size(), r.toString());
        final Map<String, String> row = rows.getFirst();
        assertEquals("W1", row.get("model"));
        assertEquals("4", row.get("images"));
        assertEquals("2", row.get("batch"));
        assertEquals("true", row.get("same_plan"));
        final int identical = Integer.parseInt(row.get("identical_top1"));
        assertTrue(identical >= 0 && identical <= 4, row.toString());
        assertEquals(identical == 4 ? "PASS" : "TIES", row.get("result"), row.toString());
        assertEquals(identical == 4, row.get("differing_margins_ulp").isEmpty(), row.toString());
        assertTrue(Long.parseLong(row.get("max_logit_diff_ulp")) >= 0, row.toString());
        // An image can only differ if it is a near tie.
        assertTrue(Integer.parseInt(row.get("near_tie_images")) >= 4 - identical, row.toString());
        assertTrue(Double.parseDouble(row.get("tcp_seconds")) > 0, row.toString());
        assertTrue(row.get("security").startsWith("TLS 1.3"), row.toString());
        final String md = Files.readString(out.resolve("network-agreement.md"));
        assertTrue(md.contains("| model | source | f | images | identical top-1 |"), md);
        assertTrue(md.contains("| W1 pillar | random weights"), md);
        assertTrue(md.contains("`polypi dealer` and `polypi server` as two separate OS processes"), md);
    }

    @Test
    void networkReportHasOneRowPerCellAndGoalLines() throws IOException
    {
        final Path out = dir.resolve("network");
        final Run r = run(NetworkReport::run, "--workloads", "w1", "--variants", "pillar", "--profiles",
            "inmem,lan,wan", "--batches", "1", "--runs", "1", "--warmup", "1", "--min-runs", "1", "--cell-seconds",
            "0.1", "--models", dir.resolve("no-models").toString(), "--out", out.toString());
        assertEquals(0, r.status, r.toString());
        final List<Map<String, String>> rows = csv(out.resolve("network.csv"), NetworkReport.CSV_HEADER);
        assertEquals(List.of("inmem", "lan", "wan"), rows.stream().map(m -> m.get("profile")).toList());
        for (final Map<String, String> row : rows)
        {
            assertEquals("ok", row.get("status"), row.toString());
            final double median = Double.parseDouble(row.get("online_median_ms"));
            assertTrue(median > 0 && Double.parseDouble(row.get("online_p90_ms")) >= median, row.toString());
            assertTrue(Double.parseDouble(row.get("server_bytes_per_query")) > 0, row.toString());
            assertTrue(Double.parseDouble(row.get("rounds_per_query")) >= 1, row.toString());
            assertEquals(1e3 / median, Double.parseDouble(row.get("throughput_inf_per_s")), 1e-3 * 1e3 / median,
                row.toString());
            assertEquals(Boolean.toString(!"inmem".equals(row.get("profile"))), row.get("tls"), row.toString());
        }
        // Every cell runs the same plan: the same bytes and rounds whatever the transport.
        assertEquals(1, rows.stream().map(m -> m.get("rounds_per_query") + "/" + m.get("server_bytes_per_query"))
            .distinct().count(), rows.toString());
        // The wan cell pays at least its rounds' one-way delays.
        final Map<String, String> wan = rows.getLast();
        assertTrue(Double.parseDouble(wan.get("online_median_ms")) >= Double.parseDouble(
            wan.get("rounds_per_query")) * Double.parseDouble(wan.get("profile_rtt_ms")) / 2, wan.toString());
        final String md = Files.readString(out.resolve("network.md"));
        assertTrue(md.contains("TLS 1.3 with mutual authentication"), md);
        assertTrue(md.contains("## Goals") && md.contains("## Cells"), md);
        assertEquals(3, md.lines().filter(l -> l.startsWith("| W1 mlp |")).count(), md);
    }

    @Test
    void goalLinesCompareW3PolyCells()
    {
        final List<E2eResult> results = List.of(
            result(E2eProfile.INMEM, 1, 10, 18, 1000),
            result(E2eProfile.LAN, 1, 11, 18, 1000),
            result(E2eProfile.INMEM, 64, 100, 18, 64_000),
            result(E2eProfile.LAN, 64, 130, 18, 64_000),
            result(E2eProfile.WAN, 1, 1000, 18, 1_000_000));
        final List<NetworkReport.Goal> goals = NetworkReport.goals(results);
        assertEquals(3, goals.size(), goals.toString());
        assertEquals(1.1, goals.get(0).measured(), 1e-12);
        assertEquals("PASS", goals.get(0).result());
        assertEquals(1.3, goals.get(1).measured(), 1e-12);
        assertEquals("MISS", goals.get(1).result());
        // 18 rounds x 50 ms + 1,000,000 B / 50 MB/s = 900 + 20 = 920 ms.
        assertEquals(1000 / 920.0, goals.get(2).measured(), 1e-12);
        assertEquals("PASS", goals.get(2).result());
    }

    @Test
    void soakCountsFailuresAndSamplesBothProcesses() throws IOException
    {
        final Path out = dir.resolve("soak");
        final Run r = run(SoakBench::run, "--inferences", "6", "--session-queries", "3", "--sample-every", "2",
            "--warm-up", "2", "--models", dir.resolve("no-models").toString(), "--out", out.toString());
        assertEquals(0, r.status, r.toString());
        final List<Map<String, String>> rows = csv(out.resolve("soak.csv"), SoakBench.CSV_HEADER);
        assertEquals("start", rows.getFirst().get("phase"));
        assertEquals("6", rows.getLast().get("inferences_in_phase"), rows.toString());
        assertEquals("12", rows.getLast().get("inferences_total"), rows.toString());
        // One session, then two of three queries.
        assertEquals("3", rows.getLast().get("sessions_total"), rows.toString());
        long previous = -1;
        for (final Map<String, String> row : rows)
        {
            final long total = Long.parseLong(row.get("inferences_total"));
            assertTrue(total >= previous, rows.toString());
            previous = total;
            assertTrue(Long.parseLong(row.get("server_rss_bytes")) > 0, row.toString());
            assertTrue(Long.parseLong(row.get("dealer_rss_bytes")) > 0, row.toString());
        }
        assertTrue(rows.stream().anyMatch(m -> m.get("phase").startsWith("sessions of 3")), rows.toString());
        final String md = Files.readString(out.resolve("soak.md"));
        assertTrue(md.contains("**Zero failures** in 12 inferences."), md);
        assertTrue(md.contains("| single session | 6 | 1 | 0 |"), md);
        assertTrue(md.contains("| sessions of 3 queries | 6 | 2 | 0 |"), md);
        assertTrue(md.contains("| server |") && md.contains("| dealer |"), md);
    }

    @Test
    void soakMemorySummaryStartsAtTheWarmSample()
    {
        final List<SoakBench.Sample> s = List.of(
            new SoakBench.Sample("start", 0, 0, 0, 0, 100, 10),
            new SoakBench.Sample("p", 5, 5, 0, 1, 150, 20),
            new SoakBench.Sample("p", 10, 10, 0, 2, 200, 30),
            new SoakBench.Sample("p", 15, 15, 0, 3, 230, 25),
            new SoakBench.Sample("p", 20, 20, 1, 4, 190, 28));
        final SoakBench.Memory server = SoakBench.memory(s, 10, true);
        assertEquals(new SoakBench.Memory(100, 200, 190, 230, 190), server);
        assertEquals(30, server.maxDrift());
        final SoakBench.Memory dealer = SoakBench.memory(s, 10, false);
        assertEquals(5, dealer.maxDrift());
        assertFalse(dealer.maxDrift() < 0);
    }

    private static E2eResult result(final E2eProfile profile, final int batch, final double onlineMs,
                                    final double rounds, final double bytesPerQuery)
    {
        final E2eCell cell = new E2eCell(E2eWorkload.W3, E2eVariant.PILLAR, profile, batch);
        return new E2eResult(cell, E2eResult.OK, "test", "minionn", 12, 1, 1, 1, onlineMs, onlineMs, onlineMs, 0, 0,
            bytesPerQuery / batch, bytesPerQuery / batch / 2, rounds, 0, 0, 0, Map.of(), List.of(),
            E2eResult.Accuracy.NONE);
    }

    /** A main's exit status and output. */
    private record Run(int status, String out, String err)
    {
        @Override
        public String toString()
        {
            return "status " + status + "\nout:\n" + out + "\nerr:\n" + err;
        }
    }

    private interface Main
    {
        int run(String[] args, PrintStream out, PrintStream err);
    }

    private static Run run(final Main main, final String... args)
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final int status = main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Rows of a CSV whose header must be {@code header}; quoted fields may hold commas. */
    private static List<Map<String, String>> csv(final Path file, final String header) throws IOException
    {
        return EndToEndBenchTest.csvRows(Files.readString(file, StandardCharsets.UTF_8), List.of(header.split(",")));
    }
}
