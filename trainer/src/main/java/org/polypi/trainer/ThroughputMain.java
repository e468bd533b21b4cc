package org.polypi.trainer;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

import org.polypi.kernels.FloatKernels;
import org.polypi.kernels.WorkerPool;
import org.polypi.model.ModelGraph;
import org.polypi.model.ReferenceNetworks.Workload;

/**
 * Training throughput against the float32 GEMM rate, both measured in this JVM, alternating, so that a shared
 * machine slows both alike:
 * <pre>
 *   ThroughputMain [--net minionn] [--act relu] [--batch 128] [--seconds 10] [--rounds 3]
 * </pre>
 * A training step is forward + softmax cross-entropy + backward of one batch (no optimizer step). Its floating-point
 * work is counted as {@code 3 × 2 × multiply-adds of the forward pass} per image (forward, input gradient and
 * weight gradient are one product each; the first layer's input gradient, which training skips, is counted too, so
 * the figure slightly flatters). The GEMM rate is {@link FloatKernels#matmul} on {@code 512 × 512 × 512} run by
 * every worker thread at once (the ceiling both cores can give), and on one thread.
 */
public final class ThroughputMain
{
    private static final double NANOS = 1e9;
    private static final double GIGA = 1e9;
    private static final double PERCENT = 100.0;
    private static final int GEMM_SIZE = 512;
    private static final int FLOPS_PER_MULTIPLY_ADD = 2;
    /** Forward, input-gradient and weight-gradient products. */
    private static final int PRODUCTS_PER_STEP = 3;
    private static final int WARMUP_STEPS = 3;
    private static final int WARMUP_GEMMS = 5;

    private ThroughputMain()
    {
    }

    /** Runs {@link #run}; exits with its status. */
    public static void main(final String[] args)
    {
        System.exit(run(args, System.out, System.err));
    }

    /**
     * Measures and prints the rates.
     *
     * @return 0, or 2 for bad options.
     */
    public static int run(final String[] args, final PrintStream out, final PrintStream err)
    {
        String net = "minionn";
        String act = "relu";
        int batch = 128;
        double seconds = 10;
        int rounds = 3;
        try
        {
            for (int i = 0; i < args.length; i++)
            {
                final String a = args[i];
                if (i + 1 >= args.length)
                {
                    throw new IllegalArgumentException("option " + a + " needs a value");
                }
                final String v = args[++i];
                switch (a)
                {
                    case "--net" -> net = v;
                    case "--act" -> act = v;
                    case "--batch" -> batch = Integer.parseInt(v);
                    case "--seconds" -> seconds = Double.parseDouble(v);
                    case "--rounds" -> rounds = Integer.parseInt(v);
                    default -> throw new IllegalArgumentException("unknown option " + a);
                }
            }
            if (batch <= 0 || !(seconds > 0) || rounds <= 0)
            {
                throw new IllegalArgumentException("batch, seconds and rounds must be positive");
            }
        }
        catch (final IllegalArgumentException e)
        {
            err.println("throughput: " + e.getMessage());
            return TrainerMain.EXIT_USAGE;
        }
        final Workload workload = "minionn".equalsIgnoreCase(net) ? Workload.MINIONN_FASHION : Workload.byId(net);
        final TrainConfig config = TrainConfig.builder(workload, ActivationChoice.byId(act)).build();
        final PolynomialFit fit = config.activation() == ActivationChoice.PILLAR ?
            PolynomialFit.relu(config.degree(), config.clip(), config.precisionBits()) : null;
        final ModelGraph template = Trainer.template(config, fit);
        final Network network = new Network(template, config.clip(), null);
        final double flopsPerImage = (double)PRODUCTS_PER_STEP * FLOPS_PER_MULTIPLY_ADD * template.multiplyAdds();
        out.printf(Locale.ROOT, "%s %s: %,d multiply-adds per image forward, %.3f GFLOP per image forward+backward; " +
                "batch %d; %d worker threads; %s rounds of %.0f s each%n", workload.id(), act,
            template.multiplyAdds(), flopsPerImage / GIGA, batch, WorkerPool.shared().threads(), rounds, seconds);

        final float[] x = new float[batch * network.inputSize()];
        final int[] y = new int[batch];
        final SplittableRandom random = new SplittableRandom(1);
        for (int i = 0; i < x.length; i++)
        {
            x[i] = (float)random.nextGaussian();
        }
        for (int i = 0; i < batch; i++)
        {
            y[i] = random.nextInt(network.classes());
        }
        final double[] train = new double[rounds];
        final double[] gemmAll = new double[rounds];
        final double[] gemmOne = new double[rounds];
        for (int r = 0; r < rounds; r++)
        {
            gemmAll[r] = gemm(WorkerPool.shared().threads(), seconds / 2);
            gemmOne[r] = gemm(1, seconds / 2);
            train[r] = imagesPerSecond(network, x, y, batch, seconds);
            out.printf(Locale.ROOT, "round %d: training %.1f images/s = %.2f GFLOP/s; GEMM %.2f GFLOP/s on all " +
                    "threads, %.2f on one (%.0f %% of all-thread GEMM)%n", r + 1, train[r],
                train[r] * flopsPerImage / GIGA, gemmAll[r] / GIGA, gemmOne[r] / GIGA,
                PERCENT * train[r] * flopsPerImage / gemmAll[r]);
        }
        final double t = median(train);
        final double g = median(gemmAll);
        out.printf(Locale.ROOT, "median: training %.1f images/s = %.2f GFLOP/s; float32 GEMM ceiling %.2f GFLOP/s " +
                "(%d threads), %.2f GFLOP/s (1 thread); training reaches %.0f %% of the GEMM ceiling%n", t,
            t * flopsPerImage / GIGA, g / GIGA, WorkerPool.shared().threads(), median(gemmOne) / GIGA,
            PERCENT * t * flopsPerImage / g);
        return 0;
    }

