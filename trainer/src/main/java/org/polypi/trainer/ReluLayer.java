package org.polypi.trainer;

/** {@code max(x, 0)}; the gradient passes where the input was positive. */
final class ReluLayer implements ActivationLayer
{
    private static final int MIN_ELEMENTS_PER_PART = 1 << 14;

    private final String name;
    private final int size;
    private float[] input;
    private float[] output;
    private float[] gradInput;
    private ActivationStats stats;

    /** ReLU on items of {@code size} elements. */
    ReluLayer(final String name, final int size)
    {
        this.name = name;
        this.size = size;
    }

    @Override
    public String describe()
    {
        return name + ": ReLU";
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
        final ActivationStats recorder = training ? null : stats;
        Parallel.forRange(n, Parallel.parts(n, MIN_ELEMENTS_PER_PART), (part, from, to) ->
        {
            for (int i = from; i < to; i++)
            {
                y[i] = Math.max(0f, x[i]);
            }
            if (recorder != null)
            {
                recorder.record(x, from, to);
            }
        });
        return y;
    }

    @Override
    public float[] backward(final float[] dy, final int batch)
    {
        final int n = batch * size;
        gradInput = TrainLayer.reuse(gradInput, n);
        final float[] x = input;
        final float[] dx = gradInput;
        Parallel.forRange(n, Parallel.parts(n, MIN_ELEMENTS_PER_PART), (part, from, to) ->
        {
            for (int i = from; i < to; i++)
            {
                dx[i] = x[i] > 0f ? dy[i] : 0f;
            }
        });
        return dx;
    }
}
