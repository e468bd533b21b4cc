package org.polypi.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import org.polypi.datasets.BundledSample;
import org.polypi.datasets.Dataset;
import org.polypi.datasets.FashionMnist;
import org.polypi.engine.plan.Plan;

/** The images a client classifies: the bundled sample or an installed Fashion-MNIST test set, fitted to the model. */
final class Inputs
{
    /** The name of the bundled sample in {@code --input}. */
    static final String BUNDLED = "bundled";

    private Inputs()
    {
    }

    /**
     * The first {@code count} images of {@code input} ({@value #BUNDLED}, or a folder with the Fashion-MNIST IDX
     * files), standardised as the models were trained, zero-padded to the plan's input size (28x28 to 32x32 for W3).
     */
    static Dataset load(final String input, final int count, final Plan plan) throws IOException
    {
        final Dataset all;
        if (BUNDLED.equals(input))
        {
            all = BundledSample.fashionMnistTest(FashionMnist.STANDARD_NORMALIZATION);
        }
        else
        {
            final Path dir = Path.of(input);
            if (!Files.isDirectory(dir))
            {
                throw new UsageException("--input " + input + ": expected 'bundled' or a folder with the " +
                    "Fashion-MNIST test files (t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz)");
            }
            all = FashionMnist.load(dir, FashionMnist.Split.TEST, FashionMnist.STANDARD_NORMALIZATION);
        }
        if (count < 1 || count > all.count())
        {
            throw new UsageException("--images must be in [1, " + all.count() + "] for --input " + input + ", was " +
                count);
        }
        final Dataset d = all.slice(0, count);
        final int[] shape = plan.tensor(plan.inputTensor()).shape();
        if (shape.length != 3 || shape[0] != d.channels() || shape[1] < d.height() || shape[2] < d.width())
        {
            throw new UsageException("the model takes inputs of shape " + Arrays.toString(shape) +
                ", the images are " + d.channels() + "x" + d.height() + "x" + d.width());
        }
        return shape[1] == d.height() && shape[2] == d.width() ? d : d.padTo(shape[1], shape[2]);
    }
}
