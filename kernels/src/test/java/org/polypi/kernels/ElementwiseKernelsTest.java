package org.polypi.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.polypi.kernels.RingTensor.ELEMENT;

/**
 * The vector elementwise kernels against the scalar oracle, bit for bit, on every length up to two vectors past
 * the widest species and on larger odd lengths, with boundary and random values, in place and out of place; and
 * the oracle itself on hand-checked cases.
 */
final class ElementwiseKernelsTest
{
    static final long[] BOUNDARY = {
        0, 1, -1, 2, -2, Long.MIN_VALUE, Long.MAX_VALUE, Long.MIN_VALUE + 1, Long.MAX_VALUE - 1, 1L << 32,
        (1L << 32) - 1, 1L << 62, -(1L << 62), 0x5555_5555_5555_5555L, 0xAAAA_AAAA_AAAA_AAAAL
    };
    /** Elements past n that must survive every kernel untouched. */
    private static final int GUARD = 3;
    private static final long SENTINEL = 0x0DDB_A11_0DDB_A11L;
    private static final RingKernels SCALAR = ScalarRingKernels.INSTANCE;
    private static final RingKernels VECTOR = VectorRingKernels.INSTANCE;

    /** An elementwise operation with up to three inputs; unused inputs are ignored. */
    @FunctionalInterface
    interface Op
    {
        void apply(RingKernels k, MemorySegment a, MemorySegment b, MemorySegment c, MemorySegment out, long n);
    }

    record NamedOp(String name, int inputs, Op op)
    {
    }

    static List<NamedOp> ops()
    {
        final List<NamedOp> ops = new ArrayList<>();
        ops.add(new NamedOp("add", 2, (k, a, b, c, out, n) -> k.add(a, b, out, n)));
        ops.add(new NamedOp("sub", 2, (k, a, b, c, out, n) -> k.sub(a, b, out, n)));
        ops.add(new NamedOp("negate", 1, (k, a, b, c, out, n) -> k.negate(a, out, n)));
        ops.add(new NamedOp("multiply", 2, (k, a, b, c, out, n) -> k.multiply(a, b, out, n)));
        ops.add(new NamedOp("fusedMultiplyAdd", 3, (k, a, b, c, out, n) -> k.fusedMultiplyAdd(a, b, c, out, n)));
        for (final long constant : new long[]{0, 1, -1, 3, Long.MIN_VALUE, Long.MAX_VALUE, 0x1234_5678_9ABC_DEF1L})
        {
            ops.add(new NamedOp("multiplyConstant(" + constant + ")", 1,
                (k, a, b, c, out, n) -> k.multiplyConstant(a, constant, out, n)));
            ops.add(new NamedOp("addConstant(" + constant + ")", 1,
                (k, a, b, c, out, n) -> k.addConstant(a, constant, out, n)));
        }
        for (final int shift : new int[]{0, 1, 12, 16, 31, 32, 62, 63})
        {
            ops.add(new NamedOp("shiftRightArithmetic(" + shift + ")", 1,
                (k, a, b, c, out, n) -> k.shiftRightArithmetic(a, shift, out, n)));
        }
        return ops;
    }

    static int maxLanes()
    {
        return Math.max(VectorElementwise.STREAM_SPECIES.length(), VectorElementwise.COMPUTE_SPECIES.length());
    }

    /** Every length 0 .. 2 * lanes + 1, then larger ones with every possible tail. */
    static List<Integer> lengths(final SplittableRandom random)
    {
        final List<Integer> lengths = new ArrayList<>();
        for (int n = 0; n <= 2 * maxLanes() + 1; n++)
        {
            lengths.add(n);
        }
        lengths.add(1000);
        lengths.add(4099);
        for (int i = 0; i < 4; i++)
        {
            lengths.add(64 + random.nextInt(20_000));
        }
        return lengths;
    }