    private static double imagesPerSecond(final Network network, final float[] x, final int[] y, final int batch,
                                          final double seconds)
    {
        for (int i = 0; i < WARMUP_STEPS; i++)
        {
            step(network, x, y, batch);
        }
        final long start = System.nanoTime();
        long images = 0;
        while ((System.nanoTime() - start) / NANOS < seconds)
        {
            step(network, x, y, batch);
            images += batch;
        }
        return images / ((System.nanoTime() - start) / NANOS);
    }

    private static void step(final Network network, final float[] x, final int[] y, final int batch)
    {
        network.zeroGrad();
        final float[] logits = network.forward(x, batch, true);
        final SoftmaxCrossEntropy.Result ce = SoftmaxCrossEntropy.evaluate(logits, y, batch, network.classes(), 1);
        network.backward(ce.gradient(), batch);
    }

    /** FLOP/s of {@code threads} threads each running 512³ matmuls for {@code seconds}. */
    private static double gemm(final int threads, final double seconds)
    {
        final long[] counts = new long[threads];
        final long[] nanos = new long[threads];
        final Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            final int id = t;
            workers[t] = new Thread(() ->
            {
                final int n = GEMM_SIZE;
                final float[] a = new float[n * n];
                final float[] b = new float[n * n];
                final float[] c = new float[n * n];
                final SplittableRandom random = new SplittableRandom(id);
                for (int i = 0; i < a.length; i++)
                {
                    a[i] = (float)random.nextGaussian();
                    b[i] = (float)random.nextGaussian();
                }
                for (int i = 0; i < WARMUP_GEMMS; i++)
                {
                    FloatKernels.matmul(a, b, c, n, n, n);
                }
                final long start = System.nanoTime();
                long done = 0;
                while ((System.nanoTime() - start) / NANOS < seconds)
                {
                    FloatKernels.matmul(a, b, c, n, n, n);
                    done++;
                }
                nanos[id] = System.nanoTime() - start;
                counts[id] = done;
            });
            workers[t].start();
        }
        double flops = 0;
        for (int t = 0; t < threads; t++)
        {
            try
            {
                workers[t].join();
            }
            catch (final InterruptedException e)
            {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while measuring the GEMM rate", e);
            }
            flops += counts[t] * (double)FLOPS_PER_MULTIPLY_ADD * GEMM_SIZE * GEMM_SIZE * GEMM_SIZE /
                (nanos[t] / NANOS);
        }
        return flops;
    }

    private static double median(final double[] v)
    {
        final double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
