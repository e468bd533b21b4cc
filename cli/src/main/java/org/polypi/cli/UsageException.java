package org.polypi.cli;

/** A bad command line found after parsing (a missing file, an option combination): exit status 2. */
final class UsageException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    UsageException(final String message)
    {
        super(message);
    }
}
