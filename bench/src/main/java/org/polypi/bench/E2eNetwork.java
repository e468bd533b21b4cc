package org.polypi.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import org.polypi.engine.net.KeyMaterial;
import org.polypi.engine.net.SessionParameters;
import org.polypi.engine.net.ShapedTransport;
import org.polypi.engine.net.TcpListener;
import org.polypi.engine.net.TcpNetwork;
import org.polypi.engine.net.TcpOptions;
import org.polypi.engine.plan.Plan;
import org.polypi.engine.transport.InMemoryTransport;
import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.Transport;

/**
 * Connects the three parties of one cell: in memory, or over TCP on loopback (TLS 1.3 with pinned certificates
 * unless turned off), shaped to the cell's network profile. Before shaping it measures the server-client round
 * trip with small ping-pongs, for the physical floor. Owns the TLS key material of the run (a temporary folder
 * removed on {@link #close}).
 */
final class E2eNetwork implements AutoCloseable
{
    private static final int PING_WARMUP = 50;
    private static final int PING_ROUNDS = 200;
    /**
     * Which percentile of the pings is the round trip of the floor. Not the median: in memory the pings are bimodal,
     * about 1 us while the receiver spins and about 44 us once it parks, and the median fell on either side from one
     * cell to the next (engine report at 80ab12f: W1 PILLAR-HB batch 1 read 0.85 us and a floor ratio of 39.7x where
     * the report before read 44 us and 1.30x for the same latency). The floor is what the machine can do, so a
     * low percentile: the spinning round trip whenever the pings saw it at all.
     */
    static final int RTT_PERCENTILE = 10;
    /** Sets of pings per measurement; the lowest set's percentile is the round trip. */
    static final int PING_ATTEMPTS = 5;
    private static final char[] PASSWORD = "polypi-bench-keys".toCharArray();
    private static final AtomicLong SESSION_IDS = new AtomicLong();

    private final boolean tls;
    private final Duration timeout;
    private Path keyDir;
    private KeyMaterial keys;

    E2eNetwork(final boolean tls, final Duration timeout)
    {
        this.tls = tls;
        this.timeout = timeout;
    }

    /** True if TCP connections use TLS. */
    boolean tls()
    {
        return tls;
    }

    /**
     * Connected transports of the three parties (indexed by party id) and the measured server-client round trip.
     *
     * @param transports by party id.
     * @param rttNanos round trip of an 8-byte message between server and client, before shaping (the
     *                 {@link #RTT_PERCENTILE}th percentile of the pings).
     */
    record Connected(Transport[] transports, double rttNanos)
    {
    }

    /** Connects the parties of a cell running {@code plan}. */
    Connected connect(final E2eProfile profile, final Plan plan, final byte[] fingerprint)
    {
        return connect(profile, SessionParameters.of(SESSION_IDS.incrementAndGet(), fingerprint,
            ("ring=64;f=" + plan.fractionalBits()).getBytes(StandardCharsets.UTF_8), plan.hash()));
    }

    /** Connects three parties that run protocols without a plan (the activation comparison). */
    Connected connectRaw(final E2eProfile profile)
    {
        final byte[] none = "protocol-bench".getBytes(StandardCharsets.UTF_8);
        return connect(profile, SessionParameters.of(SESSION_IDS.incrementAndGet(), none, none, none));
    }

    private Connected connect(final E2eProfile profile, final SessionParameters params)
    {
        final Transport[] raw;
        if (!profile.tcp())
        {
            raw = InMemoryTransport.connectThree(timeout);
        }
        else
        {
            raw = tcp(params);
        }
        final double rtt;
        try
        {
            rtt = pingPong(raw[Party.SERVER.id()], raw[Party.CLIENT.id()]);
        }
        catch (final RuntimeException e)
        {
            closeAll(raw);
            throw e;
        }
        final Transport[] shaped = new Transport[raw.length];
        for (int i = 0; i < raw.length; i++)
        {
            shaped[i] = profile.tcp() ? ShapedTransport.wrap(raw[i], profile.network()) : raw[i];
        }
        return new Connected(shaped, rtt);
    }

