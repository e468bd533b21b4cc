package org.polypi.engine.protocol;

import java.lang.foreign.Arena;
import java.util.Objects;

import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.Transport;
import org.polypi.kernels.Kernels;
import org.polypi.kernels.RingKernels;
import org.polypi.kernels.RingTensor;

/**
 * What one computing party's protocol code works with: its {@link Transport}, the {@link RingKernels} backend and
 * the {@link Arena} that holds the shares it produces (protocol outputs and received dealer material).
 * <p>
 * The session does not own the arena: the caller decides its lifetime (the engine keeps model-lifetime state, such
 * as opened weight masks, in a connection arena and per-query tensors in a query arena, see
 * {@link #withArena}). Temporaries of a protocol step live in an arena of their own, closed when the step returns.
 * A shared arena lets the linear kernels split large products over several cores; a confined one makes them
 * single-threaded. Not thread-safe: one session per party thread.
 */
public final class PartySession
{
    private final Transport transport;
    private final Arena arena;
    private final RingKernels kernels;

    /**
     * A session of the party that owns {@code transport}, allocating its outputs in {@code arena}.
     *
     * @throws IllegalArgumentException if the transport belongs to the dealer (the dealer uses {@link Dealer}).
     */
    public PartySession(final Transport transport, final Arena arena)
    {
        this(transport, arena, Kernels.get());
    }

    /** As {@link #PartySession(Transport, Arena)} with an explicit kernel backend. */
    public PartySession(final Transport transport, final Arena arena, final RingKernels kernels)
    {
        this.transport = Objects.requireNonNull(transport, "transport");
        this.arena = Objects.requireNonNull(arena, "arena");
        this.kernels = Objects.requireNonNull(kernels, "kernels");
        if (transport.self() == Party.DEALER)
        {
            throw new IllegalArgumentException("a PartySession is for the server or the client, not the dealer");
        }
    }

    /** The same party, transport and kernels, allocating its outputs in {@code otherArena} instead. */
    public PartySession withArena(final Arena otherArena)
    {
        return new PartySession(transport, otherArena, kernels);
    }

    /** This party's transport. */
    public Transport transport()
    {
        return transport;
    }

    /** This party (server or client). */
    public Party party()
    {
        return transport.self();
    }

    /** The other computing party. */
    public Party peer()
    {
        return transport.self().peer();
    }

    /** True for party 0 (the server), which adds the public constants of every local formula. */
    public boolean holdsConstants()
    {
        return transport.self() == Party.SERVER;
    }

    /** Where this session's outputs are allocated. */
    public Arena arena()
    {
        return arena;
    }

    /** The kernel backend every bulk operation goes through. */
    public RingKernels kernels()
    {
        return kernels;
    }

    /** A zero-filled tensor of the given shape in {@link #arena()}. */
    public RingTensor allocate(final int... shape)
    {
        return RingTensor.allocate(arena, shape);
    }

    /** Counts one sequential message exchange in this party's meter. */
    void countRound()
    {
        transport.meter().countRound();
    }

    @Override
    public String toString()
    {
        return "PartySession[" + transport.self() + "]";
    }
}
