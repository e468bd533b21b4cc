package org.polypi.engine.transport;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

final class InMemoryTransportTest
{
    private static final Duration SHORT = Duration.ofMillis(200);

    @Test
    void deliversWholeMessagesInOrderAndCountsThem() throws Exception
    {
        final InMemoryTransport[] t = InMemoryTransport.connectThree(Duration.ofSeconds(5));
        final InMemoryTransport server = t[Party.SERVER.id()];
        final InMemoryTransport client = t[Party.CLIENT.id()];
        try (Arena arena = Arena.ofShared())
        {
            final MemorySegment a = arena.allocateFrom(ValueLayout.JAVA_LONG, 1, 2, 3);
            final MemorySegment b = arena.allocateFrom(ValueLayout.JAVA_LONG, -4);
            final CompletableFuture<long[][]> got = CompletableFuture.supplyAsync(() ->
            {
                final MemorySegment x = arena.allocate(24);
                final MemorySegment y = arena.allocate(8);
                client.receive(Party.SERVER, x);
                client.receive(Party.SERVER, y);
                return new long[][]{x.toArray(ValueLayout.JAVA_LONG), y.toArray(ValueLayout.JAVA_LONG)};
            });
            server.send(Party.CLIENT, a);
            server.send(Party.CLIENT, b);
            a.set(ValueLayout.JAVA_LONG, 0, 99); // the sender may reuse its segment at once
            final long[][] r = got.get();
            assertArrayEquals(new long[]{1, 2, 3}, r[0]);
            assertArrayEquals(new long[]{-4}, r[1]);
        }
        assertEquals(32, server.meter().total(null).bytesSent());
        assertEquals(2, server.meter().total(null).messagesSent());
        assertEquals(32, client.meter().total(null).bytesReceived());
    }

    @Test
    void recycledBuffersCarryEveryMessageIntact()
    {
        final InMemoryTransport[] t = InMemoryTransport.connectThree(Duration.ofSeconds(5));
        final InMemoryTransport dealer = t[Party.DEALER.id()];
        final InMemoryTransport client = t[Party.CLIENT.id()];
        final java.util.SplittableRandom random = new java.util.SplittableRandom(3);
        try (Arena arena = Arena.ofConfined())
        {
            // Sizes straddling the pool's classes, several in flight at once, so that buffers of every class are
            // reused for messages of other lengths: each must still arrive exactly as sent.
            for (int round = 0; round < 50; round++)
            {
                final int inFlight = 1 + random.nextInt(4);
                final long[][] sent = new long[inFlight][];
                for (int m = 0; m < inFlight; m++)
                {
                    sent[m] = random.longs(random.nextInt(1, 3000)).toArray();
                    dealer.send(Party.CLIENT, arena.allocateFrom(ValueLayout.JAVA_LONG, sent[m]));
                }
                for (int m = 0; m < inFlight; m++)
                {
                    final MemorySegment into = arena.allocate((long)sent[m].length * Long.BYTES);
                    client.receive(Party.DEALER, into);
                    assertArrayEquals(sent[m], into.toArray(ValueLayout.JAVA_LONG), "round " + round + ", message " + m);
                }
            }
        }
    }

