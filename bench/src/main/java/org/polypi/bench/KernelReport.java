package org.polypi.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.annotations.Mode;

/**
 * Runs the kernel benchmark suite (GEMM, convolution, elementwise, PRG) through the JMH runner API and writes the
 * acceptance report: {@code kernels.md} (a table per acceptance item: target, measured, pass/fail),
 * {@code kernels.csv} and {@code kernels.svg}, all stamped with machine, JDK, OS, git commit and date.
 * <p>
 * The default settings (one fork per benchmark, 3 x 1 s warm-up, 5 x 1 s measurement) keep the whole suite near
 * ten minutes on two cores. Run it on a quiet machine: see {@code bench/README.md}.
 * <p>
 * Options: {@code --quick} (1 x 0.2 s warm-up and measurement: a smoke test, not a result), {@code --include REGEX}
 * (JMH benchmark filter), {@code --out DIR} (default {@code bench/results} under the working directory if
 * {@code bench/} exists, else {@code results}).
 */
public final class KernelReport
{
    /** Every benchmark of the suite. */
    static final String DEFAULT_INCLUDE = "org\\.polypi\\.bench\\.(GemmBench|ConvBench|ElementwiseBench|PrgBench)\\.";

    private static final int WARMUP_ITERATIONS = 3;
    private static final int MEASUREMENT_ITERATIONS = 5;
    private static final long ITERATION_MS = 1000;
    private static final long QUICK_ITERATION_MS = 200;
    private static final String PACKAGE_PREFIX = "org.polypi.bench.";

    private KernelReport()
    {
    }

    /**
     * Entry point.
     *
     * @param args see the class comment.
     * @throws RunnerException if JMH cannot run at all.
     * @throws IOException if a report file cannot be written.
     */
    public static void main(final String[] args) throws RunnerException, IOException
    {
        boolean quick = false;
        String include = DEFAULT_INCLUDE;
        Path out = Files.isDirectory(Path.of("bench")) ? Path.of("bench", "results") : Path.of("results");
        for (int i = 0; i < args.length; i++)
        {
            switch (args[i])
            {
                case "--quick" -> quick = true;
                case "--include" -> include = value(args, ++i, "--include");
                case "--out" -> out = Path.of(value(args, ++i, "--out"));
                case "--help", "-h" ->
                {
                    usage(System.out);
                    return;
                }
                default ->
                {
                    usage(System.err);
                    throw new IllegalArgumentException("unknown argument '" + args[i] + "'");
                }
            }
        }

        // Stamp first: the git dirty check must not see the files this run is about to write.
        final MachineStamp stamp = MachineStamp.collect();
        final int warmups = quick ? 1 : WARMUP_ITERATIONS;
        final int iterations = quick ? 1 : MEASUREMENT_ITERATIONS;
        final long iterationMs = quick ? QUICK_ITERATION_MS : ITERATION_MS;
        final String settings = String.format(Locale.ROOT,
            "1.37, 1 fork per benchmark, %d x %d ms warm-up, %d x %d ms measurement, average time per op%s",
            warmups, iterationMs, iterations, iterationMs, quick ? " (QUICK smoke run: not a result)" : "");

        final Options options = new OptionsBuilder()
            .include(include)
            .forks(1)
            .warmupIterations(warmups)
            .warmupTime(TimeValue.milliseconds(iterationMs))
            .measurementIterations(iterations)
            .measurementTime(TimeValue.milliseconds(iterationMs))
            .mode(Mode.AverageTime)
            .timeUnit(TimeUnit.NANOSECONDS)
            .shouldFailOnError(false)
            .build();
        final Collection<RunResult> runs = new Runner(options).run();

        final Analysis analysis = new Analysis(measurements(runs));
        final ReportWriter writer = new ReportWriter(stamp, settings, analysis);
        Files.createDirectories(out);
        final Path md = out.resolve("kernels.md");
        final Path csv = out.resolve("kernels.csv");
        final Path svg = out.resolve("kernels.svg");
        Files.writeString(md, writer.markdown(), StandardCharsets.UTF_8);
        Files.writeString(csv, writer.csv(), StandardCharsets.UTF_8);
        Files.writeString(svg, SvgChart.render(stamp, analysis), StandardCharsets.UTF_8);

        System.out.println();
        System.out.println("Kernel acceptance (" + stamp.machine() + ", commit " + stamp.commit() + "):");
        for (final Analysis.Check c : analysis.checks())
        {
            System.out.printf(Locale.ROOT, "  %-8s %-55s %-18s target %s%n", c.result(), c.name(), c.measuredText(),
                c.target());
        }
        System.out.println("Wrote " + md + ", " + csv + ", " + svg);
    }

    private static List<Measurement> measurements(final Collection<RunResult> runs)
    {
        final List<Measurement> list = new ArrayList<>();
        for (final RunResult run : runs)
        {
            final BenchmarkParams params = run.getParams();
            final String full = params.getBenchmark();
            final String name = full.startsWith(PACKAGE_PREFIX) ? full.substring(PACKAGE_PREFIX.length()) : full;
            final int dot = name.lastIndexOf('.');
            final Map<String, String> values = new TreeMap<>();
            for (final String key : params.getParamsKeys())
            {
                values.put(key, params.getParam(key));
            }
            final Result<?> primary = run.getPrimaryResult();
            final double scale = nanosPer(primary.getScoreUnit());
            list.add(new Measurement(name.substring(0, dot), name.substring(dot + 1), values,
                primary.getScore() * scale, primary.getScoreError() * scale));
        }
        return list;
    }

    /** Nanoseconds per unit of a JMH average-time unit ("ns/op", "us/op", ...). */
    private static double nanosPer(final String scoreUnit)
    {
        final String unit = scoreUnit.substring(0, scoreUnit.indexOf('/'));
        return switch (unit)
        {
            case "ns" -> 1;
            case "us" -> 1e3;
            case "ms" -> 1e6;
            case "s" -> 1e9;
            default -> throw new IllegalStateException("unexpected JMH score unit " + scoreUnit);
        };
    }

    private static String value(final String[] args, final int index, final String option)
    {
        if (index >= args.length)
        {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[index];
    }

    private static void usage(final PrintStream out)
    {
        out.println("usage: KernelReport [--quick] [--include REGEX] [--out DIR]");
        out.println("  --quick          1 x 0.2 s warm-up and measurement (smoke test, not a result)");
        out.println("  --include REGEX  JMH benchmark filter, default " + DEFAULT_INCLUDE);
        out.println("  --out DIR        output folder, default bench/results (or results inside bench/)");
    }
}
