package org.polypi.engine.transport;

/**
 * A session-ending transport failure: the peer went away, stalled past the timeout, or sent a message whose size
 * does not match what the protocol expects. The message names the peer and what happened.
 */
public final class TransportException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    /** Creates the exception with a message naming the peer and the failure. */
    public TransportException(final String message)
    {
        super(message);
    }

    /** Creates the exception with a message and the underlying cause. */
    public TransportException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
