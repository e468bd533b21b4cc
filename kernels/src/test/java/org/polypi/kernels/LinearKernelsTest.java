package org.polypi.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.polypi.kernels.RingTensor.ELEMENT;

/**
 * The vector linear-algebra kernels against the scalar oracle, bit for bit, on shapes that hit every tail of the
 * blocking (micro-tile rows and columns, vector lanes, depth and column blocks, the worker split), on ring boundary
 * values, and on bad input through the public API; plus hand-computed checks of the oracle itself.
 */
class LinearKernelsTest
{
    private static final RingKernels SCALAR = ScalarRingKernels.INSTANCE;
    private static final RingKernels VECTOR = VectorRingKernels.INSTANCE;
    private static final long[] BOUNDARY = {0, 1, -1, Long.MIN_VALUE, Long.MAX_VALUE};
    /** Written past the end of every output; a kernel that writes outside its operand changes it. */
    private static final long SENTINEL = 0x5EE_DBAD_C0FFEEL;
    private static final int GUARD = 7;

    private enum Variant
    {
        PLAIN, TRANSPOSED_B, TRANSPOSED_A
    }

    // ---- the oracle on hand-computed examples --------------------------------------------------------------------

    @Test
    void scalarMatmulMatchesHandComputedProducts()
    {
        try (Arena arena = Arena.ofConfined())
        {
            // [1 2 3; 4 5 6] · [7 8; 9 10; 11 12] = [58 64; 139 154]
            final long[] expected = {58, 64, 139, 154};
            final MemorySegment a = segment(arena, 1, 2, 3, 4, 5, 6);
            final MemorySegment b = segment(arena, 7, 8, 9, 10, 11, 12);
            final MemorySegment c = arena.allocate(4 * Long.BYTES);
            SCALAR.matmul(a, b, c, 2, 3, 2);
            assertArrayEquals(expected, c.toArray(ELEMENT));

            SCALAR.matmulTransposedB(a, segment(arena, 7, 9, 11, 8, 10, 12), c, 2, 3, 2);
            assertArrayEquals(expected, c.toArray(ELEMENT));

            SCALAR.matmulTransposedA(segment(arena, 1, 4, 2, 5, 3, 6), b, c, 2, 3, 2);
            assertArrayEquals(expected, c.toArray(ELEMENT));

            // Wraps modulo 2^64: MAX·2 + MIN·1 = -2 + MIN.
            final MemorySegment one = arena.allocate(Long.BYTES);
            SCALAR.matmul(segment(arena, Long.MAX_VALUE, Long.MIN_VALUE), segment(arena, 2, 1), one, 1, 2, 1);
            assertEquals(-2 + Long.MIN_VALUE, one.get(ELEMENT, 0));
        }
    }

    @Test
    void scalarConvolutionAndPoolingMatchHandComputedExamples()
    {
        try (Arena arena = Arena.ofConfined())
        {
            // 3x3 image 1..9, 2x2 kernel [1 0; 0 2]: out[oh][ow] = x[oh][ow] + 2·x[oh+1][ow+1].
            final MemorySegment image = segment(arena, 1, 2, 3, 4, 5, 6, 7, 8, 9);
            final MemorySegment out = arena.allocate(4 * Long.BYTES);
            SCALAR.conv2d(image, segment(arena, 1, 0, 0, 2), out, new Conv2dShape(1, 1, 3, 3, 1, 2, 2, 1, 0));
            assertArrayEquals(new long[] {11, 14, 20, 23}, out.toArray(ELEMENT));

            // Same image, 3x3 all-ones kernel, padding 1, stride 2: the four corner windows.
            SCALAR.conv2d(image, segment(arena, 1, 1, 1, 1, 1, 1, 1, 1, 1), out,
                new Conv2dShape(1, 1, 3, 3, 1, 3, 3, 2, 1));
            assertArrayEquals(new long[] {12, 16, 24, 28}, out.toArray(ELEMENT));

            SCALAR.sumPool2d(image, out, 1, 1, 3, 3, 2, 1);
            assertArrayEquals(new long[] {12, 16, 24, 28}, out.toArray(ELEMENT));
        }
    }

    // ---- vector == scalar: products ------------------------------------------------------------------------------

