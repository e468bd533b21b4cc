package org.polypi.trainer;

import java.util.List;

/**
 * One trainable operation of a {@link Network} over batch-first NCHW float32 arrays ({@code batch} items of the
 * layer's per-item shape, concatenated).
 * <p>
 * Contract: {@link #forward} never modifies its inputs and may return an array it reuses on its next call (the
 * network consumes it before then); it remembers what {@link #backward} needs, so backward refers to the latest
 * forward in training mode. {@link #backward} adds the parameter gradients into {@link Param#grad()} (the caller
 * zeroes them before a step) and returns one input gradient per input; these may alias the output gradient or
 * arrays the layer reuses, so the caller must not modify them.
 */
public interface TrainLayer
{
    /** A short description for messages, e.g. {@code Conv2d 1->20 5x5/1 pad 0}. */
    String describe();

    /** Number of inputs: 2 for {@link AddLayer}, 1 otherwise. */
    default int arity()
    {
        return 1;
    }

    /** Elements of one item of the output. */
    int outputSize();

    /**
     * Forward pass on {@code batch} items; {@code training} selects batch statistics, clipping and penalties.
     *
     * @param inputs {@link #arity()} arrays of {@code batch × input size} floats.
     */
    float[] forward(float[][] inputs, int batch, boolean training);

    /** Backward pass of the latest training forward: gradients of the loss w.r.t. each input. */
    float[][] backwardAll(float[] gradOutput, int batch);

    /**
     * Whether {@link #backwardAll} must compute the input gradients; when told no (the layer reads the network
     * input), a layer may skip that work and return nulls.
     */
    default void inputGradientNeeded(final boolean needed)
    {
    }

    /** Trainable parameters and buffers, in a fixed order. */
    default List<Param> params()
    {
        return List.of();
    }

    /** A layer with one input; bridges the array-of-inputs methods. */
    interface Unary extends TrainLayer
    {
        /** Forward pass on one input. */
        float[] forward(float[] input, int batch, boolean training);

        /** Backward pass: the input gradient. */
        float[] backward(float[] gradOutput, int batch);

        @Override
        default float[] forward(final float[][] inputs, final int batch, final boolean training)
        {
            return forward(inputs[0], batch, training);
        }

        @Override
        default float[][] backwardAll(final float[] gradOutput, final int batch)
        {
            return new float[][] {backward(gradOutput, batch)};
        }
    }

    /** {@code buffer} if it has exactly {@code length} elements, else a new zeroed array. */
    static float[] reuse(final float[] buffer, final int length)
    {
        return buffer != null && buffer.length == length ? buffer : new float[length];
    }
}
