package org.polypi.engine.protocol;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.polypi.engine.transport.CostMeter;
import org.polypi.engine.transport.InMemoryTransport;
import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.Transport;

/**
 * Runs the server, the client and the dealer as three threads over {@link InMemoryTransport#connectThree}, joins them
 * and fails fast: the first exception closes every transport (so peers blocked in a receive fail at once) and is
 * rethrown with the others suppressed.
 */
final class ThreeParties
{
    /** Receive timeout of every transport. */
    static final Duration TIMEOUT = Duration.ofSeconds(5);
    /** Upper bound on one whole run. */
    private static final long RUN_LIMIT_SECONDS = 60;

    private ThreeParties()
    {
    }

    /** A computing party's part of a test. */
    @FunctionalInterface
    interface PartyTask<T>
    {
        T run(PartySession session, MaterialReceiver material) throws Exception;
    }

    /** The dealer's part of a test. */
    @FunctionalInterface
    interface DealerTask
    {
        void run(Dealer dealer) throws Exception;
    }

    /** What a run returns: each party's result, meters, and (when recorded) the bytes it received from its peer. */
    record Outcome<S, C>(S server, C client, CostMeter serverMeter, CostMeter clientMeter, CostMeter dealerMeter,
                         long[] serverReceived, long[] clientReceived)
    {
    }

    static byte[] seed(final long value)
    {
        return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(value).putLong(~value).array();
    }

    static <S, C> Outcome<S, C> run(final long dealerSeed, final DealerTask dealer, final PartyTask<S> server,
                                    final PartyTask<C> client) throws Exception
    {
        return run(dealerSeed, false, dealer, server, client);
    }

    static <S, C> Outcome<S, C> run(final long dealerSeed, final boolean record, final DealerTask dealer,
                                    final PartyTask<S> server, final PartyTask<C> client) throws Exception
    {
        final InMemoryTransport[] t = InMemoryTransport.connectThree(TIMEOUT);
        final Recording serverT = new Recording(t[Party.SERVER.id()], record);
        final Recording clientT = new Recording(t[Party.CLIENT.id()], record);
        final ExecutorService pool = Executors.newFixedThreadPool(3);
        try
        {
            final ExecutorCompletionService<Object> done = new ExecutorCompletionService<>(pool);
            final Future<Object> d = done.submit(() ->
            {
                try (Dealer dl = new Dealer(t[Party.DEALER.id()], seed(dealerSeed)))
                {
                    dl.start();
                    dealer.run(dl);
                }
                return null;
            });
            final Future<Object> s = done.submit(party(serverT, server));
            final Future<Object> c = done.submit(party(clientT, client));
            awaitThree(done, t);
            @SuppressWarnings("unchecked") final S sr = (S)s.get();
            @SuppressWarnings("unchecked") final C cr = (C)c.get();
            d.get();
            return new Outcome<>(sr, cr, t[0].meter(), t[1].meter(), t[2].meter(), serverT.received(),
                clientT.received());
        }
        finally
        {
            pool.shutdownNow();
        }
    }

    /**
     * Waits for the three parties' tasks of {@code done}; on a failure closes every transport (so that the others
     * stop waiting) and rethrows the first failure with the others suppressed.
     */
    static void awaitThree(final ExecutorCompletionService<Object> done, final InMemoryTransport[] t) throws Exception
    {
        final List<Throwable> failures = new ArrayList<>();
        for (int i = 0; i < 3; i++)
        {
            final Future<Object> f = done.poll(RUN_LIMIT_SECONDS, TimeUnit.SECONDS);
            if (f == null)
            {
                failures.add(new AssertionError("a party did not finish in " + RUN_LIMIT_SECONDS + " s"));
                break;
            }
            try
            {
                f.get();
            }
            catch (final ExecutionException e)
            {
                failures.add(e.getCause());
                for (final InMemoryTransport x : t)
                {
                    x.close();
                }
            }
        }
        if (!failures.isEmpty())
        {
            final Throwable first = failures.get(0);
            for (int i = 1; i < failures.size(); i++)
            {
                first.addSuppressed(failures.get(i));
            }
            if (first instanceof final Exception e)
            {
                throw e;
            }
            throw (Error)first;
        }
    }

    private static Callable<Object> party(final Transport transport, final PartyTask<?> task)
    {
        return () ->
        {
            try (Arena arena = Arena.ofShared())
            {
                final PartySession session = new PartySession(transport, arena);
                final MaterialReceiver material = MaterialReceiver.connect(session);
                return task.run(session, material);
            }
        };
    }

    /** The counters of (phase, step) in {@code meter}, failing if the step never ran. */
    static CostMeter.Entry entry(final CostMeter meter, final String phase, final String step)
    {
        for (final CostMeter.Entry e : meter.entries())
        {
            if (e.phase().equals(phase) && e.step().equals(step))
            {
                return e;
            }
        }
        throw new AssertionError("no step " + phase + "/" + step + " in " + meter.entries());
    }

    /** A transport that can keep a copy of every message received from the other computing party. */
    private static final class Recording implements Transport
    {
        private final Transport inner;
        private final boolean record;
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        Recording(final Transport inner, final boolean record)
        {
            this.inner = inner;
            this.record = record;
        }

        long[] received()
        {
            final byte[] b = bytes.toByteArray();
            final long[] words = new long[b.length / Long.BYTES];
            ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(words);
            return words;
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
            if (record && from != Party.DEALER)
            {
                bytes.writeBytes(into.toArray(ValueLayout.JAVA_BYTE));
            }
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
