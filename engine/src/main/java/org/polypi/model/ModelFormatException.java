package org.polypi.model;

import java.io.IOException;
import java.io.Serial;

/**
 * A model file (or byte stream) that is not a valid {@link ModelFormat} encoding: bad magic, unknown version,
 * out-of-range count or size, bad checksum or fingerprint, truncation, trailing bytes, or a graph that does not
 * type-check. The message says what is wrong and at which byte offset; {@link #offset()} returns the offset.
 * <p>
 * Checked (an {@link IOException}), because a corrupt or hostile file is an expected input, not a bug.
 */
public final class ModelFormatException extends IOException
{
    @Serial
    private static final long serialVersionUID = 1L;

    private final long offset;

    /** An error at byte {@code offset} of the encoding. */
    public ModelFormatException(final long offset, final String message)
    {
        super("at byte " + offset + ": " + message);
        this.offset = offset;
    }

    /** An error at byte {@code offset} caused by {@code cause} (e.g. a graph check). */
    public ModelFormatException(final long offset, final String message, final Throwable cause)
    {
        super("at byte " + offset + ": " + message, cause);
        this.offset = offset;
    }

    /** Byte offset in the encoding where the problem was found. */
    public long offset()
    {
        return offset;
    }
}
