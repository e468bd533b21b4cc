package org.polypi.engine.secure;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One query's dealer material, dealt ahead: per plan step the messages the dealer sends the server, in order (none
 * for a local step or the client's material, which comes from its seed). Owns the arena the messages live in. Sent
 * at most once: {@link #take} is the single-use guard, so a pooled or file-read query can never be sent twice.
 */
final class QueryMaterial implements AutoCloseable
{
    private final Arena arena;
    private final MemorySegment[][] messages;
    private final long generationNanos;
    private boolean taken;

    QueryMaterial(final Arena arena, final MemorySegment[][] messages, final long generationNanos)
    {
        this.arena = arena;
        this.messages = messages;
        this.generationNanos = generationNanos;
    }

    /** The messages of plan step {@code step}. */
    MemorySegment[] step(final int step)
    {
        return messages[step];
    }

    /** Steps covered (the plan's step count). */
    int steps()
    {
        return messages.length;
    }

    /** Time it took to deal (0 when read from a file). */
    long generationNanos()
    {
        return generationNanos;
    }

    /**
     * Marks the material sent.
     *
     * @throws IllegalStateException on the second call: the masks would be used twice.
     */
    void take()
    {
        if (taken)
        {
            throw new IllegalStateException("query material already sent: dealer material is single-use");
        }
        taken = true;
    }

    @Override
    public void close()
    {
        arena.close();
    }
}
