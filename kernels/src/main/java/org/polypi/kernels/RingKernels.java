package org.polypi.kernels;

import java.lang.foreign.MemorySegment;

/**
 * The compute kernels over Z_2^64 that the engine needs, as one backend-neutral contract.
 * <p>
 * Conventions, shared by every method:
 * <ul>
 *   <li>Operands are {@link MemorySegment}s of native-order longs addressed from byte offset 0; callers pass
 *       slices ({@link MemorySegment#asSlice}) to address parts of a larger buffer.</li>
 *   <li>Arithmetic wraps modulo 2^64 exactly like Java {@code long} arithmetic.</li>
 *   <li>Elementwise methods allow {@code out} to be the same segment as an input (in place); partial overlap
 *       is not allowed.</li>
 *   <li>Implementations check segment capacities, liveness and dimensions and throw
 *       {@link IllegalArgumentException} / {@link IllegalStateException} naming the operand and the sizes;
 *       they never read or write outside the segments.</li>
 * </ul>
 * {@link ScalarRingKernels} is the oracle every other backend is tested against, bit for bit.
 */
public interface RingKernels
{
    /** Short name of the backend, for logs and benchmark rows ("vector", "scalar", "native"). */
    String name();

    // ---- elementwise -------------------------------------------------------------------------------------

    /** {@code out[i] = a[i] + b[i]} for i in [0, n). */
    void add(MemorySegment a, MemorySegment b, MemorySegment out, long n);

    /** {@code out[i] = a[i] - b[i]}. */
    void sub(MemorySegment a, MemorySegment b, MemorySegment out, long n);

    /** {@code out[i] = -a[i]}. */
    void negate(MemorySegment a, MemorySegment out, long n);

    /** {@code out[i] = a[i] * b[i]}. */
    void multiply(MemorySegment a, MemorySegment b, MemorySegment out, long n);

    /** {@code out[i] = a[i] * c} for a public constant c. */
    void multiplyConstant(MemorySegment a, long c, MemorySegment out, long n);

    /** {@code out[i] = a[i] + c} for a public constant c. */
    void addConstant(MemorySegment a, long c, MemorySegment out, long n);

    /** {@code out[i] = a[i] * b[i] + c[i]}. */
    void fusedMultiplyAdd(MemorySegment a, MemorySegment b, MemorySegment c, MemorySegment out, long n);

    /** {@code out[i] = a[i] >> shift} (arithmetic), {@code 0 <= shift < 64}: local truncation of a share. */
    void shiftRightArithmetic(MemorySegment a, int shift, MemorySegment out, long n);

    // ---- polynomials -------------------------------------------------------------------------------------

    /**
     * Horner evaluation with public coefficients: {@code out[i] = sum_j coefficients[j] * x[i]^j} in the ring
     * (no truncation; the caller picks coefficients at the right scale).
     */
    void polynomial(MemorySegment x, long[] coefficients, MemorySegment out, long n);

    /**
     * One-round power reconstruction (HoneyBadger power tuples): given the opened public {@code c = x - r} and
     * this party's shares {@code rPowers[j-1] = [r^j]} for j = 1..d, writes this party's shares
     * {@code xPowers[m-1] = [x^m] = sum_{i=0..m} C(m,i) c^(m-i) [r^i]} for m = 1..d, where {@code [r^0]} is the
     * public 1, held by the party with {@code holdsConstant} (party 0) and 0 for the other.
     * {@code xPowers.length == rPowers.length == d}, {@code d >= 1}. Aliasing: {@code xPowers[j]} may be
     * {@code rPowers[j]} (in place) and {@code xPowers[0]} may be {@code c}; no other overlap is allowed.
     */
    void powersFromOpened(MemorySegment c, MemorySegment[] rPowers, boolean holdsConstant, MemorySegment[] xPowers,
                          long n);

