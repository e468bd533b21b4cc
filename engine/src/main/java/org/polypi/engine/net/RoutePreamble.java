package org.polypi.engine.net;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;

import org.polypi.engine.transport.Party;

/**
 * The 16 bytes a party sends first, in the clear, on a connection to a {@link SessionRouter}: they tell the router
 * which session the connection belongs to, before TLS starts (so that a TCP load balancer in front of dealer
 * replicas can also hash on them). All fields little-endian:
 *
 * <pre>
 * offset size field
 *      0    2 magic 'P' 'R' (0x50 0x52)
 *      2    1 version (1)
 *      3    1 role of the dialling party (0 server, 1 client, 2 dealer)
 *      4    4 reserved, 0
 *      8    8 session id
 * </pre>
 * The session id is a random number, not a secret: it is also in every frame header. What it claims is checked
 * again, under TLS, by the session handshake.
 */
public final class RoutePreamble
{
    /** Bytes of the preamble. */
    public static final int LENGTH = 16;
    /** First byte. */
    public static final byte MAGIC_0 = 0x50;
    /** Second byte. */
    public static final byte MAGIC_1 = 0x52;
    /** Current version. */
    public static final byte VERSION = 1;
    /** Offset of the role byte. */
    public static final int ROLE_OFFSET = 3;
    /** Offset of the reserved word. */
    public static final int RESERVED_OFFSET = 4;
    /** Offset of the session id. */
    public static final int SESSION_OFFSET = 8;

    private RoutePreamble()
    {
    }

    /**
     * One decoded preamble.
     *
     * @param role the dialling party.
     * @param sessionId the session it joins.
     */
    public record Route(Party role, long sessionId)
    {
    }

    /** Encodes the preamble of {@code role} joining {@code sessionId}. */
    public static ByteBuffer encode(final Party role, final long sessionId)
    {
        final ByteBuffer b = ByteBuffer.allocate(LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC_0).put(MAGIC_1).put(VERSION).put((byte)role.id()).putInt(0).putLong(sessionId);
        return b.flip();
    }

    /** Writes the preamble on a blocking channel. */
    static void write(final SocketChannel channel, final Party role, final long sessionId) throws IOException
    {
        final ByteBuffer b = encode(role, sessionId);
        while (b.hasRemaining())
        {
            channel.write(b);
        }
    }

    /**
     * Decodes a full preamble ({@value #LENGTH} bytes from position 0).
     *
     * @throws IllegalArgumentException naming the bad field and its value.
     */
    public static Route decode(final ByteBuffer buffer)
    {
        final ByteBuffer b = buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (b.get(0) != MAGIC_0 || b.get(1) != MAGIC_1)
        {
            throw new IllegalArgumentException(String.format("not a route preamble (magic 0x%02x%02x, expected " +
                "0x%02x%02x)", b.get(0), b.get(1), MAGIC_0, MAGIC_1));
        }
        if (b.get(2) != VERSION)
        {
            throw new IllegalArgumentException("route preamble version " + b.get(2) + ", expected " + VERSION);
        }
        final int role = b.get(ROLE_OFFSET);
        if (role < 0 || role >= Party.values().length)
        {
            throw new IllegalArgumentException("route preamble names role " + role + ", expected 0.." +
                (Party.values().length - 1));
        }
        if (b.getInt(RESERVED_OFFSET) != 0)
        {
            throw new IllegalArgumentException("route preamble reserved bytes are not 0");
        }
        return new Route(Party.ofId(role), b.getLong(SESSION_OFFSET));
    }
}
