package org.polypi.engine.secure;

import org.polypi.engine.transport.Party;
import org.polypi.kernels.RingTensor;

/**
 * A hook a computing party calls after each online step with its own share of the step's output: for tests and
 * diagnostics (tracing the secure values step by step, injecting a failure at a given step). It sees only what the
 * party already holds, so it cannot weaken the protocol; it must not keep the tensor beyond the call (the query's
 * memory is released when the query ends).
 */
@FunctionalInterface
public interface StepObserver
{
    /** Observes nothing. */
    StepObserver NONE = (party, query, step, share) ->
    {
    };

    /** Step index passed for the input sharing, which precedes step 0. */
    int INPUT_STEP = -1;

    /**
     * Called by {@code party} after online step {@code step} of query {@code query} (0-based per connection), or
     * after the input sharing ({@link #INPUT_STEP}), with its share of the step's output ({@code batch} items).
     */
    void afterStep(Party party, int query, int step, RingTensor share);
}
