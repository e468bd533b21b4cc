package org.polypi.bench;

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
import org.polypi.kernels.LinearKernels;
import org.polypi.kernels.RingKernels;
import org.polypi.kernels.ScalarRingKernels;
import org.polypi.nativekernels.NativeRingKernels;

/**
 * Z_2^64 matrix product {@code C = A · B} (m x k times k x n, row-major, off-heap) per backend, at the shapes the
 * reference workloads' linear layers produce. Rate = m·k·n multiply-adds per second (Gma/s), computed by
 * {@link KernelReport}.
 * <p>
 * Shapes (MxKxN):
 * <ul>
 *   <li>{@code 1x784x128}: W1 {@code mlp}, first layer fc 784-128 at batch 1;</li>
 *   <li>{@code 64x784x128}: the same layer at batch 64;</li>
 *   <li>{@code 64x800x500}: W2 {@code lenet}, fc 800-500 at batch 64;</li>
 *   <li>{@code 1024x576x64}: W3 {@code minionn}, its largest conv (3x3, 64 to 64 channels, pad 1, on 32x32) as an
 *       im2col product: 1024 pixels x 576 (= 64·3·3) x 64 output channels;</li>
 *   <li>{@code 64x2304x256}: W4 {@code resnet18}, a stage-3 conv (3x3, 256 to 256 channels on 8x8) as im2col;</li>
 *   <li>{@code 256x256x256} and {@code 1024x1024x1024}: the square sizes of the machine ceilings
 *       (java-stack.md section 2); 1024³ is the acceptance shape.</li>
 * </ul>
 * Backends: {@code vector1t}/{@code vector2t} = the Vector API kernel on exactly 1 / at most 2 threads
 * ({@link LinearKernels}); {@code native1t} = gcc-compiled C through FFM (single-threaded, the ceiling);
 * {@code scalar1t} = the plain-Java oracle, at small shapes only (it runs at a fraction of a Gma/s).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {BenchSupport.ADD_VECTOR_MODULE, BenchSupport.ENABLE_NATIVE_ACCESS,
    BenchSupport.EXPORT_JDK_INTERNAL_MISC})
public class GemmBench
{
    /** Operands for the vector and native backends. */
    @State(Scope.Benchmark)
    public static class Operands
    {
        /** Product shape MxKxN. */
        @Param({"1x784x128", "64x784x128", "64x800x500", "1024x576x64", "64x2304x256", "256x256x256",
            "1024x1024x1024"})
        public String shape;

        Matrices x;

        /** Allocates and fills the operands once per fork. */
        @Setup(Level.Trial)
        public void setUp()
        {
            x = new Matrices(shape);
        }

        /** Frees the operands. */
        @TearDown(Level.Trial)
        public void tearDown()
        {
            x.close();
        }
    }

    /** Operands for the scalar oracle, at shapes where it finishes in milliseconds. */
    @State(Scope.Benchmark)
    public static class ScalarOperands
    {
        /** Product shape MxKxN. */
        @Param({"1x784x128", "64x784x128", "256x256x256"})
        public String scalarShape;

        Matrices x;

        /** Allocates and fills the operands once per fork. */
        @Setup(Level.Trial)
        public void setUp()
        {
            x = new Matrices(scalarShape);
        }

        /** Frees the operands. */
        @TearDown(Level.Trial)
        public void tearDown()
        {
            x.close();
        }
    }

    /** The native backend, in its own state so that a missing library fails only the native benchmark. */
    @State(Scope.Benchmark)
    public static class NativeBackend
    {
        RingKernels kernels;

        /** Loads libpolypi.so (throws, saying why, when it was not built). */
        @Setup(Level.Trial)
        public void setUp()
        {
            kernels = NativeRingKernels.instance();
        }
    }

    /** Vector API kernel, one thread. */
    @Benchmark
    public void vector1t(final Operands o)
    {
        final Matrices x = o.x;
        LinearKernels.matmul(x.a, x.b, x.c, x.m, x.k, x.n, 1);
    }

    /** Vector API kernel, at most two threads (the calling thread plus one pool worker). */
    @Benchmark
    public void vector2t(final Operands o)
    {
        final Matrices x = o.x;
        LinearKernels.matmul(x.a, x.b, x.c, x.m, x.k, x.n, 2);
    }

    /** gcc-compiled C kernel through FFM, one thread. */
    @Benchmark
    public void native1t(final Operands o, final NativeBackend backend)
    {
        final Matrices x = o.x;
        backend.kernels.matmul(x.a, x.b, x.c, x.m, x.k, x.n);
    }

    /** Plain-Java oracle, one thread. */
    @Benchmark
    public void scalar1t(final ScalarOperands o)
    {
        final Matrices x = o.x;
        ScalarRingKernels.INSTANCE.matmul(x.a, x.b, x.c, x.m, x.k, x.n);
    }
}
