package org.polypi.engine.net;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;

import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.TransportException;

/**
 * One established connection between this party and one peer: handshakes ({@link #establish}), framed sending
 * through a {@link SendQueue}, framed receiving straight into the caller's segment, and closing.
 * <p>
 * Receives run on the party's protocol thread only. A receive waits at most the timeout without any byte arriving
 * (a large message may take longer in total as long as bytes keep coming). Any receive error ends the connection's
 * read side for good: after a malformed, out-of-order or wrongly sized frame the stream is no longer in step, so
 * later receives repeat the first error instead of reading garbage.
 */
final class Link
{
    /** Largest {@link ByteBuffer} view taken of a receiver's segment at once. */
    private static final long MAX_VIEW_BYTES = 1L << 30;
    /** Staging for receives into heap segments (which cannot all be viewed as buffers). */
    private static final int HEAP_STAGING_BYTES = 64 << 10;
    /** Outcomes of {@link #fill(ByteBuffer)}. */
    private static final int FILLED = 0;
    private static final int END_OF_STREAM = 1;
    private static final int TIMED_OUT = 2;

    private final Party self;
    private final Party peer;
    private final Conduit conduit;
    private final long sessionId;
    private final long timeoutNs;
    private final Duration timeout;
    private final long maxPayload;
    private final SendQueue sendQueue;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicLong frameBytesReceived = new AtomicLong();

    private final ByteBuffer header = ByteBuffer.allocateDirect(FrameHeader.LENGTH);
    private final MemorySegment headerSegment = MemorySegment.ofBuffer(header);
    private ByteBuffer heapStaging;
    private int expectedSequence;
    private String receiveFailure;

    private Link(final Party self, final Party peer, final Conduit conduit, final TlsWire tls, final long sessionId,
                 final TcpOptions options)
    {
        this.self = self;
        this.peer = peer;
        this.conduit = conduit;
        this.sessionId = sessionId;
        this.timeout = options.timeout();
        this.timeoutNs = options.timeout().toNanos();
        this.maxPayload = options.maxPayload();
        this.expectedSequence = 1; // 0 was the HELLO
        this.sendQueue = new SendQueue(self, peer, conduit, sessionId, 1, options);
        if (tls != null)
        {
            tls.onNeedWrap(sendQueue::kick);
        }
        sendQueue.start();
    }

    /**
     * Runs the TLS handshake (when enabled) and the session handshake over a connected channel, which is closed if
     * anything fails.
     *
     * @param dialled    the peer we dialled, or null on the accepting side.
     * @param acceptable roles that may identify themselves (just {@code dialled} on the dialling side).
     * @param watch      told of the connection while it is being set up, so that it can be cancelled.
     * @throws TransportException for a refused handshake (TLS or session), naming the peer and the reason.
     * @throws IOException        when the connection failed before the peer identified itself.
     */
    static Link establish(
        final SocketChannel channel,
        final Party self,
        final Party dialled,
        final Set<Party> acceptable,
        final SessionParameters parameters,
        final TcpOptions options,
        final long deadlineNs,
        final Cancellation watch) throws IOException
    {
        final Conduit c = Conduit.open(channel, options.busyPoll());
        final String who = dialled != null ? dialled + " at " + c.remote() : c.remote() + " (" + roles(acceptable) + ")";
        if (!watch.register(c))
        {
            c.close();
            throw new AsynchronousCloseException();
        }
        boolean ok = false;
        try
        {
            TlsWire tls = null;
            final Hello theirs;
            try
            {
                if (options.tlsEnabled())
                {
                    tls = c.startTls(options.tlsContext(), dialled != null, options.chunkBytes(), deadlineNs);
                }
                theirs = exchangeHellos(c, self, dialled, who, parameters, deadlineNs, options);
            }
            catch (final SSLException e)
            {
                // Under TLS 1.3 the dialling end learns that its certificate was refused only when it reads the
                // peer's alert, after its own side of the handshake finished: report both the same way.
                throw new TransportException(self + ": TLS handshake with " + who + " failed: " + e.getMessage(), e);
            }
            catch (final SocketTimeoutException e)
            {
                throw new TransportException(self + ": TLS handshake with " + who + " did not finish within " +
                    Text.duration(options.connectTimeout()), e);
            }
            catch (final IOException e)
            {
                // A connection that closes before sending anything may be a port probe or a leftover, and the
                // listener keeps waiting for the real peer; one that started a handshake and then left is the peer.
                if (c.wire().socketBytesRead() > 0 && !(e instanceof ClosedChannelException))
                {
                    throw new TransportException(self + ": " + who + " left during the handshake: " + e.getMessage(),
                        e);
                }
                throw e;
            }
            final Party peer = theirs.role();
            if (dialled != null && peer != dialled)
            {
                throw new TransportException(self + ": dialled " + who + " but " + peer + " answered");
            }
            if (!acceptable.contains(peer))
            {
                throw new TransportException(self + ": " + peer + " connected from " + c.remote() + ", expected " +
                    roles(acceptable));
            }
            if (theirs.expectedPeer() != null && theirs.expectedPeer() != self)
            {
                throw new TransportException(self + ": " + peer + " dialled this party as " + theirs.expectedPeer() +
                    ", but this is " + self);
            }
            if (tls != null)
            {
                checkCertificate(self, peer, tls);
            }
            final String mismatch = Hello.mismatch(parameters, theirs.parameters());
            if (mismatch != null)
            {
                throw new TransportException(self + ": handshake with " + peer + " failed: " + mismatch);
            }
            final Link link = new Link(self, peer, c, tls, parameters.sessionId(), options);
            ok = true;
            return link;
        }
        finally
        {
            watch.unregister(c);
            if (!ok)
            {
                c.close();
            }
        }
    }

