package org.polypi.cli;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.polypi.datasets.BundledSample;
import org.polypi.datasets.FashionMnist;
import org.polypi.engine.net.DealerService;
import org.polypi.engine.net.RemoteClient;
import org.polypi.engine.net.ServerService;
import org.polypi.engine.net.ServiceOptions;
import org.polypi.engine.net.TcpOptions;
import org.polypi.engine.plan.CompiledModel;
import org.polypi.engine.plan.PlanCompiler;
import org.polypi.engine.secure.InMemorySession;
import org.polypi.engine.secure.InferenceResult;
import org.polypi.engine.secure.SessionOptions;
import org.polypi.model.ActivationKind;
import org.polypi.model.GraphTransforms;
import org.polypi.model.ModelGraph;
import org.polypi.model.reference.FixedPointInference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The "embed the engine in a Java service" example of docs/embedding.md and the README: the code between the
 * EXAMPLE markers must compile, run, and appear verbatim in the document.
 */
final class EmbeddingExampleTest
{
    private static final int IMAGES = 5;
    private static final String INDENT = "    ";

    // EXAMPLE BEGIN
    /** Classifies images privately with the three parties as threads of this JVM (tests, batch jobs). */
    static int[] classifyInProcess(final ModelGraph model, final float[] images, final int count)
    {
        final CompiledModel compiled = PlanCompiler.compile(GraphTransforms.foldBatchNorm(model));
        try (InMemorySession session = InMemorySession.start(compiled, SessionOptions.of(8)))
        {
            final InferenceResult result = session.infer(images, count);
            System.out.printf("%.3f ms online per image%n", result.onlineMillisPerItem());
            return result.top1();
        }
    }

    /**
     * Classifies images privately as the client of a server and a dealer running elsewhere ('polypi server',
     * 'polypi dealer'); the client holds only the model's public description (no weights).
     */
    static int[] classifyRemotely(final ModelGraph publicModel, final float[] images, final int count,
                                  final InetSocketAddress server, final InetSocketAddress dealer,
                                  final TcpOptions tcp)
    {
        final RemoteClient client = RemoteClient.of(publicModel, publicModel.header().fractionalBits(), server,
            dealer, tcp);
        return client.infer(images, count, 8, done -> { }).output().top1();
    }
    // EXAMPLE END

    @Test
    void theExampleClassifiesLikeThePlaintextModel() throws IOException
    {
        final ModelGraph model = Cli.mlp(ActivationKind.POLY);
        final float[] x = BundledSample.fashionMnistTest(FashionMnist.STANDARD_NORMALIZATION).slice(0, IMAGES)
            .toFloatArray();
        final int[] expected = FixedPointInference.of(model, model.header().fractionalBits()).top1(x, IMAGES);
        assertArrayEquals(expected, classifyInProcess(model, x, IMAGES));
        final TcpOptions plain = TcpOptions.builder().plaintext().build();
        final InetSocketAddress any = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        final int f = model.header().fractionalBits();
        try (DealerService dealer = DealerService.start(model, f, any, ServiceOptions.of(plain));
             ServerService server = ServerService.start(model, f, any, dealer.address(), ServiceOptions.of(plain)))
        {
            assertArrayEquals(expected, classifyRemotely(server.publicModel(), x, IMAGES, server.address(),
                dealer.address(), plain));
        }
    }

    @Test
    void theDocumentShowsTheExampleVerbatim() throws IOException
    {
        final Path home = Path.of(System.getProperty("polypi.home", "../"));
        final String source = Files.readString(home.resolve("cli/src/test/java/org/polypi/cli/" +
            "EmbeddingExampleTest.java"), StandardCharsets.UTF_8);
        final String begin = "// EXAMPLE BEGIN\n";
        final String example = source.substring(source.indexOf(begin) + begin.length(),
            source.indexOf("    // EXAMPLE END")).lines()
            .map(l -> l.startsWith(INDENT) ? l.substring(INDENT.length()) : l)
            .collect(Collectors.joining("\n", "", "\n"));
        for (final String page : new String[]{"docs/embedding.md", "README.md"})
        {
            final String doc = Files.readString(home.resolve(page), StandardCharsets.UTF_8);
            assertTrue(doc.contains(example), page + " must contain, verbatim (unindented):\n" + example);
        }
    }
}
