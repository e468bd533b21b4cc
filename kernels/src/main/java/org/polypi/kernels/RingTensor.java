package org.polypi.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A shaped, row-major view of 64-bit ring elements (Z_2^64) in an off-heap {@link MemorySegment}.
 * <p>
 * The tensor does not own memory: the {@link Arena} that allocated the segment decides its lifetime.
 * Shapes are checked here, at the API boundary; kernels below trust what they are handed.
 * Elements are stored in native byte order (little-endian on every platform we support), 8 bytes each.
 */
public final class RingTensor
{
    /** Alignment of segments allocated by {@link #allocate(Arena, int...)}: one cache line, one 512-bit vector. */
    public static final long ALIGNMENT_BYTES = 64;
    /** Bytes per ring element. */
    public static final int ELEMENT_BYTES = Long.BYTES;
    /** Element layout: native byte order, unaligned access allowed so that slices at any element offset work. */
    public static final ValueLayout.OfLong ELEMENT = ValueLayout.JAVA_LONG_UNALIGNED;

    private final MemorySegment segment;
    private final int[] shape;
    private final long size;

    private RingTensor(final MemorySegment segment, final int[] shape, final long size)
    {
        this.segment = segment;
        this.shape = shape;
        this.size = size;
    }

    /**
     * Allocates a zero-filled tensor of the given shape in {@code arena}, 64-byte aligned.
     *
     * @throws IllegalArgumentException if a dimension is not positive or the element count overflows.
     */
    public static RingTensor allocate(final Arena arena, final int... shape)
    {
        final int[] checked = checkShape("shape", shape);
        final long size = elementCount(checked);
        final MemorySegment segment = arena.allocate(size * ELEMENT_BYTES, ALIGNMENT_BYTES);
        return new RingTensor(segment, checked, size);
    }

    /**
     * Wraps an existing segment. The segment may be larger than the shape needs; the view covers its first
     * {@code product(shape)} elements.
     *
     * @throws IllegalArgumentException if the segment is too small or a dimension is not positive.
     * @throws IllegalStateException if the segment's arena is closed.
     */
    public static RingTensor wrap(final MemorySegment segment, final int... shape)
    {
        final int[] checked = checkShape("shape", shape);
        final long size = elementCount(checked);
        checkAlive("segment", segment);
        if (segment.byteSize() < size * ELEMENT_BYTES)
        {
            throw new IllegalArgumentException("segment too small for shape " + Arrays.toString(checked) + ": needs " +
                size * ELEMENT_BYTES + " bytes, has " + segment.byteSize());
        }
        return new RingTensor(segment.asSlice(0, size * ELEMENT_BYTES), checked, size);
    }

    /** Allocates a tensor in {@code arena} and copies {@code values} into it. */
    public static RingTensor of(final Arena arena, final long[] values, final int... shape)
    {
        final RingTensor t = allocate(arena, shape);
        if (values.length != t.size)
        {
            throw new IllegalArgumentException("values has " + values.length + " elements, shape " +
                Arrays.toString(shape) + " needs " + t.size);
        }
        MemorySegment.copy(values, 0, t.segment, ELEMENT, 0, values.length);
        return t;
    }

    /** The segment holding exactly {@link #size()} elements. */
    public MemorySegment segment()
    {
        return segment;
    }

    /** A copy of the shape. */
    public int[] shape()
    {
        return shape.clone();
    }

    /** Number of dimensions. */
    public int rank()
    {
        return shape.length;
    }

    /** Extent of dimension {@code axis}. */
    public int dim(final int axis)
    {
        return shape[axis];
    }

    /** Number of elements. */
    public long size()
    {
        return size;
    }

    /** Number of bytes: {@code size() * 8}. */
    public long byteSize()
    {
        return size * ELEMENT_BYTES;
    }

    /** Element at flat (row-major) index {@code index}. */
    public long get(final long index)
    {
        return segment.getAtIndex(ELEMENT, index);
    }

    /** Sets the element at flat (row-major) index {@code index}. */
    public void set(final long index, final long value)
    {
        segment.setAtIndex(ELEMENT, index, value);
    }

    /** Fills every element with {@code value}. */
    public void fill(final long value)
    {
        for (long i = 0; i < size; i++)
        {
            segment.setAtIndex(ELEMENT, i, value);
        }
    }

    /** Copies the elements to a new heap array (tests, small outputs). */
    public long[] toArray()
    {
        if (size > Integer.MAX_VALUE - 8)
        {
            throw new IllegalStateException("tensor of " + size + " elements does not fit a Java array");
        }
        return segment.toArray(ELEMENT);
    }