    @Test
    void everyTailOfTheMicroTileMatches()
    {
        final SplittableRandom random = new SplittableRandom(1);
        try (Arena arena = Arena.ofShared())
        {
            // Every column count up to two strips and one more, every row count up to two tiles and one more.
            for (int n = 1; n <= 2 * VectorLinear.NR + 1; n++)
            {
                for (int m = 1; m <= 2 * VectorLinear.MR + 1; m++)
                {
                    final int k = 1 + random.nextInt(2 * VectorLinear.NR + 1);
                    for (final Variant variant : Variant.values())
                    {
                        checkProduct(arena, random, variant, m, k, n, 0);
                    }
                }
            }
        }
    }

    @Test
    void everyDepthAroundTheBlockSizesMatches()
    {
        final SplittableRandom random = new SplittableRandom(2);
        final int kc = VectorLinear.KC;
        final int[] depths = {1, 2, 3, 7, 8, 9, 15, 16, 17, kc - 1, kc, kc + 1, 2 * kc + 1, 576};
        try (Arena arena = Arena.ofShared())
        {
            for (final int k : depths)
            {
                for (final Variant variant : Variant.values())
                {
                    checkProduct(arena, random, variant, 1 + random.nextInt(9), k, 1 + random.nextInt(70), 0);
                    checkProduct(arena, random, variant, 1 + random.nextInt(3), k, 1 + random.nextInt(40), 0);
                }
            }
        }
    }

    @Test
    void largeProductsAcrossBlocksAndThreadsMatch()
    {
        final SplittableRandom random = new SplittableRandom(3);
        final int[][] shapes = {
            {67, 130, 33},                                // no block boundary, odd everywhere
            {37, 300, VectorLinear.NC + 30},              // depth and column blocks, column split
            {130, 257, 40},                               // two column strips: row split
            {5, 513, 1100},                               // one full tile row plus a 1-row edge
            {3, 700, 150},                                // fewer rows than a tile: direct row kernel
            {1, 1024, 10},                                // a batch-1 dense layer
        };
        try (Arena arena = Arena.ofShared())
        {
            for (final int[] s : shapes)
            {
                for (final Variant variant : Variant.values())
                {
                    checkProduct(arena, random, variant, s[0], s[1], s[2], 0, 1, 2, 3);
                }
            }
        }
    }

    @Test
    void scalarAccumulatingProductsAddToTheirOutput()
    {
        try (Arena arena = Arena.ofConfined())
        {
            // [1 2 3; 4 5 6] · [7 8; 9 10; 11 12] = [58 64; 139 154], added to [1 -1 MAX MIN].
            final MemorySegment c = segment(arena, 1, -1, Long.MAX_VALUE, Long.MIN_VALUE);
            SCALAR.matmulAccumulate(segment(arena, 1, 2, 3, 4, 5, 6), segment(arena, 7, 8, 9, 10, 11, 12), c, 2, 3, 2);
            assertArrayEquals(new long[]{59, 63, Long.MAX_VALUE + 139, Long.MIN_VALUE + 154}, c.toArray(ELEMENT));

            // 3x3 image 1..9, 2x2 kernel [1 0; 0 2], added to [10 20 30 40].
            final MemorySegment out = segment(arena, 10, 20, 30, 40);
            SCALAR.conv2dAccumulate(segment(arena, 1, 2, 3, 4, 5, 6, 7, 8, 9), segment(arena, 1, 0, 0, 2), out,
                new Conv2dShape(1, 1, 3, 3, 1, 2, 2, 1, 0));
            assertArrayEquals(new long[]{10 + 11, 20 + 14, 30 + 20, 40 + 23}, out.toArray(ELEMENT));
        }
    }

