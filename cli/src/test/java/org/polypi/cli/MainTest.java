package org.polypi.cli;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.polypi.engine.net.PublicModel;
import org.polypi.model.ActivationKind;
import org.polypi.model.ActivationStatistics;
import org.polypi.model.Layer;
import org.polypi.model.ModelFormat;
import org.polypi.model.ModelGraph;
import org.polypi.model.Node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line in-process: help, usage errors, inspect, keys, a client without a server. */
final class MainTest
{
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"demo", "train", "dealer", "server", "client", "inspect", "keys", "import"})
    void everyCommandHasHelp(final String command)
    {
        final Cli c = Cli.run(command, "--help");
        assertEquals(0, c.status, c.toString());
        assertTrue(c.out().startsWith("Usage: polypi " + command), c.toString());
        assertTrue(c.err().isEmpty(), c.toString());
    }

    @Test
    void topLevelHelpListsTheCommands()
    {
        final Cli c = Cli.run("--help");
        assertEquals(0, c.status);
        for (final String command : new String[]{"demo", "train", "dealer", "server", "client", "inspect", "keys",
            "import"})
        {
            assertTrue(c.out().contains("\n  " + command + " "), command + " missing in\n" + c.out());
        }
    }

    @Test
    void aMissingOrUnknownCommandIsAUsageError()
    {
        final Cli none = Cli.run();
        assertEquals(Main.EXIT_USAGE, none.status);
        assertEquals("polypi: a command is needed: demo, train, dealer, server, client, inspect, keys or import " +
            "(see 'polypi --help')\n", none.err());
        final Cli unknown = Cli.run("serve-forever");
        assertEquals(Main.EXIT_USAGE, unknown.status);
        assertTrue(unknown.err().startsWith("polypi: Unmatched argument at index 0: 'serve-forever'"), unknown.err());
    }

    @Test
    void badOptionsAreOneLineWithExitStatusTwo() throws IOException
    {
        assertOneLineUsage(Cli.run("demo", "--images", "ten"), "polypi demo: Invalid value for option '--images': " +
            "'ten' is not an int (see 'polypi demo --help')");
        assertOneLineUsage(Cli.run("demo", "--images", "0"), "polypi demo: --images must be in [1, 500], was 0");
        assertOneLineUsage(Cli.run("demo", "--profile", "moon"), "polypi demo: --profile moon: expected lan, " +
            "lan-1g or wan");
        assertOneLineUsage(Cli.run("server"), "polypi server: Missing required option: '--model=FILE' (see " +
            "'polypi server --help')");
        assertOneLineUsage(Cli.run("client", "--model", dir.resolve("none.pim").toString(), "--plaintext"),
            "polypi client: --model " + dir.resolve("none.pim") + ": no such file");
        final Path model = Cli.write(Cli.mlp(ActivationKind.POLY), dir, "m.pim");
        assertOneLineUsage(Cli.run("server", "--model", model.toString()), "polypi server: TLS needs --keys DIR " +
            "(made by 'polypi keys --out DIR'), or disable it explicitly with --plaintext");
        assertOneLineUsage(Cli.run("dealer", "--model", model.toString(), "--plaintext", "--listen", "host:port"),
            "polypi dealer: --listen host:port: expected HOST:PORT");
        assertOneLineUsage(Cli.run("client", "--model", model.toString(), "--plaintext", "--batch", "0"),
            "polypi client: --batch must be in [1, 4096], was 0");
        final Path notAModel = Files.writeString(dir.resolve("x.pim"), "hello");
        final Cli bad = Cli.run("inspect", notAModel.toString());
        assertEquals(Main.EXIT_USAGE, bad.status);
        assertTrue(bad.err().startsWith("polypi inspect: FILE " + notAModel + ": not a PolyPI model file"),
            bad.err());
        assertEquals(1, bad.err().lines().count(), bad.err());
    }

    @Test
    void verboseAddsTheStackTrace() throws IOException
    {
        final Path notAModel = Files.writeString(dir.resolve("x.pim"), "hello");
        final Cli c = Cli.run("inspect", "--verbose", notAModel.toString());
        assertEquals(Main.EXIT_USAGE, c.status);
        assertTrue(c.err().lines().count() > 2, c.err());
        assertTrue(c.err().contains("\tat org.polypi.cli.Models.read"), c.err());
    }

    private static void assertOneLineUsage(final Cli c, final String expected)
    {
        assertEquals(Main.EXIT_USAGE, c.status, c.toString());
        assertEquals(expected + "\n", c.err(), c.toString());
    }

    @Test
    void inspectPrintsTheGraphSizesAndPlan() throws IOException
    {
        final ModelGraph m = Cli.mlp(ActivationKind.POLY);
        final Path f = Cli.write(m, dir, "mlp.pim");
        final Path pub = dir.resolve("mlp-public.pim");
        final Cli c = Cli.run("inspect", f.toString(), "--write-public", pub.toString());
        assertEquals(0, c.status, c.toString());
        final String out = c.out();
        assertTrue(out.contains("fingerprint " + m.fingerprint().hex()), out);
        assertTrue(out.contains(String.format(Locale.ROOT, "total: %,d multiply-adds, %,d activation " +
            "elements", m.multiplyAdds(), m.activationSites())), out);
        assertTrue(out.contains("Linear 784->128"), out);
        assertTrue(out.contains("trained activation range [-5.0, 5.0]"), out);
        assertTrue(out.contains("secure plan at f = 16"), out);
        assertTrue(out.matches("(?s).*per image \\(batch 1\\): \\d+ online rounds.*"), out);
        final ModelGraph written = ModelFormat.read(pub);
        assertEquals(PublicModel.of(m), written);
        assertTrue(written.nodes().stream().filter(n -> n.layer() instanceof Layer.Linear)
            .allMatch(n -> allZero(((Layer.Linear)n.layer()).weights().toArray())));
        assertTrue(out.contains("format version 1"), out);
        assertTrue(out.contains("no activation statistics (format version 1)"), out);
        assertFalse(out.contains("observed max |x|"), out);
    }

    @Test
    void inspectPrintsTheActivationStatisticsAndTheirRangeAgainstTheBound() throws IOException
    {
        final ModelGraph plain = Cli.mlp(ActivationKind.POLY);
        final List<ActivationStatistics.Site> sites = new ArrayList<>();
        final float bound = plain.header().activationBound();
        for (final Node n : plain.nodes())
        {
            if (ActivationStatistics.isSiteLayer(n.layer()))
            {
                // the first site exceeds the bound: 7 of 3 x its elements beyond r
                final boolean first = sites.isEmpty();
                sites.add(new ActivationStatistics.Site(n.name(), 3 * plain.shape(n.name()).elements(),
                    first ? 7 : 0, first ? 2 * bound : bound / 4, bound));
            }
        }
        final ModelGraph m = plain.withHeader(plain.header().withStatistics(new ActivationStatistics(3, sites)));
        final Path f = Cli.write(m, dir, "measured.pim");
        final Cli c = Cli.run("inspect", f.toString());
        assertEquals(0, c.status, c.toString());
        final String out = c.out();
        assertTrue(out.contains("format version 2"), out);
        assertTrue(out.contains("activation statistics (inputs of each site over 3 images):"), out);
        final ActivationStatistics.Site first = sites.getFirst();
        assertTrue(out.matches("(?s).*\\n  " + first.node() + " +Poly.* " + String.format(Locale.ROOT, "%,d", first
            .elements()) + " +10\\.0000 +7 .*\\n.*"), out);
        assertTrue(out.contains("observed max |x| against the plan's activation bound B = 5.0:"), out);
        assertTrue(out.matches("(?s).*\\n  " + first.node() + " +polynomial +max \\|x\\| 10\\.0000 > B " +
            "\\(beyond the range the plan's error bound assumes.*"), out);
        assertTrue(out.contains("max |x| 1.2500 <= B\n"), out);
        assertTrue(out.contains("1 polynomial site(s) exceeded B on the measured images"), out);
        assertFalse(out.contains("no activation statistics"), out);
    }

    private static boolean allZero(final float[] v)
    {
        for (final float x : v)
        {
            if (x != 0)
            {
                return false;
            }
        }
        return true;
    }

    @Test
    void keysNeedsAPasswordInTheEnvironment()
    {
        final Cli c = Cli.run("keys", "--out", dir.toString(), "--password-env", "POLYPI_TEST_UNSET_VARIABLE");
        assertEquals(Main.EXIT_USAGE, c.status);
        assertEquals("polypi keys: set the environment variable POLYPI_TEST_UNSET_VARIABLE to a password of at least " +
            "6 characters\n", c.err());
        assertFalse(Files.exists(dir.resolve("server.p12")));
    }

    @Test
    void aClientWhoseServerIsAbsentFailsWithinTheTimeout() throws IOException
    {
        final int port;
        try (ServerSocket s = new ServerSocket(0))
        {
            port = s.getLocalPort();
        }
        final Path model = Cli.write(Cli.mlp(ActivationKind.POLY), dir, "m.pim");
        final long t0 = System.nanoTime();
        final Cli c = Cli.run("client", "--model", model.toString(), "--plaintext", "--server", "127.0.0.1:" + port,
            "--dealer", "127.0.0.1:" + port, "--connect-timeout", "1", "--images", "1");
        final double seconds = (System.nanoTime() - t0) / 1e9;
        assertEquals(Main.EXIT_FAILURE, c.status, c.toString());
        assertEquals("polypi client: CLIENT: could not connect to SERVER at 127.0.0.1:" + port + " within 1 s: " +
            "Connection refused\n", c.err());
        assertTrue(seconds < 10, "took " + seconds + " s");
    }
}
