package org.polypi.engine.secure;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.polypi.engine.plan.CompiledModel;
import org.polypi.engine.plan.Plan;
import org.polypi.engine.plan.PlanCompiler;
import org.polypi.engine.transport.CostMeter;
import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.Transport;
import org.polypi.model.Layer;
import org.polypi.model.ModelGraph;
import org.polypi.model.ModelHeader;
import org.polypi.model.Shape;
import org.polypi.model.Tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.polypi.engine.protocol.Uniformity.bitBalance;
import static org.polypi.engine.protocol.Uniformity.sameBytes;
import static org.polypi.engine.protocol.Uniformity.uniformBytes;

/**
 * What each computing party receives from the other, on the wire, over a whole secure inference: the client gets
 * the weights only as {@code W - B} (uniform even for constant weights) and uniform openings; the server gets a seed
 * and uniform openings, the same in distribution for a zero and a structured input, and nothing after the last
 * opening (the logits go to the client only). Statistics as in the protocol tests: per-bit balance and byte-histogram
 * chi-square against uniform and between the two runs; plus the structure: message sizes per step equal the plan's.
 */
final class SecurePrivacyTest
{
    private static final int FEATURES = 256;
    private static final int HIDDEN = 64;
    private static final int CLASSES = 10;
    private static final int F = 12;
    private static final int BATCH = 16;

    /** fc 256-64 with CONSTANT weights, a public quadratic, fc 64-10: structure a leak would show at once. */
    private static CompiledModel structuredModel()
    {
        return structuredModel(0.015625f, 0.25f, -0.5f, false);
    }

    /** The same architecture with the given constant weights and bias, and a quadratic or a ReLU. */
    private static CompiledModel structuredModel(final float w1, final float b1, final float w2, final boolean relu)
    {
        final Shape in = Shape.of(FEATURES);
        final ModelGraph g = ModelGraph.builder(new ModelHeader("structured", in, java.util.List.of(), F, 5f))
            .input("x", in)
            .add("fc1", Layer.Linear.of(Tensor.filled(Shape.of(HIDDEN, FEATURES), w1),
                Tensor.filled(Shape.of(HIDDEN), b1)), "x")
            .add("act1", relu ? new Layer.ReLU() : Layer.Poly.of(0.25f, 0.5f, 0.125f), "fc1")
            .add("fc2", Layer.Linear.of(Tensor.filled(Shape.of(CLASSES, HIDDEN), w2), null), "act1")
            .output("fc2").build();
        return PlanCompiler.compile(g, F);
    }

    /**
     * The server's secret is its weights: the client's whole view (the set-up's {@code W - B} and every online
     * message before the logits) is uniform and distributed alike for two different weight sets, with the same input,
     * for a polynomial and for a ReLU network (whose comparison rounds open packed masked bits). For the ReLU network
     * the server's view is checked too, for a zero and a structured input.
     */
    @ParameterizedTest(name = "relu={0}")
    @ValueSource(booleans = {false, true})
    void theClientsViewDoesNotDependOnTheWeights(final boolean relu)
    {
        final CompiledModel a = structuredModel(0.015625f, 0.25f, -0.5f, relu);
        final CompiledModel b = structuredModel(-0.375f, -1f, 0.125f, relu);
        assertEquals(a.plan().hashHex(), b.plan().hashHex(), "the weights are not part of the public plan");
        final float[] structured = new float[BATCH * FEATURES];
        for (int i = 0; i < structured.length; i++)
        {
            structured[i] = (i % 5) * 0.5f - 1f;
        }
        final Map<Party, Traffic> ta = run(a, structured, 4);
        final Map<Party, Traffic> tb = run(b, structured, 5);
        final long[] setupA = words(ta.get(Party.CLIENT).setup, 1, 0);
        final long[] setupB = words(tb.get(Party.CLIENT).setup, 1, 0);
        final long[] onlineA = words(ta.get(Party.CLIENT).query, 0, 1);
        final long[] onlineB = words(tb.get(Party.CLIENT).query, 0, 1);
        for (final long[][] pair : new long[][][]{{setupA, setupB}, {onlineA, onlineB}})
        {
            final String what = "client " + (pair[0] == setupA ? "set-up" : "online") + ", relu=" + relu;
            assertEquals(pair[0].length, pair[1].length, what);
            assertNull(bitBalance(pair[0]), what + " (weights A)");
            assertNull(bitBalance(pair[1]), what + " (weights B)");
            assertNull(uniformBytes(pair[0]), what + " (weights A)");
            assertNull(uniformBytes(pair[1]), what + " (weights B)");
            assertNull(sameBytes(pair[0], pair[1]), what + ", two weight sets");
        }
        if (relu)
        {
            final long[] serverZero = words(run(a, new float[BATCH * FEATURES], 6).get(Party.SERVER).query, 1, 0);
            final long[] serverStructured = words(ta.get(Party.SERVER).query, 1, 0);
            assertNull(bitBalance(serverZero), "server online, relu, zero input");
            assertNull(bitBalance(serverStructured), "server online, relu, structured input");
            assertNull(uniformBytes(serverZero), "server online, relu, zero input");
            assertNull(sameBytes(serverZero, serverStructured), "server online, relu, two inputs");
        }
    }

