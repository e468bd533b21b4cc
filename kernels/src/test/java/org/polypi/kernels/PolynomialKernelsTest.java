package org.polypi.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.polypi.kernels.ElementwiseKernelsTest.array;
import static org.polypi.kernels.ElementwiseKernelsTest.assertGuardIntact;
import static org.polypi.kernels.ElementwiseKernelsTest.assertMessage;
import static org.polypi.kernels.ElementwiseKernelsTest.copyOf;
import static org.polypi.kernels.ElementwiseKernelsTest.guarded;
import static org.polypi.kernels.ElementwiseKernelsTest.lengths;
import static org.polypi.kernels.ElementwiseKernelsTest.segment;
import static org.polypi.kernels.ElementwiseKernelsTest.values;
import static org.polypi.kernels.RingTensor.ELEMENT;

/**
 * Polynomial evaluation and HoneyBadger power reconstruction: vector against scalar bit for bit, hand-checked
 * values, and the protocol property that the two parties' outputs add up to the powers of the opened input.
 */
final class PolynomialKernelsTest
{
    private static final RingKernels SCALAR = ScalarRingKernels.INSTANCE;
    private static final RingKernels VECTOR = VectorRingKernels.INSTANCE;
    private static final RingKernels[] BOTH = {SCALAR, VECTOR};

    @Test
    void polynomialVectorMatchesScalarInAndOutOfPlace()
    {
        final SplittableRandom random = new SplittableRandom(11);
        for (final int n : lengths(random))
        {
            try (Arena arena = Arena.ofConfined())
            {
                final MemorySegment x = values(arena, n, random);
                for (int degree = 0; degree <= 6; degree++)
                {
                    final long[] coefficients = random.longs(degree + 1).toArray();
                    coefficients[0] = degree == 1 ? Long.MIN_VALUE : coefficients[0];
                    final MemorySegment expected = guarded(arena, n);
                    final MemorySegment actual = guarded(arena, n);
                    SCALAR.polynomial(x, coefficients, expected, n);
                    VECTOR.polynomial(x, coefficients, actual, n);
                    final String what = "degree " + degree + " n=" + n;
                    assertArrayEquals(array(expected), array(actual), what);
                    assertGuardIntact(actual, n, what);
                    for (final RingKernels k : BOTH)
                    {
                        final MemorySegment inPlace = copyOf(arena, x);
                        k.polynomial(inPlace, coefficients, inPlace, n);
                        assertArrayEquals(array(expected), array(inPlace), what + " in place " + k.name());
                    }
                }
            }
        }
    }

    @Test
    void polynomialOnHandCheckedValues()
    {
        for (final RingKernels k : BOTH)
        {
            try (Arena arena = Arena.ofConfined())
            {
                final MemorySegment x = segment(arena, 0, 1, 2, -1, 1L << 32, Long.MIN_VALUE);
                final MemorySegment out = arena.allocate(6 * Long.BYTES);
                // 1 + 2x + 3x^2: coefficient j multiplies x^j.
                k.polynomial(x, new long[]{1, 2, 3}, out, 6);
                assertArrayEquals(new long[]{1, 6, 17, 2, 2 * (1L << 32) + 1, 1}, array(out), k.name());
                k.polynomial(x, new long[]{-7}, out, 6);
                assertArrayEquals(new long[]{-7, -7, -7, -7, -7, -7}, array(out), k.name() + " constant");
                // x^3 - x wraps: (2^32)^3 = 0 in the ring.
                k.polynomial(x, new long[]{0, -1, 0, 1}, out, 6);
                assertArrayEquals(new long[]{0, 0, 6, 0, -(1L << 32), Long.MIN_VALUE}, array(out), k.name() + " cubic");
                assertMessage(assertThrows(IllegalArgumentException.class, () -> k.polynomial(x, new long[0], out, 6)),
                    "coefficients");
            }
        }
    }

