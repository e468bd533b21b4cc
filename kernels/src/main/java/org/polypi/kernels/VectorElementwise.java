package org.polypi.kernels;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import static org.polypi.kernels.RingTensor.ELEMENT;

/**
 * Vector API elementwise and polynomial kernels over native-order longs in {@link MemorySegment}s: whole vectors
 * first, then a scalar tail of fewer than one vector (a masked tail would cost more than it saves on machines
 * without AVX-512 mask registers, and the tail is at most 7 elements).
 * <p>
 * Every step loads all of its inputs before it stores its output, at the same offsets, so {@code out} may be the
 * same segment as an input (in place). The kernels with at most one multiply per element are memory-bound, so
 * they stream one {@link #STREAM_SPECIES} vector per step with no unrolling; the polynomial kernels are bound by
 * the multiplier and use the widest vectors. Loop bodies with more than one statement are small static methods,
 * so that C2 compiles them as a unit and keeps the vectors in registers.
 * Arguments are trusted (checked by {@link CheckedRingKernels}).
 */
final class VectorElementwise
{
    static
    {
        // Before any of this class's methods can be compiled: see ClassHierarchy.
        ClassHierarchy.complete();
    }

    /**
     * Species of the kernels with at most one multiply per element, which are bound by memory traffic: the
     * preferred species, but no wider than 256 bits. On the AVX-512 reference machine 256-bit loads and stores
     * streamed 10-35% faster than 512-bit ones once the operands left L2 (add: 45 vs 33 GB/s at 8 MiB per
     * operand, 28 vs 25 GB/s from DRAM), and 4 lanes still leave the multiplier idle most of the time.
     */
    static final VectorSpecies<Long> STREAM_SPECIES =
        LongVector.SPECIES_PREFERRED.vectorBitSize() > LongVector.SPECIES_256.vectorBitSize() ?
            LongVector.SPECIES_256 : LongVector.SPECIES_PREFERRED;
    /**
     * Species of the polynomial kernels, which are bound by the 64-bit multiplier (vpmullq issues at the same
     * rate at any width, so the widest vector doubles the arithmetic rate: Horner of degree 2 ran at 3.9 G
     * elements/s with 512-bit vectors and 2.1 with 256-bit ones from an 8 MiB operand).
     */
    static final VectorSpecies<Long> COMPUTE_SPECIES = LongVector.SPECIES_PREFERRED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final long STREAM_BYTES = STREAM_SPECIES.vectorByteSize();
    private static final long COMPUTE_BYTES = COMPUTE_SPECIES.vectorByteSize();
    private static final int COMPUTE_LANES = COMPUTE_SPECIES.length();

    private VectorElementwise()
    {
    }

    static void add(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long n)
    {
        final long vectorBytes = STREAM_SPECIES.loopBound(n) * Long.BYTES;
        for (long offset = 0; offset < vectorBytes; offset += STREAM_BYTES)
        {
            stream(a, offset).add(stream(b, offset)).intoMemorySegment(out, offset, ORDER);
        }
        for (long i = vectorBytes / Long.BYTES; i < n; i++)
        {
            out.setAtIndex(ELEMENT, i, a.getAtIndex(ELEMENT, i) + b.getAtIndex(ELEMENT, i));
        }
    }

    static void sub(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long n)
    {
        final long vectorBytes = STREAM_SPECIES.loopBound(n) * Long.BYTES;
        for (long offset = 0; offset < vectorBytes; offset += STREAM_BYTES)
        {
            stream(a, offset).sub(stream(b, offset)).intoMemorySegment(out, offset, ORDER);
        }
        for (long i = vectorBytes / Long.BYTES; i < n; i++)
        {
            out.setAtIndex(ELEMENT, i, a.getAtIndex(ELEMENT, i) - b.getAtIndex(ELEMENT, i));
        }
    }

    static void negate(final MemorySegment a, final MemorySegment out, final long n)
    {
        final long vectorBytes = STREAM_SPECIES.loopBound(n) * Long.BYTES;
        for (long offset = 0; offset < vectorBytes; offset += STREAM_BYTES)
        {
            stream(a, offset).neg().intoMemorySegment(out, offset, ORDER);
        }
        for (long i = vectorBytes / Long.BYTES; i < n; i++)
        {
            out.setAtIndex(ELEMENT, i, -a.getAtIndex(ELEMENT, i));
        }
    }

