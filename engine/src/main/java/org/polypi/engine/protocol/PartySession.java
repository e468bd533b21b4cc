package org.polypi.engine.protocol;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
 * {@link #withArena}, {@link #forQuery}). Temporaries of a protocol step live in {@link #temporaries()}: an arena of
 * their own closed when the step returns, or, in a query session, the query's arena.
 * A shared arena lets the linear kernels split large products over several cores; a confined one makes them
 * single-threaded. Not thread-safe: one session per party thread.
 */
public final class PartySession
{
    private final Transport transport;
    private final Arena arena;
    private final RingKernels kernels;
    private final boolean queryScoped;

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
        this(transport, arena, kernels, false);
    }

    private PartySession(final Transport transport, final Arena arena, final RingKernels kernels,
                         final boolean queryScoped)
    {
        this.queryScoped = queryScoped;
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

    /**
     * The same party, transport and kernels, allocating its outputs in {@code queryArena}, an arena that ends with
     * the query: the steps' temporaries then go to it as well (see {@link #temporaries()}).
     */
    public PartySession forQuery(final Arena queryArena)
    {
        return new PartySession(transport, queryArena, kernels, true);
    }

    /**
     * Where a protocol step puts its temporaries; close it when the step returns. In a query session
     * ({@link #forQuery}) it is the query's arena itself, closing does nothing and the memory goes with the query:
     * the engine's query arena serves the online phase from memory allocated and zeroed offline, so a step's
     * temporaries cost no allocation, zeroing or release in the online window. Otherwise a fresh confined arena.
     */
    public Arena temporaries()
    {
        return queryScoped ? new Borrowed(arena) : Arena.ofConfined();
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

    /** An arena's allocations under a close that does nothing: the owner closes the arena itself. */
    private static final class Borrowed implements Arena
    {
        private final Arena owner;

        Borrowed(final Arena owner)
        {
            this.owner = owner;
        }

        @Override
        public MemorySegment allocate(final long byteSize, final long byteAlignment)
        {
            return owner.allocate(byteSize, byteAlignment);
        }

        @Override
        public MemorySegment.Scope scope()
        {
            return owner.scope();
        }

        @Override
        public void close()
        {
            // The owner's lifetime, not the borrower's, decides when the memory goes.
        }
    }
}
