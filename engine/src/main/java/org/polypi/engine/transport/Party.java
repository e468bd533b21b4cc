package org.polypi.engine.transport;

/** The three roles of a PolyPI session. Ids are fixed: they appear in frames and in the dealer's PRG streams. */
public enum Party
{
    /** Holds the model; party 0 of the two computing parties. */
    SERVER(0),
    /** Holds the input and learns the prediction; party 1. */
    CLIENT(1),
    /** Hands out correlated randomness; never sees a secret. */
    DEALER(2);

    private final int id;

    Party(final int id)
    {
        this.id = id;
    }

    /** Stable numeric id (0 server, 1 client, 2 dealer). */
    public int id()
    {
        return id;
    }

    /** The other computing party. */
    public Party peer()
    {
        return switch (this)
        {
            case SERVER -> CLIENT;
            case CLIENT -> SERVER;
            case DEALER -> throw new IllegalStateException("the dealer has no computing peer");
        };
    }

    /** Party of the given id. */
    public static Party ofId(final int id)
    {
        return switch (id)
        {
            case 0 -> SERVER;
            case 1 -> CLIENT;
            case 2 -> DEALER;
            default -> throw new IllegalArgumentException("party id must be 0, 1 or 2, was " + id);
        };
    }
}
