package org.polypi.engine.protocol;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.Transport;
import org.polypi.kernels.AesCtrPrg;
import org.polypi.kernels.CandidateDifferences;
import org.polypi.kernels.Kernels;
import org.polypi.kernels.RingKernels;
import org.polypi.kernels.RingTensor;

/**
 * Party 2: generates the correlated randomness (triples, truncation pairs, power tuples, activation material) and
 * hands each computing party its shares.
 * <p>
 * <b>Seeds and streams.</b> One derivation scheme for all material (core pieces and the comparison pieces of
 * {@link #comparisons()} alike): the master seed's AES-CTR stream {@link #SEED_STREAM} gives the server's seed at
 * word {@link #SERVER_SEED_WORD} and the client's at word {@link #CLIENT_SEED_WORD}; each party seed's stream
 * {@link ShareStream#MATERIAL_STREAM} gives that party's free shares, in request order; one sequence numbers every
 * piece. (The client's input seed is its own, stream {@link InputSharing#INPUT_STREAM}.)
 * <p>
 * <b>What travels.</b> From its own 16-byte master seed the dealer derives one seed per computing party and sends it
 * once ({@link #start}). Every share that is free (uniform and not tied to other values: both shares of a mask r, A
 * or B, and all of the client's shares) is then drawn from that party's seed by both the dealer and the party, in
 * the same order, and never sent. The dealer sends only the server's shares of the dependent values (c = a·b,
 * r >>> s, powers, ...), one message per piece, followed by an 8-byte little-endian trailer holding the piece's
 * sequence number, which the server checks so that a dealer and a server that disagree on the order fail at once.
 * The message sizes are listed in docs/protocols.md.
 * <p>
 * <b>Why it is secure.</b> The dealer is trusted not to collude. Each computing party sees only its own seed and
 * shares; the other party's share of every value is pseudo-random to it (AES-CTR under a key it never sees), so its
 * own share, and every correction the server receives ({@code v - s_1} for a value v and the client's PRG share
 * s_1), is uniformly distributed whatever v is.
 * <p>
 * <b>Order.</b> The three parties must request the same pieces in the same order (the compiled plan decides it);
 * every piece gets the id {@code <kind>#<sequence>} on all three.
 * <p>
 * <b>Ahead of time.</b> {@link #capture} runs some dealing with the server's messages kept in an arena instead of
 * sent (a pool or a material file sends them later, in the same order); {@link #offline} makes a dealer without a
 * transport for a separate offline phase; {@link #position} and {@link #resume} read and set where the streams and
 * the sequence stand, so that a dealer that re-runs the set-up from the same seed can skip material dealt ahead.
 * <p>
 * Not thread-safe: one thread at a time (a pool's producer thread takes over after the set-up).
 */
public final class Dealer implements AutoCloseable
{
    /** Stream of the master seed from which the party seeds are derived. */
    public static final long SEED_STREAM = 0;
    /** Word of {@link #SEED_STREAM} where the server's 16-byte seed starts. */
    public static final long SERVER_SEED_WORD = 0;
    /** Word of {@link #SEED_STREAM} where the client's 16-byte seed starts. */
    public static final long CLIENT_SEED_WORD = 2;
    /** Bytes of the sequence-number trailer of each piece's message. */
    static final int TRAILER_BYTES = Long.BYTES;
    /** Trailer layout: explicit little-endian, like every word on the wire. */
    static final ValueLayout.OfLong TRAILER = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Transport transport;
    private final RingKernels kernels;
    private final Arena arena = Arena.ofShared();
    private final byte[] serverSeed;
    private final byte[] clientSeed;
    private final ShareStream server;
    private final ShareStream client;
    private final ComparisonDealer comparisons;
    private long sequence;
    private boolean started;
    /** Where captured messages go (null: sent). */
    private Arena captureArena;
    private List<MemorySegment> captured;

    /**
     * A dealer over {@code transport} (which must be party 2's), deterministic given {@code masterSeed}.
     *
     * @throws IllegalArgumentException if the transport is not the dealer's or the seed is not 16 bytes.
     */
    public Dealer(final Transport transport, final byte[] masterSeed)
    {
        this(transport, masterSeed, Kernels.get());
    }

