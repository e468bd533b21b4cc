package org.polypi.trainer;

/** An activation site of a {@link Network}: it can record range statistics of its inputs in evaluation passes. */
interface ActivationLayer extends TrainLayer.Unary
{
    /** Records the inputs of later evaluation (non-training) forward passes into {@code stats}; null stops. */
    void recordInto(ActivationStats stats);
}
