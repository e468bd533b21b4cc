package org.polypi.onnx;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.polypi.engine.plan.CompiledModel;
import org.polypi.engine.plan.PlanCompiler;
import org.polypi.engine.secure.InMemorySession;
import org.polypi.engine.secure.InferenceResult;
import org.polypi.engine.secure.SessionOptions;
import org.polypi.engine.transport.Party;
import org.polypi.kernels.Kernels;
import org.polypi.model.ModelFormat;
import org.polypi.model.ModelGraph;
import org.polypi.model.reference.FixedPointInference;
import org.polypi.model.reference.FixedPointOutput;
import org.polypi.model.reference.FloatInference;
import org.polypi.model.reference.FloatOutput;

/**
 * {@code polypi import MODEL.onnx [--out MODEL.pim] [options]}: imports an ONNX model and writes it in PolyPI's
 * model format. Exit status 0 on success, 2 on a usage error, 1 if the import (or the optional check) fails, with
 * one line naming what went wrong.
 * <p>
 * With {@code --check INPUTS LOGITS} the imported model runs in plaintext float32 ({@link FloatInference}) on
 * inputs saved from PyTorch and its logits are compared with PyTorch's: both files are raw little-endian float32
 * ({@code tensor.numpy().astype('<f4').tofile(path)}), inputs in NCHW order. With {@code --private} as well, the
 * same inputs then run privately in the secure engine (server, client and dealer as threads of this process, over
 * the in-memory transport: {@link InMemorySession}) and the private logits are compared with the fixed-point
 * reference, within the compiled model's documented error bound.
 */
public final class ImportMain
{
    /** Exit status of a bad command line. */
    public static final int EXIT_USAGE = 2;
    /** Exit status of a failed import or check. */
    public static final int EXIT_FAILURE = 1;
    /** Default largest relative logit difference for {@code --check}: float32 rounding, not a different model. */
    public static final double DEFAULT_TOLERANCE = 1e-4;

    /** Extension of PolyPI model files written by default (as the trainer's). */
    public static final String MODEL_EXTENSION = ".pim";
    /** Most items per query of {@code --private}. */
    private static final int MAX_PRIVATE_BATCH = 16;
    private static final long PRIVATE_DEALER_SEED = 0x0_11AA_2026L;
    private static final int SEED_BYTES = 16;
    private static final double MILLION = 1e6;

    private ImportMain()
    {
    }

    /** Runs the command line and exits with its status. */
    public static void main(final String[] args)
    {
        System.exit(run(args, System.out, System.err));
    }

    /**
     * Runs {@code polypi import} with the given arguments (without the word {@code import}), writing the summary to
     * {@code out} and notices, usage and errors to {@code err}; never calls {@link System#exit}. This is the entry
     * point of the {@code polypi import} subcommand.
     *
     * @param args e.g. {@code model.onnx --out model.pim --check x.f32 logits.f32 --private}; {@code --help} prints
     *     the usage to {@code out}.
     * @return 0 on success, {@link #EXIT_USAGE} (2) on a bad command line, {@link #EXIT_FAILURE} (1) if the file
     *     cannot be read or imported (the one-line message names the node, its op type and the nearest supported
     *     alternative) or a check fails.
     */
    public static int run(final String[] args, final PrintStream out, final PrintStream err)
    {
        final Options o;
        try
        {
            o = Options.parse(args);
        }
        catch (final IllegalArgumentException e)
        {
            err.println("polypi import: " + e.getMessage());
            usage(err);
            return EXIT_USAGE;
        }
        if (o == null)
        {
            usage(out);
            return 0;
        }
        try
        {
            final OnnxImport result = OnnxImporter.importFile(o.model, o.options);
            for (final String notice : result.notices())
            {
                err.println("polypi import: notice: " + notice);
            }
            final ModelGraph g = result.graph();
            ModelFormat.write(g, o.out);
            out.printf(Locale.ROOT, "%s (opset %d%s): %d layers, %.3f M parameters, %.1f M multiply-adds, %d " +
                    "activation elements, input %s, %d output(s)%n", o.model, result.opset(),
                result.producer().isEmpty() ? "" : ", " + result.producer(), g.nodes().size(),
                g.parameterCount() / MILLION, g.multiplyAdds() / MILLION, g.activationSites(),
                g.header().inputShape(), g.outputs().size());
            out.println("wrote " + o.out + " (fingerprint " + g.fingerprint() + ")");
            if (o.verbose)
            {
                out.print(g.summary());
            }
            if (o.checkInputs != null)
            {
                return check(g, o, out, err);
            }
            return 0;
        }
        catch (final IOException | RuntimeException e)
        {
            err.println("polypi import: failed: " + e.getMessage());
            return EXIT_FAILURE;
        }
    }

