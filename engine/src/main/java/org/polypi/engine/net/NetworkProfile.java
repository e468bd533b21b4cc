package org.polypi.engine.net;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * A network to emulate with {@link ShapedTransport}: round-trip time and bandwidth of each link (workloads.md,
 * "Network profiles").
 *
 * @param name          the profile's name as the bench and the CLI spell it.
 * @param rtt           round-trip time; each message is delayed by half of it.
 * @param bitsPerSecond bandwidth of each direction of each link; 0 means unlimited.
 */
public record NetworkProfile(String name, Duration rtt, long bitsPerSecond)
{
    /** Loopback as it is: no shaping. */
    public static final NetworkProfile LAN = new NetworkProfile("lan", Duration.ZERO, 0);
    /** 0.5 ms round trip, 1 Gbit/s. */
    public static final NetworkProfile LAN_1G = new NetworkProfile("lan-1g", Duration.ofNanos(500_000), 1_000_000_000L);
    /** 50 ms round trip, 400 Mbit/s. */
    public static final NetworkProfile WAN = new NetworkProfile("wan", Duration.ofMillis(50), 400_000_000L);

    /**
     * Validates.
     *
     * @throws IllegalArgumentException on a negative round trip or bandwidth.
     */
    public NetworkProfile
    {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(rtt, "rtt");
        if (rtt.isNegative())
        {
            throw new IllegalArgumentException("rtt must be >= 0, was " + rtt);
        }
        if (bitsPerSecond < 0)
        {
            throw new IllegalArgumentException("bitsPerSecond must be >= 0, was " + bitsPerSecond);
        }
    }

    /**
     * The profile called {@code name} ("lan", "lan-1g", "wan"; case and '_' for '-' do not matter).
     *
     * @throws IllegalArgumentException for an unknown name, listing the known ones.
     */
    public static NetworkProfile byName(final String name)
    {
        final String n = name.toLowerCase(Locale.ROOT).replace('_', '-');
        for (final NetworkProfile p : new NetworkProfile[]{LAN, LAN_1G, WAN})
        {
            if (p.name.equals(n))
            {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown network profile '" + name + "', expected lan, lan-1g or wan");
    }

    /** Whether this profile changes anything (a delay or a bandwidth limit). */
    public boolean shapes()
    {
        return !rtt.isZero() || bitsPerSecond > 0;
    }

    /** Bandwidth in bytes per second, or 0 for unlimited. */
    public double bytesPerSecond()
    {
        return bitsPerSecond / (double)Byte.SIZE;
    }
}
