package org.polypi.engine.secure;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.polypi.datasets.Dataset;
import org.polypi.engine.plan.CompiledModel;
import org.polypi.engine.plan.Plan;
import org.polypi.engine.plan.PlanStep;
import org.polypi.engine.transport.Party;
import org.polypi.model.ReferenceNetworks.Workload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The per-layer breakdown: one call gives, per plan step, each party's offline and online rounds, bytes and time. */
final class CostReportTest
{
    private static final int BATCH = 4;

    @Test
    void layersGiveEveryStepsOfflineAndOnlineCostPerParty()
    {
        final CompiledModel model = TestData.model(Workload.MLP, TestData.Act.RELU, 12);
        final Plan plan = model.plan();
        final Dataset data = TestData.images(Workload.MLP, 2 * BATCH);
        final InferenceResult r;
        try (InMemorySession s = InMemorySession.start(model, SessionOptions.of(BATCH)))
        {
            r = s.infer(data.toFloatArray(), data.count());
        }
        final Map<String, CostReport.Layer> layers = r.costs().layers().stream()
            .collect(Collectors.toMap(CostReport.Layer::step, l -> l));
        final List<PlanStep> steps = plan.steps();
        for (final PlanStep step : steps)
        {
            final CostReport.Layer l = layers.get(step.name());
            assertTrue(l != null, "no layer " + step.name());
            for (final Party p : List.of(Party.SERVER, Party.CLIENT))
            {
                assertEquals(r.queries() * plan.onlineRounds(step, BATCH), l.online().get(p).rounds(), step.name());
                assertEquals(r.queries() * plan.onlineBytes(step, BATCH), l.online().get(p).bytesSent(), step.name());
                assertTrue(l.online().get(p).nanos() > 0, "online time of " + step.name());
            }
            assertEquals(r.queries() * plan.dealerBytes(step, BATCH), l.offline().get(Party.DEALER).bytesSent(),
                step.name());
            assertTrue(l.offline().get(Party.DEALER).nanos() > 0, "dealer time of " + step.name());
        }
        assertTrue(layers.containsKey(Plan.INPUT) && layers.containsKey(Plan.OUTPUT));
        final String table = r.costs().formatLayers();
        for (final PlanStep step : steps)
        {
            assertTrue(table.contains(step.name()), table);
        }
    }

    @Test
    void aPillarW3QueryTakesThePlansRoundsOnePerLayerAndActivation()
    {
        // W3 at f = 12: 8 linear layers, 7 activations and the logits' truncation, plus the input and the output;
        // the first layer's weights at 2f (its reader truncates anyway) must not add any
        final CompiledModel model = TestData.model(Workload.MINIONN_FASHION, TestData.Act.PILLAR4, 12);
        final Plan plan = model.plan();
        final Dataset data = TestData.images(Workload.MINIONN_FASHION, 1);
        final InferenceResult r;
        try (InMemorySession s = InMemorySession.start(model, SessionOptions.of(1)))
        {
            r = s.infer(data.toFloatArray(), data.count());
        }
        for (final Party p : List.of(Party.SERVER, Party.CLIENT))
        {
            final long rounds = r.costs().total(p, Plan.ONLINE).rounds();
            assertEquals(8 + 7 + 1 + 2, rounds, p + ": " + r.costs().formatLayers());
        }
        assertEquals(8 + 7 + 1 + 2, plan.onlineRounds(1));
    }
}