    /** n elements (plus guard): boundary values first, then random values mixed with boundary ones. */
    static MemorySegment values(final Arena arena, final long n, final SplittableRandom random)
    {
        final MemorySegment s = arena.allocate((n + GUARD) * Long.BYTES, RingTensor.ALIGNMENT_BYTES);
        for (long i = 0; i < n; i++)
        {
            final long v = i < BOUNDARY.length ? BOUNDARY[(int)i] :
                random.nextInt(4) == 0 ? BOUNDARY[random.nextInt(BOUNDARY.length)] : random.nextLong();
            s.setAtIndex(ELEMENT, i, v);
        }
        for (long i = n; i < n + GUARD; i++)
        {
            s.setAtIndex(ELEMENT, i, SENTINEL);
        }
        return s;
    }

    static MemorySegment copyOf(final Arena arena, final MemorySegment s)
    {
        final MemorySegment copy = arena.allocate(s.byteSize(), RingTensor.ALIGNMENT_BYTES);
        copy.copyFrom(s);
        return copy;
    }

    static MemorySegment guarded(final Arena arena, final long n)
    {
        final MemorySegment s = arena.allocate((n + GUARD) * Long.BYTES, RingTensor.ALIGNMENT_BYTES);
        for (long i = 0; i < n + GUARD; i++)
        {
            s.setAtIndex(ELEMENT, i, SENTINEL);
        }
        return s;
    }

    static long[] array(final MemorySegment s)
    {
        return s.toArray(ELEMENT);
    }

    @Test
    void vectorMatchesScalarOutOfPlace()
    {
        final SplittableRandom random = new SplittableRandom(1);
        for (final int n : lengths(random))
        {
            try (Arena arena = Arena.ofConfined())
            {
                final MemorySegment a = values(arena, n, random);
                final MemorySegment b = values(arena, n, random);
                final MemorySegment c = values(arena, n, random);
                for (final NamedOp op : ops())
                {
                    final MemorySegment expected = guarded(arena, n);
                    final MemorySegment actual = guarded(arena, n);
                    op.op().apply(SCALAR, a, b, c, expected, n);
                    op.op().apply(VECTOR, a, b, c, actual, n);
                    assertArrayEquals(array(expected), array(actual), op.name() + " n=" + n);
                    assertGuardIntact(actual, n, op.name());
                }
            }
        }
    }

