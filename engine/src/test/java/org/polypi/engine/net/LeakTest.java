package org.polypi.engine.net;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.TransportException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hundreds of sessions, most with a fault injected (a party leaving early, a wrong size, a stall, a handshake
 * mismatch, a close from another thread while a receive waits, a large message abandoned by its receiver), leave
 * no thread and no socket behind.
 */
final class LeakTest
{
    private static final Party S = Party.SERVER;
    private static final Party C = Party.CLIENT;
    private static final Party D = Party.DEALER;
    private static final int SESSIONS = 200;
    /** Receive timeout of the sessions that stall on purpose (the others use a generous one: a loaded machine). */
    private static final Duration STALL_TIMEOUT = Duration.ofMillis(150);
    private static final Duration TIMEOUT = Duration.ofSeconds(3);
    private static final Duration CLOSER_DELAY = Duration.ofMillis(50);
    private static final Duration SETTLE = Duration.ofSeconds(5);

    private enum Fault
    {
        NONE, LEAVES_EARLY, WRONG_SIZE, STALL, MISMATCH, CLOSED_WHILE_RECEIVING, ABANDONED_LARGE_MESSAGE, TLS
    }

    private static Fault fault(final int i)
    {
        if (i % 20 == 7)
        {
            return Fault.MISMATCH;
        }
        if (i % 20 == 13)
        {
            return Fault.TLS;
        }
        if (i % 10 == 3)
        {
            return Fault.STALL;
        }
        return switch (i % 5)
        {
            case 1 -> Fault.LEAVES_EARLY;
            case 2 -> Fault.WRONG_SIZE;
            case 3 -> Fault.CLOSED_WHILE_RECEIVING;
            case 4 -> Fault.ABANDONED_LARGE_MESSAGE;
            default -> Fault.NONE;
        };
    }

    @Test
    void sessionsWithInjectedFaultsLeakNoThreadsAndNoSockets() throws Exception
    {
        for (final Fault f : Fault.values())
        {
            session(1000 + f.ordinal(), f); // warm-up: classes loaded, keys generated, JDK helper threads started
        }
        final int threadsBefore = Thread.getAllStackTraces().size();
        final long socketsBefore = ioDescriptors();
        int failures = 0;
        for (int i = 0; i < SESSIONS; i++)
        {
            failures += session(i, fault(i));
        }
        assertTrue(failures >= SESSIONS / 2, "faults were injected and reported: " + failures);
        final long deadline = System.nanoTime() + SETTLE.toNanos();
        while (System.nanoTime() < deadline && (Thread.getAllStackTraces().size() > threadsBefore ||
            ioDescriptors() > socketsBefore))
        {
            Thread.sleep(20);
        }
        final List<String> ours = new ArrayList<>();
        for (final Thread t : Thread.getAllStackTraces().keySet())
        {
            if (t.getName().startsWith("polypi-tcp-") || t.getName().startsWith("polypi-accept-") ||
                t.getName().startsWith("test-"))
            {
                ours.add(t.getName());
            }
        }
        assertEquals(List.of(), ours, "threads of the transport still alive");
        assertTrue(Thread.getAllStackTraces().size() <= threadsBefore, "threads: " + threadsBefore + " before, " +
            Thread.getAllStackTraces().keySet());
        assertEquals(socketsBefore, ioDescriptors(), "sockets, selectors and pipes open before and after");
    }

