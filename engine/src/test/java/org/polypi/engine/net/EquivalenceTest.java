package org.polypi.engine.net;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.polypi.engine.protocol.Dealer;
import org.polypi.engine.protocol.FaithfulTruncation;
import org.polypi.engine.protocol.FaithfulTruncationPair;
import org.polypi.engine.protocol.MaterialReceiver;
import org.polypi.engine.protocol.PartySession;
import org.polypi.engine.transport.CostMeter;
import org.polypi.engine.transport.InMemoryTransport;
import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.Transport;
import org.polypi.kernels.RingTensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An existing protocol (faithful truncation: dealer material, the seed exchange, one opening) run over TCP gives
 * byte for byte what it gives over {@link InMemoryTransport}: the same outputs, the same messages received by every
 * party, and the same meter counts, step by step.
 */
final class EquivalenceTest
{
    private static final int SHIFT = 16;
    private static final int N = 40_000;
    private static final long DEALER_SEED = 1234;

    /** What one run produced. */
    private record Run(long[] server, long[] client, Map<Party, byte[]> received, Map<Party, List<String>> meters)
    {
    }

    @ParameterizedTest
    @ValueSource(strings = {"plaintext", "tls", "plaintext, shaped lan-1g"})
    void faithfulTruncationOverTcpEqualsInMemory(final String mode) throws Exception
    {
        final Run reference;
        final InMemoryTransport[] mem = InMemoryTransport.connectThree(Duration.ofSeconds(10));
        try
        {
            reference = run(mem);
        }
        finally
        {
            Net.closeAll(mem);
        }
        final TcpTransport[] tcp = Net.connect(p -> (mode.startsWith("tls") ? Net.tls("alpha", p) : Net.plain())
            .build(), 31);
        final Run overTcp;
        try
        {
            if (mode.contains("shaped"))
            {
                final Transport[] shaped = new Transport[tcp.length];
                for (int i = 0; i < tcp.length; i++)
                {
                    shaped[i] = ShapedTransport.wrap(tcp[i], NetworkProfile.LAN_1G);
                }
                try
                {
                    overTcp = run(shaped);
                }
                finally
                {
                    Net.closeAll(shaped);
                }
            }
            else
            {
                overTcp = run(tcp);
            }
        }
        finally
        {
            Net.closeAll(tcp);
        }
        assertArrayEquals(reference.server(), overTcp.server());
        assertArrayEquals(reference.client(), overTcp.client());
        for (final Party p : Party.values())
        {
            assertArrayEquals(reference.received().get(p), overTcp.received().get(p), "bytes received by " + p);
            assertEquals(reference.meters().get(p), overTcp.meters().get(p), "meter of " + p);
        }
        // A sanity check that the protocol ran: the result is x >> 16 up to one unit.
        final long[] x = inputs();
        for (int i = 0; i < N; i += 101)
        {
            final long y = reference.server()[i] + reference.client()[i];
            assertTrue(y == x[i] >> SHIFT || y == (x[i] >> SHIFT) + 1, "x = " + x[i] + ", y = " + y);
        }
    }

    private static long[] inputs()
    {
        final SplittableRandom rnd = new SplittableRandom(5);
        final long[] x = new long[N];
        for (int i = 0; i < N; i++)
        {
            x[i] = rnd.nextLong(-(1L << 40), 1L << 40);
        }
        return x;
    }

    private static Run run(final Transport[] transports) throws Exception
    {
        final long[] x = inputs();
        final SplittableRandom rnd = new SplittableRandom(6);
        final long[][] xs = new long[2][N];
        for (int i = 0; i < N; i++)
        {
            xs[0][i] = rnd.nextLong();
            xs[1][i] = x[i] - xs[0][i];
        }
        final Recording[] rec = new Recording[transports.length];
        for (int i = 0; i < rec.length; i++)
        {
            rec[i] = new Recording(transports[i]);
        }
        final Map<Party, Net.Result<long[]>> r = Net.runThree(p -> () ->
        {
            final Transport t = rec[p.id()];
            if (p == Party.DEALER)
            {
                final byte[] seed = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(DEALER_SEED)
                    .putLong(~DEALER_SEED).array();
                try (Dealer d = new Dealer(t, seed))
                {
                    d.start();
                    d.truncationPair(SHIFT, N);
                    d.truncationPair(SHIFT, N / 4);
                }
                return null;
            }
            try (Arena arena = Arena.ofShared())
            {
                final PartySession s = new PartySession(t, arena);
                final MaterialReceiver m = MaterialReceiver.connect(s);
                final FaithfulTruncationPair pair = m.truncationPair(s, SHIFT, N);
                final FaithfulTruncationPair small = m.truncationPair(s, SHIFT, N / 4);
                t.meter().enter("online", "truncate");
                final long[] y = FaithfulTruncation.truncate(s, RingTensor.of(arena, xs[p.id()], N), pair).toArray();
                t.meter().enter("online", "truncate-small");
                final long[] head = java.util.Arrays.copyOf(xs[p.id()], N / 4);
                FaithfulTruncation.truncate(s, RingTensor.of(arena, head, N / 4), small);
                return y;
            }
        });
        final Map<Party, byte[]> received = new java.util.EnumMap<>(Party.class);
        final Map<Party, List<String>> meters = new java.util.EnumMap<>(Party.class);
        for (final Party p : Party.values())
        {
            received.put(p, rec[p.id()].bytes.toByteArray());
            final List<String> m = new ArrayList<>();
            for (final CostMeter.Entry e : rec[p.id()].meter().entries())
            {
                m.add(e.phase() + "/" + e.step() + " rounds=" + e.rounds() + " sent=" + e.bytesSent() + "/" +
                    e.messagesSent() + " received=" + e.bytesReceived() + "/" + e.messagesReceived());
            }
            meters.put(p, m);
        }
        return new Run(r.get(Party.SERVER).get(), r.get(Party.CLIENT).get(), received, meters);
    }

    /** Keeps a copy of every message received, in order. */
    private static final class Recording implements Transport
    {
        private final Transport inner;
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        Recording(final Transport inner)
        {
            this.inner = inner;
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
            bytes.write(from.id());
            bytes.writeBytes(into.toArray(ValueLayout.JAVA_BYTE));
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
