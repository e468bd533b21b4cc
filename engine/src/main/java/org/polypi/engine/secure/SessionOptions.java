package org.polypi.engine.secure;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

import org.polypi.kernels.AesCtrPrg;
import org.polypi.kernels.Kernels;
import org.polypi.kernels.RingKernels;

/**
 * Parameters of one secure connection, agreed by the three parties at set-up.
 *
 * @param batch items per query: the linear layers' weight masks are drawn for this batch size once per connection,
 *     so every query carries exactly this many items (a session pads a short last batch).
 * @param timeout how long a party waits for a message before failing with an error naming the silent peer.
 * @param dealerSeed the dealer's 16-byte master seed (fixed in tests, {@code null} for a fresh random one).
 * @param kernels the ring kernel backend of all three parties.
 * @param observer the step hook of the computing parties ({@link StepObserver#NONE} normally).
 * @param dealerPool the dealer only: queries of material its producer thread deals ahead into a bounded pool
 *     ({@link MaterialPool}); 0 deals each query's material when the query starts.
 * @param dealerMaterial the dealer only: a material file written by {@link MaterialFile#write} for a separate
 *     offline phase, whose queries the dealer sends first (its seed replaces {@code dealerSeed}); it is consumed
 *     (recorded and deleted) when the dealer opens it. {@code null}: none.
 * @param activations how all three parties compute polynomial activations ({@link ActivationProtocol#FUSED}
 *     normally; the others are baselines). Not part of the plan hash: the parties must be configured alike (a
 *     mismatch fails at the first activation's material, whose sizes differ).
 */
public record SessionOptions(int batch, Duration timeout, byte[] dealerSeed, RingKernels kernels,
                             StepObserver observer, int dealerPool, Path dealerMaterial,
                             ActivationProtocol activations)
{
    /** Default receive timeout. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
    /** Largest dealer pool, in queries (each holds one query's material for the server in memory). */
    public static final int MAX_DEALER_POOL = 1 << 16;

    /** Checks the fields. */
    public SessionOptions
    {
        if (batch <= 0)
        {
            throw new IllegalArgumentException("batch must be positive, was " + batch);
        }
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isZero() || timeout.isNegative())
        {
            throw new IllegalArgumentException("timeout must be positive, was " + timeout);
        }
        if (dealerSeed != null && dealerSeed.length != AesCtrPrg.SEED_BYTES)
        {
            throw new IllegalArgumentException("dealerSeed must be " + AesCtrPrg.SEED_BYTES + " bytes, was " +
                dealerSeed.length);
        }
        dealerSeed = dealerSeed == null ? null : dealerSeed.clone();
        Objects.requireNonNull(kernels, "kernels");
        Objects.requireNonNull(observer, "observer");
        Objects.requireNonNull(activations, "activations");
        if (dealerPool < 0 || dealerPool > MAX_DEALER_POOL)
        {
            throw new IllegalArgumentException("dealerPool must be in [0, " + MAX_DEALER_POOL + "], was " +
                dealerPool);
        }
    }

    /** Batch {@code batch}, {@link #DEFAULT_TIMEOUT}, a random dealer seed, {@link Kernels#get()}, no observer. */
    public static SessionOptions of(final int batch)
    {
        return new SessionOptions(batch, DEFAULT_TIMEOUT, null, Kernels.get(), StepObserver.NONE, 0, null,
            ActivationProtocol.FUSED);
    }

    /** A copy of the dealer seed (null: random). */
    @Override
    public byte[] dealerSeed()
    {
        return dealerSeed == null ? null : dealerSeed.clone();
    }

    /** A copy with another timeout. */
    public SessionOptions withTimeout(final Duration newTimeout)
    {
        return new SessionOptions(batch, newTimeout, dealerSeed, kernels, observer,
            dealerPool, dealerMaterial, activations);
    }

    /** A copy with a fixed dealer seed. */
    public SessionOptions withDealerSeed(final byte[] seed)
    {
        return new SessionOptions(batch, timeout, seed, kernels, observer,
            dealerPool, dealerMaterial, activations);
    }

    /** A copy with another kernel backend. */
    public SessionOptions withKernels(final RingKernels newKernels)
    {
        return new SessionOptions(batch, timeout, dealerSeed, newKernels, observer,
            dealerPool, dealerMaterial, activations);
    }

    /** A copy with a step observer. */
    public SessionOptions withObserver(final StepObserver newObserver)
    {
        return new SessionOptions(batch, timeout, dealerSeed, kernels, newObserver,
            dealerPool, dealerMaterial, activations);
    }

    /** A copy whose dealer deals {@code queries} queries ahead into a bounded pool (0: none). */
    public SessionOptions withDealerPool(final int queries)
    {
        return new SessionOptions(batch, timeout, dealerSeed, kernels, observer,
            queries, dealerMaterial, activations);
    }

    /** A copy whose dealer sends the material of {@code file} first (null: none). */
    public SessionOptions withDealerMaterial(final Path file)
    {
        return new SessionOptions(batch, timeout, dealerSeed, kernels, observer,
            dealerPool, file, activations);
    }

    /** A copy whose parties compute polynomial activations with {@code protocol}. */
    public SessionOptions withActivations(final ActivationProtocol protocol)
    {
        return new SessionOptions(batch, timeout, dealerSeed, kernels, observer,
            dealerPool, dealerMaterial, protocol);
    }
}
