package org.polypi.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.polypi.model.ModelFormat;

/** The {@code polypi import} command line: exit codes, the written model, notices and the --check comparison. */
class ImportMainTest
{
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(final String... args)
    {
        return ImportMain.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String stdout()
    {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String stderr()
    {
        return err.toString(StandardCharsets.UTF_8);
    }

    private static Path fixture(final Path dir, final String name) throws Exception
    {
        final Path file = dir.resolve(name + ".onnx");
        Files.write(file, Fixture.load(name).onnx());
        return file;
    }

    private static void writeFloats(final Path file, final float[] v) throws Exception
    {
        final ByteBuffer b = ByteBuffer.allocate(v.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (final float x : v)
        {
            b.putFloat(x);
        }
        Files.write(file, b.array());
    }

    @Test
    void importsAndWritesTheModel(@TempDir final Path dir) throws Exception
    {
        final Path onnx = fixture(dir, "lenet-pillar");
        final Path pim = dir.resolve("out.pim");
        assertEquals(0, run(onnx.toString(), "--out", pim.toString(), "--classes", "0,1,2,3,4,5,6,7,8,9"), stderr());
        assertTrue(stdout().contains("wrote " + pim), stdout());
        assertTrue(stderr().contains("notice:") && stderr().contains("(Clip)"), stderr());
        final var expected = OnnxImporter.importFile(onnx, ImportOptions.defaults()
            .withClassNames(java.util.List.of("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"))).graph();
        assertEquals(expected, ModelFormat.read(pim));
    }

    @Test
    void defaultOutputReplacesTheExtension(@TempDir final Path dir) throws Exception
    {
        final Path onnx = fixture(dir, "mlp-relu");
        assertEquals(0, run(onnx.toString()), stderr());
        assertTrue(Files.exists(dir.resolve("mlp-relu.pim")));
    }

    @Test
    void checkComparesWithPyTorchLogits(@TempDir final Path dir) throws Exception
    {
        final Fixture f = Fixture.load("mlp-herpn");
        final Path onnx = fixture(dir, "mlp-herpn");
        final Path inputs = dir.resolve("x.f32");
        final Path logits = dir.resolve("y.f32");
        writeFloats(inputs, f.inputs());
        writeFloats(logits, f.logits());
        assertEquals(0, run(onnx.toString(), "--check", inputs.toString(), logits.toString()), stderr());
        assertTrue(stdout().contains("check: 3 item(s)"), stdout());

        final float[] wrong = f.logits().clone();
        wrong[4] += 1f;
        writeFloats(logits, wrong);
        assertEquals(ImportMain.EXIT_FAILURE, run(onnx.toString(), "--check", inputs.toString(), logits.toString()));
        assertTrue(stderr().contains("differ"), stderr());
    }

    /** --private runs the check's inputs in the secure engine and compares with the fixed-point reference. */
    @Test
    void privateRunAgreesWithTheReference(@TempDir final Path dir) throws Exception
    {
        final Fixture f = Fixture.load("mlp-pillar");
        final Path onnx = fixture(dir, "mlp-pillar");
        final Path inputs = dir.resolve("x.f32");
        final Path logits = dir.resolve("y.f32");
        writeFloats(inputs, f.inputs());
        writeFloats(logits, f.logits());
        assertEquals(0, run(onnx.toString(), "--bits", "16", "--check", inputs.toString(), logits.toString(),
            "--private"), stderr());
        assertTrue(stdout().contains("private: 3 item(s) at f=16") && stdout().contains("top-1 equal to the " +
            "reference's on 3"), stdout());
        assertEquals(ImportMain.EXIT_USAGE, run(onnx.toString(), "--private"));
        assertTrue(stderr().contains("--private runs the inputs of --check"), stderr());
    }

    @Test
    void usageAndFailures(@TempDir final Path dir) throws Exception
    {
        assertEquals(ImportMain.EXIT_USAGE, run());
        assertEquals(ImportMain.EXIT_USAGE, run("model.onnx", "--frobnicate"));
        assertEquals(ImportMain.EXIT_USAGE, run("model.onnx", "--bits", "many"));
        assertEquals(ImportMain.EXIT_USAGE, run("model.onnx", "--out"));
        assertEquals(0, run("--help"));
        assertTrue(stdout().contains("usage: polypi import"));
        final Path garbage = dir.resolve("garbage.onnx");
        Files.write(garbage, new byte[] {(byte)0xFF, 0x01, 0x02});
        assertEquals(ImportMain.EXIT_FAILURE, run(garbage.toString()));
        assertTrue(stderr().contains("not a valid ONNX file"), stderr());
        assertEquals(ImportMain.EXIT_FAILURE, run(dir.resolve("missing.onnx").toString()));
    }
}
