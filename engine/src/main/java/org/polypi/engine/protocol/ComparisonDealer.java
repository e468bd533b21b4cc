package org.polypi.engine.protocol;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import org.polypi.kernels.BitKernels;
import org.polypi.kernels.RingKernels;
import org.polypi.kernels.RingTensor;

/**
 * The dealer (party 2) of the comparison material ({@link ComparisonMaterial}): a view of a {@link Dealer}
 * ({@link Dealer#comparisons()}) that shares its seeds, party streams, sequence and queue to the server, so all the
 * material of a connection comes from one seed-derivation scheme (see {@link Dealer}).
 * <p>
 * <b>What travels.</b> Every free share (both shares of the masks r, a, b1, b2, t, alpha, beta and every share of
 * the client) is drawn from the owner's seed by both sides and never travels. The server gets, per piece, one
 * message with its shares of the dependent values (the one-hot codes and msb of r, the AND products c1, c2, the
 * monomials and, for a ReLU, the r products), followed by an 8-byte little-endian trailer
 * {@code TRAILER_TAG | sequence}; the tag keeps a mix-up with a core piece (whose trailer is the plain sequence
 * number) from passing the server's check even when the sizes agree.
 * <p>
 * <b>Why it is secure.</b> As for {@link Dealer}: each party sees only its seed and its shares; the other party's
 * share of every value is pseudo-random to it, so its own shares and the server's corrections are uniform.
 * <p>
 * <b>Order.</b> The parties' {@link ComparisonReceiver} ({@link MaterialReceiver#comparisons()}) must request the
 * same pieces in the same order, interleaved with the core pieces as the dealer dealt them. Ids are
 * {@code msb#<sequence>} and {@code relu#<sequence>}, in the dealer's one sequence. Not thread-safe.
 */
public final class ComparisonDealer
{
    /** Marks this dealer's trailers; a sequence number never reaches it. */
    static final long TRAILER_TAG = 0x434D_5000_0000_0000L;
    /** Bytes of the trailer of each piece's message. */
    static final int TRAILER_BYTES = Long.BYTES;
    /** Trailer layout: explicit little-endian, like every word on the wire. */
    static final ValueLayout.OfLong TRAILER = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Dealer core;
    private final RingKernels kernels;
    private final ShareStream server;
    private final ShareStream client;

    /** The comparison view of {@code core}: use {@link Dealer#comparisons()}. */
    ComparisonDealer(final Dealer core)
    {
        this.core = core;
        this.kernels = core.kernels();
        this.server = core.serverStream();
        this.client = core.clientStream();
    }

    /** Deals the material of {@link Comparison#msb} for values of the given shape. */
    public void msbMaterial(final int... shape)
    {
        deal(ComparisonMaterial.Kind.MSB, shape);
    }

    /** Deals the material of {@link Relu#relu} for values of the given shape. */
    public void reluMaterial(final int... shape)
    {
        deal(ComparisonMaterial.Kind.RELU, shape);
    }

    /**
     * Deals the material of {@link Relu#masked} for {@code items} stacked inputs of {@code mask}'s size: one ReLU
     * piece of {@code items * mask.keptCount()} values, or nothing when the mask keeps no ReLU.
     */
    public void maskedReluMaterial(final ReluMask mask, final int items)
    {
        final int kept = mask.keptFor(items);
        if (kept > 0)
        {
            reluMaterial(kept);
        }
    }

    /** Deals the material of {@link MaxPool#maxPool2d}: one ReLU piece per comparison level of the plan. */
    public void maxPoolMaterial(final MaxPoolPlan plan)
    {
        for (int level = 0; level < plan.levels(); level++)
        {
            reluMaterial(plan.comparisons(level));
        }
    }

    /** Bytes of the dealer's message to the server for one piece of n values (trailer included). */
    public static long serverMessageBytes(final ComparisonMaterial.Kind kind, final long n)
    {
        final long planeWords = BitShares.words(n);
        long words = (long)ComparisonMaterial.CODE_WORDS * n + planeWords;
        for (int level = 0; level < ComparisonMaterial.XOR_LEVELS; level++)
        {
            words += (2L * ComparisonMaterial.pairs(level) - 1) * planeWords;
        }
        words += (long)ComparisonMaterial.MONOMIALS * n * (kind == ComparisonMaterial.Kind.RELU ? 2 : 1);
        return words * Long.BYTES + TRAILER_BYTES;
    }

