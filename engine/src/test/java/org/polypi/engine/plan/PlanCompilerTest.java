package org.polypi.engine.plan;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.polypi.kernels.CandidateDifferences;
import org.polypi.model.ActivationKind;
import org.polypi.model.ActivationStatistics;
import org.polypi.model.GraphTransforms;
import org.polypi.model.Layer;
import org.polypi.model.ModelGraph;
import org.polypi.model.ModelHeader;
import org.polypi.model.Node;
import org.polypi.model.ReferenceNetworks;
import org.polypi.model.ReferenceNetworks.Workload;
import org.polypi.model.Shape;
import org.polypi.model.Tensor;
import org.polypi.model.reference.FixedPointInference;
import org.polypi.model.reference.FloatInference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link PlanCompiler}: the scale of every tensor, where truncations go (only where the budget needs them, at the
 * cheapest point, and before the output), HerPN folding, the split of a polynomial that does not fit, the plan
 * hash (public structure only), the cost formulas, and the errors.
 */
final class PlanCompilerTest
{
    private static final long SEED = 7;
    /** A quadratic whose a_2 needs every fractional bit: its output cannot be narrowed for free. */
    private static final Layer.Poly NOT_DYADIC = Layer.Poly.of(0.45f, 0.5f, 0.3f);

    private static ModelGraph network(final Workload workload, final ActivationKind kind, final Layer.Poly poly)
    {
        return GraphTransforms.foldBatchNorm(ReferenceNetworks.build(workload, ReferenceNetworks.Options.of(kind)
            .withPoly(poly).withBatchNorm(true).withSeed(SEED)));
    }

    private static ModelGraph network(final Workload workload, final ActivationKind kind)
    {
        return network(workload, kind, ReferenceNetworks.QUADRATIC_RELU_FIT);
    }

    private static PlanTensor output(final Plan plan, final String step)
    {
        for (final PlanStep s : plan.steps())
        {
            if (s.name().equals(step))
            {
                return plan.tensor(s.output());
            }
        }
        throw new AssertionError("no step " + step + " in " + plan.describe());
    }

    private static List<String> names(final Plan plan)
    {
        final List<String> names = new ArrayList<>();
        plan.steps().forEach(s -> names.add(s.name()));
        return names;
    }

    @Test
    void scalesGrowWithoutTruncationsWhileTheBudgetAllows()
    {
        final Plan plan = PlanCompiler.compile(network(Workload.MLP, ActivationKind.POLY), 12).plan();
        // input 12 -> fc1 36 (weights at 2f: act1 truncates its input in its opening anyway) -> act1 43 -> fc2 55 ->
        // act2 (truncates 55 in its opening) 43 -> fc3 55, then the logits are truncated to f. 43 = 62 - 4 (headroom)
        // - 3 (B = 5) - 12: the most the next layer's output allows, so fc2's and fc3's weights have only f left.
        assertEquals(12, plan.tensor(plan.inputTensor()).scale());
        assertEquals(36, output(plan, "fc1").scale());
        assertEquals(24, ((PlanStep.Dense)plan.steps().get(1)).weightScale());
        assertEquals(12, ((PlanStep.Dense)plan.steps().get(3)).weightScale());
        assertEquals(12, ((PlanStep.Dense)plan.steps().get(5)).weightScale());
        assertEquals(43, output(plan, "act1").scale());
        assertEquals(55, output(plan, "fc2").scale());
        assertEquals(43, output(plan, "act2").scale());
        assertEquals(55, output(plan, "fc3").scale());
        assertEquals(List.of("flatten", "fc1", "act1", "fc2", "act2", "fc3", "trunc:fc3"), names(plan));
        final PlanStep.Truncate last = (PlanStep.Truncate)plan.steps().getLast();
        assertEquals(43, last.shift());
        assertEquals(12, plan.tensor(plan.outputTensor()).scale());
        final PlanStep.Activation act2 = (PlanStep.Activation)plan.steps().get(4);
        // a_1 = 1/2 needs 1 bit, so power 1 keeps 42 (shift 13); a_2 = 3/32 needs 5, so x^2 keeps 19 bits (shift 36),
        // against 12 in the standard 3f layout.
        assertArrayEquals(new int[]{13, 36}, act2.copyShifts());
        assertArrayEquals(new int[]{1, 2}, act2.copyDegrees());
        final PlanStep.Activation act1 = (PlanStep.Activation)plan.steps().get(2);
        // Power 1 rides on x^2's copy (19 bits, at least f, of fc1's output at 36): no extra material, and an
        // activation that never reads z has its mask folded into fc1.
        assertEquals(0, act1.powerSource(1));
        assertEquals(0, act1.powerSource(2));
        assertArrayEquals(new int[]{36 - 19}, act1.copyShifts());
        assertArrayEquals(new int[]{2}, act1.copyDegrees());
        for (final PlanTensor t : plan.tensors())
        {
            assertTrue(PlanCompiler.fits(t.scale(), t.bound()), t + " breaks the budget");
        }
    }

