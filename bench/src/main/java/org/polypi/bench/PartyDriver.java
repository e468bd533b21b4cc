package org.polypi.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import org.polypi.engine.plan.CompiledModel;
import org.polypi.engine.secure.SecureClient;
import org.polypi.engine.secure.SecureDealer;
import org.polypi.engine.secure.SecureServer;
import org.polypi.engine.secure.SessionOptions;
import org.polypi.engine.transport.CostMeter;
import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.Transport;
import org.polypi.model.reference.FixedPointOutput;

/**
 * Drives {@link SecureServer}, {@link SecureClient} and {@link SecureDealer} as three threads of this JVM over any
 * three connected transports (as {@code InMemorySession} does in memory), and times the online phase of each query
 * exactly: a gate holds the client's first online message (its input seed) until the server has finished its
 * offline phase too, so that "online" is input known to result known with all material in place, as in a
 * deployment with a dealer pool, and never includes the other party's preprocessing.
 * <p>
 * The gate relies on a property of the protocol: in a query, the computing parties exchange nothing before the
 * online phase (the offline phase is dealer to party only), so the client's first send to the server and the
 * server's first receive from the client both belong to the online input sharing.
 */
final class PartyDriver implements AutoCloseable
{
    private final Transport[] transports;
    private final SecureServer server;
    private final SecureClient client;
    private final SecureDealer dealer;
    private final ExecutorService pool;
    private final Duration timeout;
    private final Gate gate = new Gate();

    /**
     * Timing of one query.
     *
     * @param onlineNanos from the client's input message (both parties ready) to the client holding the logits.
     * @param totalNanos the whole query: dealing, offline and online.
     * @param gateWaitNanos how long the client waited at the gate (charged to its online input step by its meter).
     * @param logits the client's output.
     */
    record QueryTiming(long onlineNanos, long totalNanos, long gateWaitNanos, FixedPointOutput logits)
    {
    }

