package org.polypi.engine.protocol;

import java.util.Arrays;

/**
 * Where a masked ReLU (SENet's partial-ReLU layer) compares: ReLU at the kept positions, identity elsewhere, over one
 * input item of {@link #size()} elements (row-major, e.g. C x H x W); a batch repeats it per item.
 * <p>
 * The mask is part of the model's architecture: both computing parties (and the dealer, which sizes the material)
 * must know it, so the client learns which positions keep a ReLU and how many per layer. It learns nothing about the
 * weights from it, nor anything about the values at those positions (the comparisons open only masked values).
 */
public final class ReluMask
{
    private final int size;
    private final int[] kept;

    private ReluMask(final int size, final int[] kept)
    {
        this.size = size;
        this.kept = kept;
    }

    /**
     * The mask with ReLU where {@code relu[i]} is true.
     *
     * @throws IllegalArgumentException if the array is empty.
     */
    public static ReluMask of(final boolean[] relu)
    {
        if (relu.length == 0)
        {
            throw new IllegalArgumentException("a ReLU mask needs at least one position, got an empty array");
        }
        int count = 0;
        for (final boolean b : relu)
        {
            count += b ? 1 : 0;
        }
        final int[] kept = new int[count];
        int k = 0;
        for (int i = 0; i < relu.length; i++)
        {
            if (relu[i])
            {
                kept[k++] = i;
            }
        }
        return new ReluMask(relu.length, kept);
    }

    /** Elements of one item. */
    public int size()
    {
        return size;
    }

    /** Positions of one item that go through ReLU. */
    public int keptCount()
    {
        return kept.length;
    }

    /** True if position {@code i} of an item goes through ReLU. */
    public boolean isKept(final int i)
    {
        return Arrays.binarySearch(kept, i) >= 0;
    }

    /** Comparisons for {@code items} stacked items: the size of the ReLU material {@link Relu#masked} consumes. */
    public int keptFor(final int items)
    {
        if (items <= 0)
        {
            throw new IllegalArgumentException("items must be positive, was " + items);
        }
        return Math.multiplyExact(items, kept.length);
    }

    /** Position of the i-th kept element of one item. */
    int keptPosition(final int i)
    {
        return kept[i];
    }

    @Override
    public String toString()
    {
        return "ReluMask[" + kept.length + " of " + size + "]";
    }
}
