package org.polypi.model;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * SHA-256 of a model's canonical serialization ({@link ModelFormat}): two parties holding the same model get the
 * same fingerprint, and can compare {@link #hex()} before running a protocol.
 */
public final class Fingerprint
{
    /** Bytes of a SHA-256 digest. */
    public static final int LENGTH = 32;

    private final byte[] bytes;

    private Fingerprint(final byte[] bytes)
    {
        this.bytes = bytes;
    }

    /**
     * The fingerprint with the given 32 digest bytes.
     *
     * @throws IllegalArgumentException if the length is not {@value #LENGTH}.
     */
    public static Fingerprint of(final byte[] bytes)
    {
        if (bytes.length != LENGTH)
        {
            throw new IllegalArgumentException("fingerprint must be " + LENGTH + " bytes, was " + bytes.length);
        }
        return new Fingerprint(bytes.clone());
    }

    /**
     * Parses 64 hex digits.
     *
     * @throws IllegalArgumentException if {@code hex} is not 64 hex digits.
     */
    public static Fingerprint ofHex(final String hex)
    {
        if (hex.length() != 2 * LENGTH)
        {
            throw new IllegalArgumentException("fingerprint hex must be " + 2 * LENGTH + " digits, was " +
                hex.length());
        }
        return new Fingerprint(HexFormat.of().parseHex(hex));
    }

    /** A copy of the 32 digest bytes. */
    public byte[] bytes()
    {
        return bytes.clone();
    }

    /** Lower-case hex, 64 digits. */
    public String hex()
    {
        return HexFormat.of().formatHex(bytes);
    }

    @Override
    public boolean equals(final Object o)
    {
        return o instanceof Fingerprint f && Arrays.equals(bytes, f.bytes);
    }

    @Override
    public int hashCode()
    {
        return Arrays.hashCode(bytes);
    }

    /** Same as {@link #hex()}. */
    @Override
    public String toString()
    {
        return hex();
    }
}
