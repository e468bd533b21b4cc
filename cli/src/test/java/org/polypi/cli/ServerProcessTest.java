package org.polypi.cli;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.polypi.datasets.BundledSample;
import org.polypi.datasets.FashionMnist;
import org.polypi.engine.net.RemoteClient;
import org.polypi.engine.net.TcpOptions;
import org.polypi.model.ActivationKind;
import org.polypi.model.ModelFormat;
import org.polypi.model.ModelGraph;
import org.polypi.model.reference.FixedPointInference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code polypi dealer} and {@code polypi server} as separate processes: two concurrent client sessions, then a
 * sequential one, each classifying like the plaintext model; the server exits after its three sessions.
 */
final class ServerProcessTest
{
    private static final Pattern LISTENING = Pattern.compile("listening on (\\S+?),");
    private static final Duration START = Duration.ofSeconds(60);
    private static final int IMAGES = 4;

    @TempDir
    Path dir;

    @Test
    void serverServesConcurrentAndSequentialSessions() throws Exception
    {
        final ModelGraph m = Cli.mlp(ActivationKind.POLY);
        final Path model = Cli.write(m, dir, "mlp.pim");
        final Path pub = dir.resolve("mlp-public.pim");
        final float[] x = BundledSample.fashionMnistTest(FashionMnist.STANDARD_NORMALIZATION).slice(0, IMAGES)
            .toFloatArray();
        final int[] expected = FixedPointInference.of(m, 16).top1(x, IMAGES);
        try (ChildProcess dealer = ChildProcess.start("dealer", List.of("dealer", "--model", model.toString(),
                 "--listen", "127.0.0.1:0", "--plaintext", "--sessions", "3", "--watch-parent"), Map.of(), l -> { });
             ChildProcess server = startServer(dealer, model, pub))
        {
            final InetSocketAddress s = address(server);
            final InetSocketAddress d = address(dealer);
            final RemoteClient client = RemoteClient.of(ModelFormat.read(pub), 16, s, d,
                TcpOptions.builder().plaintext().timeout(Duration.ofSeconds(60)).build());
            final CompletableFuture<RemoteClient.Result> a = CompletableFuture.supplyAsync(
                () -> client.infer(x, IMAGES, 2, n -> { }));
            final CompletableFuture<RemoteClient.Result> b = CompletableFuture.supplyAsync(
                () -> client.infer(x, IMAGES, 1, n -> { }));
            assertArrayEquals(expected, a.get().output().top1());
            assertArrayEquals(expected, b.get().output().top1());
            assertArrayEquals(expected, client.infer(x, IMAGES, 4, n -> { }).output().top1());
            assertEquals(0, server.waitFor(START), server.tail());
            assertEquals(0, dealer.waitFor(START), dealer.tail());
            assertEquals(3, server.lines().stream().filter(l -> l.contains(" done: queries")).count(), server.tail());
            assertTrue(server.lines().stream().anyMatch(l -> l.contains("done: queries 4 batch 1")), server.tail());
        }
    }

    private static ChildProcess startServer(final ChildProcess dealer, final Path model, final Path pub)
        throws IOException, InterruptedException
    {
        final String d = dealer.await(LISTENING, START).group(1);
        return ChildProcess.start("server", List.of("server", "--model", model.toString(), "--listen",
            "127.0.0.1:0", "--dealer", d, "--plaintext", "--sessions", "3", "--max-sessions", "2",
            "--write-public", pub.toString(), "--watch-parent"), Map.of(), l -> { });
    }

    private static InetSocketAddress address(final ChildProcess c) throws InterruptedException
    {
        final String hostPort = c.await(LISTENING, START).group(1);
        final int colon = hostPort.lastIndexOf(':');
        return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    }
}
