package org.polypi.engine.plan;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

import org.polypi.engine.protocol.Comparison;
import org.polypi.engine.protocol.ComparisonDealer;
import org.polypi.engine.protocol.ComparisonMaterial;
import org.polypi.engine.protocol.MaxPoolPlan;

/**
 * A model compiled for the secure engine ({@link PlanCompiler}): the ordered steps the dealer, the server and the
 * client walk, every tensor's shape and scale, and where the truncations are. Everything in a plan is public (the
 * client and the dealer hold it; the weights are in {@link CompiledModel}); all three compare its {@link #hash()}
 * before anything else. Immutable.
 * <p>
 * The plan also predicts the cost of every (phase, step) from the protocol formulas ({@link #predictedCosts}).
 * <p>
 * When the model's header has activation statistics, the plan also lists each measured site's observed input range
 * against the activation bound the budget was sized for ({@link #observedRanges()}). That is a diagnostic, not part
 * of the computation: it is outside the description and the hash, so a model and its public description (which has
 * no statistics) still compile to the same plan hash.
 */
public final class Plan
{
    /** Phase of the once-per-connection work: handshake, dealer seeds, weight openings. */
    public static final String SETUP = "setup";
    /** Phase of the per-query work that does not depend on the input: dealer material, precomputed products. */
    public static final String OFFLINE = "offline";
    /** Phase of the per-query work from the input sharing to the revealed logits. */
    public static final String ONLINE = "online";
    /** Set-up step: every party sends each other party the plan hash and the batch size and checks theirs. */
    public static final String HANDSHAKE = "handshake";
    /** Set-up step: the dealer sends each computing party its 16-byte seed. */
    public static final String SEEDS = "seeds";
    /** Online step: the client shares its input. */
    public static final String INPUT = "input";
    /** Online step: the server sends its share of the logits to the client. */
    public static final String OUTPUT = "output";

    /** Bytes of a ring element on the wire. */
    public static final int ELEMENT_BYTES = Long.BYTES;
    /** Bytes of a seed (the dealer's per-party seeds, the client's input seed). */
    public static final int SEED_BYTES = 16;
    /** Bytes of the sequence trailer the dealer appends to each piece of material. */
    public static final int TRAILER_BYTES = Long.BYTES;
    /** Bytes of the plan hash. */
    public static final int HASH_BYTES = 32;
    /** Bytes of a handshake message: the plan hash and the batch size (8-byte little-endian). */
    public static final int HANDSHAKE_BYTES = HASH_BYTES + Long.BYTES;
    /** Version of the canonical description; part of the hash. */
    public static final int DESCRIPTION_VERSION = 1;

    private final String architecture;
    private final int fractionalBits;
    private final float activationBound;
    private final int headroomBits;
    private final List<PlanTensor> tensors;
    private final List<PlanStep> steps;
    private final int inputTensor;
    private final int outputTensor;
    private final List<PlanStep.Linear> linearSteps;
    private final int[] lastUse;
    private final String description;
    private final byte[] hash;
    private final List<ObservedRange> observedRanges;

    /**
     * The observed input range of one activation site (from the model header's statistics) against the plan's
     * activation bound B.
     *
     * @param node the activation node.
     * @param polynomial true for a Poly or ChannelPoly site: the scale budget sized its powers for inputs in
     *     [-B, B], so an input beyond B uses the headroom (and the error bound of {@link CompiledModel#errorBound}
     *     no longer holds there).
     * @param maxAbs the largest |input| measured.
     * @param outside inputs measured beyond [-range, range].
     * @param elements inputs measured.
     * @param range the r of {@code outside}.
     * @param withinBound true if {@code maxAbs <= B}.
     */
    public record ObservedRange(String node, boolean polynomial, float maxAbs, long outside, long elements,
                                float range, boolean withinBound)
    {
        /** Fraction of the measured inputs beyond [-range, range]. */
        public double outsideFraction()
        {
            return (double)outside / elements;
        }
    }