    static void multiply(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long n)
    {
        final long vectorBytes = STREAM_SPECIES.loopBound(n) * Long.BYTES;
        for (long offset = 0; offset < vectorBytes; offset += STREAM_BYTES)
        {
            stream(a, offset).mul(stream(b, offset)).intoMemorySegment(out, offset, ORDER);
        }
        for (long i = vectorBytes / Long.BYTES; i < n; i++)
        {
            out.setAtIndex(ELEMENT, i, a.getAtIndex(ELEMENT, i) * b.getAtIndex(ELEMENT, i));
        }
    }

    static void multiplyConstant(final MemorySegment a, final long c, final MemorySegment out, final long n)
    {
        final long vectorBytes = STREAM_SPECIES.loopBound(n) * Long.BYTES;
        final LongVector cv = LongVector.broadcast(STREAM_SPECIES, c);
        for (long offset = 0; offset < vectorBytes; offset += STREAM_BYTES)
        {
            stream(a, offset).mul(cv).intoMemorySegment(out, offset, ORDER);
        }
        for (long i = vectorBytes / Long.BYTES; i < n; i++)
        {
            out.setAtIndex(ELEMENT, i, a.getAtIndex(ELEMENT, i) * c);
        }
    }

    static void addConstant(final MemorySegment a, final long c, final MemorySegment out, final long n)
    {
        final long vectorBytes = STREAM_SPECIES.loopBound(n) * Long.BYTES;
        final LongVector cv = LongVector.broadcast(STREAM_SPECIES, c);
        for (long offset = 0; offset < vectorBytes; offset += STREAM_BYTES)
        {
            stream(a, offset).add(cv).intoMemorySegment(out, offset, ORDER);
        }
        for (long i = vectorBytes / Long.BYTES; i < n; i++)
        {
            out.setAtIndex(ELEMENT, i, a.getAtIndex(ELEMENT, i) + c);
        }
    }

    static void fusedMultiplyAdd(final MemorySegment a, final MemorySegment b, final MemorySegment c,
                                 final MemorySegment out, final long n)
    {
        final long vectorBytes = STREAM_SPECIES.loopBound(n) * Long.BYTES;
        for (long offset = 0; offset < vectorBytes; offset += STREAM_BYTES)
        {
            stream(a, offset).mul(stream(b, offset)).add(stream(c, offset)).intoMemorySegment(out, offset, ORDER);
        }
        for (long i = vectorBytes / Long.BYTES; i < n; i++)
        {
            out.setAtIndex(ELEMENT, i, a.getAtIndex(ELEMENT, i) * b.getAtIndex(ELEMENT, i) + c.getAtIndex(ELEMENT, i));
        }
    }

    static void shiftRightArithmetic(final MemorySegment a, final int shift, final MemorySegment out, final long n)
    {
        final long vectorBytes = STREAM_SPECIES.loopBound(n) * Long.BYTES;
        for (long offset = 0; offset < vectorBytes; offset += STREAM_BYTES)
        {
            stream(a, offset).lanewise(VectorOperators.ASHR, shift).intoMemorySegment(out, offset, ORDER);
        }
        for (long i = vectorBytes / Long.BYTES; i < n; i++)
        {
            out.setAtIndex(ELEMENT, i, a.getAtIndex(ELEMENT, i) >> shift);
        }
    }