    @Test
    void atSixteenBitsADyadicQuadraticKeepsOneRoundWhereOtherPolynomialsAreTruncatedBeforeTheNextLayer()
    {
        final Plan dyadic = PlanCompiler.compile(network(Workload.MLP, ActivationKind.POLY), 16).plan();
        // 62 - 4 - 3 - 16 = 39 leaves x^2 (a_2 = 3/32) 17 bits, one more than at 3f: one round, no truncation.
        assertEquals(List.of("flatten", "fc1", "act1", "fc2", "act2", "fc3", "trunc:fc3"), names(dyadic));
        assertEquals(39, output(dyadic, "act1").scale());
        assertEquals(55, output(dyadic, "fc2").scale());

        final Plan plan = PlanCompiler.compile(network(Workload.MLP, ActivationKind.POLY, NOT_DYADIC), 16).plan();
        // a_2 = 0.3 needs all 16 bits: within 39 x^2 would keep 11 instead of 16, so fc2 must truncate its input.
        // Since it does, the output takes what its own bound for inputs up to 2B (0.45 + 5 + 30 = 35.45: 6 bits)
        // leaves: 62 - 4 - 6 = 52, where x^2 keeps floor((52 - 16) / 2) = 18 bits instead of 16 at 3f, same round.
        assertEquals(List.of("flatten", "fc1", "act1", "trunc:act1", "fc2", "act2", "trunc:act2", "fc3", "trunc:fc3"),
            names(plan));
        assertEquals(52, output(plan, "act1").scale());
        assertEquals(36, ((PlanStep.Truncate)plan.steps().get(3)).shift(), "52 back to f = 16");
        assertEquals(16, output(plan, "trunc:act1").scale());
        assertEquals(48, output(plan, "fc2").scale(), "weights at 2f: act2 truncates its input anyway");
        final PlanStep.Activation notDyadic = (PlanStep.Activation)plan.steps().get(2);
        assertEquals(0, notDyadic.powerSource(1), "power 1 from x^2's copy (18 bits)");
        assertArrayEquals(new int[]{48 - 18}, notDyadic.copyShifts(), "of fc1's output at 3f");

        // PILLAR's x^4 (a_4 = -3/1024) would keep 7 bits within 39 instead of 8 at 3f: truncated too, and at 52
        // (bound 50.2 at 2B: 6 bits) x^4 keeps floor((52 - 10) / 4) = 10 bits and x^2 (a_2 = 5/32) floor(47 / 2) = 23.
        final Plan pillar = PlanCompiler.compile(network(Workload.MLP, ActivationKind.POLY,
            ReferenceNetworks.PILLAR_DEGREE4), 16).plan();
        assertTrue(names(pillar).contains("trunc:act1"), names(pillar).toString());
        assertEquals(52, output(pillar, "act1").scale());
        final PlanStep.Activation act1 = (PlanStep.Activation)pillar.steps().get(names(pillar).indexOf("act1"));
        assertArrayEquals(new int[]{48 - 23, 48 - 10}, act1.copyShifts());
        assertArrayEquals(new int[]{2, 4}, act1.copyDegrees());
        assertEquals(0, act1.powerSource(1), "power 1 from the finer copy, x^2's");
        assertEquals(0, act1.directMultiplier());
        for (final PlanTensor t : pillar.tensors())
        {
            assertTrue(PlanCompiler.fits(t.scale(), t.bound()), t + " breaks the budget");
        }
    }

