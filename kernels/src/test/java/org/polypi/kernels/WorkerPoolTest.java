package org.polypi.kernels;

import java.lang.foreign.Arena;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The shared worker pool: every part exactly once, failures surface in the caller, nesting cannot deadlock. */
class WorkerPoolTest
{
    private static final WorkerPool POOL = WorkerPool.shared();

    @Test
    void sharedPoolIsOneInstanceWithAtLeastTheCaller()
    {
        assertSame(POOL, WorkerPool.shared());
        assertTrue(POOL.threads() >= 1);
    }

    @Test
    void everyPartRunsExactlyOnce()
    {
        for (final int parts : new int[] {1, 2, 3, 7, 64})
        {
            final AtomicIntegerArray runs = new AtomicIntegerArray(parts);
            POOL.run(parts, runs::incrementAndGet);
            for (int part = 0; part < parts; part++)
            {
                assertEquals(1, runs.get(part), "part " + part + " of " + parts);
            }
        }
    }

    @Test
    void callerTakesAShareAndWorkersHelp() throws Exception
    {
        final Set<Thread> seen = ConcurrentHashMap.newKeySet();
        final Thread caller = Thread.currentThread();
        // Each part waits until two distinct threads have arrived (or a timeout), so with workers present both the
        // caller and a worker must take part; with a single-thread pool the caller runs everything alone.
        final int parts = 2;
        final AtomicInteger arrived = new AtomicInteger();
        POOL.run(parts, part ->
        {
            seen.add(Thread.currentThread());
            arrived.incrementAndGet();
            final long deadline = System.nanoTime() + 2_000_000_000L;
            while (POOL.threads() > 1 && arrived.get() < parts && System.nanoTime() < deadline)
            {
                Thread.onSpinWait();
            }
        });
        assertTrue(seen.contains(caller), "the caller must run a part");
        if (POOL.threads() > 1)
        {
            assertEquals(2, seen.size(), "a worker must run the other part: " + seen);
            for (final Thread t : seen)
            {
                assertTrue(t == caller || t.isDaemon(), t + " should be a daemon worker");
            }
        }
    }

    @Test
    void aFailingPartIsRethrownAfterAllPartsFinished()
    {
        final int parts = 8;
        final AtomicIntegerArray runs = new AtomicIntegerArray(parts);
        final IllegalStateException e = assertThrows(IllegalStateException.class, () -> POOL.run(parts, part ->
        {
            runs.incrementAndGet(part);
            if (part == 3)
            {
                throw new IllegalStateException("part 3 failed");
            }
        }));
        assertEquals("part 3 failed", e.getMessage());
        for (int part = 0; part < parts; part++)
        {
            assertEquals(1, runs.get(part), "part " + part);
        }
    }

    @Test
    void nestedRunsFromInsidePartsComplete()
    {
        final int outer = 4;
        final int inner = 5;
        final AtomicIntegerArray runs = new AtomicIntegerArray(outer * inner);
        POOL.run(outer, o -> POOL.run(inner, i -> runs.incrementAndGet(o * inner + i)));
        for (int i = 0; i < outer * inner; i++)
        {
            assertEquals(1, runs.get(i), "nested part " + i);
        }
    }

    @Test
    void nonPositivePartsAreRejected()
    {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> POOL.run(0, part -> { }));
        assertEquals("parts must be positive, was 0", e.getMessage());
    }

    @Test
    void confinedSegmentsAreNotSharedWithWorkers()
    {
        try (Arena confined = Arena.ofConfined(); Arena shared = Arena.ofShared())
        {
            assertTrue(POOL.canShare(shared.allocate(8)));
            if (POOL.threads() > 1)
            {
                assertFalse(POOL.canShare(confined.allocate(8)));
            }
        }
    }
}
