package org.polypi.engine.net;

import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.Map;
import java.util.Objects;
import java.util.function.IntConsumer;

import org.polypi.engine.plan.Plan;
import org.polypi.engine.plan.PlanCompiler;
import org.polypi.engine.secure.SecureClient;
import org.polypi.engine.secure.SessionOptions;
import org.polypi.engine.transport.CostMeter;
import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.Transport;
import org.polypi.model.ModelGraph;
import org.polypi.model.reference.FixedPointOutput;

/**
 * The client role over the network: one session with a {@link ServerService} and a {@link DealerService}. It dials
 * both (with a fresh random session id in the route preamble), sends the {@link SessionRequest}, runs the engine's
 * set-up and one query per batch with a {@link SecureClient}, and returns the decoded logits with the per-query
 * times and the client's costs. Only the public description of the model is needed.
 * <pre>{@code
 * RemoteClient client = RemoteClient.of(publicModel, fractionalBits, serverAddress, dealerAddress, tcpOptions);
 * RemoteClient.Result r = client.infer(images, count, batch, done -> { });
 * int[] classes = r.output().top1();
 * }</pre>
 */
public final class RemoteClient
{
    private static final SecureRandom IDS = new SecureRandom();

    private final ModelGraph publicModel;
    private final Plan plan;
    private final InetSocketAddress server;
    private final InetSocketAddress dealer;
    private final TcpOptions tcp;
    private final NetworkProfile profile;

    private RemoteClient(final ModelGraph publicModel, final Plan plan, final InetSocketAddress server,
                         final InetSocketAddress dealer, final TcpOptions tcp, final NetworkProfile profile)
    {
        this.publicModel = publicModel;
        this.plan = plan;
        this.server = Objects.requireNonNull(server, "server");
        this.dealer = Objects.requireNonNull(dealer, "dealer");
        this.tcp = Objects.requireNonNull(tcp, "tcp");
        this.profile = Objects.requireNonNull(profile, "profile");
    }

    /** A client of the model whose public description is {@code model} (the full model works too). */
    public static RemoteClient of(final ModelGraph model, final int fractionalBits, final InetSocketAddress server,
                                  final InetSocketAddress dealer, final TcpOptions tcp)
    {
        final ModelGraph pub = PublicModel.of(model);
        return new RemoteClient(pub, PlanCompiler.compile(pub, fractionalBits).plan(), server, dealer, tcp,
            NetworkProfile.LAN);
    }

    /** A copy whose sends are shaped by {@code value}. */
    public RemoteClient withProfile(final NetworkProfile value)
    {
        return new RemoteClient(publicModel, plan, server, dealer, tcp, value);
    }

    /** The plan the session runs. */
    public Plan plan()
    {
        return plan;
    }

    /**
     * One phase's totals on the client's meter.
     *
     * @param bytesSent     payload bytes the client sent.
     * @param bytesReceived payload bytes it received (online: what the server sent).
     * @param rounds        sequential exchanges.
     * @param nanos         wall time.
     */
    public record Costs(long bytesSent, long bytesReceived, long rounds, long nanos)
    {
        static Costs of(final CostMeter.Entry e)
        {
            return new Costs(e.bytesSent(), e.bytesReceived(), e.rounds(), e.nanos());
        }

        Costs minus(final Costs o)
        {
            return new Costs(bytesSent - o.bytesSent, bytesReceived - o.bytesReceived, rounds - o.rounds,
                nanos - o.nanos);
        }
    }

    /**
     * What a session returned (warm-up queries left out of everything but {@code setup}).
     *
     * @param sessionId     the session's id (as the server's and dealer's logs print it, in hex).
     * @param output        the logits of the {@code count} items.
     * @param queryNanos    per query: the client's wall time of the whole query (offline and online).
     * @param onlineNanos   per query: the client's online phase (input shared to logits known).
     * @param setup         the client's totals of the set-up phase.
     * @param offline       ... of the offline phase.
     * @param online        ... of the online phase (bytes sent are the client's; bytes received the server's).
     * @param warmUpQueries queries run first and not measured.
     */
    public record Result(long sessionId, FixedPointOutput output, long[] queryNanos, long[] onlineNanos,
                         Costs setup, Costs offline, Costs online, int warmUpQueries)
    {
    }