    @Test
    void atTwelveBitsPillarsDyadicCoefficientsGiveItsCopiesTheBitsTheyDoNotNeed()
    {
        final Plan plan = PlanCompiler.compile(network(Workload.MLP, ActivationKind.POLY,
            ReferenceNetworks.PILLAR_DEGREE4), 12).plan();
        final PlanStep.Activation act1 = (PlanStep.Activation)plan.steps().get(names(plan).indexOf("act1"));
        assertEquals(43, act1.outputScale());
        // z at 36 (fc1's weights at 2f): x^2 (a_2 = 5/32, 5 bits) keeps floor(38 / 2) = 19 bits, x^4 (a_4 =
        // -3/1024, 10 bits) floor(33 / 4) = 8, against 12 and 6 bits at 3f. Power 1 rides on x^2's copy.
        assertEquals(0, act1.powerSource(1));
        assertArrayEquals(new int[]{36 - 19, 36 - 8}, act1.copyShifts());
        assertArrayEquals(new int[]{2, 4}, act1.copyDegrees());
        assertEquals(PlanStep.Activation.SKIPPED, act1.powerSource(3));
        // Every term lands on 43 exactly: x (19 bits) times 1/2 at 24, x^2 (38) times 5/32 at 5, x^4 (32) times
        // -3/1024 at 11 (enc_12 = -12, shifted right by one: its zero bit).
        assertEquals(1L << 23, act1.multiplier(1));
        assertEquals(5, act1.multiplier(2));
        assertEquals(-6, act1.multiplier(4));
        assertFalse(names(plan).stream().anyMatch(n -> n.startsWith("trunc:act")), names(plan).toString());
    }

    @Test
    void wideWeightsCostNoRoundInAnyPillarNetwork()
    {
        for (final Workload w : List.of(Workload.MLP, Workload.LENET, Workload.MINIONN))
        {
            final Plan plan = PlanCompiler.compile(network(w, ActivationKind.POLY, ReferenceNetworks.PILLAR_DEGREE4),
                12).plan();
            final List<String> names = names(plan);
            final List<PlanStep.Linear> linear = new ArrayList<>();
            long activations = 0;
            for (final PlanStep s : plan.steps())
            {
                if (s instanceof PlanStep.Linear l)
                {
                    linear.add(l);
                }
                activations += s instanceof PlanStep.Activation ? 1 : 0;
            }
            // The first layer is read only by a polynomial, which truncates it in its opening: 2f for free. The others
            // read a polynomial's output, sized so that f-bit weights just fit: they keep f and need no truncation.
            assertEquals(24, linear.getFirst().weightScale(), w + ": " + names);
            linear.subList(1, linear.size()).forEach(l -> assertEquals(12, l.weightScale(), w + " " + l.name()));
            assertEquals(1, names.stream().filter(n -> n.startsWith("trunc:")).count(), w + ": " + names);
            assertTrue(names.getLast().startsWith("trunc:"), "only the logits are truncated: " + names);
            assertEquals(linear.size() + activations + 1 + 2, plan.onlineRounds(1),
                w + ": one round per linear layer and activation, the logits' truncation, the input and the output");
        }
        // At f = 16 the same W3 truncates after every activation (x^4 would keep 7 bits within the next layer's
        // budget, fewer than at 3f): the 25 rounds a trained W3 PILLAR model takes at f = 16, which is why their
        // headers now recommend f = 12 (FractionChoice).
        final Plan sixteen = PlanCompiler.compile(network(Workload.MINIONN, ActivationKind.POLY,
            ReferenceNetworks.PILLAR_DEGREE4), 16).plan();
        assertEquals(8, names(sixteen).stream().filter(n -> n.startsWith("trunc:")).count(), names(sixteen).toString());
    }

