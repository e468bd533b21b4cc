package org.polypi.engine.net;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Layout of the fixed header in front of every frame on a PolyPI connection, in the style of an Agrona/Aeron
 * flyweight descriptor: named offsets, explicit sizes and one explicit byte order (little-endian), so the wire format
 * is defined here and nowhere else.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------+---------------+---------------+---------------+
 *  |     magic     |    version    |     type      |  flags (= 0)  |
 *  +---------------+---------------+---------------+---------------+
 *  |                  sequence number (u32, LE)                    |
 *  +---------------------------------------------------------------+
 *  |                                                               |
 *  +                      session id (i64, LE)                     +
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                                                               |
 *  +                    payload length (i64, LE)                   +
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                  payload (length bytes) ...                   |
 * </pre>
 * The sequence number counts the frames of one direction of one connection from 0 (the {@link #TYPE_HELLO} frame)
 * and wraps as a 32-bit integer; a receiver accepts only the next one, so a replayed, dropped or reordered frame is
 * caught at once. The payload length is 64-bit so that an absurd length is reported as what it is rather than as a
 * truncated value; receivers check it against their limit before they read or allocate anything.
 */
public final class FrameHeader
{
    /** Byte order of every multi-byte field of the header (and of the handshake payload). */
    public static final ByteOrder BYTE_ORDER = ByteOrder.LITTLE_ENDIAN;

    /** Offset of the magic byte. */
    public static final int MAGIC_OFFSET = 0;
    /** Offset of the frame-format version byte. */
    public static final int VERSION_OFFSET = 1;
    /** Offset of the frame type byte. */
    public static final int TYPE_OFFSET = 2;
    /** Offset of the flags byte (reserved, must be zero). */
    public static final int FLAGS_OFFSET = 3;
    /** Offset of the 32-bit sequence number. */
    public static final int SEQUENCE_OFFSET = 4;
    /** Offset of the 64-bit session id. */
    public static final int SESSION_ID_OFFSET = 8;
    /** Offset of the 64-bit payload length. */
    public static final int PAYLOAD_LENGTH_OFFSET = 16;
    /** Length of the header; the payload follows at this offset. */
    public static final int LENGTH = 24;

    /** First byte of every frame ('P' for PolyPI): a peer speaking another protocol is caught on its first frame. */
    public static final byte MAGIC = 0x50;
    /** Version of this frame format. */
    public static final byte VERSION = 1;

    /** Handshake frame: the first frame of each direction, payload as described by {@link Hello}. */
    public static final byte TYPE_HELLO = 1;
    /** One whole protocol message. */
    public static final byte TYPE_DATA = 2;
    /** The sender closed its transport: no frame follows. Empty payload. */
    public static final byte TYPE_CLOSE = 3;

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(BYTE_ORDER);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(BYTE_ORDER);

    private FrameHeader()
    {
    }

    /** Writes a whole header at {@code offset} of {@code buffer}. */
    public static void write(
        final MemorySegment buffer,
        final long offset,
        final byte type,
        final int sequence,
        final long sessionId,
        final long payloadLength)
    {
        buffer.set(ValueLayout.JAVA_BYTE, offset + MAGIC_OFFSET, MAGIC);
        buffer.set(ValueLayout.JAVA_BYTE, offset + VERSION_OFFSET, VERSION);
        buffer.set(ValueLayout.JAVA_BYTE, offset + TYPE_OFFSET, type);
        buffer.set(ValueLayout.JAVA_BYTE, offset + FLAGS_OFFSET, (byte)0);
        buffer.set(INT, offset + SEQUENCE_OFFSET, sequence);
        buffer.set(LONG, offset + SESSION_ID_OFFSET, sessionId);
        buffer.set(LONG, offset + PAYLOAD_LENGTH_OFFSET, payloadLength);
    }

    /** The magic byte of the header at {@code offset}. */
    public static byte magic(final MemorySegment buffer, final long offset)
    {
        return buffer.get(ValueLayout.JAVA_BYTE, offset + MAGIC_OFFSET);
    }

    /** The frame-format version of the header at {@code offset}. */
    public static byte version(final MemorySegment buffer, final long offset)
    {
        return buffer.get(ValueLayout.JAVA_BYTE, offset + VERSION_OFFSET);
    }

    /** The frame type of the header at {@code offset}. */
    public static byte type(final MemorySegment buffer, final long offset)
    {
        return buffer.get(ValueLayout.JAVA_BYTE, offset + TYPE_OFFSET);
    }

    /** The flags of the header at {@code offset}. */
    public static byte flags(final MemorySegment buffer, final long offset)
    {
        return buffer.get(ValueLayout.JAVA_BYTE, offset + FLAGS_OFFSET);
    }

    /** The sequence number of the header at {@code offset}. */
    public static int sequence(final MemorySegment buffer, final long offset)
    {
        return buffer.get(INT, offset + SEQUENCE_OFFSET);
    }

    /** The session id of the header at {@code offset}. */
    public static long sessionId(final MemorySegment buffer, final long offset)
    {
        return buffer.get(LONG, offset + SESSION_ID_OFFSET);
    }

    /** The payload length of the header at {@code offset} (as sent: may be negative or absurd). */
    public static long payloadLength(final MemorySegment buffer, final long offset)
    {
        return buffer.get(LONG, offset + PAYLOAD_LENGTH_OFFSET);
    }

    /** A readable name of a frame type, for error messages. */
    public static String typeName(final byte type)
    {
        return switch (type)
        {
            case TYPE_HELLO -> "HELLO";
            case TYPE_DATA -> "DATA";
            case TYPE_CLOSE -> "CLOSE";
            default -> "unknown type " + (type & 0xFF);
        };
    }
}
