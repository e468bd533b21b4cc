package org.polypi.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import org.polypi.model.ActivationKind;
import org.polypi.model.GraphTransforms;
import org.polypi.model.ModelFormat;
import org.polypi.model.ModelGraph;
import org.polypi.model.ReferenceNetworks;
import org.polypi.model.ReferenceNetworks.Workload;

/** Runs the command line in-process and keeps what it printed; writes small model files. */
final class Cli
{
    final ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
    final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    int status;

    /** Runs {@code polypi ARGS}. */
    static Cli run(final String... args)
    {
        final Cli c = new Cli();
        c.status = Main.run(args, new PrintStream(c.outBytes, true, StandardCharsets.UTF_8),
            new PrintStream(c.errBytes, true, StandardCharsets.UTF_8));
        return c;
    }

    String out()
    {
        return outBytes.toString(StandardCharsets.UTF_8);
    }

    String err()
    {
        return errBytes.toString(StandardCharsets.UTF_8);
    }

    @Override
    public String toString()
    {
        return "status " + status + "\nout:\n" + out() + "\nerr:\n" + err();
    }

    /** The W1 reference network (seeded weights) with {@code kind} activations, folded, f = 16. */
    static ModelGraph mlp(final ActivationKind kind)
    {
        return GraphTransforms.foldBatchNorm(ReferenceNetworks.build(Workload.MLP, ReferenceNetworks.Options.of(kind)
            .withBatchNorm(true).withSeed(3).withFixedPoint(16, ReferenceNetworks.DEFAULT_ACTIVATION_BOUND)));
    }

    /** Writes {@code model} to {@code dir/name}. */
    static Path write(final ModelGraph model, final Path dir, final String name) throws IOException
    {
        final Path f = dir.resolve(name);
        ModelFormat.write(model, f);
        return f;
    }
}
