package org.polypi.datasets;

/**
 * Images as stored on disk: unsigned bytes (0..255) in NCHW order, {@code count x channels x height x width}.
 * <p>
 * This is the loaders' intermediate form, before {@link Dataset#fromBytes} converts to float32 and normalizes.
 * The record does not copy {@code pixels}: whoever builds it hands the array over and must not change it afterwards.
 *
 * @param count number of images, at least 0.
 * @param channels channels per image, at least 1.
 * @param height rows per image, at least 1.
 * @param width columns per image, at least 1.
 * @param pixels {@code count * channels * height * width} bytes, image after image, channel planes row-major.
 */
public record ByteImages(int count, int channels, int height, int width, byte[] pixels)
{
    /**
     * Validates the dimensions against the pixel array.
     *
     * @throws IllegalArgumentException if a dimension is out of range or {@code pixels} has the wrong length.
     */
    public ByteImages
    {
        Dataset.checkShape(count, channels, height, width);
        if (pixels == null || pixels.length != (long)count * channels * height * width)
        {
            throw new IllegalArgumentException("pixels: expected " + count + "x" + channels + "x" + height + "x" + width +
                " = " + (long)count * channels * height * width + " bytes, found " +
                (pixels == null ? "null" : pixels.length));
        }
    }

    /**
     * Bytes per image.
     *
     * @return {@code channels * height * width}.
     */
    public int imageBytes()
    {
        return channels * height * width;
    }
}
