package org.polypi.engine.protocol;

import org.polypi.kernels.RingKernels;
import org.polypi.kernels.RingTensor;

/**
 * SecureML-style local truncation (CrypTen's 2-party path, seeds.md §1 and §6.1): no communication; party 0 shifts
 * its share arithmetically, party 1 negates, shifts and negates ({@code -((-x_1) >> s)}).
 * <p>
 * <b>Failure probability.</b> Read the shares as signed integers X_0, X_1. When {@code X_0 + X_1 = x} without a
 * wrap, the result is {@code floor(X_0/2^s) + ceil(X_1/2^s)}, that is {@code floor(x/2^s)} or
 * {@code floor(x/2^s) + 1}. The sum wraps (and the result is off by about {@code 2^(64-s)}, a huge error) exactly
 * when the uniform share X_1 falls within |x| of the signed boundary, which happens with probability
 * {@code |x| / 2^64} per value ({@link #failureProbability}): 2^-6 = 1/64 for {@code |x| = 2^58}, 2^-32 for
 * {@code |x| = 2^32}. Use {@link FaithfulTruncation} where that rate matters.
 * <p>
 * Secure trivially: nothing is sent.
 */
public final class LocalTruncation
{
    private static final double TWO_POW_64 = 0x1p64;

    private LocalTruncation()
    {
    }

    /** This party's share of {@code x / 2^shift} (see the class comment for the error), in the session's arena. */
    public static RingTensor truncate(final PartySession session, final RingTensor x, final int shift)
    {
        final RingTensor y = session.allocate(x.shape());
        truncateInto(session, x, shift, y);
        return y;
    }

    /** As {@link #truncate}, writing into {@code out} (which may be {@code x}). */
    public static void truncateInto(final PartySession session, final RingTensor x, final int shift,
                                    final RingTensor out)
    {
        FaithfulTruncation.checkTruncationShift(shift);
        RingOps.requireSize("out", out, x.size());
        final RingKernels k = session.kernels();
        final long n = x.size();
        if (session.holdsConstants())
        {
            k.shiftRightArithmetic(x.segment(), shift, out.segment(), n);
        }
        else
        {
            k.negate(x.segment(), out.segment(), n);
            k.shiftRightArithmetic(out.segment(), shift, out.segment(), n);
            k.negate(out.segment(), out.segment(), n);
        }
    }

    /** Probability that truncating a value of magnitude {@code |x|} fails with a large error: {@code |x| / 2^64}. */
    public static double failureProbability(final double absValue)
    {
        return Math.min(1.0, Math.abs(absValue) / TWO_POW_64);
    }
}
