package org.polypi.engine.net;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.Test;
import org.polypi.datasets.BundledSample;
import org.polypi.datasets.Dataset;
import org.polypi.datasets.FashionMnist;
import org.polypi.engine.plan.CompiledModel;
import org.polypi.engine.plan.PlanCompiler;
import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.TransportException;
import org.polypi.model.ActivationKind;
import org.polypi.model.ActivationStatistics;
import org.polypi.model.GraphTransforms;
import org.polypi.model.Layer;
import org.polypi.model.ModelGraph;
import org.polypi.model.Node;
import org.polypi.model.ReferenceNetworks;
import org.polypi.model.ReferenceNetworks.Workload;
import org.polypi.model.reference.FixedPointInference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The server and dealer services with their session routers on loopback: concurrent and sequential sessions on one
 * port each, the public description, failures that leave the services serving.
 */
final class ServiceTest
{
    private static final int F = 16;
    private static final int IMAGES = 6;

    private static ModelGraph model(final ActivationKind kind)
    {
        return GraphTransforms.foldBatchNorm(ReferenceNetworks.build(Workload.MLP, ReferenceNetworks.Options.of(kind)
            .withBatchNorm(true).withSeed(7).withFixedPoint(F, ReferenceNetworks.DEFAULT_ACTIVATION_BOUND)));
    }

    private static float[] images()
    {
        final Dataset d = BundledSample.fashionMnistTest(FashionMnist.STANDARD_NORMALIZATION).slice(0, IMAGES);
        return d.toFloatArray();
    }

    @Test
    void publicDescriptionHasNoWeightsAndTheSamePlan()
    {
        final ModelGraph m = model(ActivationKind.POLY);
        final ModelGraph pub = PublicModel.of(m);
        assertEquals(pub, PublicModel.of(pub), "idempotent");
        assertTrue(pub.nodes().stream().filter(n -> n.layer() instanceof Layer.Linear ||
            n.layer() instanceof Layer.Conv2d).flatMap(n -> n.layer().tensors().stream())
            .allMatch(t -> allZero(t.toArray())), "every weight and bias is zero");
        assertTrue(m.nodes().stream().flatMap(n -> n.layer().tensors().stream()).anyMatch(t -> !allZero(t.toArray())));
        assertEquals(PublicModel.compileChecked(m, F).plan().hashHex(),
            PlanCompiler.compile(pub, F).plan().hashHex());
    }

    @Test
    void publicDescriptionDropsTheActivationStatistics()
    {
        final ModelGraph m = model(ActivationKind.POLY);
        final List<ActivationStatistics.Site> sites = new ArrayList<>();
        for (final Node n : m.nodes())
        {
            if (ActivationStatistics.isSiteLayer(n.layer()))
            {
                sites.add(new ActivationStatistics.Site(n.name(), m.shape(n.name()).elements(), 0, 1.25f, 5));
            }
        }
        final ModelGraph measured = m.withHeader(m.header().withStatistics(new ActivationStatistics(1, sites)));
        final ModelGraph pub = PublicModel.of(measured);
        // measured with the private weights: not for the client and the dealer
        assertTrue(pub.header().statistics().isEmpty());
        assertEquals(PublicModel.of(m), pub, "the same public description as without statistics");
        final CompiledModel server = PublicModel.compileChecked(measured, F);
        assertEquals(sites.size(), server.plan().observedRanges().size(), "the server's plan still reports them");
        assertEquals(PlanCompiler.compile(pub, F).plan().hashHex(), server.plan().hashHex());
    }

    private static boolean allZero(final float[] a)
    {
        for (final float v : a)
        {
            if (v != 0)
            {
                return false;
            }
        }
        return true;
    }

