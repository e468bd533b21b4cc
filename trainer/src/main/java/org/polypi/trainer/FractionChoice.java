package org.polypi.trainer;

import java.util.List;

import org.polypi.engine.plan.PlanCompiler;
import org.polypi.model.GraphTransforms;
import org.polypi.model.Layer;
import org.polypi.model.ModelGraph;

/**
 * The fixed-point fraction f a model's header recommends: among the evaluated fractions whose top-1 agrees with
 * float32 on at least {@link #AGREEMENT} of the test images, the one whose secure plan needs the fewest online rounds
 * per query, the more precise one on a tie. If none agrees that well (or none of those compiles), the one that agrees
 * best.
 * <p>
 * Why rounds: a PILLAR plan at f = 16 truncates after every activation (within the next layer's 62-bit budget x^4's
 * copy would keep fewer bits than in the 3f layout), one round each, while at f = 12 the polynomial's output fits the
 * next layer as it is: W2 10 rounds instead of 13, W3 18 instead of 25, the product's one round per activation. At
 * f = 12 every trained PILLAR model agrees with float32 on at least 99.8 % of the test set, so the cheaper plan costs
 * no accuracy; where it would, the header keeps the more precise fraction.
 */
public final class FractionChoice
{
    /** Least top-1 agreement with float32 (a fraction of the test images) a recommended f must reach (issue 5). */
    public static final double AGREEMENT = 0.998;
    /** Queries of one image: the rounds a latency-bound client waits for. */
    private static final int BATCH = 1;

    private FractionChoice()
    {
    }

    /**
     * The recommended fraction of {@code model} (BatchNorm folded or not) given its fixed-point results.
     *
     * @throws IllegalArgumentException if {@code results} is empty.
     */
    public static int recommend(final ModelGraph model, final List<Exporter.FixedPointResult> results)
    {
        if (results.isEmpty())
        {
            throw new IllegalArgumentException("no fixed-point result to choose a fraction from");
        }
        Exporter.FixedPointResult best = null;
        long bestRounds = Long.MAX_VALUE;
        for (final Exporter.FixedPointResult r : results)
        {
            final long rounds = onlineRounds(model, r.bits());
            if (r.agreement() < AGREEMENT || rounds == Long.MAX_VALUE)
            {
                continue;
            }
            if (best == null || rounds < bestRounds || rounds == bestRounds && r.bits() > best.bits())
            {
                best = r;
                bestRounds = rounds;
            }
        }
        if (best != null)
        {
            return best.bits();
        }
        Exporter.FixedPointResult closest = null;
        for (final Exporter.FixedPointResult r : results)
        {
            if (closest == null || r.agreement() > closest.agreement() ||
                r.agreement() == closest.agreement() && r.bits() > closest.bits())
            {
                closest = r;
            }
        }
        return closest.bits();
    }

    /**
     * Online rounds per query of one image of {@code model}'s secure plan (BatchNorm folded) at {@code bits}, or
     * {@link Long#MAX_VALUE} if it does not compile at that fraction (the budget cannot hold it).
     */
    public static long onlineRounds(final ModelGraph model, final int bits)
    {
        final ModelGraph folded = model.contains(Layer.BatchNorm.class) ? GraphTransforms.foldBatchNorm(model) : model;
        try
        {
            return PlanCompiler.compile(folded, bits).plan().onlineRounds(BATCH);
        }
        catch (final IllegalArgumentException e)
        {
            return Long.MAX_VALUE;
        }
    }
}
