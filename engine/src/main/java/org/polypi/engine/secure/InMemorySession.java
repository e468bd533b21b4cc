package org.polypi.engine.secure;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

import org.polypi.engine.plan.CompiledModel;
import org.polypi.engine.plan.Plan;
import org.polypi.engine.transport.CostMeter;
import org.polypi.engine.transport.InMemoryTransport;
import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.Transport;
import org.polypi.model.reference.FixedPointOutput;

/**
 * The three roles of a secure connection as threads of one JVM over {@link InMemoryTransport}: for tests, benches
 * and the demo. {@link #start} runs the set-up; {@link #infer} runs one query per batch of items (the last batch
 * padded with zeros) and returns the client's logits and the measured cost.
 * <p>
 * <b>Failures.</b> A party that throws closes its transport at once, as a crashed process would, so a peer waiting on
 * it fails with "... closed the connection"; a party that goes silent makes its peers fail after the receive timeout
 * with "... sent nothing for ...". Both errors name the peer. Once one party has failed, the others get the timeout
 * plus a second to end and are then interrupted; the call throws a {@link SessionFailedException} with every party's
 * error, and the session is closed: its three threads end and its memory is released.
 * <p>
 * Not thread-safe: one caller at a time.
 */
public final class InMemorySession implements AutoCloseable
{
    /** Extra time beyond the receive timeout that parties get to end after a failure. */
    private static final Duration GRACE = Duration.ofSeconds(1);
    private static final AtomicInteger SESSIONS = new AtomicInteger();

    private final Plan plan;
    private final SessionOptions options;
    private final InMemoryTransport[] transports;
    private final ExecutorService pool;
    private final SecureServer server;
    private final SecureClient client;
    private final SecureDealer dealer;
    private boolean closed;
    private boolean failed;