    @Test
    void serverServesConcurrentAndSequentialSessionsOverTls() throws Exception
    {
        final ModelGraph m = model(ActivationKind.POLY);
        final List<String> log = Collections.synchronizedList(new ArrayList<>());
        final String deployment = "service";
        final ServiceOptions dealerOptions = ServiceOptions.of(Net.tls(deployment, Party.DEALER).build())
            .withLog(log::add);
        final ServiceOptions serverOptions = ServiceOptions.of(Net.tls(deployment, Party.SERVER).build())
            .withLimits(2, 4).withLog(log::add);
        final float[] x = images();
        final int[] expected = FixedPointInference.of(m, F).top1(x, IMAGES);
        try (DealerService dealer = DealerService.start(m, F, Net.LOOPBACK, dealerOptions);
             ServerService server = ServerService.start(m, F, Net.LOOPBACK, dealer.address(), serverOptions))
        {
            final RemoteClient client = RemoteClient.of(PublicModel.of(m), F, server.address(), dealer.address(),
                Net.tls(deployment, Party.CLIENT).build());
            final CompletableFuture<RemoteClient.Result> a = CompletableFuture.supplyAsync(
                () -> client.infer(x, IMAGES, 2, done -> { }));
            final CompletableFuture<RemoteClient.Result> b = CompletableFuture.supplyAsync(
                () -> client.infer(x, IMAGES, 3, done -> { }));
            assertArrayEquals(expected, a.get().output().top1());
            assertArrayEquals(expected, b.get().output().top1());
            final RemoteClient.Result c = client.infer(x, IMAGES, 1, done -> { });
            assertArrayEquals(expected, c.output().top1());
            assertEquals(IMAGES, c.onlineNanos().length);
            assertTrue(c.online().bytesReceived() > 0);
            waitFor(() -> server.completed() == 3 && dealer.completed() == 3, log);
            assertEquals(0, server.failed(), log.toString());
        }
        assertTrue(log.stream().anyMatch(l -> l.contains("done: queries 6 batch 1")), log.toString());
    }

    @Test
    void aFailedSessionLeavesTheServerServing() throws Exception
    {
        final ModelGraph m = model(ActivationKind.POLY);
        final ModelGraph other = model(ActivationKind.RELU);
        final List<String> log = Collections.synchronizedList(new ArrayList<>());
        final ServiceOptions options = ServiceOptions.of(Net.plain().build()).withLog(log::add);
        final float[] x = images();
        try (DealerService dealer = DealerService.start(m, F, Net.LOOPBACK, options);
             ServerService server = ServerService.start(m, F, Net.LOOPBACK, dealer.address(), options))
        {
            final RemoteClient wrong = RemoteClient.of(other, F, server.address(), dealer.address(),
                Net.plain().connectTimeout(Duration.ofSeconds(3)).build());
            final TransportException e = assertThrows(TransportException.class,
                () -> wrong.infer(x, IMAGES, 2, done -> { }));
            assertTrue(e.getMessage().contains("differs"), e.getMessage());
            final RemoteClient right = RemoteClient.of(m, F, server.address(), dealer.address(), Net.plain().build());
            assertArrayEquals(FixedPointInference.of(m, F).top1(x, IMAGES), right.infer(x, IMAGES, 2, d -> { })
                .output().top1());
            waitFor(() -> server.completed() == 1 && server.failed() == 1, log);
        }
    }

    @Test
    void aClientWhoseServerIsAbsentFailsWithinItsConnectTimeout() throws IOException
    {
        final int port;
        try (ServerSocket s = new ServerSocket(0))
        {
            port = s.getLocalPort();
        }
        final InetSocketAddress nowhere = new InetSocketAddress(Net.LOOPBACK.getAddress(), port);
        final RemoteClient client = RemoteClient.of(model(ActivationKind.POLY), F, nowhere, nowhere,
            Net.plain().connectTimeout(Duration.ofSeconds(1)).build());
        final long t0 = System.nanoTime();
        final TransportException e = assertThrows(TransportException.class, () -> client.infer(images(), 1, 1,
            d -> { }));
        assertTrue(System.nanoTime() - t0 < Duration.ofSeconds(10).toNanos());
        assertTrue(e.getMessage().startsWith("CLIENT: could not connect to SERVER at 127.0.0.1:" + port +
            " within 1 s"), e.getMessage());
    }

    @Test
    void routePreambleRoundTripAndBadInput()
    {
        final RoutePreamble.Route r = RoutePreamble.decode(RoutePreamble.encode(Party.DEALER, -5L));
        assertEquals(new RoutePreamble.Route(Party.DEALER, -5L), r);
        final ByteBuffer bad = RoutePreamble.encode(Party.CLIENT, 1);
        bad.put(0, (byte)0x16);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> RoutePreamble.decode(bad)).getMessage()
            .contains("not a route preamble"));
    }

    private static void waitFor(final BooleanSupplier condition, final List<String> log)
        throws InterruptedException
    {
        final long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.getAsBoolean())
        {
            if (System.nanoTime() > deadline)
            {
                throw new AssertionError("condition not met; log: " + log);
            }
            Thread.sleep(20);
        }
    }
}
