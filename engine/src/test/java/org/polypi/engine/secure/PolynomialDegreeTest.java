package org.polypi.engine.secure;

import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.polypi.datasets.Dataset;
import org.polypi.engine.plan.CompiledModel;
import org.polypi.engine.plan.ErrorBounds;
import org.polypi.engine.plan.Plan;
import org.polypi.engine.plan.PlanCompiler;
import org.polypi.engine.plan.PlanStep;
import org.polypi.engine.plan.PlanTensor;
import org.polypi.kernels.Kernels;
import org.polypi.model.ActivationKind;
import org.polypi.model.GraphTransforms;
import org.polypi.model.Layer;
import org.polypi.model.ReferenceNetworks;
import org.polypi.model.ReferenceNetworks.Workload;
import org.polypi.model.reference.FixedPointInference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Degree 4 (PILLAR) and degree 6 polynomials fit at f = 12 and f = 16: the compiled W1 keeps every tensor within the
 * 62-bit budget (no overflow: {@link PlanCompiler#fits}), every activation is one opening with per-power pre-scaled
 * copies (no split into powers and a combination), and the secure run stays within the proven per-image bound of the
 * reference on every logit, with the top-1 equal wherever the bound proves it, at the plan's costs.
 */
final class PolynomialDegreeTest
{
    /** Every power present, each coefficient representable at f = 12 (|a_k| >= 2^-12). */
    static final Layer.Poly DEGREE6 = Layer.Poly.of(0.25f, 0.5f, 0.125f, 0.0078125f, -0.00390625f, -0.001953125f,
        0.0009765625f);
    private static final int IMAGES = 200;
    private static final int BATCH = 50;

    static Stream<Arguments> configurations()
    {
        return Stream.of(
            Arguments.of(4, 12), Arguments.of(4, 16),
            Arguments.of(6, 12), Arguments.of(6, 16));
    }

    /** The items of {@code inputs} whose every activation input stays within the header's bound B. */
    static float[] withinContract(final CompiledModel model, final float[] inputs, final int count)
    {
        final Plan plan = model.plan();
        final long[][] trace = FixedPointInference.of(model, Kernels.get(), count).trace(inputs, count);
        final double bound = plan.activationBound();
        final int item = plan.inputElements();
        final float[] out = new float[inputs.length];
        int kept = 0;
        for (int i = 0; i < count; i++)
        {
            boolean ok = true;
            for (final PlanStep step : plan.steps())
            {
                if (step instanceof final PlanStep.Activation a)
                {
                    final int size = plan.tensor(a.inputs()[0]).size();
                    final long[] z = trace[a.inputs()[0]];
                    for (int e = 0; ok && e < size; e++)
                    {
                        ok = Math.abs(Math.scalb((double)z[i * size + e], -a.inputScale())) <= bound;
                    }
                }
            }
            if (ok)
            {
                System.arraycopy(inputs, i * item, out, kept * item, item);
                kept++;
            }
        }
        return java.util.Arrays.copyOf(out, kept * item);
    }

    @ParameterizedTest(name = "degree {0} f={1}")
    @MethodSource("configurations")
    void degreeFourAndSixFitAndRunInOneOpeningPerActivation(final int degree, final int f)
    {
        final Layer.Poly poly = degree == 4 ? ReferenceNetworks.PILLAR_DEGREE4 : DEGREE6;
        final ReferenceNetworks.Options o = ReferenceNetworks.Options.of(ActivationKind.POLY)
            .withBatchNorm(true).withSeed(TestData.MODEL_SEED)
            .withFixedPoint(f, ReferenceNetworks.DEFAULT_ACTIVATION_BOUND).withPoly(poly);
        final CompiledModel model = PlanCompiler.compile(
            GraphTransforms.foldBatchNorm(ReferenceNetworks.build(Workload.MLP, o)), f);
        final Plan plan = model.plan();
        for (final PlanTensor t : plan.tensors())
        {
            assertTrue(PlanCompiler.fits(t.scale(), t.bound()), t.name() + " at scale " + t.scale() + " bound " +
                t.bound() + " leaves the 62-bit budget");
        }
        int activations = 0;
        for (final PlanStep step : plan.steps())
        {
            assertTrue(!(step instanceof PlanStep.Combine), "degree " + degree + " at f = " + f + " was split");
            if (step instanceof final PlanStep.Activation a)
            {
                activations++;
                assertEquals(PlanStep.Activation.Kind.PUBLIC, a.kind());
                assertEquals(degree, a.degree());
                assertEquals(1L, plan.onlineRounds(a, BATCH), "one round per activation");
            }
        }
        assertEquals(2, activations);

        final Dataset data = TestData.images(Workload.MLP, IMAGES);
        final float[] all = data.toFloatArray();
        // The model's contract: activation inputs within the header's bound B. Random-weight networks break it on
        // some images, where a degree-6 output (B^6-sized) can leave the ring budget; keep the images that honour it.
        final float[] x = withinContract(model, all, data.count());
        final int n = x.length / plan.inputElements();
        assertTrue(n >= IMAGES / 2, "only " + n + " of " + data.count() + " images keep activation inputs within B");
        final long[][] trace = FixedPointInference.of(model, Kernels.get(), n).trace(x, n);
        final long[] reference = trace[plan.outputTensor()];
        final ErrorBounds bounds = new ErrorBounds(model);
        // a radius past the double range proves nothing: never 0 ulps (a NaN cast to long), always "unbounded"
        assertEquals(Long.MAX_VALUE, bounds.ulps(Double.NaN));
        assertEquals(Long.MAX_VALUE, bounds.ulps(Double.POSITIVE_INFINITY));
        final double[] radius = bounds.logitRadius(trace, n);
        final InferenceResult secure;
        try (InMemorySession s = InMemorySession.start(model, SessionOptions.of(BATCH)
            .withDealerSeed(TestData.seed(degree * 100L + f))))
        {
            secure = s.infer(x, n);
        }
        final long[] logits = secure.output().ringLogits();
        final int classes = plan.outputElements();
        int proven = 0;
        long worst = 0;
        for (int i = 0; i < n; i++)
        {
            for (int c = 0; c < classes; c++)
            {
                final int at = i * classes + c;
                final long diff = Math.abs(logits[at] - reference[at]);
                worst = Math.max(worst, diff);
                assertTrue(diff <= bounds.ulps(radius[at]), "image " + i + " logit " + c + " off by " + diff);
            }
            if (bounds.top1Guaranteed(reference, radius, i, classes))
            {
                proven++;
                int top = 0;
                for (int c = 1; c < classes; c++)
                {
                    top = reference[i * classes + c] > reference[i * classes + top] ? c : top;
                }
                assertEquals(top, secure.top1()[i], "image " + i);
            }
        }
        System.out.printf("degree %d f=%d: %d of %d images within the activation bound, worst logit difference %d " +
            "ulps, top-1 proven on %d%n", degree, f, n, data.count(), worst, proven);
        SecureAgreementTest.assertCostsMatch(plan, BATCH, secure);
    }
}
