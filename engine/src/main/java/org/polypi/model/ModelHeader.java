package org.polypi.model;

import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Metadata every party needs before running a model.
 *
 * @param architecture e.g. {@code mlp}, {@code resnet18}.
 * @param inputShape per-item shape of the (first) graph input, e.g. {@code [1,28,28]}.
 * @param classNames one name per output class, in logit order (may be empty for a model without class labels).
 * @param fractionalBits recommended fixed-point fractional bits f (a real v is encoded as round(v * 2^f)).
 * @param activationBound B such that the inputs of the polynomial activations are expected in [-B, B] (the range
 *     the model was trained for; outside it the polynomials diverge from what they approximate).
 * @param statistics what the activation inputs looked like on the test set, if measured (then the model is written
 *     in format version 2; without them in version 1). A {@link ModelGraph} built with this header checks that
 *     every site names one of its activation nodes.
 */
public record ModelHeader(String architecture, Shape inputShape, List<String> classNames, int fractionalBits,
                          float activationBound, Optional<ActivationStatistics> statistics)
{
    /** Largest recommended fraction: a product of two encoded values has 2f fractional bits and must fit 63 bits. */
    public static final int MAX_FRACTIONAL_BITS = 30;
    /** Most class names. */
    public static final int MAX_CLASSES = 100_000;

    /** Checks every field. */
    public ModelHeader
    {
        Names.check("architecture", architecture);
        Objects.requireNonNull(inputShape, "inputShape");
        classNames = List.copyOf(classNames);
        if (classNames.size() > MAX_CLASSES)
        {
            throw new IllegalArgumentException("at most " + MAX_CLASSES + " class names, got " + classNames.size());
        }
        for (int i = 0; i < classNames.size(); i++)
        {
            Names.check("class name " + i, classNames.get(i));
        }
        if (fractionalBits < 0 || fractionalBits > MAX_FRACTIONAL_BITS)
        {
            throw new IllegalArgumentException("fractionalBits must be 0.." + MAX_FRACTIONAL_BITS + ", was " +
                fractionalBits);
        }
        if (!(activationBound > 0) || Float.isInfinite(activationBound))
        {
            throw new IllegalArgumentException("activationBound must be finite and positive, was " + activationBound);
        }
        Objects.requireNonNull(statistics, "statistics (Optional.empty() for none)");
    }

    /** A header without activation statistics. */
    public ModelHeader(final String architecture, final Shape inputShape, final List<String> classNames,
                       final int fractionalBits, final float activationBound)
    {
        this(architecture, inputShape, classNames, fractionalBits, activationBound, Optional.empty());
    }

    /** This header with {@code s} as its activation statistics (replacing any it had). */
    public ModelHeader withStatistics(final ActivationStatistics s)
    {
        return new ModelHeader(architecture, inputShape, classNames, fractionalBits, activationBound,
            Optional.of(Objects.requireNonNull(s, "statistics")));
    }

    /** This header recommending {@code bits} fractional bits instead. */
    public ModelHeader withFractionalBits(final int bits)
    {
        return new ModelHeader(architecture, inputShape, classNames, bits, activationBound, statistics);
    }

    /** This header without activation statistics (e.g. for a model whose activation inputs have changed). */
    public ModelHeader withoutStatistics()
    {
        return statistics.isEmpty() ? this : new ModelHeader(architecture, inputShape, classNames, fractionalBits,
            activationBound);
    }

    /**
     * This header keeping only the statistics of the sites whose node is in {@code nodes} (none at all if no site
     * remains): for a transform that removes activation nodes, whose sites must go with them.
     */
    public ModelHeader retainingSites(final Collection<String> nodes)
    {
        if (statistics.isEmpty())
        {
            return this;
        }
        final Optional<ActivationStatistics> kept = statistics.get().retainSites(nodes);
        return kept.equals(statistics) ? this : new ModelHeader(architecture, inputShape, classNames, fractionalBits,
            activationBound, kept);
    }
}
