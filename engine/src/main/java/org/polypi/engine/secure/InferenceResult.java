package org.polypi.engine.secure;

import org.polypi.engine.plan.Plan;
import org.polypi.engine.transport.Party;
import org.polypi.model.reference.FixedPointOutput;

/**
 * What {@link InMemorySession#infer} returns: the logits the client decoded, and the measured cost of the call.
 *
 * @param output the logits of the {@code count} items at scale f, and their top-1.
 * @param costs the cost of this call only (all its queries), per party, phase and step.
 * @param queries queries run (the last one padded if {@code count} is not a multiple of the batch).
 */
public record InferenceResult(FixedPointOutput output, CostReport costs, int queries)
{
    /** Items inferred. */
    public int items()
    {
        return output.batch();
    }

    /** The client's top-1 class per item. */
    public int[] top1()
    {
        return output.top1();
    }

    /** Online wall time per item in milliseconds: the slower computing party's online phase over the items. */
    public double onlineMillisPerItem()
    {
        final long nanos = Math.max(costs.total(Party.SERVER, Plan.ONLINE).nanos(),
            costs.total(Party.CLIENT, Plan.ONLINE).nanos());
        return nanos / 1e6 / items();
    }

    /** Online bytes {@code party} sent per item. */
    public double onlineBytesPerItem(final Party party)
    {
        return (double)costs.total(party, Plan.ONLINE).bytesSent() / items();
    }

    /** Online rounds per query (the same for the server and the client). */
    public long roundsPerQuery()
    {
        return costs.total(Party.CLIENT, Plan.ONLINE).rounds() / queries;
    }

    /** Bytes the dealer sent in this call (its offline phase). */
    public long dealerBytes()
    {
        return costs.total(Party.DEALER, Plan.OFFLINE).bytesSent();
    }
}
