package org.polypi.engine.protocol;

/**
 * The once-only guard every piece of dealer material carries. Using correlated randomness twice breaks the
 * one-time pads it provides (two openings {@code x - a}, {@code x' - a} reveal {@code x - x'}), so a second use is a
 * hard error, not a warning.
 */
final class SingleUse
{
    private final String id;
    private boolean used;

    SingleUse(final String id)
    {
        this.id = id;
    }

    String id()
    {
        return id;
    }

    boolean used()
    {
        return used;
    }

    /**
     * Marks the material used.
     *
     * @throws IllegalStateException {@code "material <id> already used"} on the second call.
     */
    void take()
    {
        if (used)
        {
            throw new IllegalStateException("material " + id + " already used");
        }
        used = true;
    }
}
