package org.polypi.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Above the split threshold the vector backend runs elementwise kernels on several threads: same bits. */
final class ElementwiseParallelTest
{
    private static final long N = VectorRingKernels.PARALLEL_MIN_ELEMENTS + 77;
    private static final RingKernels VECTOR = VectorRingKernels.INSTANCE;
    private static final RingKernels SCALAR = ScalarRingKernels.INSTANCE;

    @Test
    void splitKernelsEqualTheScalarOracleOnSharedSegments()
    {
        assertTrue(WorkerPool.shared().threads() > 1 || Runtime.getRuntime().availableProcessors() == 1);
        try (Arena arena = Arena.ofShared())
        {
            final MemorySegment a = random(arena, 1);
            final MemorySegment b = random(arena, 2);
            final MemorySegment c = random(arena, 3);
            final MemorySegment expected = arena.allocate(N * Long.BYTES);
            final MemorySegment actual = arena.allocate(N * Long.BYTES);
            final long k = 0x9E3779B97F4A7C15L;

            VECTOR.add(a, b, actual, N);
            SCALAR.add(a, b, expected, N);
            assertSame("add", expected, actual);
            VECTOR.sub(a, b, actual, N);
            SCALAR.sub(a, b, expected, N);
            assertSame("sub", expected, actual);
            VECTOR.multiply(a, b, actual, N);
            SCALAR.multiply(a, b, expected, N);
            assertSame("multiply", expected, actual);
            VECTOR.negate(a, actual, N);
            SCALAR.negate(a, expected, N);
            assertSame("negate", expected, actual);
            VECTOR.multiplyConstant(a, k, actual, N);
            SCALAR.multiplyConstant(a, k, expected, N);
            assertSame("multiplyConstant", expected, actual);
            VECTOR.addConstant(a, k, actual, N);
            SCALAR.addConstant(a, k, expected, N);
            assertSame("addConstant", expected, actual);
            VECTOR.fusedMultiplyAdd(a, b, c, actual, N);
            SCALAR.fusedMultiplyAdd(a, b, c, expected, N);
            assertSame("fusedMultiplyAdd", expected, actual);
            VECTOR.shiftRightArithmetic(a, 13, actual, N);
            SCALAR.shiftRightArithmetic(a, 13, expected, N);
            assertSame("shiftRightArithmetic", expected, actual);
            final long[] coefficients = {7, -3, 5, k, -1};
            VECTOR.polynomial(a, coefficients, actual, N);
            SCALAR.polynomial(a, coefficients, expected, N);
            assertSame("polynomial", expected, actual);

            MemorySegment.copy(a, 0, actual, 0, N * Long.BYTES); // in place, split
            VECTOR.add(actual, b, actual, N);
            SCALAR.add(a, b, expected, N);
            assertSame("add in place", expected, actual);
        }
    }

    private static MemorySegment random(final Arena arena, final long seed)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        final MemorySegment s = arena.allocate(N * Long.BYTES);
        for (long i = 0; i < N; i++)
        {
            s.setAtIndex(RingTensor.ELEMENT, i, random.nextLong());
        }
        return s;
    }

    private static void assertSame(final String op, final MemorySegment expected, final MemorySegment actual)
    {
        assertEquals(-1, expected.mismatch(actual), op + ": split vector result differs from the scalar oracle");
    }
}
