package org.polypi.engine.secure;

import org.polypi.engine.protocol.ActivationPlan;

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
    ESPN,
    /**
     * Baseline: CrypTen's power schedule (seeds.md §2.6): per copy a faithful truncation (one round, 8n bytes), then
     * the powers by elementwise Beaver products, round t computing {@code x^i = x^h x^(i-h)} for
     * {@code h = 2^(t-1) < i <= min(2h, k_j)}: {@code ceil(log2 k_j)} rounds and {@code k_j - 1} products, 2 elements
     * sent per party and product element; copies one after another. The products are exact (the plan's per-power
     * pre-scaling keeps every power in range), so unlike CrypTen itself there is no local truncation per product and
     * the result is the same as the other protocols'.
     */
    CRYPTEN;

    /** {@code ceil(log2 k)} for {@code k >= 1}: CrypTen's rounds for the powers up to k. */
    static int powerRounds(final int k)
    {
        return Integer.SIZE - Integer.numberOfLeadingZeros(k - 1);
    }

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
            rounds += (shifts[j] > 0 ? 1 : 0) + (this == CRYPTEN ? powerRounds(degrees[j]) : degrees[j] > 1 ? 1 : 0);
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
                words += switch (this)
                {
                    case ESPN -> degrees[j] - 1;
                    case CRYPTEN -> 2L * (degrees[j] - 1);
                    default -> 1;
                };
            }
        }
        return words;
    }

    /** Ring elements the dealer sends the server per input element (trailers aside), and pieces (trailers). */
    public long[] dealerElementsAndPieces(final int[] shifts, final int[] degrees)
    {
        if (this == FUSED)
        {
            return new long[]{ActivationPlan.materialTensors(shifts, degrees), shifts.length > 0 ? 1 : 0};
        }
        long words = 0;
        long pieces = 0;
        for (int j = 0; j < shifts.length; j++)
        {
            if (shifts[j] > 0)
            {
                words += 2;
                pieces++;
            }
            if (degrees[j] > 1)
            {
                words += this == ESPN ? (long)degrees[j] * (degrees[j] - 1) / 2 : degrees[j] - 1;
                // CrypTen: one Beaver triple per product, the server receiving its c share only.
                pieces += this == CRYPTEN ? degrees[j] - 1 : 1;
            }
        }
        return new long[]{words, pieces};
    }
}
