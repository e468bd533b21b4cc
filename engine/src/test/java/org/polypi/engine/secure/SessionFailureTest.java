package org.polypi.engine.secure;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.polypi.engine.plan.CompiledModel;
import org.polypi.engine.plan.PlanCompiler;
import org.polypi.engine.transport.InMemoryTransport;
import org.polypi.engine.transport.Party;
import org.polypi.model.Layer;
import org.polypi.model.ModelGraph;
import org.polypi.model.ModelHeader;
import org.polypi.model.ReferenceNetworks.Workload;
import org.polypi.model.Shape;
import org.polypi.model.Tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A party that fails or goes silent mid-query ends the session: the others end with an error naming that peer
 * within the receive timeout, the call throws with every party's error, and no session thread is left running. Also
 * the set-up's refusals: parties with different plans or batch sizes, and layers without a secure protocol.
 */
final class SessionFailureTest
{
    private static final Duration SHORT_TIMEOUT = Duration.ofMillis(500);
    /** The step after which the injected fault happens: the first activation of W1 (input, flatten, fc1, act1). */
    private static final int FAULT_STEP = 2;
    private static final int IMAGES = 4;

    private static CompiledModel mlp(final int f)
    {
        return TestData.model(Workload.MLP, TestData.Act.POLY2, f);
    }

    private static float[] images()
    {
        return TestData.images(Workload.MLP, IMAGES).toFloatArray();
    }

    @Test
    void aKilledClientMakesTheServerFailNamingIt()
    {
        final StepObserver kill = (party, query, step, share) ->
        {
            if (party == Party.CLIENT && step == FAULT_STEP)
            {
                throw new IllegalStateException("client killed by the test");
            }
        };
        final SessionFailedException e = runFailing(kill);
        assertTrue(e.failures().get(Party.CLIENT).getMessage().contains("killed by the test"), e.getMessage());
        final String server = e.failures().get(Party.SERVER).getMessage();
        assertTrue(server.contains("CLIENT") && server.contains("closed"), server);
    }

    @Test
    void aKilledServerMakesTheClientFailNamingIt()
    {
        final StepObserver kill = (party, query, step, share) ->
        {
            if (party == Party.SERVER && query == 1 && step == FAULT_STEP)
            {
                throw new IllegalStateException("server killed by the test");
            }
        };
        final SessionFailedException e = runFailing(kill);
        final String client = e.failures().get(Party.CLIENT).getMessage();
        assertTrue(client.contains("SERVER") && client.contains("closed"), client);
    }

    @Test
    void aSilentClientMakesTheServerTimeOutNamingIt()
    {
        final StepObserver hang = (party, query, step, share) ->
        {
            if (party == Party.CLIENT && step == FAULT_STEP)
            {
                try
                {
                    Thread.sleep(Duration.ofMinutes(1));
                }
                catch (final InterruptedException interrupted)
                {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("silent client interrupted", interrupted);
                }
            }
        };
        final long start = System.nanoTime();
        final SessionFailedException e = runFailing(hang);
        final Duration took = Duration.ofNanos(System.nanoTime() - start);
        final String server = e.failures().get(Party.SERVER).getMessage();
        assertTrue(server.contains("CLIENT sent nothing for " + SHORT_TIMEOUT), server);
        assertTrue(e.failures().containsKey(Party.CLIENT), "the silent client must be ended too: " + e.getMessage());
        assertTrue(took.compareTo(Duration.ofSeconds(20)) < 0, "the session must end promptly, took " + took);
    }

    /** Runs two queries of W1 with the fault injected; checks that the call fails and no thread survives it. */
    private static SessionFailedException runFailing(final StepObserver fault)
    {
        final Set<String> before = sessionThreads();
        final InMemorySession session = InMemorySession.start(mlp(12), SessionOptions.of(IMAGES / 2)
            .withTimeout(SHORT_TIMEOUT).withObserver(fault));
        final SessionFailedException e = assertThrows(SessionFailedException.class,
            () -> session.infer(images(), IMAGES));
        final IllegalStateException again = assertThrows(IllegalStateException.class,
            () -> session.infer(images(), IMAGES));
        assertTrue(again.getMessage().contains("failed"), again.getMessage());
        session.close();
        final Set<String> after = sessionThreads();
        after.removeAll(before);
        assertEquals(Set.of(), after, "session threads still alive after the failure");
        return e;
    }