    /** Copies all elements of {@code source}, which must have the same element count. */
    public void copyFrom(final RingTensor source)
    {
        requireSameSize("source", source, "this", this);
        MemorySegment.copy(source.segment, 0, segment, 0, byteSize());
    }

    /** The same memory seen with another shape of equal element count. */
    public RingTensor reshape(final int... newShape)
    {
        final int[] checked = checkShape("newShape", newShape);
        final long n = elementCount(checked);
        if (n != size)
        {
            throw new IllegalArgumentException("cannot reshape " + Arrays.toString(shape) + " (" + size +
                " elements) to " + Arrays.toString(checked) + " (" + n + " elements)");
        }
        return new RingTensor(segment, checked, size);
    }

    /** Rows {@code [from, from + count)} of the leading dimension, as a view sharing memory. */
    public RingTensor slice(final int from, final int count)
    {
        if (from < 0 || count <= 0 || from + (long)count > shape[0])
        {
            throw new IllegalArgumentException("slice [" + from + ", " + (from + (long)count) + ") out of leading dimension " +
                shape[0] + " of " + Arrays.toString(shape));
        }
        final long rowElements = size / shape[0];
        final int[] s = shape.clone();
        s[0] = count;
        return new RingTensor(segment.asSlice(from * rowElements * ELEMENT_BYTES, count * rowElements * ELEMENT_BYTES),
            s, count * rowElements);
    }

    /** Throws unless both tensors have the same shape, naming both operands. */
    public static void requireSameShape(final String nameA, final RingTensor a, final String nameB, final RingTensor b)
    {
        if (!Arrays.equals(a.shape, b.shape))
        {
            throw new IllegalArgumentException("shape mismatch: " + nameA + " " + Arrays.toString(a.shape) + " vs " +
                nameB + " " + Arrays.toString(b.shape));
        }
        checkAlive(nameA, a.segment);
        checkAlive(nameB, b.segment);
    }

    /** Throws unless both tensors have the same element count, naming both operands. */
    public static void requireSameSize(final String nameA, final RingTensor a, final String nameB, final RingTensor b)
    {
        if (a.size != b.size)
        {
            throw new IllegalArgumentException("size mismatch: " + nameA + " " + Arrays.toString(a.shape) + " (" + a.size +
                " elements) vs " + nameB + " " + Arrays.toString(b.shape) + " (" + b.size + " elements)");
        }
        checkAlive(nameA, a.segment);
        checkAlive(nameB, b.segment);
    }

    /** Throws {@link IllegalStateException} naming the operand if its segment's arena is closed. */
    public static void checkAlive(final String name, final MemorySegment segment)
    {
        if (!segment.scope().isAlive())
        {
            throw new IllegalStateException(name + ": the arena holding this segment is closed");
        }
    }

    /** Throws unless {@code segment} holds at least {@code elements} longs, naming the operand and both sizes. */
    public static void checkCapacity(final String name, final MemorySegment segment, final long elements)
    {
        checkAlive(name, segment);
        if (elements < 0 || segment.byteSize() < elements * ELEMENT_BYTES)
        {
            throw new IllegalArgumentException(name + " too small: needs " + elements + " elements (" +
                elements * ELEMENT_BYTES + " bytes), has " + segment.byteSize() + " bytes");
        }
    }

    /** Throws unless {@code value > 0}, naming the dimension. */
    public static int checkPositive(final String name, final int value)
    {
        if (value <= 0)
        {
            throw new IllegalArgumentException(name + " must be positive, was " + value);
        }
        return value;
    }

    private static int[] checkShape(final String name, final int[] shape)
    {
        if (shape == null || shape.length == 0)
        {
            throw new IllegalArgumentException(name + " must have at least one dimension");
        }
        for (int i = 0; i < shape.length; i++)
        {
            if (shape[i] <= 0)
            {
                throw new IllegalArgumentException(name + " " + Arrays.toString(shape) + ": dimension " + i +
                    " must be positive, was " + shape[i]);
            }
        }
        return shape.clone();
    }

    private static long elementCount(final int[] shape)
    {
        long n = 1;
        for (final int d : shape)
        {
            n = Math.multiplyExact(n, d);
        }
        if (n > Long.MAX_VALUE / ELEMENT_BYTES)
        {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has too many elements: " + n);
        }
        return n;
    }

    @Override
    public String toString()
    {
        return "RingTensor" + Arrays.toString(shape);
    }
}
