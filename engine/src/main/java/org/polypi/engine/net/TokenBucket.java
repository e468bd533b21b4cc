package org.polypi.engine.net;

/**
 * Paces bytes at a fixed rate with a small burst allowance. A reservation may overdraw the bucket: it then returns
 * the time at which the debt is paid, and later reservations queue behind it, as bytes on a wire queue behind the
 * ones already on it. Not thread-safe (one per link, used by its sender).
 */
final class TokenBucket
{
    private static final double NANOS_PER_SECOND = 1e9;

    private final double bytesPerNano;
    private final double burst;
    private double tokens;
    private long updatedNs;

    /**
     * @param bytesPerSecond rate (> 0).
     * @param burstBytes     bytes that may leave at once after a quiet period.
     */
    TokenBucket(final double bytesPerSecond, final long burstBytes, final long nowNs)
    {
        if (!(bytesPerSecond > 0))
        {
            throw new IllegalArgumentException("rate must be positive, was " + bytesPerSecond);
        }
        this.bytesPerNano = bytesPerSecond / NANOS_PER_SECOND;
        this.burst = burstBytes;
        this.tokens = burstBytes;
        this.updatedNs = nowNs;
    }

    /** Takes {@code bytes}; returns when they have all left (at or after {@code nowNs}). */
    long reserve(final long bytes, final long nowNs)
    {
        if (nowNs - updatedNs > 0)
        {
            tokens = Math.min(burst, tokens + (nowNs - updatedNs) * bytesPerNano);
            updatedNs = nowNs;
        }
        tokens -= bytes;
        return tokens >= 0 ? nowNs : nowNs + (long)Math.ceil(-tokens / bytesPerNano);
    }
}
