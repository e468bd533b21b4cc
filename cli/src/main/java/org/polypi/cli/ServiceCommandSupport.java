package org.polypi.cli;

import java.io.PrintStream;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

import org.polypi.engine.net.NetworkProfile;
import org.polypi.engine.net.ServiceOptions;
import org.polypi.engine.net.TcpOptions;
import picocli.CommandLine.Option;

/** Options and the log shared by {@code polypi server} and {@code polypi dealer}. */
final class ServiceCommandSupport
{
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS", Locale.ROOT);

    @Option(names = "--max-sessions", paramLabel = "N",
        description = "Sessions computing at once (default: the number of cores).")
    Integer maxSessions;

    @Option(names = "--max-queued", paramLabel = "N", defaultValue = "64",
        description = "Further sessions waiting for a slot; beyond that new sessions are refused (default: " +
            "${DEFAULT-VALUE}).")
    int maxQueued;

    @Option(names = "--sessions", paramLabel = "N", defaultValue = "0",
        description = "Exit after N sessions have ended (default: 0, serve until stopped).")
    long sessions;

    @Option(names = "--watch-parent", hidden = true,
        description = "Exit when standard input closes (child processes of 'polypi demo').")
    boolean watchParent;

    /** The service options. */
    ServiceOptions options(final TcpOptions tcp, final NetworkProfile profile, final Consumer<String> log)
    {
        if (sessions < 0)
        {
            throw new UsageException("--sessions must be >= 0, was " + sessions);
        }
        final int concurrent = maxSessions == null ? ServiceOptions.DEFAULT_MAX_CONCURRENT : maxSessions;
        if (concurrent < 1)
        {
            throw new UsageException("--max-sessions must be >= 1, was " + concurrent);
        }
        if (maxQueued < 0)
        {
            throw new UsageException("--max-queued must be >= 0, was " + maxQueued);
        }
        return ServiceOptions.of(tcp).withProfile(profile).withLimits(concurrent, maxQueued).withLog(log);
    }

    /** A log that prefixes each line with the time and the role. */
    static Consumer<String> log(final PrintStream out, final String role)
    {
        return line ->
        {
            synchronized (out)
            {
                out.println(TIME.format(LocalTime.now()) + " polypi " + role + ": " + line);
                out.flush();
            }
        };
    }

    /** Runs until the lifetime ends, then closes the service. */
    static void serve(final AutoCloseable service, final ServiceCommandSupport o, final LongSupplier ended,
                      final Consumer<String> log) throws Exception
    {
        final Thread hook = new Thread(() ->
        {
            log.accept("stopping");
            closeQuietly(service);
        }, "polypi-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        final Lifetime lifetime = new Lifetime();
        if (o.watchParent)
        {
            lifetime.watchStdin(System.in);
        }
        try
        {
            lifetime.await(o.sessions, ended);
        }
        finally
        {
            try
            {
                Runtime.getRuntime().removeShutdownHook(hook);
            }
            catch (final IllegalStateException e)
            {
                // Already shutting down: the hook closes the service.
            }
            service.close();
        }
    }

    private static void closeQuietly(final AutoCloseable c)
    {
        try
        {
            c.close();
        }
        catch (final Exception e)
        {
            // Shutting down anyway.
        }
    }
}
