package org.polypi.engine.net;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.Socket;

import org.polypi.engine.transport.Party;

/**
 * A hand-driven peer over a plain socket that speaks the frame format through {@link FrameHeader} and {@link Hello},
 * so tests can send exactly the malformed, oversized, replayed or truncated frames a broken peer would.
 */
final class RawPeer implements AutoCloseable
{
    private static final int READ_TIMEOUT_MS = 10_000;

    private final Socket socket;
    private final OutputStream out;
    private final DataInputStream in;

    private RawPeer(final Socket socket) throws IOException
    {
        this.socket = socket;
        this.out = socket.getOutputStream();
        this.in = new DataInputStream(socket.getInputStream());
    }

    static RawPeer dial(final InetSocketAddress address) throws IOException
    {
        final Socket s = new Socket();
        s.setTcpNoDelay(true);
        s.setSoTimeout(READ_TIMEOUT_MS);
        s.connect(address, READ_TIMEOUT_MS);
        return new RawPeer(s);
    }

    /** Sends a well-formed HELLO. */
    void hello(final Party role, final Party expectedPeer, final SessionParameters p) throws IOException
    {
        final byte[] payload = new Hello(role, expectedPeer, p).encode();
        frame(FrameHeader.TYPE_HELLO, 0, p.sessionId(), payload.length, payload);
    }

    /** Reads the other end's HELLO. */
    Hello readHello() throws IOException
    {
        final byte[] h = new byte[FrameHeader.LENGTH];
        in.readFully(h);
        final MemorySegment s = MemorySegment.ofArray(h);
        final byte[] payload = new byte[(int)FrameHeader.payloadLength(s, 0)];
        in.readFully(payload);
        return Hello.decode(payload);
    }

    /** Sends a header declaring {@code declaredLength}, followed by {@code payload} (which may be shorter). */
    void frame(final byte type, final int sequence, final long sessionId, final long declaredLength,
               final byte[] payload) throws IOException
    {
        final byte[] h = new byte[FrameHeader.LENGTH];
        FrameHeader.write(MemorySegment.ofArray(h), 0, type, sequence, sessionId, declaredLength);
        out.write(h);
        out.write(payload);
        out.flush();
    }

    /** Sends bytes as they are. */
    void raw(final byte[] bytes) throws IOException
    {
        out.write(bytes);
        out.flush();
    }

    @Override
    public void close() throws IOException
    {
        socket.close();
    }
}
