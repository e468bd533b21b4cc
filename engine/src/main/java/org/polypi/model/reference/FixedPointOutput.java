package org.polypi.model.reference;

import org.polypi.kernels.FixedPoint;

/**
 * Logits of a batch from {@link FixedPointInference}: the raw ring values ({@code batch × classes}, row-major, at
 * scale 2^f) and their decoded reals. The record owns its array; callers must not modify it.
 *
 * @param batch number of items.
 * @param classes logits per item (elements of the graph output).
 * @param fractionalBits f: a ring value v stands for the real {@code v / 2^f} (v read as a signed long).
 * @param ringLogits {@code batch * classes} ring elements.
 */
public record FixedPointOutput(int batch, int classes, int fractionalBits, long[] ringLogits)
{
    /** Checks that the array matches batch × classes. */
    public FixedPointOutput
    {
        if (batch <= 0 || classes <= 0 || ringLogits == null || ringLogits.length != (long)batch * classes)
        {
            throw new IllegalArgumentException("ringLogits must hold batch x classes = " + batch + " x " + classes +
                " values, has " + (ringLogits == null ? "null" : ringLogits.length));
        }
    }

    /** Ring value of class {@code c}'s logit for item {@code item}. */
    public long ringLogit(final int item, final int c)
    {
        return ringLogits[item * classes + c];
    }

    /** The decoded logits, {@code new FixedPoint(f).decode(v)} of each ring value. */
    public double[] logits()
    {
        final FixedPoint codec = new FixedPoint(fractionalBits);
        final double[] decoded = new double[ringLogits.length];
        for (int i = 0; i < decoded.length; i++)
        {
            decoded[i] = codec.decode(ringLogits[i]);
        }
        return decoded;
    }

    /**
     * Index of the largest logit of each item, comparing the ring values as signed longs (the order of the decoded
     * reals); the lowest index wins a tie.
     */
    public int[] top1()
    {
        final int[] top = new int[batch];
        for (int b = 0; b < batch; b++)
        {
            int best = 0;
            for (int c = 1; c < classes; c++)
            {
                if (ringLogits[b * classes + c] > ringLogits[b * classes + best])
                {
                    best = c;
                }
            }
            top[b] = best;
        }
        return top;
    }
}
