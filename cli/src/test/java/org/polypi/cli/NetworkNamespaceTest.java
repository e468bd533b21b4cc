package org.polypi.cli;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.polypi.datasets.BundledSample;
import org.polypi.datasets.FashionMnist;
import org.polypi.engine.net.KeyMaterial;
import org.polypi.engine.net.PublicModel;
import org.polypi.model.ActivationKind;
import org.polypi.model.GraphTransforms;
import org.polypi.model.ModelFormat;
import org.polypi.model.ModelGraph;
import org.polypi.model.ReferenceNetworks;
import org.polypi.model.ReferenceNetworks.Workload;
import org.polypi.model.reference.FixedPointInference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 6's integration test: every role in its own Linux network namespace (cli/scripts/netns.sh: one bridge, one
 * veth pair per host, addresses 10.77.0.0/24), W2 over TLS across them, with two server replicas behind HAProxy
 * (installed by cli/scripts/install-haproxy.sh with apt-get when missing) in mode tcp, TLS passed through. Two
 * client sessions, one after the other, land on the two replicas (round robin); both classify like the plaintext
 * fixed-point model. Needs root (namespaces, veth); skipped with the reason where they are unavailable.
 */
final class NetworkNamespaceTest
{
    private static final String PREFIX = "ppt";
    private static final String DEALER = "10.77.0.12";
    private static final String SERVER_1 = "10.77.0.13";
    private static final String SERVER_2 = "10.77.0.14";
    private static final String BALANCER = "10.77.0.15";
    private static final int SERVER_PORT = 7000;
    private static final int DEALER_PORT = 7100;
    private static final int IMAGES = 3;
    private static final Duration LIMIT = Duration.ofSeconds(120);
    private static final Pattern LISTENING = Pattern.compile("listening on (\\S+?),");
    private static final String PASSWORD_ENV = "POLYPI_KEY_PASSWORD";
    private static final String PASSWORD = "netns-test-password";

    @TempDir
    Path dir;

    @Test
    void w2AcrossNamespacesWithTwoServerReplicasBehindHaproxy() throws Exception
    {
        final Path home = Path.of(System.getProperty("polypi.home", ".."));
        final Path scripts = home.resolve("cli/scripts");
        Assumptions.assumeTrue(System.getProperty("os.name").startsWith("Linux"), "network namespaces are Linux's");
        final Result probe = run(List.of("ip", "netns", "add", PREFIX + "-probe"));
        Assumptions.assumeTrue(probe.status == 0, "cannot create network namespaces here (needs root and " +
            "CAP_SYS_ADMIN): " + probe.output.strip());
        run(List.of("ip", "netns", "del", PREFIX + "-probe"));
        final Result haproxy = run(List.of("sh", scripts.resolve("install-haproxy.sh").toString()));
        Assumptions.assumeTrue(haproxy.status == 0, "HAProxy is not installed and could not be installed with " +
            "apt-get: " + haproxy.output.strip());
        final Result up = run(List.of("sh", scripts.resolve("netns.sh").toString(), "up", PREFIX));
        Assumptions.assumeTrue(up.status == 0, "cannot create the veth pairs and the bridge: " + up.output.strip());
        final List<ChildProcess> children = new ArrayList<>();
        try
        {
            runAcrossNamespaces(children);
        }
        finally
        {
            for (final ChildProcess c : children)
            {
                c.close();
            }
            run(List.of("sh", scripts.resolve("netns.sh").toString(), "down", PREFIX));
        }
    }

