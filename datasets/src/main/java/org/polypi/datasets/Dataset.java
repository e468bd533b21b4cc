package org.polypi.datasets;

import java.lang.foreign.MemorySegment;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * An immutable labelled image set: float32 images in NCHW order ({@code count x channels x height x width}),
 * one int label per image, and the class names the labels index.
 * <p>
 * The dataset owns its arrays: factories copy what they are given, accessors hand out copies or read-only views,
 * and every transformation ({@link #slice}, {@link #subset}, {@link #pad}) returns a new dataset. Equality is by
 * value: shape, every float bit pattern, labels, class names and the {@link Normalization} that produced the values.
 * <p>
 * Pixels are addressed as {@code ((n * channels + c) * height + y) * width + x}. The whole image array is one Java
 * array, so a dataset holds at most {@code Integer.MAX_VALUE - 8} floats (e.g. 2.7 M Fashion-MNIST images).
 */
public final class Dataset
{
    /** Largest array the JVM reliably allocates. */
    static final long MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;

    private final int count;
    private final int channels;
    private final int height;
    private final int width;
    private final float[] images; // (count, channels, height, width)
    private final int[] labels;   // (count)
    private final List<String> classNames;
    private final Normalization normalization;

    private Dataset(final int count, final int channels, final int height, final int width, final float[] images,
        final int[] labels, final List<String> classNames, final Normalization normalization)
    {
        this.count = count;
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.images = images;
        this.labels = labels;
        this.classNames = classNames;
        this.normalization = normalization;
    }

    /**
     * Builds a dataset from float images (copied).
     *
     * @param images {@code count * channels * height * width} floats in NCHW order.
     * @param labels one label per image, each in {@code 0 .. classNames.size() - 1}.
     * @param channels channels per image.
     * @param height rows per image.
     * @param width columns per image.
     * @param classNames the class names, at least one, none null.
     * @param normalization how the values were produced (recorded, not applied).
     * @return the dataset.
     * @throws IllegalArgumentException if the sizes disagree or a label is out of range.
     */
    public static Dataset of(final float[] images, final int[] labels, final int channels, final int height,
        final int width, final List<String> classNames, final Normalization normalization)
    {
        if (images == null || labels == null)
        {
            throw new IllegalArgumentException("images and labels must not be null");
        }
        final int count = labels.length;
        checkShape(count, channels, height, width);
        final long expected = (long)count * channels * height * width;
        if (images.length != expected)
        {
            throw new IllegalArgumentException("images: " + count + " labels of " + channels + "x" + height + "x" + width +
                " need " + expected + " floats, found " + images.length);
        }
        final List<String> names = checkClassNames(classNames);
        checkLabels(labels, names.size());
        if (normalization == null)
        {
            throw new IllegalArgumentException("normalization must not be null");
        }
        return new Dataset(count, channels, height, width, images.clone(), labels.clone(), names, normalization);
    }

    /**
     * Converts stored bytes to float32 with the given normalization.
     *
     * @param images the stored images.
     * @param labels one label per image, each in {@code 0 .. classNames.size() - 1} (copied).
     * @param classNames the class names.
     * @param normalization how to turn bytes into floats; if standardized, it must be for {@code images.channels()}.
     * @return the dataset.
     * @throws IllegalArgumentException if the counts disagree, a label is out of range or the normalization has the
     *         wrong number of channels.
     */
    public static Dataset fromBytes(final ByteImages images, final int[] labels, final List<String> classNames,
        final Normalization normalization)
    {
        if (labels.length != images.count())
        {
            throw new IllegalArgumentException("labels: " + images.count() + " images but " + labels.length + " labels");
        }
        final List<String> names = checkClassNames(classNames);
        checkLabels(labels, names.size());
        final float[][] tables = normalization.lookupTables(images.channels());
        final byte[] pixels = images.pixels();
        final float[] values = new float[pixels.length];
        final int plane = images.height() * images.width();
        int index = 0;
        for (int n = 0; n < images.count(); n++)
        {
            for (int c = 0; c < images.channels(); c++)
            {
                final float[] table = tables[c];
                for (int i = 0; i < plane; i++, index++)
                {
                    values[index] = table[pixels[index] & 0xFF];
                }
            }
        }
        return new Dataset(images.count(), images.channels(), images.height(), images.width(), values, labels.clone(),
            names, normalization);
    }

    /** Number of images. @return at least 0. */
    public int count()
    {
        return count;
    }

    /** Channels per image. @return at least 1. */
    public int channels()
    {
        return channels;
    }

    /** Rows per image. @return at least 1. */
    public int height()
    {
        return height;
    }

    /** Columns per image. @return at least 1. */
    public int width()
    {
        return width;
    }

    /**
     * The NCHW shape.
     *
     * @return a new array {@code {count, channels, height, width}}.
     */
    public int[] shape()
    {
        return new int[] {count, channels, height, width};
    }

    /**
     * Floats per image.
     *
     * @return {@code channels * height * width}.
     */
    public int imageElements()
    {
        return channels * height * width;
    }

    /**
     * Class names, indexed by label.
     *
     * @return an unmodifiable list.
     */
    public List<String> classNames()
    {
        return classNames;
    }

    /**
     * Number of classes.
     *
     * @return {@code classNames().size()}.
     */
    public int classCount()
    {
        return classNames.size();
    }

    /**
     * How the values were produced from stored bytes.
     *
     * @return the normalization.
     */
    public Normalization normalization()
    {
        return normalization;
    }

    /**
     * The label of one image.
     *
     * @param index image index.
     * @return its label.
     * @throws IndexOutOfBoundsException if {@code index} is not in {@code 0 .. count - 1}.
     */
    public int label(final int index)
    {
        return labels[checkIndex(index)];
    }

    /**
     * All labels.
     *
     * @return a copy, one label per image.
     */
    public int[] labels()
    {
        return labels.clone();
    }

    /**
     * One image, copied.
     *
     * @param index image index.
     * @return {@code channels * height * width} floats in CHW order.
     * @throws IndexOutOfBoundsException if {@code index} is out of range.
     */
    public float[] image(final int index)
    {
        final int start = checkIndex(index) * imageElements();
        return Arrays.copyOfRange(images, start, start + imageElements());
    }

    /**
     * Copies consecutive images into {@code destination}, e.g. to fill a batch buffer without allocating.
     *
     * @param from first image index.
     * @param imageCount number of images.
     * @param destination where to copy.
     * @param destinationOffset first float written.
     * @throws IndexOutOfBoundsException if the images or the destination range are out of bounds.
     */
    public void copyImages(final int from, final int imageCount, final float[] destination, final int destinationOffset)
    {
        Objects.checkFromIndexSize(from, imageCount, count);
        final int length = imageCount * imageElements();
        Objects.checkFromIndexSize(destinationOffset, length, destination.length);
        System.arraycopy(images, from * imageElements(), destination, destinationOffset, length);
    }

    /**
     * All images as a read-only view (no copy), position 0, limit {@code count * imageElements()}.
     *
     * @return a read-only buffer over the dataset's array.
     */
    public FloatBuffer images()
    {
        return FloatBuffer.wrap(images).asReadOnlyBuffer();
    }

    /**
     * All images as a read-only heap segment (no copy), for code that works on {@link MemorySegment}s.
     *
     * @return a read-only segment of {@code count * imageElements() * 4} bytes.
     */
    public MemorySegment imagesSegment()
    {
        return MemorySegment.ofArray(images).asReadOnly();
    }

    /**
     * All images, copied.
     *
     * @return a new NCHW array.
     */
    public float[] toFloatArray()
    {
        return images.clone();
    }

    /**
     * Consecutive images {@code from} (inclusive) to {@code to} (exclusive).
     *
     * @param from first image.
     * @param to one past the last image.
     * @return a new dataset with {@code to - from} images.
     * @throws IndexOutOfBoundsException if the range is not within {@code 0 .. count}.
     */
    public Dataset slice(final int from, final int to)
    {
        Objects.checkFromToIndex(from, to, count);
        final int elements = imageElements();
        return new Dataset(to - from, channels, height, width,
            Arrays.copyOfRange(images, from * elements, to * elements), Arrays.copyOfRange(labels, from, to),
            classNames, normalization);
    }

    /**
     * The images at the given indices, in the order given (an index may repeat).
     *
     * @param indices image indices.
     * @return a new dataset with {@code indices.length} images.
     * @throws IndexOutOfBoundsException if an index is out of range.
     */
    public Dataset subset(final int... indices)
    {
        final int elements = imageElements();
        final float[] selected = new float[Math.multiplyExact(indices.length, elements)];
        final int[] selectedLabels = new int[indices.length];
        for (int i = 0; i < indices.length; i++)
        {
            final int source = checkIndex(indices[i]);
            System.arraycopy(images, source * elements, selected, i * elements, elements);
            selectedLabels[i] = labels[source];
        }
        return new Dataset(indices.length, channels, height, width, selected, selectedLabels, classNames, normalization);
    }

    /**
     * Zero-pads every channel by {@code padding} on all four sides, e.g. 28x28 Fashion-MNIST to the 32x32 input of
     * W3 with {@code pad(2)}.
     *
     * @param padding border width, at least 0.
     * @return a new dataset of {@code (height + 2 * padding) x (width + 2 * padding)} images.
     * @see #pad(int, int, int, int)
     */
    public Dataset pad(final int padding)
    {
        return pad(padding, padding, padding, padding);
    }

    /**
     * Zero-pads every channel plane. The border value is 0.0f in the dataset's value space, i.e. after
     * normalization, which is what a convolution's zero padding of the network input sees.
     *
     * @param top rows added above.
     * @param bottom rows added below.
     * @param left columns added on the left.
     * @param right columns added on the right.
     * @return a new dataset with the original pixels at offset {@code (top, left)} of each plane.
     * @throws IllegalArgumentException if a border is negative or the result is too large.
     */
    public Dataset pad(final int top, final int bottom, final int left, final int right)
    {
        if (top < 0 || bottom < 0 || left < 0 || right < 0)
        {
            throw new IllegalArgumentException("padding must be non-negative, was top=" + top + " bottom=" + bottom +
                " left=" + left + " right=" + right);
        }
        final long newHeightLong = (long)height + top + bottom;
        final long newWidthLong = (long)width + left + right;
        if (newHeightLong > Integer.MAX_VALUE || newWidthLong > Integer.MAX_VALUE ||
            saturatingProduct(count, channels, newHeightLong, newWidthLong) > MAX_ARRAY_LENGTH)
        {
            throw new IllegalArgumentException("padded size " + count + "x" + channels + "x" + newHeightLong + "x" +
                newWidthLong + " is too large for one array");
        }
        final int newHeight = (int)newHeightLong;
        final int newWidth = (int)newWidthLong;
        final float[] padded = new float[count * channels * newHeight * newWidth];
        final int planes = count * channels;
        for (int p = 0; p < planes; p++)
        {
            final int sourcePlane = p * height * width;
            final int targetPlane = p * newHeight * newWidth;
            for (int y = 0; y < height; y++)
            {
                System.arraycopy(images, sourcePlane + y * width, padded,
                    targetPlane + (y + top) * newWidth + left, width);
            }
        }
        return new Dataset(count, channels, newHeight, newWidth, padded, labels, classNames, normalization);
    }

    /**
     * Zero-pads, centred, to a bigger spatial size; an odd difference puts the extra row (column) at the bottom
     * (right).
     *
     * @param newHeight rows after padding, at least {@link #height()}.
     * @param newWidth columns after padding, at least {@link #width()}.
     * @return a new dataset of {@code newHeight x newWidth} images.
     * @throws IllegalArgumentException if the target is smaller than the current size.
     */
    public Dataset padTo(final int newHeight, final int newWidth)
    {
        if (newHeight < height || newWidth < width)
        {
            throw new IllegalArgumentException("cannot pad " + height + "x" + width + " down to " + newHeight + "x" +
                newWidth);
        }
        final int top = (newHeight - height) / 2;
        final int left = (newWidth - width) / 2;
        return pad(top, newHeight - height - top, left, newWidth - width - left);
    }

    /**
     * Images per class.
     *
     * @return {@code classCount()} counts, indexed by label.
     */
    public int[] classCounts()
    {
        final int[] counts = new int[classNames.size()];
        for (final int label : labels)
        {
            counts[label]++;
        }
        return counts;
    }

    /**
     * Per-channel mean over all images and pixels, accumulated in double.
     *
     * @return {@code channels} means (NaN if the dataset is empty).
     */
    public double[] channelMeans()
    {
        final double[] sums = new double[channels];
        final int plane = height * width;
        for (int n = 0; n < count; n++)
        {
            for (int c = 0; c < channels; c++)
            {
                final int start = (n * channels + c) * plane;
                double sum = 0;
                for (int i = start; i < start + plane; i++)
                {
                    sum += images[i];
                }
                sums[c] += sum;
            }
        }
        final double perChannel = (double)count * plane;
        for (int c = 0; c < channels; c++)
        {
            sums[c] /= perChannel;
        }
        return sums;
    }

    /**
     * Per-channel population standard deviation over all images and pixels, accumulated in double.
     *
     * @return {@code channels} standard deviations (NaN if the dataset is empty).
     */
    public double[] channelStds()
    {
        final double[] means = channelMeans();
        final double[] squares = new double[channels];
        final int plane = height * width;
        for (int n = 0; n < count; n++)
        {
            for (int c = 0; c < channels; c++)
            {
                final int start = (n * channels + c) * plane;
                double sum = 0;
                for (int i = start; i < start + plane; i++)
                {
                    final double d = images[i] - means[c];
                    sum += d * d;
                }
                squares[c] += sum;
            }
        }
        final double perChannel = (double)count * plane;
        for (int c = 0; c < channels; c++)
        {
            squares[c] = Math.sqrt(squares[c] / perChannel);
        }
        return squares;
    }

    @Override
    public boolean equals(final Object other)
    {
        return other instanceof final Dataset that && count == that.count && channels == that.channels &&
            height == that.height && width == that.width && Arrays.equals(labels, that.labels) &&
            classNames.equals(that.classNames) && normalization.equals(that.normalization) &&
            Arrays.equals(images, that.images);
    }

    @Override
    public int hashCode()
    {
        int hash = Arrays.hashCode(shape());
        hash = 31 * hash + Arrays.hashCode(labels);
        hash = 31 * hash + classNames.hashCode();
        hash = 31 * hash + normalization.hashCode();
        return 31 * hash + Arrays.hashCode(images);
    }

    @Override
    public String toString()
    {
        return "Dataset[" + count + " x " + channels + "x" + height + "x" + width + ", " + classNames.size() +
            " classes, " + normalization + "]";
    }

    private int checkIndex(final int index)
    {
        return Objects.checkIndex(index, count);
    }

    /** Validates an NCHW shape whose element count must fit one array. */
    static void checkShape(final int count, final int channels, final int height, final int width)
    {
        if (count < 0 || channels < 1 || height < 1 || width < 1)
        {
            throw new IllegalArgumentException("shape must have count >= 0 and channels, height, width >= 1, was " +
                count + "x" + channels + "x" + height + "x" + width);
        }
        if (saturatingProduct(channels, height, width) > MAX_ARRAY_LENGTH ||
            saturatingProduct(count, channels, height, width) > MAX_ARRAY_LENGTH)
        {
            throw new IllegalArgumentException("shape " + count + "x" + channels + "x" + height + "x" + width +
                " is too large for one array (at most " + MAX_ARRAY_LENGTH + " elements)");
        }
    }

    /**
     * Product of non-negative factors, saturating at {@link Long#MAX_VALUE} instead of wrapping, so that a size
     * computed from untrusted header fields can be compared with a limit before anything is allocated.
     */
    static long saturatingProduct(final long... factors)
    {
        long product = 1;
        for (final long factor : factors)
        {
            if (factor == 0)
            {
                return 0;
            }
        }
        for (final long factor : factors)
        {
            if (product > Long.MAX_VALUE / factor)
            {
                return Long.MAX_VALUE;
            }
            product *= factor;
        }
        return product;
    }

    private static List<String> checkClassNames(final List<String> classNames)
    {
        if (classNames == null || classNames.isEmpty())
        {
            throw new IllegalArgumentException("classNames must list at least one class");
        }
        return List.copyOf(classNames);
    }

    private static void checkLabels(final int[] labels, final int classCount)
    {
        for (int i = 0; i < labels.length; i++)
        {
            if (labels[i] < 0 || labels[i] >= classCount)
            {
                throw new IllegalArgumentException("labels[" + i + "] = " + labels[i] + " is out of range 0.." +
                    (classCount - 1));
            }
        }
    }
}
