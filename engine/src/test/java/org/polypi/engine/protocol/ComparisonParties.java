package org.polypi.engine.protocol;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.polypi.engine.transport.CostMeter;
import org.polypi.engine.transport.InMemoryTransport;
import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.Transport;

/**
 * {@link ThreeParties} with the comparison dealer next to the core one: the dealer thread starts a {@link Dealer}
 * and uses its {@link Dealer#comparisons()} view, each computing party connects a {@link MaterialReceiver} and uses
 * its {@link MaterialReceiver#comparisons()} view (one seed, one sequence). The first failure closes every transport and is
 * rethrown with the others suppressed.
 */
final class ComparisonParties
{
    private ComparisonParties()
    {
    }

    /** A computing party's part of a test. */
    @FunctionalInterface
    interface PartyTask<T>
    {
        T run(PartySession session, ComparisonReceiver comparisons, MaterialReceiver core) throws Exception;
    }

    /** The dealer's part of a test. */
    @FunctionalInterface
    interface DealerTask
    {
        void run(ComparisonDealer comparisons, Dealer core) throws Exception;
    }

    /** Same as {@link #run(long, boolean, DealerTask, PartyTask, PartyTask)} without recording. */
    static <S, C> ThreeParties.Outcome<S, C> run(final long dealerSeed, final DealerTask dealer,
                                                 final PartyTask<S> server, final PartyTask<C> client)
        throws Exception
    {
        return run(dealerSeed, false, dealer, server, client);
    }

    /** Runs the three parties; with {@code record}, keeps what each computing party received from the other. */
    static <S, C> ThreeParties.Outcome<S, C> run(final long dealerSeed, final boolean record, final DealerTask dealer,
                                                 final PartyTask<S> server, final PartyTask<C> client)
        throws Exception
    {
        final InMemoryTransport[] t = InMemoryTransport.connectThree(ThreeParties.TIMEOUT);
        final Recording serverT = new Recording(t[Party.SERVER.id()], record);
        final Recording clientT = new Recording(t[Party.CLIENT.id()], record);
        final ExecutorService pool = Executors.newFixedThreadPool(3);
        try
        {
            final ExecutorCompletionService<Object> done = new ExecutorCompletionService<>(pool);
            final Future<Object> d = done.submit(() ->
            {
                final byte[] seed = ThreeParties.seed(dealerSeed);
                try (Dealer core = new Dealer(t[Party.DEALER.id()], seed))
                {
                    core.start();
                    dealer.run(core.comparisons(), core);
                }
                return null;
            });
            final Future<Object> s = done.submit(party(serverT, server));
            final Future<Object> c = done.submit(party(clientT, client));
            ThreeParties.awaitThree(done, t);
            @SuppressWarnings("unchecked") final S sr = (S)s.get();
            @SuppressWarnings("unchecked") final C cr = (C)c.get();
            d.get();
            return new ThreeParties.Outcome<>(sr, cr, t[0].meter(), t[1].meter(), t[2].meter(), serverT.received(),
                clientT.received());
        }
        finally
        {
            pool.shutdownNow();
        }
    }

    private static Callable<Object> party(final Transport transport, final PartyTask<?> task)
    {
        return () ->
        {
            try (Arena arena = Arena.ofShared())
            {
                final PartySession session = new PartySession(transport, arena);
                final MaterialReceiver core = MaterialReceiver.connect(session);
                return task.run(session, core.comparisons(), core);
            }
        };
    }

    /**
     * A transport that can keep a copy of every message received from, and sent to, the other computing party. A
     * party's task reaches it through {@code session.transport()}.
     */
    static final class Recording implements Transport
    {
        private final Transport inner;
        private final boolean record;
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final ByteArrayOutputStream sentBytes = new ByteArrayOutputStream();

        Recording(final Transport inner, final boolean record)
        {
            this.inner = inner;
            this.record = record;
        }

        long[] received()
        {
            return words(bytes.toByteArray());
        }

        /** What this party sent to the other computing party (when recording). */
        long[] sent()
        {
            return words(sentBytes.toByteArray());
        }

        private static long[] words(final byte[] b)
        {
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
            if (record && to != Party.DEALER)
            {
                sentBytes.writeBytes(message.toArray(ValueLayout.JAVA_BYTE));
            }
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
