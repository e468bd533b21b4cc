package org.polypi.engine.protocol;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import org.polypi.kernels.BitKernels;
import org.polypi.kernels.RingTensor;

/**
 * Secure sign extraction: from an arithmetic sharing of x over Z_2^64, an arithmetic 0/1 sharing of
 * {@code msb(x)}, which is 1 exactly when x read as a signed {@code long} is negative. Exact for every x (no range
 * restriction; {@code Long.MIN_VALUE} is negative). Five rounds; see docs/protocols.md, "Comparison and ReLU".
 * <ol>
 *   <li>Open {@code c = x + r} (one round, 8 bytes per element). Then {@code x = c - r}, and
 *       {@code msb(x) = msb(c) XOR msb(r) XOR [c' < r']} with {@code c' = c mod 2^63}, {@code r' = r mod 2^63}:
 *       the borrow out of the low 63 bits.</li>
 *   <li>Locally: for each 4-bit chunk j of the public c', the XOR shares of {@code eq_j = [c'_j = r'_j]} and
 *       {@code lt_j = [c'_j < r'_j]} are bit {@code c'_j} of the dealer's one-hot code of {@code r'_j}, and the parity
 *       of the code's bits above {@code c'_j}. {@code msb(c) XOR msb(r)} is folded into the top chunk's lt.</li>
 *   <li>Three levels of the tree {@code lt = lt_hi XOR eq_hi lt_lo}, {@code eq = eq_hi eq_lo} (16 -> 8 -> 4 -> 2
 *       positions), each one round of Beaver AND products on packed XOR shares, both products of a pair sharing the
 *       opened {@code eq_hi}; the lowest position's eq is never needed, so it is not computed.</li>
 *   <li>The last pair, fused with the conversion to arithmetic shares: open {@code u XOR t}, {@code p XOR alpha},
 *       {@code q XOR beta} (3 bits) for {@code msb(x) = u XOR p q}; msb(x) is then a public affine combination of
 *       the seven monomials of t, alpha, beta, whose arithmetic shares the dealer provides (and, for a ReLU, of
 *       {@code r} times them, which gives {@code x msb(x) = c msb(x) - r msb(x)} without another round).</li>
 * </ol>
 * Bytes sent per party: {@code 8 (n + words(23 n) + words(11 n) + words(5 n) + words(3 n))}, words(b) =
 * ceil(b / 64): 13.25 n for n a multiple of 64, at most 40 per element.
 * <p>
 * Secure because r and every mask bit are fresh, uniform and used once (enforced): each opened value is uniform and
 * independent of x; everything else is local.
 */
public final class Comparison
{
    /** Sequential rounds of a comparison or ReLU: open c, three AND levels, the fused last level. */
    public static final int ROUNDS = 2 + ComparisonMaterial.XOR_LEVELS;

    /** Planes opened at the fused last level: u, p, q. */
    private static final int FINAL_PLANES = 3;
    /** log2 of the bits per word: element e of a plane is in word e >>> 6. */
    private static final int WORD_SHIFT = 6;
    /** The bits of one chunk's value. */
    private static final int CHUNK_MASK = (1 << ComparisonMaterial.CHUNK_BITS) - 1;
    /** The bits of one chunk's one-hot code. */
    private static final int CODE_MASK = (1 << ComparisonMaterial.CODE_BITS) - 1;
    /** The code bits strictly above position 0 of a 16-bit one-hot code; shifted left by v: above v. */
    private static final int ABOVE_ZERO = 0xFFFE;

    private Comparison()
    {
    }

    /**
     * This party's arithmetic share of {@code msb(x)} (0 or 1), in the session's arena. {@link #ROUNDS} rounds.
     * Accepts MSB or ReLU material.
     *
     * @throws IllegalArgumentException if the material's size differs from x's.
     * @throws IllegalStateException if the material was already used (nothing is sent then).
     */
    public static RingTensor msb(final PartySession session, final RingTensor x, final ComparisonMaterial material)
    {
        return evaluate(session, x, material, false);
    }

    /** Bytes one party sends for n comparisons (or ReLUs): see the class comment. */
    public static long bytesSent(final long n)
    {
        long words = n;
        for (int level = 0; level < ComparisonMaterial.XOR_LEVELS; level++)
        {
            words += BitShares.words(openedPlanes(level) * n);
        }
        words += BitShares.words(FINAL_PLANES * n);
        return words * Long.BYTES;
    }

