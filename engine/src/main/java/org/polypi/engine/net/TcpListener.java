package org.polypi.engine.net;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;

import org.polypi.engine.transport.TransportException;

/**
 * A bound listening socket of one party. Bind it before the peers dial (with port 0 the system picks a free port,
 * which {@link #address()} reports), pass it to {@link TcpNetwork#connect}, and close it when no more sessions are
 * to be accepted on it.
 */
public final class TcpListener implements AutoCloseable
{
    private final ServerSocketChannel channel;
    private final InetSocketAddress address;

    private TcpListener(final ServerSocketChannel channel, final InetSocketAddress address)
    {
        this.channel = channel;
        this.address = address;
    }

    /**
     * Listens on {@code address}.
     *
     * @throws TransportException if the address cannot be bound (in use, not local).
     */
    public static TcpListener bind(final InetSocketAddress address)
    {
        ServerSocketChannel c = null;
        try
        {
            c = ServerSocketChannel.open();
            c.bind(address);
            c.configureBlocking(false);
            return new TcpListener(c, (InetSocketAddress)c.getLocalAddress());
        }
        catch (final IOException e)
        {
            Conduit.closeQuietly(c);
            throw new TransportException("cannot listen on " + address + ": " + e.getMessage(), e);
        }
    }

    /** The bound address (with the actual port when port 0 was asked for). */
    public InetSocketAddress address()
    {
        return address;
    }

    ServerSocketChannel channel()
    {
        return channel;
    }

    @Override
    public void close()
    {
        Conduit.closeQuietly(channel);
    }

    @Override
    public String toString()
    {
        return "TcpListener[" + address.getAddress().getHostAddress() + ":" + address.getPort() + "]";
    }
}
