package org.polypi.engine.secure;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.polypi.datasets.BundledSample;
import org.polypi.datasets.Dataset;
import org.polypi.datasets.DatasetNotFoundException;
import org.polypi.datasets.FashionMnist;
import org.polypi.engine.plan.CompiledModel;
import org.polypi.engine.plan.PlanCompiler;
import org.polypi.engine.transport.Party;
import org.polypi.kernels.Kernels;
import org.polypi.model.ActivationKind;
import org.polypi.model.GraphTransforms;
import org.polypi.model.ModelGraph;
import org.polypi.model.ReferenceNetworks;
import org.polypi.model.ReferenceNetworks.Workload;
import org.polypi.model.reference.FixedPointInference;
import org.polypi.model.reference.FixedPointOutput;
import org.polypi.model.reference.FloatInference;

/**
 * Bench main: the secure engine against the plaintext fixed-point reference (same plan) and float32 on Fashion-MNIST
 * test images, for W1-W3 with the public quadratic, PILLAR's degree-4 polynomial, HerPN channel polynomials, ReLU
 * and SENet's masked ReLU, at f = 12 and 16. Prints per configuration the top-1 agreement (and, for each image where
 * it differs, how far apart the reference's own two candidates were), the largest logit difference in ulps, online
 * time, bytes and rounds. Exit status 1 if some secure top-1 differs from the reference's.
 * <p>
 * Usage: {@code AgreementCheck [--images N] [--workloads mlp,lenet,minionn-fmnist]
 * [--activations poly2,pillar4,channel,relu,masked] [--bits 12,16] [--batch B]} (defaults: 1,000 images, everything,
 * batch 25).
 */
public final class AgreementCheck
{
    private static final long MODEL_SEED = 20261123L;
    private static final int MINIONN_PADDING = 2;
    private static final double PERCENT = 100.0;

    private AgreementCheck()
    {
    }

    /** Runs the check; see the class comment for the arguments. */
    public static void main(final String[] args) throws IOException
    {
        int images = 1000;
        int batch = 25;
        String workloads = "mlp,lenet,minionn-fmnist";
        String activations = "poly2,pillar4,channel,relu,masked";
        String bits = "12,16";
        for (int i = 0; i < args.length; i += 2)
        {
            if (i + 1 >= args.length)
            {
                throw new IllegalArgumentException(args[i] + " needs a value");
            }
            switch (args[i])
            {
                case "--images" -> images = Integer.parseInt(args[i + 1]);
                case "--batch" -> batch = Integer.parseInt(args[i + 1]);
                case "--workloads" -> workloads = args[i + 1];
                case "--activations" -> activations = args[i + 1];
                case "--bits" -> bits = args[i + 1];
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        final Dataset all = load();
        final PrintStream out = System.out;
        out.printf(Locale.ROOT, "secure vs fixed-point reference on %d Fashion-MNIST test images, batch %d%n",
            Math.min(images, all.count()), batch);
        boolean identical = true;
        for (final String w : workloads.split(","))
        {
            final Workload workload = Workload.byId(w);
            Dataset data = all.slice(0, Math.min(images, all.count()));
            if (workload == Workload.MINIONN_FASHION)
            {
                data = data.pad(MINIONN_PADDING);
            }
            for (final String a : activations.split(","))
            {
                for (final String b : bits.split(","))
                {
                    identical &= check(out, workload, a, Integer.parseInt(b), data, batch);
                }
            }
        }
        System.exit(identical ? 0 : 1);
    }

    private static Dataset load() throws IOException
    {
        try
        {
            return FashionMnist.load(FashionMnist.Split.TEST, FashionMnist.STANDARD_NORMALIZATION);
        }
        catch (final DatasetNotFoundException e)
        {
            System.out.println("Fashion-MNIST is not installed (" + e.getMessage() + "); using the bundled sample");
            return BundledSample.fashionMnistTest(FashionMnist.STANDARD_NORMALIZATION);
        }
    }

    /** The folded network of {@code workload} with activation {@code poly2}, {@code pillar4} or {@code channel}. */
    static ModelGraph network(final Workload workload, final String activation, final int f)
    {
        ReferenceNetworks.Options o = ReferenceNetworks.Options.of(switch (activation)
        {
            case "poly2", "pillar4" -> ActivationKind.POLY;
            case "channel" -> ActivationKind.CHANNEL_POLY;
            case "relu" -> ActivationKind.RELU;
            case "masked" -> ActivationKind.MASKED_RELU;
            default -> throw new IllegalArgumentException("activation must be poly2, pillar4, channel, relu or " +
                "masked, was " + activation);
        }).withBatchNorm(true).withSeed(MODEL_SEED).withFixedPoint(f, ReferenceNetworks.DEFAULT_ACTIVATION_BOUND);
        if (activation.equals("pillar4"))
        {
            o = o.withPoly(ReferenceNetworks.PILLAR_DEGREE4);
        }
        return GraphTransforms.foldBatchNorm(ReferenceNetworks.build(workload, o));
    }

    private static boolean check(final PrintStream out, final Workload workload, final String activation, final int f,
                                 final Dataset data, final int batch)
    {
        final ModelGraph graph = network(workload, activation, f);
        final CompiledModel model = PlanCompiler.compile(graph, f);
        final int n = data.count();
        final float[] x = data.toFloatArray();
        final FixedPointOutput reference = FixedPointInference.of(model, Kernels.get(), batch).run(x, n);
        final int[] floatTop = FloatInference.of(graph).top1(x, n);
        final InferenceResult secure;
        try (InMemorySession session = InMemorySession.start(model, SessionOptions.of(batch)))
        {
            secure = session.infer(x, n);
        }
        final int[] refTop = reference.top1();
        final int[] secTop = secure.top1();
        int agree = 0;
        int floatAgree = 0;
        int correct = 0;
        final List<String> differing = new ArrayList<>();
        for (int i = 0; i < n; i++)
        {
            if (refTop[i] == secTop[i])
            {
                agree++;
            }
            else
            {
                // How close the reference's own choice was: its logit of its top-1 minus that of the secure top-1.
                final long margin = reference.ringLogit(i, refTop[i]) - reference.ringLogit(i, secTop[i]);
                differing.add("image " + i + " (reference margin " + margin + " ulps)");
            }
            floatAgree += floatTop[i] == secTop[i] ? 1 : 0;
            correct += secTop[i] == data.label(i) ? 1 : 0;
        }
        long worst = 0;
        for (int i = 0; i < reference.ringLogits().length; i++)
        {
            worst = Math.max(worst, Math.abs(secure.output().ringLogits()[i] - reference.ringLogits()[i]));
        }
        out.printf(Locale.ROOT, "%-15s %-8s f=%d: top-1 secure = reference %d/%d (%.2f %%), " +
                "secure = float32 %.2f %%, " +
                "max logit difference %d ulps; online %.2f ms/image, %,.0f B/image per party, %d rounds/query, " +
                "dealer %,.0f B/image; accuracy %.1f %% (random weights)%s%n", workload.id(), activation, f, agree, n,
            PERCENT * agree / n, PERCENT * floatAgree / n, worst, secure.onlineMillisPerItem(),
            secure.onlineBytesPerItem(Party.CLIENT), secure.roundsPerQuery(), (double)secure.dealerBytes() / n,
            PERCENT * correct / n, differing.isEmpty() ? "" : "; differ at " + differing);
        return differing.isEmpty();
    }
}
