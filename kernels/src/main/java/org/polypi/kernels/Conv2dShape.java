package org.polypi.kernels;

/**
 * Geometry of a 2-D convolution (NCHW, groups = 1, square-or-not kernels, symmetric zero padding).
 * Every dimension is validated on construction, so a kernel handed a {@code Conv2dShape} can trust it.
 */
public record Conv2dShape(int batch, int inChannels, int inHeight, int inWidth, int outChannels, int kernelHeight,
                          int kernelWidth, int stride, int padding)
{
    /** Validates every field and the output size. */
    public Conv2dShape
    {
        RingTensor.checkPositive("batch", batch);
        RingTensor.checkPositive("inChannels", inChannels);
        RingTensor.checkPositive("inHeight", inHeight);
        RingTensor.checkPositive("inWidth", inWidth);
        RingTensor.checkPositive("outChannels", outChannels);
        RingTensor.checkPositive("kernelHeight", kernelHeight);
        RingTensor.checkPositive("kernelWidth", kernelWidth);
        RingTensor.checkPositive("stride", stride);
        if (padding < 0)
        {
            throw new IllegalArgumentException("padding must be non-negative, was " + padding);
        }
        if (inHeight + 2 * padding < kernelHeight || inWidth + 2 * padding < kernelWidth)
        {
            throw new IllegalArgumentException("kernel " + kernelHeight + "x" + kernelWidth + " larger than padded input " +
                (inHeight + 2 * padding) + "x" + (inWidth + 2 * padding));
        }
    }

    /** Output height. */
    public int outHeight()
    {
        return (inHeight + 2 * padding - kernelHeight) / stride + 1;
    }

    /** Output width. */
    public int outWidth()
    {
        return (inWidth + 2 * padding - kernelWidth) / stride + 1;
    }

    /** Elements of the input tensor. */
    public long inputElements()
    {
        return (long)batch * inChannels * inHeight * inWidth;
    }

    /** Elements of the weight tensor. */
    public long weightElements()
    {
        return (long)outChannels * inChannels * kernelHeight * kernelWidth;
    }

    /** Elements of the output tensor. */
    public long outputElements()
    {
        return (long)batch * outChannels * outHeight() * outWidth();
    }

    /** Multiply-adds of the whole convolution. */
    public long multiplyAdds()
    {
        return outputElements() * inChannels * kernelHeight * kernelWidth;
    }
}
