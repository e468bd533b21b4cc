package org.polypi.datasets;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;

/**
 * Regenerates the bundled Fashion-MNIST test sample ({@link BundledSample}) from the real IDX files.
 * <p>
 * Usage (from the repository root, with the data installed):
 * <pre>
 * mvn -q -pl datasets compile exec:exec -Dexec.mainClass=org.polypi.datasets.SampleWriter \
 *     -Dapp.args="src/main/resources/org/polypi/datasets/fashion-mnist-test-sample.bin [fashion-mnist-dir]"
 * </pre>
 * (exec runs in the module directory, hence the relative path). The output is deterministic: the same input files
 * give the same bytes. It is written to a temporary file in the target directory, flushed to disk and renamed over
 * the target, so a crash never leaves a half-written sample.
 */
public final class SampleWriter
{
    private static final int EXIT_USAGE = 2;
    private static final String PUBLIC_FILE_PERMISSIONS = "rw-r--r--";

    private SampleWriter()
    {
    }

    /**
     * Writes the sample.
     *
     * @param args {@code <output.bin> [fashion-mnist-directory]}; the directory defaults to
     *             {@link FashionMnist#locate()}.
     * @throws IOException if the data is missing or malformed, or the output cannot be written.
     */
    public static void main(final String[] args) throws IOException
    {
        if (args.length < 1 || args.length > 2)
        {
            System.err.println("usage: SampleWriter <output.bin> [fashion-mnist-directory]");
            System.exit(EXIT_USAGE);
        }
        final Path output = Path.of(args[0]);
        final Path directory = args.length == 2 ? Path.of(args[1]) : FashionMnist.locate();
        final byte[] bytes = write(directory, output);
        System.out.println("wrote " + output.toAbsolutePath() + ": " + BundledSample.PER_CLASS + " images per class, " +
            bytes.length + " bytes, from " + directory);
    }

    /**
     * Builds the sample from a directory's test split and writes it atomically.
     *
     * @param directory a directory holding {@code t10k-images-idx3-ubyte[.gz]} and {@code t10k-labels-idx1-ubyte[.gz]}.
     * @param output the file to create or replace.
     * @return the bytes written.
     * @throws IOException if the data is missing or malformed, or the output cannot be written.
     */
    public static byte[] write(final Path directory, final Path output) throws IOException
    {
        final byte[] bytes = build(directory).encode();
        writeAtomically(output, bytes);
        return bytes;
    }

    /** The sample of a directory's test split, as {@link BundledSample} describes it. */
    static SampleFile build(final Path directory) throws IOException
    {
        final Path imagesFile = FashionMnist.requireFile(directory, FashionMnist.Split.TEST.imagesFileName());
        final Path labelsFile = FashionMnist.requireFile(directory, FashionMnist.Split.TEST.labelsFileName());
        final ByteImages images = IdxReader.readImages(imagesFile);
        final int[] labels = IdxReader.readLabels(labelsFile, FashionMnist.CLASS_COUNT);
        if (labels.length != images.count())
        {
            throw new DatasetFormatException(labelsFile.toString(), labels.length + " labels, but " + imagesFile +
                " has " + images.count() + " images");
        }
        final int[] indices = firstPerClass(labels, FashionMnist.CLASS_COUNT, BundledSample.PER_CLASS, labelsFile);
        final int imageBytes = images.imageBytes();
        final byte[] pixels = new byte[indices.length * imageBytes];
        final int[] selectedLabels = new int[indices.length];
        for (int i = 0; i < indices.length; i++)
        {
            System.arraycopy(images.pixels(), indices[i] * imageBytes, pixels, i * imageBytes, imageBytes);
            selectedLabels[i] = labels[indices[i]];
        }
        return new SampleFile(indices, selectedLabels,
            new ByteImages(indices.length, images.channels(), images.height(), images.width(), pixels),
            FashionMnist.CLASS_COUNT);
    }

    /**
     * The first {@code perClass} indices of each class, in ascending order.
     *
     * @throws DatasetFormatException if a class has fewer than {@code perClass} examples.
     */
    static int[] firstPerClass(final int[] labels, final int classCount, final int perClass, final Path source)
        throws DatasetFormatException
    {
        final int[] taken = new int[classCount];
        final int[] indices = new int[classCount * perClass];
        int filled = 0;
        for (int i = 0; i < labels.length && filled < indices.length; i++)
        {
            if (taken[labels[i]] < perClass)
            {
                taken[labels[i]]++;
                indices[filled++] = i;
            }
        }
        if (filled < indices.length)
        {
            throw new DatasetFormatException(source.toString(), "need " + perClass + " images of each class, found " +
                Arrays.toString(taken));
        }
        return indices;
    }

    /**
     * Writes {@code bytes} to a temporary file next to {@code target}, forces it to disk, then renames it over
     * {@code target} (atomically where the file system allows).
     */
    static void writeAtomically(final Path target, final byte[] bytes) throws IOException
    {
        final Path absolute = target.toAbsolutePath();
        final Path directory = absolute.getParent();
        Files.createDirectories(directory);
        final Path temporary = Files.createTempFile(directory, absolute.getFileName() + ".", ".tmp");
        try
        {
            // Temporary files are created owner-only; the sample is an ordinary, world-readable data file.
            if (Files.getFileStore(temporary).supportsFileAttributeView(PosixFileAttributeView.class))
            {
                Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString(PUBLIC_FILE_PERMISSIONS));
            }
            try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING))
            {
                final ByteBuffer buffer = ByteBuffer.wrap(bytes);
                while (buffer.hasRemaining())
                {
                    channel.write(buffer);
                }
                channel.force(true);
            }
            try
            {
                Files.move(temporary, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
            catch (final AtomicMoveNotSupportedException e)
            {
                Files.move(temporary, absolute, StandardCopyOption.REPLACE_EXISTING);
            }
        }
        finally
        {
            Files.deleteIfExists(temporary);
        }
    }
}
