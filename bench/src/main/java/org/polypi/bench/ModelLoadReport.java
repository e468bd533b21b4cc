package org.polypi.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import org.polypi.model.ActivationKind;
import org.polypi.model.ModelFormat;
import org.polypi.model.ModelGraph;
import org.polypi.model.ReferenceNetworks;
import org.polypi.model.ReferenceNetworks.Workload;

/**
 * Measures loading the largest reference model (W5 resnet50, about 25 M parameters) from the model format: time
 * per load and bytes the loading thread allocates (an upper bound on the extra heap a load needs at its peak),
 * against the weights' own size. Writes bench/results/model-load.md and .csv.
 * <p>
 * Run: {@code bench/run-model-load.sh} (builds, then runs this main with the JDK 25 flags).
 */
public final class ModelLoadReport
{
    private static final int WARM_UP_LOADS = 3;
    private static final int MEASURED_LOADS = 9;
    private static final double LOAD_TARGET_SECONDS = 1.0;
    private static final double PEAK_TARGET_RATIO = 2.0;
    private static final double NANOS_PER_SECOND = 1e9;
    private static final double BYTES_PER_MIB = 1024.0 * 1024.0;
    private static final long SEED = 20261123L;

    private ModelLoadReport()
    {
    }

    /** Runs the measurement; {@code args[0]}, if given, is the output directory (default bench/results). */
    public static void main(final String[] args) throws IOException
    {
        final Path out = Path.of(args.length > 0 ? args[0] : "bench/results");
        final MachineStamp stamp = MachineStamp.collect();
        final List<String[]> rows = new ArrayList<>();
        boolean allPass = true;
        for (final ActivationKind kind : new ActivationKind[]{ActivationKind.RELU, ActivationKind.POLY})
        {
            final ModelGraph graph = ReferenceNetworks.build(Workload.RESNET50,
                ReferenceNetworks.Options.of(kind).withSeed(SEED));
            final Path file = Files.createTempFile("polypi-w5-", ".pim");
            try
            {
                ModelFormat.write(graph, file);
                final long weightBytes = graph.parameterCount() * Float.BYTES;
                final long[] nanos = new long[MEASURED_LOADS];
                final long[] allocated = new long[MEASURED_LOADS];
                for (int i = 0; i < WARM_UP_LOADS; i++)
                {
                    check(graph, ModelFormat.read(file));
                }
                for (int i = 0; i < MEASURED_LOADS; i++)
                {
                    System.gc();
                    final long a0 = allocatedBytes();
                    final long t0 = System.nanoTime();
                    final ModelGraph loaded = ModelFormat.read(file);
                    nanos[i] = System.nanoTime() - t0;
                    allocated[i] = allocatedBytes() - a0;
                    check(graph, loaded);
                }
                Arrays.sort(nanos);
                Arrays.sort(allocated);
                final double medianSeconds = nanos[MEASURED_LOADS / 2] / NANOS_PER_SECOND;
                final double maxSeconds = nanos[MEASURED_LOADS - 1] / NANOS_PER_SECOND;
                final double peakRatio = (double)allocated[MEASURED_LOADS - 1] / weightBytes;
                final boolean pass = maxSeconds < LOAD_TARGET_SECONDS && peakRatio < PEAK_TARGET_RATIO;
                allPass &= pass;
                rows.add(new String[]{
                    "resnet50 " + kind.name().toLowerCase(Locale.ROOT),
                    String.valueOf(graph.parameterCount()),
                    fmt(Files.size(file) / BYTES_PER_MIB),
                    fmt(weightBytes / BYTES_PER_MIB),
                    fmt(medianSeconds * 1e3),
                    fmt(maxSeconds * 1e3),
                    fmt(allocated[MEASURED_LOADS - 1] / BYTES_PER_MIB),
                    fmt(peakRatio),
                    pass ? "PASS" : "FAIL"});
            }
            finally
            {
                Files.deleteIfExists(file);
            }
        }
        write(out, stamp, rows, allPass);
    }

    private static void check(final ModelGraph expected, final ModelGraph loaded)
    {
        if (!expected.fingerprint().equals(loaded.fingerprint()))
        {
            throw new IllegalStateException("loaded model's fingerprint differs from the written one");
        }
    }

    private static long allocatedBytes()
    {
        return ((com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    private static String fmt(final double v)
    {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    private static void write(final Path dir, final MachineStamp stamp, final List<String[]> rows, final boolean allPass)
        throws IOException
    {
        Files.createDirectories(dir);
        final String[] header = {"model", "parameters", "file MiB", "weights MiB", "load ms (median)",
            "load ms (max)", "allocated MiB (max)", "allocated / weights", "result"};
        final StringBuilder md = new StringBuilder();
        md.append("# Model loading: W5 resnet50\n\n");
        md.append("Generated by `bench/run-model-load.sh` (org.polypi.bench.ModelLoadReport). Targets (issue 3): a load ")
            .append("takes under 1 s and its peak memory stays under 2x the weights' size. Peak memory is bounded by ")
            .append("the bytes the loading thread allocates during `ModelFormat.read` (every allocation counts, ")
            .append("garbage included, so the true peak is at most this). ").append(WARM_UP_LOADS)
            .append(" warm-up loads, then ").append(MEASURED_LOADS).append(" measured; every load is checked against ")
            .append("the written model's fingerprint.\n\n");
        md.append("| | |\n|---|---|\n");
        md.append("| machine | ").append(stamp.machine()).append(" |\n");
        md.append("| JDK | ").append(stamp.jdk()).append(" |\n");
        md.append("| OS | ").append(stamp.os()).append(" |\n");
        md.append("| commit | ").append(stamp.commit()).append(" |\n");
        md.append("| date | ").append(stamp.date()).append(" |\n\n");
        md.append("Overall: ").append(allPass ? "PASS" : "FAIL").append("\n\n");
        md.append("| ").append(String.join(" | ", header)).append(" |\n");
        md.append("|").append("---|".repeat(header.length)).append('\n');
        final StringBuilder csv = new StringBuilder();
        csv.append(String.join(",", header)).append(",machine,jdk,commit,date\n");
        for (final String[] row : rows)
        {
            md.append("| ").append(String.join(" | ", row)).append(" |\n");
            csv.append(String.join(",", row)).append(",\"").append(stamp.machine()).append("\",\"")
                .append(stamp.jdk()).append("\",").append(stamp.commit()).append(',').append(stamp.date()).append('\n');
        }
        Files.writeString(dir.resolve("model-load.md"), md, StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("model-load.csv"), csv, StandardCharsets.UTF_8);
        System.out.print(md);
    }
}