    @Test
    void accumulatingProductsEqualTheProductPlusTheirOutput()
    {
        final SplittableRandom random = new SplittableRandom(11);
        final int[][] products = {
            {1, 1, 1}, {1, 1024, 10}, {3, 700, 150}, {4, 33, VectorLinear.NR + 5}, {9, 2 * VectorLinear.KC + 1, 70},
            {67, 130, 33}, {37, 300, VectorLinear.NC + 30}, {130, 257, 40},
        };
        final Conv2dShape[] convolutions = {
            new Conv2dShape(1, 64, 32, 32, 64, 3, 3, 1, 1),
            new Conv2dShape(2, 3, 32, 32, 64, 3, 3, 1, 1),
            new Conv2dShape(1, 64, 8, 8, 16, 1, 1, 1, 0),
            new Conv2dShape(2, 4, 9, 9, 5, 1, 1, 2, 0),
            new Conv2dShape(3, 1, 28, 28, 20, 5, 5, 1, 0),
            new Conv2dShape(1, 1, 3, 3, 1, 3, 3, 2, 1),
        };
        try (Arena arena = Arena.ofShared())
        {
            for (final int[] s : products)
            {
                final int m = s[0];
                final int k = s[1];
                final int n = s[2];
                final MemorySegment a = randomSegment(arena, random, (long)m * k);
                final MemorySegment b = randomSegment(arena, random, (long)k * n);
                final MemorySegment prior = randomSegment(arena, random, (long)m * n);
                final MemorySegment expected = guarded(arena, (long)m * n);
                SCALAR.matmul(a, b, expected, m, k, n);
                SCALAR.add(expected, prior, expected, (long)m * n);
                for (final RingKernels kernels : new RingKernels[]{SCALAR, VECTOR})
                {
                    final MemorySegment actual = guarded(arena, (long)m * n);
                    actual.asSlice(0, (long)m * n * Long.BYTES).copyFrom(prior);
                    kernels.matmulAccumulate(a, b, actual, m, k, n);
                    assertSame(kernels.name() + " accumulate m=" + m + " k=" + k + " n=" + n, expected, actual,
                        (long)m * n);
                }
            }
            for (final Conv2dShape shape : convolutions)
            {
                final long outElements = shape.outputElements();
                final MemorySegment input = randomSegment(arena, random, shape.inputElements());
                final MemorySegment weights = randomSegment(arena, random, shape.weightElements());
                final MemorySegment prior = randomSegment(arena, random, outElements);
                final MemorySegment expected = guarded(arena, outElements);
                SCALAR.conv2d(input, weights, expected, shape);
                SCALAR.add(expected, prior, expected, outElements);
                for (final RingKernels kernels : new RingKernels[]{SCALAR, VECTOR})
                {
                    final MemorySegment actual = guarded(arena, outElements);
                    actual.asSlice(0, outElements * Long.BYTES).copyFrom(prior);
                    kernels.conv2dAccumulate(input, weights, actual, shape);
                    assertSame(kernels.name() + " accumulate " + shape, expected, actual, outElements);
                }
            }
        }
    }

