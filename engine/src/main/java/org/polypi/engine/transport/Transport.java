package org.polypi.engine.transport;

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

    /** The counters of this party's traffic. */
    CostMeter meter();

    /** Releases the transport; a peer blocked in {@link #receive} from this party then fails promptly. */
    @Override
    void close();
}