    /** Planes opened at XOR level {@code level}: eq_hi and lt_lo of every pair, eq_lo of all but pair 0. */
    static long openedPlanes(final int level)
    {
        return 3L * ComparisonMaterial.pairs(level) - 1;
    }

    /**
     * The protocol: {@code msb(x)} shares, or, when {@code relu}, {@code x (1 - msb(x))} shares. The material must be
     * ReLU material when {@code relu}.
     */
    static RingTensor evaluate(final PartySession session, final RingTensor x, final ComparisonMaterial material,
                               final boolean relu)
    {
        RingOps.requireSize("x", x, material.size());
        if (relu && material.kind() != ComparisonMaterial.Kind.RELU)
        {
            throw new IllegalArgumentException("ReLU needs ReLU material, " + material.id() + " is " +
                material.kind() + " material");
        }
        material.take();
        final int n = Math.toIntExact(x.size());
        final long words = BitShares.words(n);
        final boolean party0 = session.holdsConstants();
        final RingTensor out = session.allocate(x.shape());
        try (Arena tmp = session.temporaries())
        {
            final RingTensor c = RingTensor.allocate(tmp, x.shape());
            session.kernels().add(x.segment(), material.r().segment(), c.segment(), n);
            Opener.open(session, new RingTensor[]{c}, new RingTensor[]{c});

            MemorySegment lt = BitShares.allocateWords(tmp, ComparisonMaterial.CHUNKS * words);
            MemorySegment eq = BitShares.allocateWords(tmp, ComparisonMaterial.CHUNKS * words);
            chunkComparisons(c.segment(), material.codes().segment(), material.msbR().segment(), party0, lt, eq, n,
                words);
            for (int level = 0; level < ComparisonMaterial.XOR_LEVELS; level++)
            {
                final int pairs = ComparisonMaterial.pairs(level);
                final MemorySegment nextLt = BitShares.allocateWords(tmp, pairs * words);
                final MemorySegment nextEq = BitShares.allocateWords(tmp, pairs * words);
                combineLevel(session, tmp, material, level, lt, eq, nextLt, nextEq, n, words);
                lt = nextLt;
                eq = nextEq;
            }
            final MemorySegment opened = openFinal(session, tmp, material, lt, eq, n, words);
            finish(opened, material, c.segment(), x.segment(), out.segment(), party0, relu, n);
        }
        return out;
    }

    /**
     * Step 2: the XOR shares of {@code lt_j} and {@code eq_j} for the 16 chunks, as planes ({@code lt} plane j,
     * {@code eq} plane j; eq plane 0 is left zero: never needed), with {@code msb(c) XOR msb(r)} folded into lt
     * plane 15.
     */
    private static void chunkComparisons(final MemorySegment c, final MemorySegment codes, final MemorySegment msbR,
                                         final boolean party0, final MemorySegment lt, final MemorySegment eq,
                                         final long n, final long words)
    {
        final long[] ltWords = new long[ComparisonMaterial.CHUNKS];
        final long[] eqWords = new long[ComparisonMaterial.CHUNKS];
        final int top = ComparisonMaterial.CHUNKS - 1;
        for (long w = 0; w < words; w++)
        {
            Arrays.fill(ltWords, 0L);
            Arrays.fill(eqWords, 0L);
            final int count = (int)Math.min(Long.SIZE, n - (w << WORD_SHIFT));
            for (int i = 0; i < count; i++)
            {
                final long e = (w << WORD_SHIFT) + i;
                final long ce = c.getAtIndex(RingTensor.ELEMENT, e);
                final long low = ce & Long.MAX_VALUE;
                for (int q = 0; q < ComparisonMaterial.CODE_WORDS; q++)
                {
                    final long codeWord = codes.getAtIndex(RingTensor.ELEMENT, e * ComparisonMaterial.CODE_WORDS + q);
                    for (int f = 0; f < ComparisonMaterial.CODES_PER_WORD; f++)
                    {
                        final int j = q * ComparisonMaterial.CODES_PER_WORD + f;
                        final int v = (int)(low >>> (j * ComparisonMaterial.CHUNK_BITS)) & CHUNK_MASK;
                        final int code = (int)(codeWord >>> (f * ComparisonMaterial.CODE_BITS)) & CODE_MASK;
                        eqWords[j] |= (long)((code >>> v) & 1) << i;
                        ltWords[j] |= (long)(Integer.bitCount(code & (ABOVE_ZERO << v)) & 1) << i;
                    }
                }
                if (party0)
                {
                    ltWords[top] ^= (ce >>> RingOps.MSB) << i;
                }
            }
            ltWords[top] ^= msbR.getAtIndex(RingTensor.ELEMENT, w);
            for (int j = 0; j < ComparisonMaterial.CHUNKS; j++)
            {
                lt.setAtIndex(RingTensor.ELEMENT, j * words + w, ltWords[j]);
                if (j > 0)
                {
                    eq.setAtIndex(RingTensor.ELEMENT, j * words + w, eqWords[j]);
                }
            }
        }
    }

