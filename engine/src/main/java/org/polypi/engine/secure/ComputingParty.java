package org.polypi.engine.secure;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

import org.polypi.engine.plan.LocalSteps;
import org.polypi.engine.plan.Plan;
import org.polypi.engine.plan.PlanStep;
import org.polypi.engine.protocol.ActivationMaterial;
import org.polypi.engine.protocol.ActivationPlan;
import org.polypi.engine.protocol.BeaverMultiplication;
import org.polypi.engine.protocol.BeaverTriple;
import org.polypi.engine.protocol.ComparisonMaterial;
import org.polypi.engine.protocol.ComparisonReceiver;
import org.polypi.engine.protocol.EspnPowers;
import org.polypi.engine.protocol.EspnTuple;
import org.polypi.engine.protocol.FaithfulTruncation;
import org.polypi.engine.protocol.FaithfulTruncationPair;
import org.polypi.engine.protocol.FusedActivation;
import org.polypi.engine.protocol.HoneyBadgerPowers;
import org.polypi.engine.protocol.LinearLayer;
import org.polypi.engine.protocol.LinearMask;
import org.polypi.engine.protocol.LinearOp;
import org.polypi.engine.protocol.MaterialReceiver;
import org.polypi.engine.protocol.MaxPool;
import org.polypi.engine.protocol.PartySession;
import org.polypi.engine.protocol.PowerTuple;
import org.polypi.engine.protocol.Relu;
import org.polypi.engine.protocol.ReluMask;
import org.polypi.engine.transport.CostMeter;
import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.Transport;
import org.polypi.kernels.RingKernels;
import org.polypi.kernels.RingTensor;

/**
 * What the server and the client do alike: the set-up (handshake, dealer seeds, one weight opening per linear step),
 * the offline phase of a query (receive the step's material in plan order and precompute the linear layers'
 * input-independent terms) and the online walk over the plan on additive shares. The roles differ only in the input
 * and output steps, the weights side of the set-up and the public constants (the server adds them).
 * <p>
 * Every piece of work is charged to (phase, step) in the transport's {@link CostMeter}. Long-lived state (the opened
 * weights) lives in a connection arena; a query's material and tensors in a query arena closed when the query ends.
 * Not thread-safe: one thread drives a party at a time.
 */
abstract sealed class ComputingParty implements AutoCloseable permits SecureServer, SecureClient
{
    final Plan plan;
    final Transport transport;
    final int batch;
    final RingKernels kernels;
    private final StepObserver observer;
    private final ActivationProtocol activations;
    private final Arena connection = Arena.ofShared();
    final PartySession session;
    private final LinearMask[] masks;
    private final LinearLayer.Prepared[] prepared;
    /** {@link #soleProducers} of the plan. */
    private final int[] soleProducer;
    private MaterialReceiver material;
    private ComparisonReceiver comparisons;
    private int queries;
    private boolean setUp;
    /** Online memory of the largest query so far: the size of the next query's pre-zeroed slab (see {@link QueryArena}). */
    private long querySlabBytes;
    /**
     * The last query's arena, released at the start of the next query's offline phase (or at close) rather than as
     * the query ends: freeing a batch-64 W3 query's memory took 140-280 ms, which sat in the online latency after
     * the logits were already known.
     */
    private QueryArena retired;

    ComputingParty(final Plan plan, final Transport transport, final SessionOptions options, final Party role)
    {
        this.plan = Objects.requireNonNull(plan, "plan");
        this.transport = Objects.requireNonNull(transport, "transport");
        if (transport.self() != role)
        {
            throw new IllegalArgumentException("the " + role + " needs the " + role + "'s transport, got the " +
                transport.self() + "'s");
        }
        SecureSupport.check(plan);
        this.batch = options.batch();
        this.kernels = options.kernels();
        this.observer = options.observer();
        this.activations = options.activations();
        this.session = new PartySession(transport, connection, kernels);
        this.masks = new LinearMask[plan.linearSteps().size()];
        this.prepared = new LinearLayer.Prepared[masks.length];
        this.soleProducer = soleProducers(plan);
    }

