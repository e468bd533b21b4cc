package org.polypi.engine.net;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.TransportException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real SERVER against hand-driven CLIENT and DEALER peers that misbehave: every failure ends the receive with a
 * clear error naming the peer, within the timeout (at once when the peer's behaviour is conclusive).
 */
final class FaultInjectionTest
{
    private static final Party S = Party.SERVER;
    private static final Party C = Party.CLIENT;
    private static final Party D = Party.DEALER;
    private static final long SESSION = 77;
    private static final Duration TIMEOUT = Duration.ofMillis(400);
    /** A conclusive error must come well before the timeout would have passed. */
    private static final long PROMPT_NS = TIMEOUT.toNanos() / 2;

    /** The real server connected to two raw peers. */
    private record Rig(TcpTransport server, RawPeer client, RawPeer dealer) implements AutoCloseable
    {
        static Rig start(final TcpOptions options) throws Exception
        {
            try (TcpListener listener = TcpListener.bind(Net.LOOPBACK))
            {
                final FutureTask<TcpTransport> connect = new FutureTask<>(
                    () -> TcpNetwork.connect(S, Net.params(SESSION), options, listener, Map.of()));
                Thread.ofPlatform().name("test-connect").start(connect);
                final RawPeer client = RawPeer.dial(listener.address());
                final RawPeer dealer = RawPeer.dial(listener.address());
                client.hello(C, S, Net.params(SESSION));
                dealer.hello(D, S, Net.params(SESSION));
                assertEquals(S, client.readHello().role());
                assertEquals(S, dealer.readHello().role());
                return new Rig(connect.get(10, TimeUnit.SECONDS), client, dealer);
            }
        }

        static Rig start() throws Exception
        {
            return start(Net.plain().timeout(TIMEOUT).build());
        }

        @Override
        public void close() throws java.io.IOException
        {
            server.close();
            client.close();
            dealer.close();
        }
    }

    /** Receives {@code bytes} from the client, expecting a failure; returns it after checking it came promptly. */
    private static TransportException failsPromptly(final Rig rig, final long bytes)
    {
        final long start = System.nanoTime();
        try (Arena arena = Arena.ofConfined())
        {
            final TransportException e = assertThrows(TransportException.class,
                () -> rig.server().receive(C, arena.allocate(bytes)));
            assertTrue(System.nanoTime() - start < PROMPT_NS, "conclusive errors come at once: " + e.getMessage());
            return e;
        }
    }

    @Test
    void wellFormedFramesFromARawPeerAreDelivered() throws Exception
    {
        try (Rig rig = Rig.start(); Arena arena = Arena.ofConfined())
        {
            rig.client().frame(FrameHeader.TYPE_DATA, 1, SESSION, 3, new byte[]{1, 2, 3});
            final MemorySegment x = arena.allocate(3);
            rig.server().receive(C, x);
            assertEquals(3, x.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 2));
        }
    }

    @Test
    void badMagicIsAMalformedFrame() throws Exception
    {
        try (Rig rig = Rig.start())
        {
            final byte[] junk = new byte[FrameHeader.LENGTH];
            junk[0] = 0x13;
            rig.client().raw(junk);
            assertEquals("SERVER: CLIENT sent a malformed frame (magic 0x13, expected 0x50)",
                failsPromptly(rig, 8).getMessage());
        }
    }

    @Test
    void unknownTypeIsAMalformedFrame() throws Exception
    {
        try (Rig rig = Rig.start())
        {
            rig.client().frame((byte)9, 1, SESSION, 0, new byte[0]);
            assertEquals("SERVER: CLIENT sent a malformed frame (unknown type 9 where a message was expected)",
                failsPromptly(rig, 8).getMessage());
        }
    }

    @Test
    void oversizedFrameIsRefusedBeforeReadingIt() throws Exception
    {
        try (Rig rig = Rig.start(Net.plain().timeout(TIMEOUT).maxPayload(1L << 30).build()))
        {
            rig.dealer().frame(FrameHeader.TYPE_DATA, 1, SESSION, 4L << 30, new byte[0]);
            final long start = System.nanoTime();
            try (Arena arena = Arena.ofConfined())
            {
                final TransportException e = assertThrows(TransportException.class,
                    () -> rig.server().receive(D, arena.allocate(8)));
                assertEquals("SERVER: DEALER sent a frame of 4 GiB, limit 1 GiB", e.getMessage());
                assertTrue(System.nanoTime() - start < PROMPT_NS);
            }
        }
    }

    @Test
    void outOfOrderFrameNamesExpectedAndGotSequence() throws Exception
    {
        try (Rig rig = Rig.start())
        {
            rig.client().frame(FrameHeader.TYPE_DATA, 5, SESSION, 8, new byte[8]);
            assertEquals("SERVER: out-of-order frame from CLIENT: expected sequence 1, got 5",
                failsPromptly(rig, 8).getMessage());
        }
    }

    @Test
    void replayedFrameIsCaught() throws Exception
    {
        try (Rig rig = Rig.start(); Arena arena = Arena.ofConfined())
        {
            rig.client().frame(FrameHeader.TYPE_DATA, 1, SESSION, 8, new byte[8]);
            rig.client().frame(FrameHeader.TYPE_DATA, 1, SESSION, 8, new byte[8]);
            rig.server().receive(C, arena.allocate(8));
            assertEquals("SERVER: replayed or duplicated frame from CLIENT: expected sequence 2, got 1",
                failsPromptly(rig, 8).getMessage());
        }
    }

    @Test
    void frameOfAnotherSessionIsRefused() throws Exception
    {
        try (Rig rig = Rig.start())
        {
            rig.client().frame(FrameHeader.TYPE_DATA, 1, SESSION + 1, 8, new byte[8]);
            assertEquals("SERVER: CLIENT sent a frame of session 78, this session is 77",
                failsPromptly(rig, 8).getMessage());
        }
    }

    @Test
    void peerStallingInTheMiddleOfAMessageTimesOut() throws Exception
    {
        try (Rig rig = Rig.start(); Arena arena = Arena.ofConfined())
        {
            rig.client().frame(FrameHeader.TYPE_DATA, 1, SESSION, 1000, new byte[10]);
            final long start = System.nanoTime();
            final TransportException e = assertThrows(TransportException.class,
                () -> rig.server().receive(C, arena.allocate(1000)));
            final long took = System.nanoTime() - start;
            assertEquals("SERVER: CLIENT stalled for 400 ms in the middle of a message (10 of 1000 bytes received)",
                e.getMessage());
            assertTrue(took >= TIMEOUT.toNanos() && took < TIMEOUT.toNanos() + Duration.ofSeconds(5).toNanos(),
                "ends with the timeout: " + took / 1_000_000 + " ms");
        }
    }

    @Test
    void peerDisconnectingInTheMiddleOfAMessageIsAnError() throws Exception
    {
        try (Rig rig = Rig.start())
        {
            rig.client().frame(FrameHeader.TYPE_DATA, 1, SESSION, 1000, new byte[10]);
            rig.client().close();
            assertEquals("SERVER: connection to CLIENT lost in the middle of a message (10 of 1000 bytes received)",
                failsPromptly(rig, 1000).getMessage());
        }
    }

    @Test
    void peerDisconnectingBetweenMessagesHasClosedTheConnection() throws Exception
    {
        try (Rig rig = Rig.start())
        {
            rig.client().close();
            assertEquals("SERVER: CLIENT closed the connection (expected 8 bytes)", failsPromptly(rig, 8).getMessage());
            // The other link is unaffected: the dealer can still deliver.
            rig.dealer().frame(FrameHeader.TYPE_DATA, 1, SESSION, 0, new byte[0]);
            try (Arena arena = Arena.ofConfined())
            {
                rig.server().receive(D, arena.allocate(0));
            }
        }
    }

    @Test
    void garbageInsteadOfAHandshakeFailsTheConnect() throws Exception
    {
        try (TcpListener listener = TcpListener.bind(Net.LOOPBACK))
        {
            final FutureTask<TcpTransport> connect = new FutureTask<>(() -> TcpNetwork.connect(S,
                Net.params(SESSION), Net.plain().timeout(TIMEOUT).connectTimeout(Duration.ofSeconds(5)).build(),
                listener, Map.of()));
            Thread.ofPlatform().name("test-connect").start(connect);
            try (RawPeer p = RawPeer.dial(listener.address()))
            {
                p.raw("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                final Throwable e = assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> connect.get(10, TimeUnit.SECONDS)).getCause();
                assertInstanceOf(TransportException.class, e);
                assertTrue(e.getMessage().matches("SERVER: 127\\.0\\.0\\.1:\\d+ \\(one of \\[CLIENT, DEALER]\\) sent a " +
                    "malformed handshake \\(magic 0x47, expected 0x50\\)"), e.getMessage());
            }
        }
    }

    @Test
    void silentConnectionTimesOutTheConnect() throws Exception
    {
        try (TcpListener listener = TcpListener.bind(Net.LOOPBACK))
        {
            final FutureTask<TcpTransport> connect = new FutureTask<>(() -> TcpNetwork.connect(S,
                Net.params(SESSION), Net.plain().connectTimeout(Duration.ofMillis(500)).build(), listener, Map.of()));
            final long start = System.nanoTime();
            Thread.ofPlatform().name("test-connect").start(connect);
            try (RawPeer p = RawPeer.dial(listener.address()))
            {
                assertTrue(p != null, "connected, and then silent");
                final Throwable e = assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> connect.get(10, TimeUnit.SECONDS)).getCause();
                assertTrue(e.getMessage().contains("no handshake from") && e.getMessage().contains("within 500 ms"),
                    e.getMessage());
                assertTrue(System.nanoTime() - start < Duration.ofSeconds(5).toNanos());
            }
        }
    }

    @Test
    void peerClaimingAWrongRoleIsRefused() throws Exception
    {
        try (TcpListener listener = TcpListener.bind(Net.LOOPBACK))
        {
            final FutureTask<TcpTransport> connect = new FutureTask<>(() -> TcpNetwork.connect(S,
                Net.params(SESSION), Net.plain().connectTimeout(Duration.ofSeconds(5)).build(), listener, Map.of()));
            Thread.ofPlatform().name("test-connect").start(connect);
            try (RawPeer p = RawPeer.dial(listener.address()))
            {
                p.hello(C, D, Net.params(SESSION)); // dials the server believing it is the dealer
                final Throwable e = assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> connect.get(10, TimeUnit.SECONDS)).getCause();
                assertEquals("SERVER: CLIENT dialled this party as DEALER, but this is SERVER", e.getMessage());
            }
        }
    }
}
