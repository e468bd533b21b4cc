package org.polypi.engine.net;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.TransportException;

/**
 * Connects one party to its two peers: it dials some by address (retrying until the deadline while they are not
 * listening yet) and accepts the others on its {@link TcpListener}, runs the TLS and session handshakes on each
 * connection, and returns the ready {@link TcpTransport}.
 * <p>
 * Dialling and accepting run at the same time (accepting on a helper thread), so no topology can make two parties
 * wait for each other. The default topology, {@link #defaultDials}, has each party dial the peers with a smaller id:
 * the server listens, the client dials the server and listens for the dealer, the dealer dials both.
 * <p>
 * The first failure ends the whole set-up at once: what is in progress is cancelled, what is established is closed
 * (so the peers fail fast too), and a {@link TransportException} names the peer and the reason.
 */
public final class TcpNetwork
{
    /** First pause between connect attempts; doubled up to {@link #MAX_RETRY_PAUSE}. */
    private static final Duration FIRST_RETRY_PAUSE = Duration.ofMillis(20);
    private static final Duration MAX_RETRY_PAUSE = Duration.ofMillis(500);
    /** Extra time given to the accepting thread to notice a cancellation. */
    private static final Duration JOIN_GRACE = Duration.ofSeconds(5);

    private TcpNetwork()
    {
    }

    /**
     * The default topology: {@code self} dials every peer with a smaller id, at the address given for it.
     *
     * @param listenAddresses where each party listens (entries of parties nobody dials are ignored).
     * @throws IllegalArgumentException if the address of a peer to dial is missing.
     */
    public static Map<Party, InetSocketAddress> defaultDials(
        final Party self, final Map<Party, InetSocketAddress> listenAddresses)
    {
        final Map<Party, InetSocketAddress> dials = new EnumMap<>(Party.class);
        for (final Party p : Party.values())
        {
            if (p.id() < self.id())
            {
                final InetSocketAddress a = listenAddresses.get(p);
                if (a == null)
                {
                    throw new IllegalArgumentException(self + " dials " + p + " but no address was given for it");
                }
                dials.put(p, a);
            }
        }
        return dials;
    }

    /** Whether {@code self} needs a listener in the default topology (someone dials it). */
    public static boolean listensByDefault(final Party self)
    {
        return self.id() < Party.values().length - 1;
    }

    /**
     * Connects {@code self} to both peers.
     *
     * @param dials    the peers to dial and where; every other peer must dial us on {@code listener}.
     * @param listener where the other peers connect (may be null if {@code dials} covers both peers).
     * @throws TransportException       if a connection or handshake fails or the connect timeout passes.
     * @throws IllegalArgumentException if the topology is incomplete.
     */
    public static TcpTransport connect(
        final Party self,
        final SessionParameters parameters,
        final TcpOptions options,
        final ConnectionSource listener,
        final Map<Party, InetSocketAddress> dials)
    {
        return connect(self, parameters, options, listener, dials, false);
    }

