package org.polypi.engine.secure;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.junit.jupiter.api.Test;
import org.polypi.kernels.RingTensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The query arena: online allocations from the pre-zeroed slab, zero-filled, disjoint, aligned; all die on close. */
final class QueryArenaTest
{
    private static final long SLAB_BYTES = 4096;
    private static final long ALIGN = RingTensor.ALIGNMENT_BYTES;

    @Test
    void onlineAllocationsComeFromTheSlabZeroFilledDisjointAndAligned()
    {
        final MemorySegment first;
        final MemorySegment second;
        try (QueryArena arena = new QueryArena(SLAB_BYTES))
        {
            arena.beginOnline();
            first = arena.allocate(3 * Long.BYTES, ALIGN);
            second = arena.allocate(5 * Long.BYTES, ALIGN);
            assertEquals(0, first.address() % ALIGN);
            assertEquals(0, second.address() % ALIGN);
            assertTrue(second.address() >= first.address() + first.byteSize(), "slices overlap");
            assertTrue(second.address() - first.address() < SLAB_BYTES, "second slice not from the slab");
            for (final MemorySegment s : new MemorySegment[]{first, second})
            {
                for (long i = 0; i < s.byteSize(); i += Long.BYTES)
                {
                    assertEquals(0L, s.get(ValueLayout.JAVA_LONG_UNALIGNED, i));
                }
            }
            first.fill((byte)1);
            assertEquals(0L, second.get(ValueLayout.JAVA_LONG_UNALIGNED, 0), "a write leaked into another slice");
            assertTrue(arena.demand() >= first.byteSize() + second.byteSize());
        }
        assertFalse(first.scope().isAlive());
        assertThrows(IllegalStateException.class, () -> second.get(ValueLayout.JAVA_LONG_UNALIGNED, 0));
    }

    @Test
    void allocationsPastTheSlabOrBeforeOnlineFallBackAndAreNotCountedOffline()
    {
        try (QueryArena arena = new QueryArena(SLAB_BYTES))
        {
            final MemorySegment offline = arena.allocate(SLAB_BYTES, ALIGN);
            assertEquals(0, arena.demand(), "offline allocations must not size the online slab");
            arena.beginOnline();
            final MemorySegment big = arena.allocate(2 * SLAB_BYTES, ALIGN);
            assertEquals(2 * SLAB_BYTES, big.byteSize());
            assertEquals(0L, big.get(ValueLayout.JAVA_LONG_UNALIGNED, SLAB_BYTES));
            assertTrue(offline.scope().isAlive() && big.scope().isAlive());
            assertTrue(arena.demand() >= 2 * SLAB_BYTES);
        }
    }

    @Test
    void badSizesAreRefusedWithTheValues()
    {
        try (QueryArena arena = new QueryArena(0))
        {
            arena.beginOnline();
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> arena.allocate(8, 3));
            assertTrue(e.getMessage().contains("3"), e.getMessage());
        }
    }
}
