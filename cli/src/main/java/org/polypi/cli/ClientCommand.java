package org.polypi.cli;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.Callable;

import org.polypi.datasets.Dataset;
import org.polypi.engine.net.RemoteClient;
import org.polypi.engine.net.SessionRequest;
import org.polypi.engine.transport.Party;
import org.polypi.model.ModelGraph;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code polypi client}: classifies images privately with a server and a dealer. */
@Command(name = "client", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Classify images privately: the server never sees them, the client never sees the weights.",
        "One session: connect to the server and the dealer, one query per batch, print the classes and the costs."})
final class ClientCommand implements Callable<Integer>
{
    private static final double NANOS_PER_MILLI = 1e6;
    private static final double PERCENT = 100.0;
    private static final int LISTED = 10;

    @ParentCommand
    Main main;

    @Option(names = "--model", paramLabel = "FILE", required = true,
        description = "The model's public description (from the server's operator; no weights).")
    Path model;

    @Option(names = "--server", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:7000",
        description = "The server (default: ${DEFAULT-VALUE}).")
    String server;

    @Option(names = "--dealer", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:7100",
        description = "The dealer (default: ${DEFAULT-VALUE}).")
    String dealer;

    @Option(names = "--input", paramLabel = "bundled|DIR", defaultValue = Inputs.BUNDLED,
        description = "Images: the bundled Fashion-MNIST sample, or a folder with the Fashion-MNIST test files " +
            "(default: ${DEFAULT-VALUE}).")
    String input;