    PartyDriver(final CompiledModel model, final Transport[] connected, final SessionOptions options)
    {
        this.transports = connected.clone();
        this.timeout = options.timeout();
        this.server = new SecureServer(model, new ServerGate(connected[Party.SERVER.id()], gate), options);
        this.client = new SecureClient(model.plan(), new ClientGate(connected[Party.CLIENT.id()], gate, timeout),
            options);
        this.dealer = new SecureDealer(model.plan(), connected[Party.DEALER.id()], options);
        final AtomicInteger n = new AtomicInteger();
        this.pool = Executors.newFixedThreadPool(Party.values().length, r ->
        {
            final Thread t = new Thread(r, "e2e-party-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** The handshake, seeds and weight openings. */
    void setup()
    {
        runAll("set-up", () ->
        {
            server.setup();
            return null;
        }, () ->
        {
            client.setup();
            return null;
        }, () ->
        {
            dealer.setup();
            return null;
        });
    }

    /** Encodes {@code count} items of {@code inputs} from {@code offset} into one query's input. */
    long[] encode(final float[] inputs, final int offset, final int count)
    {
        return client.encode(inputs, offset, count);
    }

    /** One query on an encoded batch. */
    QueryTiming query(final long[] encoded)
    {
        gate.arm();
        final long[] end = new long[1];
        final long start = System.nanoTime();
        final Object[] r = runAll("query", () ->
        {
            server.query();
            return null;
        }, () ->
        {
            final FixedPointOutput out = client.query(encoded);
            end[0] = System.nanoTime();
            return out;
        }, () ->
        {
            dealer.dealQuery();
            return null;
        });
        final long total = System.nanoTime() - start;
        if (gate.onlineStart == 0)
        {
            throw new IllegalStateException("the client sent nothing to the server in a query: the online gate " +
                "cannot time it (has the protocol's input sharing changed?)");
        }
        return new QueryTiming(end[0] - gate.onlineStart, total, gate.waitNanos, (FixedPointOutput)r[1]);
    }

    /** Each party's meter entries now (call between queries only). */
    Map<Party, List<CostMeter.Entry>> meters()
    {
        final Map<Party, List<CostMeter.Entry>> m = new EnumMap<>(Party.class);
        m.put(Party.SERVER, server.costs());
        m.put(Party.CLIENT, client.costs());
        m.put(Party.DEALER, dealer.costs());
        return m;
    }

    private Object[] runAll(final String what, final Callable<?> s, final Callable<?> c, final Callable<?> d)
    {
        final Callable<?>[] tasks = {s, c, d};
        final List<Future<?>> futures = new ArrayList<>();
        for (int i = 0; i < tasks.length; i++)
        {
            final Callable<?> task = tasks[i];
            final Transport t = transports[i];
            futures.add(pool.submit(() ->
            {
                try
                {
                    return task.call();
                }
                catch (final Throwable e)
                {
                    // As a crashed process would: the peers waiting on this party fail at once.
                    t.close();
                    throw e;
                }
            }));
        }
        final Object[] results = new Object[tasks.length];
        Throwable failure = null;
        // Generous: a party blocked on a failed peer ends within its own receive timeout.
        final long deadline = System.nanoTime() + 2 * timeout.toNanos();
        for (int i = 0; i < tasks.length; i++)
        {
            try
            {
                results[i] = futures.get(i).get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            }
            catch (final ExecutionException e)
            {
                failure = failure == null ? new IllegalStateException(what + ": " + Party.values()[i] + " failed: " +
                    e.getCause(), e.getCause()) : failure;
            }
            catch (final TimeoutException e)
            {
                futures.get(i).cancel(true);
                failure = failure == null ? new IllegalStateException(what + ": " + Party.values()[i] +
                    " did not finish within " + timeout.multipliedBy(2), e) : failure;
            }
            catch (final InterruptedException e)
            {
                Thread.currentThread().interrupt();
                failure = new IllegalStateException(what + " interrupted", e);
                break;
            }
        }
        if (failure != null)
        {
            E2eNetwork.closeAll(transports);
            throw (RuntimeException)failure;
        }
        return results;
    }

    @Override
    public void close()
    {
        E2eNetwork.closeAll(transports);
        pool.shutdownNow();
        boolean stopped;
        try
        {
            stopped = pool.awaitTermination(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            stopped = false;
        }
        if (stopped)
        {
            // Only when no party thread can touch their memory any more.
            server.close();
            client.close();
            dealer.close();
        }
    }

    /** Per-query state of the online gate; written by the party threads, read after the query's futures. */
    private static final class Gate
    {
        private volatile CountDownLatch serverReady = new CountDownLatch(0);
        private volatile boolean serverArmed;
        private volatile boolean clientArmed;
        private volatile long onlineStart;
        private volatile long waitNanos;

        void arm()
        {
            serverReady = new CountDownLatch(1);
            onlineStart = 0;
            waitNanos = 0;
            serverArmed = true;
            clientArmed = true;
        }
    }

    /** The server's transport: opens the gate when the server first waits for the client in a query. */
    private static final class ServerGate extends Forwarding
    {
        private final Gate gate;

        ServerGate(final Transport inner, final Gate gate)
        {
            super(inner);
            this.gate = gate;
        }

        @Override
        public void receive(final Party from, final MemorySegment into)
        {
            openIfFirst(from);
            super.receive(from, into);
        }

        @Override
        public void receive(final Party from, final long byteSize, final Arena scratch, final MessageReader reader)
        {
            openIfFirst(from);
            super.receive(from, byteSize, scratch, reader);
        }

        private void openIfFirst(final Party from)
        {
            if (from == Party.CLIENT && gate.serverArmed)
            {
                gate.serverArmed = false;
                gate.serverReady.countDown();
            }
        }
    }

    /** The client's transport: holds its first message to the server in a query until the server is ready. */
    private static final class ClientGate extends Forwarding
    {
        private final Gate gate;
        private final Duration timeout;

        ClientGate(final Transport inner, final Gate gate, final Duration timeout)
        {
            super(inner);
            this.gate = gate;
            this.timeout = timeout;
        }

        @Override
        public void send(final Party to, final MemorySegment message)
        {
            if (to == Party.SERVER && gate.clientArmed)
            {
                gate.clientArmed = false;
                final long t0 = System.nanoTime();
                try
                {
                    if (!gate.serverReady.await(timeout.toMillis(), TimeUnit.MILLISECONDS))
                    {
                        throw new IllegalStateException("the server did not finish its offline phase within " +
                            timeout);
                    }
                }
                catch (final InterruptedException e)
                {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted at the online gate", e);
                }
                final long now = System.nanoTime();
                gate.waitNanos = now - t0;
                gate.onlineStart = now;
            }
            super.send(to, message);
        }
    }

    /** A transport that forwards everything. */
    private abstract static class Forwarding implements Transport
    {
        private final Transport inner;

        Forwarding(final Transport inner)
        {
            this.inner = inner;
        }

        @Override
        public Party self()
        {
            return inner.self();
        }

        @Override
        public void send(final Party to, final MemorySegment message)
        {
            inner.send(to, message);
        }

        @Override
        public void receive(final Party from, final MemorySegment into)
        {
            inner.receive(from, into);
        }

        /** Forwarded, so that the bench measures the in-memory transport's in-place reads. */
        @Override
        public void receive(final Party from, final long byteSize, final Arena scratch, final MessageReader reader)
        {
            inner.receive(from, byteSize, scratch, reader);
        }

        @Override
        public CostMeter meter()
        {
            return inner.meter();
        }

        @Override
        public void close()
        {
            inner.close();
        }
    }
}