    private static Hello exchangeHellos(
        final Conduit c,
        final Party self,
        final Party dialled,
        final String who,
        final SessionParameters parameters,
        final long deadlineNs,
        final TcpOptions options) throws IOException
    {
        final byte[] ours = new Hello(self, dialled, parameters).encode();
        final ByteBuffer out = ByteBuffer.allocateDirect(FrameHeader.LENGTH + ours.length);
        final MemorySegment outSegment = MemorySegment.ofBuffer(out);
        FrameHeader.write(outSegment, 0, FrameHeader.TYPE_HELLO, 0, parameters.sessionId(), ours.length);
        MemorySegment.copy(MemorySegment.ofArray(ours), 0, outSegment, FrameHeader.LENGTH, ours.length);
        final String late = self + ": no handshake from " + who + " within " + Text.duration(options.connectTimeout());
        if (!c.writeAll(new ByteBuffer[]{out}, 1, Long.MAX_VALUE, deadlineNs))
        {
            throw new TransportException(late);
        }
        final ByteBuffer in = ByteBuffer.allocateDirect(FrameHeader.LENGTH);
        if (!fill(c, in, deadlineNs))
        {
            throw new TransportException(late);
        }
        final MemorySegment h = MemorySegment.ofBuffer(in.flip());
        final String bad = checkFormat(h);
        if (bad != null)
        {
            throw new TransportException(self + ": " + who + " sent a malformed handshake (" + bad + ")");
        }
        final byte type = FrameHeader.type(h, 0);
        final int sequence = FrameHeader.sequence(h, 0);
        final long length = FrameHeader.payloadLength(h, 0);
        if (type != FrameHeader.TYPE_HELLO || sequence != 0)
        {
            throw new TransportException(self + ": " + who + " did not start with a handshake (got a " +
                FrameHeader.typeName(type) + " frame with sequence " + sequence + ")");
        }
        if (length < 0 || length > Hello.MAX_LENGTH)
        {
            throw new TransportException(self + ": " + who + " sent a handshake of " + Text.bytes(length) +
                ", limit " + Text.bytes(Hello.MAX_LENGTH));
        }
        final ByteBuffer payload = ByteBuffer.allocate((int)length);
        if (!fill(c, payload, deadlineNs))
        {
            throw new TransportException(late);
        }
        try
        {
            return Hello.decode(payload.array());
        }
        catch (final IllegalArgumentException e)
        {
            throw new TransportException(self + ": " + who + " sent a malformed handshake: " + e.getMessage(), e);
        }
    }

    /** Fills {@code dst} by the deadline; false if it passed. */
    private static boolean fill(final Conduit c, final ByteBuffer dst, final long deadlineNs) throws IOException
    {
        while (dst.hasRemaining())
        {
            final int n = c.read(dst, deadlineNs);
            if (n < 0)
            {
                throw new EOFException("the connection closed during the handshake");
            }
            if (n == 0)
            {
                return false;
            }
        }
        return true;
    }