    /**
     * One XOR level: positions {@code 2k + 1} (high) and {@code 2k} (low) of (lt, eq) become position k of
     * (nextLt, nextEq): {@code lt = lt_hi ^ eq_hi lt_lo}, {@code eq = eq_hi eq_lo} (k > 0). One round.
     */
    private static void combineLevel(final PartySession session, final Arena tmp, final ComparisonMaterial m,
                                     final int level, final MemorySegment lt, final MemorySegment eq,
                                     final MemorySegment nextLt, final MemorySegment nextEq, final long n,
                                     final long words)
    {
        final int pairs = ComparisonMaterial.pairs(level);
        final MemorySegment a = m.a(level).segment();
        final MemorySegment b1 = m.b1(level).segment();
        final MemorySegment b2 = m.b2(level).segment();
        // Message planes: eq_hi ^ a (pairs), lt_lo ^ b1 (pairs), eq_lo ^ b2 (pairs 1..pairs-1).
        final long planes = openedPlanes(level);
        final MemorySegment scratch = BitShares.allocateWords(tmp, words);
        final MemorySegment message = BitShares.allocateWords(tmp, BitShares.words(planes * n));
        for (int k = 0; k < pairs; k++)
        {
            maskInto(message, k * n, BitShares.plane(eq, 2L * k + 1, words), BitShares.plane(a, k, words), scratch,
                n, words);
            maskInto(message, (pairs + k) * n, BitShares.plane(lt, 2L * k, words), BitShares.plane(b1, k, words),
                scratch, n, words);
            if (k > 0)
            {
                maskInto(message, (2L * pairs + k - 1) * n, BitShares.plane(eq, 2L * k, words),
                    BitShares.plane(b2, k - 1, words), scratch, n, words);
            }
        }
        final MemorySegment opened = exchangeXor(session, tmp, message);
        final MemorySegment dx = BitShares.allocateWords(tmp, words);
        final MemorySegment dy = BitShares.allocateWords(tmp, words);
        final MemorySegment c1 = m.c1(level).segment();
        final MemorySegment c2 = m.c2(level).segment();
        final boolean party0 = session.holdsConstants();
        for (int k = 0; k < pairs; k++)
        {
            final MemorySegment ak = BitShares.plane(a, k, words);
            BitShares.readPlane(opened, k * n, dx, n);
            BitShares.readPlane(opened, (pairs + k) * n, dy, n);
            final MemorySegment ltk = BitShares.plane(nextLt, k, words);
            BitShares.andShare(dx, dy, ak, BitShares.plane(b1, k, words), BitShares.plane(c1, k, words), party0, ltk,
                scratch, words);
            BitKernels.xor(ltk, BitShares.plane(lt, 2L * k + 1, words), ltk, words);
            if (k > 0)
            {
                BitShares.readPlane(opened, (2L * pairs + k - 1) * n, dy, n);
                BitShares.andShare(dx, dy, ak, BitShares.plane(b2, k - 1, words), BitShares.plane(c2, k - 1, words),
                    party0, BitShares.plane(nextEq, k, words), scratch, words);
            }
        }
    }

    /** The last round: opens {@code lt_1 ^ t}, {@code eq_1 ^ alpha}, {@code lt_0 ^ beta}; returns the opened planes. */
    private static MemorySegment openFinal(final PartySession session, final Arena tmp, final ComparisonMaterial m,
                                           final MemorySegment lt, final MemorySegment eq, final long n,
                                           final long words)
    {
        final MemorySegment masks = m.masks().segment();
        final MemorySegment scratch = BitShares.allocateWords(tmp, words);
        final MemorySegment message = BitShares.allocateWords(tmp, BitShares.words(FINAL_PLANES * n));
        maskInto(message, 0, BitShares.plane(lt, 1, words), BitShares.plane(masks, 0, words), scratch, n, words);
        maskInto(message, n, BitShares.plane(eq, 1, words), BitShares.plane(masks, 1, words), scratch, n, words);
        maskInto(message, 2 * n, BitShares.plane(lt, 0, words), BitShares.plane(masks, 2, words), scratch, n, words);
        return exchangeXor(session, tmp, message);
    }

