package org.polypi.engine.secure;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Objects;

import org.polypi.engine.plan.Plan;
import org.polypi.engine.plan.PlanStep;
import org.polypi.engine.protocol.ActivationPlan;
import org.polypi.engine.protocol.ComparisonDealer;
import org.polypi.engine.protocol.ComparisonMaterial;
import org.polypi.engine.protocol.Dealer;
import org.polypi.engine.protocol.MaxPoolPlan;
import org.polypi.engine.protocol.ReluMask;
import org.polypi.engine.transport.CostMeter;
import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.Transport;
import org.polypi.kernels.RingKernels;

/**
 * The dealer (party 2): walks the same plan as the computing parties and produces exactly the material each step
 * needs, in plan order: per connection the seeds and one weight mask B per linear step; per query a linear triple per
 * linear step, the fused-activation material per activation with an opening, a truncation pair per truncation, and
 * comparison material per ReLU, masked ReLU (kept positions) and max-pool level (all from one {@link Dealer}: one
 * seed per party, one sequence).
 * It holds no secret of either party and sees nothing of their data.
 * <p>
 * <b>Where a query's material comes from</b>, in this order: the queries of a material file
 * ({@link SessionOptions#dealerMaterial()}, written by {@link MaterialFile#write} in a separate offline phase); then
 * the bounded pool ({@link SessionOptions#dealerPool()}: a producer thread deals ahead, {@link MaterialPool}); else
 * the material is dealt when the query starts. All three produce the same bytes for the same seed: the file's
 * material was dealt from its own seed by the same code, and this dealer re-runs the set-up from that seed, checks
 * that it stands where the file's set-up stood, and continues after the file's material.
 * <p>
 * <b>Costs.</b> Material sent from a pool or a file is charged to (offline, step) like live material, bytes alike;
 * its time there is the sending only, the dealing happened off the query's path ({@link #pool()} reports it).
 */
public final class SecureDealer implements AutoCloseable
{
    private final Plan plan;
    private final Transport transport;
    private final SessionOptions options;
    private final int batch;
    private final Dealer dealer;
    private final MaterialFile.Reader file;
    private Dealer.WeightMask[] masks;
    private volatile MaterialPool pool;
    private boolean setUp;
    private boolean closed;
    private int queries;

    /**
     * The dealer of {@code plan} over {@code transport} (party 2's), with the options' seed (random if none), or the
     * seed of the options' material file, which is opened and consumed here.
     *
     * @throws MaterialFileException if the material file is missing, already consumed, corrupt or written for
     *                               another plan or batch.
     */
    public SecureDealer(final Plan plan, final Transport transport, final SessionOptions options)
    {
        this.plan = Objects.requireNonNull(plan, "plan");
        this.transport = Objects.requireNonNull(transport, "transport");
        this.options = Objects.requireNonNull(options, "options");
        if (transport.self() != Party.DEALER)
        {
            throw new IllegalArgumentException("the dealer needs the DEALER's transport, got the " + transport.self() +
                "'s");
        }
        SecureSupport.check(plan);
        this.batch = options.batch();
        if (options.dealerMaterial() != null && options.activations() != ActivationProtocol.FUSED)
        {
            throw new IllegalArgumentException("material files hold FUSED activation material; this session uses " +
                options.activations());
        }
        this.file = options.dealerMaterial() == null ? null : MaterialFile.open(options.dealerMaterial(), plan, batch);
        final byte[] given = options.dealerSeed();
        final byte[] seed = file != null ? file.masterSeed() : given == null ? Dealer.randomSeed() : given;
        this.dealer = new Dealer(transport, seed, options.kernels());
    }