    /** The plan this party walks. */
    public Plan plan()
    {
        return plan;
    }

    /** Items per query. */
    public int batch()
    {
        return batch;
    }

    /** Queries run so far on this connection. */
    public int queries()
    {
        return queries;
    }

    /** A snapshot of this party's meter. */
    public List<CostMeter.Entry> costs()
    {
        return transport.meter().entries();
    }

    /**
     * The set-up, once per connection: the plan-hash handshake with both peers, the dealer's seed, and per linear
     * step the opening of {@code F = W - B}.
     *
     * @throws IllegalStateException if already set up, or the peers run another plan or batch size.
     */
    public final void setup()
    {
        if (setUp)
        {
            throw new IllegalStateException(transport.self() + " is already set up");
        }
        setUp = true;
        final CostMeter meter = transport.meter();
        meter.enter(Plan.SETUP, Plan.HANDSHAKE);
        Handshake.exchange(transport, plan, batch);
        meter.enter(Plan.SETUP, Plan.SEEDS);
        material = MaterialReceiver.connect(session);
        comparisons = material.comparisons();
        for (final PlanStep.Linear step : plan.linearSteps())
        {
            meter.enter(Plan.SETUP, step.name());
            final int i = step.linearIndex();
            masks[i] = material.linearMask(session, op(step, batch));
            prepared[i] = setupLinear(step, masks[i]);
        }
        meter.enter(CostReport.IDLE, CostReport.IDLE);
    }

    /** The role's side of the weight opening of one linear step. */
    abstract LinearLayer.Prepared setupLinear(PlanStep.Linear step, LinearMask mask);

    /** The server's bias of linear step {@code linearIndex} (null: none, or not the server). */
    abstract long[] bias(int linearIndex);

    /** The bilinear map of a linear step for a batch. */
    static LinearOp op(final PlanStep.Linear step, final int batch)
    {
        return switch (step)
        {
            case PlanStep.Dense d -> new LinearOp.Matmul(batch, d.inFeatures(), d.outFeatures());
            case PlanStep.Conv c -> new LinearOp.Conv2d(c.shape(batch));
        };
    }

    /**
     * The offline phase of one query: receives the dealer's material of every step in plan order and precomputes
     * the linear layers' {@code A·F + C}. The returned state owns a query arena.
     */
    final Query prepare()
    {
        if (!setUp)
        {
            throw new IllegalStateException(transport.self() + " must be set up before a query");
        }
        releaseRetired();
        final CostMeter meter = transport.meter();
        final QueryArena arena = new QueryArena(querySlabBytes);
        try
        {
            final PartySession qs = session.forQuery(arena);
            final List<PlanStep> steps = plan.steps();
            final Object[] pieces = new Object[steps.size()];
            for (int i = 0; i < steps.size(); i++)
            {
                final PlanStep step = steps.get(i);
                meter.enter(Plan.OFFLINE, step.name());
                pieces[i] = switch (step)
                {
                    case PlanStep.Linear l -> LinearLayer.prepareQuery(qs, prepared[l.linearIndex()],
                        material.linearTriple(qs, masks[l.linearIndex()]));
                    case PlanStep.Activation a when a.copies() > 0 && activations != ActivationProtocol.FUSED ->
                        baselineMaterial(qs, a);
                    case PlanStep.Activation a when a.copies() > 0 -> material.activationMaterial(qs,
                        ActivationPlan.of(a.copyShifts(), a.copyDegrees()), materialShape(a.inputs()[0]));
                    case PlanStep.Truncate t -> material.truncationPair(qs, t.shift(), materialShape(t.input()));
                    case PlanStep.Relu r -> comparisons.reluMaterial(qs, materialShape(r.input()));
                    case PlanStep.MaskedRelu m -> comparisons.maskedReluMaterial(qs, ReluMask.of(m.mask()), batch);
                    case PlanStep.MaxPool p -> comparisons.maxPoolMaterial(qs, Plan.maxPoolPlan(p, batch));
                    default -> null;
                };
            }
            final Unmask[] unmask = foldMasks(qs, pieces);
            meter.enter(CostReport.IDLE, CostReport.IDLE);
            arena.beginOnline();
            return new Query(arena, qs, pieces, unmask, this);
        }
        catch (final RuntimeException | Error e)
        {
            arena.close();
            throw e;
        }
    }

