package org.polypi.engine.net;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.polypi.engine.plan.Plan;
import org.polypi.engine.transport.CostMeter;
import org.polypi.engine.transport.Party;

/**
 * What {@link ServerService} and {@link DealerService} share: a {@link SessionRouter} on the listening port, one
 * virtual thread per session, a bound on the sessions computing at once with a bounded number waiting for a slot,
 * counters, and the one-line session log. A session's failure is logged and counted, never more: the service keeps
 * serving.
 * <p>
 * A session first connects (waiting for its peers, mostly idle) and only then takes a computing slot
 * ({@link Admission#enter}): a session whose peers never all arrive (a client that vanished, another model) waits for
 * its connect deadline without holding a slot that a working session needs.
 */
abstract class SessionService implements AutoCloseable
{
    /** How long {@link #close()} waits for running sessions. */
    private static final long DRAIN_SECONDS = 5;
    /** Sessions still connecting, beyond the computing and waiting ones, that the router admits. */
    private static final int CONNECTING = 256;

    protected final ServiceOptions options;
    private final Party role;
    private final String threadPrefix;
    private final Semaphore slots;
    private final AtomicInteger waiting = new AtomicInteger();
    private final AtomicInteger threadIds = new AtomicInteger();
    private final Set<Thread> running = ConcurrentHashMap.newKeySet();
    private final AtomicLong completed = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private SessionRouter router;

    SessionService(final Party role, final ServiceOptions options)
    {
        this.role = role;
        this.options = options;
        this.threadPrefix = "polypi-" + role.name().toLowerCase(Locale.ROOT) + "-session-";
        this.slots = new Semaphore(options.maxConcurrent(), true);
    }

    /** Binds the port and starts routing; called once by the subclass's factory. */
    final void listen(final InetSocketAddress address) throws IOException
    {
        final TcpListener listener = TcpListener.bind(address);
        try
        {
            router = SessionRouter.start(listener, options.preambleTimeout(),
                options.maxConcurrent() + options.maxQueued() + CONNECTING, this::submit, options.log());
        }
        catch (final IOException | RuntimeException e)
        {
            listener.close();
            throw e;
        }
    }

    /** The bound address (with the actual port when port 0 was asked for). */
    public final InetSocketAddress address()
    {
        return router.address();
    }

    /** Sessions that ended normally. */
    public final long completed()
    {
        return completed.get();
    }

    /** Sessions that failed. */
    public final long failed()
    {
        return failed.get();
    }

    /** A session's way to a computing slot. */
    interface Admission
    {
        /**
         * Waits for a computing slot.
         *
         * @throws RejectedExecutionException if too many sessions wait already.
         */
        void enter() throws InterruptedException;
    }

    /**
     * Runs one session on the given connections: connect, receive the request, {@code admission.enter()}, compute;
     * returns the summary line. The caller logs the outcome and closes the connections.
     */
    abstract String serve(RoutedConnections incoming, Admission admission) throws Exception;

    private void submit(final RoutedConnections incoming)
    {
        final Thread t = Thread.ofVirtual().name(threadPrefix + threadIds.incrementAndGet()).unstarted(() ->
        {
            final String id = sessionText(incoming.sessionId());
            final boolean[] admitted = new boolean[1];
            try (incoming)
            {
                final String summary = serve(incoming, () ->
                {
                    if (!slots.tryAcquire())
                    {
                        if (waiting.incrementAndGet() > options.maxQueued())
                        {
                            waiting.decrementAndGet();
                            throw new RejectedExecutionException(role + " busy: " + options.maxConcurrent() +
                                " sessions computing and " + options.maxQueued() + " waiting");
                        }
                        try
                        {
                            slots.acquire();
                        }
                        finally
                        {
                            waiting.decrementAndGet();
                        }
                    }
                    admitted[0] = true;
                });
                completed.incrementAndGet();
                options.log().accept("session " + id + " done: " + summary);
            }
            catch (final Throwable e)
            {
                failed.incrementAndGet();
                options.log().accept("session " + id + " failed: " + e.getMessage());
            }
            finally
            {
                if (admitted[0])
                {
                    slots.release();
                }
                running.remove(Thread.currentThread());
            }
        });
        running.add(t);
        t.start();
    }

    /** The session id as the logs print it. */
    static String sessionText(final long sessionId)
    {
        return String.format(Locale.ROOT, "%016x", sessionId);
    }

    /** The cost line of a finished session, from one party's meter. */
    static String costs(final CostMeter meter, final SessionRequest request)
    {
        final CostMeter.Entry setup = meter.total(Plan.SETUP);
        final CostMeter.Entry offline = meter.total(Plan.OFFLINE);
        final CostMeter.Entry online = meter.total(Plan.ONLINE);
        return String.format(Locale.ROOT, "queries %d batch %d | setup sent %d B | offline sent %d B %.3f ms | " +
                "online sent %d B rounds %d %.3f ms", request.queries(), request.batch(), setup.bytesSent(),
            offline.bytesSent(), offline.nanos() / 1e6, online.bytesSent(), online.rounds(), online.nanos() / 1e6);
    }

    /** Stops accepting, lets running sessions end (up to a few seconds), then interrupts them. */
    @Override
    public void close()
    {
        if (router != null)
        {
            router.close();
        }
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(DRAIN_SECONDS);
        try
        {
            for (final Thread t : Set.copyOf(running))
            {
                final long left = deadline - System.nanoTime();
                if (left <= 0 || !t.join(Duration.ofNanos(left)))
                {
                    t.interrupt();
                }
            }
        }
        catch (final InterruptedException e)
        {
            running.forEach(Thread::interrupt);
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString()
    {
        return getClass().getSimpleName() + "[" + role + " " + (router == null ? "-" : router.describe()) + "]";
    }
}
