package org.polypi.datasets;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Loads Fashion-MNIST (Zalando, MIT licence): 60,000 training and 10,000 test images, 28x28 grey, 10 classes.
 * <p>
 * The data is looked for in this order:
 * <ol>
 *   <li>an explicit directory passed to {@link #load(Path, Split, Normalization)};</li>
 *   <li>the directory in the system property {@value #DIRECTORY_PROPERTY} (no fallback when it is set, so a typo is
 *       reported rather than silently ignored);</li>
 *   <li>{@link #DEFAULT_DIRECTORY}, where Debian's {@code dataset-fashion-mnist} package installs the four files
 *       {@code train-images-idx3-ubyte.gz}, {@code train-labels-idx1-ubyte.gz}, {@code t10k-images-idx3-ubyte.gz}
 *       and {@code t10k-labels-idx1-ubyte.gz}.</li>
 * </ol>
 * In a directory, each file may be gzip-compressed ({@code .gz}) or not (the name without {@code .gz}); the
 * compressed name wins when both exist. Whether a file is really compressed is decided by its content
 * ({@link IdxReader}). When the data is missing, the error says how to install it.
 * <p>
 * Normalization: {@link Normalization#unit()} (values in [0, 1]) is what {@link #train()} and {@link #test()} use;
 * {@link #STANDARD_NORMALIZATION} additionally standardizes with {@link #MEAN} and {@link #STD}, the mean and
 * population standard deviation of all 47,040,000 training pixels after scaling to [0, 1] (0.28604, 0.35302).
 */
public final class FashionMnist
{
    /** System property naming a directory that holds the four IDX files. */
    public static final String DIRECTORY_PROPERTY = "polypi.data.fashion";
    /** Where the Debian package {@value #DEBIAN_PACKAGE} installs the files. */
    public static final Path DEFAULT_DIRECTORY = Path.of("/usr/share/datasets/fashion-mnist");
    /** The Debian package that ships the data. */
    public static final String DEBIAN_PACKAGE = "dataset-fashion-mnist";
    /** Rows per image. */
    public static final int HEIGHT = 28;
    /** Columns per image. */
    public static final int WIDTH = 28;
    /** Images in the training split. */
    public static final int TRAIN_COUNT = 60_000;
    /** Images in the test split. */
    public static final int TEST_COUNT = 10_000;
    /** Number of classes. */
    public static final int CLASS_COUNT = 10;
    /** Class names, indexed by label. */
    public static final List<String> CLASS_NAMES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");
    /** Mean of the [0, 1]-scaled training pixels (0.2860406). */
    public static final float MEAN = 0.2860406f;
    /** Population standard deviation of the [0, 1]-scaled training pixels (0.3530242). */
    public static final float STD = 0.3530242f;
    /** Scale to [0, 1], then {@code (v - MEAN) / STD}. */
    public static final Normalization STANDARD_NORMALIZATION =
        Normalization.standardize(new float[] {MEAN}, new float[] {STD});

    private static final String GZIP_SUFFIX = ".gz";

    /** The two splits and their file name stems. */
    public enum Split
    {
        /** 60,000 training images. */
        TRAIN("train"),
        /** 10,000 test images. */
        TEST("t10k");

        private final String prefix;

        Split(final String prefix)
        {
            this.prefix = prefix;
        }

        /**
         * The image file's name without {@code .gz}.
         *
         * @return e.g. {@code t10k-images-idx3-ubyte}.
         */
        public String imagesFileName()
        {
            return prefix + "-images-idx3-ubyte";
        }

        /**
         * The label file's name without {@code .gz}.
         *
         * @return e.g. {@code t10k-labels-idx1-ubyte}.
         */
        public String labelsFileName()
        {
            return prefix + "-labels-idx1-ubyte";
        }
    }

    private FashionMnist()
    {
    }

    /**
     * The training split from the default location, scaled to [0, 1].
     *
     * @return 60,000 images of 1x28x28.
     * @throws DatasetNotFoundException if the data is not installed; the message says how to install it.
     * @throws IOException if a file is malformed or cannot be read.
     */
    public static Dataset train() throws IOException
    {
        return load(Split.TRAIN, Normalization.unit());
    }

    /**
     * The test split from the default location, scaled to [0, 1].
     *
     * @return 10,000 images of 1x28x28.
     * @throws DatasetNotFoundException if the data is not installed; the message says how to install it.
     * @throws IOException if a file is malformed or cannot be read.
     */
    public static Dataset test() throws IOException
    {
        return load(Split.TEST, Normalization.unit());
    }

    /**
     * One split from the default location ({@value #DIRECTORY_PROPERTY}, else {@link #DEFAULT_DIRECTORY}).
     *
     * @param split which split.
     * @param normalization how to turn bytes into floats.
     * @return the split.
     * @throws DatasetNotFoundException if the data is not installed; the message says how to install it.
     * @throws IOException if a file is malformed or cannot be read.
     */
    public static Dataset load(final Split split, final Normalization normalization) throws IOException
    {
        // Only this split's files are required, so a machine holding just the test set can still run inference.
        return load(configuredDirectory(), split, normalization);
    }

    /**
     * One split from an explicit directory.
     *
     * @param directory the directory holding the split's two IDX files.
     * @param split which split.
     * @param normalization how to turn bytes into floats.
     * @return the split.
     * @throws DatasetNotFoundException if a file is missing; the message says how to install the data.
     * @throws DatasetFormatException if a file is malformed, the images are not 28x28 or the counts differ.
     * @throws IOException if a file cannot be read.
     */
    public static Dataset load(final Path directory, final Split split, final Normalization normalization)
        throws IOException
    {
        final Path imagesFile = requireFile(directory, split.imagesFileName());
        final Path labelsFile = requireFile(directory, split.labelsFileName());
        final ByteImages images = IdxReader.readImages(imagesFile);
        if (images.height() != HEIGHT || images.width() != WIDTH)
        {
            throw new DatasetFormatException(imagesFile.toString(), "expected " + HEIGHT + "x" + WIDTH +
                " Fashion-MNIST images, found " + images.height() + "x" + images.width());
        }
        final int[] labels = IdxReader.readLabels(labelsFile, CLASS_NAMES.size());
        if (labels.length != images.count())
        {
            throw new DatasetFormatException(labelsFile.toString(), labels.length + " labels, but " + imagesFile +
                " has " + images.count() + " images");
        }
        return Dataset.fromBytes(images, labels, CLASS_NAMES, normalization);
    }

    /**
     * The directory the no-argument loaders read: {@value #DIRECTORY_PROPERTY} if set, else
     * {@link #DEFAULT_DIRECTORY}, provided it holds all four files.
     *
     * @return the data directory.
     * @throws DatasetNotFoundException if a file is missing; the message says how to install the data.
     */
    public static Path locate() throws DatasetNotFoundException
    {
        final Path directory = configuredDirectory();
        for (final Split split : Split.values())
        {
            requireFile(directory, split.imagesFileName());
            requireFile(directory, split.labelsFileName());
        }
        return directory;
    }

    /**
     * Like {@link #locate()}, but empty instead of an exception: for tests and demos that skip without the data.
     *
     * @return the data directory, if all four files are there.
     */
    public static Optional<Path> find()
    {
        try
        {
            return Optional.of(locate());
        }
        catch (final DatasetNotFoundException e)
        {
            return Optional.empty();
        }
    }

    /**
     * The file for {@code baseName} in {@code directory}: {@code baseName.gz} if it exists, else {@code baseName}.
     *
     * @param directory where to look.
     * @param baseName the file name without {@code .gz}.
     * @return the existing file.
     * @throws DatasetNotFoundException if neither exists; the message says how to install the data.
     */
    static Path requireFile(final Path directory, final String baseName) throws DatasetNotFoundException
    {
        final Path compressed = directory.resolve(baseName + GZIP_SUFFIX);
        if (Files.isRegularFile(compressed))
        {
            return compressed;
        }
        final Path plain = directory.resolve(baseName);
        if (Files.isRegularFile(plain))
        {
            return plain;
        }
        throw new DatasetNotFoundException("Fashion-MNIST not found: " + directory + " has no " + baseName +
            GZIP_SUFFIX + " (nor " + baseName + "). Install it with `sudo apt-get install " + DEBIAN_PACKAGE +
            "` (files go to " + DEFAULT_DIRECTORY + "; datasets/install-fashion-mnist.sh does this), or pass a " +
            "directory holding the four IDX files with -D" + DIRECTORY_PROPERTY + "=DIR or an explicit path.");
    }

    private static Path configuredDirectory()
    {
        final String configured = System.getProperty(DIRECTORY_PROPERTY);
        return configured == null || configured.isBlank() ? DEFAULT_DIRECTORY : Path.of(configured);
    }
}
