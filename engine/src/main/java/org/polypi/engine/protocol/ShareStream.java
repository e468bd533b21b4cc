package org.polypi.engine.protocol;

import java.lang.foreign.Arena;

import org.polypi.kernels.AesCtrPrg;
import org.polypi.kernels.RingTensor;

/**
 * The sequence of PRG-derived shares of one computing party: the dealer and that party each hold a copy keyed by the
 * same seed and draw from it in the same order, so those shares never travel. Draws are sequential words of stream
 * {@link #MATERIAL_STREAM} of the seed.
 */
final class ShareStream
{
    /** Stream of a party seed that material shares are drawn from. */
    static final long MATERIAL_STREAM = 1;

    private final AesCtrPrg prg;

    ShareStream(final byte[] seed)
    {
        this.prg = new AesCtrPrg(seed, MATERIAL_STREAM);
    }

    /** Words drawn so far. */
    long position()
    {
        return prg.position();
    }

    /** Moves the next draw to word {@code words}. */
    void seek(final long words)
    {
        prg.seek(words);
    }

    /** The next {@code product(shape)} words as a new tensor in {@code arena}. */
    RingTensor next(final Arena arena, final int... shape)
    {
        final RingTensor t = RingTensor.allocate(arena, shape);
        prg.fillNext(t);
        return t;
    }
}
