package org.polypi.nativekernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.polypi.kernels.CandidateDifferences;
import org.polypi.kernels.Kernels;
import org.polypi.kernels.RingKernels;
import org.polypi.kernels.ScalarRingKernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The native kernels must equal the scalar oracle bit for bit (and a private triple loop, so a failure says which
 * side is wrong) on every shape class the C code treats differently: row and column tails of the 4 x 32
 * micro-kernel, several inner-dimension blocks, the unpacked few-row paths, heap and unaligned segments, and calls
 * on both sides of the critical-downcall limit.
 */
final class NativeRingKernelsTest
{
    private static final String RESOURCE = "/native/linux-x86_64/libpolypi.so";
    private static final long SEED = 0x5EED_0F_9017L;
    private static final int SMALL_MAX = 17;
    /** Shapes past the small range: several k blocks (KC = 256), m >= 8 (packed panels), column tails, big calls. */
    private static final int[][] BIG_SHAPES = {
        {70, 65, 33}, {9, 600, 70}, {3, 784, 128}, {64, 300, 97}, {33, 513, 32}, {1, 1000, 65}, {128, 64, 128},
    };
    private static final long[] BOUNDARY = {0, 1, -1, 2, Long.MIN_VALUE, Long.MAX_VALUE, Long.MIN_VALUE + 1,
        0x8000_0000L, 0xFFFF_FFFFL, 0x1_0000_0000L};

    private enum Product
    {
        AB, A_BT, AT_B
    }

    private static RingKernels nativeKernels;

    @BeforeAll
    static void loadLibrary()
    {
        final boolean built = NativeRingKernelsTest.class.getResource(RESOURCE) != null ||
            System.getProperty(NativeLibrary.LIBRARY_PROPERTY) != null;
        if (!built)
        {
            final String why = "native tests skipped: " + RESOURCE + " was not built (gcc missing or platform " +
                "unsupported at build time): " + NativeRingKernels.unavailableReason().orElse("?");
            System.out.println(why);
            assumeTrue(false, why);
        }
        // Built but not loadable is a real failure, not a reason to skip.
        assertTrue(NativeRingKernels.isAvailable(), () -> "library built but unavailable: " +
            NativeRingKernels.unavailableReason().orElse("?"));
        nativeKernels = NativeRingKernels.instance();
    }

    @Test
    void byNameFindsTheNativeBackend()
    {
        final RingKernels byName = Kernels.byName("native");
        assertSame(NativeRingKernels.instance(), byName);
        assertEquals("native", byName.name());
    }

    @Test
    void matmulEqualsOracleOnAllSmallShapes()
    {
        final SplittableRandom random = new SplittableRandom(SEED);
        for (int m = 1; m <= SMALL_MAX; m++)
        {
            for (int k = 1; k <= SMALL_MAX; k++)
            {
                for (int n = 1; n <= SMALL_MAX; n++)
                {
                    checkProduct(Product.AB, m, k, n, random);
                }
            }
        }
    }

    @Test
    void transposedProductsEqualOracleOnSmallShapes()
    {
        final SplittableRandom random = new SplittableRandom(SEED + 1);
        for (int m = 1; m <= SMALL_MAX; m += 2)
        {
            for (int k = 1; k <= SMALL_MAX; k += 2)
            {
                for (int n = 1; n <= SMALL_MAX; n++)
                {
                    checkProduct(Product.A_BT, m, k, n, random);
                    checkProduct(Product.AT_B, m, k, n, random);
                }
            }
        }
    }

    @Test
    void productsEqualOracleOnBigShapes()
    {
        final SplittableRandom random = new SplittableRandom(SEED + 2);
        for (final int[] s : BIG_SHAPES)
        {
            for (final Product product : Product.values())
            {
                checkProduct(product, s[0], s[1], s[2], random);
            }
        }
    }

    @Test
    void productsWrapOnBoundaryValues()
    {
        final SplittableRandom random = new SplittableRandom(SEED + 3);
        for (final Product product : Product.values())
        {
            for (final int[] s : new int[][] {{5, 9, 37}, {12, 260, 40}})
            {
                final long[] a = boundary(s[0] * s[1], random);
                final long[] b = boundary(s[1] * s[2], random);
                checkProduct(product, s[0], s[1], s[2], a, b, false);
            }
        }
    }

