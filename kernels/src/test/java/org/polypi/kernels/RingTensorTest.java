package org.polypi.kernels;

import java.lang.foreign.Arena;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

final class RingTensorTest
{
    @Test
    void allocatesAlignedZeroedTensorsOfTheRightSize()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final RingTensor t = RingTensor.allocate(arena, 3, 5, 7);
            assertEquals(105, t.size());
            assertEquals(105 * 8, t.segment().byteSize());
            assertEquals(0, t.segment().address() % RingTensor.ALIGNMENT_BYTES);
            assertArrayEquals(new long[105], t.toArray());
            assertArrayEquals(new int[]{3, 5, 7}, t.shape());
        }
    }

    @Test
    void shapeIsDefensivelyCopied()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final int[] shape = {2, 3};
            final RingTensor t = RingTensor.allocate(arena, shape);
            shape[0] = 99;
            t.shape()[1] = 99;
            assertArrayEquals(new int[]{2, 3}, t.shape());
        }
    }

    @Test
    void reshapeAndSliceShareMemory()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final long[] values = {1, 2, 3, 4, 5, 6};
            final RingTensor t = RingTensor.of(arena, values, 3, 2);
            final RingTensor r = t.reshape(2, 3);
            r.set(5, -7);
            assertEquals(-7, t.get(5));
            final RingTensor s = t.slice(1, 2);
            assertArrayEquals(new long[]{3, 4, 5, -7}, s.toArray());
            assertArrayEquals(new int[]{2, 2}, s.shape());
        }
    }

    @Test
    void rejectsNonPositiveDimensionsNamingTheDimension()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RingTensor.allocate(arena, 4, 0, 2));
            assertTrue(e.getMessage().contains("dimension 1") && e.getMessage().contains("was 0"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> RingTensor.allocate(arena));
            assertThrows(IllegalArgumentException.class, () -> RingTensor.allocate(arena, -3));
        }
    }

    @Test
    void rejectsOverflowingShapes()
    {
        try (Arena arena = Arena.ofConfined())
        {
            assertThrows(ArithmeticException.class,
                () -> RingTensor.allocate(arena, Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE));
        }
    }

    @Test
    void wrapRejectsTooSmallSegmentNamingBothSizes()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RingTensor.wrap(arena.allocate(40), 2, 3));
            assertTrue(e.getMessage().contains("48") && e.getMessage().contains("40"), e.getMessage());
        }
    }

    @Test
    void wrapRejectsClosedArena()
    {
        final Arena arena = Arena.ofConfined();
        final var segment = arena.allocate(64);
        arena.close();
        final IllegalStateException e = assertThrows(IllegalStateException.class, () -> RingTensor.wrap(segment, 8));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }

    @Test
    void reshapeAndSliceCheckTheirArguments()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final RingTensor t = RingTensor.allocate(arena, 4, 3);
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.reshape(5, 3));
            assertTrue(e.getMessage().contains("12") && e.getMessage().contains("15"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> t.slice(3, 2));
            assertThrows(IllegalArgumentException.class, () -> t.slice(-1, 1));
            assertThrows(IllegalArgumentException.class, () -> RingTensor.of(arena, new long[5], 2, 3));
        }
    }

    @Test
    void sameShapeCheckNamesBothOperands()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final RingTensor a = RingTensor.allocate(arena, 2, 3);
            final RingTensor b = RingTensor.allocate(arena, 3, 2);
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RingTensor.requireSameShape("x", a, "y", b));
            assertTrue(e.getMessage().contains("x [2, 3]") && e.getMessage().contains("y [3, 2]"), e.getMessage());
        }
    }
}
