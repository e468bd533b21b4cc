package org.polypi.trainer;

import java.util.Locale;

import org.polypi.model.ActivationKind;

/** What the trainer puts at every activation site. */
public enum ActivationChoice
{
    /** ReLU, the baseline. */
    RELU(ActivationKind.RELU),
    /** PILLAR: one public polynomial fitted to ReLU, trained with clipping and the range penalty. */
    PILLAR(ActivationKind.POLY),
    /** AESPA's HerPN (degree 2), exported as a private quadratic per channel. */
    HERPN(ActivationKind.CHANNEL_POLY),
    /** SENet's partial ReLU: ReLU at the positions of a mask, identity elsewhere ({@link Senet}). */
    SENET(ActivationKind.MASKED_RELU);

    private final ActivationKind kind;

    ActivationChoice(final ActivationKind kind)
    {
        this.kind = kind;
    }

    /** The layer kind of the exported model's activation sites. */
    public ActivationKind kind()
    {
        return kind;
    }

    /** Lower-case name as on the command line. */
    public String id()
    {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The choice called {@code id} (case-insensitive).
     *
     * @throws IllegalArgumentException if there is none.
     */
    public static ActivationChoice byId(final String id)
    {
        for (final ActivationChoice c : values())
        {
            if (c.id().equals(id.toLowerCase(Locale.ROOT)))
            {
                return c;
            }
        }
        throw new IllegalArgumentException("unknown activation " + id + "; known: relu, pillar, herpn, senet");
    }
}