    /**
     * Moves masking passes out of the online phase, where a step's only reader would mask its output anyway:
     * <ul>
     *   <li>a linear step fed by a truncation alone folds its input mask A into that truncation, which then outputs
     *       {@code X - A} ({@link LinearLayer#foldMaskIntoTruncation});</li>
     *   <li>a public polynomial activation that never reads z itself, fed by a linear step alone, folds its mask r
     *       (and the opening's offset) into that linear step, which then outputs {@code z + 2^62 + r}
     *       ({@link FusedActivation#foldMaskIntoLinear}).</li>
     * </ul>
     * Local, charged to the folded step's offline time. Returns, per step index, how to recover the step's value
     * from what it now outputs (null where nothing was folded), for the step observer.
     */
    private Unmask[] foldMasks(final PartySession qs, final Object[] pieces)
    {
        final List<PlanStep> steps = plan.steps();
        final Unmask[] unmask = new Unmask[steps.size()];
        for (int i = 0; i < steps.size(); i++)
        {
            final int p = soleProducer[i];
            if (p < 0)
            {
                continue;
            }
            if (steps.get(i) instanceof final PlanStep.Linear l &&
                pieces[i] instanceof final LinearLayer.PreparedQuery query &&
                steps.get(p) instanceof PlanStep.Truncate && pieces[p] instanceof final FaithfulTruncationPair pair)
            {
                transport.meter().enter(Plan.OFFLINE, l.name());
                pieces[p] = LinearLayer.foldMaskIntoTruncation(qs, query, pair);
                unmask[p] = new Unmask(query.mask(), true, 0);
            }
            else if (steps.get(i) instanceof final PlanStep.Activation a && a.kind() == PlanStep.Activation.Kind.PUBLIC &&
                a.copies() > 0 && a.directMultiplier() == 0 && pieces[i] instanceof final ActivationMaterial material &&
                steps.get(p) instanceof PlanStep.Linear && pieces[p] instanceof final LinearLayer.PreparedQuery query)
            {
                transport.meter().enter(Plan.OFFLINE, a.name());
                final RingTensor mask = FusedActivation.foldMaskIntoLinear(qs, query, material);
                unmask[p] = new Unmask(mask, false, FusedActivation.foldedOffset(qs));
            }
        }
        return unmask;
    }

    /**
     * Per step, the step whose output is its one input and is read by nothing else (so a mask can move between the
     * two, {@link #foldMasks}); -1 where there is none. A property of the plan alone, worked out once.
     */
    private static int[] soleProducers(final Plan plan)
    {
        final List<PlanStep> steps = plan.steps();
        final int[] readers = new int[plan.tensors().size()];
        final int[] producer = new int[plan.tensors().size()];
        Arrays.fill(producer, -1);
        for (int i = 0; i < steps.size(); i++)
        {
            for (final int t : steps.get(i).inputs())
            {
                readers[t]++;
            }
            producer[steps.get(i).output()] = i;
        }
        final int[] sole = new int[steps.size()];
        for (int i = 0; i < steps.size(); i++)
        {
            final int[] in = steps.get(i).inputs();
            final int x = in.length == 1 ? in[0] : -1;
            sole[i] = x < 0 || x == plan.inputTensor() || x == plan.outputTensor() || readers[x] != 1 ? -1 :
                producer[x];
        }
        return sole;
    }