    /** As {@link #Dealer(Transport, byte[])} with an explicit kernel backend. */
    public Dealer(final Transport transport, final byte[] masterSeed, final RingKernels kernels)
    {
        this(Objects.requireNonNull(transport, "transport"), masterSeed, kernels, true);
    }

    private Dealer(final Transport transport, final byte[] masterSeed, final RingKernels kernels,
                   final boolean connected)
    {
        this.transport = transport;
        this.kernels = Objects.requireNonNull(kernels, "kernels");
        if (connected && transport.self() != Party.DEALER)
        {
            throw new IllegalArgumentException("the dealer needs party 2's transport, got " + transport.self() + "'s");
        }
        final AesCtrPrg master = new AesCtrPrg(Objects.requireNonNull(masterSeed, "masterSeed"), SEED_STREAM);
        this.serverSeed = seedAt(master, SERVER_SEED_WORD);
        this.clientSeed = seedAt(master, CLIENT_SEED_WORD);
        this.server = new ShareStream(serverSeed);
        this.client = new ShareStream(clientSeed);
        this.comparisons = new ComparisonDealer(this);
    }

    /**
     * A dealer without a transport, for a separate offline phase: it deals exactly as a connected dealer with the
     * same seed, but messages not {@link #capture captured} (the seeds, the weight masks' trailers) are dropped.
     * The connection's dealer re-runs the set-up from the same seed and sends them then.
     */
    public static Dealer offline(final byte[] masterSeed, final RingKernels kernels)
    {
        return new Dealer(null, masterSeed, kernels, false);
    }

    /** The dealer of the comparison material, sharing this dealer's seeds, streams, sequence and queue. */
    public ComparisonDealer comparisons()
    {
        return comparisons;
    }

    /**
     * Runs {@code dealing} (calls on this dealer or its {@link #comparisons()}) with every message to the server
     * allocated in {@code arena} and kept instead of sent; returns them in dealing order. Sending them later, in
     * that order, is exactly what the dealing would have sent.
     *
     * @throws IllegalStateException if a capture is already running.
     */
    public List<MemorySegment> capture(final Arena arena, final Runnable dealing)
    {
        Objects.requireNonNull(arena, "arena");
        if (captured != null)
        {
            throw new IllegalStateException("a capture is already running");
        }
        final List<MemorySegment> out = new ArrayList<>();
        captureArena = arena;
        captured = out;
        try
        {
            dealing.run();
        }
        finally
        {
            captureArena = null;
            captured = null;
        }
        return out;
    }

    /** Where the dealer stands: the next piece's sequence number and the word positions of both party streams. */
    public Position position()
    {
        return new Position(sequence, server.position(), client.position());
    }

    /**
     * Moves the sequence and both party streams to {@code p}, e.g. past material dealt ahead from the same seed.
     *
     * @throws IllegalArgumentException if {@code p} lies before the current position (material would repeat).
     */
    public void resume(final Position p)
    {
        final Position now = position();
        if (p.sequence() < now.sequence() || p.serverWords() < now.serverWords() || p.clientWords() < now.clientWords())
        {
            throw new IllegalArgumentException("cannot move the dealer back from " + now + " to " + p +
                ": material would be dealt twice");
        }
        sequence = p.sequence();
        server.seek(p.serverWords());
        client.seek(p.clientWords());
    }

    /**
     * A dealer position.
     *
     * @param sequence the next piece's sequence number.
     * @param serverWords words drawn so far from the server's share stream.
     * @param clientWords words drawn so far from the client's share stream.
     */
    public record Position(long sequence, long serverWords, long clientWords)
    {
    }

    /** A fresh random master seed (deployments; tests pass fixed seeds). */
    public static byte[] randomSeed()
    {
        final byte[] seed = new byte[AesCtrPrg.SEED_BYTES];
        new SecureRandom().nextBytes(seed);
        return seed;
    }

    /** Sends each computing party its 16-byte seed. Call once, before any piece. */
    public void start()
    {
        if (started)
        {
            throw new IllegalStateException("dealer already started");
        }
        started = true;
        send(Party.SERVER, MemorySegment.ofArray(serverSeed));
        send(Party.CLIENT, MemorySegment.ofArray(clientSeed));
    }

