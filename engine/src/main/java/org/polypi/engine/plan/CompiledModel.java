package org.polypi.engine.plan;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Objects;

import org.polypi.kernels.RingTensor;

/**
 * What the server holds after {@link PlanCompiler#compile}: the public {@link Plan} and the model's private
 * numbers in the ring, laid out as the steps use them: the encoded weights and biases of every linear step
 * (HerPN coefficients already folded in), the per-channel coefficients of {@link PlanStep.Activation.Kind#PRIVATE}
 * activations, and per tensor the bound on the secure engine's deviation from the reference. Only the server (and
 * the plaintext reference) may hold it; the client and the dealer get {@link #plan()} only. Immutable.
 */
public final class CompiledModel
{
    private final Plan plan;
    private final List<long[]> weights;
    private final List<long[]> biases;
    private final List<long[][]> privateMultipliers;
    private final List<long[]> privateConstants;
    private final double[] errorBounds;

    CompiledModel(final Plan plan, final List<long[]> weights, final List<long[]> biases,
                  final List<long[][]> privateMultipliers, final List<long[]> privateConstants,
                  final double[] errorBounds)
    {
        this.plan = Objects.requireNonNull(plan);
        this.weights = List.copyOf(weights);
        // List.copyOf rejects nulls: a missing bias or private table is kept as an empty array.
        this.biases = List.copyOf(biases);
        this.privateMultipliers = List.copyOf(privateMultipliers);
        this.privateConstants = List.copyOf(privateConstants);
        this.errorBounds = errorBounds.clone();
    }

    /** The public plan. */
    public Plan plan()
    {
        return plan;
    }

    /**
     * A fresh copy of the encoded weights of linear step {@code linearIndex} in {@code arena}: {@code [in, out]}
     * for a dense step, {@code [out, in, kh, kw]} for a convolution, at the step's weight scale.
     */
    public RingTensor weights(final Arena arena, final int linearIndex)
    {
        final PlanStep.Linear step = plan.linearSteps().get(linearIndex);
        final int[] shape = switch (step)
        {
            case PlanStep.Dense d -> new int[]{d.inFeatures(), d.outFeatures()};
            case PlanStep.Conv c -> new int[]{c.outChannels(), c.inChannels(), c.kernelHeight(), c.kernelWidth()};
        };
        return RingTensor.of(arena, weights.get(linearIndex), shape);
    }

    /** True if linear step {@code linearIndex} has a bias. */
    public boolean hasBias(final int linearIndex)
    {
        return biases.get(linearIndex).length > 0;
    }

    /** A copy of the bias of linear step {@code linearIndex}, one value per output channel at the output scale. */
    public long[] bias(final int linearIndex)
    {
        return biases.get(linearIndex).clone();
    }

    /**
     * Per-channel multipliers {@code [C][d+1]} (index k = power) of the step {@code stepIndex} with private
     * coefficients: {@code enc_f(a_k[c]) 2^align(k)} for a PRIVATE activation, {@code enc_f(a_k[c])} for a private
     * {@link PlanStep.Combine}.
     *
     * @throws IllegalArgumentException if that step has no private coefficients.
     */
    public long[][] privateMultipliers(final int stepIndex)
    {
        final long[][] m = privateMultipliers.get(stepIndex);
        if (m.length == 0)
        {
            throw new IllegalArgumentException("step " + stepIndex + " (" + plan.steps().get(stepIndex).name() +
                ") has no private per-channel coefficients");
        }
        final long[][] copy = new long[m.length][];
        for (int c = 0; c < m.length; c++)
        {
            copy[c] = m[c].clone();
        }
        return copy;
    }

    /** Per-channel constants ({@code enc_3f(a_0[c])}, or {@code enc_2f} for a Combine) of step {@code stepIndex}. */
    public long[] privateConstants(final int stepIndex)
    {
        privateMultipliers(stepIndex);
        return privateConstants.get(stepIndex).clone();
    }

    /**
     * Bound on {@code |secure - reference|} of tensor {@code id}'s real values, from the faithful truncations' one
     * unit per truncation and the steps' Lipschitz constants over the activation bound (docs/engine-design.md §4).
     * It holds while every activation input stays within the header's activation bound.
     */
    public double errorBound(final int id)
    {
        return errorBounds[id];
    }

    /** {@link #errorBound} of the logits in units of 2^-f, rounded up. */
    public long outputErrorUlps()
    {
        return (long)Math.ceil(Math.scalb(errorBounds[plan.outputTensor()], plan.fractionalBits()));
    }
}
