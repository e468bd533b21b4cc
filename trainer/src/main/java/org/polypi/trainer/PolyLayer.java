package org.polypi.trainer;

import org.polypi.model.Layer;

/**
 * A public polynomial activation (PILLAR), the same coefficients at every element.
 * <p>
 * In training the input is clipped to {@code [-clip, clip]} before the polynomial (the gradient is zero where the
 * clip bites), so one outlier cannot blow up the forward pass, and the {@link RangePenalty} (on the unclipped input)
 * teaches the network to stay inside the range. Evaluation applies the plain polynomial, as the exported model
 * does. Evaluation is Horner's rule in float32 with fused multiply-adds ({@link FloatOps#polynomial}); the
 * reference inference (Horner in double) agrees to float rounding.
 */
final class PolyLayer implements ActivationLayer
{
    private static final int MIN_ELEMENTS_PER_PART = 1 << 13;
    /** Elements per penalty lane sum: short enough that float lane sums stay accurate. */
    private static final int BLOCK = 1024;

    private final String name;
    private final int size;
    private final Layer.Poly poly;
    private final float[] coefficients;
    private final float[] derivative;
    private final double clip;
    private final RangePenalty penalty;
    private final FloatOps ops = FloatOps.get();
    private final double[] penaltyParts = new double[Parallel.MAX_PARTS];
    private final double[] tailParts = new double[Parallel.MAX_PARTS];
    private float[] input;
    private float[] output;
    private float[] gradInput;
    private ActivationStats stats;
    private boolean penalised;
    private boolean tailed;

    /**
     * The polynomial {@code poly} on items of {@code size} elements.
     *
     * @param clip training-time clip bound (0: no clipping).
     * @param penalty the shared range penalty, or null for none.
     */
    PolyLayer(final String name, final int size, final Layer.Poly poly, final double clip, final RangePenalty penalty)
    {
        if (!(clip >= 0) || Double.isInfinite(clip))
        {
            throw new IllegalArgumentException("clip must be finite and >= 0, was " + clip);
        }
        this.name = name;
        this.size = size;
        this.poly = poly;
        this.coefficients = new float[poly.degree() + 1];
        this.derivative = new float[poly.degree()];
        for (int k = 0; k < coefficients.length; k++)
        {
            coefficients[k] = poly.coefficient(k);
        }
        for (int k = 1; k < coefficients.length; k++)
        {
            derivative[k - 1] = k * coefficients[k];
        }
        this.clip = clip;
        this.penalty = penalty;
    }

    /** The polynomial. */
    Layer.Poly poly()
    {
        return poly;
    }

    @Override
    public String describe()
    {
        return name + ": Poly degree " + poly.degree() + (clip > 0 ? " clip " + clip : "");
    }

    @Override
    public int outputSize()
    {
        return size;
    }

    @Override
    public void recordInto(final ActivationStats s)
    {
        stats = s;
    }

    @Override
    public float[] forward(final float[] x, final int batch, final boolean training)
    {
        input = x;
        final int n = batch * size;
        output = TrainLayer.reuse(output, n);
        final float[] y = output;
        final float bound = training && clip > 0 ? (float)clip : Float.POSITIVE_INFINITY;
        final ActivationStats recorder = training ? null : stats;
        penalised = training && penalty != null && penalty.active();
        tailed = training && penalty != null && penalty.tailActive();
        final boolean withPower = penalised;
        final boolean withTail = tailed;
        final float inverseRange = withPower ? (float)(1.0 / penalty.range()) : 0f;
        final int half = withPower ? penalty.gamma() / 2 : 0;
        final float margin = withTail ? (float)penalty.tailMargin() : 0f;
        final int parts = Parallel.parts(n, MIN_ELEMENTS_PER_PART);
        Parallel.forRange(n, parts, (part, from, to) ->
        {
            ops.polynomial(x, coefficients, bound, y, from, to);
            double sum = 0;
            double tail = 0;
            // blocks keep the float lane sums short; the blocks are summed in double
            for (int b0 = from; (withPower || withTail) && b0 < to; b0 += BLOCK)
            {
                final int b1 = Math.min(to, b0 + BLOCK);
                sum += withPower ? ops.evenPowerSum(x, inverseRange, half, b0, b1) : 0;
                tail += withTail ? ops.tailSquareSum(x, margin, b0, b1) : 0;
            }
            penaltyParts[part] = sum;
            tailParts[part] = tail;
            if (recorder != null)
            {
                recorder.record(x, from, to);
            }
        });
        if (withPower || withTail)
        {
            double total = 0;
            double tail = 0;
            for (int part = 0; part < parts; part++)
            {
                total += penaltyParts[part];
                tail += tailParts[part];
            }
            penalty.add((withPower ? penalty.siteWeight() * total : 0) +
                (withTail ? penalty.tailSiteWeight() * tail : 0));
        }
        return y;
    }

    @Override
    public float[] backward(final float[] dy, final int batch)
    {
        final int n = batch * size;
        gradInput = TrainLayer.reuse(gradInput, n);
        final float[] x = input;
        final float[] dx = gradInput;
        final float bound = clip > 0 ? (float)clip : Float.POSITIVE_INFINITY;
        final boolean withPenalty = penalised;
        final boolean withTail = tailed;
        final float margin = withTail ? (float)penalty.tailMargin() : 0f;
        // d/dx of w · (|x| - m)² beyond the margin = 2w · (x ∓ m)
        final float tailScale = withTail ? (float)(2 * penalty.tailSiteWeight()) : 0f;
        final float inverseRange = withPenalty ? (float)(1.0 / penalty.range()) : 0f;
        final int half = withPenalty ? penalty.gamma() / 2 : 0;
        // d/dx of w · (x/R)^gamma = w · gamma / R · (x/R)^(gamma-1)
        final float penaltyScale = withPenalty ?
            (float)(penalty.siteWeight() * penalty.gamma() / penalty.range()) : 0f;
        Parallel.forRange(n, Parallel.parts(n, MIN_ELEMENTS_PER_PART), (part, from, to) ->
        {
            ops.polynomialGradient(x, dy, derivative, bound, dx, from, to);
            if (withPenalty)
            {
                ops.addOddPower(x, inverseRange, half, penaltyScale, dx, from, to);
            }
            if (withTail)
            {
                ops.addTailGradient(x, margin, tailScale, dx, from, to);
            }
        });
        return dx;
    }
}