    /**
     * {@link #powersFromOpened} of a candidate selected by a public bit, fused into one pass: with
     * {@code p = (c >> shift) + addend} and {@code q_i = base[i-1] - msb(c)·diff_i} (the candidate {@code base} when
     * the top bit of c is 0, {@code base - diff} when it is 1; {@code diff_i} laid out as {@link CandidateDifferences}
     * says: {@code diff[i-1]} or, packed, a lane of {@code diff[(i-1)/2]}), writes {@code out[m-1] = sum_{i=0..m} C(m,i) p^(m-i)
     * q_i} for m = 1..d, with {@code q_0} the public 1 held by the party with {@code holdsConstant}. It is the
     * composition {@code shiftRightArithmetic}, {@code addConstant}, d {@code fusedMultiplyAdd}s with
     * {@code c >> 63} and {@code powersFromOpened} (the test oracle), in one pass over memory; every backend shares
     * one implementation (see {@code SelectedPowers}). {@code out} must not overlap the inputs.
     *
     * @throws IllegalArgumentException if a count or shift is out of range, the arrays' lengths differ or are 0, or a
     *                                  segment is too small or closed.
     */
    default void selectPowersFromOpened(final MemorySegment c, final int shift, final long addend,
                                        final MemorySegment[] base, final MemorySegment[] diff,
                                        final boolean holdsConstant, final MemorySegment[] out, final long n)
    {
        RingTensor.checkCapacity("c", c, n);
        if (shift < 0 || shift >= Long.SIZE)
        {
            throw new IllegalArgumentException("shift must be in [0, 63], was " + shift);
        }
        if (base == null || diff == null || out == null || base.length == 0 || base.length != out.length)
        {
            throw new IllegalArgumentException("base and out must have the same positive length (the degree), and " +
                "diff must be given, were " + (base == null ? "null" : base.length) + ", " +
                (diff == null ? "null" : diff.length) + " and " + (out == null ? "null" : out.length));
        }
        CandidateDifferences.checkCount("diff", shift, base.length, diff.length);
        for (int i = 0; i < base.length; i++)
        {
            RingTensor.checkCapacity("base[" + i + "]", base[i], n);
            RingTensor.checkCapacity("out[" + i + "]", out[i], n);
        }
        for (int i = 0; i < diff.length; i++)
        {
            RingTensor.checkCapacity("diff[" + i + "]", diff[i], n);
        }
        SelectedPowers.compute(c, shift, addend, base, diff, holdsConstant, out, n);
    }

    /**
     * The share of a faithful truncation by {@code shift} bits once its masked value {@code c} is open: {@code out =
     * (1 - msb(c))·msbR·2^(64-shift) - rShifted}, plus {@code (c >>> shift) + addend} for the party with
     * {@code holdsConstant}, where {@code msbR} and {@code rShifted} are this party's shares of the mask's top bit and
     * of the mask shifted right. It is the composition of {@code shiftRightArithmetic}, {@code multiplyConstant},
     * {@code multiply}, {@code add}, {@code sub} and {@code addConstant} the protocol used before (the test oracle),
     * in one pass; every backend shares one implementation (see {@code OpenedTruncation}). {@code out} may alias
     * {@code c}; no other overlap is allowed.
     *
     * @throws IllegalArgumentException if {@code shift} is outside [1, 63] or a segment is too small or closed.
     */
    default void truncationFromOpened(final MemorySegment c, final int shift, final MemorySegment msbR,
                                      final MemorySegment rShifted, final boolean holdsConstant, final long addend,
                                      final MemorySegment out, final long n)
    {
        OpenedTruncation.check(c, shift, msbR, rShifted, out, n);
        OpenedTruncation.compute(c, null, 0L, shift, msbR, rShifted, holdsConstant, addend, out, n);
    }

