package org.polypi.model.reference;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.polypi.datasets.BundledSample;
import org.polypi.datasets.Dataset;
import org.polypi.datasets.DatasetNotFoundException;
import org.polypi.datasets.FashionMnist;
import org.polypi.model.ActivationKind;
import org.polypi.model.GraphTransforms;
import org.polypi.model.Layer;
import org.polypi.model.ModelGraph;
import org.polypi.model.ReferenceNetworks;
import org.polypi.model.ReferenceNetworks.Workload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fixed-point reference against float32 on W1, W2 and W3 (1x32x32) with random seeded weights, BatchNorm before
 * each activation and folded: on 1,000 Fashion-MNIST test images (the bundled 500-image sample if the data set is
 * not installed), the folded model equals the unfolded one in float32 within rounding, and the fixed-point top-1
 * (f = 16) agrees with the float32 top-1 on at least 99.9 % of the images.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
final class ReferenceAgreementTest
{
    private static final int IMAGES = 1000;
    private static final int FRACTIONAL_BITS = 16;
    private static final double MIN_AGREEMENT = 0.999;
    private static final long SEED = 20261123L;
    /** W3's input: the 28x28 images zero-padded by 2 on each side. */
    private static final int MINIONN_PADDING = 2;
    /**
     * Folded vs unfolded float32 logits: both round every product and sum to float, folding rounds the scaled
     * weights once more; through a few layers that is a relative error of a few 1e-6 of the logit scale.
     */
    private static final double FOLD_RELATIVE_TOLERANCE = 1e-4;
    /**
     * Fixed point vs float32 logits: at f = 16 every weight and input is off by up to 2^-17, which on these
     * Kaiming-scaled layers (weights ~ sqrt(3 / fanIn)) is ~1e-4 of the activation scale per layer; measured 1.5e-4
     * to 4e-4, and 16 times less at f = 20. Allow 1e-3 (about 65 units of 2^-16).
     */
    private static final double FIXED_RELATIVE_TOLERANCE = 1e-3;

    private Dataset images;
    private Dataset padded;

    @BeforeAll
    void loadImages()
    {
        Dataset data;
        try
        {
            data = FashionMnist.load(FashionMnist.Split.TEST, FashionMnist.STANDARD_NORMALIZATION);
            data = data.slice(0, Math.min(IMAGES, data.count()));
        }
        catch (final DatasetNotFoundException e)
        {
            data = BundledSample.fashionMnistTest(FashionMnist.STANDARD_NORMALIZATION);
            System.out.println("ReferenceAgreementTest: Fashion-MNIST is not installed (" + e.getMessage() +
                "); using the bundled " + data.count() + "-image sample instead of " + IMAGES + " test images");
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException(e);
        }
        images = data;
        padded = data.pad(MINIONN_PADDING);
    }

    static Stream<Arguments> networks()
    {
        return Stream.of(
            Arguments.of(Workload.MLP, ActivationKind.POLY),
            Arguments.of(Workload.MLP, ActivationKind.RELU),
            Arguments.of(Workload.LENET, ActivationKind.POLY),
            Arguments.of(Workload.LENET, ActivationKind.RELU),
            Arguments.of(Workload.LENET, ActivationKind.CHANNEL_POLY),
            Arguments.of(Workload.LENET, ActivationKind.MASKED_RELU),
            Arguments.of(Workload.MINIONN_FASHION, ActivationKind.POLY),
            Arguments.of(Workload.MINIONN_FASHION, ActivationKind.RELU));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("networks")
    void fixedPointAgreesWithFloatAfterFolding(final Workload workload, final ActivationKind activation)
    {
        final ModelGraph withBatchNorm = ReferenceNetworks.build(workload, ReferenceNetworks.Options.of(activation)
            .withBatchNorm(true).withSeed(SEED).withFixedPoint(FRACTIONAL_BITS,
                ReferenceNetworks.DEFAULT_ACTIVATION_BOUND));
        assertTrue(withBatchNorm.contains(Layer.BatchNorm.class), "the network must be built with BatchNorm");
        final ModelGraph folded = GraphTransforms.foldBatchNorm(withBatchNorm);
        assertFalse(folded.contains(Layer.BatchNorm.class));

        final Dataset data = workload == Workload.MINIONN_FASHION ? padded : images;
        final int n = data.count();
        final float[] x = data.toFloatArray();

        final FloatOutput unfolded = FloatInference.of(withBatchNorm).run(x, n);
        final FloatOutput reference = FloatInference.of(folded).run(x, n);
        final double foldError = maxScaledDifference(unfolded.logits(), reference.logits(), reference.classes());
        assertTrue(foldError <= FOLD_RELATIVE_TOLERANCE, workload.id() + " " + activation +
            ": folded and unfolded float logits differ by " + foldError + " of the logit scale");

        final FixedPointInference fixedPoint = FixedPointInference.of(folded);
        assertEquals(FRACTIONAL_BITS, fixedPoint.fractionalBits());
        final FixedPointOutput fixed = fixedPoint.run(x, n);
        final double[] decoded = fixed.logits();
        final float[] floats = reference.logits();
        final double[] asDouble = new double[floats.length];
        for (int i = 0; i < floats.length; i++)
        {
            asDouble[i] = floats[i];
        }
        final double fixedError = maxScaledDifference(asDouble, decoded, reference.classes());

        final int[] floatTop = reference.top1();
        final int[] fixedTop = fixed.top1();
        final int[] unfoldedTop = unfolded.top1();
        int agree = 0;
        int foldAgree = 0;
        for (int i = 0; i < n; i++)
        {
            agree += floatTop[i] == fixedTop[i] ? 1 : 0;
            foldAgree += floatTop[i] == unfoldedTop[i] ? 1 : 0;
        }
        System.out.printf("%s %s: %d images, top-1 fixed/float %d, folded/unfolded %d; max logit difference " +
            "fixed %.2e, fold %.2e of the logit scale%n", workload.id(), activation, n, agree, foldAgree, fixedError,
            foldError);
        assertTrue(fixedError <= FIXED_RELATIVE_TOLERANCE, workload.id() + " " + activation +
            ": fixed-point and float logits differ by " + fixedError + " of the logit scale");
        assertTrue(agree >= MIN_AGREEMENT * n, workload.id() + " " + activation + ": fixed-point top-1 agrees on " +
            agree + " of " + n);
        assertTrue(foldAgree >= MIN_AGREEMENT * n, workload.id() + " " + activation + ": folded top-1 agrees on " +
            foldAgree + " of " + n);
    }

    /** Largest {@code |a - b|} over all logits, each item's divided by its largest {@code |b|} (at least 1). */
    private static double maxScaledDifference(final float[] a, final float[] b, final int classes)
    {
        final double[] ad = new double[a.length];
        final double[] bd = new double[b.length];
        for (int i = 0; i < a.length; i++)
        {
            ad[i] = a[i];
            bd[i] = b[i];
        }
        return maxScaledDifference(ad, bd, classes);
    }

    private static double maxScaledDifference(final double[] a, final double[] b, final int classes)
    {
        double worst = 0;
        for (int item = 0; item < a.length / classes; item++)
        {
            double scale = 1;
            for (int c = 0; c < classes; c++)
            {
                scale = Math.max(scale, Math.abs(b[item * classes + c]));
            }
            for (int c = 0; c < classes; c++)
            {
                worst = Math.max(worst, Math.abs(a[item * classes + c] - b[item * classes + c]) / scale);
            }
        }
        return worst;
    }
}