    /** Deals an elementwise Beaver triple of the given shape. Sends the server one tensor (c_0). */
    public void beaverTriple(final int... shape)
    {
        final long seq = next();
        try (Arena tmp = Arena.ofConfined())
        {
            final RingTensor a = server.next(tmp, shape);
            final long n = a.size();
            final RingTensor b = server.next(tmp, shape);
            final RingTensor a1 = client.next(tmp, shape);
            final RingTensor b1 = client.next(tmp, shape);
            final RingTensor c1 = client.next(tmp, shape);
            kernels.add(a.segment(), a1.segment(), a.segment(), n);
            kernels.add(b.segment(), b1.segment(), b.segment(), n);
            kernels.multiply(a.segment(), b.segment(), a.segment(), n);
            kernels.sub(a.segment(), c1.segment(), a.segment(), n);
            sendPiece(seq, tmp, a);
        }
    }

    /**
     * Draws the weight mask B of one linear layer for this connection. Both shares of B come from the party seeds,
     * so the server's message is only the trailer. The returned handle keeps B for the per-query triples.
     */
    public WeightMask linearMask(final LinearOp op)
    {
        final long seq = next();
        final RingTensor b = server.next(arena, op.weightShape());
        try (Arena tmp = Arena.ofConfined())
        {
            final RingTensor b1 = client.next(tmp, op.weightShape());
            kernels.add(b.segment(), b1.segment(), b.segment(), b.size());
            sendPiece(seq, tmp);
        }
        return new WeightMask(id(LINEAR_MASK, seq), op, b);
    }

    /** Deals one query's triple (A, C = A·B) for {@code mask}. Sends the server one tensor (C_0, output-sized). */
    public void linearTriple(final WeightMask mask)
    {
        final long seq = next();
        final LinearOp op = mask.op;
        try (Arena tmp = Arena.ofShared())
        {
            final RingTensor a = server.next(tmp, op.inputShape());
            final RingTensor a1 = client.next(tmp, op.inputShape());
            final RingTensor c1 = client.next(tmp, op.outputShape());
            kernels.add(a.segment(), a1.segment(), a.segment(), a.size());
            final RingTensor c = RingTensor.allocate(tmp, op.outputShape());
            op.apply(kernels, a.segment(), mask.b.segment(), c.segment());
            kernels.sub(c.segment(), c1.segment(), c.segment(), c.size());
            sendPiece(seq, tmp, c);
        }
    }

    /**
     * Deals a faithful truncation pair for shift {@code shift} (1 to 62). Sends the server two tensors
     * ({@code (r >>> s)_0}, {@code msb(r)_0}).
     */
    public void truncationPair(final int shift, final int... shape)
    {
        FaithfulTruncation.checkTruncationShift(shift);
        final long seq = next();
        try (Arena tmp = Arena.ofConfined())
        {
            final RingTensor r = server.next(tmp, shape);
            final RingTensor r1 = client.next(tmp, shape);
            final RingTensor rs1 = client.next(tmp, shape);
            final RingTensor m1 = client.next(tmp, shape);
            final long n = r.size();
            kernels.add(r.segment(), r1.segment(), r.segment(), n);
            final RingTensor rs = RingTensor.allocate(tmp, shape);
            final RingTensor m = RingTensor.allocate(tmp, shape);
            RingOps.logicalShiftRight(kernels, r.segment(), shift, rs.segment(), m.segment(), n);
            RingOps.msb(kernels, r.segment(), m.segment(), n);
            kernels.sub(rs.segment(), rs1.segment(), rs.segment(), n);
            kernels.sub(m.segment(), m1.segment(), m.segment(), n);
            sendPiece(seq, tmp, rs, m);
        }
    }

    /** Deals a HoneyBadger power tuple {@code [r..r^d]}. Sends the server {@code d - 1} tensors. */
    public void powerTuple(final int degree, final int... shape)
    {
        checkDegree(degree, 1);
        final long seq = next();
        try (Arena tmp = Arena.ofConfined())
        {
            final RingTensor r = server.next(tmp, shape);
            final RingTensor r1 = client.next(tmp, shape);
            final long n = r.size();
            kernels.add(r.segment(), r1.segment(), r.segment(), n);
            final RingTensor[] corrections = new RingTensor[degree - 1];
            final RingTensor power = RingTensor.allocate(tmp, shape);
            power.copyFrom(r);
            for (int i = 2; i <= degree; i++)
            {
                kernels.multiply(power.segment(), r.segment(), power.segment(), n);
                final RingTensor p1 = client.next(tmp, shape);
                kernels.sub(power.segment(), p1.segment(), p1.segment(), n);
                corrections[i - 2] = p1;
            }
            sendPiece(seq, tmp, corrections);
        }
    }

