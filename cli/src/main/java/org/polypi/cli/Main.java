package org.polypi.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.logging.Level;
import java.util.logging.Logger;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * {@code polypi}: the command line of PolyPI. Exit status 0 on success, {@value #EXIT_USAGE} for a bad command line,
 * {@value #EXIT_FAILURE} when the command failed; an error is one line on stderr ({@code --verbose} adds the stack
 * trace).
 */
@Command(name = "polypi", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
    description = "Two-party private inference of neural networks (client, server and a dealer).",
    subcommands = {DemoCommand.class, TrainCommand.class, DealerCommand.class, ServerCommand.class,
        ClientCommand.class, InspectCommand.class, KeysCommand.class, ImportCommand.class,
        CommandLine.HelpCommand.class},
    footer = {"", "Run 'polypi COMMAND --help' for the options of a command. Start with 'polypi demo'."})
public final class Main implements Runnable
{
    /** Exit status of a bad command line. */
    public static final int EXIT_USAGE = 2;
    /** Exit status of a failed command. */
    public static final int EXIT_FAILURE = 1;

    @Option(names = "--verbose", scope = ScopeType.INHERIT, description = "Print the stack trace of an error.")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private final PrintStream out;
    private final PrintStream err;

    private Main(final PrintStream out, final PrintStream err)
    {
        this.out = out;
        this.err = err;
    }

    /**
     * The kernels' start-up line ("PolyPI kernels: vector backend") is for logs, not for a command's output (the demo
     * prints the backend itself); held here because the logging framework keeps only weak references.
     */
    private static final Logger KERNELS_LOG = Logger.getLogger("org.polypi.kernels.Kernels");

    /** Runs the command line and exits with its status. */
    public static void main(final String[] args)
    {
        if (!Arrays.asList(args).contains("--verbose"))
        {
            KERNELS_LOG.setLevel(Level.WARNING);
        }
        System.exit(run(args, System.out, System.err));
    }

    /**
     * Runs a command line, writing to the given streams; returns the exit status (never exits the JVM).
     *
     * @param args e.g. {@code demo --images 50}.
     */
    public static int run(final String[] args, final PrintStream out, final PrintStream err)
    {
        final Main main = new Main(out, err);
        final CommandLine cl = new CommandLine(main);
        // The trainer's and the importer's options pass through in order, unknown to this parser.
        cl.getSubcommands().get("train").setUnmatchedOptionsArePositionalParams(true);
        cl.getSubcommands().get("import").setUnmatchedOptionsArePositionalParams(true);
        cl.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
        cl.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        cl.setParameterExceptionHandler((e, a) ->
        {
            final CommandLine c = e.getCommandLine();
            err.println(c.getCommandSpec().qualifiedName() + ": " + e.getMessage() + " (see '" +
                c.getCommandSpec().qualifiedName() + " --help')");
            return EXIT_USAGE;
        });
        cl.setExecutionExceptionHandler((e, c, parsed) ->
        {
            final int status = e instanceof UsageException ? EXIT_USAGE : EXIT_FAILURE;
            err.println(c.getCommandSpec().qualifiedName() + ": " + oneLine(e));
            if (main.verbose)
            {
                e.printStackTrace(err);
            }
            return status;
        });
        return cl.execute(args);
    }

    /** The message of {@code e} and its causes, on one line. */
    static String oneLine(final Throwable e)
    {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        if (!(e instanceof UsageException) && e.getCause() != null && e.getCause().getMessage() != null &&
            !m.contains(e.getCause().getMessage()))
        {
            m += ": " + e.getCause().getMessage();
        }
        // Multi-line messages (a child process's last lines) keep their lines: the first one is the error.
        return m;
    }

    /** Standard output of the command line. */
    PrintStream out()
    {
        return out;
    }

    /** Standard error of the command line. */
    PrintStream err()
    {
        return err;
    }

    @Override
    public void run()
    {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is needed: demo, train, dealer, " +
            "server, client, inspect, keys or import");
    }

    /** The version line. */
    static final class Version implements CommandLine.IVersionProvider
    {
        @Override
        public String[] getVersion()
        {
            final String v = Main.class.getPackage().getImplementationVersion();
            return new String[]{"polypi " + (v == null ? "0.1.0-SNAPSHOT" : v) + " (Java " + Runtime.version() + ")"};
        }
    }
}