    @Option(names = "--images", paramLabel = "N", defaultValue = "10", description = "How many (default: " +
        "${DEFAULT-VALUE}).")
    int images;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "1", description = "Images per query (default: " +
        "${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--warm-up", paramLabel = "N", defaultValue = "0",
        description = "Queries on the first batch before the measured ones, in the same session (a fresh JVM " +
            "compiles its hot code during the first queries; default: ${DEFAULT-VALUE}).")
    int warmUp;

    @Option(names = "--bits", paramLabel = "F", description = "Fixed-point fractional bits (default: the model's).")
    Integer bits;

    @Option(names = "--output", paramLabel = "FILE",
        description = "Write one CSV line per image: index, predicted class, label, query latency in ms.")
    Path output;

    @Option(names = "--report", paramLabel = "FILE", hidden = true,
        description = "Write the session's measurements as properties (for polypi demo).")
    Path report;

    @Option(names = "--progress", hidden = true, description = "Print 'progress DONE TOTAL' after each query.")
    boolean progress;

    @Option(names = "--watch-parent", hidden = true, description = "Exit when standard input closes.")
    boolean watchParent;

    @Mixin
    NetworkOptions network;

    @Override
    public Integer call() throws Exception
    {
        if (batch < 1 || batch > SessionRequest.MAX_BATCH)
        {
            throw new UsageException("--batch must be in [1, " + SessionRequest.MAX_BATCH + "], was " + batch);
        }
        if (watchParent)
        {
            // A child of polypi demo: if the demo goes away, so does this process.
            Thread.ofPlatform().daemon().name("polypi-parent-watch").start(() ->
            {
                try
                {
                    while (System.in.read() >= 0)
                    {
                        // nothing is sent on stdin
                    }
                }
                catch (final IOException e)
                {
                    // the parent is gone
                }
                Runtime.getRuntime().halt(Main.EXIT_FAILURE);
            });
        }
        final ModelGraph graph = Models.read("--model", model);
        final int f = Models.bits(bits, graph);
        final RemoteClient client = RemoteClient.of(graph, f, NetworkOptions.address("--server", server, "127.0.0.1"),
            NetworkOptions.address("--dealer", dealer, "127.0.0.1"), network.tcp(Party.CLIENT))
            .withProfile(network.profile());
        final Dataset data = Inputs.load(input, images, client.plan());
        final PrintStream out = main.out();
        if (warmUp < 0)
        {
            throw new UsageException("--warm-up must be >= 0, was " + warmUp);
        }
        final RemoteClient.Result r = client.infer(data.toFloatArray(), data.count(), batch, warmUp, done ->
        {
            if (progress)
            {
                out.println("progress " + done + " " + data.count());
                out.flush();
            }
        });
        final int[] top1 = r.output().top1();
        int correct = 0;
        for (int i = 0; i < top1.length; i++)
        {
            correct += top1[i] == data.label(i) ? 1 : 0;
        }
        final long[] sorted = r.onlineNanos().clone();
        Arrays.sort(sorted);
        final int queries = sorted.length;
        out.printf(Locale.ROOT, "session %016x: %d images in %d queries of %d (after %d warm-up queries), %s, " +
                "profile %s%n", r.sessionId(), top1.length, queries, batch, warmUp, network.security(),
            network.profile().name());
        for (int i = 0; i < Math.min(LISTED, top1.length); i++)
        {
            out.printf(Locale.ROOT, "  image %d: %s (label %s)%n", i, name(data, top1[i]), name(data, data.label(i)));
        }
        if (top1.length > LISTED)
        {
            out.println("  ...");
        }
        out.printf(Locale.ROOT, "accuracy against the labels: %d / %d (%.1f %%)%n", correct, top1.length,
            PERCENT * correct / top1.length);
        out.printf(Locale.ROOT, "online latency per query: median %.3f ms, p90 %.3f ms; %d rounds per query%n",
            percentile(sorted, 50) / NANOS_PER_MILLI, percentile(sorted, 90) / NANOS_PER_MILLI,
            r.online().rounds() / queries);
        out.printf(Locale.ROOT, "online bytes per image: client sent %,.0f, server sent %,.0f%n",
            (double)r.online().bytesSent() / top1.length, (double)r.online().bytesReceived() / top1.length);
        if (output != null)
        {
            writeCsv(output, top1, data, r.queryNanos());
        }
        if (report != null)
        {
            writeReport(report, r, top1);
        }
        return 0;
    }

    private static String name(final Dataset d, final int c)
    {
        return c >= 0 && c < d.classNames().size() ? d.classNames().get(c) : Integer.toString(c);
    }

    /** The {@code p}-th percentile (nearest rank) of sorted values. */
    static long percentile(final long[] sorted, final int p)
    {
        final int rank = (int)Math.ceil(p / PERCENT * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    private void writeCsv(final Path file, final int[] top1, final Dataset data, final long[] queryNanos)
        throws IOException
    {
        try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8))
        {
            w.write("index,predicted,label,query_ms\n");
            for (int i = 0; i < top1.length; i++)
            {
                w.write(String.format(Locale.ROOT, "%d,%d,%d,%.3f%n", i, top1[i], data.label(i),
                    queryNanos[i / batch] / NANOS_PER_MILLI));
            }
        }
    }

    private void writeReport(final Path file, final RemoteClient.Result r, final int[] top1) throws IOException
    {
        final Properties p = new Properties();
        p.setProperty("session", String.format(Locale.ROOT, "%016x", r.sessionId()));
        p.setProperty("top1", joined(top1));
        p.setProperty("online.nanos", joined(r.onlineNanos()));
        p.setProperty("query.nanos", joined(r.queryNanos()));
        p.setProperty("online.sent", Long.toString(r.online().bytesSent()));
        p.setProperty("online.received", Long.toString(r.online().bytesReceived()));
        p.setProperty("online.rounds", Long.toString(r.online().rounds()));
        p.setProperty("offline.received", Long.toString(r.offline().bytesReceived()));
        p.setProperty("setup.sent", Long.toString(r.setup().bytesSent()));
        p.setProperty("setup.received", Long.toString(r.setup().bytesReceived()));
        p.setProperty("warmup", Integer.toString(r.warmUpQueries()));
        try (var w = Files.newBufferedWriter(file, StandardCharsets.UTF_8))
        {
            p.store(w, "polypi client report");
        }
    }

    private static String joined(final int[] v)
    {
        final StringBuilder sb = new StringBuilder();
        for (int i = 0; i < v.length; i++)
        {
            sb.append(i == 0 ? "" : ",").append(v[i]);
        }
        return sb.toString();
    }

    private static String joined(final long[] v)
    {
        final StringBuilder sb = new StringBuilder();
        for (int i = 0; i < v.length; i++)
        {
            sb.append(i == 0 ? "" : ",").append(v[i]);
        }
        return sb.toString();
    }
}