    private static Set<String> sessionThreads()
    {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
            .filter(n -> n.startsWith("polypi-session-")).collect(Collectors.toSet());
    }

    @Test
    void partiesWithDifferentPlansOrBatchesRefuseEachOther() throws Exception
    {
        final CompiledModel twelve = mlp(12);
        final CompiledModel sixteen = mlp(16);
        assertTrue(!twelve.plan().hashHex().equals(sixteen.plan().hashHex()));
        final String planMismatch = handshake(twelve, sixteen, 2, 2);
        assertTrue(planMismatch.contains("runs plan " + sixteen.plan().hashHex()) &&
            planMismatch.contains(twelve.plan().hashHex()), planMismatch);
        final String batchMismatch = handshake(twelve, twelve, 2, 3);
        assertTrue(batchMismatch.contains("expects batches of 3 items, this party 2"), batchMismatch);
    }

    /** The server's error when it, the dealer (same plan and batch) and a client with another plan or batch meet. */
    private static String handshake(final CompiledModel server, final CompiledModel client, final int batch,
                                    final int clientBatch) throws Exception
    {
        final InMemoryTransport[] t = InMemoryTransport.connectThree(SHORT_TIMEOUT);
        final SessionOptions options = SessionOptions.of(batch);
        final ExecutorService pool = Executors.newFixedThreadPool(3);
        try (SecureServer s = new SecureServer(server, t[0], options);
             SecureClient c = new SecureClient(client.plan(), t[1], SessionOptions.of(clientBatch));
             SecureDealer d = new SecureDealer(server.plan(), t[2], options))
        {
            final Future<?> fs = pool.submit(s::setup);
            final Future<?> fc = pool.submit(c::setup);
            final Future<?> fd = pool.submit(d::setup);
            final Throwable clientError = assertThrows(Exception.class, () -> fc.get(10, TimeUnit.SECONDS)).getCause();
            assertTrue(clientError instanceof IllegalStateException, String.valueOf(clientError));
            // The server fails on its own (the client's handshake was sent before the client failed); only then
            // are the transports closed to release the dealer: closing first could drain the client's message before
            // the server read it, and the server would then report the closed connection instead of the mismatch.
            final String serverError = assertThrows(Exception.class, () -> fs.get(10, TimeUnit.SECONDS)).getCause()
                .getMessage();
            for (final InMemoryTransport x : t)
            {
                x.close();
            }
            assertThrows(Exception.class, () -> fd.get(10, TimeUnit.SECONDS));
            return serverError;
        }
        finally
        {
            pool.shutdownNow();
            assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void layersWithoutASecureProtocolAreRefusedBeforeAnythingStarts()
    {
        // A ChannelPoly that is a graph output cannot be folded into a linear layer: its private coefficients have
        // no one-round protocol, so the plan keeps it as a reference-only step.
        final Shape in = Shape.of(2, 3, 3);
        final ModelGraph g = ModelGraph.builder(new ModelHeader("unfoldable", in, List.of(), 12, 5f)).input("x", in)
            .add("conv", Layer.Conv2d.of(Tensor.filled(Shape.of(2, 2, 1, 1), 0.5f), null, 1, 0), "x")
            .add("cp", new Layer.ChannelPoly(Tensor.filled(Shape.of(2, 3), 0.25f)), "conv")
            .output("cp").build();
        final CompiledModel model = PlanCompiler.compile(g, 12);
        final Set<String> before = sessionThreads();
        final UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
            () -> InMemorySession.start(model, SessionOptions.of(1)));
        assertTrue(e.getMessage().contains("layer cp") && e.getMessage().contains("folded"), e.getMessage());
        final Set<String> after = sessionThreads();
        after.removeAll(before);
        assertEquals(Set.of(), after);
    }
}