    /**
     * Connects {@code self} to both peers; with {@code routed}, every dialled connection starts with a
     * {@link RoutePreamble} (session id and role) so that a peer serving many sessions on one port with a
     * {@link SessionRouter} can hand it to the right session.
     *
     * @param dials    the peers to dial and where; every other peer must dial us on {@code incoming}.
     * @param incoming where the other peers connect (may be null if {@code dials} covers both peers).
     * @param routed   whether the dialled peers are {@link SessionRouter}s (send the route preamble first).
     * @throws TransportException       if a connection or handshake fails or the connect timeout passes.
     * @throws IllegalArgumentException if the topology is incomplete.
     */
    public static TcpTransport connect(
        final Party self,
        final SessionParameters parameters,
        final TcpOptions options,
        final ConnectionSource incoming,
        final Map<Party, InetSocketAddress> dials,
        final boolean routed)
    {
        Objects.requireNonNull(self, "self");
        Objects.requireNonNull(parameters, "parameters");
        Objects.requireNonNull(options, "options");
        if (dials.containsKey(self))
        {
            throw new IllegalArgumentException(self + " cannot dial itself");
        }
        final Set<Party> accepts = EnumSet.noneOf(Party.class);
        for (final Party p : Party.values())
        {
            if (p != self && !dials.containsKey(p))
            {
                accepts.add(p);
            }
        }
        if (!accepts.isEmpty() && incoming == null)
        {
            throw new IllegalArgumentException(self + " must accept " + accepts + " but has no listener");
        }
        final long deadline = System.nanoTime() + options.connectTimeout().toNanos();
        final Cancellation cancellation = new Cancellation();
        final Map<Party, Link> links = Collections.synchronizedMap(new EnumMap<>(Party.class));
        final List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
        Thread acceptor = null;
        if (!accepts.isEmpty())
        {
            acceptor = Thread.ofPlatform().daemon().name("polypi-accept-" + self).start(() ->
            {
                try
                {
                    accept(self, incoming, accepts, parameters, options, deadline, cancellation, links);
                }
                catch (final Throwable e)
                {
                    failures.add(e);
                    cancellation.cancel();
                }
            });
        }
        try
        {
            for (final Party p : Party.values())
            {
                if (dials.containsKey(p))
                {
                    final Link l = dial(self, p, dials.get(p), parameters, options, deadline, cancellation, routed);
                    links.put(l.peer(), l);
                }
            }
        }
        catch (final Throwable e)
        {
            failures.add(0, e);
            cancellation.cancel();
        }
        if (acceptor != null)
        {
            join(acceptor, deadline + JOIN_GRACE.toNanos(), cancellation);
        }
        if (failures.isEmpty() && links.size() == accepts.size() + dials.size())
        {
            return new TcpTransport(self, links, options);
        }
        synchronized (links)
        {
            for (final Link l : links.values())
            {
                l.abort();
            }
        }
        throw failure(self, failures, cancellation);
    }

