package org.polypi.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.polypi.engine.net.PublicModel;
import org.polypi.engine.plan.CompiledModel;
import org.polypi.engine.plan.Plan;
import org.polypi.engine.plan.PlanCompiler;
import org.polypi.engine.plan.StepCost;
import org.polypi.model.ActivationStatistics;
import org.polypi.model.GraphInput;
import org.polypi.model.GraphTransforms;
import org.polypi.model.ModelFormat;
import org.polypi.model.ModelGraph;
import org.polypi.model.ModelHeader;
import org.polypi.model.Node;
import org.polypi.model.Shape;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code polypi inspect FILE}: what a model file holds and what it costs to run privately. */
@Command(name = "inspect", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Print a model file's graph (layers, output shapes, multiply-adds, activation elements), sizes, " +
        "fingerprint, header (fixed point, trained activation range, the activation statistics of a version-2 " +
        "file) and the secure plan's cost per image, with each measured site's max |x| against the plan's bound.",
        "The trainer's side file (MODEL.json), if present, adds the measured activation ranges and accuracies."})
final class InspectCommand implements Callable<Integer>
{
    private static final Pattern ALL_STATS = Pattern.compile("\"all\": \\{([^}]*)\\}");
    private static final Pattern ACCURACY = Pattern.compile("\"test_accuracy\": \\{\"trainer\": ([0-9.]+), " +
        "\"float32\": ([0-9.]+)");

    @ParentCommand
    Main main;

    @Parameters(paramLabel = "FILE", description = "The model file (.pim).")
    Path file;

    @Option(names = "--bits", paramLabel = "F", description = "Fractional bits of the plan (default: the model's).")
    Integer bits;

    @Option(names = "--write-public", paramLabel = "OUT",
        description = "Also write the model's public description (weights zeroed) for the client and the dealer.")
    Path writePublic;

    @Override
    public Integer call() throws IOException
    {
        final ModelGraph g = Models.read("FILE", file);
        final PrintStream out = main.out();
        final ModelHeader h = g.header();
        out.printf(Locale.ROOT, "%s: %s, %,d bytes, format version %d%n", file, h.architecture(), Files.size(file),
            ModelFormat.version(g));
        out.println("fingerprint " + g.fingerprint().hex());
        for (final GraphInput in : g.inputs())
        {
            out.println("input " + in.name() + " " + in.shape());
        }
        out.printf(Locale.ROOT, "classes %d%s%n", h.classNames().size(),
            h.classNames().isEmpty() ? "" : " " + h.classNames());
        out.printf(Locale.ROOT, "fixed point: f = %d fractional bits in Z_2^64; trained activation range " +
            "[-%s, %s] (header bound)%n", h.fractionalBits(), h.activationBound(), h.activationBound());
        statistics(g, out);
        out.printf(Locale.ROOT, "%n%-22s %-34s %-14s %14s %12s %10s%n", "node", "layer", "output", "mult-adds",
            "act elems", "params");
        for (final Node n : g.nodes())
        {
            final Shape s = g.shape(n.name());
            final List<Shape> ins = g.inputShapes(n);
            out.printf(Locale.ROOT, "%-22s %-34s %-14s %,14d %,12d %,10d%n", n.name(), n.layer().describe(), s,
                n.layer().multiplyAdds(ins, s), n.layer().isActivation() ? s.elements() : 0,
                n.layer().parameterCount());
        }
        out.printf(Locale.ROOT, "%ntotal: %,d multiply-adds, %,d activation elements, %,d comparisons (ReLU, " +
                "max-pool), %,d parameters (%,d bytes as float32)%n", g.multiplyAdds(), g.activationSites(),
            g.comparisons(), g.parameterCount(), g.parameterCount() * Float.BYTES);
        sidecar(out);
        plan(g, out);
        if (writePublic != null)
        {
            ModelFormat.write(PublicModel.of(g), writePublic);
            out.println("public description written to " + writePublic);
        }
        return 0;
    }

