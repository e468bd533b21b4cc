package org.polypi.engine.secure;

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
 */
public record SessionOptions(int batch, Duration timeout, byte[] dealerSeed, RingKernels kernels,
                             StepObserver observer)
{
    /** Default receive timeout. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

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
    }

    /** Batch {@code batch}, {@link #DEFAULT_TIMEOUT}, a random dealer seed, {@link Kernels#get()}, no observer. */
    public static SessionOptions of(final int batch)
    {
        return new SessionOptions(batch, DEFAULT_TIMEOUT, null, Kernels.get(), StepObserver.NONE);
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
        return new SessionOptions(batch, newTimeout, dealerSeed, kernels, observer);
    }

    /** A copy with a fixed dealer seed. */
    public SessionOptions withDealerSeed(final byte[] seed)
    {
        return new SessionOptions(batch, timeout, seed, kernels, observer);
    }

    /** A copy with another kernel backend. */
    public SessionOptions withKernels(final RingKernels newKernels)
    {
        return new SessionOptions(batch, timeout, dealerSeed, newKernels, observer);
    }

    /** A copy with a step observer. */
    public SessionOptions withObserver(final StepObserver newObserver)
    {
        return new SessionOptions(batch, timeout, dealerSeed, kernels, newObserver);
    }
}
