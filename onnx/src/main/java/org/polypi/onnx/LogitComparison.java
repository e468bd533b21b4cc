package org.polypi.onnx;

/**
 * How closely two runs of a model agree: per item, the largest logit difference relative to the item's largest
 * expected |logit|. Relative to the item rather than to each logit, because a logit near zero has no meaningful
 * relative error, while the ranking of the classes only depends on differences at the scale of the largest ones.
 */
final class LogitComparison
{
    private LogitComparison()
    {
    }

    /**
     * The worst item's {@code max_j |actual - expected| / max_j |expected|} (absolute if all expected logits of
     * the item are 0); NaN if anything is NaN.
     */
    static double worstRelativeDifference(final float[] actual, final float[] expected, final int batch,
                                          final int classes)
    {
        double worst = 0;
        for (int b = 0; b < batch; b++)
        {
            double scale = 0;
            double diff = 0;
            for (int c = 0; c < classes; c++)
            {
                final int i = b * classes + c;
                scale = Math.max(scale, Math.abs((double)expected[i]));
                final double d = Math.abs((double)actual[i] - expected[i]);
                if (Double.isNaN(d))
                {
                    return Double.NaN;
                }
                diff = Math.max(diff, d);
            }
            worst = Math.max(worst, scale == 0 ? diff : diff / scale);
        }
        return worst;
    }
}