    @Test
    void aTruncationGoesAfterThePoolWhereTheTensorIsSmaller()
    {
        final Plan plan = PlanCompiler.compile(network(Workload.LENET, ActivationKind.POLY, NOT_DYADIC), 16).plan();
        final List<String> names = names(plan);
        // act1 (62 - 4 - 6 bits of its bound at 2B - 2 of the pool = 50) -> pool1 (sum of 4: 52) -> conv2 would be
        // 68: the pooled tensor is truncated, not act1.
        assertTrue(names.indexOf("trunc:pool1") == names.indexOf("pool1") + 1, names.toString());
        assertFalse(names.contains("trunc:act1"), names.toString());
        assertEquals(50, output(plan, "act1").scale());
        assertEquals(52, output(plan, "pool1").scale());
        final PlanStep.SumPool pool = (PlanStep.SumPool)plan.steps().get(names.indexOf("pool1"));
        assertEquals(1, pool.multiplier(), "a power-of-two area is only a change of scale");

        // A dyadic polynomial's output is sized for the pool's 2 bits and conv2's 16: no truncation at all.
        final Plan dyadic = PlanCompiler.compile(network(Workload.LENET, ActivationKind.POLY), 16).plan();
        assertEquals(37, output(dyadic, "act1").scale());
        assertEquals(39, output(dyadic, "pool1").scale());
        assertEquals(55, output(dyadic, "conv2").scale());
        assertTrue(names(dyadic).stream().noneMatch(n -> n.startsWith("trunc:") && !n.equals("trunc:fc4")),
            names(dyadic).toString());
    }

    @Test
    void channelPolyIsFoldedIntoTheNextLinearLayer()
    {
        final CompiledModel model = PlanCompiler.compile(network(Workload.MINIONN_FASHION,
            ActivationKind.CHANNEL_POLY), 12);
        final Plan plan = model.plan();
        final PlanStep.Activation act1 = (PlanStep.Activation)plan.steps().get(names(plan).indexOf("act1"));
        assertEquals(PlanStep.Activation.Kind.POWERS, act1.kind());
        assertTrue(act1.ones(), "conv2 pads, so the constant term travels in a channel of ones");
        assertEquals(24, output(plan, "act1").scale());
        assertArrayEquals(new int[]{2 * 64 + 1, 32, 32}, output(plan, "act1").shape());
        final PlanStep.Conv conv2 = (PlanStep.Conv)plan.steps().get(names(plan).indexOf("conv2"));
        assertEquals(2 * 64 + 1, conv2.inChannels());
        final PlanStep.Activation act7 = (PlanStep.Activation)plan.steps().get(names(plan).indexOf("act7"));
        assertFalse(act7.ones(), "fc8 is dense: its bias takes the constant term");
        final PlanStep.Dense fc8 = (PlanStep.Dense)plan.steps().get(names(plan).indexOf("fc8"));
        assertEquals(2 * 1024, fc8.inFeatures());
        assertTrue(model.hasBias(fc8.linearIndex()));
        // Folded weights take 2f = 24 bits (the budget leaves 62 - 4 - 3 - 24 = 31 above the powers at 2f), and so
        // do conv1's, whose reader act1 truncates its input in its opening anyway; the folded output lands at 2f + 2f.
        assertEquals(24, conv2.weightScale());
        assertEquals(48, output(plan, "conv2").scale());
        assertEquals(24, fc8.weightScale());
        final PlanStep.Conv conv1 = (PlanStep.Conv)plan.steps().get(names(plan).indexOf("conv1"));
        assertEquals(24, conv1.weightScale());
    }