    /**
     * The fused last level. With the opened bits du, dp, dq (sigma_d = 1 - 2d, P0 = dp dq, Pa = dq sigma_p,
     * Pb = dp sigma_q, Pab = sigma_p sigma_q, so that {@code p q = P0 + Pa alpha + Pb beta + Pab alpha beta}):
     * <pre>
     *   msb(x) = u ^ pq = du + sigma_u (t + pq - 2 t pq)
     *          = K0 + Kt t + Ka alpha + Kb beta + Kab alpha beta - 2 Ka t alpha - 2 Kb t beta - 2 Kab t alpha beta
     * </pre>
     * with {@code K0 = du + sigma_u P0}, {@code Kt = sigma_u (1 - 2 P0)}, {@code Ka = sigma_u Pa}, and so on. A ReLU
     * is {@code x - x msb(x)}, {@code x msb(x) = c [msb(x)] - (K0 [r] + sum_m K_m [r m])}.
     */
    private static void finish(final MemorySegment opened, final ComparisonMaterial m, final MemorySegment c,
                               final MemorySegment x, final MemorySegment out, final boolean party0,
                               final boolean relu, final long n)
    {
        final MemorySegment mono = m.monomials().segment();
        final MemorySegment rProducts = relu ? m.rProducts().segment() : null;
        final MemorySegment r = m.r().segment();
        final long[] k = new long[ComparisonMaterial.MONOMIALS];
        for (long e = 0; e < n; e++)
        {
            final long du = BitShares.bit(opened, e);
            final long dp = BitShares.bit(opened, n + e);
            final long dq = BitShares.bit(opened, 2 * n + e);
            final long su = 1 - 2 * du;
            final long p0 = dp * dq;
            final long pa = dq * (1 - 2 * dp);
            final long pb = dp * (1 - 2 * dq);
            final long pab = (1 - 2 * dp) * (1 - 2 * dq);
            final long k0 = du + su * p0;
            // Order of the material's monomials: t, alpha, beta, alpha beta, t alpha, t beta, t alpha beta.
            k[0] = su * (1 - 2 * p0);
            k[1] = su * pa;
            k[2] = su * pb;
            k[3] = su * pab;
            k[4] = -2 * k[1];
            k[5] = -2 * k[2];
            k[6] = -2 * k[3];
            long share = party0 ? k0 : 0;
            for (int i = 0; i < ComparisonMaterial.MONOMIALS; i++)
            {
                share += k[i] * mono.getAtIndex(RingTensor.ELEMENT, i * n + e);
            }
            if (relu)
            {
                long masked = k0 * r.getAtIndex(RingTensor.ELEMENT, e);
                for (int i = 0; i < ComparisonMaterial.MONOMIALS; i++)
                {
                    masked += k[i] * rProducts.getAtIndex(RingTensor.ELEMENT, i * n + e);
                }
                final long product = c.getAtIndex(RingTensor.ELEMENT, e) * share - masked;
                out.setAtIndex(RingTensor.ELEMENT, e, x.getAtIndex(RingTensor.ELEMENT, e) - product);
            }
            else
            {
                out.setAtIndex(RingTensor.ELEMENT, e, share);
            }
        }
    }

    /** Writes {@code share ^ mask} (n bits) into {@code message} at bit {@code offset}. */
    private static void maskInto(final MemorySegment message, final long offset, final MemorySegment share,
                                 final MemorySegment mask, final MemorySegment scratch, final long n, final long words)
    {
        BitKernels.xor(share, mask, scratch, words);
        BitShares.writePlane(message, offset, scratch, n);
    }

    /** Sends the dense message, receives the peer's, and returns their XOR (the opened bits). One round. */
    private static MemorySegment exchangeXor(final PartySession session, final Arena tmp, final MemorySegment message)
    {
        final int messageWords = Math.toIntExact(message.byteSize() / Long.BYTES);
        final RingTensor mine = RingTensor.wrap(message, messageWords);
        final RingTensor theirs = RingTensor.allocate(tmp, messageWords);
        Opener.exchange(session, new RingTensor[]{mine}, new RingTensor[]{theirs});
        BitKernels.xor(message, theirs.segment(), message, messageWords);
        return message;
    }
}
