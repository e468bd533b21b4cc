package org.polypi.engine.net;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Function;
import java.util.stream.Stream;

import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.Transport;

/** Loopback fixtures: parameters, options, three parties on three threads, key material. */
final class Net
{
    /** Loopback, any free port. */
    static final InetSocketAddress LOOPBACK = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    /** Upper bound of any one three-party run in a test. */
    static final Duration RUN_LIMIT = Duration.ofSeconds(30);
    static final char[] PASSWORD = "polypi-test-password".toCharArray();

    private static final Map<String, KeyMaterial> KEYS = new HashMap<>();

    private Net()
    {
    }

    static byte[] bytes(final String s)
    {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static SessionParameters params(final long sessionId)
    {
        return SessionParameters.of(sessionId, bytes("model-fingerprint"), bytes("ring=64;f=16"), bytes("plan-hash"));
    }

    /** Plaintext with short timeouts. */
    static TcpOptions.Builder plain()
    {
        return TcpOptions.builder().plaintext().timeout(Duration.ofSeconds(5)).connectTimeout(Duration.ofSeconds(10));
    }

    /** One party's outcome: a value or what it threw. */
    record Result<T>(T value, Throwable error, long nanos)
    {
        /** Whether the party ended within {@code d}. */
        boolean endedWithin(final Duration d)
        {
            return nanos < d.toNanos();
        }

        T get()
        {
            if (error != null)
            {
                throw new AssertionError("the party failed: " + error, error);
            }
            return value;
        }

        String message()
        {
            if (error == null)
            {
                throw new AssertionError("the party did not fail (returned " + value + ")");
            }
            return error.getMessage();
        }
    }

    /** Runs {@code task} of each party on its own thread; waits at most {@link #RUN_LIMIT}. */
    static <T> Map<Party, Result<T>> runThree(final Function<Party, Callable<T>> task) throws InterruptedException
    {
        final Map<Party, Result<T>> results = new EnumMap<>(Party.class);
        final Map<Party, Thread> threads = new EnumMap<>(Party.class);
        for (final Party p : Party.values())
        {
            final Callable<T> c = task.apply(p);
            threads.put(p, Thread.ofPlatform().name("test-party-" + p).start(() ->
            {
                Result<T> r;
                final long start = System.nanoTime();
                try
                {
                    final T v = c.call();
                    r = new Result<>(v, null, System.nanoTime() - start);
                }
                catch (final Throwable e)
                {
                    r = new Result<>(null, e, System.nanoTime() - start);
                }
                synchronized (results)
                {
                    results.put(p, r);
                }
            }));
        }
        final long deadline = System.nanoTime() + RUN_LIMIT.toNanos();
        for (final Thread t : threads.values())
        {
            t.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            if (t.isAlive())
            {
                throw new AssertionError(t.getName() + " did not finish within " + RUN_LIMIT);
            }
        }
        return results;
    }

    /** Connects the three parties on loopback in the default topology; returns each party's outcome. */
    static Map<Party, Result<TcpTransport>> tryConnect(final Function<Party, TcpOptions> options,
                                                      final Function<Party, SessionParameters> params)
        throws InterruptedException
    {
        final Map<Party, TcpListener> listeners = new EnumMap<>(Party.class);
        final Map<Party, InetSocketAddress> addresses = new EnumMap<>(Party.class);
        try
        {
            for (final Party p : Party.values())
            {
                if (TcpNetwork.listensByDefault(p))
                {
                    final TcpListener l = TcpListener.bind(LOOPBACK);
                    listeners.put(p, l);
                    addresses.put(p, l.address());
                }
            }
            // Options first (they may generate keys), so that the parties' timings are the connect's alone.
            final Map<Party, TcpOptions> opts = new EnumMap<>(Party.class);
            for (final Party p : Party.values())
            {
                opts.put(p, options.apply(p));
            }
            // Each party closes its listener when its connect ends, as a process would: a peer dialling a party
            // that already gave up is refused instead of waiting for a handshake.
            return runThree(p -> () ->
            {
                try
                {
                    return TcpNetwork.connect(p, params.apply(p), opts.get(p), listeners.get(p),
                        TcpNetwork.defaultDials(p, addresses));
                }
                finally
                {
                    if (listeners.get(p) != null)
                    {
                        listeners.get(p).close();
                    }
                }
            });
        }
        finally
        {
            for (final TcpListener l : listeners.values())
            {
                l.close();
            }
        }
    }

    /** Connected transports indexed by party id; fails the test (closing what connected) if any party failed. */
    static TcpTransport[] connect(final Function<Party, TcpOptions> options, final long sessionId)
        throws InterruptedException
    {
        final Map<Party, Result<TcpTransport>> r = tryConnect(options, p -> params(sessionId));
        final TcpTransport[] t = new TcpTransport[Party.values().length];
        AssertionError failure = null;
        for (final Party p : Party.values())
        {
            if (r.get(p).error() != null && failure == null)
            {
                failure = new AssertionError(p + " failed to connect: " + r.get(p).error(), r.get(p).error());
            }
            t[p.id()] = r.get(p).value();
        }
        if (failure != null)
        {
            closeAll(t);
            throw failure;
        }
        return t;
    }

    static void closeAll(final Transport... transports)
    {
        for (final Transport t : transports)
        {
            if (t != null)
            {
                t.close();
            }
        }
    }

    /**
     * Key material of a deployment, generated once per test JVM (three keytool runs) into a temporary folder that is
     * removed when the JVM exits.
     */
    static synchronized KeyMaterial keys(final String deployment)
    {
        return KEYS.computeIfAbsent(deployment, d ->
        {
            try
            {
                final Path dir = Files.createTempDirectory("polypi-keys-" + d + "-");
                Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(dir)));
                return KeyMaterial.generate(dir, d, PASSWORD);
            }
            catch (final IOException e)
            {
                throw new UncheckedIOException(e);
            }
        });
    }

    static TcpOptions.Builder tls(final String deployment, final Party role)
    {
        try
        {
            return TcpOptions.builder().tls(keys(deployment).sslContext(role)).timeout(Duration.ofSeconds(5))
                .connectTimeout(Duration.ofSeconds(10));
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException(e);
        }
    }

    private static void deleteTree(final Path dir)
    {
        try (Stream<Path> s = Files.walk(dir))
        {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        catch (final IOException e)
        {
            // Temporary files only.
        }
    }
}