    @Test
    void foldedWeightsKeepTheirPrecisionAgainstLargePowers()
    {
        // Trained HerPN: coefficients ~1e-3 folded into weights ~0.5, powers of inputs up to 20 (B = 32). Folded
        // weights at f = 12 would each be off by up to 2^-13, a tenth of their size, against x^2 up to 400 (measured:
        // an output off by 0.012). At 2f the powers' own copies dominate and the outputs stay within 1e-3.
        final SplittableRandom r = new SplittableRandom(SEED);
        final Shape in = Shape.of(1, 4, 4);
        final int channels = 3;
        final float[] a = new float[channels * 3];
        for (int i = 0; i < a.length; i++)
        {
            a[i] = (float)r.nextDouble(-2e-3, 2e-3);
        }
        final ModelGraph g = ModelGraph.builder(new ModelHeader("herpn-small", in, List.of(), 12, 32f)).input("x", in)
            .add("conv1", Layer.Conv2d.of(random(r, Shape.of(channels, 1, 3, 3), 4), null, 1, 0), "x")
            .add("act1", new Layer.ChannelPoly(Tensor.of(Shape.of(channels, 3), a)), "conv1")
            .add("flat", new Layer.Flatten(), "act1")
            .add("fc2", Layer.Linear.of(random(r, Shape.of(5, channels * 4), 0.5), random(r, Shape.of(5), 0.1)),
                "flat")
            .output("fc2").build();
        final CompiledModel model = PlanCompiler.compile(g, 12);
        final PlanStep.Dense fc2 = (PlanStep.Dense)model.plan().steps().get(names(model.plan()).indexOf("fc2"));
        assertEquals(24, fc2.weightScale());
        final int items = 64;
        final float[] x = new float[items * in.size()];
        for (int i = 0; i < x.length; i++)
        {
            x[i] = (float)r.nextDouble(-1, 1);
        }
        final double[] fixed = FixedPointInference.of(g).run(x, items).logits();
        final double[] largestPower = new double[1];
        final float[] floats = FloatInference.of(g).run(x, items, (node, values, n) ->
        {
            if (node.equals("conv1"))
            {
                for (final float v : values)
                {
                    largestPower[0] = Math.max(largestPower[0], (double)v * v);
                }
            }
        }).logits();
        assertTrue(largestPower[0] > 100, "the test needs large powers: x^2 reaches only " + largestPower[0]);
        for (int i = 0; i < fixed.length; i++)
        {
            assertEquals(floats[i], fixed[i], 1e-3, "output " + i);
        }
    }

    @Test
    void foldedHerPnEqualsTheFloatNetworkIncludingTheZeroPaddedBorders()
    {
        // conv (pad 1) -> ChannelPoly with a large constant term -> conv (pad 1): a wrong border would show at once.
        final SplittableRandom r = new SplittableRandom(SEED);
        final Shape in = Shape.of(2, 6, 5);
        final ModelGraph g = ModelGraph.builder(new ModelHeader("herpn", in, List.of(), 16, 5f)).input("x", in)
            .add("conv1", Layer.Conv2d.of(random(r, Shape.of(3, 2, 3, 3), 0.5), random(r, Shape.of(3), 0.2), 1, 1),
                "x")
            .add("act1", new Layer.ChannelPoly(Tensor.of(Shape.of(3, 3), 1.5f, 0.5f, 0.1f, -2f, 0.25f, 0.05f, 0.75f,
                -0.5f, 0.2f)), "conv1")
            .add("conv2", Layer.Conv2d.of(random(r, Shape.of(4, 3, 3, 3), 0.5), null, 1, 1), "act1")
            .add("flat", new Layer.Flatten(), "conv2")
            .output("flat").build();
        final CompiledModel model = PlanCompiler.compile(g, 16);
        assertEquals(PlanStep.Activation.Kind.POWERS, ((PlanStep.Activation)model.plan().steps().get(1)).kind());
        final int items = 3;
        final float[] x = new float[items * in.size()];
        for (int i = 0; i < x.length; i++)
        {
            x[i] = (float)r.nextDouble(-1, 1);
        }
        final double[] fixed = FixedPointInference.of(g).run(x, items).logits();
        final float[] floats = FloatInference.of(g).run(x, items).logits();
        for (int i = 0; i < fixed.length; i++)
        {
            assertEquals(floats[i], fixed[i], 1e-3, "output " + i);
        }
    }

    @Test
    void aPolynomialThatWouldBreakTheBudgetIsSplitInTwoRounds()
    {
        final CompiledModel model = PlanCompiler.compile(network(Workload.MLP, ActivationKind.POLY, NOT_DYADIC), 20);
        final List<String> names = names(model.plan());
        // 3f = 60 leaves no room: powers at 2f, truncated to f, then the coefficients (a local step).
        assertTrue(names.containsAll(List.of("act1", "trunc:act1", "act1.combine")), names.toString());
        final PlanStep.Activation powers = (PlanStep.Activation)model.plan().steps().get(names.indexOf("act1"));
        assertEquals(PlanStep.Activation.Kind.POWERS, powers.kind());
        assertEquals(40, output(model.plan(), "act1.combine").scale());
    }

