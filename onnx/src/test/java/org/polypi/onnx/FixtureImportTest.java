package org.polypi.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.polypi.model.Layer;
import org.polypi.model.ModelGraph;
import org.polypi.model.Node;
import org.polypi.model.ReferenceNetworks;
import org.polypi.model.reference.FloatInference;
import org.polypi.model.reference.FloatOutput;

/**
 * The fixtures exported by PyTorch ({@code onnx/scripts/make_fixtures.py}): W1-W4 with ReLU, PILLAR's polynomial and
 * HerPN, and torchvision's ResNet-18 with PILLAR's polynomial. Every one imports, its float32 logits match
 * PyTorch's within 1e-4 of the item's largest logit, and its layers are the ones the exporter meant.
 */
class FixtureImportTest
{
    private static final double TOLERANCE = 1e-4;

    private static ModelGraph imported(final String name) throws OnnxImportException
    {
        return OnnxImporter.importBytes(Fixture.load(name).onnx(), ImportOptions.defaults()).graph();
    }

    private static long count(final ModelGraph g, final Class<? extends Layer> type)
    {
        return g.nodes().stream().filter(n -> type.isInstance(n.layer())).count();
    }

    @ParameterizedTest
    @ValueSource(strings = {"mlp-relu", "mlp-pillar", "mlp-herpn", "lenet-relu", "lenet-pillar", "lenet-herpn",
        "minionn-fmnist-relu", "minionn-fmnist-pillar", "minionn-fmnist-herpn", "resnet18-relu", "resnet18-pillar",
        "resnet18-herpn", "tv-resnet18-pillar"})
    void matchesPyTorch(final String name) throws Exception
    {
        final Fixture f = Fixture.load(name);
        final OnnxImport imported = OnnxImporter.importBytes(f.onnx(), ImportOptions.defaults());
        final ModelGraph g = imported.graph();
        assertEquals(f.opset(), imported.opset());
        assertFalse(g.contains(Layer.BatchNorm.class), "every BatchNorm is folded");
        final FloatOutput out = FloatInference.of(g).run(f.inputs(), f.batch());
        final double worst = LogitComparison.worstRelativeDifference(out.logits(), f.logits(), f.batch(),
            out.classes());
        System.out.printf("%s (opset %d): %d items, largest logit difference %.2e of the item's largest |logit| " +
            "(tolerance %.0e)%n", name, f.opset(), f.batch(), worst, TOLERANCE);
        assertTrue(worst <= TOLERANCE, name + ": largest relative logit difference " + worst);
    }

    /** PILLAR's activation stays one public polynomial, exactly the released one; its BatchNorms fold away. */
    @ParameterizedTest
    @ValueSource(strings = {"mlp-pillar", "lenet-pillar", "minionn-fmnist-pillar", "resnet18-pillar",
        "tv-resnet18-pillar"})
    void pillarActivationsArePublicPolynomials(final String name) throws Exception
    {
        final ModelGraph g = imported(name);
        assertFalse(g.contains(Layer.ChannelPoly.class));
        long sites = 0;
        for (final Node n : g.nodes())
        {
            if (n.layer() instanceof Layer.Poly p)
            {
                assertEquals(ReferenceNetworks.PILLAR_DEGREE4, p, n.name());
                sites++;
            }
        }
        assertEquals(expectedSites(name), sites);
    }

    /** HerPN (BatchNorm per Hermite basis, then a learned scale and shift) is a private quadratic per channel. */
    @ParameterizedTest
    @ValueSource(strings = {"mlp-herpn", "lenet-herpn", "minionn-fmnist-herpn", "resnet18-herpn"})
    void herpnActivationsArePerChannelQuadratics(final String name) throws Exception
    {
        final ModelGraph g = imported(name);
        assertFalse(g.contains(Layer.Poly.class));
        for (final Node n : g.nodes())
        {
            if (n.layer() instanceof Layer.ChannelPoly p)
            {
                assertEquals(2, p.degree(), n.name());
            }
        }
        assertEquals(expectedSites(name), count(g, Layer.ChannelPoly.class));
    }

    @ParameterizedTest
    @ValueSource(strings = {"mlp-relu", "lenet-relu", "minionn-fmnist-relu", "resnet18-relu"})
    void reluSites(final String name) throws Exception
    {
        assertEquals(expectedSites(name), count(imported(name), Layer.ReLU.class));
    }

    private static long expectedSites(final String name)
    {
        final String net = name.substring(0, name.lastIndexOf('-'));
        return switch (net)
        {
            case "mlp" -> 2;
            case "lenet" -> 3;
            case "minionn-fmnist" -> 7;
            default -> 17;
        };
    }

    /** The lenet-pillar fixture clips at inference too: each Clip is dropped with a notice, the bound is 5. */
    @Test
    void trainingClipIsDroppedWithANotice() throws Exception
    {
        final OnnxImport r = OnnxImporter.importBytes(Fixture.load("lenet-pillar").onnx(), ImportOptions.defaults());
        assertEquals(3, r.notices().size(), r.notices().toString());
        for (final String notice : r.notices())
        {
            assertTrue(notice.contains("(Clip)") && notice.contains("[-5.0, 5.0]"), notice);
        }
        assertEquals(5f, r.graph().header().activationBound());
    }

    /** F.pad(x, (2, 2, 2, 2)) before MiniONN's first 3x3 convolution (padding 1) becomes padding 3. */
    @Test
    void padFoldsIntoFirstConvolution() throws Exception
    {
        final ModelGraph g = imported("minionn-fmnist-relu");
        final Layer.Conv2d first = assertInstanceOf(Layer.Conv2d.class, g.nodes().getFirst().layer());
        assertEquals(3, first.padding());
        assertEquals(List.of(64, 32, 32), List.of(g.shape(g.nodes().getFirst().name()).dim(0),
            g.shape(g.nodes().getFirst().name()).dim(1), g.shape(g.nodes().getFirst().name()).dim(2)));
    }

    /** torchvision's ResNet-18: 7x7/2 stem, 3x3/2 max-pool with padding 1, 8 residual additions, 20 convolutions. */
    @Test
    void torchvisionResNetStructure(@TempDir final Path dir) throws Exception
    {
        final Path file = dir.resolve("tv-resnet18-pillar.onnx");
        Files.write(file, Fixture.load("tv-resnet18-pillar").onnx());
        final ModelGraph g = OnnxImporter.importFile(file, ImportOptions.defaults()).graph();
        assertEquals("tv-resnet18-pillar", g.header().architecture());
        assertEquals(new Layer.MaxPool2d(3, 2, 1), g.nodes().get(2).layer());
        assertEquals(8, count(g, Layer.Add.class));
        assertEquals(20, count(g, Layer.Conv2d.class));
        assertEquals(1, count(g, Layer.GlobalAvgPool.class));
    }
}