    /**
     * Deals the fused activation material for {@code plan}: r, and per copy the candidate power tuples. Sends the
     * server {@code 2 * sum_j k_j} tensors in one message.
     */
    public void activationMaterial(final ActivationPlan plan, final int... shape)
    {
        final long seq = next();
        try (Arena tmp = Arena.ofConfined())
        {
            final RingTensor r = server.next(tmp, shape);
            final RingTensor r1 = client.next(tmp, shape);
            final long n = r.size();
            kernels.add(r.segment(), r1.segment(), r.segment(), n);
            final RingTensor notMsbR = RingTensor.allocate(tmp, shape);
            RingOps.negatedMsb(kernels, r.segment(), notMsbR.segment(), n);
            kernels.addConstant(notMsbR.segment(), 1L, notMsbR.segment(), n);
            final RingTensor q1 = RingTensor.allocate(tmp, shape);
            final RingTensor q0 = RingTensor.allocate(tmp, shape);
            final RingTensor p1 = RingTensor.allocate(tmp, shape);
            final RingTensor p0 = RingTensor.allocate(tmp, shape);
            final RingTensor[] corrections = new RingTensor[plan.materialTensors()];
            // Each copy's full differences, before they are packed or split; reused from copy to copy.
            final RingTensor[] diffs = new RingTensor[plan.maxDegree()];
            for (int i = 0; i < diffs.length; i++)
            {
                diffs[i] = RingTensor.allocate(tmp, shape);
            }
            int c = 0;
            for (int j = 0; j < plan.copies(); j++)
            {
                final int sh = plan.shift(j);
                final int degree = plan.degree(j);
                // Q1 = -(r >> sh); Q0 = Q1 + (1 - msb(r)) 2^(64 - sh), see ActivationMaterial.
                kernels.shiftRightArithmetic(r.segment(), sh, q1.segment(), n);
                kernels.negate(q1.segment(), q1.segment(), n);
                kernels.multiplyConstant(notMsbR.segment(), RingOps.pow2(RingOps.RING_BITS - sh), q0.segment(), n);
                kernels.add(q0.segment(), q1.segment(), q0.segment(), n);
                p1.copyFrom(q1);
                p0.copyFrom(q0);
                for (int i = 1; i <= degree; i++)
                {
                    if (i > 1)
                    {
                        kernels.multiply(p1.segment(), q1.segment(), p1.segment(), n);
                        kernels.multiply(p0.segment(), q0.segment(), p0.segment(), n);
                    }
                    // The client's shares come from its seed; the server gets value - client share.
                    final RingTensor base = client.next(tmp, shape);
                    kernels.sub(p1.segment(), base.segment(), base.segment(), n);
                    corrections[c++] = base;
                    kernels.sub(p1.segment(), p0.segment(), diffs[i - 1].segment(), n);
                }
                // Then the copy's difference words, after its bases (MaterialReceiver reads them in this order).
                final boolean packed = CandidateDifferences.packed(sh, degree);
                for (int w = 0; w < CandidateDifferences.words(sh, degree); w++)
                {
                    final RingTensor word = client.next(tmp, shape);
                    if (packed)
                    {
                        final int low = 2 * w;
                        CandidateDifferences.packShares(diffs[low].segment(),
                            low + 1 < degree ? diffs[low + 1].segment() : null, sh, word.segment(), word.segment(), n);
                    }
                    else
                    {
                        kernels.sub(diffs[w].segment(), word.segment(), word.segment(), n);
                    }
                    corrections[c++] = word;
                }
            }
            sendPiece(seq, tmp, corrections);
        }
    }