    private Transport[] tcp(final SessionParameters params)
    {
        final Map<Party, TcpListener> listeners = new EnumMap<>(Party.class);
        final Map<Party, InetSocketAddress> addresses = new EnumMap<>(Party.class);
        final Transport[] out = new Transport[Party.values().length];
        final ExecutorService pool = Executors.newFixedThreadPool(Party.values().length, r ->
        {
            final Thread t = new Thread(r, "e2e-connect");
            t.setDaemon(true);
            return t;
        });
        try
        {
            for (final Party p : Party.values())
            {
                if (TcpNetwork.listensByDefault(p))
                {
                    final TcpListener l = TcpListener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                    listeners.put(p, l);
                    addresses.put(p, l.address());
                }
            }
            final Map<Party, TcpOptions> options = new EnumMap<>(Party.class);
            for (final Party p : Party.values())
            {
                options.put(p, options(p));
            }
            final Map<Party, Future<Transport>> futures = new EnumMap<>(Party.class);
            for (final Party p : Party.values())
            {
                futures.put(p, pool.submit(() -> TcpNetwork.connect(p, params, options.get(p), listeners.get(p),
                    TcpNetwork.defaultDials(p, addresses))));
            }
            RuntimeException failure = null;
            for (final Party p : Party.values())
            {
                try
                {
                    out[p.id()] = futures.get(p).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
                }
                catch (final ExecutionException | TimeoutException e)
                {
                    if (failure == null)
                    {
                        failure = new IllegalStateException(p + " could not connect: " +
                            (e.getCause() == null ? e : e.getCause()), e);
                    }
                }
                catch (final InterruptedException e)
                {
                    Thread.currentThread().interrupt();
                    failure = new IllegalStateException("interrupted while connecting", e);
                }
            }
            if (failure != null)
            {
                closeAll(out);
                throw failure;
            }
            return out;
        }
        catch (final IOException e)
        {
            closeAll(out);
            throw new UncheckedIOException(e);
        }
        finally
        {
            pool.shutdownNow();
            for (final TcpListener l : listeners.values())
            {
                l.close();
            }
        }
    }

    private TcpOptions options(final Party p) throws IOException
    {
        final TcpOptions.Builder b = TcpOptions.builder().timeout(timeout).connectTimeout(timeout);
        if (tls)
        {
            b.tls(keys().sslContext(p));
        }
        else
        {
            b.plaintext();
        }
        return b.build();
    }

    private synchronized KeyMaterial keys() throws IOException
    {
        if (keys == null)
        {
            keyDir = Files.createTempDirectory("polypi-bench-keys-");
            keys = KeyMaterial.generate(keyDir, "polypi-bench", PASSWORD);
        }
        return keys;
    }

    /**
     * The round trip of 8-byte messages between the server and the client transports: the lowest
     * {@link #RTT_PERCENTILE}th percentile of {@link #PING_ATTEMPTS} sets of pings. Several sets, because a whole set
     * can land in the parked regime: the engine report at 81903cd read about 44 us in memory for a W1 HerPN cell
     * whose 8-round queries took 161 us, a floor above the measured latency (0.89x).
     */
    static double pingPong(final Transport server, final Transport client)
    {
        double best = Double.MAX_VALUE;
        for (int attempt = 0; attempt < PING_ATTEMPTS; attempt++)
        {
            best = Math.min(best, pingSet(server, client));
        }
        return best;
    }

    /** One set of pings: their {@link #RTT_PERCENTILE}th percentile round trip. */
    private static double pingSet(final Transport server, final Transport client)
    {
        final ExecutorService pool = Executors.newSingleThreadExecutor(r ->
        {
            final Thread t = new Thread(r, "e2e-pong");
            t.setDaemon(true);
            return t;
        });
        try (Arena arena = Arena.ofConfined())
        {
            final int total = PING_WARMUP + PING_ROUNDS;
            final Future<?> pong = pool.submit(() ->
            {
                try (Arena a = Arena.ofConfined())
                {
                    final MemorySegment m = a.allocate(Long.BYTES);
                    for (int i = 0; i < total; i++)
                    {
                        client.receive(Party.SERVER, m);
                        client.send(Party.SERVER, m);
                    }
                }
                return null;
            });
            final MemorySegment m = arena.allocate(Long.BYTES);
            final long[] rtt = new long[PING_ROUNDS];
            for (int i = 0; i < total; i++)
            {
                final long t0 = System.nanoTime();
                server.send(Party.CLIENT, m);
                server.receive(Party.CLIENT, m);
                if (i >= PING_WARMUP)
                {
                    rtt[i - PING_WARMUP] = System.nanoTime() - t0;
                }
            }
            pong.get();
            Arrays.sort(rtt);
            return rtt[PING_ROUNDS * RTT_PERCENTILE / 100];
        }
        catch (final ExecutionException e)
        {
            throw new IllegalStateException("ping-pong failed: " + e.getCause(), e.getCause());
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted during the ping-pong", e);
        }
        finally
        {
            pool.shutdownNow();
        }
    }

    static void closeAll(final Transport[] transports)
    {
        for (final Transport t : transports)
        {
            if (t != null)
            {
                t.close();
            }
        }
    }

    /** Deletes the temporary key material. */
    @Override
    public void close()
    {
        if (keyDir == null)
        {
            return;
        }
        try (Stream<Path> s = Files.walk(keyDir))
        {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        catch (final IOException e)
        {
            // Temporary files only; the OS cleans /tmp eventually.
        }
    }
}
