package org.polypi.engine.net;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;

import org.polypi.engine.transport.TransportException;

/**
 * A bound listening socket of one party. Bind it before the peers dial (with port 0 the system picks a free port,
 * which {@link #address()} reports), pass it to {@link TcpNetwork#connect}, and close it when no more sessions are
 * to be accepted on it.
 */
public final class TcpListener extends ConnectionSource implements AutoCloseable
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
    Waiter open(final Cancellation cancellation) throws IOException
    {
        final Selector selector = Selector.open();
        if (!cancellation.register(selector))
        {
            selector.close();
            return null;
        }
        final SelectionKey key = channel.register(selector, SelectionKey.OP_ACCEPT);
        return new Waiter()
        {
            @Override
            public SocketChannel next(final long deadlineNs) throws IOException
            {
                final SocketChannel accepted = channel.accept();
                if (accepted == null)
                {
                    final long left = deadlineNs - System.nanoTime();
                    if (left > 0)
                    {
                        selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                        selector.selectedKeys().clear();
                    }
                }
                return accepted;
            }

            @Override
            public void close()
            {
                key.cancel();
                cancellation.unregister(selector);
                Conduit.closeQuietly(selector);
            }
        };
    }

    @Override
    void refusePending()
    {
        try
        {
            SocketChannel pending;
            while ((pending = channel.accept()) != null)
            {
                pending.close();
            }
        }
        catch (final IOException | RuntimeException e)
        {
            // Best effort: the peers' own deadlines still apply.
        }
    }

    @Override
    String describe()
    {
        return "listening on " + address.getAddress().getHostAddress() + ":" + address.getPort();
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