    Plan(final String architecture, final int fractionalBits, final float activationBound, final int headroomBits,
         final List<PlanTensor> tensors, final List<PlanStep> steps, final int inputTensor, final int outputTensor,
         final List<ObservedRange> observedRanges)
    {
        this.architecture = Objects.requireNonNull(architecture);
        this.fractionalBits = fractionalBits;
        this.activationBound = activationBound;
        this.headroomBits = headroomBits;
        this.tensors = List.copyOf(tensors);
        this.steps = List.copyOf(steps);
        this.inputTensor = inputTensor;
        this.outputTensor = outputTensor;
        final List<PlanStep.Linear> linear = new ArrayList<>();
        lastUse = new int[tensors.size()];
        Arrays.fill(lastUse, -1);
        for (int i = 0; i < this.steps.size(); i++)
        {
            final PlanStep step = this.steps.get(i);
            if (step instanceof final PlanStep.Linear l)
            {
                linear.add(l);
            }
            for (final int in : step.inputs())
            {
                lastUse[in] = i;
            }
        }
        lastUse[outputTensor] = Integer.MAX_VALUE;
        this.linearSteps = List.copyOf(linear);
        this.description = buildDescription();
        this.hash = sha256(description);
        this.observedRanges = List.copyOf(observedRanges);
    }

    /** The model's architecture name. */
    public String architecture()
    {
        return architecture;
    }

    /** Fractional bits f: input encoding, weight scale, activation precision. */
    public int fractionalBits()
    {
        return fractionalBits;
    }

    /** The header's activation bound B the scale budget is derived from. */
    public float activationBound()
    {
        return activationBound;
    }

    /**
     * The observed input range of every activation site the model's statistics measured, in node order; empty if
     * the model has none (format version 1, or a public description). Not part of {@link #hash()}.
     */
    public List<ObservedRange> observedRanges()
    {
        return observedRanges;
    }

    /** True if some polynomial site's observed max |input| exceeds the activation bound. */
    public boolean polynomialBeyondBound()
    {
        return observedRanges.stream().anyMatch(r -> r.polynomial() && !r.withinBound());
    }

    /** Bits of headroom above every tensor's bound that the budget keeps free. */
    public int headroomBits()
    {
        return headroomBits;
    }

    /** All tensors, indexed by id. */
    public List<PlanTensor> tensors()
    {
        return tensors;
    }

    /** Tensor {@code id}. */
    public PlanTensor tensor(final int id)
    {
        return tensors.get(id);
    }

    /** The steps in execution order. */
    public List<PlanStep> steps()
    {
        return steps;
    }

    /** The linear steps in execution order (index = {@link PlanStep.Linear#linearIndex()}). */
    public List<PlanStep.Linear> linearSteps()
    {
        return linearSteps;
    }

    /** Id of the input tensor (scale f). */
    public int inputTensor()
    {
        return inputTensor;
    }

    /** Id of the output tensor: the logits at scale f. */
    public int outputTensor()
    {
        return outputTensor;
    }

    /** Elements of one item's input. */
    public int inputElements()
    {
        return tensor(inputTensor).size();
    }

    /** Logits per item. */
    public int outputElements()
    {
        return tensor(outputTensor).size();
    }

    /**
     * Index of the last step that reads tensor {@code id} (-1 if none, {@link Integer#MAX_VALUE} for the output):
     * after it the tensor's storage may be released.
     */
    public int lastUse(final int id)
    {
        return lastUse[id];
    }

    /** Multiply-adds of the linear steps per item. */
    public long multiplyAdds()
    {
        long n = 0;
        for (final PlanStep.Linear l : linearSteps)
        {
            n += l.multiplyAdds();
        }
        return n;
    }

    /** The canonical description the hash is computed over: one line per parameter, tensor and step. */
    public String describe()
    {
        return description;
    }

    /** SHA-256 of {@link #describe()} (UTF-8), 32 bytes. */
    public byte[] hash()
    {
        return hash.clone();
    }

    /** {@link #hash()} as 64 lower-case hex digits. */
    public String hashHex()
    {
        return HexFormat.of().formatHex(hash);
    }

