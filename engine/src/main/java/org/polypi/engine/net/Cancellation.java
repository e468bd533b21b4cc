package org.polypi.engine.net;

import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.Set;

import org.polypi.engine.transport.TransportException;

/**
 * Lets one part of a connection set-up stop the others at once: everything in progress (a connect, a handshake) is
 * registered here, and {@link #cancel} closes it, which wakes whoever waits on it.
 */
final class Cancellation
{
    private final Set<AutoCloseable> inProgress = new HashSet<>();
    private final Set<Throwable> consequences = Collections.newSetFromMap(new IdentityHashMap<>());
    private boolean cancelled;

    /** Registers {@code c}; false (and nothing registered) if already cancelled. */
    synchronized boolean register(final AutoCloseable c)
    {
        if (cancelled)
        {
            return false;
        }
        inProgress.add(c);
        return true;
    }

    /** Forgets {@code c} (its set-up ended). */
    synchronized void unregister(final AutoCloseable c)
    {
        inProgress.remove(c);
    }

    /** Whether {@link #cancel} was called. */
    synchronized boolean cancelled()
    {
        return cancelled;
    }

    /** Closes everything in progress; later registrations fail. */
    synchronized void cancel()
    {
        cancelled = true;
        for (final AutoCloseable c : inProgress)
        {
            Conduit.closeQuietly(c);
        }
        inProgress.clear();
    }

    /** An exception for a step that ended because of the cancellation, remembered as a consequence, not a cause. */
    synchronized TransportException consequence(final String message, final Throwable cause)
    {
        final TransportException e = new TransportException(message, cause);
        consequences.add(e);
        return e;
    }

    /** Whether {@code t} was made by {@link #consequence}. */
    synchronized boolean isConsequence(final Throwable t)
    {
        return consequences.contains(t);
    }
}
