package org.polypi.engine.protocol;

import java.lang.foreign.Arena;

import org.polypi.engine.transport.Party;
import org.polypi.kernels.RingKernels;
import org.polypi.kernels.RingTensor;

/**
 * ESPN's cheaper variant (seeds.md §2.4): with {@code x = x_0 + x_1},
 * {@code x^m = sum_i C(m,i) x_0^i x_1^(m-i)}. The pure terms are local; each cross product uses dealer masks
 * A_i (known to the server) and B_j (known to the client): the server sends {@code e_i = x_0^i - A_i}, the client
 * {@code g_j = x_1^j - B_j} ({@code i, j = 1..d-1}), and
 * <pre>
 *   [x_0^i x_1^j]_0 = x_0^i g_j + [A_i B_j]_0,   [x_0^i x_1^j]_1 = e_i B_j + [A_i B_j]_1.
 * </pre>
 * Exact in the ring. One round, {@code d - 1} elements sent per party and element.
 * <p>
 * Secure because each party receives its peer's powers minus masks it does not know (uniform, fresh, used once:
 * enforced), and the product shares are fresh additive shares.
 */
public final class EspnPowers
{
    private EspnPowers()
    {
    }

    /** This party's shares {@code [x^1], ..., [x^d]}, in the session's arena. One round. */
    public static RingTensor[] powers(final PartySession session, final RingTensor x, final EspnTuple tuple)
    {
        if (tuple.holder() != session.party())
        {
            throw new IllegalArgumentException("ESPN material " + tuple.id() + " is " + tuple.holder() +
                "'s, the session is " + session.party() + "'s");
        }
        final RingTensor[] masks = tuple.masks();
        RingOps.requireSize("x", x, masks[0].size());
        tuple.take();
        final int d = tuple.degree();
        final RingKernels k = session.kernels();
        final long n = x.size();
        final boolean server = session.party() == Party.SERVER;
        final long[][] binomial = binomials(d);
        // own[i] = x_b^i, i = 1..d (local)
        final RingTensor[] own = new RingTensor[d + 1];
        final RingTensor[] out = new RingTensor[d];
        try (Arena tmp = session.temporaries())
        {
            own[1] = x;
            for (int i = 2; i <= d; i++)
            {
                own[i] = RingTensor.allocate(tmp, x.shape());
                k.multiply(own[i - 1].segment(), x.segment(), own[i].segment(), n);
            }
            final RingTensor[] sent = new RingTensor[d - 1];
            final RingTensor[] received = new RingTensor[d - 1];
            for (int i = 1; i < d; i++)
            {
                sent[i - 1] = RingTensor.allocate(tmp, x.shape());
                k.sub(own[i].segment(), masks[i - 1].segment(), sent[i - 1].segment(), n);
                received[i - 1] = RingTensor.allocate(tmp, x.shape());
            }
            Opener.exchange(session, sent, received);
            final RingTensor term = RingTensor.allocate(tmp, x.shape());
            for (int m = 1; m <= d; m++)
            {
                out[m - 1] = session.allocate(x.shape());
                out[m - 1].copyFrom(own[m]);
                for (int i = 1; i < m; i++)
                {
                    final int j = m - i;
                    // Server: x_0^i g_j + [A_i B_j]_0. Client: e_i B_j + [A_i B_j]_1.
                    final RingTensor product = tuple.products()[EspnTuple.productIndex(d, i, j)];
                    if (server)
                    {
                        k.fusedMultiplyAdd(own[i].segment(), received[j - 1].segment(), product.segment(),
                            term.segment(), n);
                    }
                    else
                    {
                        k.fusedMultiplyAdd(received[i - 1].segment(), masks[j - 1].segment(), product.segment(),
                            term.segment(), n);
                    }
                    k.multiplyConstant(term.segment(), binomial[m][i], term.segment(), n);
                    k.add(out[m - 1].segment(), term.segment(), out[m - 1].segment(), n);
                }
            }
        }
        return out;
    }

    /** Pascal's triangle mod 2^64, rows 0..d. */
    static long[][] binomials(final int d)
    {
        final long[][] t = new long[d + 1][];
        for (int m = 0; m <= d; m++)
        {
            t[m] = new long[m + 1];
            t[m][0] = 1;
            t[m][m] = 1;
            for (int i = 1; i < m; i++)
            {
                t[m][i] = t[m - 1][i - 1] + t[m - 1][i];
            }
        }
        return t;
    }
}
