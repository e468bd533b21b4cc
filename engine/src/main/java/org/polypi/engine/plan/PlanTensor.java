package org.polypi.engine.plan;

import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor of a compiled {@link Plan}: its per-item shape, its scale (the number of fractional bits of its ring
 * values: ring value v stands for the real {@code v / 2^scale}) and the bound on its real values that the scale
 * budget was checked against. Public: every party knows it.
 */
public final class PlanTensor
{
    private final int id;
    private final String name;
    private final int[] shape;
    private final int scale;
    private final double bound;

    PlanTensor(final int id, final String name, final int[] shape, final int scale, final double bound)
    {
        this.id = id;
        this.name = Objects.requireNonNull(name, "name");
        this.shape = shape.clone();
        this.scale = scale;
        this.bound = bound;
    }

    /** Index in {@link Plan#tensors()}. */
    public int id()
    {
        return id;
    }

    /** Name: the graph node (or input) that produced it, or the step that derived it. */
    public String name()
    {
        return name;
    }

    /** Per-item shape ({@code [C,H,W]} or {@code [F]}). */
    public int[] shape()
    {
        return shape.clone();
    }

    /** Elements of one item. */
    public int size()
    {
        int n = 1;
        for (final int d : shape)
        {
            n *= d;
        }
        return n;
    }

    /** The shape of a batch of {@code batch} items: {@code [batch, ...shape]}. */
    public int[] batchShape(final int batch)
    {
        final int[] s = new int[shape.length + 1];
        s[0] = batch;
        System.arraycopy(shape, 0, s, 1, shape.length);
        return s;
    }

    /** Fractional bits of its ring values. */
    public int scale()
    {
        return scale;
    }

    /** Bound on the absolute real value the budget assumes (see {@link PlanCompiler}). */
    public double bound()
    {
        return bound;
    }

    String describe()
    {
        return "tensor " + id + " " + name + " " + Arrays.toString(shape) + " scale " + scale + " bound " +
            Double.toHexString(bound);
    }

    @Override
    public String toString()
    {
        return name + Arrays.toString(shape) + "@2^-" + scale;
    }
}