    private void deal(final ComparisonMaterial.Kind kind, final int[] shape)
    {
        final long seq = next();
        try (Arena tmp = Arena.ofConfined())
        {
            final RingTensor r = server.next(tmp, shape);
            final int n = Math.toIntExact(r.size());
            final int words = Math.toIntExact(BitShares.words(n));
            final RingTensor[] a = new RingTensor[ComparisonMaterial.XOR_LEVELS];
            final RingTensor[] b1 = new RingTensor[ComparisonMaterial.XOR_LEVELS];
            final RingTensor[] b2 = new RingTensor[ComparisonMaterial.XOR_LEVELS];
            for (int level = 0; level < ComparisonMaterial.XOR_LEVELS; level++)
            {
                final int pairs = ComparisonMaterial.pairs(level);
                a[level] = server.next(tmp, pairs, words);
                b1[level] = server.next(tmp, pairs, words);
                b2[level] = server.next(tmp, pairs - 1, words);
            }
            final RingTensor masks = server.next(tmp, ComparisonMaterial.FINAL_MASKS, words);

            // The client's draws, in ComparisonReceiver's order; the dependent ones become the server's corrections.
            final RingTensor r1 = client.next(tmp, shape);
            final RingTensor codes = client.next(tmp, n, ComparisonMaterial.CODE_WORDS);
            final RingTensor msbR = client.next(tmp, 1, words);
            final RingTensor[] c1 = new RingTensor[ComparisonMaterial.XOR_LEVELS];
            final RingTensor[] c2 = new RingTensor[ComparisonMaterial.XOR_LEVELS];
            for (int level = 0; level < ComparisonMaterial.XOR_LEVELS; level++)
            {
                final int pairs = ComparisonMaterial.pairs(level);
                xorInto(a[level], client.next(tmp, pairs, words));
                xorInto(b1[level], client.next(tmp, pairs, words));
                xorInto(b2[level], client.next(tmp, pairs - 1, words));
                c1[level] = client.next(tmp, pairs, words);
                c2[level] = client.next(tmp, pairs - 1, words);
            }
            xorInto(masks, client.next(tmp, ComparisonMaterial.FINAL_MASKS, words));
            final RingTensor monomials = client.next(tmp, ComparisonMaterial.MONOMIALS, n);
            final RingTensor rProducts = kind == ComparisonMaterial.Kind.RELU ?
                client.next(tmp, ComparisonMaterial.MONOMIALS, n) : null;

            kernels.add(r.segment(), r1.segment(), r.segment(), n);
            codesCorrection(r, codes, n);
            msbCorrection(r, msbR, n);
            for (int level = 0; level < ComparisonMaterial.XOR_LEVELS; level++)
            {
                productCorrections(tmp, level, a[level], b1[level], b2[level], c1[level], c2[level], words);
            }
            monomialCorrections(r, masks, monomials, rProducts, n, words);
            final RingTensor[] parts = new RingTensor[2 + 2 * ComparisonMaterial.XOR_LEVELS +
                (rProducts == null ? 1 : 2)];
            int p = 0;
            parts[p++] = codes;
            parts[p++] = msbR;
            for (int level = 0; level < ComparisonMaterial.XOR_LEVELS; level++)
            {
                parts[p++] = c1[level];
                parts[p++] = c2[level];
            }
            parts[p++] = monomials;
            if (rProducts != null)
            {
                parts[p] = rProducts;
            }
            sendPiece(seq, tmp, parts);
        }
    }