    @Test
    void theHashCoversThePublicStructureOnly()
    {
        final Plan a = PlanCompiler.compile(network(Workload.LENET, ActivationKind.POLY), 12).plan();
        final Plan again = PlanCompiler.compile(network(Workload.LENET, ActivationKind.POLY), 12).plan();
        assertEquals(a.hashHex(), again.hashHex());
        assertEquals(64, a.hashHex().length());
        final ModelGraph otherWeights = GraphTransforms.foldBatchNorm(ReferenceNetworks.build(Workload.LENET,
            ReferenceNetworks.Options.of(ActivationKind.POLY).withBatchNorm(true).withSeed(SEED + 1)));
        assertEquals(a.hashHex(), PlanCompiler.compile(otherWeights, 12).plan().hashHex(),
            "the weights are the server's: they must not enter the public plan");
        assertNotEquals(a.hashHex(), PlanCompiler.compile(network(Workload.LENET, ActivationKind.POLY), 16).plan()
            .hashHex());
        assertNotEquals(a.hashHex(), PlanCompiler.compile(network(Workload.LENET, ActivationKind.POLY,
            ReferenceNetworks.PILLAR_DEGREE4), 12).plan().hashHex());
        assertTrue(a.describe().startsWith("polypi plan 1\narchitecture lenet\nf 12"), a.describe());
    }

    @Test
    void predictedCostsFollowTheFormulas()
    {
        final Plan plan = PlanCompiler.compile(network(Workload.MLP, ActivationKind.POLY), 12).plan();
        final int batch = 4;
        long online = 0;
        long rounds = 0;
        long dealer = 0;
        long setup = 0;
        for (final StepCost c : plan.predictedCosts(batch))
        {
            switch (c.phase())
            {
                case Plan.ONLINE ->
                {
                    online += c.serverToClient();
                    rounds += c.rounds();
                }
                case Plan.OFFLINE -> dealer += c.dealerToServer();
                default -> setup += c.serverToClient();
            }
        }
        // openings: fc1 784, act1 128, fc2 128, act2 128, fc3 128, trunc 10; output 10 (server only)
        assertEquals(8L * batch * (784 + 128 + 128 + 128 + 128 + 10 + 10), online);
        // input, fc1, act1, fc2, act2, fc3, trunc, output
        assertEquals(8, rounds);
        // triples C_0 (128, 128, 10); act1 one copy of degree 2 at a shift of 1-32 bits, whose two differences
        // share a word (2 + 1 words, CandidateDifferences); act2 copies of degree 1 (1 + 1) and of degree 2 at 36
        // bits, too many for a lane (2 + 2); the truncation pair; each of the six pieces with an 8-byte trailer
        final PlanStep.Activation act1 = (PlanStep.Activation)plan.steps().get(names(plan).indexOf("act1"));
        final PlanStep.Activation act2 = (PlanStep.Activation)plan.steps().get(names(plan).indexOf("act2"));
        assertArrayEquals(new int[]{2}, act1.copyDegrees());
        assertTrue(CandidateDifferences.packed(act1.copyShifts()[0], 2), "act1's copy at shift " +
            act1.copyShifts()[0]);
        assertArrayEquals(new int[]{13, 36}, act2.copyShifts());
        assertEquals(8L * batch * (128 + 128 + 10) + 8L * batch * 128 * ((2 + 1) + (1 + 1) + (2 + 2)) +
            8L * batch * 10 * 2 + 8 * 6, dealer);
        assertEquals(Plan.HANDSHAKE_BYTES + 8L * (784 * 128 + 128 * 128 + 128 * 10), setup);
    }

    @Test
    void errorsNameTheNode()
    {
        final ModelGraph withBatchNorm = ReferenceNetworks.build(Workload.MLP, ReferenceNetworks.Options.of(
            ActivationKind.POLY).withBatchNorm(true));
        final IllegalArgumentException bn = assertThrows(IllegalArgumentException.class,
            () -> PlanCompiler.compile(withBatchNorm, 12));
        assertTrue(bn.getMessage().contains("bn1") && bn.getMessage().contains("foldBatchNorm"), bn.getMessage());
        final IllegalArgumentException bits = assertThrows(IllegalArgumentException.class,
            () -> PlanCompiler.compile(network(Workload.MLP, ActivationKind.POLY), 0));
        assertTrue(bits.getMessage().contains("fractionalBits"), bits.getMessage());
        // f = 28: fc1's output at 56 cannot hold values up to 5 with 4 bits of headroom, even from scale f.
        final IllegalArgumentException budget = assertThrows(IllegalArgumentException.class,
            () -> PlanCompiler.compile(network(Workload.MLP, ActivationKind.POLY), 28));
        assertTrue(budget.getMessage().contains("fc1") && budget.getMessage().contains("budget"),
            budget.getMessage());
    }

