package org.polypi.cli;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@code polypi} command in a child JVM: the same java binary, class path and JVM flags as this one. Its standard
 * output and error are merged and read by a thread that keeps every line (for parsing) and hands each to a listener;
 * its standard input stays open and is closed by {@link #close()}, which the child (run with
 * {@code --watch-parent}) takes as the order to exit, so that a child never outlives its parent, even one that was
 * killed. {@link #close()} then destroys the process if it is still there. Public for the benchmarks' service
 * processes (org.polypi.bench.RoleProcesses), which start the same roles the same way.
 */
public final class ChildProcess implements AutoCloseable
{
    /** Lines of a failing child shown in the error. */
    static final int TAIL_LINES = 12;
    private static final Duration EXIT_GRACE = Duration.ofSeconds(3);

    private final String name;
    private final Process process;
    private final List<String> lines = new ArrayList<>();
    private final Thread reader;

    private ChildProcess(final String name, final Process process, final Consumer<String> listener)
    {
        this.name = name;
        this.process = process;
        this.reader = Thread.ofPlatform().daemon().name("polypi-child-" + name).start(() ->
        {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8)))
            {
                String line;
                while ((line = r.readLine()) != null)
                {
                    synchronized (lines)
                    {
                        lines.add(line);
                        lines.notifyAll();
                    }
                    listener.accept(line);
                }
            }
            catch (final IOException e)
            {
                // The process ended or was destroyed: nothing more to read.
            }
        });
    }

    /**
     * Starts {@code polypi ARGS} in a child JVM.
     *
     * @param environment extra environment variables (e.g. the key stores' password).
     * @param listener    told of each output line, on the reader thread.
     */
    static ChildProcess start(final String name, final List<String> args, final Map<String, String> environment,
                              final Consumer<String> listener) throws IOException
    {
        return start(name, List.of(), args, environment, listener);
    }

    /**
     * Starts {@code polypi ARGS} in a child JVM whose command line starts with {@code prefix} (e.g.
     * {@code ip netns exec NAME}).
     */
    static ChildProcess start(final String name, final List<String> prefix, final List<String> args,
                              final Map<String, String> environment, final Consumer<String> listener)
        throws IOException
    {
        return start(name, prefix, List.of(), args, environment, listener);
    }

    /** As {@link #start(String, List, List, Map, Consumer)} with extra JVM options (e.g. native memory tracking). */
    public static ChildProcess start(final String name, final List<String> prefix, final List<String> jvmOptions,
                              final List<String> args, final Map<String, String> environment,
                              final Consumer<String> listener) throws IOException
    {
        final List<String> command = new ArrayList<>(prefix);
        command.add(javaBinary());
        command.addAll(jvmFlags());
        command.addAll(jvmOptions);
        command.add("-cp");
        command.add(absoluteClassPath());
        command.add(Main.class.getName());
        command.addAll(args);
        return command(name, command, environment, listener);
    }

    /** Starts any command as a child (its output merged and collected in the same way). */
    static ChildProcess command(final String name, final List<String> command, final Map<String, String> environment,
                                final Consumer<String> listener) throws IOException
    {
        final ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().putAll(environment);
        return new ChildProcess(name, pb.start(), listener);
    }

    /** The java binary of this JVM. */
    static String javaBinary()
    {
        return ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin",
            "java").toString());
    }

    /** This JVM's class path with every entry absolute, so a child finds it whatever its working directory. */
    static String absoluteClassPath()
    {
        final StringBuilder sb = new StringBuilder();
        for (final String entry : System.getProperty("java.class.path").split(File.pathSeparator))
        {
            if (!entry.isEmpty())
            {
                sb.append(sb.isEmpty() ? "" : File.pathSeparator).append(Path.of(entry).toAbsolutePath());
            }
        }
        return sb.toString();
    }

    /**
     * The JVM flags the children need: those of the launcher ({@code polypi.jvm.flags}) when given, else this JVM's
     * module, export and native-access flags.
     */
    static List<String> jvmFlags()
    {
        final String flags = System.getProperty("polypi.jvm.flags");
        final List<String> out = new ArrayList<>();
        if (flags != null && !flags.isBlank())
        {
            out.addAll(Arrays.asList(flags.trim().split("\\s+")));
        }
        else
        {
            for (final String a : ManagementFactory.getRuntimeMXBean().getInputArguments())
            {
                if (a.startsWith("--add-") || a.startsWith("--enable-native-access") ||
                    a.startsWith("--sun-misc-unsafe-memory-access"))
                {
                    out.add(a);
                }
            }
        }
        // Each child is a short-lived service on a shared machine: a small heap and quick start-up.
        out.add("-XX:+UseSerialGC");
        return out;
    }

    /** The process id. */
    public long pid()
    {
        return process.pid();
    }

    /** True while the process runs. */
    public boolean alive()
    {
        return process.isAlive();
    }

    /** The name given at start. */
    public String name()
    {
        return name;
    }

    /**
     * Waits until an output line matches {@code pattern} and returns the match.
     *
     * @throws IllegalStateException with the child's last lines if it exits first or the timeout passes.
     */
    public Matcher await(final Pattern pattern, final Duration timeout) throws InterruptedException
    {
        final long deadline = System.nanoTime() + timeout.toNanos();
        int seen = 0;
        synchronized (lines)
        {
            while (true)
            {
                for (; seen < lines.size(); seen++)
                {
                    final Matcher m = pattern.matcher(lines.get(seen));
                    if (m.find())
                    {
                        return m;
                    }
                }
                if (!process.isAlive() && !reader.isAlive())
                {
                    throw failure("exited with status " + process.exitValue() + " before it was ready");
                }
                final long left = deadline - System.nanoTime();
                if (left <= 0)
                {
                    throw failure("was not ready within " + timeout.toSeconds() + " s");
                }
                lines.wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 100)));
            }
        }
    }

    /**
     * Waits for the process to exit and its output to be read.
     *
     * @return the exit status.
     * @throws IllegalStateException with the last lines if it does not exit within the timeout.
     */
    public int waitFor(final Duration timeout) throws InterruptedException
    {
        if (!process.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS))
        {
            throw failure("did not exit within " + timeout.toSeconds() + " s");
        }
        reader.join(EXIT_GRACE);
        return process.exitValue();
    }

    /** An error naming the child, with its last output lines. */
    public IllegalStateException failure(final String what)
    {
        return new IllegalStateException(name + " (pid " + process.pid() + ") " + what + "; its last lines:" +
            System.lineSeparator() + tail());
    }

    /** The last {@value #TAIL_LINES} output lines, indented. */
    String tail()
    {
        final Deque<String> last = new ArrayDeque<>();
        synchronized (lines)
        {
            for (int i = Math.max(0, lines.size() - TAIL_LINES); i < lines.size(); i++)
            {
                last.add("    " + lines.get(i));
            }
        }
        return last.isEmpty() ? "    (no output)" : String.join(System.lineSeparator(), last);
    }

    /** Every line so far. */
    public List<String> lines()
    {
        synchronized (lines)
        {
            return List.copyOf(lines);
        }
    }

    /** Closes the child's input (its order to exit), then destroys it if it is still running. Idempotent. */
    @Override
    public void close()
    {
        try
        {
            process.getOutputStream().close();
        }
        catch (final IOException e)
        {
            // Gone already.
        }
        try
        {
            if (!process.waitFor(EXIT_GRACE.toMillis(), TimeUnit.MILLISECONDS))
            {
                process.destroy();
                if (!process.waitFor(EXIT_GRACE.toMillis(), TimeUnit.MILLISECONDS))
                {
                    process.destroyForcibly();
                }
            }
        }
        catch (final InterruptedException e)
        {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /** Kills the child at once (from a shutdown hook). */
    void kill()
    {
        process.destroyForcibly();
    }
}