    @Test
    void vectorMatchesScalarInPlaceOnEveryOperand()
    {
        final SplittableRandom random = new SplittableRandom(2);
        for (final int n : lengths(random))
        {
            try (Arena arena = Arena.ofConfined())
            {
                final MemorySegment[] inputs =
                    {values(arena, n, random), values(arena, n, random), values(arena, n, random)};
                for (final NamedOp op : ops())
                {
                    final MemorySegment expected = guarded(arena, n);
                    op.op().apply(SCALAR, inputs[0], inputs[1], inputs[2], expected, n);
                    for (int target = 0; target < op.inputs(); target++)
                    {
                        for (final RingKernels k : new RingKernels[]{SCALAR, VECTOR})
                        {
                            final MemorySegment[] in = {copyOf(arena, inputs[0]), copyOf(arena, inputs[1]),
                                copyOf(arena, inputs[2])};
                            op.op().apply(k, in[0], in[1], in[2], in[target], n);
                            final String what = op.name() + " in place on input " + target + ", " + k.name() + ", n=" + n;
                            assertArrayEquals(array(expected), array(in[target]), what);
                            for (int other = 0; other < 3; other++)
                            {
                                if (other != target)
                                {
                                    assertArrayEquals(array(inputs[other]), array(in[other]),
                                        what + ": input " + other + " changed");
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void sameInputTwiceIsSquaringAndDoubling()
    {
        final SplittableRandom random = new SplittableRandom(3);
        try (Arena arena = Arena.ofConfined())
        {
            final int n = 4 * maxLanes() + 3;
            final MemorySegment a = values(arena, n, random);
            for (final RingKernels k : new RingKernels[]{SCALAR, VECTOR})
            {
                final MemorySegment sum = guarded(arena, n);
                final MemorySegment square = guarded(arena, n);
                k.add(a, a, sum, n);
                k.multiply(a, a, square, n);
                for (long i = 0; i < n; i++)
                {
                    final long v = a.getAtIndex(ELEMENT, i);
                    assertTrue(sum.getAtIndex(ELEMENT, i) == v << 1 && square.getAtIndex(ELEMENT, i) == v * v,
                        k.name() + " element " + i);
                }
            }
        }
    }

    @Test
    void scalarOracleOnHandCheckedCases()
    {
        final long min = Long.MIN_VALUE;
        final long max = Long.MAX_VALUE;
        for (final RingKernels k : new RingKernels[]{SCALAR, VECTOR})
        {
            assertArrayEquals(new long[]{min, 0, 5, -2},
                binary(k::add, new long[]{max, -1, 2, -1}, new long[]{1, 1, 3, -1}));
            assertArrayEquals(new long[]{-1, max, -1, 0},
                binary(k::sub, new long[]{0, min, max, 7}, new long[]{1, 1, min, 7}));
            assertArrayEquals(new long[]{0, 1, min, -max},
                unary((a, out, n) -> k.negate(a, out, n), new long[]{0, -1, min, max}));
            assertArrayEquals(new long[]{0, min, 1, 12, -6},
                binary(k::multiply, new long[]{1L << 32, -1, -1, 3, 2}, new long[]{1L << 32, min, -1, 4, -3}));
            assertArrayEquals(new long[]{-21, 0, min + 3},
                unary((a, out, n) -> k.multiplyConstant(a, -3, out, n), new long[]{7, 0, max}));
            assertArrayEquals(new long[]{min, 9, 2},
                unary((a, out, n) -> k.addConstant(a, 2, out, n), new long[]{max - 1, 7, 0}));
            assertArrayEquals(new long[]{-1, 0, -1, 0},
                unary((a, out, n) -> k.shiftRightArithmetic(a, 63, out, n), new long[]{min, 1, -4, max}));
            assertArrayEquals(new long[]{-4, 4, min >> 1},
                unary((a, out, n) -> k.shiftRightArithmetic(a, 1, out, n), new long[]{-8, 9, min}));
            try (Arena arena = Arena.ofConfined())
            {
                final MemorySegment out = arena.allocate(3 * Long.BYTES);
                k.fusedMultiplyAdd(segment(arena, 3, -1, 1L << 32), segment(arena, 4, min, 1L << 32),
                    segment(arena, 5, 1, 7), out, 3);
                assertArrayEquals(new long[]{17, min + 1, 7}, array(out));
            }
        }
    }

    @Test
    void badArgumentsNameTheOperand()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment small = arena.allocate(4 * Long.BYTES);
            final MemorySegment big = arena.allocate(8 * Long.BYTES);
            for (final RingKernels k : new RingKernels[]{SCALAR, VECTOR})
            {
                assertMessage(assertThrows(IllegalArgumentException.class, () -> k.add(small, big, big, 8)), "a too small");
                assertMessage(assertThrows(IllegalArgumentException.class, () -> k.add(big, small, big, 8)), "b too small");
                assertMessage(assertThrows(IllegalArgumentException.class, () -> k.sub(big, big, small, 8)),
                    "out too small");
                assertMessage(assertThrows(IllegalArgumentException.class,
                    () -> k.fusedMultiplyAdd(big, big, small, big, 8)), "c too small");
                assertMessage(assertThrows(IllegalArgumentException.class, () -> k.negate(big, big, -1)), "-1");
                assertMessage(assertThrows(IllegalArgumentException.class,
                    () -> k.shiftRightArithmetic(big, 64, big, 8)), "64");
                assertMessage(assertThrows(IllegalArgumentException.class,
                    () -> k.shiftRightArithmetic(big, -1, big, 8)), "-1");
            }
        }
        final Arena closed = Arena.ofConfined();
        final MemorySegment dead = closed.allocate(8 * Long.BYTES);
        closed.close();
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment live = arena.allocate(8 * Long.BYTES);
            assertMessage(assertThrows(IllegalStateException.class, () -> VECTOR.add(live, dead, live, 8)), "b");
        }
    }

    static void assertGuardIntact(final MemorySegment s, final long n, final String what)
    {
        for (long i = n; i < n + GUARD; i++)
        {
            assertTrue(s.getAtIndex(ELEMENT, i) == SENTINEL, what + " wrote past n=" + n + " at " + i);
        }
    }

    static void assertMessage(final Exception e, final String expected)
    {
        assertTrue(e.getMessage().contains(expected), "message '" + e.getMessage() + "' lacks '" + expected + "'");
    }

    static MemorySegment segment(final Arena arena, final long... values)
    {
        final MemorySegment s = arena.allocate(Math.max(1, values.length) * (long)Long.BYTES, RingTensor.ALIGNMENT_BYTES);
        MemorySegment.copy(values, 0, s, ELEMENT, 0, values.length);
        return s;
    }

    @FunctionalInterface
    interface Binary
    {
        void apply(MemorySegment a, MemorySegment b, MemorySegment out, long n);
    }

    @FunctionalInterface
    interface Unary
    {
        void apply(MemorySegment a, MemorySegment out, long n);
    }

    private static long[] binary(final Binary op, final long[] a, final long[] b)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment out = arena.allocate(a.length * (long)Long.BYTES);
            op.apply(segment(arena, a), segment(arena, b), out, a.length);
            return array(out);
        }
    }

    private static long[] unary(final Unary op, final long[] a)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment out = arena.allocate(a.length * (long)Long.BYTES);
            op.apply(segment(arena, a), out, a.length);
            return array(out);
        }
    }

    /**
     * Heap segments are accepted and give the same words as off-heap ones (the vector backend hands them to the
     * scalar twin so that no vector access ever sees a heap segment), for every operation and for a product.
     */
    @Test
    void heapSegmentsMatchOffHeap()
    {
        final SplittableRandom random = new SplittableRandom(4);
        final int n = 2 * maxLanes() + 5;
        try (Arena arena = Arena.ofConfined())
        {
            for (final NamedOp op : ops())
            {
                final long[] a = random.longs(n).toArray();
                final long[] b = random.longs(n).toArray();
                final long[] c = random.longs(n).toArray();
                final long[] heapOut = new long[n];
                op.op().apply(VECTOR, MemorySegment.ofArray(a), MemorySegment.ofArray(b), MemorySegment.ofArray(c),
                    MemorySegment.ofArray(heapOut), n);
                final MemorySegment out = arena.allocate((long)n * Long.BYTES);
                op.op().apply(VECTOR, copy(arena, a), copy(arena, b), copy(arena, c), out, n);
                assertArrayEquals(out.toArray(ELEMENT), heapOut, op.name());
            }
            final int m = 9;
            final int k = 13;
            final int cols = 2 * maxLanes() + 3;
            final long[] x = random.longs((long)m * k).toArray();
            final long[] w = random.longs((long)k * cols).toArray();
            final long[] heapProduct = new long[m * cols];
            VECTOR.matmul(MemorySegment.ofArray(x), MemorySegment.ofArray(w), MemorySegment.ofArray(heapProduct), m, k,
                cols);
            final MemorySegment product = arena.allocate((long)m * cols * Long.BYTES);
            VECTOR.matmul(copy(arena, x), copy(arena, w), product, m, k, cols);
            assertArrayEquals(product.toArray(ELEMENT), heapProduct, "matmul");
        }
    }

    private static MemorySegment copy(final Arena arena, final long[] values)
    {
        final MemorySegment s = arena.allocate((long)values.length * Long.BYTES);
        MemorySegment.copy(values, 0, s, ELEMENT, 0, values.length);
        return s;
    }
}
