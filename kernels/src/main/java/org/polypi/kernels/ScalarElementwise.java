package org.polypi.kernels;

import java.lang.foreign.MemorySegment;

/** Scalar elementwise and polynomial kernels. Arguments are trusted (checked by {@link CheckedRingKernels}). */
final class ScalarElementwise
{
    private ScalarElementwise()
    {
    }

    static void add(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long n) { throw new UnsupportedOperationException("TODO"); }
    static void sub(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long n) { throw new UnsupportedOperationException("TODO"); }
    static void negate(final MemorySegment a, final MemorySegment out, final long n) { throw new UnsupportedOperationException("TODO"); }
    static void multiply(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long n) { throw new UnsupportedOperationException("TODO"); }
    static void multiplyConstant(final MemorySegment a, final long c, final MemorySegment out, final long n) { throw new UnsupportedOperationException("TODO"); }
    static void addConstant(final MemorySegment a, final long c, final MemorySegment out, final long n) { throw new UnsupportedOperationException("TODO"); }
    static void fusedMultiplyAdd(final MemorySegment a, final MemorySegment b, final MemorySegment c, final MemorySegment out, final long n) { throw new UnsupportedOperationException("TODO"); }
    static void shiftRightArithmetic(final MemorySegment a, final int shift, final MemorySegment out, final long n) { throw new UnsupportedOperationException("TODO"); }
    static void polynomial(final MemorySegment x, final long[] coefficients, final MemorySegment out, final long n) { throw new UnsupportedOperationException("TODO"); }
    static void powersFromOpened(final MemorySegment c, final MemorySegment[] rPowers, final boolean holdsConstant, final MemorySegment[] xPowers, final long n) { throw new UnsupportedOperationException("TODO"); }
}