    /** The peer's certificate must be the one of the role it claims (all roles' certificates are trusted). */
    private static void checkCertificate(final Party self, final Party peer, final TlsWire tls)
    {
        final String name;
        try
        {
            final Certificate[] chain = tls.engine().getSession().getPeerCertificates();
            name = commonName((X509Certificate)chain[0]);
        }
        catch (final SSLPeerUnverifiedException e)
        {
            throw new TransportException(self + ": " + peer + " presented no certificate", e);
        }
        if (!KeyMaterial.commonName(peer).equals(name))
        {
            throw new TransportException(self + ": " + peer + " presented the certificate of " + name + ", not its own");
        }
    }

    private static String commonName(final X509Certificate certificate)
    {
        try
        {
            for (final Rdn rdn : new LdapName(certificate.getSubjectX500Principal().getName()).getRdns())
            {
                if ("CN".equalsIgnoreCase(rdn.getType()))
                {
                    return String.valueOf(rdn.getValue());
                }
            }
        }
        catch (final InvalidNameException e)
        {
            return certificate.getSubjectX500Principal().getName();
        }
        return certificate.getSubjectX500Principal().getName();
    }

    /** The peer on the other end. */
    Party peer()
    {
        return peer;
    }

    /** Sends one message (see {@link SendQueue#send}). */
    void send(final MemorySegment message)
    {
        sendQueue.send(FrameHeader.TYPE_DATA, message);
    }

    /**
     * Receives the next message, which must be exactly {@code into.byteSize()} bytes, into {@code into}.
     *
     * @throws TransportException naming the peer: closed, timed out, malformed or out-of-order frame, wrong size.
     */
    void receive(final MemorySegment into)
    {
        if (receiveFailure != null)
        {
            throw new TransportException(receiveFailure);
        }
        final long expected = into.byteSize();
        try
        {
            header.clear();
            final int status = fill(header);
            if (status != FILLED)
            {
                final boolean nothing = header.position() == 0;
                if (status == END_OF_STREAM)
                {
                    throw fail(nothing ? peer + " closed the connection (expected " + expected + " bytes)" :
                        "connection to " + peer + " lost in the middle of a frame header");
                }
                throw fail(nothing ? peer + " sent nothing for " + Text.duration(timeout) + " (expected " + expected +
                    " bytes)" : peer + " stalled for " + Text.duration(timeout) + " in the middle of a frame header");
            }
            final long length = checkHeader(expected);
            if (length != expected)
            {
                throw fail(peer + " sent " + length + " bytes where " + expected + " were expected");
            }
            readPayload(into);
            expectedSequence++;
            frameBytesReceived.addAndGet(FrameHeader.LENGTH + expected);
        }
        catch (final IOException e)
        {
            if (closed.get() || e instanceof AsynchronousCloseException || e instanceof ClosedChannelException)
            {
                throw fail("transport closed while waiting for " + peer + " (expected " + expected + " bytes)", e);
            }
            throw fail("connection to " + peer + " lost: " + e.getMessage(), e);
        }
    }

    /** Validates the header just read; returns the payload length. */
    private long checkHeader(final long expected)
    {
        final String bad = checkFormat(headerSegment);
        if (bad != null)
        {
            throw fail(peer + " sent a malformed frame (" + bad + ")");
        }
        final int sequence = FrameHeader.sequence(headerSegment, 0);
        if (sequence != expectedSequence)
        {
            throw fail((sequence - expectedSequence < 0 ? "replayed or duplicated" : "out-of-order") + " frame from " +
                peer + ": expected sequence " + Integer.toUnsignedString(expectedSequence) + ", got " +
                Integer.toUnsignedString(sequence));
        }
        final long session = FrameHeader.sessionId(headerSegment, 0);
        if (session != sessionId)
        {
            throw fail(peer + " sent a frame of session " + session + ", this session is " + sessionId);
        }
        final byte type = FrameHeader.type(headerSegment, 0);
        if (type == FrameHeader.TYPE_CLOSE)
        {
            throw fail(peer + " closed the connection (expected " + expected + " bytes)");
        }
        if (type != FrameHeader.TYPE_DATA)
        {
            throw fail(peer + " sent a malformed frame (" + FrameHeader.typeName(type) + " where a message was " +
                "expected)");
        }
        final long length = FrameHeader.payloadLength(headerSegment, 0);
        if (length < 0 || length > maxPayload)
        {
            throw fail(peer + " sent a frame of " + Text.bytes(length) + ", limit " + Text.bytes(maxPayload));
        }
        return length;
    }

