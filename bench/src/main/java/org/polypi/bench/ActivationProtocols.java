package org.polypi.bench;

import java.lang.foreign.Arena;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.polypi.engine.protocol.ActivationMaterial;
import org.polypi.engine.protocol.BeaverTriple;
import org.polypi.engine.protocol.CrypTenPolynomial;
import org.polypi.engine.protocol.Dealer;
import org.polypi.engine.protocol.EspnPowers;
import org.polypi.engine.protocol.EspnTuple;
import org.polypi.engine.protocol.HoneyBadgerPowers;
import org.polypi.engine.protocol.MaterialReceiver;
import org.polypi.engine.protocol.PartySession;
import org.polypi.engine.protocol.PowerTuple;
import org.polypi.engine.protocol.PublicPolynomial;
import org.polypi.engine.transport.CostMeter;
import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.Transport;
import org.polypi.kernels.RingTensor;
import org.polypi.model.Layer;
import org.polypi.model.ReferenceNetworks;

/**
 * PILLAR's degree-4 activation on one tensor of n elements with each polynomial protocol the engine has: the fused
 * opening the secure engine runs (truncation and every power in one round, plus the local combination), HoneyBadger
 * power tuples, ESPN's cheaper variant and CrypTen's Beaver powers (with its local truncations and combination).
 * It stands in for the end-to-end CrypTen cells until the engine can run a plan with that protocol (and compares the
 * protocols' raw cost next to the engine's ESPN and HoneyBadger baselines, which add a truncation): same parties,
 * dealer and transports, the activation alone. Online time is from both parties holding their material to
 * both holding their output shares; rounds and bytes are the meters'.
 */
final class ActivationProtocols
{
    /** The protocols compared. */
    enum Protocol
    {
        /** The engine's fused opening ({@code PublicPolynomial} over {@code FusedActivation}). */
        FUSED("fused HoneyBadger (engine)"),
        /** HoneyBadger power tuples, powers only. */
        HONEYBADGER("HoneyBadger powers"),
        /** ESPN's cheaper variant, powers only. */
        ESPN("ESPN powers"),
        /** CrypTen: Beaver powers, local truncations and combination. */
        CRYPTEN("CrypTen polynomial");

        private final String label;

        Protocol(final String label)
        {
            this.label = label;
        }

        /** Human-readable name. */
        String label()
        {
            return label;
        }
    }

    /**
     * One protocol at one size.
     *
     * @param protocol the protocol.
     * @param profile where the messages went.
     * @param elements activation elements (one tensor).
     * @param runs measured calls.
     * @param medianMs median online time of a call.
     * @param rounds rounds per call.
     * @param elementsPerElement ring elements each party sends per activation element.
     */
    record Result(Protocol protocol, E2eProfile profile, int elements, int runs, double medianMs, double rounds,
                  double elementsPerElement)
    {
    }

    private static final int DEGREE = 4;
    private static final double INPUT_RANGE = 5;
    private static final String PHASE = "online";
    private static final String IDLE = "idle";

    private ActivationProtocols()
    {
    }

    /** PILLAR's coefficients a_0..a_4 as doubles. */
    static double[] pillar()
    {
        final Layer.Poly p = ReferenceNetworks.PILLAR_DEGREE4;
        final double[] a = new double[p.degree() + 1];
        for (int k = 0; k <= p.degree(); k++)
        {
            a[k] = p.coefficient(k);
        }
        return a;
    }

