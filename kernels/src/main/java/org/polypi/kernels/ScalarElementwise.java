package org.polypi.kernels;

import java.lang.foreign.MemorySegment;

import static org.polypi.kernels.RingTensor.ELEMENT;

/**
 * Scalar elementwise and polynomial kernels: the oracle the vector and native backends are tested against, bit
 * for bit, and the fallback without the Vector API. Plain loops written to be obviously right, one element at a
 * time; each element is read before its output is written, so {@code out} may be the same segment as an input.
 * Arguments are trusted (checked by {@link CheckedRingKernels}).
 */
final class ScalarElementwise
{
    private ScalarElementwise()
    {
    }

    static void add(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long n)
    {
        for (long i = 0; i < n; i++)
        {
            out.setAtIndex(ELEMENT, i, a.getAtIndex(ELEMENT, i) + b.getAtIndex(ELEMENT, i));
        }
    }

    static void sub(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long n)
    {
        for (long i = 0; i < n; i++)
        {
            out.setAtIndex(ELEMENT, i, a.getAtIndex(ELEMENT, i) - b.getAtIndex(ELEMENT, i));
        }
    }

    static void negate(final MemorySegment a, final MemorySegment out, final long n)
    {
        for (long i = 0; i < n; i++)
        {
            out.setAtIndex(ELEMENT, i, -a.getAtIndex(ELEMENT, i));
        }
    }

    static void multiply(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long n)
    {
        for (long i = 0; i < n; i++)
        {
            out.setAtIndex(ELEMENT, i, a.getAtIndex(ELEMENT, i) * b.getAtIndex(ELEMENT, i));
        }
    }

    static void multiplyConstant(final MemorySegment a, final long c, final MemorySegment out, final long n)
    {
        for (long i = 0; i < n; i++)
        {
            out.setAtIndex(ELEMENT, i, a.getAtIndex(ELEMENT, i) * c);
        }
    }

    static void addConstant(final MemorySegment a, final long c, final MemorySegment out, final long n)
    {
        for (long i = 0; i < n; i++)
        {
            out.setAtIndex(ELEMENT, i, a.getAtIndex(ELEMENT, i) + c);
        }
    }

    static void fusedMultiplyAdd(final MemorySegment a, final MemorySegment b, final MemorySegment c,
                                 final MemorySegment out, final long n)
    {
        for (long i = 0; i < n; i++)
        {
            out.setAtIndex(ELEMENT, i, a.getAtIndex(ELEMENT, i) * b.getAtIndex(ELEMENT, i) + c.getAtIndex(ELEMENT, i));
        }
    }

    static void shiftRightArithmetic(final MemorySegment a, final int shift, final MemorySegment out, final long n)
    {
        for (long i = 0; i < n; i++)
        {
            out.setAtIndex(ELEMENT, i, a.getAtIndex(ELEMENT, i) >> shift);
        }
    }

    /** Horner's rule, highest coefficient first; {@code coefficients[j]} multiplies {@code x^j}. */
    static void polynomial(final MemorySegment x, final long[] coefficients, final MemorySegment out, final long n)
    {
        final int degree = coefficients.length - 1;
        for (long i = 0; i < n; i++)
        {
            final long xi = x.getAtIndex(ELEMENT, i);
            long acc = coefficients[degree];
            for (int j = degree - 1; j >= 0; j--)
            {
                acc = acc * xi + coefficients[j];
            }
            out.setAtIndex(ELEMENT, i, acc);
        }
    }

    /**
     * The binomial expansion written out term by term, {@code [x^m] = sum_{i=0..m} C(m,i) c^(m-i) [r^i]}, as an
     * oracle independent of the vector backend's Horner form. All inputs of an element are read before any of
     * its outputs is written, so {@code xPowers[j] == rPowers[j]} and {@code xPowers[0] == c} are safe.
     */
    static void powersFromOpened(final MemorySegment c, final MemorySegment[] rPowers, final boolean holdsConstant,
                                 final MemorySegment[] xPowers, final long n)
    {
        final int degree = rPowers.length;
        final long[][] binomial = binomialTable(degree);
        final long[] r = new long[degree + 1];
        final long[] cPower = new long[degree + 1];
        r[0] = holdsConstant ? 1L : 0L;
        cPower[0] = 1L;
        for (long e = 0; e < n; e++)
        {
            final long ce = c.getAtIndex(ELEMENT, e);
            for (int i = 1; i <= degree; i++)
            {
                r[i] = rPowers[i - 1].getAtIndex(ELEMENT, e);
                cPower[i] = cPower[i - 1] * ce;
            }
            for (int m = 1; m <= degree; m++)
            {
                long sum = 0;
                for (int i = 0; i <= m; i++)
                {
                    sum += binomial[m][i] * cPower[m - i] * r[i];
                }
                xPowers[m - 1].setAtIndex(ELEMENT, e, sum);
            }
        }
    }

    /**
     * Pascal's triangle modulo 2^64, rows 0..degree: {@code table[m][i] = C(m, i) mod 2^64}. Addition commutes
     * with reduction mod 2^64, so the wrapped sums are exactly the ring's binomial coefficients even where the
     * integers overflow (m above 66).
     */
    static long[][] binomialTable(final int degree)
    {
        final long[][] table = new long[degree + 1][];
        for (int m = 0; m <= degree; m++)
        {
            table[m] = new long[m + 1];
            table[m][0] = 1L;
            table[m][m] = 1L;
            for (int i = 1; i < m; i++)
            {
                table[m][i] = table[m - 1][i - 1] + table[m - 1][i];
            }
        }
        return table;
    }
}
