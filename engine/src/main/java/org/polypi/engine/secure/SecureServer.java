package org.polypi.engine.secure;

import java.lang.foreign.Arena;
import java.util.Objects;

import org.polypi.engine.plan.CompiledModel;
import org.polypi.engine.plan.Plan;
import org.polypi.engine.plan.PlanStep;
import org.polypi.engine.protocol.InputSharing;
import org.polypi.engine.protocol.LinearLayer;
import org.polypi.engine.protocol.LinearMask;
import org.polypi.engine.protocol.OutputReconstruction;
import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.Transport;
import org.polypi.kernels.RingTensor;

/**
 * The server (party 0): holds the compiled model, opens each linear step's weights once per connection as
 * {@code W - B}, and per query walks the plan on its shares, adding the public constants (biases, polynomial
 * constants, the ones channel), and sends its share of the logits to the client. It receives the client's input seed
 * and masked openings only, never anything derived from the output.
 */
public final class SecureServer extends ComputingParty
{
    private final CompiledModel model;
    /** Per linear step its bias at the output scale, or null. */
    private final long[][] biases;

    /**
     * The server of {@code model} over {@code transport} (party 0's).
     *
     * @throws UnsupportedOperationException if a step of the plan has no secure protocol yet.
     */
    public SecureServer(final CompiledModel model, final Transport transport, final SessionOptions options)
    {
        super(Objects.requireNonNull(model, "model").plan(), transport, options, Party.SERVER);
        this.model = model;
        this.biases = new long[plan.linearSteps().size()][];
        for (int i = 0; i < biases.length; i++)
        {
            biases[i] = model.hasBias(i) ? model.bias(i) : null;
        }
    }

    @Override
    LinearLayer.Prepared setupLinear(final PlanStep.Linear step, final LinearMask mask)
    {
        // The encoded weights are needed only to form W - B_0; the layer keeps F and F + B_0.
        try (Arena tmp = Arena.ofConfined())
        {
            return LinearLayer.setupServer(session, mask, model.weights(tmp, step.linearIndex()));
        }
    }

    @Override
    long[] bias(final int linearIndex)
    {
        return biases[linearIndex];
    }

    /** One query: the offline phase (material), then the online walk from the client's input seed to the output. */
    public void query()
    {
        try (Query q = prepare())
        {
            transport.meter().enter(Plan.ONLINE, Plan.INPUT);
            final RingTensor input = InputSharing.serverShare(q.session(), plan.tensor(plan.inputTensor())
                .batchShape(batch));
            final RingTensor logits = walk(q, input);
            transport.meter().enter(Plan.ONLINE, Plan.OUTPUT);
            OutputReconstruction.serverSend(q.session(), logits);
        }
        finishQuery();
    }
}
