package org.polypi.engine.net;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Plain TCP. Reads of at least {@value #STAGING_BYTES} bytes into a direct buffer go straight from the socket into
 * it (a view of the receiver's off-heap segment: no copy); smaller ones go through a staging buffer, so that a burst
 * of small frames costs one system call rather than two per frame (header, then payload).
 */
final class PlainWire implements Wire
{
    /** Size of the read staging buffer, and the smallest read made directly into the caller's buffer. */
    static final int STAGING_BYTES = 64 << 10;

    private final SocketChannel channel;
    /** Bytes read from the socket and not yet handed out; kept in read mode (position..limit is unread). */
    private final ByteBuffer staging = ByteBuffer.allocateDirect(STAGING_BYTES).flip();
    private final AtomicLong bytesRead = new AtomicLong();
    private final AtomicLong bytesWritten = new AtomicLong();

    PlainWire(final SocketChannel channel)
    {
        this.channel = channel;
    }

    @Override
    public int read(final ByteBuffer dst) throws IOException
    {
        if (staging.hasRemaining())
        {
            return Wire.transfer(staging, dst);
        }
        if (dst.isDirect() && dst.remaining() >= STAGING_BYTES)
        {
            final int n = channel.read(dst);
            if (n > 0)
            {
                bytesRead.addAndGet(n);
            }
            return n;
        }
        staging.clear();
        final int n = channel.read(staging);
        staging.flip();
        if (n <= 0)
        {
            return n;
        }
        bytesRead.addAndGet(n);
        return Wire.transfer(staging, dst);
    }

    @Override
    public long write(final ByteBuffer[] srcs, final int offset, final int length) throws IOException
    {
        final long n = channel.write(srcs, offset, length);
        bytesWritten.addAndGet(n);
        return n;
    }

    @Override
    public boolean hasPendingOutput()
    {
        return false;
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
        // Plain TCP says goodbye with the CLOSE frame and the FIN of the socket's close.
    }
}
