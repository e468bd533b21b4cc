package org.polypi.trainer;

import java.util.Arrays;
import java.util.Objects;

import org.polypi.model.Shape;
import org.polypi.model.Tensor;

/**
 * A named float32 array of a layer: a trainable parameter (with a gradient of the same length) or a buffer such as
 * BatchNorm running statistics (no gradient). The arrays are owned and mutated in place by the layer, the optimizer
 * and checkpoint loading; nothing else keeps references to them.
 */
public final class Param
{
    private final String name;
    private final Shape shape;
    private final float[] value;
    private final float[] grad;
    private final boolean decay;

    private Param(final String name, final Shape shape, final float[] value, final boolean trainable,
                  final boolean decay)
    {
        this.name = Objects.requireNonNull(name, "name");
        this.shape = Objects.requireNonNull(shape, "shape");
        if (value.length != shape.size())
        {
            throw new IllegalArgumentException("parameter " + name + " has " + value.length + " values for shape " +
                shape);
        }
        this.value = value;
        this.grad = trainable ? new float[value.length] : null;
        this.decay = decay;
    }

    /** A trainable parameter initialised from {@code init} (copied); {@code decay}: subject to weight decay. */
    static Param trainable(final String name, final Tensor init, final boolean decay)
    {
        return new Param(name, init.shape(), init.toArray(), true, decay);
    }

    /** A trainable parameter with every value {@code fill}. */
    static Param trainable(final String name, final Shape shape, final float fill, final boolean decay)
    {
        final float[] v = new float[shape.size()];
        Arrays.fill(v, fill);
        return new Param(name, shape, v, true, decay);
    }

    /** A non-trainable buffer with every value {@code fill}. */
    static Param buffer(final String name, final Shape shape, final float fill)
    {
        final float[] v = new float[shape.size()];
        Arrays.fill(v, fill);
        return new Param(name, shape, v, false, false);
    }

    /** Unique name within the network, e.g. {@code conv1.weight}, {@code bn1.running_var}. */
    public String name()
    {
        return name;
    }

    /** Shape of {@link #value()}. */
    public Shape shape()
    {
        return shape;
    }

    /** The live values (mutable). */
    public float[] value()
    {
        return value;
    }

    /** The live gradient (mutable), or null for a buffer. */
    public float[] grad()
    {
        return grad;
    }

    /** True for a trainable parameter. */
    public boolean trainable()
    {
        return grad != null;
    }

    /** True if weight decay applies (weights of convolutions and linear layers, not biases or norms). */
    public boolean decay()
    {
        return decay;
    }

    /** Number of elements. */
    public int size()
    {
        return value.length;
    }

    /** An immutable copy of the values as a model tensor. */
    public Tensor toTensor()
    {
        return Tensor.of(shape, value);
    }

    /** Clears the gradient (no-op for a buffer). */
    void zeroGrad()
    {
        if (grad != null)
        {
            Arrays.fill(grad, 0f);
        }
    }

    @Override
    public String toString()
    {
        return "Param[" + name + " " + shape + (trainable() ? "" : " buffer") + "]";
    }
}