    private static int check(final ModelGraph g, final Options o, final PrintStream out, final PrintStream err)
        throws IOException
    {
        final float[] inputs = readFloats(o.checkInputs);
        final float[] expected = readFloats(o.checkLogits);
        final long itemIn = g.header().inputShape().elements();
        if (inputs.length == 0 || inputs.length % itemIn != 0)
        {
            err.println("polypi import: " + o.checkInputs + " holds " + inputs.length + " floats, not a multiple of " +
                "the input's " + itemIn + " per item");
            return EXIT_FAILURE;
        }
        final int batch = (int)(inputs.length / itemIn);
        final FloatOutput actual = FloatInference.of(g).run(inputs, batch);
        if (expected.length != actual.logits().length)
        {
            err.println("polypi import: " + o.checkLogits + " holds " + expected.length + " floats, the model gives " +
                batch + " x " + actual.classes());
            return EXIT_FAILURE;
        }
        final double worst = LogitComparison.worstRelativeDifference(actual.logits(), expected, batch,
            actual.classes());
        out.printf(Locale.ROOT, "check: %d item(s), largest logit difference %.3g of the item's largest |logit| " +
            "(tolerance %.3g)%n", batch, worst, o.tolerance);
        if (!(worst <= o.tolerance))
        {
            err.println("polypi import: the imported model's logits differ from the expected ones");
            return EXIT_FAILURE;
        }
        return o.runPrivately ? runPrivately(g, inputs, batch, actual, out, err) : 0;
    }

    /**
     * Runs the check's inputs through the secure engine, in one process, and compares the private logits with the
     * fixed-point reference walking the same plan (within {@link CompiledModel#outputErrorUlps()}) and the private
     * top-1 with the float32 one.
     */
    private static int runPrivately(final ModelGraph g, final float[] inputs, final int items,
                                    final FloatOutput plain, final PrintStream out, final PrintStream err)
    {
        final CompiledModel model = PlanCompiler.compile(g);
        final int batch = Math.min(items, MAX_PRIVATE_BATCH);
        final FixedPointOutput reference = FixedPointInference.of(model, Kernels.get(), batch).run(inputs, items);
        final InferenceResult secure;
        try (InMemorySession session = InMemorySession.start(model, SessionOptions.of(batch)
            .withDealerSeed(seed(PRIVATE_DEALER_SEED))))
        {
            secure = session.infer(inputs, items);
        }
        long worst = 0;
        for (int i = 0; i < reference.ringLogits().length; i++)
        {
            worst = Math.max(worst, Math.abs(secure.output().ringLogits()[i] - reference.ringLogits()[i]));
        }
        final long bound = model.outputErrorUlps();
        out.printf(Locale.ROOT, "private: %d item(s) at f=%d: logits within %d ulps of the fixed-point reference " +
                "(bound %d); top-1 equal to the reference's on %d, to float32's on %d; online %.2f ms/item, %.0f B " +
                "sent by the server and %.0f B by the client per item, %d rounds per query%n", items,
            model.plan().fractionalBits(), worst, bound, same(secure.top1(), reference.top1()),
            same(secure.top1(), plain.top1()), secure.onlineMillisPerItem(),
            secure.onlineBytesPerItem(Party.SERVER), secure.onlineBytesPerItem(Party.CLIENT),
            secure.roundsPerQuery());
        if (worst > bound)
        {
            err.println("polypi import: the private logits differ from the fixed-point reference by more than the " +
                "bound, which holds while every activation input stays within the header's bound " +
                g.header().activationBound() + " (--bound)");
            return EXIT_FAILURE;
        }
        return 0;
    }

    private static int same(final int[] a, final int[] b)
    {
        int n = 0;
        for (int i = 0; i < a.length; i++)
        {
            n += a[i] == b[i] ? 1 : 0;
        }
        return n;
    }

    /** A fixed dealer seed, so that {@code --private} runs are reproducible (a demonstration, not a deployment). */
    private static byte[] seed(final long value)
    {
        final byte[] s = new byte[SEED_BYTES];
        for (int i = 0; i < Long.BYTES; i++)
        {
            s[i] = (byte)(value >>> (Byte.SIZE * i));
            s[i + Long.BYTES] = (byte)(~value >>> (Byte.SIZE * i));
        }
        return s;
    }

    private static float[] readFloats(final Path path) throws IOException
    {
        final byte[] bytes = Files.readAllBytes(path);
        if (bytes.length % Float.BYTES != 0)
        {
            throw new IOException(path + " has " + bytes.length + " bytes, not a whole number of float32 values");
        }
        final float[] v = new float[bytes.length / Float.BYTES];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
        return v;
    }

