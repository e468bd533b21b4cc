package org.polypi.model;

import java.nio.charset.StandardCharsets;

/**
 * SplitMix64 (Steele, Lea, Flood 2014), spelled out here rather than borrowed from {@code java.util} so that the
 * reference networks' random weights are bit-identical on every JDK and machine: only integer arithmetic, one
 * float conversion, and float operations that Java defines exactly.
 */
final class SplitMix64
{
    private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;
    private static final long FNV_OFFSET = 0xCBF29CE484222325L;
    private static final long FNV_PRIME = 0x100000001B3L;
    /** 24 bits: a float's significand, so every value of {@link #nextFloat()} is exact. */
    private static final int FLOAT_BITS = 24;
    private static final float FLOAT_UNIT = 0x1.0p-24f;

    private long state;

    SplitMix64(final long seed)
    {
        state = seed;
    }

    /**
     * An independent stream for the tensor called {@code name} of a model seeded with {@code seed}: each tensor
     * gets its own stream, so a tensor's values do not depend on which other layers the network has (turning
     * BatchNorm on does not change the convolution weights).
     */
    static SplitMix64 stream(final long seed, final String name)
    {
        long h = FNV_OFFSET;
        for (final byte b : name.getBytes(StandardCharsets.UTF_8))
        {
            h = (h ^ (b & 0xFF)) * FNV_PRIME;
        }
        return new SplitMix64(mix(seed + GOLDEN_GAMMA) ^ mix(h));
    }

    static long mix(final long x)
    {
        long z = x;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    long nextLong()
    {
        state += GOLDEN_GAMMA;
        return mix(state);
    }

    /** Uniform in [0, 1), a multiple of 2^-24. */
    float nextFloat()
    {
        return (nextLong() >>> (Long.SIZE - FLOAT_BITS)) * FLOAT_UNIT;
    }

    /** Uniform in [lo, hi). */
    float uniform(final float lo, final float hi)
    {
        return lo + (hi - lo) * nextFloat();
    }
}
