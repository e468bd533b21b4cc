package org.polypi.bench;

import java.io.Serial;
import java.io.Serializable;

/**
 * One cell of the end-to-end matrix.
 *
 * @param workload the network.
 * @param variant the activation variant.
 * @param profile the transport and network profile.
 * @param batch items per query.
 */
record E2eCell(E2eWorkload workload, E2eVariant variant, E2eProfile profile, int batch) implements Serializable
{
    @Serial
    private static final long serialVersionUID = 1L;

    /** "w2/pillar/lan/1": what --filter matches. */
    String id()
    {
        return workload.id() + "/" + variant.id() + "/" + profile.id() + "/" + batch;
    }

    /** The same cell with another variant (for the ReLU / polynomial ratio). */
    E2eCell withVariant(final E2eVariant other)
    {
        return new E2eCell(workload, other, profile, batch);
    }
}
