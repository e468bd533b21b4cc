package org.polypi.engine.secure;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.polypi.datasets.Dataset;
import org.polypi.engine.plan.CompiledModel;
import org.polypi.engine.plan.LocalSteps;
import org.polypi.engine.plan.Plan;
import org.polypi.engine.plan.PlanCompiler;
import org.polypi.engine.plan.PlanStep;
import org.polypi.engine.transport.Party;
import org.polypi.kernels.Kernels;
import org.polypi.model.Layer;
import org.polypi.model.ModelGraph;
import org.polypi.model.ModelHeader;
import org.polypi.model.Shape;
import org.polypi.model.Tensor;
import org.polypi.model.ReferenceNetworks.Workload;
import org.polypi.model.reference.FixedPointInference;
import org.polypi.model.reference.FixedPointOutput;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Secure == reference bit for bit, step by step: both parties' shares of every step's output are recorded and
 * added, and each step's secure output is compared with the reference step applied to the secure input. Linear and
 * local steps must be exact; a truncation must be the floor or the floor + 1 of every element (the reference rounds
 * to nearest, which is one of the two); an activation must equal the plan's evaluation of its floor copies with some
 * carry (0 or 1) per copy and element (the reference: the carries of rounding to nearest). So the secure engine
 * differs from the plaintext reference only by the documented faithful-truncation ulps, where they occur.
 * Also W4 (resnet18, POLY) on one image, whose top-1 must equal the reference's. Every run's measured rounds and
 * bytes equal the plan's formulas, step by step.
 */
final class SecureTraceTest
{
    static Stream<Arguments> configurations()
    {
        return Stream.of(
            Arguments.of(Workload.MLP, TestData.Act.POLY2, 12, 3),
            Arguments.of(Workload.MLP, TestData.Act.PILLAR4, 16, 2),
            Arguments.of(Workload.LENET, TestData.Act.PILLAR4, 16, 2),
            Arguments.of(Workload.LENET, TestData.Act.CHANNEL, 16, 2),
            Arguments.of(Workload.MINIONN_FASHION, TestData.Act.CHANNEL, 12, 1),
            Arguments.of(Workload.LENET, TestData.Act.MASKED, 12, 2),
            Arguments.of(Workload.RESNET18, TestData.Act.POLY2, 12, 1));
    }

    @ParameterizedTest(name = "{0} {1} f={2}")
    @MethodSource("configurations")
    void everyStepIsTheReferenceStepUpToFaithfulCarries(final Workload workload, final TestData.Act act, final int f,
                                                        final int batch)
    {
        final CompiledModel model = TestData.model(workload, act, f);
        check(model, inputs(workload, batch, model), batch, workload.id() + " " + act + " f=" + f,
            TestData.seed(workload.ordinal()));
    }

