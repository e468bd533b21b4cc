package org.polypi.trainer;

/**
 * Knowledge distillation (Hinton et al.): the student's softened class distribution is pulled towards a trained
 * teacher's. SENet's mask search and fine-tuning use it, and so can any run of the {@link Trainer} given a teacher
 * (a polynomial student learning from the ReLU network it replaces).
 */
final class Distillation
{
    /** Temperature T of the softened distributions (SENet's, and Hinton's usual value). */
    static final double TEMPERATURE = 4;

    private Distillation()
    {
    }

    /**
     * {@code weight · T² · KL(softmax(t/T) || softmax(s/T))}, mean over the batch; adds its gradient w.r.t. the
     * student logits to {@code grad} and returns the loss.
     */
    static double loss(final float[] student, final float[] teacher, final int batch, final int classes,
                               final double weight, final float[] grad)
    {
        double loss = 0;
        final double[] ps = new double[classes];
        final double[] pt = new double[classes];
        for (int i = 0; i < batch; i++)
        {
            final int row = i * classes;
            softmax(student, row, classes, ps);
            softmax(teacher, row, classes, pt);
            for (int c = 0; c < classes; c++)
            {
                if (pt[c] > 0)
                {
                    loss += pt[c] * (Math.log(pt[c]) - Math.log(Math.max(ps[c], Double.MIN_NORMAL)));
                }
                // d/ds of T^2 KL(pt || softmax(s/T)) = T (ps - pt)
                grad[row + c] += (float)(weight * TEMPERATURE * (ps[c] - pt[c]) / batch);
            }
        }
        return weight * TEMPERATURE * TEMPERATURE * loss / batch;
    }

    private static void softmax(final float[] logits, final int row, final int classes, final double[] p)
    {
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < classes; c++)
        {
            max = Math.max(max, logits[row + c] / TEMPERATURE);
        }
        double sum = 0;
        for (int c = 0; c < classes; c++)
        {
            p[c] = Math.exp(logits[row + c] / TEMPERATURE - max);
            sum += p[c];
        }
        for (int c = 0; c < classes; c++)
        {
            p[c] /= sum;
        }
    }
}
