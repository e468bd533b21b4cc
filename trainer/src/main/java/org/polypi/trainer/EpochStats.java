package org.polypi.trainer;

/**
 * One epoch's summary.
 *
 * @param epoch 0-based epoch.
 * @param loss mean cross-entropy over the epoch's batches (unweighted, also in a range-only epoch).
 * @param penalty mean range penalty per batch (0 without polynomial sites).
 * @param trainAccuracy fraction of training images classified correctly during the epoch (augmented, training mode).
 * @param testAccuracy fraction of test images classified correctly after the epoch (evaluation mode).
 * @param seconds wall-clock time of the epoch's training steps.
 * @param imagesPerSecond training throughput.
 */
public record EpochStats(int epoch, double loss, double penalty, double trainAccuracy, double testAccuracy,
                         double seconds, double imagesPerSecond)
{
}