    /**
     * Infers {@code count} items of {@code inputs} in one session, {@code batch} items per query (the last query
     * padded with zeros); {@code progress} is told the number of items done after each query.
     *
     * @throws IllegalArgumentException if the inputs are too short or do not fit the ring.
     * @throws org.polypi.engine.transport.TransportException naming the peer if a connection fails or times out.
     */
    public Result infer(final float[] inputs, final int count, final int batch, final IntConsumer progress)
    {
        return infer(inputs, count, batch, 0, progress);
    }

    /**
     * As {@link #infer(float[], int, int, IntConsumer)}, after {@code warmUp} queries on the first batch that are
     * run in the same session but measured nowhere (fresh JVMs compile the hot code during the first queries).
     */
    public Result infer(final float[] inputs, final int count, final int batch, final int warmUp,
                        final IntConsumer progress)
    {
        if (warmUp < 0)
        {
            throw new IllegalArgumentException("warmUp must be >= 0, was " + warmUp);
        }
        final int item = plan.inputElements();
        if (count <= 0 || (long)count * item > inputs.length)
        {
            throw new IllegalArgumentException("cannot infer " + count + " items of " + item + " values from " +
                inputs.length + " values");
        }
        final int queries = (count + batch - 1) / batch;
        final SessionRequest request = new SessionRequest(batch, queries + warmUp);
        final long sessionId = IDS.nextLong();
        final SessionParameters parameters = PublicModel.parameters(sessionId, publicModel, plan);
        final TcpTransport t0 = TcpNetwork.connect(Party.CLIENT, parameters, tcp, null,
            Map.of(Party.SERVER, server, Party.DEALER, dealer), true);
        final Transport t = ShapedTransport.wrap(t0, profile);
        final SessionOptions options = SessionOptions.of(batch).withTimeout(tcp.timeout());
        final int classes = plan.outputElements();
        final long[] logits = new long[count * classes];
        final long[] queryNanos = new long[queries];
        final long[] onlineNanos = new long[queries];
        try (SecureClient client = new SecureClient(plan, t, options))
        {
            request.send(t);
            client.setup();
            final long[] first = client.encode(inputs, 0, Math.min(batch, count));
            for (int w = 0; w < warmUp; w++)
            {
                client.query(first);
            }
            final CostMeter m = t.meter();
            final Costs offline0 = Costs.of(m.total(Plan.OFFLINE));
            final Costs online0 = Costs.of(m.total(Plan.ONLINE));
            for (int q = 0; q < queries; q++)
            {
                final int from = q * batch;
                final int items = Math.min(batch, count - from);
                final long[] encoded = client.encode(inputs, from * item, items);
                final long onlineStart = m.total(Plan.ONLINE).nanos();
                final long t0ns = System.nanoTime();
                final FixedPointOutput out = client.query(encoded);
                queryNanos[q] = System.nanoTime() - t0ns;
                onlineNanos[q] = m.total(Plan.ONLINE).nanos() - onlineStart;
                System.arraycopy(out.ringLogits(), 0, logits, from * classes, items * classes);
                progress.accept(from + items);
            }
            return new Result(sessionId, new FixedPointOutput(count, classes, plan.fractionalBits(), logits),
                queryNanos, onlineNanos, Costs.of(m.total(Plan.SETUP)),
                Costs.of(m.total(Plan.OFFLINE)).minus(offline0), Costs.of(m.total(Plan.ONLINE)).minus(online0), warmUp);
        }
        finally
        {
            t.close();
        }
    }
}