    /**
     * The cost of every (phase, step) for a connection with {@code batch} items per query, from the documented
     * formulas: the set-up once, then per query the offline and the online phases. Every step appears, local ones
     * with zeros.
     */
    public List<StepCost> predictedCosts(final int batch)
    {
        if (batch <= 0)
        {
            throw new IllegalArgumentException("batch must be positive, was " + batch);
        }
        final List<StepCost> costs = new ArrayList<>();
        costs.add(new StepCost(SETUP, HANDSHAKE, 1, 1, HANDSHAKE_BYTES, HANDSHAKE_BYTES, HANDSHAKE_BYTES,
            HANDSHAKE_BYTES, HANDSHAKE_BYTES, HANDSHAKE_BYTES));
        // One seed per computing party covers all material, comparisons included (Dealer: one derivation scheme).
        final long seeds = SEED_BYTES;
        costs.add(new StepCost(SETUP, SEEDS, 0, 0, 0, 0, seeds, seeds, 0, 0));
        for (final PlanStep.Linear l : linearSteps)
        {
            // Open F = W - B: one round, |W| elements each way; the mask B costs the dealer a bare trailer.
            final long w = l.weightElements() * ELEMENT_BYTES;
            costs.add(StepCost.between(SETUP, l.name(), 1, w, w, TRAILER_BYTES));
        }
        for (final PlanStep step : steps)
        {
            costs.add(StepCost.between(OFFLINE, step.name(), 0, 0, 0, dealerBytes(step, batch)));
        }
        costs.add(StepCost.between(ONLINE, INPUT, 1, 0, SEED_BYTES, 0));
        for (final PlanStep step : steps)
        {
            final long bytes = onlineBytes(step, batch);
            costs.add(StepCost.between(ONLINE, step.name(), onlineRounds(step, batch), bytes, bytes, 0));
        }
        costs.add(StepCost.between(ONLINE, OUTPUT, 1, (long)batch * outputElements() * ELEMENT_BYTES, 0, 0));
        return List.copyOf(costs);
    }

    /** True if some step needs secure comparisons (ReLU, masked ReLU, max-pool). */
    public boolean needsComparisons()
    {
        for (final PlanStep step : steps)
        {
            if (step instanceof PlanStep.Relu || step instanceof PlanStep.MaskedRelu ||
                step instanceof PlanStep.MaxPool)
            {
                return true;
            }
        }
        return false;
    }

    /**
     * Sequential rounds of one query online, the client's input and the output included: what a latency-bound
     * client waits for (the {@link #ONLINE} rounds of {@link #predictedCosts}).
     */
    public long onlineRounds(final int batch)
    {
        long rounds = 0;
        for (final StepCost c : predictedCosts(batch))
        {
            rounds += ONLINE.equals(c.phase()) ? c.rounds() : 0;
        }
        return rounds;
    }

    /**
     * Sequential rounds of the step online: 1 for an opening (linear layer, activation with copies, truncation),
     * {@code Comparison.ROUNDS} for a ReLU or a masked ReLU that keeps some position, that per level for a max-pool,
     * 0 for a local step.
     */
    public long onlineRounds(final PlanStep step, final int batch)
    {
        return switch (step)
        {
            case PlanStep.Relu _ -> Comparison.ROUNDS;
            case PlanStep.MaskedRelu m -> m.keptCount() > 0 ? Comparison.ROUNDS : 0;
            case PlanStep.MaxPool p -> maxPoolPlan(p, batch).rounds();
            default -> openedElements(step, batch) > 0 ? 1 : 0;
        };
    }

    /**
     * Bytes each computing party sends in the step online: 8 per opened element (the linear layer's input
     * E = X - A, the activation's c = z + 2^62 + r, the truncated tensor), {@code Comparison.bytesSent(n)} for n
     * ReLUs (docs/protocols.md §7), 0 for a local step.
     */
    public long onlineBytes(final PlanStep step, final int batch)
    {
        return switch (step)
        {
            case PlanStep.Relu r -> Comparison.bytesSent((long)batch * tensor(r.input()).size());
            case PlanStep.MaskedRelu m -> m.keptCount() > 0 ? Comparison.bytesSent((long)batch * m.keptCount()) : 0;
            case PlanStep.MaxPool p -> maxPoolPlan(p, batch).bytesSent();
            default -> openedElements(step, batch) * ELEMENT_BYTES;
        };
    }

