package org.polypi.engine.secure;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.polypi.datasets.Dataset;
import org.polypi.engine.plan.CompiledModel;
import org.polypi.engine.plan.ErrorBounds;
import org.polypi.engine.plan.Plan;
import org.polypi.engine.plan.PlanCompiler;
import org.polypi.engine.plan.PlanStep;
import org.polypi.engine.transport.Party;
import org.polypi.kernels.Kernels;
import org.polypi.model.GraphTransforms;
import org.polypi.model.ModelFormat;
import org.polypi.model.ReferenceNetworks.Workload;
import org.polypi.model.reference.FixedPointInference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.polypi.engine.secure.ActivationProtocol.FUSED;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * End to end on Fashion-MNIST test images: W1, W2, W3 with every activation kind the engine runs (public
 * polynomial: the quadratic and PILLAR's degree 4; HerPN ChannelPoly, folded; ReLU; masked ReLU), at f = 12 and 16,
 * the polynomials by the fused one-round protocol (HoneyBadger-style candidate power tuples) and, on W1 and W2, by
 * the baselines: a faithful truncation per copy, then HoneyBadger's power tuples or ESPN's cross terms
 * ({@link ActivationProtocol}).
 * <p>
 * <b>What must hold.</b> Every logit of every image is within its <em>proven per-image bound</em>
 * ({@link ErrorBounds}: the faithful carries propagated through the plan from the image's own values) of the
 * fixed-point reference's (that bound is the documented one: engine-design.md §4). The top-1 must be identical
 * on every image for a trained model (committed under {@code trainer/models/}), and, for the untrained
 * (random-weight) reference networks, on every image except near-ties of the reference (the <b>margin rule</b>: a
 * faithful truncation is floor or floor + 1 with random carries, so on a near-tie no deterministic answer exists).
 * An image is <em>excluded</em> only if neither the proven bound guarantees its top-1 (margin over every other class
 * above the two logits' radii) nor its top-2 margin exceeds twice the typical deviation {@link #documentedUlps}
 * (engine-design.md §4: a few ulps, PILLAR's degree 4 more because its x^4 copy keeps only f - s_4 bits). The excluded images are
 * counted and printed, and must stay few ({@link #MAX_EXCLUDED}). Each query's rounds and bytes equal the plan's
 * formulas.
 * <p>
 * The proven bound is tight for one or two layers (W1, W2: tens to hundreds of ulps) and grows with depth (every
 * layer multiplies it by its largest row's l1 norm): for W3 it exceeds any margin, and the documented deviation
 * decides.
 * <p>
 * Image counts: {@value #W1_IMAGES} for W1 (every kind, both f); W2 and W3 run fewer in the default suite to keep it
 * fast ({@value #W2_IMAGES} and {@value #W3_IMAGES}); {@code -Dpolypi.e2e.full=true} runs 1,000 images everywhere
 * ({@code -Dpolypi.e2e.only=...} picks configurations by name).
 */
final class EndToEndTest
{
    private static final boolean FULL = Boolean.getBoolean("polypi.e2e.full");
    /**
     * Runs only the configurations whose name ({@code "minionn-fmnist PILLAR4 FUSED f=12"}) contains this string,
     * e.g. {@code -Dpolypi.e2e.only="minionn-fmnist PILLAR4"} for one network of the 1,000-image run.
     */
    private static final String ONLY = System.getProperty("polypi.e2e.only", "");
    private static final int FULL_IMAGES = 1000;
    private static final int W1_IMAGES = 1000;
    private static final int W2_IMAGES = 40;
    private static final int W3_IMAGES = 2;
    /** The baseline protocols run fewer images: they add protocols, not kinds. */
    private static final int BASELINE_W1_IMAGES = 200;
    private static final int BASELINE_W2_IMAGES = 20;
    /**
     * Largest share of images the margin rule may exclude (at least {@link #MIN_EXCLUDED} images): untrained
     * networks have small logit margins (random weights spread the logits little), so near-ties are common; PILLAR's
     * degree 4 has the widest documented deviation and gets {@link #MAX_EXCLUDED_PILLAR4}. Measured on 1,000 W1
     * images: 0 to 28 excluded for every other kind, 131 (f = 12) and 41 (f = 16) for PILLAR's degree 4 (random
     * weights); W2 on 40 images up to 4.
     */
    private static final double MAX_EXCLUDED = 0.10;
    private static final double MAX_EXCLUDED_PILLAR4 = 0.15;
    private static final int MIN_EXCLUDED = 3;
    /**
     * Documented logit deviation (engine-design.md §4) for PILLAR's degree 4 at f = 12 and f = 16, else. PILLAR's x^4
     * copy keeps f - s_4 = 6 (8) fractional bits: one carry moves an activation by up to 4 (B + δ)^3 δ |a_4|, about
     * 0.023 (0.006) at B = 5, times the next layer's row l1 norm; measured up to 68 (194) ulps on random W1, 133 (553)
     * on the trained W1, and 372 at f = 12 on the trained W3 (1,000 images: beyond this figure, which is therefore a
     * typical deviation, not a bound; the proven per-image bound overflows on W3's seven power layers).
     */
    private static final long PILLAR4_F12_ULPS = 256;
    private static final long PILLAR4_F16_ULPS = 1024;
    private static final long OTHER_ULPS = 16;
    /** Reference items traced at once (every tensor is kept for the bound). */
    private static final int TRACE_CHUNK = 50;
    private static final Path TRAINED = Path.of("..", "trainer", "models");

    static Stream<Arguments> configurations()
    {
        final List<Arguments> list = new ArrayList<>();
        for (final TestData.Act act : TestData.Act.values())
        {
            for (final int f : new int[]{12, 16})
            {
                list.add(Arguments.of(Workload.MLP, act, f, FULL ? FULL_IMAGES : W1_IMAGES, 100, FUSED));
            }
            list.add(Arguments.of(Workload.LENET, act, 12, FULL ? FULL_IMAGES : W2_IMAGES, 20, FUSED));
            if (FULL)
            {
                list.add(Arguments.of(Workload.LENET, act, 16, FULL_IMAGES, 25, FUSED));
            }
            list.add(Arguments.of(Workload.MINIONN_FASHION, act, act == TestData.Act.CHANNEL ? 16 : 12,
                FULL ? FULL_IMAGES : W3_IMAGES, FULL ? 25 : W3_IMAGES, FUSED));
            if (FULL && act != TestData.Act.CHANNEL)
            {
                list.add(Arguments.of(Workload.MINIONN_FASHION, act, 16, FULL_IMAGES, 25, FUSED));
            }
        }
        // The polynomial activations by the baseline protocols: truncation, then HoneyBadger, ESPN or CrypTen's
        // Beaver powers, per copy.
        for (final ActivationProtocol protocol : new ActivationProtocol[]{ActivationProtocol.HONEYBADGER,
            ActivationProtocol.ESPN, ActivationProtocol.CRYPTEN})
        {
            for (final TestData.Act act : new TestData.Act[]{TestData.Act.POLY2, TestData.Act.PILLAR4,
                TestData.Act.CHANNEL})
            {
                for (final int f : new int[]{12, 16})
                {
                    list.add(Arguments.of(Workload.MLP, act, f, FULL ? FULL_IMAGES : BASELINE_W1_IMAGES, 100,
                        protocol));
                }
            }
            list.add(Arguments.of(Workload.LENET, TestData.Act.PILLAR4, 12, FULL ? FULL_IMAGES : BASELINE_W2_IMAGES,
                BASELINE_W2_IMAGES, protocol));
        }
        return list.stream().filter(a ->
        {
            final Object[] v = a.get();
            return (((Workload)v[0]).id() + " " + v[1] + " " + v[5] + " f=" + v[2]).contains(ONLY);
        });
    }

    @ParameterizedTest(name = "{0} {1} f={2} {3} images {5}")
    @MethodSource("configurations")
    void secureEqualsTheReferenceWithinTheProvenPerImageBound(final Workload workload, final TestData.Act act,
                                                              final int f, final int count, final int batch,
                                                              final ActivationProtocol protocol)
    {
        final Path trainedFile = trained(workload, act);
        final CompiledModel model = trainedFile != null ? compileTrained(trainedFile, f) :
            TestData.model(workload, act, f);
        final Dataset data = TestData.images(workload, count);
        final int n = data.count();
        final float[] x = data.toFloatArray();
        final int classes = model.plan().outputElements();
        final int item = model.plan().inputElements();

        final FixedPointInference reference = FixedPointInference.of(model, Kernels.get(), TRACE_CHUNK);
        final ErrorBounds bounds = new ErrorBounds(model);
        final long[] refLogits = new long[n * classes];
        final double[] radius = new double[n * classes];
        for (int from = 0; from < n; from += TRACE_CHUNK)
        {
            final int m = Math.min(TRACE_CHUNK, n - from);
            final float[] chunk = new float[m * item];
            System.arraycopy(x, from * item, chunk, 0, chunk.length);
            final long[][] trace = reference.trace(chunk, m);
            System.arraycopy(trace[model.plan().outputTensor()], 0, refLogits, from * classes, m * classes);
            System.arraycopy(bounds.logitRadius(trace, m), 0, radius, from * classes, m * classes);
        }

        final InferenceResult secure;
        try (InMemorySession session = InMemorySession.start(model, SessionOptions.of(batch)
            .withDealerSeed(TestData.seed(31L * f + act.ordinal())).withActivations(protocol)))
        {
            secure = session.infer(x, n);
        }
        final long[] logits = secure.output().ringLogits();
        final int[] secureTop = secure.top1();
        final long documented = documentedUlps(act, f);
        int excluded = 0;
        int unproven = 0;
        int flipped = 0;
        long worst = 0;
        long worstBound = 0;
        for (int i = 0; i < n; i++)
        {
            for (int c = 0; c < classes; c++)
            {
                final int at = i * classes + c;
                final long diff = Math.abs(logits[at] - refLogits[at]);
                final long allowed = bounds.ulps(radius[at]);
                assertTrue(diff <= allowed, "image " + i + " logit " + c + ": secure " + logits[at] +
                    ", reference " + refLogits[at] + ", beyond the proven " + allowed + " ulps");
                worst = Math.max(worst, diff);
                worstBound = Math.max(worstBound, allowed);
            }
            final int refTop = argmax(refLogits, i, classes);
            final boolean proven = bounds.top1Guaranteed(refLogits, radius, i, classes);
            unproven += proven ? 0 : 1;
            if (proven || margin(refLogits, i, classes) > 2 * documented)
            {
                assertTrue(secureTop[i] == refTop, "image " + i + ": secure top-1 " + secureTop[i] +
                    " != reference " + refTop + " (margin " + margin(refLogits, i, classes) + " ulps, proven " +
                    proven + ")");
            }
            else
            {
                excluded++;
                flipped += secureTop[i] == refTop ? 0 : 1;
            }
        }
        System.out.printf(Locale.ROOT, "e2e %s %s %s f=%d%s: %d images, top-1 proven on %d, excluded by the margin " +
            "rule %d (%d of them flipped), worst logit difference %d ulps (typical %d), largest proven per-image " +
            "bound %d ulps, compile-time bound %d%n",
            workload.id(), act, protocol, f, trainedFile != null ? " (trained " + trainedFile.getFileName() + ")" : "", n,
            n - unproven, excluded, flipped, worst, documented, worstBound, model.outputErrorUlps());
        if (trainedFile != null)
        {
            assertArrayEquals(reference.run(x, n).top1(), secureTop, "a trained model: identical top-1 everywhere");
        }
        final double cap = act == TestData.Act.PILLAR4 ? MAX_EXCLUDED_PILLAR4 : MAX_EXCLUDED;
        assertTrue(excluded <= Math.max(MIN_EXCLUDED, cap * n), excluded + " of " + n +
            " images excluded by the margin rule");
        if (protocol == FUSED)
        {
            SecureAgreementTest.assertCostsMatch(model.plan(), batch, secure);
        }
        else
        {
            assertBaselineCostsMatch(model.plan(), batch, secure, protocol);
        }
    }

    /**
     * The plan's formulas for every step but the activations, which cost what {@link ActivationProtocol} documents
     * for the baselines: per copy one truncation round (8n bytes) and one power round (8n HoneyBadger,
     * 8 (k_j - 1) n ESPN), the dealer a truncation pair and a power or ESPN tuple.
     */
    static void assertBaselineCostsMatch(final Plan plan, final int batch, final InferenceResult result,
                                         final ActivationProtocol protocol)
    {
        final CostReport costs = result.costs();
        final long q = result.queries();
        for (final PlanStep step : plan.steps())
        {
            final long n = (long)batch * plan.tensor(step.inputs()[0]).size();
            final long rounds;
            final long bytes;
            final long dealer;
            if (step instanceof final PlanStep.Activation a && a.copies() > 0)
            {
                final long[] d = protocol.dealerElementsAndPieces(a.copyShifts(), a.copyDegrees());
                rounds = protocol.rounds(a.copyShifts(), a.copyDegrees());
                bytes = Long.BYTES * n * protocol.elementsPerInput(a.copyShifts(), a.copyDegrees());
                dealer = Long.BYTES * (n * d[0] + d[1]);
                assertTrue(rounds > 1, "a baseline activation takes more than one round: " + rounds);
            }
            else
            {
                rounds = plan.onlineRounds(step, batch);
                bytes = plan.onlineBytes(step, batch);
                dealer = plan.dealerBytes(step, batch);
            }
            for (final Party p : new Party[]{Party.SERVER, Party.CLIENT})
            {
                assertEquals(q * rounds, costs.row(p, Plan.ONLINE, step.name()).rounds(), p + " rounds " + step.name());
                assertEquals(q * bytes, costs.row(p, Plan.ONLINE, step.name()).bytesSent(), p + " bytes " +
                    step.name());
            }
            assertEquals(q * dealer, costs.row(Party.DEALER, Plan.OFFLINE, step.name()).bytesSent(),
                "dealer bytes " + step.name());
        }
    }

    /** The documented logit deviation of an activation kind at f (engine-design.md §4), in ulps of 2^-f. */
    static long documentedUlps(final TestData.Act act, final int f)
    {
        if (act == TestData.Act.PILLAR4)
        {
            return f <= 12 ? PILLAR4_F12_ULPS : PILLAR4_F16_ULPS;
        }
        return OTHER_ULPS;
    }

    /** The reference's top-1 logit minus its second best, in ulps. */
    private static long margin(final long[] logits, final int item, final int classes)
    {
        final int top = argmax(logits, item, classes);
        long second = Long.MIN_VALUE;
        for (int c = 0; c < classes; c++)
        {
            if (c != top)
            {
                second = Math.max(second, logits[item * classes + c]);
            }
        }
        return logits[item * classes + top] - second;
    }

    private static int argmax(final long[] logits, final int item, final int classes)
    {
        int top = 0;
        for (int c = 1; c < classes; c++)
        {
            if (logits[item * classes + c] > logits[item * classes + top])
            {
                top = c;
            }
        }
        return top;
    }

    /** A committed trained model for this configuration, or null. */
    static Path trained(final Workload workload, final TestData.Act act)
    {
        final String[] nets = switch (workload)
        {
            case MLP -> new String[]{"w1", "mlp"};
            case LENET -> new String[]{"w2", "lenet"};
            case MINIONN_FASHION -> new String[]{"w3", "minionn"};
            default -> new String[0];
        };
        final String[] kinds = switch (act)
        {
            case POLY2 -> new String[]{"poly2", "pillar2"};
            case PILLAR4 -> new String[]{"pillar4"};
            case CHANNEL -> new String[]{"herpn"};
            case RELU -> new String[]{"relu"};
            case MASKED -> new String[]{"masked", "maskedrelu", "senet50"};
        };
        for (final String net : nets)
        {
            for (final String kind : kinds)
            {
                final Path p = TRAINED.resolve(net + "-" + kind + ".pim");
                if (Files.isRegularFile(p))
                {
                    return p;
                }
            }
        }
        return null;
    }

    private static CompiledModel compileTrained(final Path file, final int f)
    {
        try
        {
            return PlanCompiler.compile(GraphTransforms.foldBatchNorm(ModelFormat.read(file)), f);
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException(e);
        }
    }
}
