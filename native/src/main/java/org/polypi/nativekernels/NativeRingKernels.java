package org.polypi.nativekernels;

import java.lang.foreign.MemorySegment;
import java.util.Optional;

import org.polypi.kernels.CheckedRingKernels;
import org.polypi.kernels.Conv2dShape;
import org.polypi.kernels.Kernels;
import org.polypi.kernels.OpenedPolynomial;
import org.polypi.kernels.RingKernels;
import org.polypi.kernels.ScalarRingKernels;

/**
 * Backend whose matrix products and polynomial run in C ({@code libpolypi.so}, gcc {@code -O3 -march=native},
 * AVX-512), called through the FFM API with the caller's segments passed straight through, no copies.
 * <p>
 * This is a ceiling and an optional backend, not a full port: it exists to measure how close the Java Vector API
 * kernels come to compiled C on the same kernel design. Only {@code matmul}, {@code matmulTransposedB},
 * {@code matmulTransposedA}, {@code polynomial} and the fused activation {@code polynomialFromOpened} are native;
 * every other operation is delegated to the vector backend when {@code jdk.incubator.vector} is present, else to
 * {@link ScalarRingKernels}.
 * <p>
 * Argument checks are {@link CheckedRingKernels}'s, as for every backend; the C code trusts what it is given.
 * The library is loaded once per JVM (see {@link #isAvailable()} and {@link #instance()}).
 */
public final class NativeRingKernels extends CheckedRingKernels
{
    private final RingKernels delegate;

    private NativeRingKernels(final RingKernels delegate)
    {
        this.delegate = delegate;
    }

    private static final class Holder
    {
        static final NativeRingKernels INSTANCE = new NativeRingKernels(
            Kernels.vectorModulePresent() ? Kernels.byName("vector") : ScalarRingKernels.INSTANCE);
    }

    /** True when {@code libpolypi.so} was built for this platform, found and loaded. */
    public static boolean isAvailable()
    {
        return NativeLibrary.failure().isEmpty();
    }

    /** Why the native backend cannot run here (e.g. gcc was missing at build time), or empty when it can. */
    public static Optional<String> unavailableReason()
    {
        return NativeLibrary.failure();
    }

    /**
     * The backend (one per JVM; it holds no mutable state).
     *
     * @throws IllegalStateException if the native library is unavailable, saying why.
     */
    public static NativeRingKernels instance()
    {
        NativeLibrary.require();
        return Holder.INSTANCE;
    }

    @Override
    public String name()
    {
        return "native";
    }

    /** The backend that runs the operations not implemented in C ("vector" or "scalar"). */
    public RingKernels delegate()
    {
        return delegate;
    }

    @Override
    protected void matmulUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m,
                                   final int k, final int n)
    {
        NativeLibrary.matmul(a, b, c, m, k, n);
    }

    @Override
    protected void matmulAccumulateUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment c,
                                             final int m, final int k, final int n)
    {
        delegate.matmulAccumulate(a, b, c, m, k, n);
    }

    @Override
    protected void matmulTransposedBUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment c,
                                              final int m, final int k, final int n)
    {
        NativeLibrary.matmulTransposedB(a, b, c, m, k, n);
    }

    @Override
    protected void matmulTransposedAUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment c,
                                              final int m, final int k, final int n)
    {
        NativeLibrary.matmulTransposedA(a, b, c, m, k, n);
    }

    @Override
    protected void polynomialUnchecked(final MemorySegment x, final long[] coefficients, final MemorySegment out,
                                       final long n)
    {
        NativeLibrary.polynomial(x, coefficients, out, n);
    }

    /**
     * The engine's fused activation in C: its speed does not depend on how C2 happens to compile a Vector API step
     * that sits near its inlining budget (docs/profiling.md). Heap segments take the shared block form.
     */
    @Override
    public void polynomialFromOpened(final MemorySegment c, final int[] shifts, final long[] addends,
                                     final MemorySegment[][] base, final MemorySegment[][] diff,
                                     final long[][] multipliers, final MemorySegment z, final long zMultiplier,
                                     final boolean holdsConstant, final long constant, final MemorySegment out,
                                     final long n)
    {
        if (OpenedPolynomial.checkOrComputeOnHeap(c, shifts, addends, base, diff, multipliers, z, zMultiplier,
            holdsConstant, constant, out, n))
        {
            return;
        }
        NativeLibrary.polynomialFromOpened(c, shifts, addends, base, diff,
            OpenedPolynomial.hornerCoefficients(multipliers, holdsConstant), z, zMultiplier,
            holdsConstant ? constant : 0L, out, n);
    }

    @Override
    public void truncationFromMaskedShares(final MemorySegment cOwn, final MemorySegment cPeer, final long cOffset,
                                           final int shift, final MemorySegment msbR, final MemorySegment rShifted,
                                           final boolean holdsConstant, final long addend, final MemorySegment out,
                                           final long n)
    {
        delegate.truncationFromMaskedShares(cOwn, cPeer, cOffset, shift, msbR, rShifted, holdsConstant, addend, out,
            n);
    }

    // ---- delegated: already-checked arguments pass the delegate's checks again, which cost nothing measurable ----

    @Override
    protected void addUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long n)
    {
        delegate.add(a, b, out, n);
    }

    @Override
    protected void subUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long n)
    {
        delegate.sub(a, b, out, n);
    }

    @Override
    protected void negateUnchecked(final MemorySegment a, final MemorySegment out, final long n)
    {
        delegate.negate(a, out, n);
    }

    @Override
    protected void multiplyUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment out, final long n)
    {
        delegate.multiply(a, b, out, n);
    }

    @Override
    protected void multiplyConstantUnchecked(final MemorySegment a, final long c, final MemorySegment out, final long n)
    {
        delegate.multiplyConstant(a, c, out, n);
    }

    @Override
    protected void addConstantUnchecked(final MemorySegment a, final long c, final MemorySegment out, final long n)
    {
        delegate.addConstant(a, c, out, n);
    }

    @Override
    protected void fusedMultiplyAddUnchecked(final MemorySegment a, final MemorySegment b, final MemorySegment c,
                                             final MemorySegment out, final long n)
    {
        delegate.fusedMultiplyAdd(a, b, c, out, n);
    }

    @Override
    protected void shiftRightArithmeticUnchecked(final MemorySegment a, final int shift, final MemorySegment out,
                                                 final long n)
    {
        delegate.shiftRightArithmetic(a, shift, out, n);
    }

    @Override
    protected void powersFromOpenedUnchecked(final MemorySegment c, final MemorySegment[] rPowers,
                                             final boolean holdsConstant, final MemorySegment[] xPowers, final long n)
    {
        delegate.powersFromOpened(c, rPowers, holdsConstant, xPowers, n);
    }

    @Override
    protected void conv2dUnchecked(final MemorySegment input, final MemorySegment weights, final MemorySegment out,
                                   final Conv2dShape shape)
    {
        delegate.conv2d(input, weights, out, shape);
    }

    @Override
    protected void conv2dAccumulateUnchecked(final MemorySegment input, final MemorySegment weights,
                                             final MemorySegment out, final Conv2dShape shape)
    {
        delegate.conv2dAccumulate(input, weights, out, shape);
    }

    @Override
    protected void sumPool2dUnchecked(final MemorySegment input, final MemorySegment out, final int batch,
                                      final int channels, final int height, final int width, final int window,
                                      final int stride)
    {
        delegate.sumPool2d(input, out, batch, channels, height, width, window, stride);
    }
}
