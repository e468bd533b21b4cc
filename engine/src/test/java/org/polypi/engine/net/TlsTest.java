package org.polypi.engine.net;

import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.polypi.engine.transport.Party;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** TLS 1.3 with mutual authentication and pinned certificates. */
final class TlsTest
{
    /** Longest wait for the sender's socket byte counter to include its last write. */
    private static final long STATS_SETTLE_NANOS = 5_000_000_000L;

    private static final Party S = Party.SERVER;
    private static final Party C = Party.CLIENT;
    private static final Party D = Party.DEALER;
    private static final Duration CONNECT = Duration.ofSeconds(5);
    /** Ending this much before the connect deadline means the refusal ended it, not the timeout. */
    private static final Duration MARGIN = Duration.ofSeconds(1);
    /** For tests that check only who fails and why: a party still waiting for a peer that gave up ends sooner. */
    private static final Duration SHORT_CONNECT = Duration.ofSeconds(2);

    @Test
    void encryptedExchangeDeliversAndCostsMoreOnTheWireThanInFrames() throws Exception
    {
        final TcpTransport[] t = Net.connect(p -> Net.tls("alpha", p).build(), 21);
        try
        {
            final int n = 300_000;
            final Map<Party, Net.Result<long[]>> r = Net.runThree(p -> () ->
            {
                try (Arena arena = Arena.ofConfined())
                {
                    if (p == D)
                    {
                        t[D.id()].send(S, arena.allocateFrom(ValueLayout.JAVA_LONG, 5));
                        return null;
                    }
                    final MemorySegment mine = arena.allocate(ValueLayout.JAVA_LONG, n);
                    for (int i = 0; i < n; i++)
                    {
                        mine.setAtIndex(ValueLayout.JAVA_LONG, i, i ^ (p.id() << 20));
                    }
                    t[p.id()].send(p.peer(), mine);
                    t[p.id()].send(p.peer(), mine.asSlice(0, 16));
                    final MemorySegment theirs = arena.allocate(ValueLayout.JAVA_LONG, n);
                    t[p.id()].receive(p.peer(), theirs);
                    final MemorySegment small = arena.allocate(16);
                    t[p.id()].receive(p.peer(), small);
                    if (p == S)
                    {
                        t[S.id()].receive(D, arena.allocate(8));
                    }
                    return theirs.toArray(ValueLayout.JAVA_LONG);
                }
            });
            for (final Party p : new Party[]{S, C})
            {
                final long[] got = r.get(p).get();
                for (int i = 0; i < n; i += 997)
                {
                    assertEquals(i ^ ((long)p.peer().id() << 20), got[i]);
                }
            }
            r.get(D).get();
            // The sender's writer thread counts socket bytes after each write returns, which can be after the peer
            // has already read them: wait (bounded) for the counter to catch up before comparing.
            final long deadline = System.nanoTime() + STATS_SETTLE_NANOS;
            WireStats w = t[S.id()].stats(C);
            while (w.socketBytesSent() <= w.frameBytesSent() + 1000 && System.nanoTime() < deadline)
            {
                Thread.sleep(1);
                w = t[S.id()].stats(C);
            }
            assertEquals(8L * n + 16 + 2 * FrameHeader.LENGTH, w.frameBytesSent());
            assertTrue(w.socketBytesSent() > w.frameBytesSent() + 1000, "records and handshake add bytes: " + w);
        }
        finally
        {
            Net.closeAll(t);
        }
    }

    @Test
    void certificateOfAnotherDeploymentIsRefusedAndEveryoneEndsPromptly() throws Exception
    {
        final Map<Party, Net.Result<TcpTransport>> r = Net.tryConnect(
            p -> Net.tls(p == C ? "beta" : "alpha", p).connectTimeout(CONNECT).build(), p -> Net.params(22));
        assertTrue(r.get(S).endedWithin(CONNECT.minus(MARGIN)), "refused, not timed out");
        assertTrue(r.get(C).endedWithin(CONNECT.minus(MARGIN)), "refused, not timed out");
        assertTrue(r.get(D).endedWithin(CONNECT.plusSeconds(2)), "everyone ends");
        for (final Party p : Party.values())
        {
            if (r.get(p).error() == null)
            {
                r.get(p).value().close();
            }
        }
        final String server = r.get(S).message();
        // The server sees the refusal (the client's alert), or the client leaving when it was refused by the dealer
        // first; either way at once.
        assertTrue(server.matches("SERVER: (TLS handshake with 127\\.0\\.0\\.1:\\d+ .* failed: |127\\.0\\.0\\.1:\\d+ .* " +
            "left during the handshake).*"), server);
        final String client = r.get(C).message();
        assertTrue(client.startsWith("CLIENT: TLS handshake with ") && client.contains(" failed: "), client);
        assertTrue(r.get(D).message().startsWith("DEALER: "), r.get(D).message());
    }