    /** Runs one session; returns how many parties saw a transport error. */
    private static int session(final int i, final Fault fault) throws Exception
    {
        final Duration connect = fault == Fault.MISMATCH ? Duration.ofMillis(300) : Duration.ofSeconds(5);
        final Map<Party, Net.Result<TcpTransport>> connected = Net.tryConnect(
            p -> (fault == Fault.TLS ? Net.tls("alpha", p) : Net.plain())
                .timeout(fault == Fault.STALL ? STALL_TIMEOUT : TIMEOUT).connectTimeout(connect).build(),
            p -> fault == Fault.MISMATCH && p == D ? SessionParameters.of(i, new byte[1], new byte[0], new byte[0]) :
                Net.params(i));
        int errors = 0;
        final TcpTransport[] t = new TcpTransport[3];
        for (final Party p : Party.values())
        {
            t[p.id()] = connected.get(p).value();
            errors += connected.get(p).error() != null ? 1 : 0;
        }
        if (errors > 0)
        {
            assertEquals(Fault.MISMATCH, fault, "only a mismatch fails the connect: " + connected);
            Net.closeAll(t);
            return errors;
        }
        try
        {
            final CountDownLatch othersDone = new CountDownLatch(2);
            final Map<Party, Net.Result<Object>> r = Net.runThree(p -> () ->
            {
                try
                {
                    script(fault, p, t, othersDone);
                }
                finally
                {
                    if (p != D)
                    {
                        othersDone.countDown();
                    }
                }
                return null;
            });
            for (final Party p : Party.values())
            {
                final Throwable e = r.get(p).error();
                if (e != null)
                {
                    assertTrue(e instanceof TransportException, p + " in " + fault + ": " + e);
                    assertTrue(e.getMessage().startsWith(p + ": "), "names the party: " + e.getMessage());
                    errors++;
                }
            }
            if (fault == Fault.NONE || fault == Fault.TLS)
            {
                assertEquals(0, errors, fault + ": " + r);
            }
            else
            {
                assertTrue(errors > 0, fault + " must be noticed: " + r);
            }
        }
        finally
        {
            Net.closeAll(t);
        }
        return errors;
    }

    /** One party's part: a round of messages between everyone, with the fault's twist. */
    private static void script(final Fault fault, final Party p, final TcpTransport[] t,
                               final CountDownLatch othersDone) throws InterruptedException
    {
        final TcpTransport me = t[p.id()];
        try (Arena arena = Arena.ofConfined())
        {
            switch (fault)
            {
                case LEAVES_EARLY ->
                {
                    if (p == C)
                    {
                        me.close();
                        return;
                    }
                }
                case STALL ->
                {
                    if (p == D)
                    {
                        // Silent, connected, and still there while the others wait for it.
                        othersDone.await(Net.RUN_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
                        return;
                    }
                }
                case CLOSED_WHILE_RECEIVING ->
                {
                    if (p == S)
                    {
                        Thread.ofPlatform().name("test-closer").start(() ->
                        {
                            sleepQuietly(CLOSER_DELAY.toMillis());
                            me.close();
                        });
                        // The dealer sends nothing to the server here: only the close can end this receive early.
                        final long start = System.nanoTime();
                        try
                        {
                            me.receive(D, arena.allocate(8));
                        }
                        catch (final TransportException e)
                        {
                            assertTrue(System.nanoTime() - start < TIMEOUT.toNanos() / 2, "the close ended it");
                            assertEquals("SERVER: transport closed while waiting for DEALER (expected 8 bytes)",
                                e.getMessage());
                            throw e;
                        }
                        return;
                    }
                    if (p == D)
                    {
                        return;
                    }
                }
                case ABANDONED_LARGE_MESSAGE ->
                {
                    if (p == S)
                    {
                        me.send(C, arena.allocate(4 << 20));
                        me.receive(C, arena.allocate(8)); // fails: the client left without reading
                        return;
                    }
                    if (p == C)
                    {
                        me.close(); // never reads it
                        return;
                    }
                    if (p == D)
                    {
                        return;
                    }
                }
                default ->
                {
                    // the plain round below
                }
            }
            final long[] sizes = {8, 24, 70_000};
            for (final Party to : Party.values())
            {
                if (to != p)
                {
                    for (final long s : sizes)
                    {
                        me.send(to, arena.allocate(s));
                    }
                }
            }
            for (final Party from : Party.values())
            {
                if (from != p)
                {
                    for (final long s : sizes)
                    {
                        final long expected = fault == Fault.WRONG_SIZE && p == C && from == S && s == 24 ? 16 : s;
                        me.receive(from, arena.allocate(expected));
                    }
                }
            }
        }
    }

    private static void sleepQuietly(final long ms)
    {
        try
        {
            Thread.sleep(ms);
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
    }

    /** Open sockets, epoll instances, eventfds and pipes of this process (what the transport's channels use). */
    private static long ioDescriptors() throws IOException
    {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd")))
        {
            return fds.filter(fd ->
            {
                try
                {
                    final String target = Files.readSymbolicLink(fd).toString();
                    return target.startsWith("socket:") || target.startsWith("pipe:") ||
                        target.contains("eventpoll") || target.contains("eventfd");
                }
                catch (final IOException e)
                {
                    return false; // closed while listing (the listing's own descriptor)
                }
            }).count();
        }
    }
}
