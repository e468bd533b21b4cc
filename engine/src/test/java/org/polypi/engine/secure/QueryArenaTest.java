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
    void largeAllocationsStartAtStaggeredOffsetsModuloFourKibSmallOnesAreNotPadded()
    {
        final long large = QueryArena.STAGGER_MIN_BYTES;
        // Fewer than the stride's period (4096 / gcd(1600, 4096) = 64 starts), so every start differs.
        final int count = 6;
        for (final boolean online : new boolean[]{false, true})
        {
            try (QueryArena arena = new QueryArena(online ? (count + 1) * (large + QueryArena.STAGGER_SPAN_BYTES) : 0))
            {
                if (online)
                {
                    arena.beginOnline();
                }
                final java.util.Set<Long> colours = new java.util.HashSet<>();
                MemorySegment previous = null;
                for (int i = 0; i < count; i++)
                {
                    final MemorySegment s = arena.allocate(large, ALIGN);
                    assertEquals(large, s.byteSize());
                    assertEquals(0, s.address() % ALIGN);
                    assertEquals(0L, s.get(ValueLayout.JAVA_LONG_UNALIGNED, large - Long.BYTES));
                    s.fill((byte)7);
                    if (previous != null)
                    {
                        assertEquals((byte)7, previous.get(ValueLayout.JAVA_BYTE, large - 1), "slices overlap");
                        assertTrue((s.address() - previous.address()) % QueryArena.STAGGER_SPAN_BYTES != 0,
                            "consecutive large allocations at the same offset modulo 4 KiB");
                    }
                    colours.add(s.address() % QueryArena.STAGGER_SPAN_BYTES);
                    previous = s;
                }
                assertEquals(count, colours.size(), (online ? "online" : "offline") + " starts modulo 4 KiB " +
                    colours);
                final MemorySegment small = arena.allocate(Long.BYTES, ALIGN);
                final MemorySegment next = arena.allocate(Long.BYTES, ALIGN);
                if (online)
                {
                    assertTrue(next.address() - small.address() < QueryArena.STAGGER_SPAN_BYTES,
                        "a small allocation was padded");
                }
            }
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
