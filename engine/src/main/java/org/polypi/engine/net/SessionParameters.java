package org.polypi.engine.net;

import java.util.Arrays;
import java.util.Objects;

/**
 * What the three parties of one session must agree on before any protocol message moves; the handshake of every
 * connection compares them field by field and refuses the connection on the first difference, naming the field and
 * both values.
 * <p>
 * The byte strings are opaque to the transport (the engine decides what they hold: a digest of the model file, an
 * encoding of the fixed-point format, a digest of the compiled plan). They are copied on the way in and out.
 *
 * @param protocolVersion     version of the PolyPI protocols the party runs (not of the frame format).
 * @param sessionId           the session's id, also stamped on every frame.
 * @param modelFingerprint    identifies the model (e.g. a digest of the model file).
 * @param fixedPointParameters encodes the fixed-point format (fractional bits, ring).
 * @param planHash            identifies the compiled plan (the order of protocol steps and dealer pieces).
 */
public record SessionParameters(
    int protocolVersion,
    long sessionId,
    byte[] modelFingerprint,
    byte[] fixedPointParameters,
    byte[] planHash)
{
    /** Version of the protocols implemented by this engine. */
    public static final int CURRENT_PROTOCOL_VERSION = 1;
    /** Longest byte string accepted in any field (keeps the handshake frame small and bounded). */
    public static final int MAX_FIELD_BYTES = 4096;

    /**
     * Validates and copies.
     *
     * @throws IllegalArgumentException if a byte string is longer than {@value #MAX_FIELD_BYTES} bytes.
     */
    public SessionParameters
    {
        modelFingerprint = checked("modelFingerprint", modelFingerprint);
        fixedPointParameters = checked("fixedPointParameters", fixedPointParameters);
        planHash = checked("planHash", planHash);
    }

    /** Parameters of {@link #CURRENT_PROTOCOL_VERSION}. */
    public static SessionParameters of(
        final long sessionId,
        final byte[] modelFingerprint,
        final byte[] fixedPointParameters,
        final byte[] planHash)
    {
        return new SessionParameters(CURRENT_PROTOCOL_VERSION, sessionId, modelFingerprint, fixedPointParameters,
            planHash);
    }

    @Override
    public byte[] modelFingerprint()
    {
        return modelFingerprint.clone();
    }

    @Override
    public byte[] fixedPointParameters()
    {
        return fixedPointParameters.clone();
    }

    @Override
    public byte[] planHash()
    {
        return planHash.clone();
    }

    @Override
    public boolean equals(final Object o)
    {
        return o instanceof final SessionParameters p && protocolVersion == p.protocolVersion &&
            sessionId == p.sessionId && Arrays.equals(modelFingerprint, p.modelFingerprint) &&
            Arrays.equals(fixedPointParameters, p.fixedPointParameters) && Arrays.equals(planHash, p.planHash);
    }

    @Override
    public int hashCode()
    {
        return Objects.hash(protocolVersion, sessionId, Arrays.hashCode(modelFingerprint),
            Arrays.hashCode(fixedPointParameters), Arrays.hashCode(planHash));
    }

    @Override
    public String toString()
    {
        return "SessionParameters[protocolVersion=" + protocolVersion + ", sessionId=" + sessionId +
            ", modelFingerprint=" + Text.hex(modelFingerprint) + ", fixedPointParameters=" +
            Text.hex(fixedPointParameters) + ", planHash=" + Text.hex(planHash) + "]";
    }

    private static byte[] checked(final String name, final byte[] value)
    {
        Objects.requireNonNull(value, name);
        if (value.length > MAX_FIELD_BYTES)
        {
            throw new IllegalArgumentException(name + " must be at most " + MAX_FIELD_BYTES + " bytes, was " +
                value.length);
        }
        return value.clone();
    }
}
