package org.polypi.engine.secure;

/**
 * A dealer material file that cannot be used: missing or already consumed, truncated, corrupt (a checksum fails),
 * of another format version, or written for another plan, batch or seed. The message names the file and the
 * offending field with both values.
 */
public final class MaterialFileException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    /** An error with a message naming the file and the field. */
    public MaterialFileException(final String message)
    {
        super(message);
    }

    /** An error with a cause (an I/O failure). */
    public MaterialFileException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