    /** How a step's value is recovered from its folded output: plus {@code share}, or minus it and the constant. */
    private record Unmask(RingTensor share, boolean add, long constant)
    {
        void apply(final RingKernels k, final RingTensor folded, final RingTensor value)
        {
            if (add)
            {
                k.add(folded.segment(), share.segment(), value.segment(), value.size());
                return;
            }
            k.sub(folded.segment(), share.segment(), value.segment(), value.size());
            k.addConstant(value.segment(), -constant, value.segment(), value.size());
        }
    }

    /** Per copy: its truncation pair (null at shift 0) and its power or ESPN tuple (null at degree 1). */
    private Object[][] baselineMaterial(final PartySession qs, final PlanStep.Activation a)
    {
        final int[] shape = materialShape(a.inputs()[0]);
        final Object[][] pieces = new Object[a.copies()][2];
        for (int j = 0; j < a.copies(); j++)
        {
            if (a.copyShift(j) > 0)
            {
                pieces[j][0] = material.truncationPair(qs, a.copyShift(j), shape);
            }
            if (a.copyDegree(j) > 1)
            {
                pieces[j][1] = switch (activations)
                {
                    case ESPN -> material.espnTuple(qs, a.copyDegree(j), shape);
                    case CRYPTEN -> beaverTriples(qs, a.copyDegree(j) - 1, shape);
                    default -> material.powerTuple(qs, a.copyDegree(j), shape);
                };
            }
        }
        return pieces;
    }

    private BeaverTriple[] beaverTriples(final PartySession qs, final int count, final int[] shape)
    {
        final BeaverTriple[] triples = new BeaverTriple[count];
        for (int i = 0; i < count; i++)
        {
            triples[i] = material.beaverTriple(qs, shape);
        }
        return triples;
    }

    /**
     * CrypTen's power schedule ({@link ActivationProtocol#CRYPTEN}): round t multiplies {@code x^i = x^h x^(i-h)}
     * for every {@code h = 2^(t-1) < i <= min(2h, k)} in one batched Beaver opening; triples in that order.
     */
    private static RingTensor[] crypTenPowers(final PartySession qs, final RingTensor x, final BeaverTriple[] triples)
    {
        final int degree = triples.length + 1;
        final RingTensor[] p = new RingTensor[degree];
        p[0] = x;
        int used = 0;
        for (int h = 1; h < degree; h *= 2)
        {
            final int count = Math.min(2 * h, degree) - h;
            final RingTensor[] left = new RingTensor[count];
            final RingTensor[] right = new RingTensor[count];
            for (int c = 0; c < count; c++)
            {
                final int i = h + 1 + c;
                left[c] = p[h - 1];
                right[c] = p[i - h - 1];
            }
            final RingTensor[] products = BeaverMultiplication.multiply(qs, left, right,
                Arrays.copyOfRange(triples, used, used + count));
            System.arraycopy(products, 0, p, h, count);
            used += count;
        }
        return p;
    }

    /** The copies' powers by the baseline protocols: truncation, then HoneyBadger, ESPN or CrypTen, per copy. */
    private static MemorySegment[][] baselinePowers(final PartySession qs, final PlanStep.Activation a,
                                                    final RingTensor z, final Object[][] pieces)
    {
        final MemorySegment[][] powers = new MemorySegment[a.copies()][];
        for (int j = 0; j < a.copies(); j++)
        {
            final RingTensor x = pieces[j][0] == null ? z :
                FaithfulTruncation.truncate(qs, z, (FaithfulTruncationPair)pieces[j][0]);
            final RingTensor[] p = switch (pieces[j][1])
            {
                case null -> new RingTensor[]{x};
                case EspnTuple t -> EspnPowers.powers(qs, x, t);
                case BeaverTriple[] t -> crypTenPowers(qs, x, t);
                case PowerTuple t -> HoneyBadgerPowers.powers(qs, x, t);
                default -> throw new IllegalStateException("unexpected material " + pieces[j][1]);
            };
            powers[j] = new MemorySegment[a.copyDegree(j)];
            for (int i = 0; i < a.copyDegree(j); i++)
            {
                powers[j][i] = p[i].segment();
            }
        }
        return powers;
    }