    @Test
    void peerPresentingAnotherRolesCertificateIsRefused() throws Exception
    {
        // The dealer holds the client's key: TLS accepts it (it is pinned), the role check does not.
        final Map<Party, Net.Result<TcpTransport>> r = Net.tryConnect(
            p -> Net.tls("alpha", p == D ? C : p).connectTimeout(SHORT_CONNECT).build(), p -> Net.params(23));
        for (final Party p : Party.values())
        {
            if (r.get(p).error() == null)
            {
                r.get(p).value().close();
            }
        }
        assertEquals("SERVER: DEALER presented the certificate of CLIENT, not its own", r.get(S).message());
        assertTrue(r.get(D).error() != null && r.get(C).error() != null);
    }

    @Test
    void plaintextPartyCannotJoinATlsSession() throws Exception
    {
        final Map<Party, Net.Result<TcpTransport>> r = Net.tryConnect(
            p -> (p == C ? Net.plain() : Net.tls("alpha", p)).connectTimeout(SHORT_CONNECT).build(),
            p -> Net.params(24));
        for (final Party p : Party.values())
        {
            if (r.get(p).error() == null)
            {
                r.get(p).value().close();
            }
        }
        assertTrue(r.get(S).message().startsWith("SERVER: TLS handshake with "), r.get(S).message());
        // The client reads the server's TLS alert as a malformed handshake, or sees the connection close first.
        assertTrue(r.get(C).message().matches("CLIENT: .*(malformed handshake|closed during the handshake).*"),
            r.get(C).message());
    }

    @Test
    void generatedStoresPinExactlyThePeers(@TempDir final Path dir) throws Exception
    {
        final KeyMaterial k = Net.keys("alpha");
        for (final Party role : Party.values())
        {
            final KeyStore trust = KeyStore.getInstance(KeyMaterial.STORE_TYPE);
            try (InputStream in = Files.newInputStream(k.trustStore(role)))
            {
                trust.load(in, Net.PASSWORD);
            }
            final Set<String> expected = new TreeSet<>();
            for (final Party p : Party.values())
            {
                if (p != role)
                {
                    expected.add(p.name().toLowerCase(java.util.Locale.ROOT));
                }
            }
            assertEquals(expected, new TreeSet<>(Collections.list(trust.aliases())));
            final KeyStore keys = KeyStore.getInstance(KeyMaterial.STORE_TYPE);
            try (InputStream in = Files.newInputStream(k.keyStore(role)))
            {
                keys.load(in, Net.PASSWORD);
            }
            final String alias = role.name().toLowerCase(java.util.Locale.ROOT);
            assertTrue(keys.isKeyEntry(alias));
            assertArrayEquals(keys.getCertificate(alias).getEncoded(),
                trustOf(k, role == S ? C : S).getCertificate(alias).getEncoded(), "the peers pin this certificate");
        }
        assertThrows(IllegalArgumentException.class, () -> KeyMaterial.generate(dir, "bad name", Net.PASSWORD));
        assertThrows(IllegalArgumentException.class, () -> KeyMaterial.generate(dir, "x", "short".toCharArray()));
        final Path existing = dir.resolve("server.p12");
        Files.writeString(existing, "occupied");
        assertThrows(IllegalArgumentException.class, () -> KeyMaterial.generate(dir, "x", Net.PASSWORD));
        assertThrows(java.io.IOException.class, () -> KeyMaterial.open(dir, Net.PASSWORD).sslContext(S));
    }

    private static KeyStore trustOf(final KeyMaterial k, final Party role) throws Exception
    {
        final KeyStore trust = KeyStore.getInstance(KeyMaterial.STORE_TYPE);
        try (InputStream in = Files.newInputStream(k.trustStore(role)))
        {
            trust.load(in, Net.PASSWORD);
        }
        return trust;
    }
}
