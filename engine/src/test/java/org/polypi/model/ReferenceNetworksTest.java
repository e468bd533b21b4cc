package org.polypi.model;

import java.util.EnumSet;

import org.junit.jupiter.api.Test;

import org.polypi.model.ReferenceNetworks.Options;
import org.polypi.model.ReferenceNetworks.Workload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReferenceNetworksTest
{
    private static ModelGraph build(final Workload w, final ActivationKind k)
    {
        return ReferenceNetworks.build(w, Options.of(k));
    }

    /** workloads.md: W1 118 K / 256; W2 2.3 M / 15,220; W3 61.1 M / 173,056; W4 about 0.56 G / 557,056. */
    @Test
    void multiplyAddsAndActivationSitesMatchWorkloads()
    {
        for (final ActivationKind k : ActivationKind.values())
        {
            final ModelGraph w1 = build(Workload.MLP, k);
            assertEquals(784L * 128 + 128 * 128 + 128 * 10, w1.multiplyAdds());
            assertEquals(118_016, w1.multiplyAdds());
            assertEquals(256, w1.activationSites());

            final ModelGraph w2 = build(Workload.LENET, k);
            assertEquals(2_293_000, w2.multiplyAdds());
            assertEquals(15_220, w2.activationSites());

            final ModelGraph w3 = build(Workload.MINIONN, k);
            assertEquals(61_089_792, w3.multiplyAdds());
            assertEquals(173_056, w3.activationSites());

            // the first convolution sees 1 channel instead of 3: 64*32*32*9*(3-1) fewer multiply-adds
            final ModelGraph w3f = build(Workload.MINIONN_FASHION, k);
            assertEquals(61_089_792 - 64L * 32 * 32 * 9 * 2, w3f.multiplyAdds());
            assertEquals(173_056, w3f.activationSites());
        }
        final ModelGraph w4 = build(Workload.RESNET18, ActivationKind.RELU);
        assertEquals(555_422_720, w4.multiplyAdds());
        assertEquals(557_056, w4.activationSites());
        // 11,159,232 convolution weights + 4,800 convolution biases + 5,130 fc; with BatchNorm instead of conv biases
        // it would be the familiar 11,173,962 of the CIFAR ResNet-18
        assertEquals(11_169_162, w4.parameterCount());
        assertEquals(w4.activationSites(), w4.comparisons());
    }

    /**
     * W5: torchvision's ResNet-50 has 25,557,032 parameters with BatchNorm (23,454,912 conv weights, 53,120 BatchNorm
     * affine parameters, 2,049,000 fc); here the conv layers carry biases (26,560) instead, and POLY adds 3
     * coefficients at each of the 49 activation sites. workloads.md's "23 M" is the convolutional part.
     */
    @Test
    void resnet50HasTheTorchvisionSize()
    {
        final ModelGraph w5 = build(Workload.RESNET50, ActivationKind.RELU);
        assertEquals(4_089_184_256L, w5.multiplyAdds());
        assertEquals(9_608_704, w5.activationSites());
        assertEquals(23_454_912L + 26_560 + 2_049_000, w5.parameterCount());
        // max-pool 3/2 pad 1 on 64x112x112: 64x56x56 outputs, 8 comparisons each, on top of the ReLUs
        assertEquals(w5.activationSites() + 64L * 56 * 56 * 8, w5.comparisons());
        assertEquals(Shape.of(1000), w5.shape("fc"));
        assertEquals(1000, w5.header().classNames().size());
        final ModelGraph poly = build(Workload.RESNET50, ActivationKind.POLY);
        assertEquals(w5.parameterCount() + 49 * 3, poly.parameterCount());
        assertEquals(64L * 56 * 56 * 8, poly.comparisons());
    }

    @Test
    void buildIsDeterministicAndSeeded()
    {
        for (final ActivationKind k : ActivationKind.values())
        {
            final Options o = Options.of(k).withBatchNorm(true).withSeed(42);
            assertEquals(ReferenceNetworks.lenet(o), ReferenceNetworks.lenet(o));
            assertNotEquals(ReferenceNetworks.lenet(o), ReferenceNetworks.lenet(o.withSeed(43)));
        }
    }

    @Test
    void batchNormAddsNodesButKeepsWeights()
    {
        final ModelGraph plain = ReferenceNetworks.minionn(Options.of(ActivationKind.RELU));
        final ModelGraph bn = ReferenceNetworks.minionn(Options.of(ActivationKind.RELU).withBatchNorm(true));
        assertFalse(plain.contains(Layer.BatchNorm.class));
        assertEquals(plain.nodes().size() + 7, bn.nodes().size());
        final Layer.Conv2d a = (Layer.Conv2d)plain.node("conv3").layer();
        final Layer.Conv2d b = (Layer.Conv2d)bn.node("conv3").layer();
        assertEquals(a.weights(), b.weights());
        assertTrue(a.hasBias());
        assertNull(b.bias());
        assertEquals("conv3", bn.node("bn3").input());
        assertEquals("bn3", bn.node("act3").input());
    }

    @Test
    void activationKindsProduceTheirLayers()
    {
        assertEquals(ReferenceNetworks.QUADRATIC_RELU_FIT,
            build(Workload.MLP, ActivationKind.POLY).node("act1").layer());
        final Layer.ChannelPoly cp = (Layer.ChannelPoly)build(Workload.LENET, ActivationKind.CHANNEL_POLY)
            .node("act2").layer();
        assertEquals(50, cp.channels());
        assertEquals(2, cp.degree());
        assertNotEquals(cp.coefficient(0, 2), cp.coefficient(1, 2));
        final ModelGraph masked = ReferenceNetworks.lenet(Options.of(ActivationKind.MASKED_RELU)
            .withMaskKeepFraction(0.25));
        long ones = 0;
        for (final Node n : masked.nodes())
        {
            if (n.layer() instanceof Layer.MaskedReLU m)
            {
                ones += m.reluCount();
            }
        }
        // 15,220 Bernoulli(0.25) draws: mean 3,805, standard deviation 53
        assertEquals(3805, ones, 300);
        assertEquals(ones, masked.comparisons());
        assertEquals(0, build(Workload.MLP, ActivationKind.IDENTITY).comparisons());
        assertEquals(Layer.Poly.of(1, 2, 3),
            ReferenceNetworks.mlp(Options.of(ActivationKind.POLY).withPoly(Layer.Poly.of(1, 2, 3))).node("act2")
                .layer());
    }

    @Test
    void pillarPolynomialIsTheReleasedOne()
    {
        final Layer.Poly q = ReferenceNetworks.PILLAR_DEGREE4;
        assertEquals(0.3145, q.evaluate(0), 1e-4);
        assertEquals(4.89, q.evaluate(5), 0.01);
        final Layer.Poly fit = ReferenceNetworks.QUADRATIC_RELU_FIT;
        for (int i = 0; i < 3; i++)
        {
            // multiples of 2^-10, as PILLAR's coefficient quantisation requires
            final double scaled = fit.coefficient(i) * 1024;
            assertEquals(Math.rint(scaled), scaled);
        }
    }

    /** Random weights must keep activation inputs in the range the polynomials are meant for. */
    @Test
    void activationInputsStayBounded()
    {
        final StringBuilder failures = new StringBuilder();
        for (final Workload w : EnumSet.of(Workload.MLP, Workload.LENET, Workload.MINIONN, Workload.MINIONN_FASHION))
        {
            for (final ActivationKind k : ActivationKind.values())
            {
                for (final boolean bn : new boolean[] {false, true})
                {
                    final ModelGraph g = ReferenceNetworks.build(w, Options.of(k).withBatchNorm(bn).withSeed(7));
                    final FloatForward f = new FloatForward();
                    f.run(g, GraphTransformsTest.input(g.inputs().getFirst().shape(), 11));
                    if (f.maxActivationInput >= limit(k, g) || f.maxActivationInput < 0.1)
                    {
                        failures.append(w.id()).append(' ').append(k).append(" bn=").append(bn)
                            .append(": max activation input ").append(f.maxActivationInput).append('\n');
                    }
                }
            }
        }
        assertEquals("", failures.toString());
    }

    /**
     * Polynomial inputs must stay inside [-B, B], where the polynomials approximate what they replace; the
     * comparison-based and linear kinds only need to stay in the same order of magnitude (fixed-point headroom).
     */
    private static double limit(final ActivationKind k, final ModelGraph g)
    {
        final double b = g.header().activationBound();
        return k == ActivationKind.POLY || k == ActivationKind.CHANNEL_POLY ? b : 2 * b;
    }

    @Test
    void resnet18ActivationInputsStayBounded()
    {
        final StringBuilder failures = new StringBuilder();
        for (final ActivationKind k : EnumSet.of(ActivationKind.RELU, ActivationKind.POLY,
            ActivationKind.CHANNEL_POLY, ActivationKind.MASKED_RELU, ActivationKind.IDENTITY))
        {
            final ModelGraph g = ReferenceNetworks.resnet18(Options.of(k).withSeed(7));
            final FloatForward f = new FloatForward();
            f.run(g, GraphTransformsTest.input(g.inputs().getFirst().shape(), 11));
            if (f.maxActivationInput >= limit(k, g) || f.maxActivationInput < 0.1)
            {
                failures.append("resnet18 ").append(k).append(": max activation input ")
                    .append(f.maxActivationInput).append('\n');
            }
        }
        assertEquals("", failures.toString());
    }

    @Test
    void workloadIds()
    {
        for (final Workload w : Workload.values())
        {
            assertEquals(w, Workload.byId(w.id().toUpperCase(java.util.Locale.ROOT)));
            if (w != Workload.RESNET50)
            {
                assertEquals(w.id(), build(w, ActivationKind.RELU).header().architecture());
            }
        }
        assertThrows(IllegalArgumentException.class, () -> Workload.byId("vgg16"));
    }
}
