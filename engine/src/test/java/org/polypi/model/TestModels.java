package org.polypi.model;

import java.util.List;

/** Small hand-built graphs that use every layer kind, for format and fuzz tests. */
final class TestModels
{
    private TestModels()
    {
    }

    static Tensor ramp(final Shape s, final float start, final float step)
    {
        final float[] v = new float[s.size()];
        for (int i = 0; i < v.length; i++)
        {
            v[i] = start + step * i;
        }
        return Tensor.of(s, v);
    }

    static ModelHeader header(final String arch, final Shape input)
    {
        return new ModelHeader(arch, input, List.of("a", "b", "c"), 12, 5.0f);
    }

    /** Every layer kind once, on a 2x6x6 input: a residual block, both pools, BatchNorm, all activations. */
    static ModelGraph everyLayer()
    {
        final Shape in = Shape.of(2, 6, 6);
        final ModelGraph.Builder b = ModelGraph.builder(header("every-layer", in)).input("x", in);
        b.add("conv", Layer.Conv2d.of(ramp(Shape.of(4, 2, 3, 3), -0.5f, 0.0125f), ramp(Shape.of(4), 0.1f, 0.1f), 1, 1),
            "x");
        b.add("bn", new Layer.BatchNorm(ramp(Shape.of(4), 0.9f, 0.05f), ramp(Shape.of(4), -0.1f, 0.05f),
            ramp(Shape.of(4), 0.0f, 0.01f), ramp(Shape.of(4), 1.0f, 0.1f), 1e-5f), "conv");
        b.add("relu", new Layer.ReLU(), "bn");
        b.add("conv2", Layer.Conv2d.of(ramp(Shape.of(4, 4, 1, 1), 0.2f, -0.01f), null, 1, 0), "relu");
        b.add("poly", Layer.Poly.of(0.25f, 0.5f, 0.125f), "conv2");
        b.add("res", new Layer.Add(), "poly", "relu");
        b.add("cpoly", new Layer.ChannelPoly(ramp(Shape.of(4, 3), -0.2f, 0.05f)), "res");
        b.add("max", new Layer.MaxPool2d(3, 2, 1), "cpoly");
        final float[] mask = new float[4 * 3 * 3];
        for (int i = 0; i < mask.length; i += 3)
        {
            mask[i] = 1;
        }
        b.add("masked", new Layer.MaskedReLU(Tensor.of(Shape.of(4, 3, 3), mask)), "max");
        b.add("avg", new Layer.AvgPool2d(2, 1), "masked");
        b.add("gap", new Layer.GlobalAvgPool(), "avg");
        b.add("flat", new Layer.Flatten(), "gap");
        b.add("fc", Layer.Linear.of(ramp(Shape.of(3, 4), 0.3f, -0.05f), ramp(Shape.of(3), 0, 0.5f)), "flat");
        b.add("id", new Layer.Identity(), "fc");
        return b.output("id").build();
    }

    /** A tiny MLP (W1's structure at 16-8-4-3). */
    static ModelGraph tinyMlp(final ActivationKind kind)
    {
        final Shape in = Shape.of(1, 4, 4);
        final ModelGraph.Builder b = ModelGraph.builder(header("tiny-mlp", in)).input("input", in);
        b.add("flatten", new Layer.Flatten(), "input");
        b.add("fc1", Layer.Linear.of(ramp(Shape.of(8, 16), -0.4f, 0.007f), ramp(Shape.of(8), 0, 0.01f)), "flatten");
        b.add("act1", activation(kind, Shape.of(8)), "fc1");
        b.add("fc2", Layer.Linear.of(ramp(Shape.of(4, 8), 0.4f, -0.02f), null), "act1");
        b.add("act2", activation(kind, Shape.of(4)), "fc2");
        b.add("fc3", Layer.Linear.of(ramp(Shape.of(3, 4), 0.1f, 0.03f), ramp(Shape.of(3), 0, 0.1f)), "act2");
        return b.output("fc3").build();
    }

