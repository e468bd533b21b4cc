package org.polypi.engine.net;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.TransportException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code Transport} contract over real loopback connections (plaintext; TLS has its own test). */
final class TcpTransportTest
{
    private static final Party S = Party.SERVER;
    private static final Party C = Party.CLIENT;
    private static final Party D = Party.DEALER;
    /** Sizes around every boundary of the send path: empty, tiny, the small-frame limit, chunks, several chunks. */
    private static final long[] SIZES = {0, 1, 8, 24, 65_512, 65_513, 100_000, (1 << 20) - 24, 1 << 20,
        3 * (1 << 20) + 5};

    private static byte[] random(final long n, final long seed)
    {
        final byte[] b = new byte[(int)n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    @Test
    void deliversWholeMessagesOfEverySizeInOrderAndCountsThem() throws Exception
    {
        final TcpTransport[] t = Net.connect(p -> Net.plain().build(), 1);
        try
        {
            final Map<Party, Net.Result<Object>> r = Net.runThree(p -> () ->
            {
                try (Arena arena = Arena.ofConfined())
                {
                    if (p == S)
                    {
                        final MemorySegment m = arena.allocate(SIZES[SIZES.length - 1]);
                        for (int i = 0; i < SIZES.length; i++)
                        {
                            // Off-heap and heap messages alike; the segment is overwritten right after each send.
                            final byte[] b = random(SIZES[i], i);
                            final MemorySegment msg = i % 2 == 0 ? m.asSlice(0, b.length) : MemorySegment.ofArray(b);
                            MemorySegment.copy(b, 0, m, ValueLayout.JAVA_BYTE, 0, b.length);
                            t[S.id()].send(C, msg);
                            msg.fill((byte)0x5A);
                        }
                        t[S.id()].send(D, arena.allocateFrom(ValueLayout.JAVA_LONG, 42));
                    }
                    else if (p == C)
                    {
                        for (int i = 0; i < SIZES.length; i++)
                        {
                            // Into off-heap and heap segments alike.
                            final MemorySegment into = i % 3 == 0 ? MemorySegment.ofArray(new byte[(int)SIZES[i]]) :
                                arena.allocate(SIZES[i]);
                            t[C.id()].receive(S, into);
                            assertArrayEquals(random(SIZES[i], i), into.toArray(ValueLayout.JAVA_BYTE), "message " + i);
                        }
                    }
                    else
                    {
                        final MemorySegment x = arena.allocate(8);
                        t[D.id()].receive(S, x);
                        assertEquals(42, x.get(ValueLayout.JAVA_LONG, 0));
                    }
                }
                return null;
            });
            for (final Party p : Party.values())
            {
                r.get(p).get();
            }
            long total = 0;
            for (final long s : SIZES)
            {
                total += s;
            }
            assertEquals(total + 8, t[S.id()].meter().total(null).bytesSent());
            assertEquals(SIZES.length + 1, t[S.id()].meter().total(null).messagesSent());
            assertEquals(total, t[C.id()].meter().total(null).bytesReceived());
            final WireStats sc = t[S.id()].stats(C);
            assertEquals(total + (long)FrameHeader.LENGTH * SIZES.length, sc.frameBytesSent());
            assertEquals(sc.frameBytesSent(), t[C.id()].stats(S).frameBytesReceived());
            assertTrue(sc.socketBytesSent() > sc.frameBytesSent(), "the handshake also crossed the wire: " + sc);
        }
        finally
        {
            Net.closeAll(t);
        }
    }

    /** Both computing parties send 8 MiB before either receives: the send path must not wait for the reader. */
    @Test
    void fullDuplexLargeExchangeDoesNotDeadlock() throws Exception
    {
        final int n = 1 << 20;
        final TcpTransport[] t = Net.connect(p -> Net.plain().build(), 2);
        try
        {
            final Map<Party, Net.Result<long[]>> r = Net.runThree(p -> () ->
            {
                if (p == D)
                {
                    return null;
                }
                try (Arena arena = Arena.ofConfined())
                {
                    final MemorySegment mine = arena.allocate(ValueLayout.JAVA_LONG, n);
                    for (int i = 0; i < n; i++)
                    {
                        mine.setAtIndex(ValueLayout.JAVA_LONG, i, (long)i * 31 + p.id());
                    }
                    t[p.id()].send(p.peer(), mine);
                    final MemorySegment theirs = arena.allocate(ValueLayout.JAVA_LONG, n);
                    t[p.id()].receive(p.peer(), theirs);
                    return theirs.toArray(ValueLayout.JAVA_LONG);
                }
            });
            for (final Party p : new Party[]{S, C})
            {
                final long[] got = r.get(p).get();
                for (int i = 0; i < n; i += 4099)
                {
                    assertEquals((long)i * 31 + p.peer().id(), got[i]);
                }
            }
        }
        finally
        {
            Net.closeAll(t);
        }
    }

    /** A burst of small messages (batched on the wire) arrives complete and in order, with busy-polling reads. */
    @Test
    void burstOfSmallMessagesArrivesInOrderWithBusyPolling() throws Exception
    {
        final int count = 2000;
        final TcpTransport[] t = Net.connect(p -> Net.plain().busyPoll(true).build(), 3);
        try
        {
            final Map<Party, Net.Result<Object>> r = Net.runThree(p -> () ->
            {
                try (Arena arena = Arena.ofConfined())
                {
                    final MemorySegment m = arena.allocate(16);
                    for (int i = 0; i < count; i++)
                    {
                        if (p == D)
                        {
                            m.set(ValueLayout.JAVA_LONG, 0, i);
                            m.set(ValueLayout.JAVA_LONG, 8, -i);
                            t[D.id()].send(S, m);
                            t[D.id()].send(C, m.asSlice(0, 8));
                        }
                        else
                        {
                            final MemorySegment into = m.asSlice(0, p == S ? 16 : 8);
                            t[p.id()].receive(D, into);
                            assertEquals(i, into.get(ValueLayout.JAVA_LONG, 0));
                            if (p == S)
                            {
                                assertEquals(-i, into.get(ValueLayout.JAVA_LONG, 8));
                            }
                        }
                    }
                }
                return null;
            });
            for (final Party p : Party.values())
            {
                r.get(p).get();
            }
            assertEquals((long)count * 24, t[S.id()].meter().total(null).bytesReceived() +
                t[C.id()].meter().total(null).bytesReceived());
        }
        finally
        {
            Net.closeAll(t);
        }
    }

    @Test
    void wrongSizeIsAnErrorNamingThePeer() throws Exception
    {
        final TcpTransport[] t = Net.connect(p -> Net.plain().build(), 4);
        try (Arena arena = Arena.ofConfined())
        {
            t[D.id()].send(S, arena.allocate(24));
            final TransportException e = assertThrows(TransportException.class,
                () -> t[S.id()].receive(D, arena.allocate(16)));
            assertEquals("SERVER: DEALER sent 24 bytes where 16 were expected", e.getMessage());
            // The stream is out of step now: later receives repeat the error instead of reading garbage.
            assertEquals(e.getMessage(), assertThrows(TransportException.class,
                () -> t[S.id()].receive(D, arena.allocate(8))).getMessage());
        }
        finally
        {
            Net.closeAll(t);
        }
    }

    @Test
    void silentPeerTimesOutNamingThePeer() throws Exception
    {
        final TcpTransport[] t = Net.connect(p -> Net.plain().timeout(Duration.ofMillis(300)).build(), 5);
        try (Arena arena = Arena.ofConfined())
        {
            final long start = System.nanoTime();
            final TransportException e = assertThrows(TransportException.class,
                () -> t[C.id()].receive(D, arena.allocate(8192)));
            assertEquals("CLIENT: DEALER sent nothing for 300 ms (expected 8192 bytes)", e.getMessage());
            assertTrue(System.nanoTime() - start >= Duration.ofMillis(300).toNanos(), "waited the timeout");
        }
        finally
        {
            Net.closeAll(t);
        }
    }

    @Test
    void closedPeerFailsFastAfterItsLastMessage() throws Exception
    {
        final TcpTransport[] t = Net.connect(p -> Net.plain().timeout(Duration.ofSeconds(20)).build(), 6);
        try (Arena arena = Arena.ofConfined())
        {
            t[S.id()].send(C, arena.allocateFrom(ValueLayout.JAVA_LONG, 7));
            t[S.id()].close();
            final MemorySegment x = arena.allocate(8);
            t[C.id()].receive(S, x); // still delivered
            assertEquals(7, x.get(ValueLayout.JAVA_LONG, 0));
            final long start = System.nanoTime();
            final TransportException e = assertThrows(TransportException.class,
                () -> t[C.id()].receive(S, arena.allocate(8)));
            assertEquals("CLIENT: SERVER closed the connection (expected 8 bytes)", e.getMessage());
            assertTrue(System.nanoTime() - start < Duration.ofSeconds(10).toNanos(), "must not wait for the timeout");
            assertThrows(TransportException.class, () -> t[S.id()].send(C, arena.allocate(8)));
            assertThrows(TransportException.class, () -> t[D.id()].receive(S, arena.allocate(8)));
        }
        finally
        {
            Net.closeAll(t);
        }
    }

    @Test
    void selfMessagesAndMissingTlsChoiceAreRejected() throws Exception
    {
        final TcpTransport[] t = Net.connect(p -> Net.plain().build(), 7);
        try (Arena arena = Arena.ofConfined())
        {
            assertThrows(IllegalArgumentException.class, () -> t[0].send(S, arena.allocate(8)));
            assertThrows(IllegalArgumentException.class, () -> t[1].receive(C, arena.allocate(8)));
        }
        finally
        {
            Net.closeAll(t);
        }
        final IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> TcpOptions.builder().build());
        assertTrue(e.getMessage().contains("TLS is on by default"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TcpOptions.builder().chunkBytes(1024));
        assertThrows(IllegalArgumentException.class, () -> TcpOptions.builder().timeout(Duration.ZERO));
    }

    @Test
    void connectRetriesUntilTheListenerAppearsAndGivesUpAfterTheDeadline() throws Exception
    {
        // Nobody listens on the port of a closed listener: the dial retries, then fails naming peer and address.
        final TcpListener gone = TcpListener.bind(Net.LOOPBACK);
        gone.close();
        final long start = System.nanoTime();
        final TransportException e = assertThrows(TransportException.class, () -> TcpNetwork.connect(C,
            Net.params(8), Net.plain().connectTimeout(Duration.ofMillis(400)).build(), null,
            Map.of(S, gone.address(), D, gone.address())));
        assertTrue(e.getMessage().startsWith("CLIENT: could not connect to SERVER at 127.0.0.1:" +
            gone.address().getPort() + " within 400 ms"), e.getMessage());
        assertTrue(System.nanoTime() - start < Duration.ofSeconds(5).toNanos());
    }
}
