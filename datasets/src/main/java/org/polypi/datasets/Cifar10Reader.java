package org.polypi.datasets;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the CIFAR-10 binary format ({@code cifar-10-binary.tar.gz} from
 * <a href="https://www.cs.toronto.edu/~kriz/cifar.html">www.cs.toronto.edu/~kriz/cifar.html</a>, extracted to a
 * {@code cifar-10-batches-bin} directory): files {@code data_batch_1.bin} .. {@code data_batch_5.bin} (training,
 * 10,000 records each) and {@code test_batch.bin}.
 * <p>
 * A file is a sequence of 3073-byte records: one label byte (0..9), then 3072 pixel bytes, the 1024 red values of
 * the 32x32 image row-major, then the green, then the blue. That is already CHW order, so records are copied into
 * NCHW without reshuffling. A file whose size is not a positive multiple of 3073, or a label above 9, is rejected with
 * a {@link DatasetFormatException} naming the file, and sizes are validated before anything is allocated.
 */
public final class Cifar10Reader
{
    /** Channels per image (red, green, blue). */
    public static final int CHANNELS = 3;
    /** Rows per image. */
    public static final int HEIGHT = 32;
    /** Columns per image. */
    public static final int WIDTH = 32;
    /** Pixel bytes per record. */
    public static final int IMAGE_BYTES = CHANNELS * HEIGHT * WIDTH;
    /** Label bytes per record. */
    public static final int LABEL_BYTES = 1;
    /** Bytes per record: the label, then the pixels. */
    public static final int RECORD_BYTES = LABEL_BYTES + IMAGE_BYTES;
    /** Number of training batch files. */
    public static final int TRAIN_BATCHES = 5;
    /** File name of the test batch. */
    public static final String TEST_BATCH = "test_batch.bin";
    /** Class names, indexed by label (from the data set's {@code batches.meta.txt}). */
    public static final List<String> CLASS_NAMES = List.of("airplane", "automobile", "bird", "cat", "deer", "dog",
        "frog", "horse", "ship", "truck");
    /**
     * The usual CIFAR-10 standardization: per-channel mean (0.4914, 0.4822, 0.4465) and population standard
     * deviation (0.2470, 0.2435, 0.2616) of the [0, 1]-scaled training images.
     */
    public static final Normalization STANDARD_NORMALIZATION = Normalization.standardize(
        new float[] {0.4914f, 0.4822f, 0.4465f}, new float[] {0.2470f, 0.2435f, 0.2616f});

    private static final int BUFFER_BYTES = 1 << 16;

    private Cifar10Reader()
    {
    }

    /**
     * File name of a training batch.
     *
     * @param batch 1..5.
     * @return {@code data_batch_<batch>.bin}.
     * @throws IllegalArgumentException if {@code batch} is out of range.
     */
    public static String trainBatchName(final int batch)
    {
        if (batch < 1 || batch > TRAIN_BATCHES)
        {
            throw new IllegalArgumentException("batch must be in 1.." + TRAIN_BATCHES + ", was " + batch);
        }
        return "data_batch_" + batch + ".bin";
    }

    /**
     * Reads the five training batches of a {@code cifar-10-batches-bin} directory (50,000 images).
     *
     * @param directory the directory holding {@code data_batch_1.bin} .. {@code data_batch_5.bin}.
     * @param normalization how to turn bytes into floats.
     * @return the training set, in file order.
     * @throws DatasetNotFoundException if a batch file is missing.
     * @throws DatasetFormatException if a file is malformed.
     * @throws IOException if a file cannot be read.
     */
    public static Dataset train(final Path directory, final Normalization normalization) throws IOException
    {
        final List<Path> files = new ArrayList<>();
        for (int batch = 1; batch <= TRAIN_BATCHES; batch++)
        {
            files.add(directory.resolve(trainBatchName(batch)));
        }
        return read(files, normalization);
    }

