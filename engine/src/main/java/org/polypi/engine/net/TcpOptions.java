package org.polypi.engine.net;

import java.time.Duration;
import java.util.Objects;

import javax.net.ssl.SSLContext;

/**
 * Settings of a {@link TcpTransport}. Immutable; made with {@link #builder()}.
 * <p>
 * TLS is on by default: {@link Builder#build()} refuses to build until either key material was given
 * ({@link Builder#tls(SSLContext)}, typically {@link KeyMaterial#sslContext}) or encryption was switched off
 * explicitly with {@link Builder#plaintext()}.
 */
public final class TcpOptions
{
    /** Default receive timeout: how long a receive waits without any byte arriving. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
    /** Default deadline for connecting, the TLS handshake and the session handshake together. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(30);
    /** Default largest payload accepted in one frame. */
    public static final long DEFAULT_MAX_PAYLOAD = 1L << 30;
    /**
     * Default size of the off-heap chunks messages are copied into and written from: at least 1 MiB, since 1 MiB
     * writes reach about 6 GB/s on loopback against 1.7 GB/s for 64 KiB writes (java-stack.md).
     */
    public static final int DEFAULT_CHUNK_BYTES = 1 << 20;
    /** Smallest chunk size accepted (must hold a header and a useful payload). */
    public static final int MIN_CHUNK_BYTES = 64 << 10;

    private final Duration timeout;
    private final Duration connectTimeout;
    private final long maxPayload;
    private final int chunkBytes;
    private final long sendBufferLimit;
    private final boolean busyPoll;
    private final SSLContext tls;

    private TcpOptions(final Builder b)
    {
        this.timeout = b.timeout;
        this.connectTimeout = b.connectTimeout;
        this.maxPayload = b.maxPayload;
        this.chunkBytes = b.chunkBytes;
        this.sendBufferLimit = b.sendBufferLimit > 0 ? b.sendBufferLimit : b.maxPayload + b.chunkBytes;
        this.busyPoll = b.busyPoll;
        this.tls = b.tls;
    }

    /** A builder with the defaults (TLS still to be chosen). */
    public static Builder builder()
    {
        return new Builder();
    }

    /** How long a receive (or a send into a full buffer, or a stalled write) waits without progress. */
    public Duration timeout()
    {
        return timeout;
    }

    /** Deadline for establishing all of a party's connections, handshakes included. */
    public Duration connectTimeout()
    {
        return connectTimeout;
    }

    /** Largest payload of one frame, checked before anything is read or allocated. */
    public long maxPayload()
    {
        return maxPayload;
    }

    /** Size of the off-heap chunks of the send path. */
    public int chunkBytes()
    {
        return chunkBytes;
    }

    /** Bytes that may wait per peer for the I/O thread before a send blocks (backpressure). */
    public long sendBufferLimit()
    {
        return sendBufferLimit;
    }

    /** Whether receives spin on non-blocking reads instead of sleeping in the kernel. */
    public boolean busyPoll()
    {
        return busyPoll;
    }

    /** Whether connections use TLS 1.3 with mutual authentication. */
    public boolean tlsEnabled()
    {
        return tls != null;
    }

    /** The TLS context, or null when {@link Builder#plaintext()} was chosen. */
    SSLContext tlsContext()
    {
        return tls;
    }

    @Override
    public String toString()
    {
        return "TcpOptions[timeout=" + Text.duration(timeout) + ", connectTimeout=" + Text.duration(connectTimeout) +
            ", maxPayload=" + Text.bytes(maxPayload) + ", chunk=" + Text.bytes(chunkBytes) + ", sendBufferLimit=" +
            Text.bytes(sendBufferLimit) + ", busyPoll=" + busyPoll + ", tls=" + tlsEnabled() + "]";
    }

    /** Builder of {@link TcpOptions}. */
    public static final class Builder
    {
        private Duration timeout = DEFAULT_TIMEOUT;
        private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
        private long maxPayload = DEFAULT_MAX_PAYLOAD;
        private int chunkBytes = DEFAULT_CHUNK_BYTES;
        private long sendBufferLimit;
        private boolean busyPoll;
        private SSLContext tls;
        private boolean plaintext;

        private Builder()
        {
        }

        /** Receive (and stalled-send) timeout; default {@link #DEFAULT_TIMEOUT}. */
        public Builder timeout(final Duration value)
        {
            this.timeout = positive("timeout", value);
            return this;
        }

        /** Deadline for connecting and both handshakes; default {@link #DEFAULT_CONNECT_TIMEOUT}. */
        public Builder connectTimeout(final Duration value)
        {
            this.connectTimeout = positive("connectTimeout", value);
            return this;
        }

        /** Largest payload of one frame; default 1 GiB. */
        public Builder maxPayload(final long bytes)
        {
            if (bytes < 0)
            {
                throw new IllegalArgumentException("maxPayload must be >= 0, was " + bytes);
            }
            this.maxPayload = bytes;
            return this;
        }

        /** Chunk size of the send path; default 1 MiB, at least {@link #MIN_CHUNK_BYTES}. */
        public Builder chunkBytes(final int bytes)
        {
            if (bytes < MIN_CHUNK_BYTES)
            {
                throw new IllegalArgumentException("chunkBytes must be >= " + MIN_CHUNK_BYTES + ", was " + bytes);
            }
            this.chunkBytes = bytes;
            return this;
        }

        /**
         * Bytes that may wait per peer before a send blocks; default maxPayload + one chunk, so that two parties
         * that both send a largest message before either receives never wait on each other.
         */
        public Builder sendBufferLimit(final long bytes)
        {
            if (bytes <= 0)
            {
                throw new IllegalArgumentException("sendBufferLimit must be > 0, was " + bytes);
            }
            this.sendBufferLimit = bytes;
            return this;
        }

        /**
         * Spin on non-blocking reads (about 6 us loopback round trips instead of 70 us) at the price of a busy core
         * per waiting party. Off by default: parties sharing a small machine would starve each other.
         */
        public Builder busyPoll(final boolean value)
        {
            this.busyPoll = value;
            return this;
        }

        /** TLS 1.3 with mutual authentication under {@code context} (see {@link KeyMaterial#sslContext}). */
        public Builder tls(final SSLContext context)
        {
            this.tls = Objects.requireNonNull(context, "context");
            this.plaintext = false;
            return this;
        }

        /** Switches encryption off explicitly (loopback tests, benchmarks of the bare transport). */
        public Builder plaintext()
        {
            this.tls = null;
            this.plaintext = true;
            return this;
        }

        /**
         * The options.
         *
         * @throws IllegalStateException if neither {@link #tls} nor {@link #plaintext} was chosen.
         */
        public TcpOptions build()
        {
            if (tls == null && !plaintext)
            {
                throw new IllegalStateException("TLS is on by default: give key material with tls(...) " +
                    "(KeyMaterial.sslContext) or switch encryption off explicitly with plaintext()");
            }
            return new TcpOptions(this);
        }

        private static Duration positive(final String name, final Duration value)
        {
            if (value == null || value.isNegative() || value.isZero())
            {
                throw new IllegalArgumentException(name + " must be positive, was " + value);
            }
            return value;
        }
    }
}