    /**
     * A public-coefficient polynomial of candidate-selected powers, fused into one pass (the engine's one-round
     * activation): for each copy j, with {@code p_j = (c >> shifts[j]) + addends[j]} and
     * {@code q_(j,i) = base[j][i-1] - msb(c)·diff_(j,i)} ({@code diff[j]} laid out as {@link CandidateDifferences}
     * says), let {@code x_j^m = sum_{i=0..m} C(m,i) p_j^(m-i) q_(j,i)}
     * as in {@link #selectPowersFromOpened} ({@code q_(j,0)} the public 1 held by the party with
     * {@code holdsConstant}); then
     * {@code out = (holdsConstant ? constant : 0) + zMultiplier·z + sum_j sum_m multipliers[j][m-1]·x_j^m}.
     * It is the composition of {@link #selectPowersFromOpened} per copy, {@link #multiplyConstant} and {@link #add}
     * (the test oracle), without writing the powers; every backend shares one implementation (see
     * {@code OpenedPolynomial}). {@code z} is read only when {@code zMultiplier != 0} (it may then be null).
     * {@code out} may alias {@code c} or {@code z}; no other overlap is allowed.
     *
     * @throws IllegalArgumentException if a shift is out of range, the copies' arrays differ in length, a copy has
     *                                  degree 0, or a segment is missing, too small or closed.
     */
    default void polynomialFromOpened(final MemorySegment c, final int[] shifts, final long[] addends,
                                      final MemorySegment[][] base, final MemorySegment[][] diff,
                                      final long[][] multipliers, final MemorySegment z, final long zMultiplier,
                                      final boolean holdsConstant, final long constant, final MemorySegment out,
                                      final long n)
    {
        OpenedPolynomial.check(c, shifts, addends, base, diff, multipliers, z, zMultiplier, out, n);
        OpenedPolynomial.compute(c, shifts, addends, base, diff, multipliers, z, zMultiplier, holdsConstant, constant,
            out, n);
    }

    /**
     * {@link #truncationFromOpened} of the opened value {@code c = cOwn + cPeer + cOffset} given as its two masked
     * shares: what an opening leaves before anyone adds (this party's share and the peer's message, read in place,
     * possibly read-only), so the sum is formed in this kernel's own pass rather than written and read back. Its
     * composition with {@link #add} and {@link #addConstant} is the test oracle. {@code out} must not overlap
     * {@code cPeer}; it may alias {@code cOwn}.
     *
     * @throws IllegalArgumentException as {@link #truncationFromOpened}, or if {@code cPeer} is too small.
     */
    default void truncationFromMaskedShares(final MemorySegment cOwn, final MemorySegment cPeer, final long cOffset,
                                            final int shift, final MemorySegment msbR,
                                            final MemorySegment rShifted, final boolean holdsConstant,
                                            final long addend, final MemorySegment out, final long n)
    {
        OpenedTruncation.check(cOwn, shift, msbR, rShifted, out, n);
        RingTensor.checkCapacity("cPeer", cPeer, n);
        OpenedTruncation.compute(cOwn, cPeer, cOffset, shift, msbR, rShifted, holdsConstant, addend, out, n);
    }

    // ---- linear algebra ----------------------------------------------------------------------------------

    /**
     * {@code C = A · B}; A is m×k, B is k×n, C is m×n, all row-major. C is overwritten and must not overlap A or B
     * (this holds for all three products).
     */
    void matmul(MemorySegment a, MemorySegment b, MemorySegment c, int m, int k, int n);

    /**
     * {@code C += A · B}, shapes as {@link #matmul}: C is read and overwritten. A layer whose output is a product plus
     * a precomputed term computes it in the product's own pass over C instead of a product and then an add.
     */
    void matmulAccumulate(MemorySegment a, MemorySegment b, MemorySegment c, int m, int k, int n);

    /** {@code C = A · Bᵀ}; A is m×k, B is n×k, C is m×n. */
    void matmulTransposedB(MemorySegment a, MemorySegment b, MemorySegment c, int m, int k, int n);

    /** {@code C = Aᵀ · B}; A is k×m, B is k×n, C is m×n. */
    void matmulTransposedA(MemorySegment a, MemorySegment b, MemorySegment c, int m, int k, int n);

    /**
     * 2-D convolution, NCHW input ({@code shape.batch() × inChannels × inHeight × inWidth}), weights
     * {@code outChannels × inChannels × kernelHeight × kernelWidth}, output
     * {@code batch × outChannels × outHeight × outWidth}; no bias (the protocol adds it). Overwrites out.
     */
    void conv2d(MemorySegment input, MemorySegment weights, MemorySegment out, Conv2dShape shape);

    /** {@code out += conv2d(input, weights)}, shapes as {@link #conv2d}: out is read and overwritten. */
    void conv2dAccumulate(MemorySegment input, MemorySegment weights, MemorySegment out, Conv2dShape shape);

    /**
     * Average pooling as a window sum (the 1/k² scale is applied by the protocol), NCHW,
     * {@code window × window} windows with the given stride and no padding.
     */
    void sumPool2d(MemorySegment input, MemorySegment out, int batch, int channels, int height, int width, int window,
                   int stride);
}
