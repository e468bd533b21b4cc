package org.polypi.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.polypi.kernels.Kernels;
import org.polypi.kernels.RingKernels;
import org.polypi.kernels.RingTensor;

/**
 * Memory-bound elementwise kernels of the vector backend against {@link MemorySegment#copy} of the same bytes, at
 * 1 M longs (8 MiB per array) and 32 M longs (256 MiB per array, far past every cache). Bandwidth counts the bytes
 * a kernel reads plus writes ({@link KernelReport}): polynomial and copy 16 B per element, add 24 B (in place too:
 * it reads two arrays and writes one).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {BenchSupport.ADD_VECTOR_MODULE, BenchSupport.ENABLE_NATIVE_ACCESS,
    BenchSupport.EXPORT_JDK_INTERNAL_MISC})
public class ElementwiseBench
{
    /** Degree-2 coefficients (c0, c1, c2), arbitrary odd constants. */
    static final long[] DEGREE_2 = {0x3A5L, -0x1F3L, 0x77L};
    /** Degree-4 coefficients (c0 .. c4). */
    static final long[] DEGREE_4 = {0x3A5L, -0x1F3L, 0x77L, 0x1235L, -0x9L};

    /** Two inputs and an output of {@code size} longs. */
    @State(Scope.Benchmark)
    public static class Arrays
    {
        /** Element count. */
        @Param({"1048576", "33554432"})
        public long size;

        Arena arena;
        MemorySegment x;
        MemorySegment y;
        MemorySegment out;
        RingKernels kernels;

        /** Allocates and fills the arrays once per fork. */
        @Setup(Level.Trial)
        public void setUp()
        {
            kernels = Kernels.byName("vector");
            arena = Arena.ofShared();
            x = arena.allocate(size * Long.BYTES, RingTensor.ALIGNMENT_BYTES);
            y = arena.allocate(size * Long.BYTES, RingTensor.ALIGNMENT_BYTES);
            out = arena.allocate(size * Long.BYTES, RingTensor.ALIGNMENT_BYTES);
            BenchSupport.fillRandom(x, size, BenchSupport.SEED);
            BenchSupport.fillRandom(y, size, BenchSupport.SEED + 1);
            // Touch every page of out, so first-write page faults are not measured.
            out.fill((byte)0);
        }

        /** Frees the arrays. */
        @TearDown(Level.Trial)
        public void tearDown()
        {
            arena.close();
        }
    }

    /** {@code out = c0 + c1 x + c2 x²} (Horner). */
    @Benchmark
    public void polynomial2(final Arrays s)
    {
        s.kernels.polynomial(s.x, DEGREE_2, s.out, s.size);
    }

    /** {@code out = c0 + c1 x + ... + c4 x⁴} (Horner). */
    @Benchmark
    public void polynomial4(final Arrays s)
    {
        s.kernels.polynomial(s.x, DEGREE_4, s.out, s.size);
    }

    /** {@code out = x + y}. */
    @Benchmark
    public void add(final Arrays s)
    {
        s.kernels.add(s.x, s.y, s.out, s.size);
    }

    /** {@code x += y}. */
    @Benchmark
    public void addInPlace(final Arrays s)
    {
        s.kernels.add(s.x, s.y, s.x, s.size);
    }

    /** {@code out = x} by {@link MemorySegment#copy}: the bandwidth the kernels are held against. */
    @Benchmark
    public void copy(final Arrays s)
    {
        MemorySegment.copy(s.x, 0, s.out, 0, s.size * Long.BYTES);
    }
}
