package org.polypi.onnx;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * One committed fixture of {@code onnx/scripts/make_fixtures.py}: the ONNX bytes, PyTorch's logits and the inputs
 * they were computed on (regenerated here bit for bit from the same 64-bit LCG).
 */
record Fixture(String name, byte[] onnx, int opset, int batch, int[] inputShape, float[] logits, long seed)
{
    private static final String DIR = "/org/polypi/onnx/fixtures/";
    private static final long LCG_MULTIPLIER = 6364136223846793005L;
    private static final long LCG_INCREMENT = 1442695040888963407L;
    private static final int LCG_SHIFT = 40;
    private static final float LCG_SCALE = 1f / (1 << 23);

    /** The fixture called {@code name} from the test class path. */
    static Fixture load(final String name)
    {
        final byte[] onnx = resource(name + ".onnx");
        final Map<String, String> fields = new HashMap<>();
        for (final String line : new String(resource(name + ".expected.txt"), StandardCharsets.UTF_8).split("\n"))
        {
            final int eq = line.indexOf('=');
            if (!line.startsWith("#") && eq > 0)
            {
                fields.put(line.substring(0, eq), line.substring(eq + 1).trim());
            }
        }
        final String[] dims = fields.get("input_shape").split(",");
        final int[] shape = new int[dims.length];
        for (int i = 0; i < dims.length; i++)
        {
            shape[i] = Integer.parseInt(dims[i]);
        }
        final String[] values = fields.get("logits").split(" ");
        final float[] logits = new float[values.length];
        for (int i = 0; i < values.length; i++)
        {
            logits[i] = Float.parseFloat(values[i]);
        }
        return new Fixture(name, onnx, Integer.parseInt(fields.get("opset")), Integer.parseInt(fields.get("batch")),
            shape, logits, Long.parseLong(fields.get("seed")));
    }

    /** The inputs PyTorch's logits were computed on: {@code batch} items, NCHW, from the fixture's LCG seed. */
    float[] inputs()
    {
        int perItem = 1;
        for (final int d : inputShape)
        {
            perItem *= d;
        }
        return lcg(seed, batch * perItem);
    }

    /** {@code state = state * M + C (mod 2^64)}, value {@code (state >>> 40) / 2^23 - 1}: exact in float32. */
    static float[] lcg(final long seed, final int count)
    {
        final float[] v = new float[count];
        long state = seed;
        for (int i = 0; i < count; i++)
        {
            state = state * LCG_MULTIPLIER + LCG_INCREMENT;
            v[i] = (state >>> LCG_SHIFT) * LCG_SCALE - 1f;
        }
        return v;
    }

    static byte[] resource(final String file)
    {
        try (InputStream in = Fixture.class.getResourceAsStream(DIR + file))
        {
            if (in == null)
            {
                throw new IllegalStateException("missing test resource " + DIR + file);
            }
            return in.readAllBytes();
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException(e);
        }
    }
}
