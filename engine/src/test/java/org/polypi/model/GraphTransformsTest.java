package org.polypi.model;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GraphTransformsTest
{
    /** |float(v) - v| is at most half an ulp of the float; allow one ulp. */
    private static void assertCloseToFloat(final double expected, final float actual, final String what)
    {
        assertEquals(expected, actual, Math.ulp((float)expected), what);
    }

    private static void assertFolded(final Tensor w, final Tensor bias, final Layer.BatchNorm bn, final Tensor fw,
                                     final Tensor fb)
    {
        final int channels = bn.channels();
        final int per = w.size() / channels;
        assertEquals(w.shape(), fw.shape());
        assertEquals(Shape.of(channels), fb.shape());
        for (int o = 0; o < channels; o++)
        {
            final double gamma = bn.gamma().get(o);
            final double var = bn.runningVar().get(o);
            final double s = gamma / Math.sqrt(var + bn.eps());
            for (int i = 0; i < per; i++)
            {
                assertCloseToFloat(w.get(o * per + i) * s, fw.get(o * per + i), "weight " + o + "," + i);
            }
            final double b = bias == null ? 0 : bias.get(o);
            assertCloseToFloat(bn.beta().get(o) + (b - bn.runningMean().get(o)) * s, fb.get(o), "bias " + o);
        }
    }

    @Test
    void foldsConvolutionWithBiasIntoClosedForm()
    {
        final ModelGraph g = TestModels.everyLayer();
        final Layer.Conv2d conv = (Layer.Conv2d)g.node("conv").layer();
        final Layer.BatchNorm bn = (Layer.BatchNorm)g.node("bn").layer();
        final ModelGraph f = GraphTransforms.foldBatchNorm(g);
        assertFalse(f.contains(Layer.BatchNorm.class));
        assertEquals(g.nodes().size() - 1, f.nodes().size());
        assertEquals("conv", f.node("relu").input());
        final Layer.Conv2d folded = (Layer.Conv2d)f.node("conv").layer();
        assertGeometryKept(conv, folded);
        assertFolded(conv.weights(), conv.bias(), bn, folded.weights(), folded.bias());
        // the rest of the graph is untouched
        assertEquals(g.node("fc"), f.node("fc"));
        assertEquals(g.shape("id"), f.shape("id"));
    }

    private static void assertGeometryKept(final Layer.Conv2d before, final Layer.Conv2d after)
    {
        assertEquals(before.stride(), after.stride());
        assertEquals(before.padding(), after.padding());
        assertTrue(after.hasBias());
    }

    @Test
    void foldsEveryReferenceBatchNormAndKeepsTheFunction()
    {
        for (final ReferenceNetworks.Workload w : new ReferenceNetworks.Workload[] {
            ReferenceNetworks.Workload.MLP, ReferenceNetworks.Workload.LENET, ReferenceNetworks.Workload.MINIONN})
        {
            final ModelGraph g = ReferenceNetworks.build(w, ReferenceNetworks.Options.of(ActivationKind.POLY)
                .withBatchNorm(true).withSeed(3));
            final ModelGraph f = GraphTransforms.foldBatchNorm(g);
            assertFalse(f.contains(Layer.BatchNorm.class));
            for (final Node n : g.nodes())
            {
                if (n.layer() instanceof Layer.BatchNorm bn)
                {
                    final Layer before = g.node(n.input()).layer();
                    final Layer after = f.node(n.input()).layer();
                    if (before instanceof Layer.Linear l)
                    {
                        assertNull(l.bias());
                        assertFolded(l.weights(), null, bn, ((Layer.Linear)after).weights(),
                            ((Layer.Linear)after).bias());
                    }
                    else
                    {
                        final Layer.Conv2d c = (Layer.Conv2d)before;
                        assertFolded(c.weights(), c.bias(), bn, ((Layer.Conv2d)after).weights(),
                            ((Layer.Conv2d)after).bias());
                    }
                }
            }
            final double[] x = input(g.inputs().getFirst().shape(), 5);
            final double[] y0 = new FloatForward().run(g, x);
            final double[] y1 = new FloatForward().run(f, x);
            for (int i = 0; i < y0.length; i++)
            {
                assertEquals(y0[i], y1[i], 1e-4 * (1 + Math.abs(y0[i])), w + " logit " + i);
            }
        }
    }

    @Test
    void foldsResNetBatchNormsIncludingShortcuts()
    {
        final ModelGraph g = ReferenceNetworks.resnet18(ReferenceNetworks.Options.of(ActivationKind.RELU)
            .withBatchNorm(true));
        final ModelGraph f = GraphTransforms.foldBatchNorm(g);
        assertFalse(f.contains(Layer.BatchNorm.class));
        assertEquals(g.multiplyAdds(), f.multiplyAdds());
        assertEquals(g.activationSites(), f.activationSites());
        assertEquals("layer2.0.shortcut.conv", f.node("layer2.0.add").inputs().get(1));
        assertEquals("layer2.0.conv2", f.node("layer2.0.add").inputs().get(0));
    }

    @Test
    void foldingCarriesTheActivationStatistics()
    {
        // everyLayer's BatchNorm feeds the measured relu site: folding rewires relu to conv and keeps the site
        final ModelGraph g = TestModels.everyLayerWithStatistics();
        final ModelGraph f = GraphTransforms.foldBatchNorm(g);
        assertFalse(f.contains(Layer.BatchNorm.class));
        assertEquals(g.header(), f.header());
        assertEquals(g.header().statistics().orElseThrow().sites(), f.header().statistics().orElseThrow().sites());
        assertEquals("conv", f.node("relu").input());
        // and the folded graph is a valid version-2 model
        assertEquals(ModelFormat.STATISTICS_VERSION, ModelFormat.version(f));
        assertEquals(f, assertDoesNotThrowRead(f));
        // a reference network with BatchNorm before every activation, measured at every site
        final ModelGraph lenet = ReferenceNetworks.build(ReferenceNetworks.Workload.LENET,
            ReferenceNetworks.Options.of(ActivationKind.POLY).withBatchNorm(true).withSeed(4));
        final java.util.List<ActivationStatistics.Site> sites = new java.util.ArrayList<>();
        for (final Node n : lenet.nodes())
        {
            if (ActivationStatistics.isSiteLayer(n.layer()))
            {
                sites.add(new ActivationStatistics.Site(n.name(), 2 * lenet.shape(n.name()).elements(), 1, 6, 5));
            }
        }
        final ModelGraph measured = lenet.withHeader(lenet.header().withStatistics(new ActivationStatistics(2,
            sites)));
        final ModelGraph folded = GraphTransforms.foldBatchNorm(measured);
        assertFalse(folded.contains(Layer.BatchNorm.class));
        assertEquals(measured.header(), folded.header(), "no site dropped or changed");
        assertEquals(sites.size(), folded.header().statistics().orElseThrow().sites().size());
    }

    private static ModelGraph assertDoesNotThrowRead(final ModelGraph g)
    {
        try
        {
            return ModelFormat.fromBytes(ModelFormat.toBytes(g));
        }
        catch (final ModelFormatException e)
        {
            throw new AssertionError(e);
        }
    }

    @Test
    void graphWithoutBatchNormIsReturnedAsIs()
    {
        final ModelGraph g = TestModels.tinyMlp(ActivationKind.RELU);
        assertSame(g, GraphTransforms.foldBatchNorm(g));
    }

    @Test
    void unfoldableBatchNormIsNamed()
    {
        final Shape s = Shape.of(2);
        final Tensor one = Tensor.filled(s, 1);
        final Layer.BatchNorm bn = new Layer.BatchNorm(one, one, one, one, 0);
        final ModelGraph afterInput = ModelGraph.builder(TestModels.header("t", s)).input("x", s)
            .add("bn", bn, "x").output("bn").build();
        final IllegalArgumentException e1 = assertThrows(IllegalArgumentException.class,
            () -> GraphTransforms.foldBatchNorm(afterInput));
        assertTrue(e1.getMessage().contains("BatchNorm bn cannot be folded: its input x is a graph input"));

        final ModelGraph afterRelu = ModelGraph.builder(TestModels.header("t", s)).input("x", s)
            .add("r", new Layer.ReLU(), "x").add("bn", bn, "r").output("bn").build();
        assertTrue(assertThrows(IllegalArgumentException.class, () -> GraphTransforms.foldBatchNorm(afterRelu))
            .getMessage().contains("its input r is a ReLU"));

        final ModelGraph shared = ModelGraph.builder(TestModels.header("t", s)).input("x", s)
            .add("fc", Layer.Linear.of(Tensor.filled(Shape.of(2, 2), 1), null), "x").add("bn", bn, "fc")
            .add("sum", new Layer.Add(), "bn", "fc").output("sum").build();
        assertTrue(assertThrows(IllegalArgumentException.class, () -> GraphTransforms.foldBatchNorm(shared))
            .getMessage().contains("its input fc is read by 2 nodes"));
    }

    static double[] input(final Shape s, final long seed)
    {
        final SplitMix64 r = new SplitMix64(seed);
        final double[] x = new double[s.size()];
        for (int i = 0; i < x.length; i++)
        {
            x[i] = r.uniform(-1.7f, 1.7f);
        }
        return x;
    }
}