    /** ReLU, max-pool 3x3/2 with padding, a residual Add and a masked ReLU in one small network. */
    @Test
    void comparisonLayersAreExactGivenTheirInputs()
    {
        final SplittableRandom r = new SplittableRandom(11);
        final Shape in = Shape.of(1, 12, 12);
        final float[] mask = new float[4 * 6 * 6];
        for (int i = 0; i < mask.length; i++)
        {
            mask[i] = r.nextBoolean() ? 1f : 0f;
        }
        final ModelGraph g = ModelGraph.builder(new ModelHeader("comparisons", in, List.of(), 12, 5f)).input("x", in)
            .add("conv1", Layer.Conv2d.of(random(r, Shape.of(4, 1, 3, 3), 0.6), random(r, Shape.of(4), 0.1), 1, 1), "x")
            .add("relu1", new Layer.ReLU(), "conv1")
            .add("max", new Layer.MaxPool2d(3, 2, 1), "relu1")
            .add("conv2", Layer.Conv2d.of(random(r, Shape.of(4, 4, 3, 3), 0.3), null, 1, 1), "max")
            .add("res", new Layer.Add(), "conv2", "max")
            .add("masked", new Layer.MaskedReLU(Tensor.of(Shape.of(4, 6, 6), mask)), "res")
            .add("flat", new Layer.Flatten(), "masked")
            .add("fc", Layer.Linear.of(random(r, Shape.of(10, 144), 0.2), random(r, Shape.of(10), 0.1)), "flat")
            .output("fc").build();
        final int batch = 3;
        final float[] x = new float[batch * in.size()];
        for (int i = 0; i < x.length; i++)
        {
            x[i] = (float)r.nextDouble(-2, 2);
        }
        check(PlanCompiler.compile(g, 16), x, batch, "comparisons f=16", TestData.seed(99));
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

    private static void check(final CompiledModel model, final float[] x, final int batch, final String label,
                              final byte[] dealerSeed)
    {
        final Plan plan = model.plan();
        final Map<String, long[]> shares = new ConcurrentHashMap<>();
        final StepObserver recorder = (party, query, step, share) ->
            shares.put(party + "/" + step, share.toArray());
        final InferenceResult secure;
        try (InMemorySession session = InMemorySession.start(model, SessionOptions.of(batch)
            .withDealerSeed(dealerSeed).withObserver(recorder)))
        {
            secure = session.infer(x, batch);
        }
        // Rounds and bytes of every step (max-pool levels, residual adds and masked ReLUs included) as documented.
        SecureAgreementTest.assertCostsMatch(model.plan(), batch, secure);
        final long[][] values = new long[plan.tensors().size()][];
        values[plan.inputTensor()] = open(shares, StepObserver.INPUT_STEP);
        final FixedPointInference reference = FixedPointInference.of(model, Kernels.get(), batch);
        assertArrayEquals(reference.trace(x, batch)[plan.inputTensor()], values[plan.inputTensor()],
            "the shared input opens to the reference's encoding");
        int carries = 0;
        for (int i = 0; i < plan.steps().size(); i++)
        {
            final PlanStep step = plan.steps().get(i);
            final long[] got = open(shares, i);
            final long[] expected = reference.evaluateStep(i, values, batch);
            assertEquals(expected.length, got.length, step.name());
            carries += switch (step)
            {
                case PlanStep.Truncate t -> checkTruncation(t, values[t.inputs()[0]], expected, got);
                case PlanStep.Activation a -> checkActivation(a, values[a.inputs()[0]], expected, got, batch);
                default ->
                {
                    assertArrayEquals(expected, got, step.name() + " must be exact");
                    yield 0;
                }
            };
            values[step.output()] = got;
        }
        final FixedPointOutput out = secure.output();
        assertArrayEquals(values[plan.outputTensor()], out.ringLogits(), "the client's logits are the opened output");
        assertTrue(carries > 0, "some faithful truncation must have carried, or the test cannot tell floor from +1");
        final FixedPointOutput ref = reference.run(x, batch);
        assertArrayEquals(ref.top1(), out.top1(), "top-1");
        System.out.printf("%s: %d steps checked, %d carries, logits %s vs reference %s%n", label,
            plan.steps().size(), carries, Arrays.toString(Arrays.copyOf(out.ringLogits(), 5)),
            Arrays.toString(Arrays.copyOf(ref.ringLogits(), 5)));
    }

    private static float[] inputs(final Workload workload, final int batch, final CompiledModel model)
    {
        if (workload == Workload.RESNET18)
        {
            // A CIFAR-sized input: the Fashion-MNIST image padded to 32x32, repeated on three channels.
            final float[] one = TestData.images(Workload.MINIONN_FASHION, batch).toFloatArray();
            final float[] x = new float[model.plan().inputElements() * batch];
            for (int i = 0; i < x.length; i++)
            {
                x[i] = one[i % one.length];
            }
            return x;
        }
        final Dataset data = TestData.images(workload, batch);
        return data.toFloatArray();
    }

    private static long[] open(final Map<String, long[]> shares, final int step)
    {
        final long[] s = shares.get(Party.SERVER + "/" + step);
        final long[] c = shares.get(Party.CLIENT + "/" + step);
        assertTrue(s != null && c != null, "both parties must report step " + step);
        final long[] v = new long[s.length];
        for (int i = 0; i < v.length; i++)
        {
            v[i] = s[i] + c[i];
        }
        return v;
    }

    /**
     * Every element is the floor or the floor + 1 of the secure input's, and the reference step on that input is its
     * rounding to nearest (ties up); returns the number of + 1.
     */
    private static int checkTruncation(final PlanStep.Truncate t, final long[] input, final long[] reference,
                                       final long[] got)
    {
        int ups = 0;
        for (int i = 0; i < got.length; i++)
        {
            final long floor = input[i] >> t.shift();
            final long d = got[i] - floor;
            if (d != 0 && d != 1)
            {
                fail(t.name() + " element " + i + ": " + got[i] + " is neither the floor " + floor + " nor + 1");
            }
            assertEquals(LocalSteps.roundShift(input[i], t.shift()), reference[i], t.name() + " element " + i +
                ": the reference rounds " + input[i] + " to nearest");
            ups += (int)d;
        }
        return ups;
    }

    /**
     * Each input element's outputs equal the plan's evaluation with one carry pattern over the copies (the same for
     * all of the element's outputs), and the reference's are that evaluation with the carries of rounding to nearest;
     * returns how many elements needed a nonzero pattern.
     */
    private static int checkActivation(final PlanStep.Activation a, final long[] z, final long[] reference,
                                       final long[] got, final int batch)
    {
        final int in = a.inputElements();
        final int out = a.outputElements();
        final int patterns = 1 << a.copies();
        int carried = 0;
        for (int b = 0; b < batch; b++)
        {
            for (int e = 0; e < in; e++)
            {
                final long zi = z[b * in + e];
                assertTrue(matches(a, zi, reference, b * out, e, a.nearestCarries(zi)), a.name() + " item " + b +
                    " element " + e + ": the reference is the plan's evaluation of the copies rounded to nearest");
                int match = -1;
                for (int carries = 0; carries < patterns && match < 0; carries++)
                {
                    if (matches(a, zi, got, b * out, e, carries))
                    {
                        match = carries;
                    }
                }
                if (match < 0)
                {
                    fail(a.name() + " item " + b + " element " + e + " (z = " + zi + "): no carry pattern over " +
                        a.copies() + " copies gives the secure output");
                }
                carried += match != 0 ? 1 : 0;
            }
            if (a.kind() == PlanStep.Activation.Kind.POWERS && a.ones())
            {
                for (int p = 0; p < a.mapSize(); p++)
                {
                    assertEquals(a.oneValue(), got[b * out + a.degree() * in + p], a.name() + " ones channel");
                }
            }
        }
        return carried;
    }

    private static boolean matches(final PlanStep.Activation a, final long z, final long[] got, final int itemOffset,
                                   final int e, final int carries)
    {
        if (a.kind() == PlanStep.Activation.Kind.PUBLIC)
        {
            return got[itemOffset + e] == a.publicValue(z, carries);
        }
        for (int k = 1; k <= a.degree(); k++)
        {
            if (got[itemOffset + (k - 1) * a.inputElements() + e] != a.stackedValue(z, k, carries))
            {
                return false;
            }
        }
        return true;
    }
}
