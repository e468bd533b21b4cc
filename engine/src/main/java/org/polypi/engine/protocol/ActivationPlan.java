package org.polypi.engine.protocol;

import java.util.Arrays;

import org.polypi.kernels.CandidateDifferences;

/**
 * What one fused activation opening produces (engine-design.md §2): a list of distinct shifts {@code sh_j}, and for
 * each the highest power {@code k_j} of the truncated copy {@code trunc_{sh_j}(z)} that the step needs. The dealer
 * material, the protocol and its result all follow this plan.
 */
public final class ActivationPlan
{
    /** Highest supported power: the binomial tables and the dealer's work grow with it, and PILLAR uses up to 6. */
    public static final int MAX_DEGREE = 16;

    private final int[] shifts;
    private final int[] degrees;

    private ActivationPlan(final int[] shifts, final int[] degrees)
    {
        this.shifts = shifts;
        this.degrees = degrees;
    }

    /**
     * A plan with the given shifts (distinct, each in [0, 62]) and, for each, the highest power needed
     * (1 to {@value #MAX_DEGREE}).
     *
     * @throws IllegalArgumentException naming the bad entry.
     */
    public static ActivationPlan of(final int[] shifts, final int[] degrees)
    {
        if (shifts.length == 0 || shifts.length != degrees.length)
        {
            throw new IllegalArgumentException("shifts and degrees must have the same positive length, were " +
                shifts.length + " and " + degrees.length);
        }
        for (int j = 0; j < shifts.length; j++)
        {
            RingOps.checkShift(shifts[j]);
            if (degrees[j] < 1 || degrees[j] > MAX_DEGREE)
            {
                throw new IllegalArgumentException("degrees[" + j + "] must be in [1, " + MAX_DEGREE + "], was " +
                    degrees[j]);
            }
            for (int i = 0; i < j; i++)
            {
                if (shifts[i] == shifts[j])
                {
                    throw new IllegalArgumentException("shift " + shifts[j] + " appears twice in " +
                        Arrays.toString(shifts));
                }
            }
        }
        return new ActivationPlan(shifts.clone(), degrees.clone());
    }

    /** Number of distinct shifts (pre-scaled copies). */
    public int copies()
    {
        return shifts.length;
    }

    /** Shift of copy {@code j}. */
    public int shift(final int j)
    {
        return shifts[j];
    }

    /** Highest power of copy {@code j}. */
    public int degree(final int j)
    {
        return degrees[j];
    }

    /** Index of the copy with shift {@code sh}, or -1. */
    public int copyOfShift(final int sh)
    {
        for (int j = 0; j < shifts.length; j++)
        {
            if (shifts[j] == sh)
            {
                return j;
            }
        }
        return -1;
    }

    /** The highest power over all copies. */
    public int maxDegree()
    {
        return Arrays.stream(degrees).max().orElseThrow();
    }

    /** {@code sum_j k_j}: power tensors the protocol returns per element. */
    public int totalPowers()
    {
        return Arrays.stream(degrees).sum();
    }

    /**
     * Words of candidate differences of copy {@code j} per element: {@code ceil(k_j / 2)} when they are packed
     * ({@link CandidateDifferences}: shift 1 to 32, degree 2 or more), else {@code k_j}.
     */
    public int differenceWords(final int j)
    {
        return CandidateDifferences.words(shifts[j], degrees[j]);
    }

    /** {@code sum_j (k_j + w_j)}: the material tensors after r, i.e. the tensors the dealer sends the server. */
    public int materialTensors()
    {
        return materialTensors(shifts, degrees);
    }

    /**
     * {@code sum_j (k_j + w_j)} for copies with these shifts and highest powers: every copy's candidate powers and
     * its {@link CandidateDifferences} words (the one formula the dealer, the receiver and the cost model share).
     */
    public static int materialTensors(final int[] shifts, final int[] degrees)
    {
        int tensors = 0;
        for (int j = 0; j < shifts.length; j++)
        {
            tensors += degrees[j] + CandidateDifferences.words(shifts[j], degrees[j]);
        }
        return tensors;
    }

    /**
     * Dealer material per activation element: 1 (r) plus each copy's candidate powers and difference words,
     * {@code 1 + sum_j (k_j + w_j)} ring elements per party; of these the dealer sends {@code sum_j (k_j + w_j)} to
     * the server (the rest, and all of the client's half, comes from the PRG seeds).
     */
    public long materialElementsPerElement()
    {
        return 1L + materialTensors();
    }

    @Override
    public boolean equals(final Object o)
    {
        return o instanceof final ActivationPlan other && Arrays.equals(shifts, other.shifts) &&
            Arrays.equals(degrees, other.degrees);
    }

    @Override
    public int hashCode()
    {
        return 31 * Arrays.hashCode(shifts) + Arrays.hashCode(degrees);
    }

    @Override
    public String toString()
    {
        return "ActivationPlan[shifts=" + Arrays.toString(shifts) + ", degrees=" + Arrays.toString(degrees) + "]";
    }
}