    /** The header's activation statistics, one line per site, or a line saying there are none. */
    private static void statistics(final ModelGraph g, final PrintStream out)
    {
        if (g.header().statistics().isEmpty())
        {
            out.printf(Locale.ROOT, "no activation statistics (format version %d)%n", ModelFormat.version(g));
            return;
        }
        final ActivationStatistics stats = g.header().statistics().get();
        out.printf(Locale.ROOT, "activation statistics (inputs of each site over %,d images):%n", stats.images());
        out.printf(Locale.ROOT, "  %-22s %-12s %16s %12s %14s %12s %8s%n", "node", "layer", "elements", "max |x|",
            "outside [-r,r]", "fraction", "r");
        for (final ActivationStatistics.Site s : stats.sites())
        {
            out.printf(Locale.ROOT, "  %-22s %-12s %,16d %12.4f %,14d %12.3g %8s%n", s.node(),
                g.node(s.node()).layer().describe(), s.elements(), s.maxAbs(), s.outside(), s.outsideFraction(),
                s.range());
        }
    }

    private void sidecar(final PrintStream out) throws IOException
    {
        final String name = file.getFileName().toString();
        final int dot = name.lastIndexOf('.');
        final Path json = file.resolveSibling((dot > 0 ? name.substring(0, dot) : name) + ".json");
        if (!Files.isRegularFile(json))
        {
            return;
        }
        final String text = Files.readString(json, StandardCharsets.UTF_8);
        final Matcher stats = ALL_STATS.matcher(text);
        if (stats.find())
        {
            out.println("trained activation inputs (" + json.getFileName() + "): " + stats.group(1).trim());
        }
        final Matcher acc = ACCURACY.matcher(text);
        if (acc.find())
        {
            out.println("test accuracy (" + json.getFileName() + "): trainer " + acc.group(1) + " %, float32 " +
                acc.group(2) + " %");
        }
    }

    private void plan(final ModelGraph g, final PrintStream out)
    {
        final int f = Models.bits(bits, g);
        final CompiledModel compiled;
        try
        {
            compiled = PlanCompiler.compile(GraphTransforms.foldBatchNorm(g), f);
        }
        catch (final IllegalArgumentException e)
        {
            out.println("secure plan: cannot compile at f = " + f + ": " + e.getMessage());
            return;
        }
        final Plan p = compiled.plan();
        final long rounds = p.onlineRounds(1);
        long online = 0;
        long dealer = 0;
        long setup = 0;
        for (final StepCost c : p.predictedCosts(1))
        {
            switch (c.phase())
            {
                case Plan.ONLINE -> online += c.serverSent() + c.clientSent();
                case Plan.OFFLINE -> dealer += c.dealerSent();
                default -> setup += c.serverSent() + c.clientSent() + c.dealerSent();
            }
        }
        out.printf(Locale.ROOT, "secure plan at f = %d: %d steps, hash %s%n", f, p.steps().size(), p.hashHex());
        out.printf(Locale.ROOT, "per image (batch 1): %d online rounds, %,d online bytes (both parties), %,d dealer " +
            "bytes; once per session: %,d bytes of set-up%n", rounds, online, dealer, setup);
        observedRanges(p, out);
    }

    /**
     * Each measured site's max |x| against the bound B the plan's scale budget (and its error bound) assumes; what
     * matters most are the polynomial sites, whose powers were sized for [-B, B].
     */
    private static void observedRanges(final Plan p, final PrintStream out)
    {
        if (p.observedRanges().isEmpty())
        {
            return;
        }
        out.printf(Locale.ROOT, "observed max |x| against the plan's activation bound B = %s:%n", p.activationBound());
        int beyond = 0;
        for (final Plan.ObservedRange r : p.observedRanges())
        {
            final boolean polynomialBeyond = r.polynomial() && !r.withinBound();
            beyond += polynomialBeyond ? 1 : 0;
            out.printf(Locale.ROOT, "  %-22s %-10s max |x| %.4f %s B%s%n", r.node(), r.polynomial() ? "polynomial" :
                "comparison", r.maxAbs(), r.withinBound() ? "<=" : ">", polynomialBeyond ?
                " (beyond the range the plan's error bound assumes; only the budget's headroom is left)" : "");
        }
        out.printf(Locale.ROOT, "%s%n", beyond == 0 ? "every polynomial site stayed within B on the measured images" :
            beyond + " polynomial site(s) exceeded B on the measured images");
    }
}
