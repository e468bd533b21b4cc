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
 * <p>
 * <b>Staggered starts.</b> A large allocation starts at a different offset modulo 4 KiB from the one before it
 * ({@link #STAGGER_STEP_BYTES} more, wrapping). Without it every tensor of a query starts at the same offset modulo
 * 4 KiB (the native allocator maps large blocks page-aligned, the slab hands out multiples of the page), so a kernel
 * that streams many tensors at once, such as the fused activation (a masked value, ten words of material, the output),
 * reads them all through the same L1 sets: at W3's 4 M elements that kernel took 25-35 ms with aligned starts and
 * 15.7 ms staggered, where a sum of the same eleven streams takes 13-14 ms.
 */
final class QueryArena implements Arena
{
    /** Allocations of at least this size are staggered; smaller ones do not stream long enough to matter. */
    static final long STAGGER_MIN_BYTES = 64 * 1024;
    /** The L1 set index repeats every 4 KiB (64 sets of 64-byte lines). */
    static final long STAGGER_SPAN_BYTES = 4096;
    /**
     * 25 cache lines: consecutive starts walk the 64 sets in a sequence (0, 25, 50, 11, 36, ...) that keeps any few
     * neighbours far apart; it measured best among the strides tried (64, 832, 1600 bytes; 4160 over 64 KiB).
     */
    static final long STAGGER_STEP_BYTES = 25 * 64;

    private final Arena backing = Arena.ofShared();
    private final MemorySegment slab;
    private long used;
    private long demand;
    private boolean online;
    private long stagger;

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
        final long colour = nextColour(byteSize, byteAlignment);
        if (online)
        {
            // Demand counts every allocation as if from the slab (worst-case padding), so the next slab holds them
            // all.
            demand += byteSize + byteAlignment - 1 + (colour < 0 ? 0 : STAGGER_SPAN_BYTES);
            final long base = slab.address();
            final long aligned = (base + used + byteAlignment - 1) & -byteAlignment;
            final long start = aligned - base + (colour < 0 ? 0 : Math.floorMod(colour - aligned, STAGGER_SPAN_BYTES));
            if (start + byteSize <= slab.byteSize())
            {
                used = start + byteSize;
                return slab.asSlice(start, byteSize, byteAlignment);
            }
        }
        if (colour < 0)
        {
            return backing.allocate(byteSize, byteAlignment);
        }
        final MemorySegment block = backing.allocate(byteSize + STAGGER_SPAN_BYTES, byteAlignment);
        return block.asSlice(Math.floorMod(colour - block.address(), STAGGER_SPAN_BYTES), byteSize, byteAlignment);
    }

    /**
     * The offset modulo 4 KiB at which the next allocation of {@code byteSize} starts, or -1 for a small one or a
     * coarse alignment (not staggered).
     */
    private long nextColour(final long byteSize, final long byteAlignment)
    {
        if (byteSize < STAGGER_MIN_BYTES || STAGGER_STEP_BYTES % byteAlignment != 0)
        {
            return -1;
        }
        final long colour = stagger;
        stagger = (stagger + STAGGER_STEP_BYTES) % STAGGER_SPAN_BYTES;
        return colour;
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
