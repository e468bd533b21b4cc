package org.polypi.engine.cli;

import java.io.PrintStream;
import java.util.Arrays;

/**
 * Command-line entry point: {@code polypi <command> [options]}. Exit status 0 on success, 2 on a usage error,
 * 1 on a failure (with one line naming what went wrong).
 */
public final class Main
{
    /** Exit status of a bad command line. */
    public static final int EXIT_USAGE = 2;
    /** Exit status of a failed run. */
    public static final int EXIT_FAILURE = 1;

    private Main()
    {
    }

    /** Runs the command named by {@code args[0]}. */
    public static void main(final String[] args)
    {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs a command, writing to the given streams; returns the exit status (testable without exiting). */
    public static int run(final String[] args, final PrintStream out, final PrintStream err)
    {
        if (args.length == 0)
        {
            usage(err);
            return EXIT_USAGE;
        }
        final String[] rest = Arrays.copyOfRange(args, 1, args.length);
        try
        {
            return switch (args[0])
            {
                case "demo" -> Demo.run(DemoOptions.parse(rest), out);
                case "help", "--help", "-h" ->
                {
                    usage(out);
                    yield 0;
                }
                default ->
                {
                    err.println("polypi: unknown command '" + args[0] + "'");
                    usage(err);
                    yield EXIT_USAGE;
                }
            };
        }
        catch (final UsageException e)
        {
            err.println("polypi " + args[0] + ": " + e.getMessage());
            return EXIT_USAGE;
        }
        catch (final Exception e)
        {
            err.println("polypi " + args[0] + ": failed: " + e.getMessage());
            return EXIT_FAILURE;
        }
    }

    private static void usage(final PrintStream s)
    {
        s.println("usage: polypi <command> [options]");
        s.println("  demo [--workload mlp|lenet|minionn-fmnist] [--activation poly|relu|channel_poly|masked_relu]");
        s.println("       [--images N] [--bits F] [--seed S]");
        s.println("       the main job on the bundled Fashion-MNIST sample (see README)");
    }
}
