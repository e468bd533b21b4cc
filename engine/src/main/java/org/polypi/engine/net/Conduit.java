package org.polypi.engine.net;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/**
 * One TCP connection in non-blocking mode with the waiting done here: a selector for reads (used by the thread that
 * receives) and one for writes (used by the writer), so that every wait has a deadline, which blocking socket
 * channels cannot offer. With busy-polling on, a read waits by spinning instead.
 */
final class Conduit implements AutoCloseable
{
    /** TLS 1.3 only: no downgrade to older versions with weaker handshakes. */
    static final String TLS_PROTOCOL = "TLSv1.3";

    private final SocketChannel channel;
    private final Selector readSelector;
    private final Selector writeSelector;
    private final boolean busyPoll;
    private final String remote;
    private Wire wire;

    private Conduit(final SocketChannel channel, final boolean busyPoll) throws IOException
    {
        this.channel = channel;
        this.busyPoll = busyPoll;
        this.remote = describe(channel);
        channel.configureBlocking(false);
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        Selector r = null;
        Selector w = null;
        try
        {
            r = Selector.open();
            w = Selector.open();
            channel.register(r, SelectionKey.OP_READ);
            channel.register(w, SelectionKey.OP_WRITE);
        }
        catch (final IOException | RuntimeException e)
        {
            closeQuietly(r);
            closeQuietly(w);
            throw e;
        }
        this.readSelector = r;
        this.writeSelector = w;
        this.wire = new PlainWire(channel);
    }

    /**
     * Takes over a connected channel (closing it if this fails).
     */
    static Conduit open(final SocketChannel channel, final boolean busyPoll) throws IOException
    {
        try
        {
            return new Conduit(channel, busyPoll);
        }
        catch (final IOException | RuntimeException e)
        {
            closeQuietly(channel);
            throw e;
        }
    }

    /**
     * Runs the TLS 1.3 handshake with mutual authentication; from then on all traffic is encrypted.
     *
     * @param clientMode true on the end that dialled.
     */
    TlsWire startTls(final SSLContext context, final boolean clientMode, final int ioBytes, final long deadlineNs)
        throws IOException
    {
        final SSLEngine engine = context.createSSLEngine();
        engine.setUseClientMode(clientMode);
        final SSLParameters p = engine.getSSLParameters();
        p.setProtocols(new String[]{TLS_PROTOCOL});
        if (!clientMode)
        {
            p.setNeedClientAuth(true);
        }
        engine.setSSLParameters(p);
        final TlsWire tls = new TlsWire(channel, engine, ioBytes);
        this.wire = tls;
        tls.handshake(this, deadlineNs);
        return tls;
    }

    /** The stream (plain or TLS). */
    Wire wire()
    {
        return wire;
    }

    /** The peer's address, for messages. */
    String remote()
    {
        return remote;
    }

    /**
     * Reads at least one byte into {@code dst}, waiting until {@code deadlineNs}.
     *
     * @return bytes read, 0 if the deadline passed first, -1 at the end of the stream.
     */
    int read(final ByteBuffer dst, final long deadlineNs) throws IOException
    {
        while (true)
        {
            final int n = wire.read(dst);
            if (n != 0)
            {
                return n;
            }
            if (!awaitReadable(deadlineNs))
            {
                return 0;
            }
        }
    }

    /**
     * Writes all of {@code srcs[0, count)}, waiting for the socket as needed.
     *
     * @param stallNs    longest wait without progress.
     * @param deadlineNs absolute deadline ({@link Long#MAX_VALUE}: none).
     * @return false if the socket accepted nothing for {@code stallNs} or the deadline passed.
     */
    boolean writeAll(final ByteBuffer[] srcs, final int count, final long stallNs, final long deadlineNs)
        throws IOException
    {
        long progressDeadline = System.nanoTime() + stallNs;
        while (true)
        {
            // At least one call even with nothing to send: under TLS it carries what the engine wants to say.
            final long n = wire.write(srcs, 0, count);
            if (Wire.remaining(srcs, 0, count) == 0 && !wire.hasPendingOutput())
            {
                return true;
            }
            if (n > 0)
            {
                progressDeadline = System.nanoTime() + stallNs;
            }
            else if (!awaitWritable(Math.min(progressDeadline, deadlineNs)))
            {
                return false;
            }
        }
    }

    /** One non-blocking attempt to write {@code src}; true if all of it (and any pending TLS output) is gone. */
    boolean tryWrite(final ByteBuffer src) throws IOException
    {
        final ByteBuffer[] one = {src};
        wire.write(one, 0, 1);
        return !src.hasRemaining() && !wire.hasPendingOutput();
    }

    /** Waits until the socket may have data (or just spins once when busy-polling); false once the deadline passed. */
    boolean awaitReadable(final long deadlineNs) throws IOException
    {
        if (busyPoll)
        {
            Thread.onSpinWait();
            return System.nanoTime() - deadlineNs < 0;
        }
        return await(readSelector, deadlineNs);
    }

    /** Waits until the socket may take more bytes; false once the deadline passed. */
    boolean awaitWritable(final long deadlineNs) throws IOException
    {
        return await(writeSelector, deadlineNs);
    }

    private static boolean await(final Selector selector, final long deadlineNs) throws IOException
    {
        final long left = deadlineNs - System.nanoTime();
        if (left <= 0)
        {
            return false;
        }
        try
        {
            // select(0) would mean "forever": round up so the last sub-millisecond still waits.
            selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left + TimeUnit.MILLISECONDS.toNanos(1) - 1)));
            selector.selectedKeys().clear();
        }
        catch (final ClosedSelectorException e)
        {
            throw new AsynchronousCloseException();
        }
        return true;
    }

    /** Shuts our direction down (the peer reads the end of stream after what was sent); best effort. */
    void shutdownOutput()
    {
        wire.closeOutbound();
        try
        {
            channel.shutdownOutput();
        }
        catch (final IOException | RuntimeException e)
        {
            // Already closed or reset: the peer learns of the end anyway.
        }
    }

    /**
     * Closes the socket and both selectors. Closing the selectors wakes a thread waiting in them, and releases the
     * channel's registrations so its descriptor is freed now rather than at the next select.
     */
    @Override
    public void close()
    {
        closeQuietly(channel);
        closeQuietly(readSelector);
        closeQuietly(writeSelector);
    }

    /** Whether {@link #close} was called. */
    boolean isClosed()
    {
        return !channel.isOpen();
    }

    static void closeQuietly(final AutoCloseable c)
    {
        if (c == null)
        {
            return;
        }
        try
        {
            c.close();
        }
        catch (final Exception e)
        {
            // Nothing more can be done about a failing close; the resource is released as far as possible.
        }
    }

    private static String describe(final SocketChannel channel)
    {
        try
        {
            final Object a = channel.getRemoteAddress();
            if (a instanceof final InetSocketAddress i)
            {
                return i.getAddress().getHostAddress() + ":" + i.getPort();
            }
            return String.valueOf(a);
        }
        catch (final IOException e)
        {
            return "(unknown address)";
        }
    }
}
