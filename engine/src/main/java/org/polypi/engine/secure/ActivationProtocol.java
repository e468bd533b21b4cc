package org.polypi.engine.secure;

/**
 * How the secure parties compute a polynomial activation's powers (all three parties must use the same one; the
 * dealer deals the matching material). Every choice gives each copy {@code x_j = floor(z / 2^sh_j) + b_j},
 * {@code b_j in {0, 1}}, and its exact powers, so the result relates to the reference exactly as
 * docs/engine-design.md §4 says; they differ in rounds and bytes.
 */
public enum ActivationProtocol
{
    /**
     * The default: one opening of {@code c = z + 2^62 + r} gives every copy's truncation and powers (HoneyBadger power
     * tuples of both truncation candidates, engine-design.md §2). One round, 8 bytes per element and party.
     */
    FUSED,
    /**
     * Baseline: per copy a faithful truncation (one round, 8n bytes) then a HoneyBadger power-tuple opening
     * {@code c = x - r} (one round, 8n bytes) when the copy needs a power above 1; copies one after another.
     */
    HONEYBADGER,
    /**
     * Baseline: per copy a faithful truncation (one round, 8n bytes) then ESPN's cheaper variant (one round,
     * {@code 8 (k_j - 1) n} bytes) when the copy needs a power above 1; copies one after another.
     */
    ESPN;

    /** Online rounds of an activation step with these copies (0 shift: no truncation). */
    public long rounds(final int[] shifts, final int[] degrees)
    {
        if (this == FUSED)
        {
            return shifts.length > 0 ? 1 : 0;
        }
        long rounds = 0;
        for (int j = 0; j < shifts.length; j++)
        {
            rounds += (shifts[j] > 0 ? 1 : 0) + (degrees[j] > 1 ? 1 : 0);
        }
        return rounds;
    }

    /** Ring elements each computing party sends per input element of an activation step with these copies. */
    public long elementsPerInput(final int[] shifts, final int[] degrees)
    {
        if (this == FUSED)
        {
            return shifts.length > 0 ? 1 : 0;
        }
        long words = 0;
        for (int j = 0; j < shifts.length; j++)
        {
            words += shifts[j] > 0 ? 1 : 0;
            if (degrees[j] > 1)
            {
                words += this == ESPN ? degrees[j] - 1 : 1;
            }
        }
        return words;
    }

    /** Ring elements the dealer sends the server per input element (trailers aside), and pieces (trailers). */
    public long[] dealerElementsAndPieces(final int[] shifts, final int[] degrees)
    {
        long words = 0;
        long pieces = 0;
        for (int j = 0; j < shifts.length; j++)
        {
            if (this == FUSED)
            {
                words += 2L * degrees[j];
                continue;
            }
            if (shifts[j] > 0)
            {
                words += 2;
                pieces++;
            }
            if (degrees[j] > 1)
            {
                words += this == ESPN ? (long)degrees[j] * (degrees[j] - 1) / 2 : degrees[j] - 1;
                pieces++;
            }
        }
        return new long[]{words, this == FUSED ? (shifts.length > 0 ? 1 : 0) : pieces};
    }
}