    /**
     * Reads {@code test_batch.bin} of a {@code cifar-10-batches-bin} directory (10,000 images).
     *
     * @param directory the directory holding {@code test_batch.bin}.
     * @param normalization how to turn bytes into floats.
     * @return the test set.
     * @throws DatasetNotFoundException if the file is missing.
     * @throws DatasetFormatException if the file is malformed.
     * @throws IOException if the file cannot be read.
     */
    public static Dataset test(final Path directory, final Normalization normalization) throws IOException
    {
        return read(List.of(directory.resolve(TEST_BATCH)), normalization);
    }

    /**
     * Reads and concatenates batch files, in the order given.
     *
     * @param files one or more CIFAR-10 binary batch files.
     * @param normalization how to turn bytes into floats.
     * @return all their records as one dataset.
     * @throws DatasetNotFoundException if a file is missing.
     * @throws DatasetFormatException if a file is malformed or together they exceed one array.
     * @throws IOException if a file cannot be read.
     */
    public static Dataset read(final List<Path> files, final Normalization normalization) throws IOException
    {
        if (files.isEmpty())
        {
            throw new IllegalArgumentException("files must name at least one batch file");
        }
        final long[] records = new long[files.size()];
        long totalRecords = 0;
        for (int f = 0; f < files.size(); f++)
        {
            records[f] = recordCount(files.get(f));
            totalRecords += records[f];
        }
        if (totalRecords * IMAGE_BYTES > Dataset.MAX_ARRAY_LENGTH)
        {
            throw new DatasetFormatException(files.toString(), totalRecords + " records of " + IMAGE_BYTES +
                " pixel bytes exceed one array (at most " + Dataset.MAX_ARRAY_LENGTH + " bytes)");
        }
        final byte[] pixels = new byte[(int)(totalRecords * IMAGE_BYTES)];
        final int[] labels = new int[(int)totalRecords];
        int first = 0;
        for (int f = 0; f < files.size(); f++)
        {
            readRecords(files.get(f), (int)records[f], pixels, labels, first);
            first += (int)records[f];
        }
        return Dataset.fromBytes(new ByteImages(labels.length, CHANNELS, HEIGHT, WIDTH, pixels), labels, CLASS_NAMES,
            normalization);
    }

    private static long recordCount(final Path file) throws IOException
    {
        if (!Files.isRegularFile(file))
        {
            throw new DatasetNotFoundException(file + ": no such file. CIFAR-10 is not installed on this machine: " +
                "download cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, extract it and " +
                "pass the cifar-10-batches-bin directory");
        }
        final long size = Files.size(file);
        if (size == 0 || size % RECORD_BYTES != 0)
        {
            throw new DatasetFormatException(file.toString(), "size " + size + " bytes is not a positive multiple of " +
                "the " + RECORD_BYTES + "-byte record (" + LABEL_BYTES + " label byte + " + IMAGE_BYTES +
                " pixel bytes): " + size / RECORD_BYTES + " whole records and " + size % RECORD_BYTES + " bytes over");
        }
        return size / RECORD_BYTES;
    }

    private static void readRecords(final Path file, final int recordCount, final byte[] pixels, final int[] labels,
        final int first) throws IOException
    {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), BUFFER_BYTES))
        {
            final byte[] label = new byte[LABEL_BYTES];
            for (int r = 0; r < recordCount; r++)
            {
                final int labelRead = IdxReader.readUpTo(in, label, 0, LABEL_BYTES);
                final int pixelsRead = labelRead < LABEL_BYTES ? 0 :
                    IdxReader.readUpTo(in, pixels, (first + r) * IMAGE_BYTES, IMAGE_BYTES);
                if (pixelsRead < IMAGE_BYTES)
                {
                    throw new DatasetFormatException(file.toString(), "truncated while reading: record " + r + " of " +
                        recordCount + " is incomplete (the file changed while it was read?)");
                }
                final int value = label[0] & 0xFF;
                if (value >= CLASS_NAMES.size())
                {
                    throw new DatasetFormatException(file.toString(), "label " + value + " in record " + r +
                        " (byte offset " + (long)r * RECORD_BYTES + ") is out of range 0.." + (CLASS_NAMES.size() - 1));
                }
                labels[first + r] = value;
            }
        }
    }
}