    /** The comparison schedule of a max-pool step over a batch. */
    public static MaxPoolPlan maxPoolPlan(final PlanStep.MaxPool p, final int batch)
    {
        return new MaxPoolPlan(batch * p.channels(), p.inHeight(), p.inWidth(), p.kernel(), p.stride(), p.padding());
    }

    /**
     * Elements each computing party sends in the step's one opening (0 for a local step or a comparison): the
     * linear layer's input (E = X - A), the activation's input (c = z + 2^62 + r) or the truncated tensor.
     */
    public long openedElements(final PlanStep step, final int batch)
    {
        return switch (step)
        {
            case PlanStep.Linear l -> (long)batch * l.inputElements();
            case PlanStep.Activation a -> a.copies() > 0 ? (long)batch * a.inputElements() : 0;
            case PlanStep.Truncate t -> (long)batch * tensor(t.input()).size();
            default -> 0;
        };
    }

    /**
     * Bytes the dealer sends the server for the step per query (docs/protocols.md §3 and §7.2): the linear triple's
     * {@code C_0} (output-sized), the activation's {@code sum_j (k_j + w_j)} power and difference tensors, the
     * truncation pair's {@code r >>> s} and {@code msb(r)}, one ReLU piece per ReLU step, masked ReLU (kept positions
     * only) and max-pool level, each message with its 8-byte trailer; nothing for local steps. The client draws all
     * its material from its seeds.
     */
    public long dealerBytes(final PlanStep step, final int batch)
    {
        return switch (step)
        {
            case PlanStep.Linear l -> (long)batch * l.outputElements() * ELEMENT_BYTES + TRAILER_BYTES;
            case PlanStep.Activation a -> a.copies() > 0 ?
                (long)a.materialTensors() * batch * a.inputElements() * ELEMENT_BYTES + TRAILER_BYTES : 0;
            case PlanStep.Truncate t -> 2L * batch * tensor(t.input()).size() * ELEMENT_BYTES + TRAILER_BYTES;
            case PlanStep.Relu r -> ComparisonDealer.serverMessageBytes(ComparisonMaterial.Kind.RELU,
                (long)batch * tensor(r.input()).size());
            case PlanStep.MaskedRelu m -> m.keptCount() > 0 ? ComparisonDealer.serverMessageBytes(
                ComparisonMaterial.Kind.RELU, (long)batch * m.keptCount()) : 0;
            case PlanStep.MaxPool p ->
            {
                final MaxPoolPlan plan = maxPoolPlan(p, batch);
                long bytes = 0;
                for (int level = 0; level < plan.levels(); level++)
                {
                    bytes += ComparisonDealer.serverMessageBytes(ComparisonMaterial.Kind.RELU, plan.comparisons(level));
                }
                yield bytes;
            }
            default -> 0;
        };
    }

    private String buildDescription()
    {
        final StringBuilder sb = new StringBuilder();
        sb.append("polypi plan ").append(DESCRIPTION_VERSION).append('\n');
        sb.append("architecture ").append(architecture).append('\n');
        sb.append("f ").append(fractionalBits).append(" bound ").append(Float.toHexString(activationBound))
            .append(" headroom ").append(headroomBits).append('\n');
        sb.append("input ").append(inputTensor).append(" output ").append(outputTensor).append('\n');
        for (final PlanTensor t : tensors)
        {
            sb.append(t.describe()).append('\n');
        }
        for (final PlanStep s : steps)
        {
            sb.append(s.describe()).append('\n');
        }
        return sb.toString();
    }

    private static byte[] sha256(final String text)
    {
        try
        {
            return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        }
        catch (final NoSuchAlgorithmException e)
        {
            throw new IllegalStateException("every Java platform provides SHA-256", e);
        }
    }

    @Override
    public String toString()
    {
        return "Plan[" + architecture + ", f=" + fractionalBits + ", " + steps.size() + " steps, " +
            hashHex().substring(0, 16) + "]";
    }
}
