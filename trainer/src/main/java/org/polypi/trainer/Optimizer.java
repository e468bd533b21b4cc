package org.polypi.trainer;

import java.util.List;

/**
 * Updates trainable parameters from their gradients. Weight decay applies only to parameters with
 * {@link Param#decay()} (convolution and linear weights; not biases, BatchNorm or HerPN parameters).
 */
public sealed interface Optimizer permits Sgd, Adam
{
    /** One update with learning rate {@code lr}; gradients are read, not cleared. */
    void step(double lr);

    /** Updates done so far. */
    long steps();

    /** The optimizer's state arrays, in a fixed order, live (checkpoints read and restore them in place). */
    List<float[]> state();

    /** Restores the update count from a checkpoint (the arrays of {@link #state()} are filled by the caller). */
    void restoreSteps(long steps);

    /** A short description, e.g. {@code sgd nesterov momentum 0.9 wd 5e-4}. */
    String describe();
}
