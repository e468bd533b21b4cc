package org.polypi.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Where and when results were measured: every report file carries this, so figures can be compared across
 * machines and commits.
 *
 * @param cpu         CPU model from /proc/cpuinfo.
 * @param logicalCpus processors visible to the JVM.
 * @param memory      total RAM from /proc/meminfo.
 * @param jdk         JDK version and vendor.
 * @param os          OS name, version and architecture.
 * @param commit      {@code git rev-parse --short HEAD}, with {@code -dirty} if the tree has changes.
 * @param date        local date and time, ISO-8601 with offset.
 */
record MachineStamp(String cpu, int logicalCpus, String memory, String jdk, String os, String commit, String date)
{
    private static final String UNKNOWN = "unknown";
    private static final long GIT_TIMEOUT_SECONDS = 10;
    private static final double KIB_PER_GIB = 1024.0 * 1024.0;
    /** Report outputs are excluded from the dirty check: rewriting them must not mark the next run dirty. */
    private static final String RESULTS_PATHSPEC = ":(exclude)bench/results";

    /** Collects the stamp of this JVM and machine; call it before writing any result file. */
    static MachineStamp collect()
    {
        return new MachineStamp(
            cpuModel(),
            Runtime.getRuntime().availableProcessors(),
            totalMemory(),
            Runtime.version() + " (" + System.getProperty("java.vm.name", "?") + ", " +
                System.getProperty("java.vendor", "?") + ")",
            System.getProperty("os.name", "?") + " " + System.getProperty("os.version", "?") + " " +
                System.getProperty("os.arch", "?"),
            gitCommit(),
            ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
    }

    /** One line: "cpu, N logical CPUs, memory". */
    String machine()
    {
        return cpu + ", " + logicalCpus + " logical CPUs, " + memory + " RAM";
    }

    private static String cpuModel()
    {
        for (final String line : readLines(Path.of("/proc/cpuinfo")))
        {
            if (line.startsWith("model name"))
            {
                final int colon = line.indexOf(':');
                return colon < 0 ? UNKNOWN : line.substring(colon + 1).trim();
            }
        }
        return UNKNOWN;
    }

    private static String totalMemory()
    {
        for (final String line : readLines(Path.of("/proc/meminfo")))
        {
            if (line.startsWith("MemTotal:"))
            {
                final String[] parts = line.trim().split("\\s+");
                if (parts.length >= 2)
                {
                    try
                    {
                        return String.format(Locale.ROOT, "%.1f GiB", Long.parseLong(parts[1]) / KIB_PER_GIB);
                    }
                    catch (final NumberFormatException e)
                    {
                        return UNKNOWN;
                    }
                }
            }
        }
        return UNKNOWN;
    }

    private static List<String> readLines(final Path path)
    {
        try
        {
            return Files.readAllLines(path, StandardCharsets.UTF_8);
        }
        catch (final IOException e)
        {
            return List.of();
        }
    }

    private static String gitCommit()
    {
        final String head = git("rev-parse", "--short", "HEAD");
        if (head == null || head.isBlank())
        {
            return UNKNOWN + " (not a git checkout)";
        }
        final String status = git("status", "--porcelain", "--", ".", RESULTS_PATHSPEC);
        return head.trim() + (status == null || !status.isBlank() ? "-dirty" : "");
    }

    /** Output of a git command in the working directory, or null if git is missing or fails. */
    private static String git(final String... args)
    {
        final String[] command = new String[args.length + 1];
        command[0] = "git";
        System.arraycopy(args, 0, command, 1, args.length);
        try
        {
            final Process process = new ProcessBuilder(command).redirectErrorStream(false)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            final String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(GIT_TIMEOUT_SECONDS, TimeUnit.SECONDS))
            {
                process.destroyForcibly();
                return null;
            }
            return process.exitValue() == 0 ? out : null;
        }
        catch (final IOException e)
        {
            return null;
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