    /**
     * Handshake, the parties' seeds, and one weight mask per linear step; then skips the material file's queries and
     * starts the pool's producer, if any.
     */
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
        masks = new Dealer.WeightMask[plan.linearSteps().size()];
        for (final PlanStep.Linear step : plan.linearSteps())
        {
            meter.enter(Plan.SETUP, step.name());
            masks[step.linearIndex()] = dealer.linearMask(ComputingParty.op(step, batch));
        }
        meter.enter(CostReport.IDLE, CostReport.IDLE);
        if (file != null)
        {
            if (!dealer.position().equals(file.setupPosition()))
            {
                throw new MaterialFileException("material file " + file.path() + ": its set-up ended at " +
                    file.setupPosition() + ", this dealer's at " + dealer.position() + " (another seed or plan)");
            }
            // The file's queries were dealt from here on: never deal them again.
            dealer.resume(file.endPosition());
        }
        if (options.dealerPool() > 0)
        {
            // From here on only the producer thread touches the dealer's streams (Thread.start orders the set-up
            // before it).
            pool = MaterialPool.start(this::deal, options.dealerPool());
        }
    }

    /** Sends one query's material, step by step in plan order: from the file, the pool, or dealt now. */
    public void dealQuery()
    {
        if (!setUp)
        {
            throw new IllegalStateException("the dealer must be set up before a query");
        }
        if (closed)
        {
            throw new IllegalStateException("the dealer is closed");
        }
        final CostMeter meter = transport.meter();
        if (file != null && file.remaining() > 0)
        {
            try (QueryMaterial m = file.next())
            {
                send(m, meter);
            }
        }
        else if (pool != null)
        {
            try (QueryMaterial m = pool.take())
            {
                send(m, meter);
            }
        }
        else
        {
            for (final PlanStep step : plan.steps())
            {
                meter.enter(Plan.OFFLINE, step.name());
                dealStep(step);
            }
        }
        queries++;
        meter.enter(CostReport.IDLE, CostReport.IDLE);
    }

    private void send(final QueryMaterial m, final CostMeter meter)
    {
        m.take();
        final List<PlanStep> steps = plan.steps();
        for (int i = 0; i < steps.size(); i++)
        {
            meter.enter(Plan.OFFLINE, steps.get(i).name());
            for (final MemorySegment message : m.step(i))
            {
                transport.send(Party.SERVER, message);
            }
        }
    }

    /** Deals one query's material into {@code arena} without sending it (the pool's producer). */
    QueryMaterial deal(final Arena arena)
    {
        return deal(dealer, plan, batch, masks, options.activations(), arena);
    }

    /** Deals one query's material with {@code dealer} into {@code arena} without sending it. */
    static QueryMaterial deal(final Dealer dealer, final Plan plan, final int batch, final Dealer.WeightMask[] masks,
                              final ActivationProtocol activations, final Arena arena)
    {
        final long start = System.nanoTime();
        final List<PlanStep> steps = plan.steps();
        final MemorySegment[][] messages = new MemorySegment[steps.size()][];
        for (int i = 0; i < steps.size(); i++)
        {
            final PlanStep step = steps.get(i);
            messages[i] = dealer.capture(arena, () -> dealStep(dealer, plan, batch, masks, activations, step))
                .toArray(new MemorySegment[0]);
        }
        return new QueryMaterial(arena, messages, System.nanoTime() - start);
    }

    private void dealStep(final PlanStep step)
    {
        dealStep(dealer, plan, batch, masks, options.activations(), step);
    }

    /** Deals the material of one step (nothing for a local step) with {@code dealer}. */
    static void dealStep(final Dealer dealer, final Plan plan, final int batch, final Dealer.WeightMask[] masks,
                         final ActivationProtocol activations, final PlanStep step)
    {
        final ComparisonDealer comparisons = dealer.comparisons();
        switch (step)
        {
            case PlanStep.Linear l -> dealer.linearTriple(masks[l.linearIndex()]);
            case PlanStep.Activation a when a.copies() > 0 && activations != ActivationProtocol.FUSED ->
            {
                // Baselines: per copy a truncation pair (shift > 0) and a power tuple, an ESPN tuple or CrypTen's
                // k - 1 Beaver triples (degree k > 1).
                final int[] shape = shape(plan, a.inputs()[0], batch);
                for (int j = 0; j < a.copies(); j++)
                {
                    if (a.copyShift(j) > 0)
                    {
                        dealer.truncationPair(a.copyShift(j), shape);
                    }
                    if (a.copyDegree(j) > 1)
                    {
                        if (activations == ActivationProtocol.ESPN)
                        {
                            dealer.espnTuple(a.copyDegree(j), shape);
                        }
                        else if (activations == ActivationProtocol.CRYPTEN)
                        {
                            for (int i = 1; i < a.copyDegree(j); i++)
                            {
                                dealer.beaverTriple(shape);
                            }
                        }
                        else
                        {
                            dealer.powerTuple(a.copyDegree(j), shape);
                        }
                    }
                }
            }
            case PlanStep.Activation a when a.copies() > 0 -> dealer.activationMaterial(
                ActivationPlan.of(a.copyShifts(), a.copyDegrees()), shape(plan, a.inputs()[0], batch));
            case PlanStep.Truncate t -> dealer.truncationPair(t.shift(), shape(plan, t.input(), batch));
            case PlanStep.Relu r -> comparisons.reluMaterial(shape(plan, r.input(), batch));
            case PlanStep.MaskedRelu m -> comparisons.maskedReluMaterial(ReluMask.of(m.mask()), batch);
            case PlanStep.MaxPool p -> comparisons.maxPoolMaterial(Plan.maxPoolPlan(p, batch));
            default ->
            {
                // local step: no material
            }
        }
    }

    /**
     * The sizes of the messages the dealer sends the server for {@code step} per query, in order (empty for a
     * local step): they add up to {@link Plan#dealerBytes}.
     */
    static long[] messageBytes(final Plan plan, final PlanStep step, final int batch)
    {
        if (step instanceof final PlanStep.MaxPool p)
        {
            final MaxPoolPlan mp = Plan.maxPoolPlan(p, batch);
            final long[] out = new long[mp.levels()];
            for (int level = 0; level < out.length; level++)
            {
                out[level] = ComparisonDealer.serverMessageBytes(ComparisonMaterial.Kind.RELU, mp.comparisons(level));
            }
            return out;
        }
        final long bytes = plan.dealerBytes(step, batch);
        return bytes == 0 ? new long[0] : new long[]{bytes};
    }

    /** The weight masks of a set-up dealt by {@code dealer} (started), one per linear step, as {@link #setup}. */
    static Dealer.WeightMask[] drawMasks(final Dealer dealer, final Plan plan, final int batch)
    {
        final Dealer.WeightMask[] out = new Dealer.WeightMask[plan.linearSteps().size()];
        for (final PlanStep.Linear step : plan.linearSteps())
        {
            out[step.linearIndex()] = dealer.linearMask(ComputingParty.op(step, batch));
        }
        return out;
    }

    private static int[] shape(final Plan plan, final int tensor, final int batch)
    {
        return plan.tensor(tensor).batchShape(batch);
    }

    /** Queries dealt so far. */
    public int queries()
    {
        return queries;
    }

    /** The bounded pool (null unless {@link SessionOptions#dealerPool()} is positive and the dealer is set up). */
    public MaterialPool pool()
    {
        return pool;
    }

    /** Queries of the material file not sent yet (0 without a file). */
    public int fileQueriesRemaining()
    {
        return file == null ? 0 : file.remaining();
    }

    /** A snapshot of the dealer's meter. */
    public List<CostMeter.Entry> costs()
    {
        return transport.meter().entries();
    }

    /** The kernels the dealer computes with. */
    RingKernels kernels()
    {
        return options.kernels();
    }

    /**
     * Stops the pool's producer and waits for it, releasing the pooled material; safe from any thread, and while a
     * query is running (its next take fails). Idempotent.
     */
    void stopPool()
    {
        final MaterialPool p = pool;
        if (p != null)
        {
            p.close();
        }
    }

    /** Stops the pool's producer (waiting for it), releases pooled material, the weight masks and the file. */
    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        try
        {
            if (pool != null)
            {
                pool.close();
            }
            if (file != null)
            {
                file.close();
            }
        }
        finally
        {
            dealer.close();
        }
    }
}