    @Test
    void binomialTableIsPascalsTriangleModuloTwoToThe64()
    {
        final long[][] table = ScalarElementwise.binomialTable(70);
        assertArrayEquals(new long[]{1, 4, 6, 4, 1}, table[4]);
        assertEquals(252, table[10][5]);
        // C(66, 33) = 7219428434016265740 still fits; C(70, 35) = 112186277816662845432 does not, and wraps.
        assertEquals(7219428434016265740L, table[66][33]);
        assertEquals(new java.math.BigInteger("112186277816662845432").longValue(), table[70][35]);
    }

    @Test
    void powersReconstructTheOpenedInputsPowers()
    {
        final SplittableRandom random = new SplittableRandom(12);
        for (final int degree : new int[]{1, 2, 3, 4, 5, 6, 9, 70})
        {
            for (final int n : new int[]{1, 7, 8, 33, 101})
            {
                for (final RingKernels k : BOTH)
                {
                    checkReconstruction(k, degree, n, random);
                }
            }
        }
    }

    private static void checkReconstruction(final RingKernels k, final int degree, final int n,
                                            final SplittableRandom random)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final long[] x = new long[n];
            final MemorySegment c = arena.allocate((long)n * Long.BYTES);
            final MemorySegment[] share0 = new MemorySegment[degree];
            final MemorySegment[] share1 = new MemorySegment[degree];
            final MemorySegment[] out0 = new MemorySegment[degree];
            final MemorySegment[] out1 = new MemorySegment[degree];
            for (int j = 0; j < degree; j++)
            {
                share0[j] = arena.allocate((long)n * Long.BYTES);
                share1[j] = arena.allocate((long)n * Long.BYTES);
                out0[j] = arena.allocate((long)n * Long.BYTES);
                out1[j] = arena.allocate((long)n * Long.BYTES);
            }
            for (int e = 0; e < n; e++)
            {
                x[e] = e < ElementwiseKernelsTest.BOUNDARY.length ? ElementwiseKernelsTest.BOUNDARY[e] : random.nextLong();
                final long r = random.nextLong();
                c.setAtIndex(ELEMENT, e, x[e] - r);
                long rPower = 1;
                for (int j = 0; j < degree; j++)
                {
                    rPower *= r;
                    final long s0 = random.nextLong();
                    share0[j].setAtIndex(ELEMENT, e, s0);
                    share1[j].setAtIndex(ELEMENT, e, rPower - s0);
                }
            }
            k.powersFromOpened(c, share0, true, out0, n);
            k.powersFromOpened(c, share1, false, out1, n);
            for (int e = 0; e < n; e++)
            {
                long xPower = 1;
                for (int m = 1; m <= degree; m++)
                {
                    xPower *= x[e];
                    assertEquals(xPower, out0[m - 1].getAtIndex(ELEMENT, e) + out1[m - 1].getAtIndex(ELEMENT, e),
                        k.name() + ": x^" + m + " of element " + e + " (degree " + degree + ", n " + n + ")");
                }
            }
        }
    }

    @Test
    void powersVectorMatchesScalarInAndOutOfPlace()
    {
        final SplittableRandom random = new SplittableRandom(13);
        for (final int n : lengths(random))
        {
            for (final int degree : new int[]{1, 2, 4, 7})
            {
                for (final boolean holdsConstant : new boolean[]{true, false})
                {
                    try (Arena arena = Arena.ofConfined())
                    {
                        final MemorySegment c = values(arena, n, random);
                        final MemorySegment[] r = new MemorySegment[degree];
                        final MemorySegment[] expected = new MemorySegment[degree];
                        final MemorySegment[] actual = new MemorySegment[degree];
                        for (int j = 0; j < degree; j++)
                        {
                            r[j] = values(arena, n, random);
                            expected[j] = guarded(arena, n);
                            actual[j] = guarded(arena, n);
                        }
                        SCALAR.powersFromOpened(c, r, holdsConstant, expected, n);
                        VECTOR.powersFromOpened(c, r, holdsConstant, actual, n);
                        final String what = "degree " + degree + " n=" + n + " holdsConstant=" + holdsConstant;
                        for (int j = 0; j < degree; j++)
                        {
                            assertArrayEquals(array(expected[j]), array(actual[j]), what + " power " + (j + 1));
                            assertGuardIntact(actual[j], n, what);
                        }
                        for (final RingKernels k : BOTH)
                        {
                            // xPowers[j] == rPowers[j] for every j, and x^1 written over c: the documented aliasing.
                            final MemorySegment cCopy = copyOf(arena, c);
                            final MemorySegment[] inPlace = new MemorySegment[degree];
                            for (int j = 0; j < degree; j++)
                            {
                                inPlace[j] = copyOf(arena, r[j]);
                            }
                            k.powersFromOpened(cCopy, inPlace, holdsConstant, inPlace, n);
                            final MemorySegment[] overC = inPlace.clone();
                            final MemorySegment cAgain = copyOf(arena, c);
                            final MemorySegment[] rAgain = new MemorySegment[degree];
                            for (int j = 0; j < degree; j++)
                            {
                                assertArrayEquals(array(expected[j]), array(inPlace[j]), what + " in place " + k.name());
                                rAgain[j] = copyOf(arena, r[j]);
                            }
                            overC[0] = cAgain;
                            k.powersFromOpened(cAgain, rAgain, holdsConstant, overC, n);
                            assertArrayEquals(array(expected[0]), array(cAgain), what + " x over c " + k.name());
                        }
                    }
                }
            }
        }
    }

    @Test
    void powersRejectMismatchedDegrees()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment s = arena.allocate(8 * Long.BYTES);
            for (final RingKernels k : BOTH)
            {
                assertMessage(assertThrows(IllegalArgumentException.class,
                    () -> k.powersFromOpened(s, new MemorySegment[]{s, s}, true, new MemorySegment[]{s}, 8)), "2 and 1");
                assertMessage(assertThrows(IllegalArgumentException.class,
                    () -> k.powersFromOpened(s, new MemorySegment[0], true, new MemorySegment[0], 8)), "0 and 0");
                assertMessage(assertThrows(IllegalArgumentException.class, () -> k.powersFromOpened(s,
                    new MemorySegment[]{s, s.asSlice(0, 8)}, true, new MemorySegment[]{s, s}, 8)), "rPowers[1] too small");
            }
        }
    }

    /**
     * The fused selection and expansion equals its composition from the other kernels (scalar backend), word for
     * word, across block boundaries and tails, at every shift class, for both parties, on boundary and random words.
     */
    @Test
    void selectPowersFromOpenedEqualsItsComposition()
    {
        final SplittableRandom random = new SplittableRandom(61);
        final RingKernels scalar = ScalarRingKernels.INSTANCE;
        final RingKernels vector = VectorRingKernels.INSTANCE;
        final long[] boundary = ElementwiseKernelsTest.BOUNDARY;
        try (Arena arena = Arena.ofConfined())
        {
            for (final int n : new int[]{1, 7, SelectedPowers.BLOCK - 1, SelectedPowers.BLOCK, 2 * SelectedPowers.BLOCK + 5})
            {
                for (final int degree : new int[]{1, 2, 4, 6})
                {
                    for (final int shift : new int[]{0, 1, 16, 32, 33, 62, 63})
                    {
                        final long addend = random.nextLong();
                        final long[] c = new long[n];
                        for (int e = 0; e < n; e++)
                        {
                            c[e] = e < boundary.length ? boundary[e] : random.nextLong();
                        }
                        final MemorySegment cs = segment(arena, c);
                        final MemorySegment[] base = new MemorySegment[degree];
                        final MemorySegment[] diff = new MemorySegment[CandidateDifferences.words(shift, degree)];
                        for (int i = 0; i < degree; i++)
                        {
                            base[i] = segment(arena, random.longs(n).toArray());
                        }
                        for (int w = 0; w < diff.length; w++)
                        {
                            diff[w] = segment(arena, random.longs(n).toArray());
                        }
                        // Each power's difference as a full word, expanded from its (possibly packed) word by hand.
                        final boolean packed = diff.length < degree;
                        final MemorySegment[] fullDiff = new MemorySegment[degree];
                        for (int i = 0; i < degree; i++)
                        {
                            final long[] words = array(diff[packed ? i / 2 : i]);
                            for (int e = 0; e < n; e++)
                            {
                                words[e] = !packed ? words[e] : i % 2 == 0 ? words[e] << (64 - shift) :
                                    (words[e] >>> 32) << (64 - shift);
                            }
                            fullDiff[i] = segment(arena, words);
                        }
                        for (final boolean holds : new boolean[]{true, false})
                        {
                            // The oracle: the composition the engine used before the fused kernel.
                            final MemorySegment p = arena.allocate((long)n * Long.BYTES);
                            scalar.shiftRightArithmetic(cs, shift, p, n);
                            scalar.addConstant(p, addend, p, n);
                            final MemorySegment negMsb = arena.allocate((long)n * Long.BYTES);
                            scalar.shiftRightArithmetic(cs, 63, negMsb, n);
                            final MemorySegment[] q = new MemorySegment[degree];
                            final MemorySegment[] expected = new MemorySegment[degree];
                            final MemorySegment[] fused = new MemorySegment[degree];
                            for (int i = 0; i < degree; i++)
                            {
                                q[i] = arena.allocate((long)n * Long.BYTES);
                                scalar.fusedMultiplyAdd(negMsb, fullDiff[i], base[i], q[i], n);
                                expected[i] = arena.allocate((long)n * Long.BYTES);
                                fused[i] = arena.allocate((long)n * Long.BYTES);
                            }
                            scalar.powersFromOpened(p, q, holds, expected, n);
                            final RingKernels k = random.nextBoolean() ? scalar : vector;
                            k.selectPowersFromOpened(cs, shift, addend, base, diff, holds, fused, n);
                            for (int i = 0; i < degree; i++)
                            {
                                assertArrayEquals(array(expected[i]), array(fused[i]), "n " + n + ", degree " +
                                    degree + ", shift " + shift + ", holds " + holds + ", power " + (i + 1));
                            }
                        }
                    }
                }
            }
            final MemorySegment one = segment(arena, 1L);
            final MemorySegment two = segment(arena, 1L, 2L);
            assertMessage(assertThrows(IllegalArgumentException.class, () -> scalar.selectPowersFromOpened(one, 0, 0,
                new MemorySegment[]{one}, new MemorySegment[0], true, new MemorySegment[]{one}, 1)),
                "diff: 0 difference words for degree 1 and shift 0, expected 1");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> scalar.selectPowersFromOpened(one, 16, 0,
                new MemorySegment[]{one, one}, new MemorySegment[]{one, one}, true, new MemorySegment[]{one, one}, 1)),
                "diff: 2 difference words for degree 2 and shift 16, expected 1 (packed lanes)");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> scalar.selectPowersFromOpened(one, 64, 0,
                new MemorySegment[]{one}, new MemorySegment[]{one}, true, new MemorySegment[]{one}, 1)),
                "shift must be in [0, 63], was 64");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> scalar.selectPowersFromOpened(two, 0, 0,
                new MemorySegment[]{two}, new MemorySegment[]{two}, true, new MemorySegment[]{one}, 2)),
                "out[0] too small");
        }
    }

    @Test
    void polynomialFromOpenedEqualsSelectedPowersCombined()
    {
        final SplittableRandom random = new SplittableRandom(67);
        final RingKernels scalar = ScalarRingKernels.INSTANCE;
        final long[] boundary = ElementwiseKernelsTest.BOUNDARY;
        try (Arena arena = Arena.ofConfined())
        {
            for (final int n : new int[]{1, 9, OpenedPolynomial.BLOCK - 1, OpenedPolynomial.BLOCK,
                3 * OpenedPolynomial.BLOCK + 17})
            {
                for (int trial = 0; trial < 12; trial++)
                {
                    final int copies = 1 + random.nextInt(3);
                    final long[] c = new long[n];
                    for (int e = 0; e < n; e++)
                    {
                        c[e] = e < boundary.length ? boundary[e] : random.nextLong();
                    }
                    final MemorySegment cs = segment(arena, c);
                    final MemorySegment z = segment(arena, random.longs(n).toArray());
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
                        // Half the copies in the packed range, as the engine's plans mostly are.
                        shifts[j] = random.nextBoolean() ? 1 + random.nextInt(CandidateDifferences.MAX_PACKED_SHIFT) :
                            random.nextInt(64);
                        addends[j] = random.nextLong();
                        base[j] = new MemorySegment[degree];
                        diff[j] = new MemorySegment[CandidateDifferences.words(shifts[j], degree)];
                        multipliers[j] = new long[degree];
                        for (int w = 0; w < diff[j].length; w++)
                        {
                            diff[j][w] = segment(arena, random.longs(n).toArray());
                        }
                        for (int i = 0; i < degree; i++)
                        {
                            base[j][i] = segment(arena, random.longs(n).toArray());
                            // Zeros as the plan has them: skipped powers, and powers taken from another copy.
                            multipliers[j][i] = random.nextInt(3) == 0 ? 0L : random.nextLong();
                        }
                    }
                    for (final boolean holds : new boolean[]{true, false})
                    {
                        // The oracle: every copy's selected powers, then the public combination term by term.
                        final MemorySegment expected = arena.allocate((long)n * Long.BYTES);
                        final MemorySegment term = arena.allocate((long)n * Long.BYTES);
                        if (holds)
                        {
                            scalar.addConstant(expected, constant, expected, n);
                        }
                        scalar.multiplyConstant(z, zMultiplier, term, n);
                        scalar.add(expected, term, expected, n);
                        for (int j = 0; j < copies; j++)
                        {
                            final int degree = multipliers[j].length;
                            final MemorySegment[] powers = new MemorySegment[degree];
                            for (int i = 0; i < degree; i++)
                            {
                                powers[i] = arena.allocate((long)n * Long.BYTES);
                            }
                            scalar.selectPowersFromOpened(cs, shifts[j], addends[j], base[j], diff[j], holds, powers,
                                n);
                            for (int i = 0; i < degree; i++)
                            {
                                scalar.multiplyConstant(powers[i], multipliers[j][i], term, n);
                                scalar.add(expected, term, expected, n);
                            }
                        }
                        for (final RingKernels k : new RingKernels[]{scalar, VectorRingKernels.INSTANCE})
                        {
                            final MemorySegment fused = arena.allocate((long)n * Long.BYTES);
                            k.polynomialFromOpened(cs, shifts, addends, base, diff, multipliers,
                                zMultiplier == 0 ? null : z, zMultiplier, holds, constant, fused, n);
                            assertArrayEquals(array(expected), array(fused), k + ", n " + n + ", trial " + trial +
                                ", holds " + holds + ", copies " + copies);
                        }
                    }
                }
            }
            final MemorySegment one = segment(arena, 1L);
            final MemorySegment two = segment(arena, 1L, 2L);
            final MemorySegment[][] single = {{one}};
            assertMessage(assertThrows(IllegalArgumentException.class, () -> scalar.polynomialFromOpened(one,
                new int[]{64}, new long[1], single, single, new long[][]{{1}}, null, 0, true, 0, one, 1)),
                "shift of copy 0 must be in [0, 63], was 64");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> scalar.polynomialFromOpened(one,
                new int[]{0}, new long[1], single, single, new long[][]{{1, 2}}, null, 0, true, 0, one, 1)),
                "copy 0: base and multipliers must have the same positive length");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> scalar.polynomialFromOpened(one,
                new int[]{0}, new long[1], single, single, new long[][]{{1}}, null, 3, true, 0, one, 1)),
                "z is required");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> scalar.polynomialFromOpened(two,
                new int[]{0}, new long[1], new MemorySegment[][]{{two}}, single, new long[][]{{1}}, null, 0, true, 0,
                two, 2)), "diff[0][0] too small");
        }
    }
}