    private InMemorySession(final CompiledModel model, final SessionOptions options,
                            final UnaryOperator<Transport> wrap)
    {
        this.plan = model.plan();
        this.options = options;
        // Check support before starting anything, so an unsupported model leaves no thread behind.
        SecureSupport.check(plan);
        this.transports = InMemoryTransport.connectThree(options.timeout());
        SecureServer s = null;
        SecureClient c = null;
        try
        {
            s = new SecureServer(model, wrap.apply(transports[Party.SERVER.id()]), options);
            c = new SecureClient(plan, wrap.apply(transports[Party.CLIENT.id()]), options);
            // Last, so that a material file is opened (and consumed) only once the rest is built.
            this.dealer = new SecureDealer(plan, wrap.apply(transports[Party.DEALER.id()]), options);
        }
        catch (final RuntimeException | Error e)
        {
            // A bad material file, say: release what was built, no thread has started yet.
            for (final InMemoryTransport t : transports)
            {
                t.close();
            }
            if (s != null)
            {
                s.close();
            }
            if (c != null)
            {
                c.close();
            }
            throw e;
        }
        this.server = s;
        this.client = c;
        final int session = SESSIONS.incrementAndGet();
        final AtomicInteger threads = new AtomicInteger();
        final ThreadFactory factory = r ->
        {
            final Thread t = new Thread(r, "polypi-session-" + session + "-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        this.pool = Executors.newFixedThreadPool(Party.values().length, factory);
    }

    /**
     * Connects the three parties of {@code model} and runs the set-up (handshake, seeds, weight openings).
     *
     * @throws UnsupportedOperationException if a step of the plan has no secure protocol yet.
     * @throws SessionFailedException if a party fails during the set-up.
     */
    public static InMemorySession start(final CompiledModel model, final SessionOptions options)
    {
        return start(model, options, UnaryOperator.identity());
    }

    /** As {@link #start(CompiledModel, SessionOptions)} with each party's transport wrapped (tests record traffic). */
    static InMemorySession start(final CompiledModel model, final SessionOptions options,
                                 final UnaryOperator<Transport> wrap)
    {
        final InMemorySession s = new InMemorySession(model, options, wrap);
        s.runAll("set-up", () ->
        {
            s.server.setup();
            return null;
        }, () ->
        {
            s.client.setup();
            return null;
        }, () ->
        {
            s.dealer.setup();
            return null;
        });
        return s;
    }

    /** The dealer (tests look at its pool). */
    SecureDealer dealer()
    {
        return dealer;
    }

    /** The plan all three parties run. */
    public Plan plan()
    {
        return plan;
    }

    /** Items per query. */
    public int batch()
    {
        return options.batch();
    }

    /**
     * Infers {@code count} items from {@code inputs} (items of the plan's input shape, concatenated): one query per
     * batch, each the offline phase (dealer material) then the online phase.
     *
     * @throws IllegalArgumentException if {@code inputs} is too short or an item does not fit the ring (checked
     *                                  before any query starts).
     * @throws SessionFailedException if a party fails; the session is then closed.
     */
    public InferenceResult infer(final float[] inputs, final int count)
    {
        if (closed)
        {
            throw new IllegalStateException(failed ? "the session failed and was closed" : "the session is closed");
        }
        final int batch = options.batch();
        final int item = plan.inputElements();
        if (count <= 0 || (long)count * item > inputs.length)
        {
            throw new IllegalArgumentException("cannot infer " + count + " items of " + item + " values from " +
                inputs.length + " values");
        }
        final List<long[]> encoded = new ArrayList<>();
        for (int from = 0; from < count; from += batch)
        {
            encoded.add(client.encode(inputs, from * item, Math.min(batch, count - from)));
        }
        final CostReport before = costs();
        final int classes = plan.outputElements();
        final long[] logits = new long[count * classes];
        for (int q = 0; q < encoded.size(); q++)
        {
            final long[] batchInput = encoded.get(q);
            final Object[] results = runAll("query " + client.queries(), () ->
            {
                server.query();
                return null;
            }, () -> client.query(batchInput), () ->
            {
                dealer.dealQuery();
                return null;
            });
            final FixedPointOutput out = (FixedPointOutput)results[Party.CLIENT.id()];
            final int from = q * batch;
            final int items = Math.min(batch, count - from);
            System.arraycopy(out.ringLogits(), 0, logits, from * classes, items * classes);
        }
        return new InferenceResult(new FixedPointOutput(count, classes, plan.fractionalBits(), logits),
            costs().minus(before), encoded.size());
    }

    /** Everything measured since the session started (set-up and all queries), per party, phase and step. */
    public CostReport costs()
    {
        final Map<Party, List<CostMeter.Entry>> entries = new EnumMap<>(Party.class);
        entries.put(Party.SERVER, server.costs());
        entries.put(Party.CLIENT, client.costs());
        entries.put(Party.DEALER, dealer.costs());
        return CostReport.of(entries);
    }

    /** Ends the session: closes the transports, stops the threads and releases the parties' memory. */
    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        for (final InMemoryTransport t : transports)
        {
            t.close();
        }
        pool.shutdownNow();
        // The dealer's pool producer is no session thread: stop it whatever the parties do.
        dealer.stopPool();
        boolean stopped;
        try
        {
            stopped = pool.awaitTermination(options.timeout().plus(GRACE).toMillis(), TimeUnit.MILLISECONDS);
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            stopped = false;
        }
        if (stopped)
        {
            // Only once no party thread can touch them: closing a shared arena in use would fail the closer.
            server.close();
            client.close();
            dealer.close();
        }
    }

    /** Runs the three roles' tasks (indexed by party id) and returns their results, or fails the session. */
    private Object[] runAll(final String what, final Callable<?> serverTask, final Callable<?> clientTask,
                            final Callable<?> dealerTask)
    {
        final Callable<?>[] tasks = {serverTask, clientTask, dealerTask};
        final ExecutorCompletionService<Object> done = new ExecutorCompletionService<>(pool);
        final Map<Future<Object>, Party> parties = new HashMap<>();
        for (final Party p : Party.values())
        {
            final Callable<?> task = tasks[p.id()];
            final InMemoryTransport transport = transports[p.id()];
            parties.put(done.submit(() ->
            {
                try
                {
                    return task.call();
                }
                catch (final Throwable t)
                {
                    // As a crashed process would: peers waiting on this party fail at once, naming it.
                    transport.close();
                    throw t;
                }
            }), p);
        }
        final Object[] results = new Object[tasks.length];
        final Map<Party, Throwable> failures = new EnumMap<>(Party.class);
        Party first = null;
        long deadline = 0;
        try
        {
            for (int remaining = tasks.length; remaining > 0; remaining--)
            {
                final Future<Object> f = first == null ? done.take() :
                    done.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
                if (f == null)
                {
                    for (final Map.Entry<Future<Object>, Party> e : parties.entrySet())
                    {
                        if (e.getKey().cancel(true))
                        {
                            failures.put(e.getValue(), new TimeoutException(e.getValue() + " did not end within " +
                                options.timeout().plus(GRACE) + " of the failure of " + first + "; interrupted"));
                        }
                    }
                    break;
                }
                final Party p = parties.get(f);
                try
                {
                    results[p.id()] = f.get();
                }
                catch (final ExecutionException e)
                {
                    failures.put(p, e.getCause());
                    if (first == null)
                    {
                        first = p;
                        deadline = System.nanoTime() + options.timeout().plus(GRACE).toNanos();
                    }
                }
            }
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            failures.put(Party.SERVER, e);
            first = first == null ? Party.SERVER : first;
        }
        if (failures.isEmpty())
        {
            return results;
        }
        failed = true;
        close();
        throw new SessionFailedException(what + " failed", failures, first == null ?
            failures.keySet().iterator().next() : first);
    }
}
