package org.polypi.trainer;

/** Element-wise sum of two inputs of equal shape (residual connection); both inputs receive the output gradient. */
final class AddLayer implements TrainLayer
{
    private final String name;
    private final int size;
    private float[] output;

    /** Adds items of {@code size} elements. */
    AddLayer(final String name, final int size)
    {
        this.name = name;
        this.size = size;
    }

    @Override
    public String describe()
    {
        return name + ": Add";
    }

    @Override
    public int arity()
    {
        return 2;
    }

    @Override
    public int outputSize()
    {
        return size;
    }

    @Override
    public float[] forward(final float[][] inputs, final int batch, final boolean training)
    {
        final float[] a = inputs[0];
        final float[] b = inputs[1];
        output = TrainLayer.reuse(output, batch * size);
        for (int i = 0; i < output.length; i++)
        {
            output[i] = a[i] + b[i];
        }
        return output;
    }

    @Override
    public float[][] backwardAll(final float[] gradOutput, final int batch)
    {
        return new float[][] {gradOutput, gradOutput};
    }
}
