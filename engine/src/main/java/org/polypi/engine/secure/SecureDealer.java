package org.polypi.engine.secure;

import java.util.List;
import java.util.Objects;

import org.polypi.engine.plan.Plan;
import org.polypi.engine.plan.PlanStep;
import org.polypi.engine.protocol.ActivationPlan;
import org.polypi.engine.protocol.ComparisonDealer;
import org.polypi.engine.protocol.Dealer;
import org.polypi.engine.protocol.ReluMask;
import org.polypi.engine.transport.CostMeter;
import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.Transport;

/**
 * The dealer (party 2): walks the same plan as the computing parties and produces exactly the material each step
 * needs, in plan order: per connection the seeds and one weight mask B per linear step; per query a linear triple per
 * linear step, the fused-activation material per activation with an opening, a truncation pair per truncation, and
 * comparison material per ReLU, masked ReLU (kept positions) and max-pool level (from a {@link ComparisonDealer}
 * sharing the master seed and the queue to the server).
 * It holds no secret of either party and sees nothing of their data.
 */
public final class SecureDealer implements AutoCloseable
{
    private final Plan plan;
    private final Transport transport;
    private final int batch;
    private final Dealer dealer;
    /** The comparison material's dealer (null when the plan has no ReLU, masked ReLU or max-pool). */
    private final ComparisonDealer comparisons;
    private final Dealer.WeightMask[] masks;
    private boolean setUp;
    private int queries;

    /** The dealer of {@code plan} over {@code transport} (party 2's), with the options' seed (random if none). */
    public SecureDealer(final Plan plan, final Transport transport, final SessionOptions options)
    {
        this.plan = Objects.requireNonNull(plan, "plan");
        this.transport = Objects.requireNonNull(transport, "transport");
        if (transport.self() != Party.DEALER)
        {
            throw new IllegalArgumentException("the dealer needs the DEALER's transport, got the " + transport.self() +
                "'s");
        }
        SecureSupport.check(plan);
        this.batch = options.batch();
        final byte[] given = options.dealerSeed();
        final byte[] seed = given == null ? Dealer.randomSeed() : given;
        this.dealer = new Dealer(transport, seed, options.kernels());
        // The comparison dealer derives its party seeds from another stream of the same master seed.
        this.comparisons = plan.needsComparisons() ? new ComparisonDealer(transport, seed, options.kernels()) : null;
        this.masks = new Dealer.WeightMask[plan.linearSteps().size()];
    }

    /** Handshake, the parties' seeds, and one weight mask per linear step. */
    public void setup()
    {
        if (setUp)
        {
            throw new IllegalStateException("the dealer is already set up");
        }
        setUp = true;
        final CostMeter meter = transport.meter();
        meter.enter(Plan.SETUP, Plan.HANDSHAKE);
        Handshake.exchange(transport, plan, batch);
        meter.enter(Plan.SETUP, Plan.SEEDS);
        dealer.start();
        if (comparisons != null)
        {
            comparisons.start();
        }
        for (final PlanStep.Linear step : plan.linearSteps())
        {
            meter.enter(Plan.SETUP, step.name());
            masks[step.linearIndex()] = dealer.linearMask(ComputingParty.op(step, batch));
        }
        meter.enter(CostReport.IDLE, CostReport.IDLE);
    }

    /** Deals one query's material, step by step in plan order. */
    public void dealQuery()
    {
        if (!setUp)
        {
            throw new IllegalStateException("the dealer must be set up before a query");
        }
        final CostMeter meter = transport.meter();
        for (final PlanStep step : plan.steps())
        {
            meter.enter(Plan.OFFLINE, step.name());
            switch (step)
            {
                case PlanStep.Linear l -> dealer.linearTriple(masks[l.linearIndex()]);
                case PlanStep.Activation a when a.copies() > 0 -> dealer.activationMaterial(
                    ActivationPlan.of(a.copyShifts(), a.copyDegrees()), shape(a.inputs()[0]));
                case PlanStep.Truncate t -> dealer.truncationPair(t.shift(), shape(t.input()));
                case PlanStep.Relu r -> comparisons.reluMaterial(shape(r.input()));
                case PlanStep.MaskedRelu m -> comparisons.maskedReluMaterial(ReluMask.of(m.mask()), batch);
                case PlanStep.MaxPool p -> comparisons.maxPoolMaterial(Plan.maxPoolPlan(p, batch));
                default ->
                {
                    // local step: no material
                }
            }
        }
        queries++;
        meter.enter(CostReport.IDLE, CostReport.IDLE);
    }

    /** Queries dealt so far. */
    public int queries()
    {
        return queries;
    }

    /** A snapshot of the dealer's meter. */
    public List<CostMeter.Entry> costs()
    {
        return transport.meter().entries();
    }

    private int[] shape(final int tensor)
    {
        return plan.tensor(tensor).batchShape(batch);
    }

    /** Releases the weight masks. */
    @Override
    public void close()
    {
        dealer.close();
    }
}
