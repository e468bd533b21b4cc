package org.polypi.engine.protocol;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashSet;
import java.util.Set;

import org.polypi.kernels.RingKernels;
import org.polypi.kernels.RingTensor;

/**
 * Secure 2-D max pooling by a comparison tree, {@code max(a, b) = b + relu(a - b)}, batched per level over every
 * window of every map (schedule and padding semantics: {@link MaxPoolPlan}). Exact when every difference
 * {@code a - b} fits a signed {@code long}, e.g. for {@code |values| < 2^62}. Costs {@link MaxPoolPlan#rounds()}
 * rounds ({@link Comparison#ROUNDS} per level) and {@link MaxPoolPlan#bytesSent()} bytes per party.
 * <p>
 * Secure because it is a composition of ReLUs (each with fresh material) and local linear steps.
 */
public final class MaxPool
{
    private MaxPool()
    {
    }

    /**
     * This party's share of the max pooling of x ({@code plan.inputSize()} elements, maps then rows then columns,
     * e.g. NCHW), in the session's arena. The result has x's shape with the last two dimensions replaced by the
     * output's (or shape {@code [outputSize]} when x has rank 1).
     *
     * @param levels one ReLU material per plan level ({@link ComparisonReceiver#maxPoolMaterial}).
     * @throws IllegalArgumentException if x's size or the materials do not match the plan.
     * @throws IllegalStateException if a material was already used.
     */
    public static RingTensor maxPool2d(final PartySession session, final RingTensor x, final MaxPoolPlan plan,
                                       final ComparisonMaterial[] levels)
    {
        RingOps.requireSize("x", x, plan.inputSize());
        if (levels.length != plan.levels())
        {
            throw new IllegalArgumentException("the plan has " + plan.levels() + " levels, got " + levels.length +
                " materials");
        }
        // Every check before the first round: a failure half-way would leave the peer waiting for a message.
        final Set<String> ids = new HashSet<>();
        for (int level = 0; level < levels.length; level++)
        {
            final ComparisonMaterial m = levels[level];
            RingOps.requireSize("material of level " + level, m.r(), plan.comparisons(level));
            if (m.kind() != ComparisonMaterial.Kind.RELU)
            {
                throw new IllegalArgumentException("level " + level + " needs ReLU material, " + m.id() + " is " +
                    m.kind() + " material");
            }
            if (m.used() || !ids.add(m.id()))
            {
                throw new IllegalStateException("material " + m.id() + " already used");
            }
        }
        final RingKernels k = session.kernels();
        final RingTensor out = session.allocate(outputShape(x, plan));
        try (Arena tmp = session.temporaries())
        {
            final PartySession temporary = session.withArena(tmp);
            MemorySegment current = x.segment();
            for (int pass = 0; pass < plan.passes(); pass++)
            {
                final int[] range = plan.passLevels(pass);
                for (int level = range[0]; level < range[1]; level++)
                {
                    final MaxPoolPlan.Level l = plan.level(level);
                    final int pairs = l.left().length;
                    final RingTensor a = gather(tmp, current, l.left());
                    final RingTensor b = gather(tmp, current, l.right());
                    k.sub(a.segment(), b.segment(), a.segment(), pairs);
                    final RingTensor relu = Relu.relu(temporary, a, levels[level]);
                    k.add(b.segment(), relu.segment(), b.segment(), pairs);
                    current = select(tmp, b.segment(), current, l.next());
                }
                current = gather(tmp, current, plan.passOutput(pass)).segment();
            }
            MemorySegment.copy(current, 0, out.segment(), 0, out.byteSize());
        }
        return out;
    }

    private static int[] outputShape(final RingTensor x, final MaxPoolPlan plan)
    {
        final int[] shape = x.shape();
        if (shape.length >= 2 && shape[shape.length - 2] == plan.height() && shape[shape.length - 1] == plan.width())
        {
            shape[shape.length - 2] = plan.outHeight();
            shape[shape.length - 1] = plan.outWidth();
            return shape;
        }
        return new int[]{Math.toIntExact(plan.outputSize())};
    }

    /** {@code out[i] = values[index[i]]}. */
    private static RingTensor gather(final Arena arena, final MemorySegment values, final int[] index)
    {
        final RingTensor out = RingTensor.allocate(arena, index.length);
        final MemorySegment o = out.segment();
        for (int i = 0; i < index.length; i++)
        {
            o.setAtIndex(RingTensor.ELEMENT, i, values.getAtIndex(RingTensor.ELEMENT, index[i]));
        }
        return out;
    }

    /** The next level's values: {@code maxima[s]} for {@code s >= 0}, a waiting {@code current[-s - 1]} otherwise. */
    private static MemorySegment select(final Arena arena, final MemorySegment maxima, final MemorySegment current,
                                        final int[] next)
    {
        final MemorySegment out = arena.allocate((long)next.length * RingTensor.ELEMENT_BYTES,
            RingTensor.ALIGNMENT_BYTES);
        for (int i = 0; i < next.length; i++)
        {
            final int s = next[i];
            out.setAtIndex(RingTensor.ELEMENT, i, s >= 0 ? maxima.getAtIndex(RingTensor.ELEMENT, s) :
                current.getAtIndex(RingTensor.ELEMENT, -s - 1L));
        }
        return out;
    }
}
