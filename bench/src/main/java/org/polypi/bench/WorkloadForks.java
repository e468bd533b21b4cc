package org.polypi.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.InvalidClassException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Runs a bench's cells one workload at a time, each workload in a fresh JVM (as JMH forks each benchmark), and
 * collects their results.
 * <p>
 * Why: C2 compiles the engine's kernels with the profiles of whatever ran before them, and recompiles them when the
 * next workload's shapes arrive. Measured after W1 and W2 in one JVM, W3 PILLAR at batch 1 read 7.63 ms where the
 * same code in a fresh JVM read 5.78 (docs/profiling.md, "workload order"), so a cell's figure depended on which
 * cells ran before it rather than on the engine. A worker is this same command, with the same JVM options and class
 * path, restricted to one workload's cells and told the parent's product rate; it writes its results to a file that
 * the parent reads back, and its console lines are copied to the parent's.
 */
final class WorkloadForks
{
    /** Hidden option: the file a worker writes its results to (its presence makes the process a worker). */
    static final String RESULTS_OPTION = "--worker-results";
    /** Hidden option: the parent's single-core product rate, which the worker's floors are computed at. */
    static final String RATE_OPTION = "--worker-rate";
    private static final String FILTER_OPTION = "--filter";
    /** First word of the results file: a worker of another build is refused rather than misread. */
    private static final long RESULTS_MAGIC = 0x504f4c5950495746L;
    private static final int RESULTS_VERSION = 1;

    private WorkloadForks()
    {
    }

    /** The cells split into runs of consecutive cells of one workload, in order. */
    static List<List<E2eCell>> byWorkload(final List<E2eCell> cells)
    {
        final List<List<E2eCell>> groups = new ArrayList<>();
        List<E2eCell> current = null;
        for (final E2eCell c : cells)
        {
            if (current == null || current.getFirst().workload() != c.workload())
            {
                current = new ArrayList<>();
                groups.add(current);
            }
            current.add(c);
        }
        return groups;
    }

    /**
     * The worker's arguments: the parent's, without its cell filters, plus a filter naming exactly {@code cells}
     * and the worker options.
     */
    static List<String> workerArguments(final String[] parentArgs, final List<E2eCell> cells, final Path results,
                                        final double rate)
    {
        final List<String> out = new ArrayList<>();
        for (int i = 0; i < parentArgs.length; i++)
        {
            final String a = parentArgs[i];
            if (a.equals(FILTER_OPTION) || a.equals(RESULTS_OPTION) || a.equals(RATE_OPTION))
            {
                i++;
                continue;
            }
            if (a.startsWith(FILTER_OPTION + "=") || a.startsWith(RESULTS_OPTION + "=") ||
                a.startsWith(RATE_OPTION + "="))
            {
                continue;
            }
            out.add(a);
        }
        final List<String> ids = new ArrayList<>(cells.size());
        for (final E2eCell c : cells)
        {
            ids.add(c.id());
        }
        out.add(FILTER_OPTION);
        out.add(String.join(",", ids));
        out.add(RESULTS_OPTION);
        out.add(results.toString());
        out.add(RATE_OPTION);
        out.add(Double.toString(rate));
        return out;
    }

    /** This JVM's launcher, options and class path, followed by {@code mainClass}. */
    static List<String> javaCommand(final Class<?> mainClass)
    {
        final String java = ProcessHandle.current().info().command().orElseThrow(() ->
            new IllegalStateException("cannot fork a workload: this JVM does not report its launcher's path; " +
                "run with --no-fork"));
        final List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass.getName());
        return cmd;
    }

    /**
     * Runs one workload's {@code cells} in a fresh JVM ({@code command} plus {@link #workerArguments}) and returns
     * their results in order. A worker that fails (exits non-zero, or writes no or unreadable results) makes every
     * one of its cells "failed: ..." with the reason and the worker's last console line; the other workloads go on.
     */
    static List<E2eResult> run(final List<String> command, final String[] parentArgs, final List<E2eCell> cells,
                               final double rate, final PrintStream console)
    {
        Path results = null;
        String last = "";
        try
        {
            results = Files.createTempFile("polypi-bench-worker-", ".results");
            final List<String> cmd = new ArrayList<>(command);
            cmd.addAll(workerArguments(parentArgs, cells, results, rate));
            final Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                StandardCharsets.UTF_8)))
            {
                for (String line = r.readLine(); line != null; line = r.readLine())
                {
                    console.println("  " + line);
                    last = line.isBlank() ? last : line.strip();
                }
            }
            final int code = p.waitFor();
            if (code != 0)
            {
                return failed(cells, "worker JVM exited with code " + code + (last.isEmpty() ? "" : " (" + last +
                    ")"));
            }
            return read(results, cells);
        }
        catch (final IOException e)
        {
            return failed(cells, "worker JVM: " + e.getMessage());
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            return failed(cells, "interrupted while its worker JVM ran");
        }
        finally
        {
            if (results != null)
            {
                try
                {
                    Files.deleteIfExists(results);
                }
                catch (final IOException ignored)
                {
                    // A temporary file left behind is not worth failing a finished measurement for.
                }
            }
        }
    }

    private static List<E2eResult> failed(final List<E2eCell> cells, final String why)
    {
        final List<E2eResult> out = new ArrayList<>(cells.size());
        for (final E2eCell c : cells)
        {
            out.add(E2eResult.notRun(c, "failed: " + why));
        }
        return out;
    }

    /** Writes a worker's results to {@code file} atomically (a temporary sibling moved into place). */
    static void write(final List<E2eResult> results, final Path file) throws IOException
    {
        final Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (OutputStream os = Files.newOutputStream(tmp); ObjectOutputStream o = new ObjectOutputStream(os))
        {
            o.writeLong(RESULTS_MAGIC);
            o.writeInt(RESULTS_VERSION);
            o.writeInt(results.size());
            for (final E2eResult r : results)
            {
                o.writeObject(r);
            }
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Reads the results a worker wrote for {@code expected}, checking that they are exactly those cells, in order.
     *
     * @throws IOException if the file is not a results file of this version, or holds other cells.
     */
    static List<E2eResult> read(final Path file, final List<E2eCell> expected) throws IOException
    {
        try (InputStream is = Files.newInputStream(file); ObjectInputStream in = new ObjectInputStream(is))
        {
            final long magic = in.readLong();
            final int version = in.readInt();
            if (magic != RESULTS_MAGIC || version != RESULTS_VERSION)
            {
                throw new IOException(String.format(Locale.ROOT, "%s is not a worker results file of version %d " +
                    "(magic %016x, version %d)", file, RESULTS_VERSION, magic, version));
            }
            final int count = in.readInt();
            if (count != expected.size())
            {
                throw new IOException(file + " holds " + count + " results, the worker was given " + expected.size() +
                    " cells");
            }
            final List<E2eResult> out = new ArrayList<>(count);
            for (int i = 0; i < count; i++)
            {
                if (!(in.readObject() instanceof final E2eResult r) || !r.cell().equals(expected.get(i)))
                {
                    throw new IOException(file + ": result " + i + " is not that of cell " + expected.get(i).id());
                }
                out.add(r);
            }
            return out;
        }
        catch (final ClassNotFoundException | InvalidClassException e)
        {
            throw new IOException(file + " was written by another build: " + e.getMessage(), e);
        }
    }
}
