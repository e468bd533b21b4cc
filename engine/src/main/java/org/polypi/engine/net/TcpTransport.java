package org.polypi.engine.net;

import java.lang.foreign.MemorySegment;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import org.polypi.engine.transport.CostMeter;
import org.polypi.engine.transport.InMemoryTransport;
import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.Transport;
import org.polypi.engine.transport.TransportException;

/**
 * A party's {@link Transport} over TCP (TLS 1.3 by default), one connection per peer, made by
 * {@link TcpNetwork#connect}. A drop-in replacement for {@link InMemoryTransport}: whole messages, exact-size
 * receives, per-pair order, the same {@link CostMeter} counts (payload bytes only; {@link #stats()} has the bytes on
 * the wire), and errors that name the peer.
 * <p>
 * <b>Sending</b> copies the message into off-heap chunks of at least 1 MiB (never onto the heap) and returns; a
 * per-peer I/O thread writes them, so sending overlaps computing and the caller may reuse its segment at once.
 * Small messages go out with one system call from the caller when the connection is idle, and are batched when it
 * is busy. <b>Receiving</b> reads straight into the caller's segment.
 * <p>
 * <b>Threads:</b> as with {@link InMemoryTransport}, one protocol thread sends and receives; sends to a peer may also
 * come from one other thread (such as {@link ShapedTransport}'s delay line) while the protocol thread receives.
 * {@link #close()} may be called from any thread.
 */
public final class TcpTransport implements Transport
{
    private final Party self;
    private final Map<Party, Link> links;
    private final CostMeter meter = new CostMeter();
    private final long timeoutNs;
    private final AtomicBoolean closed = new AtomicBoolean();

    TcpTransport(final Party self, final Map<Party, Link> links, final TcpOptions options)
    {
        this.self = self;
        this.links = Collections.unmodifiableMap(new EnumMap<>(links));
        this.timeoutNs = options.timeout().toNanos();
    }

    @Override
    public Party self()
    {
        return self;
    }

    @Override
    public void send(final Party to, final MemorySegment message)
    {
        final Link link = link(to);
        if (closed.get())
        {
            throw new TransportException(self + ": cannot send to " + to + ", this transport is closed");
        }
        link.send(message);
        meter.countSent(message.byteSize());
    }

    @Override
    public void receive(final Party from, final MemorySegment into)
    {
        final Link link = link(from);
        if (closed.get())
        {
            throw new TransportException(self + ": cannot receive from " + from + ", this transport is closed");
        }
        link.receive(into);
        meter.countReceived(into.byteSize());
    }

    @Override
    public CostMeter meter()
    {
        return meter;
    }

    /** Traffic with all peers, headers and TLS included. */
    public WireStats stats()
    {
        WireStats sum = WireStats.ZERO;
        for (final Link l : links.values())
        {
            sum = sum.plus(l.stats());
        }
        return sum;
    }

    /** Traffic with {@code peer}. */
    public WireStats stats(final Party peer)
    {
        return link(peer).stats();
    }

    /**
     * Sends a CLOSE frame to each peer behind everything already sent, waits (at most the timeout) until it is all
     * written, and releases the sockets and threads. A peer waiting for a message from this party then fails at once
     * with "... closed the connection". Idempotent.
     */
    @Override
    public void close()
    {
        if (!closed.compareAndSet(false, true))
        {
            return;
        }
        for (final Link l : links.values())
        {
            l.beginClose();
        }
        final long deadline = System.nanoTime() + timeoutNs;
        for (final Link l : links.values())
        {
            l.endClose(deadline);
        }
    }

    @Override
    public String toString()
    {
        return "TcpTransport[" + self + " <-> " + links.keySet() + "]";
    }

    private Link link(final Party peer)
    {
        final Link l = links.get(peer);
        if (l == null)
        {
            throw new IllegalArgumentException(peer == self ? self + " cannot exchange messages with itself" :
                self + " has no connection to " + peer);
        }
        return l;
    }
}
