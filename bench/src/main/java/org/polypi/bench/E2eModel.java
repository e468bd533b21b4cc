package org.polypi.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.polypi.engine.plan.CompiledModel;
import org.polypi.engine.plan.PlanCompiler;
import org.polypi.model.GraphTransforms;
import org.polypi.model.Layer;
import org.polypi.model.ModelFormat;
import org.polypi.model.ModelGraph;
import org.polypi.model.ReferenceNetworks;

/**
 * The model of a (workload, variant): the trained file {@code <models>/<w>-<suffix>.pim} when the trainer has
 * written one, else the reference network with seeded random weights (no accuracy then).
 *
 * @param graph the folded graph (the plaintext references run it).
 * @param compiled the compiled plan and encoded weights.
 * @param trained true if loaded from a trained model file.
 * @param source the file, or "random weights (seed S)".
 * @param multiplyAdds the workload's multiply-adds per item (the floor's work).
 */
record E2eModel(ModelGraph graph, CompiledModel compiled, boolean trained, String source, long multiplyAdds)
{
    /** Seed of the random reference weights (same as the demo's). */
    static final long SEED = 20261123L;
    private static final String EXTENSION = ".pim";

    /** Loads or builds the model of {@code workload} with {@code variant}'s activations at f = {@code bits}. */
    static E2eModel of(final E2eWorkload workload, final E2eVariant variant, final Path models, final int bits)
        throws IOException
    {
        final Path file = trainedFile(workload, variant, models);
        if (file != null)
        {
            ModelGraph g = ModelFormat.read(file);
            if (g.contains(Layer.BatchNorm.class))
            {
                g = GraphTransforms.foldBatchNorm(g);
            }
            return new E2eModel(g, PlanCompiler.compile(g), true, file.toString(), g.multiplyAdds());
        }
        final ModelGraph g = GraphTransforms.foldBatchNorm(ReferenceNetworks.build(workload.reference(),
            variant.options(bits).withSeed(SEED)));
        return new E2eModel(g, PlanCompiler.compile(g, bits), false, "random weights (seed " + SEED + ")",
            g.multiplyAdds());
    }

    /** The trained model file of this cell, or null. */
    static Path trainedFile(final E2eWorkload workload, final E2eVariant variant, final Path models)
    {
        if (models == null)
        {
            return null;
        }
        for (final String suffix : variant.trainedSuffixes())
        {
            final Path p = models.resolve(workload.id() + "-" + suffix + EXTENSION);
            if (Files.isRegularFile(p))
            {
                return p;
            }
        }
        return null;
    }

    /** Fractional bits of the plan. */
    int fractionalBits()
    {
        return compiled.plan().fractionalBits();
    }
}
