package org.polypi.engine.cli;

/** A bad command line: the message says which option and why. */
public final class UsageException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    /** Creates the exception. */
    public UsageException(final String message)
    {
        super(message);
    }
}
