package org.polypi.engine.plan;

/**
 * The cost of one (phase, step) that a {@link Plan} predicts from the documented protocol formulas
 * (docs/protocols.md §1-§4, docs/engine-design.md §5): rounds and payload bytes per ordered pair of parties. The
 * secure engine's {@code CostMeter}s must measure exactly these numbers.
 *
 * @param phase {@link Plan#SETUP}, {@link Plan#OFFLINE} or {@link Plan#ONLINE}.
 * @param step the step name (a plan step, or {@link Plan#HANDSHAKE}, {@link Plan#SEEDS}, {@link Plan#INPUT},
 *     {@link Plan#OUTPUT}).
 * @param rounds sequential exchanges counted by the server and by the client.
 * @param dealerRounds sequential exchanges counted by the dealer.
 * @param serverToClient payload bytes the server sends the client.
 * @param clientToServer payload bytes the client sends the server.
 * @param dealerToServer bytes the dealer sends the server.
 * @param dealerToClient bytes the dealer sends the client.
 * @param serverToDealer bytes the server sends the dealer.
 * @param clientToDealer bytes the client sends the dealer.
 */
public record StepCost(String phase, String step, long rounds, long dealerRounds, long serverToClient,
                       long clientToServer, long dealerToServer, long dealerToClient, long serverToDealer,
                       long clientToDealer)
{
    /** Bytes the server sends. */
    public long serverSent()
    {
        return serverToClient + serverToDealer;
    }

    /** Bytes the server receives. */
    public long serverReceived()
    {
        return clientToServer + dealerToServer;
    }

    /** Bytes the client sends. */
    public long clientSent()
    {
        return clientToServer + clientToDealer;
    }

    /** Bytes the client receives. */
    public long clientReceived()
    {
        return serverToClient + dealerToClient;
    }

    /** Bytes the dealer sends. */
    public long dealerSent()
    {
        return dealerToServer + dealerToClient;
    }

    /** Bytes the dealer receives. */
    public long dealerReceived()
    {
        return serverToDealer + clientToDealer;
    }

    static StepCost between(final String phase, final String step, final long rounds, final long serverToClient,
                            final long clientToServer, final long dealerToServer)
    {
        return new StepCost(phase, step, rounds, 0, serverToClient, clientToServer, dealerToServer, 0, 0, 0);
    }
}
