package org.polypi.trainer;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.polypi.model.ActivationKind;
import org.polypi.model.ModelGraph;
import org.polypi.model.ReferenceNetworks;
import org.polypi.model.ReferenceNetworks.Workload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link FractionChoice}: the fewest online rounds among the fractions that agree well enough, else the best. */
final class FractionChoiceTest
{
    private static ModelGraph mlp(final ActivationKind kind)
    {
        // BatchNorm left in: the choice folds it like the engine does
        return ReferenceNetworks.build(Workload.MLP, ReferenceNetworks.Options.of(kind).withBatchNorm(true)
            .withPoly(ReferenceNetworks.PILLAR_DEGREE4).withSeed(3));
    }

    private static Exporter.FixedPointResult at(final int bits, final double agreement)
    {
        return new Exporter.FixedPointResult(bits, 0.9, agreement);
    }

    @Test
    void pillarTakesTwelveBitsWhenTheyAgreeSinceSixteenTruncateAfterEveryActivation()
    {
        final ModelGraph pillar = mlp(ActivationKind.POLY);
        final long twelve = FractionChoice.onlineRounds(pillar, 12);
        final long sixteen = FractionChoice.onlineRounds(pillar, 16);
        assertEquals(twelve + 2, sixteen, "W1 has two activations, each truncated at f = 16");
        assertEquals(12, FractionChoice.recommend(pillar, List.of(at(16, 1.0), at(12, 0.998))));
        assertEquals(16, FractionChoice.recommend(pillar, List.of(at(16, 1.0), at(12, 0.9979))),
            "12 bits agree on less than 99.8 %: the more precise plan");
    }

    @Test
    void equalRoundsKeepTheMorePreciseFraction()
    {
        // HerPN folds into the next layer and outputs its powers at 2f: no truncation at either fraction
        final ModelGraph herpn = mlp(ActivationKind.CHANNEL_POLY);
        assertEquals(FractionChoice.onlineRounds(herpn, 12), FractionChoice.onlineRounds(herpn, 16));
        assertEquals(16, FractionChoice.recommend(herpn, List.of(at(12, 1.0), at(16, 1.0))));
        // ReLU keeps its input's scale: at 16 bits the scales grow into a truncation before fc3, one round more
        final ModelGraph relu = mlp(ActivationKind.RELU);
        assertEquals(FractionChoice.onlineRounds(relu, 12) + 1, FractionChoice.onlineRounds(relu, 16));
        assertEquals(12, FractionChoice.recommend(relu, List.of(at(12, 1.0), at(16, 1.0))));
    }

    @Test
    void withoutEnoughAgreementTheBestAgreeingFractionWins()
    {
        final ModelGraph pillar = mlp(ActivationKind.POLY);
        assertEquals(12, FractionChoice.recommend(pillar, List.of(at(16, 0.990), at(12, 0.995))));
        assertEquals(16, FractionChoice.recommend(pillar, List.of(at(16, 0.995), at(12, 0.995))));
        assertThrows(IllegalArgumentException.class, () -> FractionChoice.recommend(pillar, List.of()));
    }

    @Test
    void aFractionTheBudgetCannotHoldIsNeverChosen()
    {
        final ModelGraph pillar = mlp(ActivationKind.POLY);
        // degree 4 needs at least 3 fractional bits for its pre-scaled x^4: 2 does not compile
        assertEquals(Long.MAX_VALUE, FractionChoice.onlineRounds(pillar, 2));
        assertEquals(16, FractionChoice.recommend(pillar, List.of(at(2, 1.0), at(16, 1.0))));
        assertTrue(FractionChoice.onlineRounds(pillar, 16) < Long.MAX_VALUE);
    }
}
