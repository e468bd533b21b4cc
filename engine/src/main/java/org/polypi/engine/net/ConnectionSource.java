package org.polypi.engine.net;

import java.io.IOException;
import java.nio.channels.SocketChannel;

/**
 * Where a party's incoming connections come from during {@link TcpNetwork#connect}: a {@link TcpListener} (one
 * session at a time on a port) or the {@link RoutedConnections} of one session of a {@link SessionRouter} (many
 * sessions on one port, told apart by the route preamble the dialling peers send first).
 */
public abstract sealed class ConnectionSource permits TcpListener, RoutedConnections
{
    ConnectionSource()
    {
    }

    /**
     * Starts waiting for connections of one set-up; null if the set-up was cancelled already. The waiter is
     * registered with {@code cancellation} so that a cancellation wakes it.
     */
    abstract Waiter open(Cancellation cancellation) throws IOException;

    /** After a failed set-up: closes connections already waiting, so their peers learn at once that we gave up. */
    abstract void refusePending();

    /** Where the connections come from, for error messages ("listening on 127.0.0.1:7000"). */
    abstract String describe();

    /** One set-up's wait for connections. */
    interface Waiter extends AutoCloseable
    {
        /** The next connection, or null if none came before {@code deadlineNs} or within an internal slice. */
        SocketChannel next(long deadlineNs) throws IOException;

        @Override
        void close();
    }
}
