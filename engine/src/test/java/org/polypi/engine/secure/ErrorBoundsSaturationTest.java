package org.polypi.engine.secure;

import java.io.IOException;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.polypi.datasets.Dataset;
import org.polypi.engine.plan.CompiledModel;
import org.polypi.engine.plan.ErrorBounds;
import org.polypi.engine.plan.Plan;
import org.polypi.engine.plan.PlanCompiler;
import org.polypi.engine.plan.PlanStep;
import org.polypi.kernels.Kernels;
import org.polypi.model.GraphTransforms;
import org.polypi.model.ReferenceNetworks.Workload;
import org.polypi.model.ModelFormat;
import org.polypi.model.reference.FixedPointInference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The per-image bound on a network deep enough to leave the double range: the trained W3 PILLAR model's radii
 * overflow after a few activations (each multiplies them by about {@code 4 (|x| + δ)^3} and the next layer by a row's
 * l1 norm). A saturated radius proves nothing, but it must stay a number: a zero weight or coefficient times
 * infinity is NaN, and before the propagation saturated, NaN reached the logits (and once cast to a bound of 0 ulps).
 */
final class ErrorBoundsSaturationTest
{
    private static final int IMAGES = 2;
    private static final int F = 12;
    private static final float INPUT_GAIN = Float.parseFloat(System.getProperty("gain", "4"));

    @Test
    void aDeepNetworksRadiiSaturateInsteadOfTurningNaN() throws IOException
    {
        final Path file = EndToEndTest.trained(Workload.MINIONN_FASHION, TestData.Act.PILLAR4);
        assertNotNull(file, "the committed trained W3 PILLAR model (trainer/models/w3-pillar4.pim) is missing");
        final CompiledModel model = PlanCompiler.compile(GraphTransforms.foldBatchNorm(ModelFormat.read(file)), F);
        final Plan plan = model.plan();
        final Dataset data = TestData.images(Workload.MINIONN_FASHION, IMAGES);
        final float[] x = data.toFloatArray();
        for (int i = 0; i < x.length; i++)
        {
            x[i] *= INPUT_GAIN;
        }
        final long[][] trace = FixedPointInference.of(model, Kernels.get(), IMAGES).trace(x, IMAGES);
        final double[][] radii = new ErrorBounds(model).radii(trace, IMAGES);

        PlanStep lastLinear = null;
        for (final PlanStep step : plan.steps())
        {
            if (step instanceof PlanStep.Dense || step instanceof PlanStep.Conv)
            {
                lastLinear = step;
            }
        }
        boolean sawActivation = false;
        boolean saturated = false;
        for (final PlanStep step : plan.steps())
        {
            final double[] r = radii[step.output()];
            double max = 0;
            for (final double v : r)
            {
                assertFalse(Double.isNaN(v), "step " + step.name() + " has a NaN radius");
                assertTrue(v >= 0, "step " + step.name() + " has a negative radius " + v);
                max = Math.max(max, v);
            }
            sawActivation |= step instanceof PlanStep.Activation || step instanceof PlanStep.Truncate;
            if (!sawActivation)
            {
                // before the first carry everything is exact: the input is encoded by the client itself
                assertEquals(0.0, max, "step " + step.name() + " precedes every truncation");
            }
            if (max >= Double.MAX_VALUE && !saturated)
            {
                saturated = true;
                assertTrue(step != lastLinear, "the radius saturates only at the last linear step " + step.name() +
                    ": nothing after it multiplies a saturated radius by a zero");
            }
        }
        assertTrue(saturated, "no radius saturated: the model no longer exercises the overflow");
        final ErrorBounds bounds = new ErrorBounds(model);
        final double[] logits = bounds.logitRadius(trace, IMAGES);
        for (final double r : logits)
        {
            assertEquals(Long.MAX_VALUE, bounds.ulps(r), "a saturated logit radius must read as unbounded");
        }
        final int classes = plan.outputElements();
        for (int i = 0; i < IMAGES; i++)
        {
            assertFalse(bounds.top1Guaranteed(trace[plan.outputTensor()], logits, i, classes),
                "image " + i + ": an unbounded radius proves no top-1");
        }
    }
}