    /**
     * A message above the pool's limit arrives intact in a buffer of its own, which is freed when it is read, when a
     * wrong-size read refuses it, when its receiver closes with it queued, and when it is sent to a closed receiver.
     */
    @Test
    void largeMessagesAreFreedWhenReadRefusedOrAbandoned()
    {
        final InMemoryTransport[] t = InMemoryTransport.connectThree(Duration.ofSeconds(5));
        final InMemoryTransport dealer = t[Party.DEALER.id()];
        final InMemoryTransport server = t[Party.SERVER.id()];
        final int words = (int)(InMemoryTransport.BufferPool.LARGE_MESSAGE_BYTES / Long.BYTES) + 3;
        final long[] sent = new java.util.SplittableRandom(5).longs(words).toArray();
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment message = arena.allocateFrom(ValueLayout.JAVA_LONG, sent);
            final MemorySegment into = arena.allocate(message.byteSize());
            dealer.send(Party.SERVER, message);
            assertEquals(1, dealer.largeBuffersLive());
            server.receive(Party.DEALER, into);
            assertArrayEquals(sent, into.toArray(ValueLayout.JAVA_LONG));
            assertEquals(0, dealer.largeBuffersLive(), "read: freed");

            dealer.send(Party.SERVER, message);
            assertThrows(TransportException.class, () -> server.receive(Party.DEALER, arena.allocate(8)));
            assertEquals(0, dealer.largeBuffersLive(), "refused for its size: freed");

            dealer.send(Party.SERVER, message);
            dealer.send(Party.SERVER, message);
            assertEquals(2, server.largeBuffersLive());
            server.close();
            assertEquals(0, server.largeBuffersLive(), "queued when the receiver closed: freed");

            dealer.send(Party.SERVER, message);
            assertEquals(0, dealer.largeBuffersLive(), "sent to a closed receiver: freed at once");
        }
    }

    @Test
    void bufferPoolRecyclesByPowerOfTwoClass()
    {
        final InMemoryTransport.BufferPool pool = new InMemoryTransport.BufferPool();
        assertEquals(InMemoryTransport.BufferPool.MIN_CLASS, InMemoryTransport.BufferPool.sizeClass(0));
        assertEquals(10, InMemoryTransport.BufferPool.sizeClass(1024));
        assertEquals(11, InMemoryTransport.BufferPool.sizeClass(1025));
        final MemorySegment a = pool.take(1000);
        assertEquals(1024, a.byteSize());
        pool.give(a);
        assertTrue(pool.take(600) == a, "a buffer given back is taken again for a message of its class");
        assertEquals(2048, pool.take(1025).byteSize());
    }

    @Test
    void silentPeerTimesOutNamingThePeer()
    {
        final InMemoryTransport[] t = InMemoryTransport.connectThree(SHORT);
        try (Arena arena = Arena.ofConfined())
        {
            final TransportException e = assertThrows(TransportException.class,
                () -> t[Party.CLIENT.id()].receive(Party.DEALER, arena.allocate(16)));
            assertTrue(e.getMessage().contains("DEALER sent nothing"), e.getMessage());
        }
    }

    @Test
    void readersGetTheMessageInPlaceReadOnlyCountedAndFreedEvenWhenTheyThrow()
    {
        final InMemoryTransport[] t = InMemoryTransport.connectThree(Duration.ofSeconds(5));
        final InMemoryTransport dealer = t[Party.DEALER.id()];
        final InMemoryTransport server = t[Party.SERVER.id()];
        final int words = (int)(InMemoryTransport.BufferPool.LARGE_MESSAGE_BYTES / Long.BYTES) + 5;
        final long[] sent = new java.util.SplittableRandom(7).longs(words).toArray();
        try (Arena arena = Arena.ofConfined(); Arena scratch = Arena.ofConfined())
        {
            final MemorySegment message = arena.allocateFrom(ValueLayout.JAVA_LONG, sent);
            final long[][] got = new long[1][];
            dealer.send(Party.SERVER, message);
            final long receivedBefore = server.meter().total(null).bytesReceived();
            server.receive(Party.DEALER, message.byteSize(), scratch, m ->
            {
                assertTrue(m.isReadOnly(), "a reader must not write the transport's buffer");
                got[0] = m.toArray(ValueLayout.JAVA_LONG);
            });
            assertArrayEquals(sent, got[0]);
            assertEquals(message.byteSize(), server.meter().total(null).bytesReceived() - receivedBefore);
            assertEquals(0, dealer.largeBuffersLive(), "read in place: freed");

            dealer.send(Party.SERVER, message);
            final IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> server.receive(Party.DEALER, message.byteSize(), scratch, m ->
                {
                    throw new IllegalStateException("reader failed");
                }));
            assertEquals("reader failed", e.getMessage());
            assertEquals(0, dealer.largeBuffersLive(), "reader threw: freed all the same");

            dealer.send(Party.SERVER, arena.allocate(24));
            final TransportException wrong = assertThrows(TransportException.class,
                () -> server.receive(Party.DEALER, 16, scratch, m -> { }));
            assertTrue(wrong.getMessage().contains("sent 24 bytes where 16 were expected"), wrong.getMessage());
        }
    }

    @Test
    void theDefaultReaderReceivesIntoScratch()
    {
        final InMemoryTransport[] t = InMemoryTransport.connectThree(Duration.ofSeconds(5));
        // A transport that only has the copying receive: the interface's default must serve readers from scratch.
        final Transport copying = new Transport()
        {
            @Override
            public Party self()
            {
                return Party.SERVER;
            }

            @Override
            public void send(final Party to, final MemorySegment message)
            {
                t[Party.SERVER.id()].send(to, message);
            }

            @Override
            public void receive(final Party from, final MemorySegment into)
            {
                t[Party.SERVER.id()].receive(from, into);
            }

            @Override
            public CostMeter meter()
            {
                return t[Party.SERVER.id()].meter();
            }

            @Override
            public void close()
            {
                t[Party.SERVER.id()].close();
            }
        };
        try (Arena arena = Arena.ofConfined(); Arena scratch = Arena.ofConfined())
        {
            t[Party.CLIENT.id()].send(Party.SERVER, arena.allocateFrom(ValueLayout.JAVA_LONG, 3L, -4L));
            final long[][] got = new long[1][];
            copying.receive(Party.CLIENT, 2 * Long.BYTES, scratch, m ->
            {
                assertTrue(m.isReadOnly());
                got[0] = m.toArray(ValueLayout.JAVA_LONG);
            });
            assertArrayEquals(new long[]{3L, -4L}, got[0]);
        }
    }

    @Test
    void wrongSizeIsAnError()
    {
        final InMemoryTransport[] t = InMemoryTransport.connectThree(SHORT);
        try (Arena arena = Arena.ofConfined())
        {
            t[Party.DEALER.id()].send(Party.SERVER, arena.allocate(24));
            final TransportException e = assertThrows(TransportException.class,
                () -> t[Party.SERVER.id()].receive(Party.DEALER, arena.allocate(16)));
            assertTrue(e.getMessage().contains("sent 24 bytes where 16 were expected"), e.getMessage());
        }
    }

    @Test
    void closedPeerFailsFastAfterItsLastMessage()
    {
        final InMemoryTransport[] t = InMemoryTransport.connectThree(Duration.ofSeconds(30));
        try (Arena arena = Arena.ofConfined())
        {
            t[Party.SERVER.id()].send(Party.CLIENT, arena.allocate(8));
            t[Party.SERVER.id()].close();
            t[Party.CLIENT.id()].receive(Party.SERVER, arena.allocate(8)); // still delivered
            final long start = System.nanoTime();
            final TransportException e = assertThrows(TransportException.class,
                () -> t[Party.CLIENT.id()].receive(Party.SERVER, arena.allocate(8)));
            assertTrue(e.getMessage().contains("closed the connection"), e.getMessage());
            assertTrue(System.nanoTime() - start < Duration.ofSeconds(10).toNanos(), "must not wait for the timeout");
            assertThrows(TransportException.class, () -> t[Party.SERVER.id()].send(Party.CLIENT, arena.allocate(8)));
        }
    }

    @Test
    void selfMessagesAreRejected()
    {
        final InMemoryTransport[] t = InMemoryTransport.connectThree(SHORT);
        try (Arena arena = Arena.ofConfined())
        {
            assertThrows(IllegalArgumentException.class, () -> t[0].send(Party.SERVER, arena.allocate(8)));
        }
        assertThrows(IllegalArgumentException.class, () -> InMemoryTransport.connectThree(Duration.ZERO));
    }

    @Test
    void meterChargesTheCurrentStep()
    {
        final CostMeter m = new CostMeter();
        m.enter("online", "fc1");
        m.countRound();
        m.countSent(800);
        m.enter("online", "act1");
        m.countRound();
        m.countSent(8);
        m.countReceived(8);
        m.enter("offline", "fc1");
        m.countReceived(100);
        assertEquals(2, m.total("online").rounds());
        assertEquals(808, m.total("online").bytesSent());
        assertEquals(100, m.total("offline").bytesReceived());
        assertEquals(4, m.entries().size()); // setup/-, online/fc1, online/act1, offline/fc1
    }
}
