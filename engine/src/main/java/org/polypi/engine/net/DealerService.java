package org.polypi.engine.net;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Map;

import org.polypi.engine.plan.Plan;
import org.polypi.engine.plan.PlanCompiler;
import org.polypi.engine.secure.SecureDealer;
import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.Transport;
import org.polypi.model.ModelGraph;

/**
 * The dealer role as a network service: listens on one port; the server and the client of a session each dial it
 * with the session's id in their route preamble, and once both are connected it receives the client's
 * {@link SessionRequest} and deals the session's set-up and per-query material with its own {@link SecureDealer}
 * (a fresh random master seed per session): each session gets its own dealer stream. It needs only the public
 * description of the model. See docs/network.md §12.
 */
public final class DealerService extends SessionService
{
    private final ModelGraph publicModel;
    private final Plan plan;

    private DealerService(final ModelGraph publicModel, final Plan plan, final ServiceOptions options)
    {
        super(Party.DEALER, options);
        this.publicModel = publicModel;
        this.plan = plan;
    }

    /**
     * Deals for the model whose public description (or the model itself: only its public part is used) is
     * {@code model}, at {@code fractionalBits}, on {@code listen}.
     */
    public static DealerService start(final ModelGraph model, final int fractionalBits, final InetSocketAddress listen,
                                      final ServiceOptions options) throws IOException
    {
        final ModelGraph pub = PublicModel.of(model);
        final DealerService d = new DealerService(pub, PlanCompiler.compile(pub, fractionalBits).plan(), options);
        d.listen(listen);
        return d;
    }

    /** The plan dealt for. */
    public Plan plan()
    {
        return plan;
    }

    @Override
    String serve(final RoutedConnections incoming, final Admission admission) throws InterruptedException
    {
        final SessionParameters parameters = PublicModel.parameters(incoming.sessionId(), publicModel, plan);
        final TcpTransport tcp = TcpNetwork.connect(Party.DEALER, parameters, options.tcp(), incoming, Map.of(),
            true);
        final Transport t = ShapedTransport.wrap(tcp, options.profile());
        try
        {
            final SessionRequest request = SessionRequest.receive(t);
            admission.enter();
            try (SecureDealer dealer = new SecureDealer(plan, t, options.session(request.batch())))
            {
                dealer.setup();
                for (long q = 0; q < request.queries(); q++)
                {
                    dealer.dealQuery();
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