    /** The shape the dealer draws a step's elementwise material in: the batch of the input tensor. */
    int[] materialShape(final int tensor)
    {
        return plan.tensor(tensor).batchShape(batch);
    }

    /** The online walk over the plan from this party's input share; returns its share of the logits (scale f). */
    final RingTensor walk(final Query query, final RingTensor input)
    {
        final CostMeter meter = transport.meter();
        final RingTensor[] values = new RingTensor[plan.tensors().size()];
        values[plan.inputTensor()] = input;
        final int q = queries;
        observer.afterStep(transport.self(), q, StepObserver.INPUT_STEP, input);
        final List<PlanStep> steps = plan.steps();
        for (int i = 0; i < steps.size(); i++)
        {
            final PlanStep step = steps.get(i);
            meter.enter(Plan.ONLINE, step.name());
            values[step.output()] = execute(query, i, step, values);
            if (observer != StepObserver.NONE)
            {
                observe(query, q, i, values[step.output()]);
            }
        }
        return values[plan.outputTensor()];
    }

    /** The observer sees the step's value, also where the step outputs it masked for its reader (foldMasks). */
    private void observe(final Query query, final int q, final int step, final RingTensor value)
    {
        final Unmask unmask = query.unmask[step];
        if (unmask == null)
        {
            observer.afterStep(transport.self(), q, step, value);
            return;
        }
        try (Arena tmp = Arena.ofConfined())
        {
            final RingTensor x = RingTensor.allocate(tmp, value.shape());
            unmask.apply(kernels, value, x);
            observer.afterStep(transport.self(), q, step, x);
        }
    }

    /** Counts a finished query. */
    final void finishQuery()
    {
        queries++;
        transport.meter().enter(CostReport.IDLE, CostReport.IDLE);
    }