    private static Link dial(
        final Party self,
        final Party peer,
        final InetSocketAddress address,
        final SessionParameters parameters,
        final TcpOptions options,
        final long deadline,
        final Cancellation cancellation,
        final boolean routed) throws IOException
    {
        long pauseNs = FIRST_RETRY_PAUSE.toNanos();
        while (true)
        {
            final SocketChannel channel = SocketChannel.open();
            if (!cancellation.register(channel))
            {
                Conduit.closeQuietly(channel);
                throw cancelled(self, peer, null, cancellation);
            }
            try
            {
                final long left = deadline - System.nanoTime();
                if (left <= 0)
                {
                    throw new SocketTimeoutException("connect timed out");
                }
                channel.socket().connect(address, (int)Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            }
            catch (final ConnectException | NoRouteToHostException | SocketTimeoutException e)
            {
                // Not listening yet (or not reachable yet): try again until the deadline.
                Conduit.closeQuietly(channel);
                cancellation.unregister(channel);
                if (cancellation.cancelled())
                {
                    throw cancelled(self, peer, e, cancellation);
                }
                if (deadline - System.nanoTime() <= pauseNs)
                {
                    throw new TransportException(self + ": could not connect to " + peer + " at " + text(address) +
                        " within " + Text.duration(options.connectTimeout()) + ": " + e.getMessage(), e);
                }
                sleep(pauseNs);
                pauseNs = Math.min(2 * pauseNs, MAX_RETRY_PAUSE.toNanos());
                continue;
            }
            catch (final IOException e)
            {
                Conduit.closeQuietly(channel);
                cancellation.unregister(channel);
                if (cancellation.cancelled())
                {
                    throw cancelled(self, peer, e, cancellation);
                }
                throw new TransportException(self + ": cannot connect to " + peer + " at " + text(address) + ": " +
                    e.getMessage(), e);
            }
            cancellation.unregister(channel);
            try
            {
                if (routed)
                {
                    RoutePreamble.write(channel, self, parameters.sessionId());
                }
                return Link.establish(channel, self, peer, EnumSet.of(peer), parameters, options, deadline,
                    cancellation);
            }
            catch (final IOException e)
            {
                if (cancellation.cancelled())
                {
                    throw cancelled(self, peer, e, cancellation);
                }
                throw new TransportException(self + ": connection to " + peer + " at " + text(address) +
                    " failed during the handshake: " + e.getMessage(), e);
            }
        }
    }

    private static TransportException cancelled(
        final Party self, final Party peer, final Throwable cause, final Cancellation cancellation)
    {
        return cancellation.consequence(self + ": cancelled while connecting to " + peer, cause);
    }

    private static void accept(
        final Party self,
        final ConnectionSource source,
        final Set<Party> accepts,
        final SessionParameters parameters,
        final TcpOptions options,
        final long deadline,
        final Cancellation cancellation,
        final Map<Party, Link> links) throws IOException
    {
        final Set<Party> missing = EnumSet.copyOf(accepts);
        try
        {
            final ConnectionSource.Waiter waiter = source.open(cancellation);
            if (waiter == null)
            {
                return;
            }
            try (waiter)
            {
                while (!missing.isEmpty())
                {
                    if (cancellation.cancelled())
                    {
                        return;
                    }
                    final long left = deadline - System.nanoTime();
                    if (left <= 0)
                    {
                        throw new TransportException(self + ": " + missing + " did not connect within " +
                            Text.duration(options.connectTimeout()) + " (" + source.describe() + ")");
                    }
                    final SocketChannel channel = waiter.next(deadline);
                    if (channel == null)
                    {
                        continue;
                    }
                    final Link link;
                    try
                    {
                        link = Link.establish(channel, self, null, missing, parameters, options, deadline,
                            cancellation);
                    }
                    catch (final IOException e)
                    {
                        // Gone before saying who it was (a stale connection, a port probe): wait for the real peer.
                        continue;
                    }
                    links.put(link.peer(), link);
                    missing.remove(link.peer());
                }
            }
            catch (final IOException | RuntimeException e)
            {
                if (!(e instanceof ClosedSelectorException))
                {
                    source.refusePending();
                }
                throw e;
            }
        }
        catch (final ClosedSelectorException e)
        {
            if (!cancellation.cancelled())
            {
                throw e;
            }
        }
    }

    private static void join(final Thread t, final long deadlineNs, final Cancellation cancellation)
    {
        try
        {
            final long left = deadlineNs - System.nanoTime();
            if (left > 0)
            {
                t.join(Duration.ofNanos(left));
            }
            if (t.isAlive())
            {
                cancellation.cancel();
                t.join(JOIN_GRACE);
            }
        }
        catch (final InterruptedException e)
        {
            cancellation.cancel();
            Thread.currentThread().interrupt();
        }
    }

    /** The most telling failure: a real one before any "cancelled" that it caused, the others suppressed. */
    private static TransportException failure(
        final Party self, final List<Throwable> failures, final Cancellation cancellation)
    {
        Throwable first = null;
        synchronized (failures)
        {
            for (final Throwable t : failures)
            {
                if (first == null || cancellation.isConsequence(first) && !cancellation.isConsequence(t))
                {
                    first = t;
                }
            }
            final TransportException e;
            if (first == null)
            {
                e = new TransportException(self + ": connection set-up did not complete");
            }
            else if (first instanceof final TransportException te)
            {
                e = te;
            }
            else
            {
                e = new TransportException(self + ": connection set-up failed: " + first, first);
            }
            for (final Throwable t : failures)
            {
                if (t != first && t != e)
                {
                    e.addSuppressed(t);
                }
            }
            return e;
        }
    }

    private static void sleep(final long nanos)
    {
        try
        {
            TimeUnit.NANOSECONDS.sleep(nanos);
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            throw new TransportException("interrupted while connecting", e);
        }
    }

    private static String text(final InetSocketAddress a)
    {
        return (a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString()) + ":" + a.getPort();
    }
}
