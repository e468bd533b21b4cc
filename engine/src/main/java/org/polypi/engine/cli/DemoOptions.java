package org.polypi.engine.cli;

import java.util.Locale;

import org.polypi.model.ActivationKind;
import org.polypi.model.ReferenceNetworks.Workload;

/**
 * Options of {@code polypi demo}.
 *
 * @param workload reference network to run.
 * @param activation activation at every site.
 * @param images how many bundled test images (1..500).
 * @param fractionalBits fixed-point fractional bits.
 * @param seed seed of the network's random weights.
 */
public record DemoOptions(Workload workload, ActivationKind activation, int images, int fractionalBits, long seed)
{
    /** Most images the bundled sample holds. */
    public static final int MAX_IMAGES = 500;
    /** Seed of the demo's weights unless one is given. */
    public static final long DEFAULT_SEED = 20261123L;
    /** Fractional bits unless given: the value the engine documents for degree-2 polynomials. */
    public static final int DEFAULT_BITS = 16;

    /** Parses {@code --name value} pairs; unknown or malformed options are a {@link UsageException}. */
    public static DemoOptions parse(final String[] args)
    {
        Workload workload = Workload.LENET;
        ActivationKind activation = ActivationKind.POLY;
        int images = MAX_IMAGES;
        int bits = DEFAULT_BITS;
        long seed = DEFAULT_SEED;
        for (int i = 0; i < args.length; i += 2)
        {
            final String name = args[i];
            if (i + 1 >= args.length)
            {
                throw new UsageException("option " + name + " needs a value");
            }
            final String value = args[i + 1];
            switch (name)
            {
                case "--workload" -> workload = parseWorkload(value);
                case "--activation" -> activation = parseActivation(value);
                case "--images" -> images = parseInt(name, value, 1, MAX_IMAGES);
                case "--bits" -> bits = parseInt(name, value, 8, 24);
                case "--seed" -> seed = parseLong(name, value);
                default -> throw new UsageException("unknown option " + name);
            }
        }
        return new DemoOptions(workload, activation, images, bits, seed);
    }

    private static Workload parseWorkload(final String value)
    {
        final Workload w;
        try
        {
            w = Workload.byId(value);
        }
        catch (final IllegalArgumentException e)
        {
            throw new UsageException(e.getMessage());
        }
        if (w != Workload.MLP && w != Workload.LENET && w != Workload.MINIONN_FASHION)
        {
            throw new UsageException("--workload " + value + ": the demo runs on 28x28 Fashion-MNIST: mlp, lenet or " +
                "minionn-fmnist");
        }
        return w;
    }

    private static ActivationKind parseActivation(final String value)
    {
        try
        {
            return ActivationKind.valueOf(value.toUpperCase(Locale.ROOT));
        }
        catch (final IllegalArgumentException e)
        {
            throw new UsageException("--activation " + value + ": expected poly, relu, channel_poly, masked_relu or " +
                "identity");
        }
    }

    private static int parseInt(final String name, final String value, final int min, final int max)
    {
        final long v = parseLong(name, value);
        if (v < min || v > max)
        {
            throw new UsageException(name + " must be in [" + min + ", " + max + "], was " + value);
        }
        return (int)v;
    }

    private static long parseLong(final String name, final String value)
    {
        try
        {
            return Long.parseLong(value);
        }
        catch (final NumberFormatException e)
        {
            throw new UsageException(name + " expects a whole number, was '" + value + "'");
        }
    }
}