    /**
     * Deals ESPN cross-product material of degree {@code d >= 2}. Sends the server {@code d (d - 1) / 2} tensors.
     */
    public void espnTuple(final int degree, final int... shape)
    {
        checkDegree(degree, 2);
        final long seq = next();
        try (Arena tmp = Arena.ofConfined())
        {
            final RingTensor[] a = new RingTensor[degree - 1];
            final RingTensor[] b = new RingTensor[degree - 1];
            for (int i = 0; i < degree - 1; i++)
            {
                a[i] = server.next(tmp, shape);
            }
            for (int j = 0; j < degree - 1; j++)
            {
                b[j] = client.next(tmp, shape);
            }
            final long n = a[0].size();
            final RingTensor[] corrections = new RingTensor[EspnTuple.productCount(degree)];
            for (int i = 1; i < degree; i++)
            {
                for (int j = 1; i + j <= degree; j++)
                {
                    final RingTensor share1 = client.next(tmp, shape);
                    final RingTensor prod = RingTensor.allocate(tmp, shape);
                    kernels.multiply(a[i - 1].segment(), b[j - 1].segment(), prod.segment(), n);
                    kernels.sub(prod.segment(), share1.segment(), prod.segment(), n);
                    corrections[EspnTuple.productIndex(degree, i, j)] = prod;
                }
            }
            sendPiece(seq, tmp, corrections);
        }
    }

    @Override
    public void close()
    {
        arena.close();
    }

    // ---- package access for the ComparisonDealer, which shares the streams, sequence and queue ---------------

    ShareStream serverStream()
    {
        return server;
    }

    ShareStream clientStream()
    {
        return client;
    }

    RingKernels kernels()
    {
        return kernels;
    }

    /** The dealer's handle of one layer's weight mask B (both shares), kept for the per-query triples. */
    public static final class WeightMask
    {
        private final String id;
        private final LinearOp op;
        private final RingTensor b;

        private WeightMask(final String id, final LinearOp op, final RingTensor b)
        {
            this.id = id;
            this.op = op;
            this.b = b;
        }

        /** Id shared with the parties' {@link LinearMask}. */
        public String id()
        {
            return id;
        }

        /** The layer. */
        public LinearOp op()
        {
            return op;
        }
    }

    // ---- kinds and ids, shared with MaterialReceiver ------------------------------------------------------

    static final String BEAVER = "beaver";
    static final String LINEAR_MASK = "linear-mask";
    static final String LINEAR_TRIPLE = "linear-triple";
    static final String TRUNCATION = "truncation";
    static final String POWERS = "powers";
    static final String ACTIVATION = "activation";
    static final String ESPN = "espn";

    static String id(final String kind, final long seq)
    {
        return kind + "#" + seq;
    }

    static void checkDegree(final int degree, final int min)
    {
        if (degree < min || degree > ActivationPlan.MAX_DEGREE)
        {
            throw new IllegalArgumentException("degree must be in [" + min + ", " + ActivationPlan.MAX_DEGREE +
                "], was " + degree);
        }
    }

    long next()
    {
        if (!started)
        {
            throw new IllegalStateException("call start() before dealing material");
        }
        return sequence++;
    }

    private void sendPiece(final long seq, final Arena tmp, final RingTensor... parts)
    {
        sendPiece(seq, tmp, parts, seq);
    }

    /** Sends (or captures) one piece: its parts back to back, then the 8-byte {@code trailer}. */
    void sendPiece(final long seq, final Arena tmp, final RingTensor[] parts, final long trailer)
    {
        RingOps.checkWireOrder();
        long bytes = 0;
        for (final RingTensor t : parts)
        {
            bytes += t.byteSize();
        }
        final Arena into = captured != null ? captureArena : tmp;
        final MemorySegment message = into.allocate(bytes + TRAILER_BYTES, RingTensor.ALIGNMENT_BYTES);
        long offset = 0;
        for (final RingTensor t : parts)
        {
            MemorySegment.copy(t.segment(), 0, message, offset, t.byteSize());
            offset += t.byteSize();
        }
        message.set(TRAILER, offset, trailer);
        if (captured != null)
        {
            captured.add(message);
        }
        else
        {
            send(Party.SERVER, message);
        }
    }

    private void send(final Party to, final MemorySegment message)
    {
        if (transport != null)
        {
            transport.send(to, message);
        }
    }

    private static byte[] seedAt(final AesCtrPrg master, final long word)
    {
        final MemorySegment words = MemorySegment.ofArray(new byte[AesCtrPrg.SEED_BYTES]);
        master.fill(words, word, AesCtrPrg.SEED_BYTES / Long.BYTES);
        return words.toArray(ValueLayout.JAVA_BYTE);
    }
}