    @Test
    void productsReadHeapAndUnalignedSegments()
    {
        final SplittableRandom random = new SplittableRandom(SEED + 4);
        for (final Product product : Product.values())
        {
            for (final int[] s : new int[][] {{7, 11, 35}, {70, 65, 33}})
            {
                final long[] a = random(s[0] * s[1], random);
                final long[] b = random(s[1] * s[2], random);
                checkProduct(product, s[0], s[1], s[2], a, b, true);
            }
        }
        final long[] a = random(6 * 10, random);
        final long[] b = random(10 * 40, random);
        final long[] c = new long[6 * 40];
        nativeKernels.matmul(MemorySegment.ofArray(a), MemorySegment.ofArray(b), MemorySegment.ofArray(c), 6, 10, 40);
        assertArrayEquals(reference(Product.AB, a, b, 6, 10, 40), c, "heap segments");
    }

    @Test
    void polynomialEqualsOracle()
    {
        final SplittableRandom random = new SplittableRandom(SEED + 5);
        final int[] sizes = {0, 1, 7, 63, 64, 65, 129, 1000, 100_003};
        for (int degree = 0; degree <= 5; degree++)
        {
            for (final int n : sizes)
            {
                final long[] coefficients = random(degree + 1, random);
                if (degree % 2 == 1)
                {
                    coefficients[degree] = BOUNDARY[random.nextInt(BOUNDARY.length)];
                }
                final long[] x = n % 2 == 0 ? random(n, random) : boundary(n, random);
                checkPolynomial(x, coefficients);
            }
        }
    }

    @Test
    void polynomialInPlace()
    {
        final SplittableRandom random = new SplittableRandom(SEED + 6);
        final long[] coefficients = {3, -5, 7, Long.MIN_VALUE, 11};
        for (final int n : new int[] {13, 100_003})
        {
            final long[] x = random(n, random);
            try (Arena arena = Arena.ofConfined())
            {
                final MemorySegment xs = segment(arena, x);
                nativeKernels.polynomial(xs, coefficients, xs, n);
                assertArrayEquals(horner(x, coefficients), xs.toArray(ValueLayout.JAVA_LONG), "in place, n=" + n);
            }
        }
    }

    @Test
    void fusedActivationEqualsOracle()
    {
        // The scalar backend's block form is itself tested against the composition of selected powers, constant
        // products and sums (PolynomialKernelsTest); here C must equal it on every path of its program walk: one
        // to three copies, degrees 1 to 6, packed and unpacked differences, zero multipliers (vanishing terms), z
        // or not, both parties, tails of the two-vector step, and out in place over c or z.
        final SplittableRandom random = new SplittableRandom(SEED + 9);
        final RingKernels scalar = ScalarRingKernels.INSTANCE;
        try (Arena arena = Arena.ofConfined())
        {
            for (final int n : new int[]{0, 1, 15, 16, 17, 33, 1000, 4099})
            {
                for (int trial = 0; trial < 10; trial++)
                {
                    final int copies = 1 + random.nextInt(3);
                    final long[] c = n % 2 == 0 ? random(n, random) : boundary(n, random);
                    final long[] z = random(n, random);
                    final long zMultiplier = random.nextBoolean() ? 0L : random.nextLong();
                    final long constant = random.nextLong();
                    final int[] shifts = new int[copies];
                    final long[] addends = new long[copies];
                    final MemorySegment[][] base = new MemorySegment[copies][];
                    final MemorySegment[][] diff = new MemorySegment[copies][];
                    final long[][] multipliers = new long[copies][];
                    for (int j = 0; j < copies; j++)
                    {
                        final int degree = 1 + random.nextInt(6);
                        shifts[j] = random.nextBoolean() ?
                            1 + random.nextInt(CandidateDifferences.MAX_PACKED_SHIFT) : random.nextInt(64);
                        addends[j] = random.nextLong();
                        base[j] = new MemorySegment[degree];
                        diff[j] = new MemorySegment[CandidateDifferences.words(shifts[j], degree)];
                        multipliers[j] = new long[degree];
                        for (int w = 0; w < diff[j].length; w++)
                        {
                            diff[j][w] = segment(arena, random(n, random));
                        }
                        for (int i = 0; i < degree; i++)
                        {
                            base[j][i] = segment(arena, random(n, random));
                            multipliers[j][i] = random.nextInt(3) == 0 ? 0L : random.nextLong();
                        }
                    }
                    for (final boolean holds : new boolean[]{true, false})
                    {
                        final MemorySegment cs = segment(arena, c);
                        final MemorySegment zs = segment(arena, z);
                        final MemorySegment expected = arena.allocate(Math.max(1, n) * (long)Long.BYTES);
                        scalar.polynomialFromOpened(cs, shifts, addends, base, diff, multipliers, zs, zMultiplier,
                            holds, constant, expected, n);
                        final long[] want = expected.asSlice(0, (long)n * Long.BYTES).toArray(ValueLayout.JAVA_LONG);
                        final MemorySegment out = arena.allocate(Math.max(1, n) * (long)Long.BYTES);
                        nativeKernels.polynomialFromOpened(cs, shifts, addends, base, diff, multipliers, zs,
                            zMultiplier, holds, constant, out, n);
                        final String what = "n " + n + ", trial " + trial + ", holds " + holds + ", copies " + copies;
                        assertArrayEquals(want, out.asSlice(0, (long)n * Long.BYTES).toArray(ValueLayout.JAVA_LONG),
                            what);
                        final MemorySegment inPlace = trial % 2 == 0 ? cs : zs;
                        nativeKernels.polynomialFromOpened(cs, shifts, addends, base, diff, multipliers, zs,
                            zMultiplier, holds, constant, inPlace, n);
                        assertArrayEquals(want, inPlace.asSlice(0, (long)n * Long.BYTES)
                            .toArray(ValueLayout.JAVA_LONG), what + ", in place over " + (trial % 2 == 0 ? "c" : "z"));
                    }
                }
            }
        }
    }

