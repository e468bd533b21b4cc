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
import org.polypi.kernels.AesCtrPrg;
import org.polypi.kernels.RingTensor;

/**
 * {@link AesCtrPrg} filling off-heap words sequentially (as the dealer does: each fill continues the keystream),
 * at 1 M words (8 MiB) and 32 M words (256 MiB). GB/s = bytes written per second ({@link KernelReport}).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {BenchSupport.ADD_VECTOR_MODULE, BenchSupport.ENABLE_NATIVE_ACCESS,
    BenchSupport.EXPORT_JDK_INTERNAL_MISC})
public class PrgBench
{
    /** A generator and a destination of {@code words} longs. */
    @State(Scope.Benchmark)
    public static class Target
    {
        /** Words per fill. */
        @Param({"1048576", "33554432"})
        public long words;

        Arena arena;
        MemorySegment dst;
        AesCtrPrg prg;

        /** Creates the generator and the destination once per fork. */
        @Setup(Level.Trial)
        public void setUp()
        {
            final byte[] seed = new byte[AesCtrPrg.SEED_BYTES];
            for (int i = 0; i < seed.length; i++)
            {
                seed[i] = (byte)(BenchSupport.SEED >>> (8 * (i % Long.BYTES)) ^ i);
            }
            prg = new AesCtrPrg(seed, 0);
            arena = Arena.ofShared();
            dst = arena.allocate(words * Long.BYTES, RingTensor.ALIGNMENT_BYTES);
            // Touch every page, so first-write page faults are not measured.
            dst.fill((byte)0);
        }

        /** Frees the destination. */
        @TearDown(Level.Trial)
        public void tearDown()
        {
            arena.close();
        }
    }

    /** Fills the destination with the next {@code words} words of the stream. */
    @Benchmark
    public void fill(final Target t)
    {
        t.prg.fillNext(t.dst, t.words);
    }
}
