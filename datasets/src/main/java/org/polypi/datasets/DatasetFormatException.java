package org.polypi.datasets;

import java.io.IOException;
import java.io.Serial;

/**
 * A data file is malformed: wrong magic number, wrong data type, counts that do not match the file's size, a label
 * out of range, a checksum mismatch. The message always starts with the file (or resource) it is about, then says
 * what was expected and what was found.
 */
public final class DatasetFormatException extends IOException
{
    @Serial
    private static final long serialVersionUID = 1L;

    /** The file or resource the problem was found in. */
    private final String source;

    /**
     * @param source the file or resource name, as the user would recognise it.
     * @param detail what was wrong, with the expected and found values.
     */
    public DatasetFormatException(final String source, final String detail)
    {
        super(source + ": " + detail);
        this.source = source;
    }

    /**
     * @param source the file or resource name, as the user would recognise it.
     * @param detail what was wrong.
     * @param cause the lower-level failure (e.g. a corrupt gzip stream).
     */
    public DatasetFormatException(final String source, final String detail, final Throwable cause)
    {
        super(source + ": " + detail, cause);
        this.source = source;
    }

    /**
     * The file or resource the problem was found in.
     *
     * @return the name given when the exception was created.
     */
    public String source()
    {
        return source;
    }
}