    private RingTensor execute(final Query query, final int index, final PlanStep step, final RingTensor[] values)
    {
        final PartySession qs = query.session;
        final boolean constants = qs.holdsConstants();
        final int[] outShape = plan.tensor(step.output()).batchShape(batch);
        return switch (step)
        {
            case PlanStep.Linear l ->
            {
                final LinearLayer.PreparedQuery lq = (LinearLayer.PreparedQuery)query.pieces[index];
                final RingTensor z = lq.maskFolded() ?
                    LinearLayer.onlineFromMasked(qs, prepared[l.linearIndex()], lq, values[l.inputs()[0]]) :
                    LinearLayer.online(qs, prepared[l.linearIndex()], lq, values[l.inputs()[0]]);
                final long[] bias = bias(l.linearIndex());
                if (bias != null)
                {
                    LocalSteps.addBias(kernels, l, bias, z.segment(), batch);
                }
                yield z;
            }
            case PlanStep.SumPool p ->
            {
                final RingTensor y = qs.allocate(outShape);
                LocalSteps.sumPool(kernels, p, values[p.input()].segment(), y.segment(), batch);
                yield y;
            }
            case PlanStep.Add a ->
            {
                final RingTensor y = qs.allocate(outShape);
                LocalSteps.add(kernels, a, values[a.a()].segment(), values[a.b()].segment(), y.segment(), y.size());
                yield y;
            }
            case PlanStep.Reshape r -> values[r.input()].reshape(outShape);
            case PlanStep.Truncate t -> FaithfulTruncation.truncate(qs, values[t.input()],
                (FaithfulTruncationPair)query.pieces[index]).reshape(outShape);
            case PlanStep.Activation a ->
            {
                final RingTensor z = values[a.inputs()[0]];
                MemorySegment[][] powers = new MemorySegment[a.copies()][];
                if (a.copies() > 0 && query.pieces[index] instanceof final Object[][] baseline)
                {
                    powers = baselinePowers(qs, a, z, baseline);
                }
                else if (a.copies() > 0 && a.kind() == PlanStep.Activation.Kind.PUBLIC)
                {
                    // The opening and the whole polynomial in one pass: no power is written or read back.
                    final RingTensor y = qs.allocate(outShape);
                    final ActivationMaterial material = (ActivationMaterial)query.pieces[index];
                    if (material.maskFolded())
                    {
                        // z arrives masked (its linear layer added r): opened as it is, no masking pass.
                        FusedActivation.polynomialFromMasked(qs, z, material, a.copyMultipliers(), a.constant(), y);
                    }
                    else
                    {
                        FusedActivation.polynomial(qs, z, material, a.copyMultipliers(), a.directMultiplier(),
                            a.constant(), y);
                    }
                    yield y;
                }
                else if (a.copies() > 0)
                {
                    final FusedActivation.Powers opened = FusedActivation.open(qs, z,
                        (ActivationMaterial)query.pieces[index]);
                    for (int j = 0; j < a.copies(); j++)
                    {
                        powers[j] = new MemorySegment[a.copyDegree(j)];
                        for (int i = 1; i <= a.copyDegree(j); i++)
                        {
                            powers[j][i - 1] = opened.power(j, i).segment();
                        }
                    }
                }
                final RingTensor y = qs.allocate(outShape);
                LocalSteps.combine(kernels, a, null, null, z.segment(), powers, constants, y.segment(), batch);
                yield y;
            }
            case PlanStep.Combine c ->
            {
                final RingTensor y = qs.allocate(outShape);
                LocalSteps.combineStacked(kernels, c, null, null, values[c.inputs()[0]].segment(), constants,
                    y.segment(), batch);
                yield y;
            }
            case PlanStep.Relu r -> Relu.relu(qs, values[r.input()], (ComparisonMaterial)query.pieces[index]);
            case PlanStep.MaskedRelu m -> Relu.masked(qs, values[m.inputs()[0]], ReluMask.of(m.mask()),
                (ComparisonMaterial)query.pieces[index]);
            case PlanStep.MaxPool p -> MaxPool.maxPool2d(qs, values[p.input()], Plan.maxPoolPlan(p, batch),
                (ComparisonMaterial[])query.pieces[index]).reshape(outShape);
        };
    }

    /** Releases the connection's memory. Call once no thread runs this party any more. */
    @Override
    public void close()
    {
        try
        {
            releaseRetired();
        }
        finally
        {
            connection.close();
        }
    }

    /** Takes the arena of a finished query; the previous one, if any, is released now. */
    private void retire(final QueryArena arena)
    {
        releaseRetired();
        retired = arena;
    }

    private void releaseRetired()
    {
        final QueryArena arena = retired;
        retired = null;
        if (arena != null)
        {
            arena.close();
        }
    }

    /** One query's material and memory. */
    static final class Query implements AutoCloseable
    {
        private final QueryArena arena;
        private final PartySession session;
        private final Object[] pieces;
        private final Unmask[] unmask;
        private final ComputingParty party;

        Query(final QueryArena arena, final PartySession session, final Object[] pieces, final Unmask[] unmask,
              final ComputingParty party)
        {
            this.arena = arena;
            this.session = session;
            this.pieces = pieces;
            this.unmask = unmask;
            this.party = party;
        }

        PartySession session()
        {
            return session;
        }

        @Override
        public void close()
        {
            party.querySlabBytes = Math.max(party.querySlabBytes, arena.demand());
            party.retire(arena);
        }
    }
}