    @Test
    void whatEachPartyReceivesIsUniformWhateverTheSecrets()
    {
        final CompiledModel model = structuredModel();
        final float[] zeros = new float[BATCH * FEATURES];
        final float[] structured = new float[BATCH * FEATURES];
        for (int i = 0; i < structured.length; i++)
        {
            structured[i] = (i % 7) * 0.25f - 0.5f;
        }
        final Map<Party, Traffic> a = run(model, zeros, 1);
        final Map<Party, Traffic> b = run(model, structured, 2);
        // The client's whole set-up view of the model: F = W - B for constant W, after the (public) handshake.
        final long[] setupA = words(a.get(Party.CLIENT).setup, 1, 0);
        assertEquals(HIDDEN * FEATURES + CLASSES * HIDDEN, setupA.length,
            "the client receives exactly the masked weights in the set-up");
        assertNull(bitBalance(setupA), "client, set-up");
        assertNull(uniformBytes(setupA), "client, set-up");
        assertNull(sameBytes(setupA, words(b.get(Party.CLIENT).setup, 1, 0)), "client, set-up, two runs");
        // Online the server receives the input seed (independent of the input), then only openings.
        final long[] serverA = words(a.get(Party.SERVER).query, 1, 0);
        final long[] serverB = words(b.get(Party.SERVER).query, 1, 0);
        // The client receives openings, then the server's share of the logits (which it is meant to read).
        final long[] clientA = words(a.get(Party.CLIENT).query, 0, 1);
        final long[] clientB = words(b.get(Party.CLIENT).query, 0, 1);
        assertEquals(BATCH * (FEATURES + HIDDEN + HIDDEN + CLASSES), serverA.length, "server's online words");
        assertEquals(serverA.length, clientA.length, "both open the same values");
        for (final long[][] pair : new long[][][]{{serverA, serverB}, {clientA, clientB}})
        {
            final String who = (pair[0] == serverA ? "server" : "client") + " receives online";
            assertEquals(pair[0].length, pair[1].length, who);
            assertNull(bitBalance(pair[0]), who + " (zero input)");
            assertNull(bitBalance(pair[1]), who + " (structured input)");
            assertNull(uniformBytes(pair[0]), who + " (zero input)");
            assertNull(uniformBytes(pair[1]), who + " (structured input)");
            assertNull(sameBytes(pair[0], pair[1]), who);
        }
    }

    @Test
    void theServerReceivesNothingAfterTheLastOpeningAndTheClientNothingFromTheDealer()
    {
        final CompiledModel model = structuredModel();
        final Map<Party, Traffic> t = run(model, new float[BATCH * FEATURES], 3);
        final java.util.List<byte[]> serverQuery = t.get(Party.SERVER).query;
        final byte[] last = serverQuery.getLast();
        // The last thing the server receives is the client's opening of the output truncation, masked by fresh r.
        assertEquals((long)BATCH * CLASSES * Long.BYTES, last.length);
        assertEquals(Plan.HANDSHAKE_BYTES + Plan.SEED_BYTES, t.get(Party.CLIENT).fromDealer,
            "the client receives only the handshake and its seed from the dealer");
    }

    @Test
    void theStatisticsRejectStreamsThatCarryTheSecret()
    {
        final long[] constant = new long[8192];
        Arrays.fill(constant, 0x1234_5678L);
        assertNotNull(bitBalance(constant));
        final long[] small = new long[8192];
        for (int i = 0; i < small.length; i++)
        {
            small[i] = (long)i << 12;
        }
        assertNotNull(bitBalance(small));
        assertNotNull(uniformBytes(small));
    }

    /** One session of {@code BATCH} items; what each party received from its computing peer. */
    private static Map<Party, Traffic> run(final CompiledModel model, final float[] inputs, final long seed)
    {
        final Map<Party, Traffic> traffic = new EnumMap<>(Party.class);
        try (InMemorySession session = InMemorySession.start(model, SessionOptions.of(BATCH)
            .withDealerSeed(TestData.seed(seed)), t ->
            {
                final Traffic r = new Traffic(t);
                traffic.put(t.self(), r);
                return r;
            }))
        {
            // The set-up ran on the parties' threads and has ended: what follows belongs to the query.
            traffic.values().forEach(Traffic::setupDone);
            session.infer(inputs, BATCH);
        }
        return traffic;
    }

    /** The messages' words, without the first {@code skipFirst} and the last {@code skipLast} messages. */
    private static long[] words(final java.util.List<byte[]> messages, final int skipFirst, final int skipLast)
    {
        final ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (int i = skipFirst; i < messages.size() - skipLast; i++)
        {
            all.writeBytes(messages.get(i));
        }
        final byte[] bytes = all.toByteArray();
        final long[] words = new long[bytes.length / Long.BYTES];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(words);
        return words;
    }

    /** Records the messages a party receives from its computing peer (set-up, then query) and counts the dealer's. */
    private static final class Traffic implements Transport
    {
        private final Transport inner;
        private final java.util.List<byte[]> setup = new java.util.ArrayList<>();
        private final java.util.List<byte[]> query = new java.util.ArrayList<>();
        private volatile boolean inQuery;
        private long fromDealer;

        Traffic(final Transport inner)
        {
            this.inner = inner;
        }

        void setupDone()
        {
            inQuery = true;
        }

        @Override
        public Party self()
        {
            return inner.self();
        }

        @Override
        public void send(final Party to, final MemorySegment message)
        {
            inner.send(to, message);
        }

        @Override
        public void receive(final Party from, final MemorySegment into)
        {
            inner.receive(from, into);
            if (from == Party.DEALER)
            {
                fromDealer += into.byteSize();
                return;
            }
            (inQuery ? query : setup).add(into.toArray(ValueLayout.JAVA_BYTE));
        }

        @Override
        public CostMeter meter()
        {
            return inner.meter();
        }

        @Override
        public void close()
        {
            inner.close();
        }
    }
}
