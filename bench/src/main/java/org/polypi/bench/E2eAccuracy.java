package org.polypi.bench;

import java.io.IOException;
import java.time.Duration;

import org.polypi.datasets.BundledSample;
import org.polypi.datasets.Dataset;
import org.polypi.datasets.FashionMnist;
import org.polypi.engine.secure.ActivationProtocol;
import org.polypi.engine.secure.InMemorySession;
import org.polypi.engine.secure.InferenceResult;
import org.polypi.engine.secure.SessionOptions;
import org.polypi.kernels.Kernels;
import org.polypi.model.Shape;
import org.polypi.model.reference.FixedPointInference;
import org.polypi.model.reference.FloatInference;

/**
 * Accuracy of a trained model on Fashion-MNIST test images: plaintext float32, plaintext fixed point and secure
 * (three parties in memory, batch {@value #BATCH}), and the agreement of the secure top-1 with the fixed-point
 * top-1. Accuracy does not depend on the network profile, so it is measured once per (workload, variant).
 */
final class E2eAccuracy
{
    private static final int BATCH = 64;
    private static final int FIXED_POINT_CHUNK = 32;

    private E2eAccuracy()
    {
    }

    /** The first {@code images} test images (the full test set if installed, else the bundled sample). */
    static Dataset testImages(final int images) throws IOException
    {
        final Dataset all = FashionMnist.find().isPresent() ?
            FashionMnist.load(FashionMnist.Split.TEST, FashionMnist.STANDARD_NORMALIZATION) :
            BundledSample.fashionMnistTest(FashionMnist.STANDARD_NORMALIZATION);
        return all.slice(0, Math.min(images, all.count()));
    }

    /** Accuracy of {@code model} on {@code data} (padded to the model's input size). */
    static E2eResult.Accuracy measure(final E2eModel model, final Dataset data, final ActivationProtocol protocol,
                                      final Duration timeout)
    {
        final Shape input = model.graph().inputs().getFirst().shape();
        final Dataset d = data.padTo(input.dim(1), input.dim(2));
        final float[] images = d.toFloatArray();
        final int n = d.count();
        final int[] floatTop1 = FloatInference.of(model.graph()).top1(images, n);
        final int[] fixedTop1 = FixedPointInference.of(model.compiled(), Kernels.get(), FIXED_POINT_CHUNK)
            .top1(images, n);
        final InferenceResult secure;
        try (InMemorySession s = InMemorySession.start(model.compiled(),
            SessionOptions.of(Math.min(BATCH, n)).withTimeout(timeout).withActivations(protocol)))
        {
            secure = s.infer(images, n);
        }
        final int[] secureTop1 = secure.top1();
        int floatRight = 0;
        int fixedRight = 0;
        int secureRight = 0;
        int agree = 0;
        for (int i = 0; i < n; i++)
        {
            floatRight += floatTop1[i] == d.label(i) ? 1 : 0;
            fixedRight += fixedTop1[i] == d.label(i) ? 1 : 0;
            secureRight += secureTop1[i] == d.label(i) ? 1 : 0;
            agree += secureTop1[i] == fixedTop1[i] ? 1 : 0;
        }
        return new E2eResult.Accuracy(n, (double)floatRight / n, (double)fixedRight / n, (double)secureRight / n,
            (double)agree / n);
    }
}
