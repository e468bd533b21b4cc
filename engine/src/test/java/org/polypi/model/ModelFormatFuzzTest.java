package org.polypi.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Mutates valid encodings of small models, in format versions 1 and 2 (with activation statistics), by bit flips,
 * byte sets, truncations, huge length fields, insertions, deletions and appended garbage, half of them re-signed so
 * the mutation reaches the checks behind the fingerprint.
 * Every case must end in a valid model (whose encoding is then exactly the mutated bytes: the format is canonical)
 * or a {@link ModelFormatException} with an offset inside the input; never another exception, an out-of-memory
 * error or a hang.
 */
class ModelFormatFuzzTest
{
    private static final int CASES = 20_000;
    /** One case in this many mutates the full-size W1 encoding (about 400 KB) instead of a tiny model. */
    private static final int FULL_SIZE_ONE_IN = 50;
    private static final long SEED = 0x5EED_F022L;
    /** Most of the mutations hit the structural part (header and node table) where the parsing logic is. */
    private static final int STRUCTURE_BIAS_BYTES = 400;
    private static final int[] HUGE = {-1, Integer.MAX_VALUE, Integer.MIN_VALUE, 0x10000, 100_001, 1 << 24, 0};

    private static List<byte[]> corpus()
    {
        final List<byte[]> models = new ArrayList<>();
        for (final ActivationKind k : ActivationKind.values())
        {
            models.add(ModelFormat.toBytes(TestModels.tinyMlp(k)));
            models.add(ModelFormat.toBytes(TestModels.tinyLenet(k)));
            if (k != ActivationKind.IDENTITY)
            {
                models.add(ModelFormat.toBytes(TestModels.tinyMlpWithStatistics(k)));
                models.add(ModelFormat.toBytes(TestModels.tinyLenetWithStatistics(k)));
            }
        }
        models.add(ModelFormat.toBytes(TestModels.everyLayer()));
        models.add(ModelFormat.toBytes(TestModels.everyLayerWithStatistics()));
        return models;
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void mutatedFilesAreValidOrRejectedCleanly() throws Exception
    {
        final List<byte[]> corpus = corpus();
        final byte[] w1 = ModelFormat.toBytes(ReferenceNetworks.mlp(ReferenceNetworks.Options.of(ActivationKind.POLY)
            .withBatchNorm(true)));
        final SplitMix64 r = new SplitMix64(SEED);
        final Map<String, Integer> outcomes = new TreeMap<>();
        for (int c = 0; c < CASES; c++)
        {
            final byte[] original = below(r, FULL_SIZE_ONE_IN) == 0 ? w1 : corpus.get(below(r, corpus.size()));
            final int kind = below(r, 9);
            byte[] bytes = mutate(original, kind, r);
            final boolean resign = below(r, 2) == 0;
            if (resign && bytes.length >= ModelFormat.PREAMBLE_BYTES + Fingerprint.LENGTH)
            {
                ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(12, bytes.length);
                bytes = ModelFormatTest.resign(bytes);
            }
            String outcome;
            try
            {
                final ModelGraph g = ModelFormat.fromBytes(bytes);
                outcome = "valid";
                assertArrayEquals(bytes, ModelFormat.toBytes(g), "case " + c + ": accepted but not canonical");
            }
            catch (final ModelFormatException e)
            {
                final long at = e.offset();
                assertTrue(at >= 0 && at <= bytes.length, "case " + c + ": offset " + at + " outside the input of " +
                    bytes.length + " bytes: " + e.getMessage());
                outcome = category(e.getMessage());
            }
            catch (final Throwable t)
            {
                throw new AssertionError("case " + c + " (mutation " + kind + ", resigned " + resign + ", " +
                    bytes.length + " bytes) threw " + t, t);
            }
            outcomes.merge(outcome, 1, Integer::sum);
        }
        System.out.println("fuzz outcomes: " + outcomes);
        // the fuzzer must reach every layer of checks, not stop at the magic number
        for (final String expected : List.of("valid", "crc", "fingerprint", "graph", "truncated", "count", "tag",
            "shape", "header", "statistics"))
        {
            assertTrue(outcomes.getOrDefault(expected, 0) > 0, "no case ended in " + expected + ": " + outcomes);
        }
    }

    private static String category(final String message)
    {
        if (message.contains("activation statistics"))
        {
            return "statistics";
        }
        if (message.contains("CRC32C"))
        {
            return "crc";
        }
        if (message.contains("fingerprint mismatch"))
        {
            return "fingerprint";
        }
        if (message.contains("truncated") || message.contains("trailing") || message.contains("shorter than"))
        {
            return "truncated";
        }
        if (message.contains(" count ") || message.contains("length "))
        {
            return "count";
        }
        if (message.contains("tag") || message.contains("reference") || message.contains("flag"))
        {
            return "tag";
        }
        if (message.contains("layer ") || message.contains("node ") || message.contains("output"))
        {
            return "graph";
        }
        if (message.contains("tensor ") || message.contains("input "))
        {
            return "shape";
        }
        return "header";
    }

    private static int below(final SplitMix64 r, final int n)
    {
        return (int)Long.remainderUnsigned(r.nextLong(), n);
    }

    private static int position(final SplitMix64 r, final int length)
    {
        final int span = below(r, 10) < 7 ? Math.min(length, STRUCTURE_BIAS_BYTES) : length;
        return below(r, span);
    }

    private static byte[] mutate(final byte[] original, final int kind, final SplitMix64 r)
    {
        final byte[] b = original.clone();
        final ByteBuffer le = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        switch (kind)
        {
            case 0 ->
            {
                final int at = position(r, b.length);
                b[at] ^= (byte)(1 << below(r, 8));
                return b;
            }
            case 1 ->
            {
                b[position(r, b.length)] = (byte)r.nextLong();
                return b;
            }
            case 2 ->
            {
                return Arrays.copyOf(b, below(r, b.length));
            }
            case 3 ->
            {
                final int at = Math.min(position(r, b.length), b.length - 4);
                le.putInt(at, HUGE[below(r, HUGE.length)]);
                return b;
            }
            case 4 ->
            {
                final int at = Math.min(position(r, b.length), b.length - 2);
                le.putShort(at, (short)(below(r, 2) == 0 ? 0xFFFF : 0x0101));
                return b;
            }
            case 5 ->
            {
                final byte[] longer = Arrays.copyOf(b, b.length + 1 + below(r, 64));
                for (int i = b.length; i < longer.length; i++)
                {
                    longer[i] = (byte)r.nextLong();
                }
                return longer;
            }
            case 6 ->
            {
                final int n = 2 + below(r, 4);
                for (int i = 0; i < n; i++)
                {
                    b[position(r, b.length)] = (byte)r.nextLong();
                }
                return b;
            }
            case 7 ->
            {
                // delete or insert a few bytes: shifts every later field
                final int at = position(r, b.length);
                final int n = 1 + below(r, 8);
                if (below(r, 2) == 0 && at + n <= b.length)
                {
                    final byte[] shorter = new byte[b.length - n];
                    System.arraycopy(b, 0, shorter, 0, at);
                    System.arraycopy(b, at + n, shorter, at, b.length - at - n);
                    return shorter;
                }
                final byte[] longer = new byte[b.length + n];
                System.arraycopy(b, 0, longer, 0, at);
                System.arraycopy(b, at, longer, at + n, b.length - at);
                return longer;
            }
            default ->
            {
                final int at = Math.min(position(r, b.length), b.length - 8);
                le.putLong(at, below(r, 2) == 0 ? Long.MAX_VALUE : r.nextLong());
                return b;
            }
        }
    }
}