    /** Measures {@code protocol} on {@code elements} elements, {@code runs} calls after {@code warmup}. */
    static Result measure(final Protocol protocol, final E2eProfile profile, final E2eNetwork network,
                          final int elements, final int fractionalBits, final int warmup, final int runs,
                          final Duration timeout)
    {
        final E2eNetwork.Connected c = network.connectRaw(profile);
        final Transport[] t = c.transports();
        final ExecutorService pool = Executors.newFixedThreadPool(Party.values().length, r ->
        {
            final Thread th = new Thread(r, "e2e-activation");
            th.setDaemon(true);
            return th;
        });
        final int calls = warmup + runs;
        final CyclicBarrier ready = new CyclicBarrier(2);
        final double[] coefficients = pillar();
        final int inputScale = 2 * fractionalBits;
        try
        {
            final Future<?> dealer = pool.submit(() ->
            {
                try (Dealer d = new Dealer(t[Party.DEALER.id()], Dealer.randomSeed()))
                {
                    d.start();
                    final PublicPolynomial fused = new PublicPolynomial(coefficients, fractionalBits, inputScale);
                    final CrypTenPolynomial crypten = new CrypTenPolynomial(coefficients, fractionalBits);
                    for (int i = 0; i < calls; i++)
                    {
                        switch (protocol)
                        {
                            case FUSED -> d.activationMaterial(fused.plan(), elements);
                            case HONEYBADGER -> d.powerTuple(DEGREE, elements);
                            case ESPN -> d.espnTuple(DEGREE, elements);
                            case CRYPTEN ->
                            {
                                for (int j = 0; j < crypten.triplesNeeded(); j++)
                                {
                                    d.beaverTriple(elements);
                                }
                            }
                        }
                    }
                }
                return null;
            });
            final List<Future<long[]>> parties = new ArrayList<>();
            for (final Party p : new Party[]{Party.SERVER, Party.CLIENT})
            {
                parties.add(pool.submit(() -> party(p, t[p.id()], protocol, elements, fractionalBits, inputScale,
                    coefficients, calls, ready)));
            }
            final long deadline = System.nanoTime() + 2 * timeout.toNanos();
            dealer.get(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            final long[] server = parties.get(0).get(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            final long[] client = parties.get(1).get(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            final long[] times = new long[runs];
            for (int i = 0; i < runs; i++)
            {
                times[i] = Math.max(server[warmup + i], client[warmup + i]);
            }
            Arrays.sort(times);
            final CostMeter.Entry cost = find(t[Party.CLIENT.id()].meter(), protocol.name());
            return new Result(protocol, profile, elements, runs, E2eRunner.median(times) / 1e6,
                (double)cost.rounds() / calls, (double)cost.bytesSent() / calls / elements / Long.BYTES);
        }
        catch (final ExecutionException e)
        {
            throw new IllegalStateException(protocol + " failed: " + e.getCause(), e.getCause());
        }
        catch (final TimeoutException e)
        {
            throw new IllegalStateException(protocol + " did not finish within " + timeout.multipliedBy(2), e);
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        finally
        {
            E2eNetwork.closeAll(t);
            pool.shutdownNow();
        }
    }

    /** A computing party: per call, receive the material, wait for the peer, run the protocol timed. */
    private static long[] party(final Party p, final Transport transport, final Protocol protocol, final int n,
                                final int f, final int inputScale, final double[] coefficients, final int calls,
                                final CyclicBarrier ready) throws Exception
    {
        final long[] nanos = new long[calls];
        final PublicPolynomial fused = new PublicPolynomial(coefficients, f, inputScale);
        final CrypTenPolynomial crypten = new CrypTenPolynomial(coefficients, f);
        try (Arena connection = Arena.ofShared())
        {
            final PartySession session = new PartySession(transport, connection);
            final MaterialReceiver material = MaterialReceiver.connect(session);
            for (int i = 0; i < calls; i++)
            {
                try (Arena arena = Arena.ofShared())
                {
                    final PartySession s = session.withArena(arena);
                    final Object piece = switch (protocol)
                    {
                        case FUSED -> material.activationMaterial(s, fused.plan(), n);
                        case HONEYBADGER -> material.powerTuple(s, DEGREE, n);
                        case ESPN -> material.espnTuple(s, DEGREE, n);
                        case CRYPTEN ->
                        {
                            final BeaverTriple[] triples = new BeaverTriple[crypten.triplesNeeded()];
                            for (int j = 0; j < triples.length; j++)
                            {
                                triples[j] = material.beaverTriple(s, n);
                            }
                            yield triples;
                        }
                    };
                    final RingTensor x = share(s, p, n, protocol == Protocol.FUSED ? inputScale : f);
                    ready.await();
                    transport.meter().enter(PHASE, protocol.name());
                    final long t0 = System.nanoTime();
                    switch (protocol)
                    {
                        case FUSED -> fused.evaluate(s, x, (ActivationMaterial)piece);
                        case HONEYBADGER -> HoneyBadgerPowers.powers(s, x, (PowerTuple)piece);
                        case ESPN -> EspnPowers.powers(s, x, (EspnTuple)piece);
                        case CRYPTEN -> crypten.evaluate(s, x, (BeaverTriple[])piece);
                    }
                    nanos[i] = System.nanoTime() - t0;
                    transport.meter().enter(IDLE, IDLE);
                }
            }
        }
        return nanos;
    }

    /**
     * This party's share of inputs uniform in [-5, 5) at {@code scale}: the server holds {@code x - r}, the client
     * {@code r}, with both drawing the same x and r from a common stream so that the shares add up.
     */
    private static RingTensor share(final PartySession s, final Party p, final int n, final int scale)
    {
        final SplittableRandom common = new SplittableRandom(n);
        final long[] v = new long[n];
        final double unit = Math.scalb(1.0, scale);
        for (int i = 0; i < n; i++)
        {
            final long x = (long)((common.nextDouble() * 2 - 1) * INPUT_RANGE * unit);
            final long r = common.nextLong();
            v[i] = p == Party.SERVER ? x - r : r;
        }
        return RingTensor.of(s.arena(), v, n);
    }

    private static CostMeter.Entry find(final CostMeter meter, final String step)
    {
        for (final CostMeter.Entry e : meter.entries())
        {
            if (PHASE.equals(e.phase()) && step.equals(e.step()))
            {
                return e;
            }
        }
        throw new IllegalStateException("no meter entry for " + step);
    }
}
