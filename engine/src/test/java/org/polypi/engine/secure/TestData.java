package org.polypi.engine.secure;

import java.io.IOException;
import java.io.UncheckedIOException;

import org.polypi.datasets.BundledSample;
import org.polypi.datasets.Dataset;
import org.polypi.datasets.DatasetNotFoundException;
import org.polypi.datasets.FashionMnist;
import org.polypi.engine.plan.CompiledModel;
import org.polypi.engine.plan.PlanCompiler;
import org.polypi.model.ActivationKind;
import org.polypi.model.GraphTransforms;
import org.polypi.model.ModelGraph;
import org.polypi.model.ReferenceNetworks;
import org.polypi.model.ReferenceNetworks.Workload;

/** Fashion-MNIST test images (the bundled sample if the data set is not installed) and the reference networks. */
final class TestData
{
    static final long MODEL_SEED = 20261123L;
    /** W3's input: the 28x28 images zero-padded by 2 on each side. */
    static final int MINIONN_PADDING = 2;

    private static Dataset images;

    private TestData()
    {
    }

    /** The first {@code count} test images (or all the bundled ones), normalised, padded for W3. */
    static synchronized Dataset images(final Workload workload, final int count)
    {
        if (images == null)
        {
            Dataset data;
            try
            {
                data = FashionMnist.load(FashionMnist.Split.TEST, FashionMnist.STANDARD_NORMALIZATION);
            }
            catch (final DatasetNotFoundException e)
            {
                data = BundledSample.fashionMnistTest(FashionMnist.STANDARD_NORMALIZATION);
            }
            catch (final IOException e)
            {
                throw new UncheckedIOException(e);
            }
            images = data;
        }
        final Dataset slice = images.slice(0, Math.min(count, images.count()));
        return workload == Workload.MINIONN_FASHION ? slice.pad(MINIONN_PADDING) : slice;
    }

    /** The kinds of activation the tests run. */
    enum Act
    {
        /** PILLAR-style public quadratic (ReferenceNetworks' default polynomial). */
        POLY2,
        /** PILLAR's degree-4 polynomial. */
        PILLAR4,
        /** HerPN per-channel quadratics, folded into the next layer. */
        CHANNEL,
        /** ReLU (secure comparisons). */
        RELU,
        /** SENet's masked ReLU, half of the positions kept. */
        MASKED
    }

    /** The folded reference network {@code workload} with activation {@code act}, compiled at f. */
    static CompiledModel model(final Workload workload, final Act act, final int f)
    {
        return PlanCompiler.compile(graph(workload, act, f), f);
    }

    static ModelGraph graph(final Workload workload, final Act act, final int f)
    {
        final ActivationKind kind = switch (act)
        {
            case POLY2, PILLAR4 -> ActivationKind.POLY;
            case CHANNEL -> ActivationKind.CHANNEL_POLY;
            case RELU -> ActivationKind.RELU;
            case MASKED -> ActivationKind.MASKED_RELU;
        };
        ReferenceNetworks.Options o = ReferenceNetworks.Options.of(kind).withBatchNorm(true).withSeed(MODEL_SEED)
            .withFixedPoint(f, ReferenceNetworks.DEFAULT_ACTIVATION_BOUND);
        if (act == Act.PILLAR4)
        {
            o = o.withPoly(ReferenceNetworks.PILLAR_DEGREE4);
        }
        return GraphTransforms.foldBatchNorm(ReferenceNetworks.build(workload, o));
    }

    static byte[] seed(final long value)
    {
        final byte[] s = new byte[16];
        for (int i = 0; i < 8; i++)
        {
            s[i] = (byte)(value >>> (8 * i));
            s[i + 8] = (byte)(~value >>> (8 * i));
        }
        return s;
    }
}
