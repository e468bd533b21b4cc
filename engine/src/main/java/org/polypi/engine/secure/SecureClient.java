package org.polypi.engine.secure;

import java.lang.foreign.MemorySegment;
import java.security.SecureRandom;

import org.polypi.engine.plan.Plan;
import org.polypi.engine.plan.PlanStep;
import org.polypi.engine.protocol.InputSharing;
import org.polypi.engine.protocol.LinearLayer;
import org.polypi.engine.protocol.LinearMask;
import org.polypi.engine.protocol.OutputReconstruction;
import org.polypi.engine.transport.Party;
import org.polypi.engine.transport.Transport;
import org.polypi.kernels.FixedPoint;
import org.polypi.kernels.RingTensor;
import org.polypi.model.reference.FixedPointOutput;

/**
 * The client (party 1): holds the input and the public plan only. It encodes its input at f, shares it with a
 * 16-byte seed, walks the plan on its shares and, at the end, receives the server's share of the logits and decodes
 * them. Of the model it only ever receives the weights masked ({@code F = W - B}, B uniform and unknown to it) and
 * fresh uniform openings.
 */
public final class SecureClient extends ComputingParty
{
    private final FixedPoint codec;
    private final SecureRandom random = new SecureRandom();

    /**
     * The client of {@code plan} over {@code transport} (party 1's).
     *
     * @throws UnsupportedOperationException if a step of the plan has no secure protocol yet.
     */
    public SecureClient(final Plan plan, final Transport transport, final SessionOptions options)
    {
        super(plan, transport, options, Party.CLIENT);
        this.codec = new FixedPoint(plan.fractionalBits());
    }

    @Override
    LinearLayer.Prepared setupLinear(final PlanStep.Linear step, final LinearMask mask)
    {
        return LinearLayer.setupClient(session, mask);
    }

    @Override
    long[] bias(final int linearIndex)
    {
        return null;
    }

    /**
     * Encodes {@code count <= batch} items from {@code inputs[offset..]} at scale f into a query's worth of ring
     * values; missing items (a short last batch) are zeros.
     *
     * @throws IllegalArgumentException if an item does not fit the ring at scale f or the range is out of bounds.
     */
    public long[] encode(final float[] inputs, final int offset, final int count)
    {
        final int item = plan.inputElements();
        if (count <= 0 || count > batch || offset < 0 || (long)offset + (long)count * item > inputs.length)
        {
            throw new IllegalArgumentException("cannot take " + count + " items of " + item + " values at offset " +
                offset + " from " + inputs.length + " values (batch " + batch + ")");
        }
        final long[] encoded = new long[batch * item];
        final MemorySegment target = MemorySegment.ofArray(encoded);
        try
        {
            codec.encode(inputs, offset, target, count * item);
        }
        catch (final ArithmeticException e)
        {
            throw new IllegalArgumentException("input does not fit the ring at scale 2^" + plan.fractionalBits() +
                ": " + e.getMessage(), e);
        }
        return encoded;
    }

    /**
     * One query on an encoded batch ({@link #encode}): the offline phase, then the online walk; returns the logits
     * of the {@code batch} items at scale f.
     */
    public FixedPointOutput query(final long[] encoded)
    {
        final int[] shape = plan.tensor(plan.inputTensor()).batchShape(batch);
        if (encoded.length != batch * plan.inputElements())
        {
            throw new IllegalArgumentException("an encoded batch has " + batch * plan.inputElements() +
                " values, got " + encoded.length);
        }
        final long[] logits;
        try (Query q = prepare())
        {
            transport.meter().enter(Plan.ONLINE, Plan.INPUT);
            final RingTensor x = RingTensor.of(q.session().arena(), encoded, shape);
            final RingTensor share = InputSharing.clientShare(q.session(), x, random);
            final RingTensor mine = walk(q, share);
            transport.meter().enter(Plan.ONLINE, Plan.OUTPUT);
            logits = OutputReconstruction.clientReceive(q.session(), mine).toArray();
        }
        finishQuery();
        return new FixedPointOutput(batch, plan.outputElements(), plan.fractionalBits(), logits);
    }
}
