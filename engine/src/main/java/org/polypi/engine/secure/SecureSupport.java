package org.polypi.engine.secure;

import org.polypi.engine.plan.Plan;
import org.polypi.engine.plan.PlanStep;

/** Which plan steps the secure engine can run today, checked before any party sends a byte. */
final class SecureSupport
{
    private SecureSupport()
    {
    }

    /**
     * Throws unless every step of {@code plan} has a secure protocol here.
     *
     * @throws UnsupportedOperationException naming the first step that has none, and why.
     */
    static void check(final Plan plan)
    {
        for (final PlanStep step : plan.steps())
        {
            final String why = switch (step)
            {
                case PlanStep.Activation a when a.kind() == PlanStep.Activation.Kind.PRIVATE ->
                    "a ChannelPoly's private coefficients are applied securely only when they can be folded into the " +
                        "next linear layer (its output read, through average pools and flattens only, by exactly " +
                        "one Conv2d or Linear)";
                case PlanStep.Combine c when c.privateCoefficients() ->
                    "a ChannelPoly's private coefficients are applied securely only when they can be folded into the " +
                        "next linear layer";
                default -> null;
            };
            if (why != null)
            {
                throw new UnsupportedOperationException("layer " + step.name() + " (" + step.describe().split(" ")[0] +
                    "): " + why);
            }
        }
    }
}