    /** Horner's rule per vector of elements; {@code coefficients[j]} multiplies {@code x^j}. */
    static void polynomial(final MemorySegment x, final long[] coefficients, final MemorySegment out, final long n)
    {
        final long vectorBytes = COMPUTE_SPECIES.loopBound(n) * Long.BYTES;
        final long quadBytes = vectorBytes / (4 * COMPUTE_BYTES) * (4 * COMPUTE_BYTES);
        long offset = 0;
        for (; offset < quadBytes; offset += 4 * COMPUTE_BYTES)
        {
            hornerQuad(x, coefficients, out, offset);
        }
        for (; offset < vectorBytes; offset += COMPUTE_BYTES)
        {
            hornerVector(x, coefficients, out, offset);
        }
        final int degree = coefficients.length - 1;
        for (long i = vectorBytes / Long.BYTES; i < n; i++)
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
     * Horner over four independent vectors at once: a Horner chain is serial (multiply latency, then add), so one
     * vector per step leaves the multiplier idle most cycles; four chains in flight keep it busy. Degree 4 over 1M
     * elements went from 0.74x to 1.47x of copy bandwidth with this change (JMH, bench/results/kernels.md).
     */
    private static void hornerQuad(final MemorySegment x, final long[] coefficients, final MemorySegment out,
                                   final long offset)
    {
        final LongVector x0 = load(x, offset);
        final LongVector x1 = load(x, offset + COMPUTE_BYTES);
        final LongVector x2 = load(x, offset + 2 * COMPUTE_BYTES);
        final LongVector x3 = load(x, offset + 3 * COMPUTE_BYTES);
        final LongVector top = LongVector.broadcast(COMPUTE_SPECIES, coefficients[coefficients.length - 1]);
        LongVector a0 = top;
        LongVector a1 = top;
        LongVector a2 = top;
        LongVector a3 = top;
        for (int j = coefficients.length - 2; j >= 0; j--)
        {
            final LongVector cj = LongVector.broadcast(COMPUTE_SPECIES, coefficients[j]);
            a0 = a0.mul(x0).add(cj);
            a1 = a1.mul(x1).add(cj);
            a2 = a2.mul(x2).add(cj);
            a3 = a3.mul(x3).add(cj);
        }
        a0.intoMemorySegment(out, offset, ORDER);
        a1.intoMemorySegment(out, offset + COMPUTE_BYTES, ORDER);
        a2.intoMemorySegment(out, offset + 2 * COMPUTE_BYTES, ORDER);
        a3.intoMemorySegment(out, offset + 3 * COMPUTE_BYTES, ORDER);
    }

    private static void hornerVector(final MemorySegment x, final long[] coefficients, final MemorySegment out,
                                     final long offset)
    {
        final LongVector xv = load(x, offset);
        LongVector acc = LongVector.broadcast(COMPUTE_SPECIES, coefficients[coefficients.length - 1]);
        for (int j = coefficients.length - 2; j >= 0; j--)
        {
            acc = acc.mul(xv).add(coefficients[j]);
        }
        acc.intoMemorySegment(out, offset, ORDER);
    }

    /**
     * All powers of a tile of four vectors of elements in one pass: each {@code [x^m] = sum_i C(m,i) [r^i] c^(m-i)}
     * is evaluated as a Horner polynomial in the public {@code c}, from the {@code i = 0} term (the constant
     * {@code [r^0]}, times {@code c^m}) to the {@code i = m} term ({@code [r^m]}, times 1), so only
     * {@code c} and one accumulator per vector stay live, whatever the degree, and every input is read from memory
     * once (the repeated reads of {@code [r^i]} for smaller m hit L1). The binomial coefficients are computed once
     * per call. Four independent vectors per step hide the multiplier's latency (a Horner chain is serial): one
     * vector per step ran at 0.25 G elements/s for d = 4, four at 0.6 (cache) and 0.4 (DRAM, memory-bound).
     * <p>
     * The powers are produced from the highest down: {@code [x^m]} needs {@code [r^1..r^m]} only, so writing it
     * over {@code [r^m]} destroys nothing still needed. Hence {@code xPowers[j] == rPowers[j]} is allowed (in place),
     * and so is {@code xPowers[0] == c} since {@code c} is read first; no other aliasing is.
     */
    static void powersFromOpened(final MemorySegment c, final MemorySegment[] rPowers, final boolean holdsConstant,
                                 final MemorySegment[] xPowers, final long n)
    {
        final long[][] binomial = ScalarElementwise.binomialTable(rPowers.length);
        final long constant = holdsConstant ? 1L : 0L;
        final long vectorBytes = COMPUTE_SPECIES.loopBound(n) * Long.BYTES;
        final long quadBytes = vectorBytes / (4 * COMPUTE_BYTES) * (4 * COMPUTE_BYTES);
        long offset = 0;
        for (; offset < quadBytes; offset += 4 * COMPUTE_BYTES)
        {
            powersVectorQuad(c, rPowers, constant, xPowers, binomial, offset);
        }
        for (; offset < vectorBytes; offset += COMPUTE_BYTES)
        {
            powersVector(c, rPowers, constant, xPowers, binomial, offset);
        }
        for (long e = vectorBytes / Long.BYTES; e < n; e++)
        {
            powersScalar(c, rPowers, constant, xPowers, binomial, e);
        }
    }

    private static void powersVector(final MemorySegment c, final MemorySegment[] rPowers, final long constant,
                                     final MemorySegment[] xPowers, final long[][] binomial, final long offset)
    {
        final LongVector cv = load(c, offset);
        final LongVector constantVector = LongVector.broadcast(COMPUTE_SPECIES, constant);
        for (int m = rPowers.length; m >= 1; m--)
        {
            final long[] row = binomial[m];
            LongVector acc = constantVector;
            for (int i = 1; i < m; i++)
            {
                acc = acc.mul(cv).add(load(rPowers[i - 1], offset).mul(row[i]));
            }
            acc.mul(cv).add(load(rPowers[m - 1], offset)).intoMemorySegment(xPowers[m - 1], offset, ORDER);
        }
    }

    private static void powersVectorQuad(final MemorySegment c, final MemorySegment[] rPowers, final long constant,
                                         final MemorySegment[] xPowers, final long[][] binomial, final long offset)
    {
        final long offset1 = offset + COMPUTE_BYTES;
        final long offset2 = offset + 2 * COMPUTE_BYTES;
        final long offset3 = offset + 3 * COMPUTE_BYTES;
        final LongVector c0 = load(c, offset);
        final LongVector c1 = load(c, offset1);
        final LongVector c2 = load(c, offset2);
        final LongVector c3 = load(c, offset3);
        final LongVector constantVector = LongVector.broadcast(COMPUTE_SPECIES, constant);
        for (int m = rPowers.length; m >= 1; m--)
        {
            final long[] row = binomial[m];
            LongVector acc0 = constantVector;
            LongVector acc1 = constantVector;
            LongVector acc2 = constantVector;
            LongVector acc3 = constantVector;
            for (int i = 1; i < m; i++)
            {
                final MemorySegment ri = rPowers[i - 1];
                final long coefficient = row[i];
                acc0 = acc0.mul(c0).add(load(ri, offset).mul(coefficient));
                acc1 = acc1.mul(c1).add(load(ri, offset1).mul(coefficient));
                acc2 = acc2.mul(c2).add(load(ri, offset2).mul(coefficient));
                acc3 = acc3.mul(c3).add(load(ri, offset3).mul(coefficient));
            }
            final MemorySegment rm = rPowers[m - 1];
            final MemorySegment xm = xPowers[m - 1];
            acc0.mul(c0).add(load(rm, offset)).intoMemorySegment(xm, offset, ORDER);
            acc1.mul(c1).add(load(rm, offset1)).intoMemorySegment(xm, offset1, ORDER);
            acc2.mul(c2).add(load(rm, offset2)).intoMemorySegment(xm, offset2, ORDER);
            acc3.mul(c3).add(load(rm, offset3)).intoMemorySegment(xm, offset3, ORDER);
        }
    }

    private static void powersScalar(final MemorySegment c, final MemorySegment[] rPowers, final long constant,
                                     final MemorySegment[] xPowers, final long[][] binomial, final long e)
    {
        final long ce = c.getAtIndex(ELEMENT, e);
        for (int m = rPowers.length; m >= 1; m--)
        {
            final long[] row = binomial[m];
            long acc = constant;
            for (int i = 1; i < m; i++)
            {
                acc = acc * ce + row[i] * rPowers[i - 1].getAtIndex(ELEMENT, e);
            }
            xPowers[m - 1].setAtIndex(ELEMENT, e, acc * ce + rPowers[m - 1].getAtIndex(ELEMENT, e));
        }
    }

    private static LongVector stream(final MemorySegment segment, final long offset)
    {
        return LongVector.fromMemorySegment(STREAM_SPECIES, segment, offset, ORDER);
    }

    /**
     * {@link RingKernels#polynomialFromOpened} with the Horner coefficients of {@code OpenedPolynomial} already
     * computed: one pass, each vector of elements computed in registers from c, z and the material, and stored once.
     */
    static void polynomialFromOpened(final MemorySegment c, final int[] shifts, final long[] addends,
                                     final MemorySegment[][] base, final MemorySegment[][] diff,
                                     final long[][][] horner, final MemorySegment z, final long zMultiplier,
                                     final long ownConstant, final MemorySegment out, final long n)
    {
        // Per copy: 0 when its differences are stored one per word, else the left shift of its packed lanes.
        final int[] left = new int[shifts.length];
        for (int j = 0; j < shifts.length; j++)
        {
            left[j] = CandidateDifferences.leftShift(shifts[j],
                CandidateDifferences.packed(shifts[j], horner[j].length - 1));
        }
        // Two vectors per step; the tail of fewer than two vectors goes to the scalar step.
        final long pairBytes = (n / (2L * COMPUTE_SPECIES.length())) * 2 * COMPUTE_BYTES;
        for (long offset = 0; offset < pairBytes; offset += 2 * COMPUTE_BYTES)
        {
            openedPolynomialPair(c, shifts, addends, base, diff, left, horner, z, zMultiplier, ownConstant, out,
                offset);
        }
        for (long e = pairBytes / Long.BYTES; e < n; e++)
        {
            openedPolynomialScalar(c, shifts, addends, base, diff, left, horner, z, zMultiplier, ownConstant, out, e);
        }
    }

    /**
     * Two vectors per step: the per-step walk over copies and coefficient arrays is paid once for both, and the two
     * independent multiply chains overlap in the pipeline (one vector per step ran at 25 ms on 4 M elements, this at
     * 15.5). Every vector operation is inlined from a chain of Vector API methods, and a load that is not is boxed:
     * this step parses close to C2's node budget ("failed to inline: NodeCountInliningCutoff" under
     * {@code -XX:CompileCommand=PrintInlining,...}), so keep its body lean (docs/profiling.md).
     */
    private static void openedPolynomialPair(final MemorySegment c, final int[] shifts, final long[] addends,
                                             final MemorySegment[][] base, final MemorySegment[][] diff,
                                             final int[] left, final long[][][] horner, final MemorySegment z,
                                             final long zMultiplier, final long ownConstant,
                                             final MemorySegment out, final long offset)
    {
        final long offset1 = offset + COMPUTE_BYTES;
        final LongVector c0 = load(c, offset);
        final LongVector c1 = load(c, offset1);
        final LongVector negMsb0 = c0.lanewise(VectorOperators.ASHR, Long.SIZE - 1);
        final LongVector negMsb1 = c1.lanewise(VectorOperators.ASHR, Long.SIZE - 1);
        LongVector acc0 = LongVector.broadcast(COMPUTE_SPECIES, ownConstant);
        LongVector acc1 = acc0;
        if (zMultiplier != 0)
        {
            acc0 = acc0.add(load(z, offset).mul(zMultiplier));
            acc1 = acc1.add(load(z, offset1).mul(zMultiplier));
        }
        for (int j = 0; j < shifts.length; j++)
        {
            final LongVector p0 = c0.lanewise(VectorOperators.ASHR, shifts[j]).add(addends[j]);
            final LongVector p1 = c1.lanewise(VectorOperators.ASHR, shifts[j]).add(addends[j]);
            final long[][] h = horner[j];
            for (int t = 0; t < h.length; t++)
            {
                final long[] ht = h[t];
                if (ht == null)
                {
                    continue;
                }
                LongVector g0 = LongVector.broadcast(COMPUTE_SPECIES, ht[0]);
                LongVector g1 = g0;
                for (int i = 1; i < ht.length; i++)
                {
                    g0 = g0.mul(p0).add(ht[i]);
                    g1 = g1.mul(p1).add(ht[i]);
                }
                if (t == 0)
                {
                    acc0 = acc0.add(g0);
                    acc1 = acc1.add(g1);
                }
                else
                {
                    final MemorySegment b = base[j][t - 1];
                    final boolean packed = left[j] != 0;
                    final MemorySegment d = diff[j][CandidateDifferences.word(t, packed)];
                    // One path for packed and unpacked words (an unpacked one shifts by 0 both ways), and a mask for
                    // the product with msb(c): C2 parses fewer nodes here (see the method comment).
                    final int right = CandidateDifferences.rightShift(t, packed);
                    final LongVector d0 = load(d, offset).lanewise(VectorOperators.LSHR, right)
                        .lanewise(VectorOperators.LSHL, left[j]);
                    final LongVector d1 = load(d, offset1).lanewise(VectorOperators.LSHR, right)
                        .lanewise(VectorOperators.LSHL, left[j]);
                    acc0 = acc0.add(load(b, offset).sub(d0.and(negMsb0)).mul(g0));
                    acc1 = acc1.add(load(b, offset1).sub(d1.and(negMsb1)).mul(g1));
                }
            }
        }
        acc0.intoMemorySegment(out, offset, ORDER);
        acc1.intoMemorySegment(out, offset1, ORDER);
    }

    private static void openedPolynomialScalar(final MemorySegment c, final int[] shifts, final long[] addends,
                                               final MemorySegment[][] base, final MemorySegment[][] diff,
                                               final int[] left, final long[][][] horner, final MemorySegment z,
                                               final long zMultiplier, final long ownConstant,
                                               final MemorySegment out, final long e)
    {
        final long ce = c.getAtIndex(ELEMENT, e);
        final long negMsb = ce >> (Long.SIZE - 1);
        long acc = ownConstant;
        if (zMultiplier != 0)
        {
            acc += z.getAtIndex(ELEMENT, e) * zMultiplier;
        }
        for (int j = 0; j < shifts.length; j++)
        {
            final long p = (ce >> shifts[j]) + addends[j];
            final long[][] h = horner[j];
            for (int t = 0; t < h.length; t++)
            {
                final long[] ht = h[t];
                if (ht == null)
                {
                    continue;
                }
                long g = ht[0];
                for (int i = 1; i < ht.length; i++)
                {
                    g = g * p + ht[i];
                }
                if (t == 0)
                {
                    acc += g;
                    continue;
                }
                final boolean packed = left[j] != 0;
                final long d = CandidateDifferences.expand(
                    diff[j][CandidateDifferences.word(t, packed)].getAtIndex(ELEMENT, e),
                    CandidateDifferences.rightShift(t, packed), left[j]);
                acc += (base[j][t - 1].getAtIndex(ELEMENT, e) + negMsb * d) * g;
            }
        }
        out.setAtIndex(ELEMENT, e, acc);
    }

    /**
     * {@link RingKernels#truncationFromMaskedShares} on native segments: {@code c = cOwn + cPeer + cOffset}, then
     * {@code ((m << (64 - shift)) & ~(c >> 63)) - q}, plus {@code (c >>> shift) + addend} for the party holding
     * constants (an AND with an all-ones or all-zeros mask, not a branch). Two vectors per step in a small method
     * called from a plain loop, as {@link #polynomialFromOpened}: a loop with the vector body inline was compiled
     * with a profiled loop predicate that failed once per query in the engine (docs/profiling.md).
     */
    static void truncationFromMaskedShares(final MemorySegment cOwn, final MemorySegment cPeer, final long cOffset,
                                           final int shift, final MemorySegment msbR, final MemorySegment rShifted,
                                           final boolean holdsConstant, final long addend, final MemorySegment out,
                                           final long n)
    {
        final int wrapShift = Long.SIZE - shift;
        final long publicMask = holdsConstant ? -1L : 0L;
        final long pairBytes = (n / (2L * COMPUTE_LANES)) * 2 * COMPUTE_BYTES;
        for (long offset = 0; offset < pairBytes; offset += 2 * COMPUTE_BYTES)
        {
            truncationPair(cOwn, cPeer, cOffset, shift, wrapShift, msbR, rShifted, publicMask, addend, out, offset);
        }
        for (long e = pairBytes / Long.BYTES; e < n; e++)
        {
            final long c = cOwn.getAtIndex(ELEMENT, e) + cPeer.getAtIndex(ELEMENT, e) + cOffset;
            out.setAtIndex(ELEMENT, e, ((msbR.getAtIndex(ELEMENT, e) << wrapShift) & ~(c >> (Long.SIZE - 1))) -
                rShifted.getAtIndex(ELEMENT, e) + (((c >>> shift) + addend) & publicMask));
        }
    }

    private static void truncationPair(final MemorySegment cOwn, final MemorySegment cPeer, final long cOffset,
                                       final int shift, final int wrapShift, final MemorySegment msbR,
                                       final MemorySegment rShifted, final long publicMask, final long addend,
                                       final MemorySegment out, final long offset)
    {
        final long offset1 = offset + COMPUTE_BYTES;
        final LongVector c0 = load(cOwn, offset).add(load(cPeer, offset)).add(cOffset);
        final LongVector c1 = load(cOwn, offset1).add(load(cPeer, offset1)).add(cOffset);
        final LongVector w0 = load(msbR, offset).lanewise(VectorOperators.LSHL, wrapShift)
            .and(c0.lanewise(VectorOperators.ASHR, Long.SIZE - 1).not());
        final LongVector w1 = load(msbR, offset1).lanewise(VectorOperators.LSHL, wrapShift)
            .and(c1.lanewise(VectorOperators.ASHR, Long.SIZE - 1).not());
        final LongVector p0 = c0.lanewise(VectorOperators.LSHR, shift).add(addend).and(publicMask);
        final LongVector p1 = c1.lanewise(VectorOperators.LSHR, shift).add(addend).and(publicMask);
        w0.sub(load(rShifted, offset)).add(p0).intoMemorySegment(out, offset, ORDER);
        w1.sub(load(rShifted, offset1)).add(p1).intoMemorySegment(out, offset1, ORDER);
    }

    private static LongVector load(final MemorySegment segment, final long offset)
    {
        return LongVector.fromMemorySegment(COMPUTE_SPECIES, segment, offset, ORDER);
    }
}
