package org.polypi.engine.secure;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.polypi.kernels.RingTensor;

/**
 * The arena of one query: a shared arena whose online allocations are carved, while it lasts, out of one zero-filled
 * slab allocated up front.
 * <p>
 * Why: every {@link Arena#allocate} of a native arena zeroes its memory, and a query allocates a tensor per step; done
 * in the online walk, that zeroing (and the allocation calls) lands in the latency. With a slab sized by the previous
 * query's online demand ({@link #demand()}), the online phase's memory is allocated and zeroed once, in the offline
 * phase, and the online steps only bump a pointer. Each slice is handed out once, so it is still zero-filled as
 * {@link Arena#allocate} promises; allocations before {@link #beginOnline()} (the dealer's material, allocated and
 * filled offline anyway) and those that do not fit go to the backing arena. The slab holds only the online memory
 * so that it stays small: a slab of a whole batch-64 query's material is a fresh mapping each query, page faults
 * included. Closing closes the backing arena and with it every segment. Not thread-safe for allocation (one party thread allocates); the segments
 * are shared, so kernels may split work over the worker pool.
 */
final class QueryArena implements Arena
{
    private final Arena backing = Arena.ofShared();
    private final MemorySegment slab;
    private long used;
    private long demand;
    private boolean online;

    /**
     * An arena with a zero-filled slab of {@code slabBytes} (none if not positive).
     */
    QueryArena(final long slabBytes)
    {
        this.slab = slabBytes > 0 ? backing.allocate(slabBytes, RingTensor.ALIGNMENT_BYTES) : MemorySegment.NULL;
    }

    @Override
    public MemorySegment allocate(final long byteSize, final long byteAlignment)
    {
        if (byteSize < 0 || byteAlignment <= 0 || Long.bitCount(byteAlignment) != 1)
        {
            throw new IllegalArgumentException("cannot allocate " + byteSize + " bytes at alignment " + byteAlignment);
        }
        if (!online)
        {
            return backing.allocate(byteSize, byteAlignment);
        }
        // Demand counts every allocation as if from the slab (worst-case padding), so the next slab holds them all.
        demand += byteSize + byteAlignment - 1;
        final long base = slab.address();
        final long start = ((base + used + byteAlignment - 1) & -byteAlignment) - base;
        if (start + byteSize <= slab.byteSize())
        {
            used = start + byteSize;
            return slab.asSlice(start, byteSize, byteAlignment);
        }
        return backing.allocate(byteSize, byteAlignment);
    }

    /** From now on allocations are the online phase's: served from the slab while it lasts, and counted. */
    void beginOnline()
    {
        online = true;
    }

    /** Bytes a slab must have to serve every allocation made so far. */
    long demand()
    {
        return demand;
    }

    @Override
    public MemorySegment.Scope scope()
    {
        return backing.scope();
    }

    @Override
    public void close()
    {
        backing.close();
    }
}
