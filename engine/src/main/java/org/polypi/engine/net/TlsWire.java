package org.polypi.engine.net;

import java.io.EOFException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.atomic.AtomicLong;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;

/**
 * TLS records over a non-blocking channel through an {@link SSLEngine} (the JDK's TLS, no dependency).
 * <p>
 * Plaintext is encrypted from the send path's off-heap chunks into {@link #netOut} and decrypted into the receiver's
 * buffer directly when it has room for a whole record; only the tail of a message smaller than a record goes through
 * {@link #appIn}. Many records are packed into one socket write and read per system call.
 * <p>
 * {@code SSLEngine} allows {@code wrap} and {@code unwrap} to run at the same time, which is what happens once the
 * handshake is done: the protocol thread unwraps while the writer (I/O thread or a sender on the fast path) wraps.
 * When an unwrap leaves the engine wanting to send something (a TLS 1.3 KeyUpdate reply), {@link #needWrap} asks
 * the writer side for a wrap.
 */
final class TlsWire implements Wire
{
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    private final SocketChannel channel;
    private final SSLEngine engine;
    /** Ciphertext received and not yet unwrapped; read mode. */
    private ByteBuffer netIn;
    /** Plaintext unwrapped and not yet handed out; read mode. */
    private ByteBuffer appIn;
    /** Ciphertext wrapped and not yet written; read mode. */
    private final ByteBuffer netOut;
    private final AtomicLong bytesRead = new AtomicLong();
    private final AtomicLong bytesWritten = new AtomicLong();
    private volatile Runnable needWrap = () -> { };

    /**
     * @param ioBytes size of the ciphertext buffers of each direction (records are packed up to this size per
     *                system call).
     */
    TlsWire(final SocketChannel channel, final SSLEngine engine, final int ioBytes)
    {
        this.channel = channel;
        this.engine = engine;
        final int packet = engine.getSession().getPacketBufferSize();
        // Ciphertext buffers on the heap: the JDK encrypts and decrypts TLS 1.3 records in place in them, and its
        // AES-GCM runs about twice as fast on arrays as on direct buffers (see docs/network.md); the socket's copy
        // through the JDK's cached direct buffer costs far less than that.
        this.netIn = ByteBuffer.allocate(Math.max(ioBytes, packet)).flip();
        this.netOut = ByteBuffer.allocate(Math.max(ioBytes, 2 * packet)).flip();
        this.appIn = ByteBuffer.allocateDirect(engine.getSession().getApplicationBufferSize()).flip();
    }

    /** The engine, for the peer's certificate once the handshake is done. */
    SSLEngine engine()
    {
        return engine;
    }

    /** Sets what to do when the read side finds that the engine must send (post-handshake messages). */
    void onNeedWrap(final Runnable action)
    {
        this.needWrap = action;
    }

    /**
     * Runs the TLS handshake to completion, waiting through {@code io} until {@code deadlineNs}.
     *
     * @throws SSLHandshakeException if the peer is refused or refuses us (its alert is sent to it first).
     * @throws SocketTimeoutException if the deadline passes.
     * @throws EOFException if the peer closes the connection during the handshake.
     */
    void handshake(final Conduit io, final long deadlineNs) throws IOException
    {
        try
        {
            engine.beginHandshake();
            SSLEngineResult.HandshakeStatus hs = engine.getHandshakeStatus();
            while (true)
            {
                switch (hs)
                {
                    case NEED_TASK ->
                    {
                        runTasks();
                        hs = engine.getHandshakeStatus();
                    }
                    case NEED_WRAP ->
                    {
                        netOut.compact();
                        final SSLEngineResult r = engine.wrap(EMPTY, netOut);
                        netOut.flip();
                        flush(io, deadlineNs);
                        if (r.getStatus() == SSLEngineResult.Status.CLOSED)
                        {
                            throw new SSLHandshakeException("the TLS engine closed during the handshake");
                        }
                        hs = r.getHandshakeStatus();
                    }
                    case NEED_UNWRAP, NEED_UNWRAP_AGAIN ->
                    {
                        appIn.compact();
                        final SSLEngineResult r;
                        try
                        {
                            r = engine.unwrap(netIn, appIn);
                        }
                        finally
                        {
                            appIn.flip();
                        }
                        hs = r.getHandshakeStatus();
                        if (r.getStatus() == SSLEngineResult.Status.BUFFER_UNDERFLOW)
                        {
                            fill(io, deadlineNs);
                            hs = engine.getHandshakeStatus();
                        }
                        else if (r.getStatus() == SSLEngineResult.Status.CLOSED)
                        {
                            throw new EOFException("the peer closed TLS during the handshake");
                        }
                    }
                    case FINISHED, NOT_HANDSHAKING ->
                    {
                        flush(io, deadlineNs);
                        return;
                    }
                }
            }
        }
        catch (final SSLException e)
        {
            sendAlert();
            throw e;
        }
    }