    /** A tiny LeNet (W2's structure at 1x8x8, conv 1-2 3x3, pool, conv 2-3 3x3, fc 3-5, fc 5-3). */
    static ModelGraph tinyLenet(final ActivationKind kind)
    {
        final Shape in = Shape.of(1, 8, 8);
        final ModelGraph.Builder b = ModelGraph.builder(header("tiny-lenet", in)).input("input", in);
        b.add("conv1", Layer.Conv2d.of(ramp(Shape.of(2, 1, 3, 3), -0.3f, 0.04f), ramp(Shape.of(2), 0, 0.1f), 1, 0),
            "input");
        b.add("act1", activation(kind, Shape.of(2, 6, 6)), "conv1");
        b.add("pool1", new Layer.AvgPool2d(2, 2), "act1");
        b.add("conv2", Layer.Conv2d.of(ramp(Shape.of(3, 2, 3, 3), 0.3f, -0.01f), ramp(Shape.of(3), 0, 0.1f), 1, 0),
            "pool1");
        b.add("act2", activation(kind, Shape.of(3, 1, 1)), "conv2");
        b.add("flatten", new Layer.Flatten(), "act2");
        b.add("fc3", Layer.Linear.of(ramp(Shape.of(5, 3), -0.2f, 0.03f), ramp(Shape.of(5), 0, 0.1f)), "flatten");
        b.add("act3", activation(kind, Shape.of(5)), "fc3");
        b.add("fc4", Layer.Linear.of(ramp(Shape.of(3, 5), 0.2f, -0.02f), ramp(Shape.of(3), 0, 0.1f)), "act3");
        return b.output("fc4").build();
    }

    /** Images of the statistics of {@link #tinyMlpWithStatistics} (the version-2 example of docs/model-format.md). */
    static final int STATISTICS_IMAGES = 10;

    /**
     * {@link #tinyMlp} with statistics of its two activation sites over {@value #STATISTICS_IMAGES} images: act1
     * ([8], 3 of 80 inputs beyond r = 5, max 6) and act2 ([4], none of 40 beyond, max 2.5). Not for
     * {@link ActivationKind#IDENTITY}, whose sites cannot carry statistics.
     */
    static ModelGraph tinyMlpWithStatistics(final ActivationKind kind)
    {
        final ModelGraph g = tinyMlp(kind);
        return g.withHeader(g.header().withStatistics(new ActivationStatistics(STATISTICS_IMAGES, List.of(
            new ActivationStatistics.Site("act1", 80, 3, 6.0f, 5.0f),
            new ActivationStatistics.Site("act2", 40, 0, 2.5f, 5.0f)))));
    }

    /** {@link #everyLayer} with statistics over 3 images at its four measurable sites (relu, poly, cpoly, masked). */
    static ModelGraph everyLayerWithStatistics()
    {
        final ModelGraph g = everyLayer();
        final int images = 3;
        return g.withHeader(g.header().withStatistics(new ActivationStatistics(images, List.of(
            new ActivationStatistics.Site("relu", images * 144L, 0, 4.25f, 5.0f),
            new ActivationStatistics.Site("poly", images * 144L, 7, 9.5f, 5.0f),
            new ActivationStatistics.Site("cpoly", images * 144L, 1, 5.5f, 5.0f),
            new ActivationStatistics.Site("masked", images * 36L, 0, 0.0f, 0.75f)))));
    }

    /** {@link #tinyLenet} with statistics over one image at its three activation sites. */
    static ModelGraph tinyLenetWithStatistics(final ActivationKind kind)
    {
        final ModelGraph g = tinyLenet(kind);
        return g.withHeader(g.header().withStatistics(new ActivationStatistics(1, List.of(
            new ActivationStatistics.Site("act1", 72, 0, 1.5f, 5.0f),
            new ActivationStatistics.Site("act2", 3, 0, Float.MIN_VALUE, 5.0f),
            new ActivationStatistics.Site("act3", 5, 5, 123.25f, 0.5f)))));
    }

    static Layer activation(final ActivationKind kind, final Shape s)
    {
        return switch (kind)
        {
            case RELU -> new Layer.ReLU();
            case POLY -> ReferenceNetworks.PILLAR_DEGREE4;
            case CHANNEL_POLY -> new Layer.ChannelPoly(ramp(Shape.of(s.dim(0), 3), -0.1f, 0.01f));
            case MASKED_RELU ->
            {
                final float[] m = new float[s.size()];
                for (int i = 0; i < m.length; i += 2)
                {
                    m[i] = 1;
                }
                yield new Layer.MaskedReLU(Tensor.of(s, m));
            }
            case IDENTITY -> new Layer.Identity();
        };
    }
}
