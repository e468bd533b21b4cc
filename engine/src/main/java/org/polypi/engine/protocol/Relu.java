package org.polypi.engine.protocol;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.polypi.kernels.RingTensor;

/**
 * Secure ReLU, {@code relu(x) = x (1 - msb(x))} on x read as a signed {@code long}: exact for every x
 * ({@code relu(Long.MIN_VALUE) = 0}). The multiplication by the sign is fused into the comparison's last round
 * ({@link Comparison}), so a ReLU costs exactly what a comparison costs: {@link Comparison#ROUNDS} rounds and
 * {@link Comparison#bytesSent} bytes per party. See docs/protocols.md, "Comparison and ReLU".
 */
public final class Relu
{
    private Relu()
    {
    }

    /**
     * This party's share of {@code relu(x)}, in the session's arena. {@link Comparison#ROUNDS} rounds.
     *
     * @throws IllegalArgumentException if the material's size differs from x's or it is not ReLU material.
     * @throws IllegalStateException if the material was already used (nothing is sent then).
     */
    public static RingTensor relu(final PartySession session, final RingTensor x, final ComparisonMaterial material)
    {
        return Comparison.evaluate(session, x, material, true);
    }

    /**
     * Masked ReLU: {@code relu(x)} at the kept positions of {@code mask}, x elsewhere; x holds
     * {@code x.size() / mask.size()} stacked items. Only the kept positions are compared, all in one batch: the cost is
     * a ReLU's on {@code mask.keptFor(items)} values, nothing at all when the mask keeps none ({@code material} is
     * then null, as {@link ComparisonReceiver#maskedReluMaterial} returns).
     *
     * @throws IllegalArgumentException if x's size is not a multiple of the mask's, or the material does not match
     *                                  the kept count.
     */
    public static RingTensor masked(final PartySession session, final RingTensor x, final ReluMask mask,
                                    final ComparisonMaterial material)
    {
        if (x.size() % mask.size() != 0)
        {
            throw new IllegalArgumentException("x has " + x.size() + " elements, not a multiple of the mask's " +
                mask.size());
        }
        final int items = Math.toIntExact(x.size() / mask.size());
        final int kept = mask.keptFor(items);
        final RingTensor out = session.allocate(x.shape());
        out.copyFrom(x);
        if (kept == 0)
        {
            if (material != null)
            {
                throw new IllegalArgumentException("the mask keeps no ReLU, so no material is consumed; got " +
                    material.id());
            }
            return out;
        }
        if (material == null)
        {
            throw new IllegalArgumentException("the mask keeps " + kept + " ReLUs but the material is null");
        }
        RingOps.requireSize("material for the kept positions", material.r(), kept);
        try (Arena tmp = session.temporaries())
        {
            final RingTensor gathered = RingTensor.allocate(tmp, kept);
            final MemorySegment in = x.segment();
            final MemorySegment g = gathered.segment();
            int k = 0;
            for (int item = 0; item < items; item++)
            {
                final long base = (long)item * mask.size();
                for (int i = 0; i < mask.keptCount(); i++)
                {
                    g.setAtIndex(RingTensor.ELEMENT, k++, in.getAtIndex(RingTensor.ELEMENT, base + mask.keptPosition(i)));
                }
            }
            final RingTensor result = Comparison.evaluate(session.withArena(tmp), gathered, material, true);
            final MemorySegment o = out.segment();
            final MemorySegment rs = result.segment();
            k = 0;
            for (int item = 0; item < items; item++)
            {
                final long base = (long)item * mask.size();
                for (int i = 0; i < mask.keptCount(); i++)
                {
                    o.setAtIndex(RingTensor.ELEMENT, base + mask.keptPosition(i), rs.getAtIndex(RingTensor.ELEMENT, k++));
                }
            }
        }
        return out;
    }
}
