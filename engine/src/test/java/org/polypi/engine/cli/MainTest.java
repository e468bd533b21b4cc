package org.polypi.engine.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

final class MainTest
{
    private final ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
    private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();

    private int run(final String... args)
    {
        return Main.run(args, new PrintStream(outBytes, true, StandardCharsets.UTF_8),
            new PrintStream(errBytes, true, StandardCharsets.UTF_8));
    }

    private String out()
    {
        return outBytes.toString(StandardCharsets.UTF_8);
    }

    private String err()
    {
        return errBytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void demoRunsThePipelineAndReportsAgreement()
    {
        assertEquals(0, run("demo", "--workload", "mlp", "--images", "40"), err());
        assertTrue(out().contains("top-1 agreement fixed point vs float32: 40 / 40"), out());
        assertTrue(out().contains("fingerprint"), out());
        assertTrue(out().contains("top-1 agreement secure vs fixed point: 40 / 40 (100.0 %)"), out());
        assertTrue(out().contains("rounds per inference"), out());
    }

    @Test
    void demoRunsReluNetworksSecurelyToo()
    {
        assertEquals(0, run("demo", "--workload", "mlp", "--activation", "relu", "--images", "10"), err());
        assertTrue(out().contains("top-1 agreement secure vs fixed point: 10 / 10 (100.0 %)"), out());
    }

    @Test
    void unknownCommandIsAUsageError()
    {
        assertEquals(Main.EXIT_USAGE, run("serve-forever"));
        assertTrue(err().contains("unknown command 'serve-forever'"), err());
        assertEquals(Main.EXIT_USAGE, run());
    }

    @Test
    void badOptionsNameTheOptionAndTheValue()
    {
        assertEquals(Main.EXIT_USAGE, run("demo", "--images", "0"));
        assertTrue(err().contains("--images must be in [1, 500], was 0"), err());
        assertEquals(Main.EXIT_USAGE, run("demo", "--images", "ten"));
        assertTrue(err().contains("--images expects a whole number, was 'ten'"), err());
        assertEquals(Main.EXIT_USAGE, run("demo", "--workload", "resnet50"));
        assertTrue(err().contains("mlp, lenet or minionn-fmnist"), err());
        assertEquals(Main.EXIT_USAGE, run("demo", "--activation", "gelu"));
        assertTrue(err().contains("--activation gelu"), err());
        assertEquals(Main.EXIT_USAGE, run("demo", "--bits"));
        assertTrue(err().contains("--bits needs a value"), err());
        assertEquals(Main.EXIT_USAGE, run("demo", "--colour", "blue"));
        assertTrue(err().contains("unknown option --colour"), err());
    }
}