    /** The first problem with a header's fixed fields (magic, version, flags), or null. */
    private static String checkFormat(final MemorySegment h)
    {
        if (FrameHeader.magic(h, 0) != FrameHeader.MAGIC)
        {
            return String.format("magic 0x%02x, expected 0x%02x", FrameHeader.magic(h, 0), FrameHeader.MAGIC);
        }
        if (FrameHeader.version(h, 0) != FrameHeader.VERSION)
        {
            return "frame format version " + FrameHeader.version(h, 0) + ", this end speaks " + FrameHeader.VERSION;
        }
        if (FrameHeader.flags(h, 0) != 0)
        {
            return String.format("flags 0x%02x, expected 0", FrameHeader.flags(h, 0));
        }
        return null;
    }

    private void readPayload(final MemorySegment into) throws IOException
    {
        final long size = into.byteSize();
        long done = 0;
        while (done < size)
        {
            final ByteBuffer view;
            if (into.isNative())
            {
                view = into.asSlice(done, Math.min(size - done, MAX_VIEW_BYTES)).asByteBuffer();
            }
            else
            {
                if (heapStaging == null)
                {
                    heapStaging = ByteBuffer.allocateDirect(HEAP_STAGING_BYTES);
                }
                view = heapStaging.clear().limit((int)Math.min(size - done, HEAP_STAGING_BYTES));
            }
            final int status = fill(view);
            if (status != FILLED)
            {
                final String progress = " (" + (done + view.position()) + " of " + size + " bytes received)";
                throw fail(status == END_OF_STREAM ? "connection to " + peer + " lost in the middle of a message" +
                    progress : peer + " stalled for " + Text.duration(timeout) + " in the middle of a message" +
                    progress);
            }
            final int n = view.limit();
            if (!into.isNative())
            {
                MemorySegment.copy(MemorySegment.ofBuffer(view.flip()), 0, into, done, n);
            }
            done += n;
        }
    }

    /** Fills {@code dst} from its position; the timeout restarts whenever bytes arrive. */
    private int fill(final ByteBuffer dst) throws IOException
    {
        long deadline = System.nanoTime() + timeoutNs;
        while (dst.hasRemaining())
        {
            final int n = conduit.read(dst, deadline);
            if (n < 0)
            {
                return END_OF_STREAM;
            }
            if (n == 0)
            {
                return TIMED_OUT;
            }
            deadline = System.nanoTime() + timeoutNs;
        }
        return FILLED;
    }

    private TransportException fail(final String what)
    {
        return fail(what, null);
    }

    private TransportException fail(final String what, final Throwable cause)
    {
        receiveFailure = self + ": " + what;
        return cause == null ? new TransportException(receiveFailure) : new TransportException(receiveFailure, cause);
    }

    /**
     * First half of a close: queues the CLOSE frame behind everything sent, or stops sending at once if that cannot
     * be done cleanly.
     */
    void beginClose()
    {
        if (!closed.compareAndSet(false, true))
        {
            return;
        }
        if (!sendQueue.finishWithClose())
        {
            abort();
        }
    }

    /**
     * Second half: waits until {@code deadlineNs} for everything to be written, then says goodbye at the socket level
     * and releases the socket. If the peer does not read in time, the rest is dropped.
     */
    void endClose(final long deadlineNs)
    {
        boolean drained = false;
        try
        {
            drained = sendQueue.awaitStopped(deadlineNs) && !sendQueue.hasFailed();
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
        if (drained)
        {
            conduit.shutdownOutput();
        }
        abort();
    }

    /** Stops at once: the I/O thread ends (a blocked write fails as the socket closes) and the socket is released. */
    void abort()
    {
        closed.set(true);
        sendQueue.abort();
        conduit.close();
        try
        {
            sendQueue.awaitStopped(System.nanoTime() + timeoutNs);
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
    }

    /** Traffic of this connection so far. */
    WireStats stats()
    {
        final Wire w = conduit.wire();
        return new WireStats(sendQueue.frameBytesSent(), frameBytesReceived.get(), w.socketBytesWritten(),
            w.socketBytesRead());
    }

    private static String roles(final Set<Party> roles)
    {
        return roles.size() == 1 ? roles.iterator().next().toString() : "one of " + roles;
    }
}
