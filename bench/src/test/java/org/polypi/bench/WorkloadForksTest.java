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
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The parent / worker protocol of the bench's per-workload JVMs (the fork itself runs in EndToEndBenchTest). */
final class WorkloadForksTest
{
    private static final E2eCell W1_RELU = new E2eCell(E2eWorkload.W1, E2eVariant.RELU, E2eProfile.INMEM, 1);
    private static final E2eCell W1_PILLAR = new E2eCell(E2eWorkload.W1, E2eVariant.PILLAR, E2eProfile.INMEM, 64);
    private static final E2eCell W3_PILLAR = new E2eCell(E2eWorkload.W3, E2eVariant.PILLAR, E2eProfile.INMEM, 1);

    @TempDir
    Path dir;

    @Test
    void cellsAreGroupedIntoRunsOfOneWorkload()
    {
        assertEquals(List.of(List.of(W1_RELU, W1_PILLAR), List.of(W3_PILLAR), List.of(W1_RELU)),
            WorkloadForks.byWorkload(List.of(W1_RELU, W1_PILLAR, W3_PILLAR, W1_RELU)));
        assertEquals(List.of(), WorkloadForks.byWorkload(List.of()));
    }

    @Test
    void workerGetsTheParentsOptionsWithExactlyItsCells()
    {
        final String[] parent = {"--engine-report", "--filter", "w1/*/inmem/*", "--cell-seconds", "45",
            "--filter=w3/**", "--kernels", "native"};
        final Path file = dir.resolve("r");
        assertEquals(List.of("--engine-report", "--cell-seconds", "45", "--kernels", "native", "--filter",
                "w1/relu/inmem/1,w1/pillar/inmem/64", WorkloadForks.RESULTS_OPTION, file.toString(),
                WorkloadForks.RATE_OPTION, "2.04E10"),
            WorkloadForks.workerArguments(parent, List.of(W1_RELU, W1_PILLAR), file, 20.4e9));
    }

    @Test
    void resultsRoundTripAndAreCheckedAgainstTheCellsAsked() throws IOException
    {
        final E2eResult measured = new E2eResult(W1_PILLAR, E2eResult.OK, "trained", "mlp", 16, 101_632, 5, 20, 1.5,
            1.7, 4.0, 2.0, 1e6, 2e5, 2e5, 7, 1.2, 0.3, 0.4, Map.of("linear", 0.9, "activation", 0.4),
            List.of(new E2eResult.ActivationCheck("act1", 4, 1, 1)),
            new E2eResult.Accuracy(1000, 0.897, 0.897, 0.897, 1.0));
        final E2eResult skipped = E2eResult.notRun(W1_RELU, "not run: why");
        final Path file = dir.resolve("results");
        WorkloadForks.write(List.of(measured, skipped), file);
        final List<E2eResult> back = WorkloadForks.read(file, List.of(W1_PILLAR, W1_RELU));
        assertEquals(measured, back.get(0));
        assertEquals(skipped.cell(), back.get(1).cell());
        assertEquals("not run: why", back.get(1).status());
        assertFalse(Files.exists(dir.resolve("results.tmp")), "the temporary file was moved into place");

        final IOException other = assertThrows(IOException.class,
            () -> WorkloadForks.read(file, List.of(W1_PILLAR, W3_PILLAR)));
        assertTrue(other.getMessage().endsWith("result 1 is not that of cell w3/pillar/inmem/1"), other.getMessage());
        final IOException count = assertThrows(IOException.class,
            () -> WorkloadForks.read(file, List.of(W1_PILLAR)));
        assertTrue(count.getMessage().endsWith("holds 2 results, the worker was given 1 cells"), count.getMessage());

        Files.write(file, new byte[]{1, 2, 3, 4});
        assertThrows(IOException.class, () -> WorkloadForks.read(file, List.of(W1_PILLAR)));
    }

    @Test
    void aWorkerThatFailsMakesItsCellsFailedWithItsLastLine()
    {
        final ByteArrayOutputStream console = new ByteArrayOutputStream();
        // A "JVM" that prints a line and exits 3 without writing results.
        final List<E2eResult> r = WorkloadForks.run(List.of("sh", "-c", "echo 'worker: out of memory'; exit 3",
            "sh"), new String[0], List.of(W1_RELU, W3_PILLAR), 20e9,
            new PrintStream(console, true, StandardCharsets.UTF_8));
        assertEquals(2, r.size());
        for (final E2eResult x : r)
        {
            assertFalse(x.ok());
            assertEquals("failed: worker JVM exited with code 3 (worker: out of memory)", x.status());
        }
        assertEquals(List.of(W1_RELU, W3_PILLAR), r.stream().map(E2eResult::cell).toList());
        assertTrue(console.toString(StandardCharsets.UTF_8).contains("  worker: out of memory"));
    }
}