    @Test
    void accumulatingProductsRejectBadInputLikeProducts()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment six = arena.allocate(6 * Long.BYTES);
            final MemorySegment three = arena.allocate(3 * Long.BYTES);
            assertEquals("c too small: needs 4 elements (32 bytes), has 24 bytes", assertThrows(
                IllegalArgumentException.class, () -> VECTOR.matmulAccumulate(six, six, three, 2, 3, 2)).getMessage());
            assertEquals("shape must not be null", assertThrows(IllegalArgumentException.class,
                () -> VECTOR.conv2dAccumulate(six, six, six, null)).getMessage());
            final Conv2dShape shape = new Conv2dShape(1, 1, 3, 3, 1, 2, 2, 1, 0);
            assertEquals("input too small: needs 9 elements (72 bytes), has 48 bytes", assertThrows(
                IllegalArgumentException.class, () -> VECTOR.conv2dAccumulate(six, six, three, shape)).getMessage());
        }
    }

    @Test
    void boundaryValuesOnlyMatch()
    {
        final SplittableRandom random = new SplittableRandom(4);
        try (Arena arena = Arena.ofShared())
        {
            for (final Variant variant : Variant.values())
            {
                final int m = 9;
                final int k = 33;
                final int n = VectorLinear.NR + 5;
                final MemorySegment a = arena.allocate((long)m * k * Long.BYTES);
                final MemorySegment b = arena.allocate((long)k * n * Long.BYTES);
                for (long i = 0; i < (long)m * k; i++)
                {
                    a.setAtIndex(ELEMENT, i, BOUNDARY[random.nextInt(BOUNDARY.length)]);
                }
                for (long i = 0; i < (long)k * n; i++)
                {
                    b.setAtIndex(ELEMENT, i, BOUNDARY[random.nextInt(BOUNDARY.length)]);
                }
                compareProduct(arena, variant, a, b, m, k, n, 0);
            }
        }
    }

    @Test
    void unalignedSlicesAndConfinedSegmentsWork()
    {
        final SplittableRandom random = new SplittableRandom(5);
        try (Arena arena = Arena.ofConfined())
        {
            // Confined segments cannot go to the workers: the large product must run on this thread and still match.
            final int m = 70;
            final int k = 150;
            final int n = 140;
            final MemorySegment a = randomSegment(arena, random, (long)m * k + 1).asSlice(Long.BYTES);
            final MemorySegment b = randomSegment(arena, random, (long)k * n + 3).asSlice(3 * Long.BYTES);
            for (final Variant variant : Variant.values())
            {
                compareProduct(arena, variant, a, b, m, k, n, 0);
            }
        }
    }

    @Test
    void confinedSegmentsWithSeveralThreadsAreRejectedByTheExplicitApi()
    {
        assumeTrue(LinearKernels.defaultThreads() > 1, "needs a pool with workers");
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment s = arena.allocate(64 * Long.BYTES);
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LinearKernels.matmul(s, s, s, 8, 8, 8, 2));
            assertTrue(e.getMessage().contains("a belongs to a confined arena"), e.getMessage());
            LinearKernels.matmul(s, s, arena.allocate(64 * Long.BYTES), 8, 8, 8, 1);
        }
    }

    @Test
    void concurrentCallersGetTheirOwnScratch() throws Exception
    {
        final int callers = 4;
        final ExecutorService executor = Executors.newFixedThreadPool(callers);
        try (Arena arena = Arena.ofShared())
        {
            final List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < callers; t++)
            {
                final long seed = 100 + t;
                futures.add(executor.submit(() ->
                {
                    final SplittableRandom random = new SplittableRandom(seed);
                    for (int round = 0; round < 6; round++)
                    {
                        final Variant variant = Variant.values()[round % 3];
                        checkProduct(arena, random, variant, 20 + random.nextInt(40), 50 + random.nextInt(150),
                            30 + random.nextInt(100), round % 2 == 0 ? 0 : 2);
                    }
                    return null;
                }));
            }
            for (final Future<?> future : futures)
            {
                future.get();
            }
        }
        finally
        {
            executor.shutdownNow();
        }
    }

    // ---- vector == scalar: convolution and pooling ---------------------------------------------------------------

    @Test
    void convolutionsMatch()
    {
        final SplittableRandom random = new SplittableRandom(6);
        final Conv2dShape[] shapes = {
            // batch, inC, inH, inW, outC, kH, kW, stride, padding
            new Conv2dShape(1, 64, 32, 32, 64, 3, 3, 1, 1),   // W3's main layer: same-width gather, column split
            new Conv2dShape(2, 3, 32, 32, 64, 3, 3, 1, 1),    // W3's first layer, two images
            new Conv2dShape(1, 64, 8, 8, 16, 1, 1, 1, 0),     // W3's 1x1 layer: a plain product with the image
            new Conv2dShape(3, 5, 7, 9, 6, 1, 1, 1, 0),       // 1x1 with odd everything
            new Conv2dShape(2, 4, 9, 9, 5, 1, 1, 2, 0),       // 1x1 strided: general gather
            new Conv2dShape(1, 3, 6, 6, 4, 1, 1, 1, 1),       // 1x1 padded
            new Conv2dShape(3, 1, 28, 28, 20, 5, 5, 1, 0),    // LeNet conv1: valid convolution
            new Conv2dShape(2, 20, 12, 12, 50, 5, 5, 1, 0),   // LeNet conv2
            new Conv2dShape(2, 5, 9, 11, 7, 3, 3, 2, 1),      // strided and padded
            new Conv2dShape(1, 3, 10, 13, 9, 3, 5, 1, 2),     // non-square kernel, same width but taller output
            new Conv2dShape(1, 2, 5, 4, 3, 5, 4, 1, 0),       // kernel as large as the input: one output
            new Conv2dShape(1, 2, 3, 3, 3, 3, 3, 3, 2),       // padding wider than half the kernel
            new Conv2dShape(8, 4, 16, 16, 8, 3, 3, 1, 1),     // many small images: whole images per part
        };
        try (Arena arena = Arena.ofShared())
        {
            for (final Conv2dShape shape : shapes)
            {
                checkConv(arena, random, shape, 0, 1, 2);
            }
        }
    }

    @Test
    void sumPoolsMatch()
    {
        final SplittableRandom random = new SplittableRandom(7);
        // batch, channels, height, width, window, stride
        final int[][] shapes = {
            {1, 64, 32, 32, 2, 2},
            {2, 3, 7, 9, 2, 2},
            {1, 2, 11, 13, 3, 1},
            {2, 2, 11, 30, 3, 2},
            {1, 1, 5, 5, 5, 1},
            {1, 3, 4, 3, 1, 1},
            {3, 1, 40, 41, 4, 3},
        };
        try (Arena arena = Arena.ofShared())
        {
            for (final int[] s : shapes)
            {
                final long inElements = (long)s[0] * s[1] * s[2] * s[3];
                final long outElements = (long)s[0] * s[1] * ((s[2] - s[4]) / s[5] + 1) * ((s[3] - s[4]) / s[5] + 1);
                final MemorySegment input = randomSegment(arena, random, inElements);
                final MemorySegment expected = guarded(arena, outElements);
                final MemorySegment actual = guarded(arena, outElements);
                SCALAR.sumPool2d(input, expected, s[0], s[1], s[2], s[3], s[4], s[5]);
                VECTOR.sumPool2d(input, actual, s[0], s[1], s[2], s[3], s[4], s[5]);
                assertSame("sumPool2d " + Arrays.toString(s), expected, actual, outElements);
            }
        }
    }

    // ---- bad input through the public API ------------------------------------------------------------------------

    @Test
    void badProductArgumentsAreRejectedWithNamesAndSizes()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment six = arena.allocate(6 * Long.BYTES);
            final MemorySegment four = arena.allocate(4 * Long.BYTES);
            for (final RingKernels kernels : List.of(VECTOR, SCALAR))
            {
                assertMessage(IllegalArgumentException.class, "c too small: needs 9 elements (72 bytes), has 32 bytes",
                    () -> kernels.matmul(six, six, four, 3, 2, 3));
                assertMessage(IllegalArgumentException.class, "b too small: needs 9 elements",
                    () -> kernels.matmulTransposedB(six, six, six, 2, 3, 3));
                assertMessage(IllegalArgumentException.class, "a too small: needs 8 elements",
                    () -> kernels.matmulTransposedA(six, four, six, 2, 4, 1));
                assertMessage(IllegalArgumentException.class, "m must be positive, was 0",
                    () -> kernels.matmul(six, six, six, 0, 1, 1));
                assertMessage(IllegalArgumentException.class, "k must be positive, was -1",
                    () -> kernels.matmulTransposedB(six, six, six, 1, -1, 1));
                assertMessage(IllegalArgumentException.class, "n must be positive, was 0",
                    () -> kernels.matmulTransposedA(six, six, six, 1, 1, 0));
            }
            assertMessage(IllegalArgumentException.class, "threads must be positive, was 0",
                () -> LinearKernels.matmul(six, six, six, 1, 1, 1, 0));
            assertMessage(IllegalArgumentException.class, "c too small: needs 9 elements",
                () -> LinearKernels.matmulTransposedA(six, six, four, 3, 2, 3, 1));
        }
        final Arena closed = Arena.ofShared();
        final MemorySegment dead = closed.allocate(16 * Long.BYTES);
        closed.close();
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment live = arena.allocate(16 * Long.BYTES);
            assertMessage(IllegalStateException.class, "a: the arena holding this segment is closed",
                () -> VECTOR.matmul(dead, live, live, 2, 2, 2));
            assertMessage(IllegalStateException.class, "b: the arena holding this segment is closed",
                () -> VECTOR.matmulTransposedB(live, dead, live, 2, 2, 2));
            assertMessage(IllegalStateException.class, "c: the arena holding this segment is closed",
                () -> VECTOR.matmulTransposedA(live, live, dead, 2, 2, 2));
            assertMessage(IllegalStateException.class, "b: the arena holding this segment is closed",
                () -> LinearKernels.matmul(live, dead, live, 2, 2, 2, 1));
        }
    }

    @Test
    void badConvolutionAndPoolingArgumentsAreRejectedWithNamesAndSizes()
    {
        final Conv2dShape shape = new Conv2dShape(1, 2, 4, 4, 3, 3, 3, 1, 1);
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment input = arena.allocate(shape.inputElements() * Long.BYTES);
            final MemorySegment weights = arena.allocate(shape.weightElements() * Long.BYTES);
            final MemorySegment out = arena.allocate(shape.outputElements() * Long.BYTES);
            final MemorySegment small = arena.allocate(5 * Long.BYTES);
            assertMessage(IllegalArgumentException.class, "input too small: needs 32 elements",
                () -> VECTOR.conv2d(small, weights, out, shape));
            assertMessage(IllegalArgumentException.class, "weights too small: needs 54 elements",
                () -> VECTOR.conv2d(input, small, out, shape));
            assertMessage(IllegalArgumentException.class, "out too small: needs 48 elements",
                () -> VECTOR.conv2d(input, weights, small, shape));
            assertMessage(IllegalArgumentException.class, "shape must not be null",
                () -> VECTOR.conv2d(input, weights, out, null));
            assertMessage(IllegalArgumentException.class, "out too small: needs 48 elements",
                () -> LinearKernels.conv2d(input, weights, small, shape, 1));
            assertMessage(IllegalArgumentException.class, "outChannels must be positive, was 0",
                () -> new Conv2dShape(1, 2, 4, 4, 0, 3, 3, 1, 1));
            assertMessage(IllegalArgumentException.class, "kernel 5x5 larger than padded input 4x4",
                () -> new Conv2dShape(1, 2, 4, 4, 3, 5, 5, 1, 0));

            assertMessage(IllegalArgumentException.class, "input too small: needs 32 elements",
                () -> VECTOR.sumPool2d(small, out, 1, 2, 4, 4, 2, 2));
            assertMessage(IllegalArgumentException.class, "out too small: needs 8 elements",
                () -> VECTOR.sumPool2d(input, small, 1, 2, 4, 4, 2, 2));
            assertMessage(IllegalArgumentException.class, "window must be positive, was 0",
                () -> VECTOR.sumPool2d(input, out, 1, 2, 4, 4, 0, 2));
            assertMessage(IllegalArgumentException.class, "window 5 larger than input 4x4",
                () -> VECTOR.sumPool2d(input, out, 1, 2, 4, 4, 5, 1));
            assertMessage(IllegalArgumentException.class, "channels must be positive, was -2",
                () -> VECTOR.sumPool2d(input, out, 1, -2, 4, 4, 2, 2));
        }
        final Arena closed = Arena.ofShared();
        final MemorySegment dead = closed.allocate(64 * Long.BYTES);
        closed.close();
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment live = arena.allocate(64 * Long.BYTES);
            assertMessage(IllegalStateException.class, "weights: the arena holding this segment is closed",
                () -> VECTOR.conv2d(live, dead, live, shape));
            assertMessage(IllegalStateException.class, "input: the arena holding this segment is closed",
                () -> VECTOR.sumPool2d(dead, live, 1, 2, 4, 4, 2, 2));
        }
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    /** Random operands of the given product, compared for each thread count against one oracle run. */
    private static void checkProduct(final Arena arena, final SplittableRandom random, final Variant variant,
                                     final int m, final int k, final int n, final int... threadCounts)
    {
        final MemorySegment a = randomSegment(arena, random, (long)m * k);
        final MemorySegment b = randomSegment(arena, random, (long)k * n);
        compareProduct(arena, variant, a, b, m, k, n, threadCounts);
    }

    /**
     * Thread count 0: through {@link RingKernels} (size decides); else {@link LinearKernels} with that many threads.
     */
    private static void compareProduct(final Arena arena, final Variant variant, final MemorySegment a,
                                       final MemorySegment b, final int m, final int k, final int n,
                                       final int... threadCounts)
    {
        final long cElements = (long)m * n;
        final MemorySegment expected = guarded(arena, cElements);
        switch (variant)
        {
            case PLAIN -> SCALAR.matmul(a, b, expected, m, k, n);
            case TRANSPOSED_B -> SCALAR.matmulTransposedB(a, b, expected, m, k, n);
            case TRANSPOSED_A -> SCALAR.matmulTransposedA(a, b, expected, m, k, n);
            default -> throw new IllegalStateException("unknown variant " + variant);
        }
        final MemorySegment actual = guarded(arena, cElements);
        for (final int threads : threadCounts)
        {
            // Garbage in C: the kernels must overwrite, not accumulate.
            for (long i = 0; i < cElements; i++)
            {
                actual.setAtIndex(ELEMENT, i, i * 0x9E3779B97F4A7C15L);
            }
            switch (variant)
            {
                case PLAIN ->
                {
                    if (threads == 0)
                    {
                        VECTOR.matmul(a, b, actual, m, k, n);
                    }
                    else
                    {
                        LinearKernels.matmul(a, b, actual, m, k, n, threads);
                    }
                }
                case TRANSPOSED_B ->
                {
                    if (threads == 0)
                    {
                        VECTOR.matmulTransposedB(a, b, actual, m, k, n);
                    }
                    else
                    {
                        LinearKernels.matmulTransposedB(a, b, actual, m, k, n, threads);
                    }
                }
                default ->
                {
                    if (threads == 0)
                    {
                        VECTOR.matmulTransposedA(a, b, actual, m, k, n);
                    }
                    else
                    {
                        LinearKernels.matmulTransposedA(a, b, actual, m, k, n, threads);
                    }
                }
            }
            assertSame(variant + " m=" + m + " k=" + k + " n=" + n + " threads=" + threads, expected, actual,
                cElements);
        }
    }

    private static void checkConv(final Arena arena, final SplittableRandom random, final Conv2dShape shape,
                                  final int... threadCounts)
    {
        final MemorySegment input = randomSegment(arena, random, shape.inputElements());
        final MemorySegment weights = randomSegment(arena, random, shape.weightElements());
        final MemorySegment expected = guarded(arena, shape.outputElements());
        SCALAR.conv2d(input, weights, expected, shape);
        final MemorySegment actual = guarded(arena, shape.outputElements());
        for (final int threads : threadCounts)
        {
            actual.fill((byte)0x5A);
            for (long i = shape.outputElements(); i < shape.outputElements() + GUARD; i++)
            {
                actual.setAtIndex(ELEMENT, i, SENTINEL);
            }
            if (threads == 0)
            {
                VECTOR.conv2d(input, weights, actual, shape);
            }
            else
            {
                LinearKernels.conv2d(input, weights, actual, shape, threads);
            }
            assertSame(shape + " threads=" + threads, expected, actual, shape.outputElements());
        }
    }

    /** Random longs with a sprinkling of ring boundary values (about one in eight). */
    private static MemorySegment randomSegment(final Arena arena, final SplittableRandom random, final long elements)
    {
        final MemorySegment s = arena.allocate(elements * Long.BYTES, RingTensor.ALIGNMENT_BYTES);
        for (long i = 0; i < elements; i++)
        {
            s.setAtIndex(ELEMENT, i,
                random.nextInt(8) == 0 ? BOUNDARY[random.nextInt(BOUNDARY.length)] : random.nextLong());
        }
        return s;
    }

    /** An output of {@code elements} longs followed by sentinels; returns the whole segment. */
    private static MemorySegment guarded(final Arena arena, final long elements)
    {
        final MemorySegment s = arena.allocate((elements + GUARD) * Long.BYTES, RingTensor.ALIGNMENT_BYTES);
        for (long i = elements; i < elements + GUARD; i++)
        {
            s.setAtIndex(ELEMENT, i, SENTINEL);
        }
        return s;
    }

    private static void assertSame(final String what, final MemorySegment expected, final MemorySegment actual,
                                   final long elements)
    {
        for (long i = 0; i < elements; i++)
        {
            final long e = expected.getAtIndex(ELEMENT, i);
            final long a = actual.getAtIndex(ELEMENT, i);
            if (e != a)
            {
                throw new AssertionError(what + ": element " + i + " expected " + e + " but was " + a);
            }
        }
        for (long i = elements; i < elements + GUARD; i++)
        {
            assertEquals(SENTINEL, actual.getAtIndex(ELEMENT, i), what + ": wrote past the end at " + i);
        }
    }

    private static MemorySegment segment(final Arena arena, final long... values)
    {
        final MemorySegment s = arena.allocate((long)values.length * Long.BYTES);
        MemorySegment.copy(values, 0, s, ELEMENT, 0, values.length);
        return s;
    }

    private static <T extends Throwable> void assertMessage(final Class<T> type, final String fragment,
                                                            final org.junit.jupiter.api.function.Executable call)
    {
        final T e = assertThrows(type, call);
        assertTrue(e.getMessage() != null && e.getMessage().contains(fragment),
            "message '" + e.getMessage() + "' should contain '" + fragment + "'");
    }
}
