package org.polypi.engine.transport;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * How one party moves bytes to and from the other two. Protocol code is written against this interface only, so it
 * never touches sockets: tests run it over {@link InMemoryTransport}, deployments over TCP.
 * <p>
 * Messages are whole: {@link #receive} expects exactly the number of bytes the sender sent, and a size mismatch is a
 * {@link TransportException} (the protocols always know what they expect, so a different size means a broken or
 * malicious peer). Messages between a pair of parties arrive in the order they were sent.
 * Every byte and message is counted in {@link #meter()}.
 */
public interface Transport extends AutoCloseable
{
    /** The party this transport belongs to. */
    Party self();

    /** Sends the bytes of {@code message} to {@code to}. May return before the peer has read them. */
    void send(Party to, MemorySegment message);

    /**
     * Receives the next message from {@code from} into {@code into}, which must be exactly its size.
     *
     * @throws TransportException if the peer closed, the timeout passed, or the size differs.
     */
    void receive(Party from, MemorySegment into);

    /**
     * Receives the next message from {@code from}, which must be {@code byteSize} bytes, and hands it to
     * {@code reader} to consume in place: a read-only view that is valid only during the call. A transport that
     * buffers messages itself passes its own buffer, so a protocol that combines the message with data of its own
     * (an opening adds it to its share) reads it once instead of copying it first; other transports receive into a
     * segment allocated from {@code scratch}. Counted as {@link #receive(Party, MemorySegment)} is.
     *
     * @throws TransportException as {@link #receive(Party, MemorySegment)}; an exception of the reader propagates.
     */
    default void receive(final Party from, final long byteSize, final Arena scratch, final MessageReader reader)
    {
        final MemorySegment into = scratch.allocate(byteSize, Long.BYTES);
        receive(from, into);
        reader.read(into.asReadOnly());
    }

    /** The counters of this party's traffic. */
    CostMeter meter();

    /** Releases the transport; a peer blocked in {@link #receive} from this party then fails promptly. */
    @Override
    void close();

    /** Consumes a received message in place ({@link #receive(Party, long, Arena, MessageReader)}). */
    @FunctionalInterface
    interface MessageReader
    {
        /** Reads {@code message}; it must not be kept beyond the call. */
        void read(MemorySegment message);
    }
}
