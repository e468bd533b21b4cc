package org.polypi.engine.protocol;

import java.lang.foreign.Arena;

import org.polypi.kernels.RingKernels;
import org.polypi.kernels.RingTensor;

/**
 * Faithful truncation by s bits from one opening (protocol-notes §2). For shared x with {@code |x| < 2^62}: shift
 * to {@code x' = x + 2^62} (non-negative, below 2^63), open {@code c = x' + r}; then
 * <pre>
 *   trunc(x) = (c >>> s) - [r >>> s] + (1 - msb(c)) [msb(r)] 2^(64-s) - 2^(62-s)
 * </pre>
 * which equals {@code floor(x / 2^s) + b}, {@code b = [c mod 2^s < r mod 2^s]} the borrow of the low bits that the
 * formula leaves out: {@code floor(x / 2^s)} or {@code floor(x / 2^s) + 1}, never anything else, because the wrap bit
 * {@code w = msb(r)(1 - msb(c))} is exact for {@code x' < 2^63}. (The notes' "or one less" has the sign the wrong way
 * round: {@code (c >>> s) - (r >>> s)} drops a borrow, so it can only be too large.) Since b = 1 exactly when the
 * low bits of x' plus those of r carry, {@code P(b = 1) = (x mod 2^s) / 2^s}: the result is x / 2^s rounded
 * stochastically, unbiased. One round, one element per party and value.
 * <p>
 * Secure because c is x' plus a fresh uniform r used once (enforced): c is uniform and independent of x; msb(c) is
 * part of the public c, so the wrap bit is a local linear function of the shares of msb(r).
 */
public final class FaithfulTruncation
{
    /** Values must satisfy {@code |x| < 2^RANGE_BITS}; the offset {@code 2^62} makes them non-negative. */
    public static final int RANGE_BITS = 62;
    /** The offset added before masking. */
    static final long OFFSET = 1L << RANGE_BITS;

    private FaithfulTruncation()
    {
    }

    /**
     * This party's share of {@code trunc_s(x)} (s = {@code pair.shift()}), allocated in the session's arena. One
     * round.
     *
     * @throws IllegalArgumentException if the pair's shape differs from x's.
     * @throws IllegalStateException if the pair was already used.
     */
    public static RingTensor truncate(final PartySession session, final RingTensor x, final FaithfulTruncationPair pair)
    {
        RingOps.requireSize("x", x, pair.r().size());
        pair.take();
        final int s = pair.shift();
        final RingKernels k = session.kernels();
        final long n = x.size();
        final RingTensor y = session.allocate(x.shape());
        try (Arena tmp = session.temporaries())
        {
            // This party's masked share x_i + r_i. The opened c = x + r + 2^62 is formed inside the share's kernel
            // from it and the peer's message (both parties add the public offset there), never written out.
            final RingTensor mine = RingTensor.allocate(tmp, x.shape());
            k.add(x.segment(), pair.r().segment(), mine.segment(), n);
            // y = (1 - msb(c)) [msb(r)] 2^(64-s) - [r >>> s], and party 0 adds the public (c >>> s) - 2^(62-s).
            Opener.openWith(session, mine, peer -> k.truncationFromMaskedShares(mine.segment(), peer, OFFSET, s,
                pair.msb().segment(), pair.rShifted().segment(), session.holdsConstants(), -(OFFSET >>> s),
                y.segment(), n));
        }
        return y;
    }

    /** Throws unless {@code 1 <= s <= 62}. */
    static void checkTruncationShift(final int s)
    {
        if (s < 1 || s > RANGE_BITS)
        {
            throw new IllegalArgumentException("truncation shift must be in [1, " + RANGE_BITS + "], was " + s);
        }
    }
}
