package org.polypi.engine.net;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.polypi.engine.transport.InMemoryTransport;
import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.Transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The shaping decorator's latency and bandwidth, measured on a few messages over {@link InMemoryTransport} with
 * generous bounds: never faster than the profile allows (that is exact by construction), and not grossly slower.
 */
final class ShapedTransportTest
{
    private static final Party S = Party.SERVER;
    private static final Party C = Party.CLIENT;
    /** 40 ms round trip, 8 MB/s (64 Mbit/s): delays large enough to measure, small enough to keep the test short. */
    private static final NetworkProfile PROFILE = new NetworkProfile("test", Duration.ofMillis(40), 64_000_000L);
    private static final long HALF_RTT_NS = Duration.ofMillis(20).toNanos();
    /**
     * A long round trip for telling overlapping latencies from serialized ones: the gap between two back-to-back
     * messages is about 0 if they overlap and at least half a round trip if not, and a loaded machine's scheduling
     * (tens of ms seen while training ran) must not blur the two.
     */
    private static final NetworkProfile SLOW_PROFILE = new NetworkProfile("slow", Duration.ofMillis(400), 64_000_000L);
    private static final long SLOW_HALF_RTT_NS = Duration.ofMillis(200).toNanos();
    /** Allowance for a loaded machine's scheduling on top of the expected time. */
    private static final long SLACK_NS = Duration.ofMillis(400).toNanos();

    private static Transport[] shaped()
    {
        return shaped(PROFILE);
    }

    private static Transport[] shaped(final NetworkProfile profile)
    {
        final InMemoryTransport[] mem = InMemoryTransport.connectThree(Duration.ofSeconds(10));
        final Transport[] t = new Transport[mem.length];
        for (int i = 0; i < mem.length; i++)
        {
            t[i] = new ShapedTransport(mem[i], profile);
        }
        return t;
    }

    @Test
    void messagesArriveHalfARoundTripLaterAndBackToBackOnesShareTheLatency() throws Exception
    {
        final Transport[] t = shaped(SLOW_PROFILE);
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment m = arena.allocate(8);
            final long start = System.nanoTime();
            m.set(ValueLayout.JAVA_LONG, 0, 1);
            t[S.id()].send(C, m);
            m.set(ValueLayout.JAVA_LONG, 0, 2); // reused at once: the line holds a copy
            t[S.id()].send(C, m);
            final MemorySegment x = arena.allocate(8);
            t[C.id()].receive(S, x);
            final long first = System.nanoTime() - start;
            assertEquals(1, x.get(ValueLayout.JAVA_LONG, 0));
            t[C.id()].receive(S, x);
            final long second = System.nanoTime() - start;
            assertEquals(2, x.get(ValueLayout.JAVA_LONG, 0));
            assertTrue(first >= SLOW_HALF_RTT_NS, "not before half a round trip: " + first / 1000 + " us");
            assertTrue(first < SLOW_HALF_RTT_NS + SLACK_NS, "about half a round trip: " + first / 1000 + " us");
            assertTrue(second - first < SLOW_HALF_RTT_NS, "the second one did not wait for its own latency after " +
                "the first: it arrived " + (second - first) / 1000 + " us after it");
            assertEquals(16, t[S.id()].meter().total(null).bytesSent());
            assertEquals(16, t[C.id()].meter().total(null).bytesReceived());
        }
        finally
        {
            Net.closeAll(t);
        }
    }

    @Test
    void largeMessagesArePacedAtTheBandwidth() throws Exception
    {
        final Transport[] t = shaped();
        final int messages = 4;
        final long size = 256 << 10;
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment m = arena.allocate(size);
            final long start = System.nanoTime();
            for (int i = 0; i < messages; i++)
            {
                t[S.id()].send(C, m);
            }
            final long sent = System.nanoTime() - start;
            for (int i = 0; i < messages; i++)
            {
                t[C.id()].receive(S, m);
            }
            final long took = System.nanoTime() - start;
            // 1 MiB at 8 MB/s, less the burst that leaves at once, plus half a round trip: about 143 ms.
            final long expected = (long)((messages * size - ShapedTransport.BURST_BYTES) / PROFILE.bytesPerSecond() *
                1e9) + HALF_RTT_NS;
            assertTrue(took >= expected, "not faster than the bandwidth: " + took / 1000 + " us < " + expected / 1000);
            assertTrue(took < expected + SLACK_NS, "about the bandwidth: " + took / 1000 + " us, expected " +
                expected / 1000);
            assertTrue(sent < expected / 2, "sending does not wait for the wire: " + sent / 1000 + " us");
        }
        finally
        {
            Net.closeAll(t);
        }
    }

    @Test
    void closeDeliversWhatIsInFlightAndLanShapesNothing() throws Exception
    {
        final Transport[] t = shaped();
        try (Arena arena = Arena.ofConfined())
        {
            t[S.id()].send(C, arena.allocateFrom(ValueLayout.JAVA_LONG, 9));
            t[S.id()].close(); // waits for the line: the message is delivered before the close marker
            final MemorySegment x = arena.allocate(8);
            t[C.id()].receive(S, x);
            assertEquals(9, x.get(ValueLayout.JAVA_LONG, 0));
            assertThrows(org.polypi.engine.transport.TransportException.class,
                () -> t[S.id()].send(C, arena.allocate(8)));
            assertThrows(IllegalArgumentException.class, () -> t[C.id()].send(C, arena.allocate(8)));
        }
        finally
        {
            Net.closeAll(t);
        }
        final InMemoryTransport[] mem = InMemoryTransport.connectThree(Duration.ofSeconds(1));
        assertSame(mem[0], ShapedTransport.wrap(mem[0], NetworkProfile.LAN));
        assertTrue(ShapedTransport.wrap(mem[0], NetworkProfile.WAN) instanceof ShapedTransport);
        Net.closeAll(mem);
        assertEquals(NetworkProfile.LAN_1G, NetworkProfile.byName("LAN_1G"));
        assertEquals(Duration.ofMillis(50), NetworkProfile.byName("wan").rtt());
        assertThrows(IllegalArgumentException.class, () -> NetworkProfile.byName("dsl"));
    }

    @Test
    void tokenBucketLetsTheBurstThroughThenPaces()
    {
        final TokenBucket b = new TokenBucket(1e6, 1000, 0); // 1 byte per microsecond
        assertEquals(0, b.reserve(1000, 0), "the burst leaves at once");
        assertEquals(500_000, b.reserve(500, 0), "then 500 bytes take 500 us");
        assertEquals(1_500_000, b.reserve(1000, 100_000), "and later ones queue behind them");
        assertEquals(10_000_000, b.reserve(1000, 10_000_000), "after a quiet period the burst is back");
    }
}
