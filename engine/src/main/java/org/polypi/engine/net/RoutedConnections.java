package org.polypi.engine.net;

import java.io.InterruptedIOException;
import java.nio.channels.SocketChannel;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The incoming connections of one session of a {@link SessionRouter}: pass it to
 * {@link TcpNetwork#connect(org.polypi.engine.transport.Party, SessionParameters, TcpOptions, ConnectionSource,
 * java.util.Map, boolean)} as the connection source, and close it when the session ends (the router then forgets the
 * session and closes connections that arrive for it later).
 */
public final class RoutedConnections extends ConnectionSource implements AutoCloseable
{
    /** How long a wait blocks before looking at the cancellation again. */
    private static final long SLICE_NS = TimeUnit.MILLISECONDS.toNanos(50);

    private final SessionRouter router;
    private final long sessionId;
    private final LinkedBlockingQueue<SocketChannel> queue = new LinkedBlockingQueue<>();
    private boolean closed;

    RoutedConnections(final SessionRouter router, final long sessionId)
    {
        this.router = router;
        this.sessionId = sessionId;
    }

    /** The session's id. */
    public long sessionId()
    {
        return sessionId;
    }

    /** Hands over a connection; false (and the caller closes it) if the session is closed. */
    synchronized boolean offer(final SocketChannel channel)
    {
        if (closed)
        {
            return false;
        }
        queue.add(channel);
        return true;
    }

    @Override
    Waiter open(final Cancellation cancellation)
    {
        return new Waiter()
        {
            @Override
            public SocketChannel next(final long deadlineNs) throws InterruptedIOException
            {
                final long wait = Math.min(SLICE_NS, deadlineNs - System.nanoTime());
                if (wait <= 0 || cancellation.cancelled())
                {
                    return null;
                }
                try
                {
                    return queue.poll(wait, TimeUnit.NANOSECONDS);
                }
                catch (final InterruptedException e)
                {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while waiting for a connection");
                }
            }

            @Override
            public void close()
            {
                // Nothing to release: the queue belongs to the session.
            }
        };
    }

    @Override
    void refusePending()
    {
        SocketChannel c;
        while ((c = queue.poll()) != null)
        {
            Conduit.closeQuietly(c);
        }
    }

    @Override
    String describe()
    {
        return "session " + Long.toUnsignedString(sessionId, 16) + " on " + router.describe();
    }

    /** Ends the session's routing: later connections for it are closed, waiting ones too. Idempotent. */
    @Override
    public void close()
    {
        synchronized (this)
        {
            if (closed)
            {
                return;
            }
            closed = true;
        }
        refusePending();
        router.forget(this);
    }
}