    @Test
    void boundBitsAndTheBudget()
    {
        assertEquals(0, PlanCompiler.boundBits(0.5));
        assertEquals(0, PlanCompiler.boundBits(1));
        assertEquals(3, PlanCompiler.boundBits(5));
        assertEquals(3, PlanCompiler.boundBits(8));
        assertEquals(4, PlanCompiler.boundBits(8.5));
        assertTrue(PlanCompiler.fits(55, 5));
        assertFalse(PlanCompiler.fits(56, 5));
    }

    private static Tensor random(final SplittableRandom r, final Shape shape, final double bound)
    {
        final float[] v = new float[shape.size()];
        for (int i = 0; i < v.length; i++)
        {
            v[i] = (float)r.nextDouble(-bound, bound);
        }
        return Tensor.of(shape, v);
    }

    /** {@code g} with statistics at every measurable site: max |x| {@code beyond} at one site, B/2 elsewhere. */
    private static ModelGraph measured(final ModelGraph g, final String beyondSite, final float beyond)
    {
        final float bound = g.header().activationBound();
        final List<ActivationStatistics.Site> sites = new ArrayList<>();
        for (final Node n : g.nodes())
        {
            if (ActivationStatistics.isSiteLayer(n.layer()))
            {
                final boolean out = n.name().equals(beyondSite);
                sites.add(new ActivationStatistics.Site(n.name(), g.shape(n.name()).elements(), out ? 1 : 0,
                    out ? beyond : bound / 2, bound));
            }
        }
        return g.withHeader(g.header().withStatistics(new ActivationStatistics(1, sites)));
    }

    @Test
    void observedRangesComeFromTheStatisticsAndStayOutOfTheHash()
    {
        for (final ActivationKind kind : List.of(ActivationKind.POLY, ActivationKind.CHANNEL_POLY,
            ActivationKind.RELU))
        {
            final ModelGraph g = network(Workload.LENET, kind);
            final Plan plain = PlanCompiler.compile(g, 16).plan();
            assertTrue(plain.observedRanges().isEmpty(), "a model without statistics has no observed ranges");
            final String site = g.nodes().stream().filter(n -> ActivationStatistics.isSiteLayer(n.layer()))
                .skip(1).findFirst().orElseThrow().name();
            final float bound = g.header().activationBound();
            final Plan over = PlanCompiler.compile(measured(g, site, bound * 1.5f), 16).plan();
            final Plan at = PlanCompiler.compile(measured(g, site, bound), 16).plan();
            // diagnostics only: the computation, and so the description and hash, are those of the plain model
            assertEquals(plain.describe(), over.describe());
            assertArrayEquals(plain.hash(), over.hash());
            assertEquals(g.nodes().stream().filter(n -> ActivationStatistics.isSiteLayer(n.layer())).map(Node::name)
                .toList(), over.observedRanges().stream().map(Plan.ObservedRange::node).toList(),
                "every site, in order");
            final boolean polynomial = kind != ActivationKind.RELU;
            for (final Plan.ObservedRange r : over.observedRanges())
            {
                assertEquals(polynomial, r.polynomial(), r.node());
                assertEquals(!r.node().equals(site), r.withinBound(), r.node());
                assertEquals(r.node().equals(site) ? bound * 1.5f : bound / 2, r.maxAbs(), 0.0f, r.node());
                assertEquals(r.node().equals(site) ? 1 : 0, r.outside());
            }
            assertTrue(at.observedRanges().stream().allMatch(Plan.ObservedRange::withinBound),
                "max |x| equal to the bound is within it");
            assertEquals(polynomial, over.polynomialBeyondBound(), kind.toString());
            assertFalse(at.polynomialBeyondBound());
        }
    }
}