    /** {@code codes ^= one-hot codes of the 4-bit chunks of r mod 2^63}: the server's share. */
    private static void codesCorrection(final RingTensor r, final RingTensor codes, final int n)
    {
        final MemorySegment rs = r.segment();
        final MemorySegment cs = codes.segment();
        for (int e = 0; e < n; e++)
        {
            final long low = rs.getAtIndex(RingTensor.ELEMENT, e) & Long.MAX_VALUE;
            for (int q = 0; q < ComparisonMaterial.CODE_WORDS; q++)
            {
                long word = 0;
                for (int f = 0; f < ComparisonMaterial.CODES_PER_WORD; f++)
                {
                    final int chunk = q * ComparisonMaterial.CODES_PER_WORD + f;
                    final int value = (int)(low >>> (chunk * ComparisonMaterial.CHUNK_BITS)) &
                        ((1 << ComparisonMaterial.CHUNK_BITS) - 1);
                    word |= 1L << (f * ComparisonMaterial.CODE_BITS + value);
                }
                final long index = (long)e * ComparisonMaterial.CODE_WORDS + q;
                cs.setAtIndex(RingTensor.ELEMENT, index, cs.getAtIndex(RingTensor.ELEMENT, index) ^ word);
            }
        }
    }

    /** {@code msbR ^= plane of msb(r)}. */
    private static void msbCorrection(final RingTensor r, final RingTensor msbR, final int n)
    {
        final MemorySegment rs = r.segment();
        final MemorySegment ms = msbR.segment();
        for (int e = 0; e < n; e++)
        {
            final long bit = rs.getAtIndex(RingTensor.ELEMENT, e) >>> RingOps.MSB;
            final long w = e / Long.SIZE;
            ms.setAtIndex(RingTensor.ELEMENT, w, ms.getAtIndex(RingTensor.ELEMENT, w) ^ bit << (e % Long.SIZE));
        }
    }

    /** {@code c1 ^= a & b1} plane by plane and {@code c2[p] ^= a[p + 1] & b2[p]} (pair 0 has no second product). */
    private static void productCorrections(final Arena tmp, final int level, final RingTensor a, final RingTensor b1,
                                           final RingTensor b2, final RingTensor c1, final RingTensor c2,
                                           final int words)
    {
        final MemorySegment product = BitShares.allocateWords(tmp, words);
        for (int p = 0; p < ComparisonMaterial.pairs(level); p++)
        {
            final MemorySegment ap = BitShares.plane(a.segment(), p, words);
            BitKernels.and(ap, BitShares.plane(b1.segment(), p, words), product, words);
            final MemorySegment c1p = BitShares.plane(c1.segment(), p, words);
            BitKernels.xor(c1p, product, c1p, words);
            if (p > 0)
            {
                BitKernels.and(ap, BitShares.plane(b2.segment(), p - 1, words), product, words);
                final MemorySegment c2p = BitShares.plane(c2.segment(), p - 1, words);
                BitKernels.xor(c2p, product, c2p, words);
            }
        }
    }

    /** {@code monomials = m - monomials} and {@code rProducts = r m - rProducts} for the seven monomials m. */
    private static void monomialCorrections(final RingTensor r, final RingTensor masks, final RingTensor monomials,
                                            final RingTensor rProducts, final int n, final int words)
    {
        final MemorySegment t = BitShares.plane(masks.segment(), 0, words);
        final MemorySegment alpha = BitShares.plane(masks.segment(), 1, words);
        final MemorySegment beta = BitShares.plane(masks.segment(), 2, words);
        final MemorySegment ms = monomials.segment();
        for (int e = 0; e < n; e++)
        {
            final int bits = BitShares.bit(t, e) | BitShares.bit(alpha, e) << 1 | BitShares.bit(beta, e) << 2;
            final long re = r.get(e);
            for (int m = 0; m < ComparisonMaterial.MONOMIALS; m++)
            {
                final long value = ComparisonMaterial.monomial(m, bits);
                final long index = (long)m * n + e;
                ms.setAtIndex(RingTensor.ELEMENT, index, value - ms.getAtIndex(RingTensor.ELEMENT, index));
                if (rProducts != null)
                {
                    rProducts.set(index, re * value - rProducts.get(index));
                }
            }
        }
    }

    private static void xorInto(final RingTensor into, final RingTensor other)
    {
        BitKernels.xor(into.segment(), other.segment(), into.segment(), into.size());
    }

    private long next()
    {
        return core.next();
    }

    private void sendPiece(final long seq, final Arena tmp, final RingTensor... parts)
    {
        core.sendPiece(seq, tmp, parts, TRAILER_TAG | seq);
    }
}
