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
import org.polypi.kernels.CandidateDifferences;
import org.polypi.kernels.Kernels;
import org.polypi.kernels.RingKernels;

/**
 * The engine's fused one-round activation ({@link RingKernels#polynomialFromOpened}) in the shape W3 PILLAR runs it
 * at f = 16: one copy of degree 4, the truncation's shift 16 (so packed candidate differences: four material powers
 * and two difference words), the server's side (it holds the public constant). Per element it reads c, four powers
 * and two difference words and writes one word: 64 B. Sizes: one batch-1 activation of W3's first layer (65,536
 * elements, in cache) and 4 M elements (a batch-64 layer, from memory). Backends: the Vector API step and the C one.
 * Every tensor starts at its own offset modulo 4 KiB, as the engine's query arena staggers them (docs/profiling.md).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {BenchSupport.ADD_VECTOR_MODULE, BenchSupport.ENABLE_NATIVE_ACCESS,
    BenchSupport.EXPORT_JDK_INTERNAL_MISC})
public class ActivationKernelBench
{
    /** PILLAR's degree. */
    static final int DEGREE = 4;
    /** The truncation folded into the activation: f = 16. */
    static final int SHIFT = 16;
    /** Stagger of successive tensors modulo 4 KiB (QueryArena's step). */
    static final long STAGGER_BYTES = 1600;
    private static final long PAGE_BYTES = 4096;
    private static final long CACHE_LINE_BYTES = 64;
    /** Public multipliers of x^1..x^4, arbitrary odd constants at the scale the plan gives them. */
    private static final long[][] MULTIPLIERS = {{0x8000L, 0x3A5L, -0x1F3L, 0x77L}};

    /** The operands, once per fork. */
    @State(Scope.Benchmark)
    public static class Operands
    {
        /** Element count. */
        @Param({"65536", "4194304"})
        public long size;

        /** Kernel backend. */
        @Param({"vector", "native"})
        public String backend;

        Arena arena;
        RingKernels kernels;
        MemorySegment c;
        MemorySegment out;
        MemorySegment[][] base;
        MemorySegment[][] diff;
        final int[] shifts = {SHIFT};
        final long[] addends = {1L << (62 - SHIFT)};
        private int allocated;

        /** Allocates and fills the tensors. */
        @Setup(Level.Trial)
        public void setUp()
        {
            kernels = Kernels.byName(backend);
            arena = Arena.ofShared();
            c = tensor(BenchSupport.SEED);
            out = tensor(BenchSupport.SEED + 1);
            base = new MemorySegment[1][DEGREE];
            diff = new MemorySegment[1][CandidateDifferences.words(SHIFT, DEGREE)];
            for (int i = 0; i < DEGREE; i++)
            {
                base[0][i] = tensor(BenchSupport.SEED + 2 + i);
            }
            for (int i = 0; i < diff[0].length; i++)
            {
                diff[0][i] = tensor(BenchSupport.SEED + 2 + DEGREE + i);
            }
        }

        private MemorySegment tensor(final long seed)
        {
            final long offset = (allocated++ * STAGGER_BYTES) % PAGE_BYTES / CACHE_LINE_BYTES * CACHE_LINE_BYTES;
            final MemorySegment block = arena.allocate(offset + size * Long.BYTES, PAGE_BYTES);
            final MemorySegment t = block.asSlice(offset, size * Long.BYTES);
            BenchSupport.fillRandom(t, size, seed);
            return t;
        }

        /** Frees the tensors. */
        @TearDown(Level.Trial)
        public void tearDown()
        {
            arena.close();
        }
    }

    /** The server's share of a PILLAR activation. */
    @Benchmark
    public void pillarActivation(final Operands s)
    {
        s.kernels.polynomialFromOpened(s.c, s.shifts, s.addends, s.base, s.diff, MULTIPLIERS, null, 0, true, 7,
            s.out, s.size);
    }
}
