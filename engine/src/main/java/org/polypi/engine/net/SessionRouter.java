package org.polypi.engine.net;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Serves many sessions on one listening port: every dialling peer first sends a {@link RoutePreamble} naming its
 * session; the router reads it (with a deadline, on one thread with a selector, so a silent or slow connection
 * delays nobody) and hands the connection to that session's {@link RoutedConnections}. The first connection of an
 * unknown session creates it and calls the new-session handler, which must return quickly (submit the session to an
 * executor). Connections with a malformed preamble, or beyond {@code maxSessions} open sessions, are closed.
 * <p>
 * Thread-safe. {@link #close()} stops the router thread and closes the listener and every connection not yet handed
 * over.
 */
public final class SessionRouter implements AutoCloseable
{
    /** How often the router thread wakes to expire connections that did not send their preamble in time. */
    private static final long TICK_MS = 100;

    private final TcpListener listener;
    private final Duration preambleTimeout;
    private final int maxSessions;
    private final Consumer<RoutedConnections> onNewSession;
    private final Consumer<String> log;
    private final Map<Long, RoutedConnections> sessions = new HashMap<>();
    private final Selector selector;
    private final Thread thread;
    private volatile boolean closed;

    private SessionRouter(final TcpListener listener, final Duration preambleTimeout, final int maxSessions,
                          final Consumer<RoutedConnections> onNewSession, final Consumer<String> log,
                          final Selector selector)
    {
        this.listener = listener;
        this.preambleTimeout = preambleTimeout;
        this.maxSessions = maxSessions;
        this.onNewSession = onNewSession;
        this.log = log;
        this.selector = selector;
        this.thread = Thread.ofPlatform().daemon().name("polypi-router-" + listener.address().getPort())
            .unstarted(this::loop);
    }

    /**
     * Starts routing the connections of {@code listener} (which the router then owns).
     *
     * @param preambleTimeout how long a new connection may take to send its preamble.
     * @param maxSessions     most sessions open at once (created and not yet closed); connections for further
     *                        new sessions are closed at once.
     * @param onNewSession    called on the router thread with the connections of each new session.
     * @param log             told of refused connections (one line each).
     */
    public static SessionRouter start(final TcpListener listener, final Duration preambleTimeout,
                                      final int maxSessions, final Consumer<RoutedConnections> onNewSession,
                                      final Consumer<String> log) throws IOException
    {
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(onNewSession, "onNewSession");
        Objects.requireNonNull(log, "log");
        if (preambleTimeout.isNegative() || preambleTimeout.isZero())
        {
            throw new IllegalArgumentException("preambleTimeout must be positive, was " + preambleTimeout);
        }
        if (maxSessions <= 0)
        {
            throw new IllegalArgumentException("maxSessions must be positive, was " + maxSessions);
        }
        final Selector selector = Selector.open();
        try
        {
            listener.channel().register(selector, SelectionKey.OP_ACCEPT);
        }
        catch (final IOException | RuntimeException e)
        {
            selector.close();
            throw e;
        }
        final SessionRouter r = new SessionRouter(listener, preambleTimeout, maxSessions, onNewSession, log, selector);
        r.thread.start();
        return r;
    }

    /** The listening address. */
    public InetSocketAddress address()
    {
        return listener.address();
    }

    /** Sessions open now. */
    public synchronized int openSessions()
    {
        return sessions.size();
    }

    String describe()
    {
        return listener.describe();
    }

    synchronized void forget(final RoutedConnections session)
    {
        sessions.remove(session.sessionId(), session);
    }

    /** A connection still sending its preamble. */
    private static final class Pending
    {
        final ByteBuffer buffer = ByteBuffer.allocate(RoutePreamble.LENGTH);
        final long deadlineNs;

        Pending(final long deadlineNs)
        {
            this.deadlineNs = deadlineNs;
        }
    }

    private void loop()
    {
        try
        {
            while (!closed)
            {
                selector.select(TICK_MS);
                final Iterator<SelectionKey> it = selector.selectedKeys().iterator();
                while (it.hasNext())
                {
                    final SelectionKey key = it.next();
                    it.remove();
                    if (!key.isValid())
                    {
                        continue;
                    }
                    if (key.isAcceptable())
                    {
                        acceptAll();
                    }
                    else if (key.isReadable())
                    {
                        read(key);
                    }
                }
                expire();
            }
        }
        catch (final IOException | ClosedSelectorException e)
        {
            if (!closed)
            {
                log.accept("router on " + listener.describe() + " stopped: " + e.getMessage());
            }
        }
        finally
        {
            closeEverything();
        }
    }

    private void acceptAll() throws IOException
    {
        SocketChannel c;
        while ((c = listener.channel().accept()) != null)
        {
            try
            {
                c.configureBlocking(false);
                c.register(selector, SelectionKey.OP_READ, new Pending(System.nanoTime() + preambleTimeout.toNanos()));
            }
            catch (final IOException e)
            {
                Conduit.closeQuietly(c);
            }
        }
    }

    private void read(final SelectionKey key)
    {
        final SocketChannel c = (SocketChannel)key.channel();
        final Pending p = (Pending)key.attachment();
        final String from = remote(c);
        try
        {
            if (c.read(p.buffer) < 0)
            {
                // A probe or a peer that gave up before saying anything: nothing to report.
                drop(key);
                return;
            }
        }
        catch (final IOException e)
        {
            drop(key);
            return;
        }
        if (p.buffer.hasRemaining())
        {
            return;
        }
        final RoutePreamble.Route route;
        try
        {
            route = RoutePreamble.decode(p.buffer.flip());
        }
        catch (final IllegalArgumentException e)
        {
            log.accept("refused a connection from " + from + ": " + e.getMessage());
            drop(key);
            return;
        }
        // The session's set-up registers the channel with selectors of its own; this one lets it go.
        key.cancel();
        handOver(c, route, from);
    }

    private void handOver(final SocketChannel c, final RoutePreamble.Route route, final String from)
    {
        RoutedConnections created = null;
        final RoutedConnections target;
        synchronized (this)
        {
            final RoutedConnections existing = sessions.get(route.sessionId());
            if (existing != null)
            {
                target = existing;
            }
            else if (sessions.size() >= maxSessions)
            {
                target = null;
            }
            else
            {
                created = new RoutedConnections(this, route.sessionId());
                sessions.put(route.sessionId(), created);
                target = created;
            }
        }
        if (target == null)
        {
            log.accept("refused " + route.role() + " at " + from + ": " + maxSessions + " sessions open already");
            Conduit.closeQuietly(c);
            return;
        }
        if (!target.offer(c))
        {
            Conduit.closeQuietly(c);
            return;
        }
        if (created != null)
        {
            try
            {
                onNewSession.accept(created);
            }
            catch (final RuntimeException e)
            {
                log.accept("session " + Long.toUnsignedString(route.sessionId(), 16) + " (first connection from " +
                    route.role() + " at " + from + ") could not start: " + e.getMessage());
                created.close();
            }
        }
    }

    private void expire()
    {
        final long now = System.nanoTime();
        for (final SelectionKey key : selector.keys())
        {
            if (key.isValid() && key.attachment() instanceof final Pending p && now - p.deadlineNs > 0)
            {
                log.accept("closed a connection from " + remote((SocketChannel)key.channel()) + ": no route preamble " +
                    "within " + Text.duration(preambleTimeout));
                drop(key);
            }
        }
    }

    private static void drop(final SelectionKey key)
    {
        key.cancel();
        Conduit.closeQuietly(key.channel());
    }

    private static String remote(final SocketChannel c)
    {
        try
        {
            final InetSocketAddress a = (InetSocketAddress)c.getRemoteAddress();
            return a == null ? "?" : a.getAddress().getHostAddress() + ":" + a.getPort();
        }
        catch (final IOException e)
        {
            return "?";
        }
    }

    private void closeEverything()
    {
        try
        {
            for (final SelectionKey key : selector.keys())
            {
                if (key.attachment() instanceof Pending)
                {
                    Conduit.closeQuietly(key.channel());
                }
            }
        }
        catch (final ClosedSelectorException e)
        {
            // already closed
        }
        Conduit.closeQuietly(selector);
        listener.close();
    }

    /** Stops routing: closes the listener and connections still sending their preamble; open sessions go on. */
    @Override
    public void close()
    {
        closed = true;
        selector.wakeup();
        try
        {
            thread.join(Duration.ofSeconds(5));
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
    }
}
