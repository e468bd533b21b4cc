package org.polypi.bench;

import java.util.Locale;

import org.polypi.engine.net.NetworkProfile;

/**
 * Where the three parties' messages travel: {@link #INMEM} in memory (the engine alone), or TCP on loopback, as it
 * is ({@link #LAN}) or shaped by {@code ShapedTransport} to workloads.md's {@code lan-1g} and {@code wan}.
 */
enum E2eProfile
{
    /** InMemoryTransport: no network at all. */
    INMEM("inmem", null),
    /** TCP loopback as it is. */
    LAN("lan", NetworkProfile.LAN),
    /** TCP loopback shaped to 0.5 ms RTT, 1 Gbit/s. */
    LAN_1G("lan-1g", NetworkProfile.LAN_1G),
    /** TCP loopback shaped to 50 ms RTT, 400 Mbit/s. */
    WAN("wan", NetworkProfile.WAN);

    /** Loopback bandwidth of workloads.md ("about 6 GB/s"), used for the lan floor. */
    static final double LOOPBACK_BYTES_PER_SECOND = 6e9;

    private final String id;
    private final NetworkProfile network;

    E2eProfile(final String id, final NetworkProfile network)
    {
        this.id = id;
        this.network = network;
    }

    /** Id used in cell ids. */
    String id()
    {
        return id;
    }

    /** The network profile over TCP, or null in memory. */
    NetworkProfile network()
    {
        return network;
    }

    /** True if the parties talk over TCP. */
    boolean tcp()
    {
        return network != null;
    }

    /** Link bandwidth in bytes per second for the floor (0: not a limit, in memory). */
    double bytesPerSecond()
    {
        if (network == null)
        {
            return 0;
        }
        return network.bitsPerSecond() > 0 ? network.bytesPerSecond() : LOOPBACK_BYTES_PER_SECOND;
    }

    /** The profile with this id. */
    static E2eProfile byId(final String id)
    {
        for (final E2eProfile p : values())
        {
            if (p.id.equals(id.toLowerCase(Locale.ROOT)))
            {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown profile " + id + ", expected inmem, lan, lan-1g or wan");
    }
}
