package org.polypi.trainer;

/** Row-major flattening: the data is already laid out that way, so both passes return their argument. */
final class FlattenLayer implements TrainLayer.Unary
{
    private final String name;
    private final int size;

    /** Flattens items of {@code size} elements. */
    FlattenLayer(final String name, final int size)
    {
        this.name = name;
        this.size = size;
    }

    @Override
    public String describe()
    {
        return name + ": Flatten";
    }

    @Override
    public int outputSize()
    {
        return size;
    }

    @Override
    public float[] forward(final float[] x, final int batch, final boolean training)
    {
        return x;
    }

    @Override
    public float[] backward(final float[] dy, final int batch)
    {
        return dy;
    }
}
