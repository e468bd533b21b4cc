package org.polypi.engine.secure;

import java.io.Serial;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;

import org.polypi.engine.transport.Party;

/**
 * A secure session ended because a party failed: its own error, and the errors the other parties ended with (a peer
 * that closed or went silent is named in theirs). The first failure is the cause; the others are suppressed.
 */
public final class SessionFailedException extends RuntimeException
{
    @Serial
    private static final long serialVersionUID = 1L;

    /** Not serialized: the per-party view is for the caller that caught it. */
    private final transient Map<Party, Throwable> failures;

    SessionFailedException(final String what, final Map<Party, Throwable> failures, final Party first)
    {
        super(what + ": " + describe(failures), failures.get(first));
        this.failures = Collections.unmodifiableMap(new EnumMap<>(failures));
        for (final Map.Entry<Party, Throwable> e : failures.entrySet())
        {
            if (e.getKey() != first)
            {
                addSuppressed(e.getValue());
            }
        }
    }

    /** The error each failed party ended with (parties that finished cleanly are absent). */
    public Map<Party, Throwable> failures()
    {
        return failures == null ? Map.of() : failures;
    }

    private static String describe(final Map<Party, Throwable> failures)
    {
        final StringBuilder sb = new StringBuilder();
        for (final Map.Entry<Party, Throwable> e : failures.entrySet())
        {
            if (!sb.isEmpty())
            {
                sb.append("; ");
            }
            sb.append(e.getKey()).append(" failed: ").append(e.getValue());
        }
        return sb.toString();
    }
}
