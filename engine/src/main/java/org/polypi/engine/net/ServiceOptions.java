package org.polypi.engine.net;

import java.time.Duration;
import java.util.Objects;
import java.util.function.Consumer;

import org.polypi.engine.secure.SessionOptions;

/**
 * How a {@link ServerService} or {@link DealerService} runs its sessions.
 *
 * @param tcp             transport options (TLS or plaintext, timeouts, limits).
 * @param profile         network emulation applied to this party's sends ({@link NetworkProfile#LAN}: none).
 * @param maxConcurrent   sessions computing at once (a session connects first, then takes a slot).
 * @param maxQueued       further connected sessions waiting for a slot; beyond it a session fails at once with
 *                        "busy" (its peers see the connection close).
 * @param preambleTimeout how long a new connection may take to name its session.
 * @param log             told one line per session (start, end with its costs, or failure) and per refusal.
 */
public record ServiceOptions(TcpOptions tcp, NetworkProfile profile, int maxConcurrent, int maxQueued,
                             Duration preambleTimeout, Consumer<String> log)
{
    /** Default sessions computing at once: the machine's cores, since a session keeps one core busy. */
    public static final int DEFAULT_MAX_CONCURRENT = Math.max(1, Runtime.getRuntime().availableProcessors());
    /** Default sessions waiting. */
    public static final int DEFAULT_MAX_QUEUED = 64;
    /** Default time to send the route preamble. */
    public static final Duration DEFAULT_PREAMBLE_TIMEOUT = Duration.ofSeconds(10);

    /** Checks the fields. */
    public ServiceOptions
    {
        Objects.requireNonNull(tcp, "tcp");
        Objects.requireNonNull(profile, "profile");
        Objects.requireNonNull(preambleTimeout, "preambleTimeout");
        Objects.requireNonNull(log, "log");
        if (maxConcurrent < 1)
        {
            throw new IllegalArgumentException("maxConcurrent must be at least 1, was " + maxConcurrent);
        }
        if (maxQueued < 0)
        {
            throw new IllegalArgumentException("maxQueued must be at least 0, was " + maxQueued);
        }
    }

    /** Defaults around {@code tcp}: no shaping, default limits, no log. */
    public static ServiceOptions of(final TcpOptions tcp)
    {
        return new ServiceOptions(tcp, NetworkProfile.LAN, DEFAULT_MAX_CONCURRENT, DEFAULT_MAX_QUEUED,
            DEFAULT_PREAMBLE_TIMEOUT, line ->
            {
            });
    }

    /** A copy with another profile. */
    public ServiceOptions withProfile(final NetworkProfile value)
    {
        return new ServiceOptions(tcp, value, maxConcurrent, maxQueued, preambleTimeout, log);
    }

    /** A copy with other limits. */
    public ServiceOptions withLimits(final int concurrent, final int queued)
    {
        return new ServiceOptions(tcp, profile, concurrent, queued, preambleTimeout, log);
    }

    /** A copy with another log. */
    public ServiceOptions withLog(final Consumer<String> value)
    {
        return new ServiceOptions(tcp, profile, maxConcurrent, maxQueued, preambleTimeout, value);
    }

    /** The engine's session options for a request of {@code batch} items per query. */
    SessionOptions session(final int batch)
    {
        return SessionOptions.of(batch).withTimeout(tcp.timeout());
    }
}