    private void runAcrossNamespaces(final List<ChildProcess> children) throws Exception
    {
        final Path keys = dir.resolve("keys");
        KeyMaterial.generate(keys, "netns", PASSWORD.toCharArray());
        final Map<String, String> env = Map.of(PASSWORD_ENV, PASSWORD);
        final ModelGraph model = GraphTransforms.foldBatchNorm(ReferenceNetworks.build(Workload.LENET,
            ReferenceNetworks.Options.of(ActivationKind.POLY).withBatchNorm(true).withSeed(11)
                .withPoly(ReferenceNetworks.PILLAR_DEGREE4)
                .withFixedPoint(ReferenceNetworks.DEFAULT_FRACTIONAL_BITS,
                    ReferenceNetworks.DEFAULT_ACTIVATION_BOUND)));
        final Path modelFile = Cli.write(model, dir, "w2.pim");
        final Path publicFile = Cli.write(PublicModel.of(model), dir, "w2-public.pim");
        final List<String> tls = List.of("--keys", keys.toString(), "--timeout", "60", "--connect-timeout", "60",
            "--watch-parent");

        final ChildProcess dealer = polypi(children, "dealer", List.of("dealer", "--model", publicFile.toString(),
            "--listen", DEALER + ":" + DEALER_PORT, "--sessions", "2"), tls, env);
        dealer.await(LISTENING, LIMIT);
        final ChildProcess srv1 = polypi(children, "srv1", List.of("server", "--model", modelFile.toString(),
            "--listen", SERVER_1 + ":" + SERVER_PORT, "--dealer", DEALER + ":" + DEALER_PORT, "--sessions", "1"),
            tls, env);
        final ChildProcess srv2 = polypi(children, "srv2", List.of("server", "--model", modelFile.toString(),
            "--listen", SERVER_2 + ":" + SERVER_PORT, "--dealer", DEALER + ":" + DEALER_PORT, "--sessions", "1"),
            tls, env);
        srv1.await(LISTENING, LIMIT);
        srv2.await(LISTENING, LIMIT);
        final Path config = Files.writeString(dir.resolve("haproxy.cfg"), String.join("\n",
            "global", "    maxconn 256",
            "defaults", "    mode tcp", "    timeout connect 5s", "    timeout client 300s", "    timeout server 300s",
            "frontend polypi_clients", "    bind " + BALANCER + ":" + SERVER_PORT, "    default_backend polypi_servers",
            "backend polypi_servers", "    balance roundrobin",
            "    server replica1 " + SERVER_1 + ":" + SERVER_PORT,
            "    server replica2 " + SERVER_2 + ":" + SERVER_PORT, ""));
        final ChildProcess lb = ChildProcess.command("haproxy", List.of("ip", "netns", "exec", PREFIX + "-lb",
            "/usr/sbin/haproxy", "-db", "-f", config.toString()), Map.of(), l -> { });
        children.add(lb);

        final float[] x = BundledSample.fashionMnistTest(FashionMnist.STANDARD_NORMALIZATION).slice(0, IMAGES)
            .toFloatArray();
        final int[] expected = FixedPointInference.of(model, model.header().fractionalBits()).top1(x, IMAGES);
        for (int session = 1; session <= 2; session++)
        {
            final Path report = dir.resolve("report-" + session + ".properties");
            final ChildProcess client = polypi(children, "client-" + session, List.of("client", "--model",
                publicFile.toString(), "--server", BALANCER + ":" + SERVER_PORT, "--dealer",
                DEALER + ":" + DEALER_PORT, "--images", Integer.toString(IMAGES), "--report", report.toString()),
                tls, env);
            assertEquals(0, client.waitFor(LIMIT), client.tail());
            final Properties p = new Properties();
            try (Reader r = Files.newBufferedReader(report, StandardCharsets.UTF_8))
            {
                p.load(r);
            }
            assertArrayEquals(expected, Arrays.stream(p.getProperty("top1").split(",")).mapToInt(Integer::parseInt)
                .toArray(), "session " + session);
        }
        // Each replica served exactly one of the two sessions, then exited; the dealer dealt both.
        assertEquals(0, srv1.waitFor(LIMIT), srv1.tail());
        assertEquals(0, srv2.waitFor(LIMIT), srv2.tail());
        assertEquals(0, dealer.waitFor(LIMIT), dealer.tail());
        assertTrue(srv1.lines().stream().anyMatch(l -> l.contains(" done: queries " + IMAGES)), srv1.tail());
        assertTrue(srv2.lines().stream().anyMatch(l -> l.contains(" done: queries " + IMAGES)), srv2.tail());
    }

    private static ChildProcess polypi(final List<ChildProcess> children, final String host, final List<String> args,
                                       final List<String> common, final Map<String, String> env) throws IOException
    {
        final List<String> all = new ArrayList<>(args);
        all.addAll(common);
        final String namespace = PREFIX + "-" + (host.startsWith("client") ? "client" : host);
        final ChildProcess c = ChildProcess.start(host, List.of("ip", "netns", "exec", namespace), all, env,
            l -> { });
        children.add(c);
        return c;
    }

    private record Result(int status, String output)
    {
    }

    private static Result run(final List<String> command) throws IOException, InterruptedException
    {
        final Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        final String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(LIMIT.toSeconds(), TimeUnit.SECONDS))
        {
            p.destroyForcibly();
            return new Result(-1, command + " did not finish within " + LIMIT.toSeconds() + " s");
        }
        return new Result(p.exitValue(), output);
    }
}
