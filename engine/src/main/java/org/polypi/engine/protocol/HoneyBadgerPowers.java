package org.polypi.engine.protocol;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.polypi.kernels.RingTensor;

/**
 * Plain HoneyBadger powers (seeds.md §2.5): open {@code c = x - r}, then
 * {@code [x^m] = sum_i C(m,i) c^(m-i) [r^i]} locally. Exact in the ring (no truncation: the caller keeps the scales
 * in range). One round, one element sent per party and element.
 * <p>
 * Secure because r is fresh, uniform and used once (enforced): c is uniform and independent of x.
 */
public final class HoneyBadgerPowers
{
    private HoneyBadgerPowers()
    {
    }

    /** This party's shares {@code [x^1], ..., [x^d]}, in the session's arena. One round. */
    public static RingTensor[] powers(final PartySession session, final RingTensor x, final PowerTuple tuple)
    {
        final RingTensor[] r = tuple.powers();
        RingOps.requireSize("x", x, r[0].size());
        tuple.take();
        final int degree = r.length;
        final long n = x.size();
        final RingTensor[] out = new RingTensor[degree];
        final MemorySegment[] rs = new MemorySegment[degree];
        final MemorySegment[] xs = new MemorySegment[degree];
        for (int i = 0; i < degree; i++)
        {
            out[i] = session.allocate(x.shape());
            rs[i] = r[i].segment();
            xs[i] = out[i].segment();
        }
        try (Arena tmp = session.temporaries())
        {
            final RingTensor c = RingTensor.allocate(tmp, x.shape());
            session.kernels().sub(x.segment(), r[0].segment(), c.segment(), n);
            Opener.open(session, new RingTensor[]{c}, new RingTensor[]{c});
            session.kernels().powersFromOpened(c.segment(), rs, session.holdsConstants(), xs, n);
        }
        return out;
    }
}
