package org.polypi.engine.net;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The byte stream of one connection as the frames see it: plain TCP, or TLS records over it. Every call is
 * non-blocking; {@link Conduit} does the waiting. {@link #read} is used by one thread at a time (the connecting
 * thread, then the party's protocol thread); {@link #write} by whoever holds the connection's writer token (see
 * {@link SendQueue}). The two may run at the same time.
 */
interface Wire
{
    /**
     * Moves up to {@code dst.remaining()} bytes of the peer's stream into {@code dst}.
     *
     * @return bytes moved, 0 if none is available now, -1 at the end of the stream.
     */
    int read(ByteBuffer dst) throws IOException;

    /**
     * Writes as much of {@code srcs[offset, offset + length)} as the socket takes now.
     *
     * @return bytes that went to the socket (0: the socket is full, wait until it is writable).
     */
    long write(ByteBuffer[] srcs, int offset, int length) throws IOException;

    /** Whether bytes produced by an earlier {@link #write} (TLS records) still wait for the socket. */
    boolean hasPendingOutput();

    /** Bytes read from the socket so far (ciphertext under TLS). */
    long socketBytesRead();

    /** Bytes written to the socket so far (ciphertext under TLS). */
    long socketBytesWritten();

    /** Ends our direction politely where the protocol has a way (TLS close_notify); best effort, non-blocking. */
    void closeOutbound();

    /** Copies as many bytes as fit from {@code src} to {@code dst}, advancing both. */
    static int transfer(final ByteBuffer src, final ByteBuffer dst)
    {
        final int n = Math.min(src.remaining(), dst.remaining());
        dst.put(dst.position(), src, src.position(), n);
        src.position(src.position() + n);
        dst.position(dst.position() + n);
        return n;
    }

    /** Bytes remaining over {@code srcs[offset, offset + length)}. */
    static long remaining(final ByteBuffer[] srcs, final int offset, final int length)
    {
        long n = 0;
        for (int i = offset; i < offset + length; i++)
        {
            n += srcs[i].remaining();
        }
        return n;
    }
}
