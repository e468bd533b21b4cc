package org.polypi.engine.net;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Objects;

import org.polypi.engine.plan.CompiledModel;
import org.polypi.engine.secure.SecureServer;
import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.Transport;
import org.polypi.model.ModelGraph;

/**
 * The server role as a network service: listens on one port for clients, and serves each client session on its own
 * thread (a bounded number at once, a bounded number waiting): it dials the dealer for the session's dealer stream,
 * receives the client's {@link SessionRequest}, runs the engine's set-up and the requested queries with a
 * {@link SecureServer}, and logs one line with the session's costs. Nothing is kept between sessions, so replicas
 * behind a TCP load balancer are interchangeable. See docs/network.md §12.
 */
public final class ServerService extends SessionService
{
    private final CompiledModel model;
    private final ModelGraph publicModel;
    private final InetSocketAddress dealer;

    private ServerService(final CompiledModel model, final ModelGraph publicModel, final InetSocketAddress dealer,
                          final ServiceOptions options)
    {
        super(Party.SERVER, options);
        this.model = model;
        this.publicModel = publicModel;
        this.dealer = dealer;
    }

    /**
     * Serves {@code model} at {@code fractionalBits} on {@code listen}, with the dealer at {@code dealer}.
     *
     * @throws IllegalArgumentException if the model's plan depends on private values or has no secure protocol.
     * @throws org.polypi.engine.transport.TransportException if the port cannot be bound.
     */
    public static ServerService start(final ModelGraph model, final int fractionalBits, final InetSocketAddress listen,
                                      final InetSocketAddress dealer, final ServiceOptions options) throws IOException
    {
        Objects.requireNonNull(dealer, "dealer");
        final CompiledModel compiled = PublicModel.compileChecked(model, fractionalBits);
        final ServerService s = new ServerService(compiled, PublicModel.of(model), dealer, options);
        s.listen(listen);
        return s;
    }

    /** The public description clients and dealers must run (write it with {@code ModelFormat.write}). */
    public ModelGraph publicModel()
    {
        return publicModel;
    }

    /** The compiled model served. */
    public CompiledModel model()
    {
        return model;
    }

    @Override
    String serve(final RoutedConnections incoming, final Admission admission) throws InterruptedException
    {
        final SessionParameters parameters = PublicModel.parameters(incoming.sessionId(), publicModel, model.plan());
        final TcpTransport tcp = TcpNetwork.connect(Party.SERVER, parameters, options.tcp(), incoming,
            Map.of(Party.DEALER, dealer), true);
        final Transport t = ShapedTransport.wrap(tcp, options.profile());
        try
        {
            final SessionRequest request = SessionRequest.receive(t);
            admission.enter();
            try (SecureServer server = new SecureServer(model, t, options.session(request.batch())))
            {
                server.setup();
                for (long q = 0; q < request.queries(); q++)
                {
                    server.query();
                }
            }
            return costs(t.meter(), request);
        }
        finally
        {
            t.close();
        }
    }
}
