package org.polypi.model.reference;

/**
 * Logits of a batch from {@link FloatInference}: {@code batch × classes}, row-major. The record owns its array;
 * callers must not modify it.
 *
 * @param batch number of items.
 * @param classes logits per item (elements of the graph output).
 * @param logits {@code batch * classes} values.
 */
public record FloatOutput(int batch, int classes, float[] logits)
{
    /** Checks that the array matches batch × classes. */
    public FloatOutput
    {
        if (batch <= 0 || classes <= 0 || logits == null || logits.length != (long)batch * classes)
        {
            throw new IllegalArgumentException("logits must hold batch x classes = " + batch + " x " + classes +
                " values, has " + (logits == null ? "null" : logits.length));
        }
    }

    /** Logit of class {@code c} for item {@code item}. */
    public float logit(final int item, final int c)
    {
        return logits[item * classes + c];
    }

    /** Index of the largest logit of each item; the lowest index wins a tie. */
    public int[] top1()
    {
        final int[] top = new int[batch];
        for (int b = 0; b < batch; b++)
        {
            int best = 0;
            for (int c = 1; c < classes; c++)
            {
                if (logits[b * classes + c] > logits[b * classes + best])
                {
                    best = c;
                }
            }
            top[b] = best;
        }
        return top;
    }
}
