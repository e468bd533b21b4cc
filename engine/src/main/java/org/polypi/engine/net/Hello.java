package org.polypi.engine.net;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

import org.polypi.engine.transport.Party;

/**
 * The payload of a {@link FrameHeader#TYPE_HELLO} frame: who the sender is, whom it believes it is talking to, and
 * the {@link SessionParameters} it runs. Both ends send theirs at once and then compare what they received with
 * their own, so both see the same mismatch and fail with the same explanation.
 *
 * <pre>
 *  offset  size  field
 *       0     4  protocol version (i32, LE)
 *       4     1  sender's role (party id)
 *       5     1  role the sender expects the receiver to have (party id, or 0xFF: any)
 *       6     2  reserved (= 0)
 *       8     8  session id (i64, LE)
 *      16     4  model fingerprint length n1 (i32, LE), then n1 bytes
 *       .     4  fixed-point parameters length n2, then n2 bytes
 *       .     4  plan hash length n3, then n3 bytes
 * </pre>
 * Each length is checked against {@link SessionParameters#MAX_FIELD_BYTES} before anything is copied.
 */
record Hello(Party role, Party expectedPeer, SessionParameters parameters)
{
    static final int PROTOCOL_VERSION_OFFSET = 0;
    static final int ROLE_OFFSET = 4;
    static final int EXPECTED_PEER_OFFSET = 5;
    static final int RESERVED_OFFSET = 6;
    static final int SESSION_ID_OFFSET = 8;
    static final int FIELDS_OFFSET = 16;
    static final int FIELD_LENGTH_BYTES = Integer.BYTES;
    /** Marks "any role" in the expected-peer byte (a listener accepting whoever comes). */
    static final byte ANY_ROLE = (byte)0xFF;
    /** Largest valid HELLO payload; a longer one is refused before it is read. */
    static final int MAX_LENGTH = FIELDS_OFFSET + 3 * (FIELD_LENGTH_BYTES + SessionParameters.MAX_FIELD_BYTES);

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(FrameHeader.BYTE_ORDER);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(FrameHeader.BYTE_ORDER);

    /** The encoded payload. */
    byte[] encode()
    {
        final byte[][] fields = {parameters.modelFingerprint(), parameters.fixedPointParameters(),
            parameters.planHash()};
        int length = FIELDS_OFFSET;
        for (final byte[] f : fields)
        {
            length += FIELD_LENGTH_BYTES + f.length;
        }
        final byte[] out = new byte[length];
        final MemorySegment s = MemorySegment.ofArray(out);
        s.set(INT, PROTOCOL_VERSION_OFFSET, parameters.protocolVersion());
        s.set(ValueLayout.JAVA_BYTE, ROLE_OFFSET, (byte)role.id());
        s.set(ValueLayout.JAVA_BYTE, EXPECTED_PEER_OFFSET, expectedPeer == null ? ANY_ROLE : (byte)expectedPeer.id());
        s.set(LONG, SESSION_ID_OFFSET, parameters.sessionId());
        long offset = FIELDS_OFFSET;
        for (final byte[] f : fields)
        {
            s.set(INT, offset, f.length);
            MemorySegment.copy(f, 0, s, ValueLayout.JAVA_BYTE, offset + FIELD_LENGTH_BYTES, f.length);
            offset += FIELD_LENGTH_BYTES + f.length;
        }
        return out;
    }

    /**
     * Decodes a payload.
     *
     * @throws IllegalArgumentException describing the first malformed field.
     */
    static Hello decode(final byte[] payload)
    {
        if (payload.length < FIELDS_OFFSET)
        {
            throw new IllegalArgumentException("handshake of " + payload.length + " bytes, at least " + FIELDS_OFFSET +
                " expected");
        }
        final MemorySegment s = MemorySegment.ofArray(payload);
        final int protocolVersion = s.get(INT, PROTOCOL_VERSION_OFFSET);
        final Party role = party("role", s.get(ValueLayout.JAVA_BYTE, ROLE_OFFSET));
        final byte expected = s.get(ValueLayout.JAVA_BYTE, EXPECTED_PEER_OFFSET);
        final Party expectedPeer = expected == ANY_ROLE ? null : party("expected peer role", expected);
        final long sessionId = s.get(LONG, SESSION_ID_OFFSET);
        final byte[][] fields = new byte[3][];
        final String[] names = {"model fingerprint", "fixed-point parameters", "plan hash"};
        long offset = FIELDS_OFFSET;
        for (int i = 0; i < fields.length; i++)
        {
            if (offset + FIELD_LENGTH_BYTES > payload.length)
            {
                throw new IllegalArgumentException("handshake ends before the length of its " + names[i]);
            }
            final int n = s.get(INT, offset);
            offset += FIELD_LENGTH_BYTES;
            if (n < 0 || n > SessionParameters.MAX_FIELD_BYTES || offset + n > payload.length)
            {
                throw new IllegalArgumentException("handshake " + names[i] + " of " + n + " bytes (limit " +
                    SessionParameters.MAX_FIELD_BYTES + ", " + (payload.length - offset) + " left)");
            }
            fields[i] = Arrays.copyOfRange(payload, (int)offset, (int)offset + n);
            offset += n;
        }
        if (offset != payload.length)
        {
            throw new IllegalArgumentException("handshake has " + (payload.length - offset) + " trailing bytes");
        }
        return new Hello(role, expectedPeer,
            new SessionParameters(protocolVersion, sessionId, fields[0], fields[1], fields[2]));
    }

    /**
     * The first difference between our own parameters and the peer's HELLO, as "field: ours X, theirs Y", or null
     * when everything matches. Roles are checked by the caller, which knows whom it dialled or accepts.
     */
    static String mismatch(final SessionParameters ours, final SessionParameters theirs)
    {
        if (ours.protocolVersion() != theirs.protocolVersion())
        {
            return "protocol version differs: ours " + ours.protocolVersion() + ", theirs " +
                theirs.protocolVersion();
        }
        if (ours.sessionId() != theirs.sessionId())
        {
            return "session id differs: ours " + ours.sessionId() + ", theirs " + theirs.sessionId();
        }
        final String[] names = {"model fingerprint", "fixed-point parameters", "plan hash"};
        final byte[][] a = {ours.modelFingerprint(), ours.fixedPointParameters(), ours.planHash()};
        final byte[][] b = {theirs.modelFingerprint(), theirs.fixedPointParameters(), theirs.planHash()};
        for (int i = 0; i < names.length; i++)
        {
            if (!Arrays.equals(a[i], b[i]))
            {
                return names[i] + " differs: ours " + Text.hex(a[i]) + ", theirs " + Text.hex(b[i]);
            }
        }
        return null;
    }

    private static Party party(final String field, final byte id)
    {
        if (id < 0 || id >= Party.values().length)
        {
            throw new IllegalArgumentException("handshake " + field + " " + (id & 0xFF) + " is not a party id");
        }
        return Party.ofId(id);
    }
}
