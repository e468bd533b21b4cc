package org.polypi.engine.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

import org.polypi.datasets.BundledSample;
import org.polypi.datasets.Dataset;
import org.polypi.datasets.FashionMnist;
import org.polypi.engine.plan.CompiledModel;
import org.polypi.engine.plan.PlanCompiler;
import org.polypi.engine.secure.InMemorySession;
import org.polypi.engine.secure.InferenceResult;
import org.polypi.engine.secure.SessionOptions;
import org.polypi.engine.transport.Party;
import org.polypi.kernels.Kernels;
import org.polypi.model.GraphTransforms;
import org.polypi.model.ModelFormat;
import org.polypi.model.ModelGraph;
import org.polypi.model.ReferenceNetworks;
import org.polypi.model.ReferenceNetworks.Workload;
import org.polypi.model.reference.FixedPointInference;
import org.polypi.model.reference.FloatInference;

/**
 * {@code polypi demo}: the main job on the bundled Fashion-MNIST sample. It runs the plaintext pipeline that the
 * secure engine is checked against: build a reference network, export it (BatchNorm folded) to the model format,
 * read it back and compare fingerprints, then run float32 and Z_2^64 fixed-point inference and report how often
 * their top-1 agree; then the same images through the secure engine (three parties as threads, in memory), with its
 * agreement with the fixed-point top-1 and its online cost. The exit status is 0 only if both agreements are 100 %.
 * The weights are seeded random until the trainer lands, so the accuracy line reports chance-level
 * accuracy and says so.
 */
final class Demo
{
    private static final double NANOS_PER_MILLI = 1e6;
    private static final double PERCENT = 100.0;
    private static final int MINIONN_PADDING = 2;
    /** Items per secure query: the batch the weight masks are drawn for. */
    private static final int SECURE_BATCH = 20;

    private Demo()
    {
    }

    static int run(final DemoOptions options, final PrintStream out) throws IOException
    {
        out.printf(Locale.ROOT, "PolyPI demo: %s, activation %s, f = %d, %d bundled Fashion-MNIST test images%n",
            options.workload().id(), options.activation().name().toLowerCase(Locale.ROOT), options.fractionalBits(),
            options.images());
        out.println("kernels: " + Kernels.get().name() + " backend");

        final ModelGraph trained = ReferenceNetworks.build(options.workload(),
            ReferenceNetworks.Options.of(options.activation()).withBatchNorm(true).withSeed(options.seed())
                .withFixedPoint(options.fractionalBits(), ReferenceNetworks.DEFAULT_ACTIVATION_BOUND));
        final ModelGraph exported = GraphTransforms.foldBatchNorm(trained);

        final Path dir = Files.createTempDirectory("polypi-demo");
        final Path file = dir.resolve(options.workload().id() + ".ppm");
        final ModelGraph model;
        try
        {
            ModelFormat.write(exported, file);
            model = ModelFormat.read(file);
            out.printf(Locale.ROOT, "model: %s, %,d bytes, %,d multiply-adds, %,d activation elements, fingerprint %s%n",
                file.getFileName(), Files.size(file), model.multiplyAdds(), model.activationSites(),
                model.fingerprint().hex().substring(0, 16));
            if (!model.fingerprint().equals(exported.fingerprint()))
            {
                throw new IllegalStateException("fingerprint of the model read back differs from the one written");
            }
        }
        finally
        {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }

        Dataset data = BundledSample.fashionMnistTest(FashionMnist.STANDARD_NORMALIZATION).slice(0, options.images());
        if (options.workload() == Workload.MINIONN_FASHION)
        {
            data = data.pad(MINIONN_PADDING);
        }
        final float[] images = data.toFloatArray();
        final int n = data.count();

        final long t0 = System.nanoTime();
        final int[] floatTop1 = FloatInference.of(model).top1(images, n);
        final long t1 = System.nanoTime();
        final int[] fixedTop1 = FixedPointInference.of(model, options.fractionalBits()).top1(images, n);
        final long t2 = System.nanoTime();

        int agree = 0;
        int correct = 0;
        for (int i = 0; i < n; i++)
        {
            agree += floatTop1[i] == fixedTop1[i] ? 1 : 0;
            correct += fixedTop1[i] == data.label(i) ? 1 : 0;
        }
        out.printf(Locale.ROOT, "float32 inference:     %8.3f ms per image%n", (t1 - t0) / NANOS_PER_MILLI / n);
        out.printf(Locale.ROOT, "fixed-point inference: %8.3f ms per image%n", (t2 - t1) / NANOS_PER_MILLI / n);
        out.printf(Locale.ROOT, "top-1 agreement fixed point vs float32: %d / %d (%.1f %%)%n", agree, n,
            PERCENT * agree / n);
        out.printf(Locale.ROOT, "accuracy (untrained seeded weights, chance is 10 %%): %.1f %%%n", PERCENT * correct / n);
        final boolean secureAgrees = secure(options, model, images, n, fixedTop1, out);
        return agree == n && secureAgrees ? 0 : Main.EXIT_FAILURE;
    }

    /**
     * The same images through the secure engine: server, client and dealer as three threads over the in-memory
     * transport. Prints the agreement with the fixed-point top-1 and the online cost; true if every top-1 agrees
     * (or the model has a layer without a secure protocol yet, which is reported instead).
     */
    private static boolean secure(final DemoOptions options, final ModelGraph model, final float[] images, final int n,
                                  final int[] fixedTop1, final PrintStream out)
    {
        final CompiledModel compiled = PlanCompiler.compile(model, options.fractionalBits());
        final int batch = Math.min(n, SECURE_BATCH);
        final InferenceResult result;
        try (InMemorySession session = InMemorySession.start(compiled, SessionOptions.of(batch)))
        {
            result = session.infer(images, n);
        }
        catch (final UnsupportedOperationException e)
        {
            out.println("secure inference: not run, " + e.getMessage());
            return true;
        }
        final int[] secureTop1 = result.top1();
        int agree = 0;
        for (int i = 0; i < n; i++)
        {
            agree += secureTop1[i] == fixedTop1[i] ? 1 : 0;
        }
        out.printf(Locale.ROOT, "secure inference (server, client, dealer as threads, in memory; plan %s, batch %d):%n",
            compiled.plan().hashHex().substring(0, 16), batch);
        out.printf(Locale.ROOT, "top-1 agreement secure vs fixed point: %d / %d (%.1f %%)%n", agree, n,
            PERCENT * agree / n);
        out.printf(Locale.ROOT, "secure online: %.3f ms per image, %,.0f B per party per image (server %,.0f, " +
                "client %,.0f), %d rounds per inference, dealer %,.0f B per image%n", result.onlineMillisPerItem(),
            (result.onlineBytesPerItem(Party.SERVER) + result.onlineBytesPerItem(Party.CLIENT)) / 2,
            result.onlineBytesPerItem(Party.SERVER), result.onlineBytesPerItem(Party.CLIENT), result.roundsPerQuery(),
            (double)result.dealerBytes() / n);
        return agree == n;
    }
}