    @Override
    public int read(final ByteBuffer dst) throws IOException
    {
        if (appIn.hasRemaining())
        {
            return Wire.transfer(appIn, dst);
        }
        boolean stage = false;
        while (true)
        {
            if (netIn.hasRemaining())
            {
                final boolean direct = !stage && dst.remaining() >= appIn.capacity();
                final SSLEngineResult r;
                if (direct)
                {
                    r = engine.unwrap(netIn, dst);
                }
                else
                {
                    appIn.compact();
                    try
                    {
                        r = engine.unwrap(netIn, appIn);
                    }
                    finally
                    {
                        appIn.flip();
                    }
                }
                afterUnwrap();
                switch (r.getStatus())
                {
                    case OK ->
                    {
                        if (r.bytesProduced() > 0)
                        {
                            return direct ? r.bytesProduced() : Wire.transfer(appIn, dst);
                        }
                        continue; // a post-handshake record (session ticket, key update): look further
                    }
                    case BUFFER_OVERFLOW ->
                    {
                        // The session's record size grew: stage through a buffer of the new size.
                        if (!direct)
                        {
                            appIn = ByteBuffer.allocateDirect(engine.getSession().getApplicationBufferSize())
                                .put(appIn).flip();
                        }
                        stage = true;
                        continue;
                    }
                    case CLOSED ->
                    {
                        return -1;
                    }
                    case BUFFER_UNDERFLOW ->
                    {
                        // fall through to read more ciphertext
                    }
                }
            }
            final int n = readNet();
            if (n <= 0)
            {
                return n;
            }
        }
    }

    @Override
    public long write(final ByteBuffer[] srcs, final int offset, final int length) throws IOException
    {
        long written = 0;
        while (true)
        {
            if (netOut.hasRemaining())
            {
                final int n = channel.write(netOut);
                bytesWritten.addAndGet(n);
                written += n;
                if (netOut.hasRemaining())
                {
                    return written;
                }
            }
            if (Wire.remaining(srcs, offset, length) == 0 && !wantsWrap())
            {
                return written;
            }
            final int packet = engine.getSession().getPacketBufferSize();
            netOut.clear();
            try
            {
                while (netOut.remaining() >= packet && (Wire.remaining(srcs, offset, length) > 0 || wantsWrap()))
                {
                    final SSLEngineResult r = engine.wrap(srcs, offset, length, netOut);
                    if (r.getStatus() == SSLEngineResult.Status.CLOSED)
                    {
                        throw new SSLException("the TLS engine is closed");
                    }
                    if (r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_TASK)
                    {
                        runTasks();
                    }
                    if (r.getStatus() != SSLEngineResult.Status.OK || r.bytesProduced() == 0)
                    {
                        break;
                    }
                }
            }
            finally
            {
                netOut.flip();
            }
            if (!netOut.hasRemaining())
            {
                return written;
            }
        }
    }

    @Override
    public boolean hasPendingOutput()
    {
        return netOut.hasRemaining();
    }

    @Override
    public long socketBytesRead()
    {
        return bytesRead.get();
    }

    @Override
    public long socketBytesWritten()
    {
        return bytesWritten.get();
    }

    @Override
    public void closeOutbound()
    {
        engine.closeOutbound();
        try
        {
            write(new ByteBuffer[]{EMPTY}, 0, 1);
        }
        catch (final IOException | RuntimeException e)
        {
            // Best effort: the peer also learns of the end from the CLOSE frame or the socket's FIN.
        }
    }

    private boolean wantsWrap()
    {
        return engine.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_WRAP;
    }

    private void afterUnwrap()
    {
        if (engine.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_TASK)
        {
            runTasks();
        }
        if (wantsWrap())
        {
            needWrap.run();
        }
    }

    /** One non-blocking read of ciphertext; returns what {@link SocketChannel#read} returned. */
    private int readNet() throws IOException
    {
        netIn.compact();
        if (!netIn.hasRemaining())
        {
            // A record larger than the buffer (the session's packet size grew): make room for it.
            final ByteBuffer bigger = ByteBuffer.allocate(2 * netIn.capacity());
            netIn.flip();
            bigger.put(netIn);
            netIn = bigger;
        }
        final int n;
        try
        {
            n = channel.read(netIn);
        }
        finally
        {
            netIn.flip();
        }
        if (n > 0)
        {
            bytesRead.addAndGet(n);
        }
        return n;
    }

    private void fill(final Conduit io, final long deadlineNs) throws IOException
    {
        while (true)
        {
            final int n = readNet();
            if (n > 0)
            {
                return;
            }
            if (n < 0)
            {
                throw new EOFException("the peer closed the connection during the TLS handshake");
            }
            if (!io.awaitReadable(deadlineNs))
            {
                throw new SocketTimeoutException("the TLS handshake did not finish in time");
            }
        }
    }

    private void flush(final Conduit io, final long deadlineNs) throws IOException
    {
        while (netOut.hasRemaining())
        {
            final int n = channel.write(netOut);
            bytesWritten.addAndGet(n);
            if (n == 0 && !io.awaitWritable(deadlineNs))
            {
                throw new SocketTimeoutException("the TLS handshake did not finish in time");
            }
        }
    }

    /** After a failed handshake the engine holds an alert for the peer: send it so the peer learns why. */
    private void sendAlert()
    {
        try
        {
            netOut.compact();
            try
            {
                engine.wrap(EMPTY, netOut);
            }
            finally
            {
                netOut.flip();
            }
            final int n = channel.write(netOut);
            bytesWritten.addAndGet(n);
        }
        catch (final IOException | RuntimeException e)
        {
            // Best effort: the peer then sees the connection close instead of the alert.
        }
    }

    private void runTasks()
    {
        Runnable task;
        while ((task = engine.getDelegatedTask()) != null)
        {
            task.run();
        }
    }
}