    @Test
    void fusedActivationReadsHeapSegmentsAndRejectsBadInput()
    {
        final SplittableRandom random = new SplittableRandom(SEED + 10);
        final int n = 37;
        final long[] c = random(n, random);
        final long[][] material = new long[6][];
        for (int i = 0; i < material.length; i++)
        {
            material[i] = random(n, random);
        }
        final long[][] multipliers = {{5, -3, 7, 11}};
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment[][] base = {{segment(arena, material[0]), MemorySegment.ofArray(material[1]),
                segment(arena, material[2]), segment(arena, material[3])}};
            final MemorySegment[][] diff = {{segment(arena, material[4]), segment(arena, material[5])}};
            final int[] shifts = {16};
            final long[] addends = {1L << 46};
            final MemorySegment expected = arena.allocate((long)n * Long.BYTES);
            ScalarRingKernels.INSTANCE.polynomialFromOpened(segment(arena, c), shifts, addends, base, diff,
                multipliers, null, 0, true, 9, expected, n);
            final long[] out = new long[n];
            nativeKernels.polynomialFromOpened(MemorySegment.ofArray(c), shifts, addends, base, diff, multipliers,
                null, 0, true, 9, MemorySegment.ofArray(out), n);
            assertArrayEquals(expected.toArray(ValueLayout.JAVA_LONG), out, "heap c, base and out");
            final MemorySegment[][] shortDiff = {{diff[0][0], segment(arena, new long[n - 1])}};
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> nativeKernels.polynomialFromOpened(segment(arena, c), shifts, addends, base, shortDiff,
                    multipliers, null, 0, true, 9, expected, n));
            assertTrue(e.getMessage().startsWith("diff[0][1] too small"), e.getMessage());
        }
    }

    @Test
    void delegatedOperationsWork()
    {
        final SplittableRandom random = new SplittableRandom(SEED + 7);
        final int n = 1001;
        final long[] a = random(n, random);
        final long[] b = random(n, random);
        final long[] sum = new long[n];
        for (int i = 0; i < n; i++)
        {
            sum[i] = a[i] + b[i];
        }
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment out = arena.allocate((long)n * Long.BYTES, Long.BYTES);
            nativeKernels.add(segment(arena, a), segment(arena, b), out, n);
            assertArrayEquals(sum, out.toArray(ValueLayout.JAVA_LONG));
        }
    }

    @Test
    void rejectsUndersizedOperandsBeforeCallingC()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment a = arena.allocate(4L * 5 * Long.BYTES);
            final MemorySegment b = arena.allocate(5L * 6 * Long.BYTES);
            final MemorySegment c = arena.allocate(4L * 6 * Long.BYTES - 1);
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> nativeKernels.matmul(a, b, c, 4, 5, 6));
            assertTrue(e.getMessage().contains("c too small"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> nativeKernels.polynomial(a, new long[0], a, 1));
        }
    }

    // ---- helpers -----------------------------------------------------------------------------------------

    private static void checkProduct(final Product product, final int m, final int k, final int n,
                                     final SplittableRandom random)
    {
        checkProduct(product, m, k, n, random(m * k, random), random(k * n, random), false);
    }

    /** Runs the product natively and with the scalar oracle; with {@code odd} the operands sit at odd offsets. */
    private static void checkProduct(final Product product, final int m, final int k, final int n, final long[] a,
                                     final long[] b, final boolean odd)
    {
        final String where = product + " " + m + "x" + k + "x" + n + (odd ? " (unaligned slices)" : "");
        final long[] expected = reference(product, a, b, m, k, n);
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment as = odd ? oddSlice(arena, a, 1) : segment(arena, a);
            final MemorySegment bs = odd ? oddSlice(arena, b, 3) : segment(arena, b);
            final MemorySegment cNative = odd ? oddSlice(arena, new long[m * n], 5) :
                arena.allocate((long)m * n * Long.BYTES, Long.BYTES);
            // C must be overwritten, not accumulated into.
            cNative.fill((byte)0x5A);
            run(nativeKernels, product, as, bs, cNative, m, k, n);
            assertArrayEquals(expected, cNative.toArray(ValueLayout.JAVA_LONG), where + ": native vs triple loop");

            final MemorySegment cScalar = arena.allocate((long)m * n * Long.BYTES, Long.BYTES);
            run(ScalarRingKernels.INSTANCE, product, as, bs, cScalar, m, k, n);
            assertArrayEquals(cScalar.toArray(ValueLayout.JAVA_LONG), cNative.toArray(ValueLayout.JAVA_LONG),
                where + ": native vs scalar oracle");
        }
    }

    private static void checkPolynomial(final long[] x, final long[] coefficients)
    {
        final int n = x.length;
        final String where = "degree " + (coefficients.length - 1) + ", n=" + n;
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment xs = segment(arena, x);
            final MemorySegment outNative = arena.allocate(Math.max(1, n) * (long)Long.BYTES, Long.BYTES);
            final MemorySegment outScalar = arena.allocate(Math.max(1, n) * (long)Long.BYTES, Long.BYTES);
            nativeKernels.polynomial(xs, coefficients, outNative, n);
            ScalarRingKernels.INSTANCE.polynomial(xs, coefficients, outScalar, n);
            final long[] got = outNative.asSlice(0, (long)n * Long.BYTES).toArray(ValueLayout.JAVA_LONG);
            assertArrayEquals(horner(x, coefficients), got, where + ": native vs Horner loop");
            assertArrayEquals(outScalar.asSlice(0, (long)n * Long.BYTES).toArray(ValueLayout.JAVA_LONG), got,
                where + ": native vs scalar oracle");
        }
    }

    private static void run(final RingKernels kernels, final Product product, final MemorySegment a,
                            final MemorySegment b, final MemorySegment c, final int m, final int k, final int n)
    {
        switch (product)
        {
            case AB -> kernels.matmul(a, b, c, m, k, n);
            case A_BT -> kernels.matmulTransposedB(a, b, c, m, k, n);
            case AT_B -> kernels.matmulTransposedA(a, b, c, m, k, n);
        }
    }

    /** C = op(A) op(B) by definition; A is m x k (AT_B: k x m), B is k x n (A_BT: n x k). */
    private static long[] reference(final Product product, final long[] a, final long[] b, final int m, final int k,
                                    final int n)
    {
        final long[] c = new long[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                long sum = 0;
                for (int p = 0; p < k; p++)
                {
                    final long av = product == Product.AT_B ? a[p * m + i] : a[i * k + p];
                    final long bv = product == Product.A_BT ? b[j * k + p] : b[p * n + j];
                    sum += av * bv;
                }
                c[i * n + j] = sum;
            }
        }
        return c;
    }

    private static long[] horner(final long[] x, final long[] coefficients)
    {
        final long[] out = new long[x.length];
        for (int i = 0; i < x.length; i++)
        {
            long acc = 0;
            for (int j = coefficients.length - 1; j >= 0; j--)
            {
                acc = acc * x[i] + coefficients[j];
            }
            out[i] = acc;
        }
        return out;
    }

    private static long[] random(final int n, final SplittableRandom random)
    {
        final long[] values = new long[n];
        for (int i = 0; i < n; i++)
        {
            values[i] = random.nextLong();
        }
        return values;
    }

    /** Mostly boundary values (0, +-1, MIN, MAX, 2^32 neighbours), a quarter random. */
    private static long[] boundary(final int n, final SplittableRandom random)
    {
        final long[] values = new long[n];
        for (int i = 0; i < n; i++)
        {
            values[i] = random.nextInt(4) == 0 ? random.nextLong() : BOUNDARY[random.nextInt(BOUNDARY.length)];
        }
        return values;
    }

    private static MemorySegment segment(final Arena arena, final long[] values)
    {
        final MemorySegment s = arena.allocate(Math.max(1, values.length) * (long)Long.BYTES, Long.BYTES);
        MemorySegment.copy(values, 0, s, ValueLayout.JAVA_LONG, 0, values.length);
        return s;
    }

    /** The values in a slice that starts {@code elements} longs into a 64-byte aligned block, so not vector aligned. */
    private static MemorySegment oddSlice(final Arena arena, final long[] values, final int elements)
    {
        final long offset = (long)elements * Long.BYTES;
        final MemorySegment block = arena.allocate(offset + (long)values.length * Long.BYTES, 64);
        final MemorySegment s = block.asSlice(offset, (long)values.length * Long.BYTES);
        MemorySegment.copy(values, 0, s, ValueLayout.JAVA_LONG, 0, values.length);
        return s;
    }
}
