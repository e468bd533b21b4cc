package org.polypi.trainer;

/**
 * Softmax cross-entropy averaged over the batch, with the gradient w.r.t. the logits
 * {@code (softmax - onehot) · weight / batch}. Computed in double with the max subtracted, so large logits do not
 * overflow.
 */
final class SoftmaxCrossEntropy
{
    private SoftmaxCrossEntropy()
    {
    }

    /** Loss, correct predictions and the logit gradient of one batch. */
    record Result(double loss, int correct, float[] gradient)
    {
    }

    /**
     * Mean loss over {@code batch} items of {@code classes} logits; the gradient is scaled by {@code weight} (0 gives
     * a zero gradient, for PILLAR's range-only first epoch).
     *
     * @throws IllegalArgumentException if a label is outside {@code [0, classes)}.
     */
    static Result evaluate(final float[] logits, final int[] labels, final int batch, final int classes,
                           final double weight)
    {
        final float[] gradient = new float[batch * classes];
        double loss = 0;
        int correct = 0;
        final double[] p = new double[classes];
        for (int i = 0; i < batch; i++)
        {
            final int label = labels[i];
            if (label < 0 || label >= classes)
            {
                throw new IllegalArgumentException("label " + label + " of item " + i + " is outside [0, " + classes +
                    ")");
            }
            final int row = i * classes;
            double max = Double.NEGATIVE_INFINITY;
            int arg = 0;
            for (int c = 0; c < classes; c++)
            {
                if (logits[row + c] > max)
                {
                    max = logits[row + c];
                    arg = c;
                }
            }
            correct += arg == label ? 1 : 0;
            double sum = 0;
            for (int c = 0; c < classes; c++)
            {
                p[c] = Math.exp(logits[row + c] - max);
                sum += p[c];
            }
            loss += Math.log(sum) - (logits[row + label] - max);
            final double scale = weight / batch;
            for (int c = 0; c < classes; c++)
            {
                gradient[row + c] = (float)((p[c] / sum - (c == label ? 1 : 0)) * scale);
            }
        }
        return new Result(loss / batch, correct, gradient);
    }

    /** Index of the largest logit of each item (the first on ties). */
    static int[] top1(final float[] logits, final int batch, final int classes)
    {
        final int[] top = new int[batch];
        for (int i = 0; i < batch; i++)
        {
            int arg = 0;
            for (int c = 1; c < classes; c++)
            {
                if (logits[i * classes + c] > logits[i * classes + arg])
                {
                    arg = c;
                }
            }
            top[i] = arg;
        }
        return top;
    }
}
