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
import org.polypi.kernels.Conv2dShape;
import org.polypi.kernels.LinearKernels;
import org.polypi.kernels.RingTensor;

/**
 * W3's largest convolution (3x3, 64 to 64 channels, stride 1, pad 1, on 32x32, batch 1: 37.7 M multiply-adds)
 * against plain products with the same multiply-add count, all on the Vector API kernel with one thread. The
 * acceptance ratio is conv time over the {@code 1024x576x64} product time (im2col orientation: pixels x taps x
 * channels); {@code 64x576x1024} is the orientation the conv kernel itself computes (weights x implicit im2col).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {BenchSupport.ADD_VECTOR_MODULE, BenchSupport.ENABLE_NATIVE_ACCESS,
    BenchSupport.EXPORT_JDK_INTERNAL_MISC})
public class ConvBench
{
    /** The layer: W3 conv 3x3 64 to 64, pad 1, on 32x32, batch 1. */
    static final Conv2dShape LAYER = new Conv2dShape(1, 64, 32, 32, 64, 3, 3, 1, 1);

    /** Input, weights and output of {@link #LAYER}. */
    @State(Scope.Benchmark)
    public static class Layer
    {
        Arena arena;
        MemorySegment input;
        MemorySegment weights;
        MemorySegment out;

        /** Allocates and fills the tensors once per fork. */
        @Setup(Level.Trial)
        public void setUp()
        {
            arena = Arena.ofShared();
            input = arena.allocate(LAYER.inputElements() * Long.BYTES, RingTensor.ALIGNMENT_BYTES);
            weights = arena.allocate(LAYER.weightElements() * Long.BYTES, RingTensor.ALIGNMENT_BYTES);
            out = arena.allocate(LAYER.outputElements() * Long.BYTES, RingTensor.ALIGNMENT_BYTES);
            BenchSupport.fillRandom(input, LAYER.inputElements(), BenchSupport.SEED);
            BenchSupport.fillRandom(weights, LAYER.weightElements(), BenchSupport.SEED + 1);
        }

        /** Frees the tensors. */
        @TearDown(Level.Trial)
        public void tearDown()
        {
            arena.close();
        }
    }

    /** A product with the layer's multiply-add count. */
    @State(Scope.Benchmark)
    public static class Product
    {
        /** Product shape MxKxN. */
        @Param({"1024x576x64", "64x576x1024"})
        public String productShape;

        Matrices x;

        /** Allocates and fills the operands once per fork. */
        @Setup(Level.Trial)
        public void setUp()
        {
            x = new Matrices(productShape);
        }

        /** Frees the operands. */
        @TearDown(Level.Trial)
        public void tearDown()
        {
            x.close();
        }
    }

    /** The convolution, one thread. */
    @Benchmark
    public void conv1t(final Layer layer)
    {
        LinearKernels.conv2d(layer.input, layer.weights, layer.out, LAYER, 1);
    }

    /** The same-size product, one thread. */
    @Benchmark
    public void product1t(final Product p)
    {
        final Matrices x = p.x;
        LinearKernels.matmul(x.a, x.b, x.c, x.m, x.k, x.n, 1);
    }
}