    private static void usage(final PrintStream s)
    {
        s.println("usage: polypi import MODEL.onnx [--out MODEL" + MODEL_EXTENSION + "] [--arch NAME] " +
            "[--classes A,B,...] [--bits F]");
        s.println("                     [--bound B] [--check INPUTS.f32 LOGITS.f32 [--tolerance T] [--private]] " +
            "[--verbose]");
        s.println("  imports an ONNX model exported from PyTorch (opsets " + GraphConverter.MIN_OPSET + "-" +
            GraphConverter.MAX_OPSET + ") into PolyPI's model format");
        s.println("  --out       output file (default: MODEL with the extension " + MODEL_EXTENSION + ")");
        s.println("  --arch      architecture name in the header (default: the file name)");
        s.println("  --classes   class names, comma-separated, one per logit");
        s.println("  --bits      recommended fixed-point fractional bits (default " +
            ImportOptions.DEFAULT_FRACTIONAL_BITS + ")");
        s.println("  --bound     activation bound B (default: the training clip's range, else " +
            ImportOptions.DEFAULT_ACTIVATION_BOUND + ")");
        s.println("  --check     run the imported model on PyTorch's inputs and compare with PyTorch's logits");
        s.println("              (raw little-endian float32 files, e.g. x.numpy().astype('<f4').tofile(path))");
        s.println("  --tolerance largest logit difference of --check, relative to the item's largest (default " +
            DEFAULT_TOLERANCE + ")");
        s.println("  --private   also run the --check inputs privately (server, client and dealer in this process)");
        s.println("              and compare with the fixed-point reference");
        s.println("  --verbose   print every layer of the imported model");
    }

    /** The parsed command line. */
    private static final class Options
    {
        Path model;
        Path out;
        ImportOptions options = ImportOptions.defaults();
        Path checkInputs;
        Path checkLogits;
        double tolerance = DEFAULT_TOLERANCE;
        boolean verbose;
        boolean runPrivately;

        /** The options, or null for {@code --help}; a bad command line is an {@link IllegalArgumentException}. */
        static Options parse(final String[] args)
        {
            final Options o = new Options();
            for (int i = 0; i < args.length; i++)
            {
                final String a = args[i];
                switch (a)
                {
                    case "-h", "--help" ->
                    {
                        return null;
                    }
                    case "--verbose" -> o.verbose = true;
                    case "--private" -> o.runPrivately = true;
                    case "--out" -> o.out = Path.of(value(args, ++i, a));
                    case "--arch" -> o.options = o.options.withArchitecture(value(args, ++i, a));
                    case "--classes" -> o.options = o.options.withClassNames(split(value(args, ++i, a)));
                    case "--bits" -> o.options = o.options.withFractionalBits(parseInt(a, value(args, ++i, a)));
                    case "--bound" -> o.options = o.options.withActivationBound(parseFloat(a, value(args, ++i, a)));
                    case "--tolerance" -> o.tolerance = parseFloat(a, value(args, ++i, a));
                    case "--check" ->
                    {
                        o.checkInputs = Path.of(value(args, ++i, a));
                        o.checkLogits = Path.of(value(args, ++i, a));
                    }
                    default ->
                    {
                        if (a.startsWith("-") || o.model != null)
                        {
                            throw new IllegalArgumentException("unexpected argument '" + a + "'");
                        }
                        o.model = Path.of(a);
                    }
                }
            }
            if (o.model == null)
            {
                throw new IllegalArgumentException("no ONNX model given");
            }
            if (o.runPrivately && o.checkInputs == null)
            {
                throw new IllegalArgumentException("--private runs the inputs of --check: give --check INPUTS LOGITS");
            }
            if (o.out == null)
            {
                final String file = o.model.getFileName().toString();
                final int dot = file.lastIndexOf('.');
                o.out = o.model.resolveSibling((dot > 0 ? file.substring(0, dot) : file) + MODEL_EXTENSION);
            }
            return o;
        }

        private static String value(final String[] args, final int i, final String option)
        {
            if (i >= args.length)
            {
                throw new IllegalArgumentException(option + " needs a value");
            }
            return args[i];
        }

        private static List<String> split(final String names)
        {
            final List<String> list = new ArrayList<>();
            for (final String n : names.split(",", -1))
            {
                list.add(n.trim());
            }
            return list;
        }

        private static int parseInt(final String option, final String v)
        {
            try
            {
                return Integer.parseInt(v);
            }
            catch (final NumberFormatException e)
            {
                throw new IllegalArgumentException(option + " " + v + ": not an integer");
            }
        }

        private static float parseFloat(final String option, final String v)
        {
            try
            {
                return Float.parseFloat(v);
            }
            catch (final NumberFormatException e)
            {
                throw new IllegalArgumentException(option + " " + v + ": not a number");
            }
        }
    }
}
