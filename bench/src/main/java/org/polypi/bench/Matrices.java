package org.polypi.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.polypi.kernels.RingTensor;

/**
 * The three operands of one product {@code C (m x n) = A (m x k) · B (k x n)}, random, 64-byte aligned, in a
 * shared arena (two-thread kernels hand parts to pool threads, which cannot touch confined segments).
 */
final class Matrices implements AutoCloseable
{
    final int m;
    final int k;
    final int n;
    final MemorySegment a;
    final MemorySegment b;
    final MemorySegment c;
    private final Arena arena;

    /** Allocates and fills operands for a shape written {@code MxKxN}. */
    Matrices(final String shape)
    {
        final int[] dims = BenchSupport.parseShape(shape);
        m = dims[0];
        k = dims[1];
        n = dims[2];
        arena = Arena.ofShared();
        a = arena.allocate((long)m * k * Long.BYTES, RingTensor.ALIGNMENT_BYTES);
        b = arena.allocate((long)k * n * Long.BYTES, RingTensor.ALIGNMENT_BYTES);
        c = arena.allocate((long)m * n * Long.BYTES, RingTensor.ALIGNMENT_BYTES);
        BenchSupport.fillRandom(a, (long)m * k, BenchSupport.SEED);
        BenchSupport.fillRandom(b, (long)k * n, BenchSupport.SEED + 1);
    }

    @Override
    public void close()
    {
        arena.close();
    }
}
