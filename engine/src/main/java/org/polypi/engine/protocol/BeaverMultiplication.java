package org.polypi.engine.protocol;

import java.lang.foreign.Arena;

import org.polypi.kernels.RingKernels;
import org.polypi.kernels.RingTensor;

/**
 * Elementwise Beaver multiplication: open {@code e = x - a} and {@code d = y - b} (in one message), then
 * {@code [xy] = [c] + e [b] + d [a] + e d} (the public {@code e d} added by party 0). Exact in the ring. Several
 * independent products open together: one round, 2 elements sent per party and product element.
 * <p>
 * Secure because a and b are fresh uniform masks used once (enforced): e and d are uniform and independent of x, y.
 */
public final class BeaverMultiplication
{
    private BeaverMultiplication()
    {
    }

    /** This party's share of {@code x * y}, in the session's arena. One round. */
    public static RingTensor multiply(final PartySession session, final RingTensor x, final RingTensor y,
                                      final BeaverTriple triple)
    {
        return multiply(session, new RingTensor[]{x}, new RingTensor[]{y}, new BeaverTriple[]{triple})[0];
    }

    /**
     * This party's shares of {@code x[i] * y[i]} for every i, all opened in ONE round.
     *
     * @throws IllegalArgumentException if the arrays differ in length or an operand differs from its triple's size.
     * @throws IllegalStateException if a triple was already used (none is consumed then).
     */
    public static RingTensor[] multiply(final PartySession session, final RingTensor[] x, final RingTensor[] y,
                                        final BeaverTriple[] triples)
    {
        final int count = triples.length;
        if (count == 0 || x.length != count || y.length != count)
        {
            throw new IllegalArgumentException("x, y and triples must have the same positive length, were " + x.length +
                ", " + y.length + " and " + count);
        }
        for (int i = 0; i < count; i++)
        {
            RingOps.requireSize("x[" + i + "]", x[i], triples[i].a().size());
            RingOps.requireSize("y[" + i + "]", y[i], triples[i].a().size());
            if (triples[i].used())
            {
                throw new IllegalStateException("material " + triples[i].id() + " already used");
            }
        }
        for (final BeaverTriple t : triples)
        {
            t.take();
        }
        final RingKernels k = session.kernels();
        final RingTensor[] z = new RingTensor[count];
        try (Arena tmp = session.temporaries())
        {
            final RingTensor[] masked = new RingTensor[2 * count];
            for (int i = 0; i < count; i++)
            {
                final long n = x[i].size();
                masked[2 * i] = RingTensor.allocate(tmp, x[i].shape());
                masked[2 * i + 1] = RingTensor.allocate(tmp, x[i].shape());
                k.sub(x[i].segment(), triples[i].a().segment(), masked[2 * i].segment(), n);
                k.sub(y[i].segment(), triples[i].b().segment(), masked[2 * i + 1].segment(), n);
            }
            Opener.open(session, masked, masked);
            for (int i = 0; i < count; i++)
            {
                final long n = x[i].size();
                final RingTensor e = masked[2 * i];
                final RingTensor d = masked[2 * i + 1];
                z[i] = session.allocate(x[i].shape());
                k.fusedMultiplyAdd(e.segment(), triples[i].b().segment(), triples[i].c().segment(), z[i].segment(), n);
                k.fusedMultiplyAdd(d.segment(), triples[i].a().segment(), z[i].segment(), z[i].segment(), n);
                if (session.holdsConstants())
                {
                    k.fusedMultiplyAdd(e.segment(), d.segment(), z[i].segment(), z[i].segment(), n);
                }
            }
        }
        return z;
    }
}
