package org.polypi.onnx;

import java.util.List;
import java.util.Objects;

import org.polypi.model.ModelHeader;

/**
 * What the ONNX file does not say and the PolyPI model header needs.
 *
 * @param architecture the header's architecture name, or null to take the file name (or the graph's name).
 * @param classNames one name per logit, or empty.
 * @param fractionalBits recommended fixed-point fractional bits for the header.
 * @param activationBound the header's activation bound, or NaN to take it from the model: the range of a training
 *     clip that was dropped, else {@link #DEFAULT_ACTIVATION_BOUND}.
 */
public record ImportOptions(String architecture, List<String> classNames, int fractionalBits, float activationBound)
{
    /** Fractional bits unless told otherwise (the seed's accuracy runs use 12). */
    public static final int DEFAULT_FRACTIONAL_BITS = 12;
    /** Activation bound unless the model or the caller says otherwise (PILLAR's clip range). */
    public static final float DEFAULT_ACTIVATION_BOUND = 5.0f;

    /** Checks the fields (the bound may be NaN: "from the model"). */
    public ImportOptions
    {
        classNames = List.copyOf(Objects.requireNonNull(classNames, "classNames"));
        if (fractionalBits < 0 || fractionalBits > ModelHeader.MAX_FRACTIONAL_BITS)
        {
            throw new IllegalArgumentException("fractionalBits must be 0.." + ModelHeader.MAX_FRACTIONAL_BITS +
                ", was " + fractionalBits);
        }
        if (!Float.isNaN(activationBound) && (!(activationBound > 0) || Float.isInfinite(activationBound)))
        {
            throw new IllegalArgumentException("activationBound must be finite and positive, was " +
                activationBound);
        }
    }

    /** No architecture name, no class names, {@value #DEFAULT_FRACTIONAL_BITS} bits, bound from the model. */
    public static ImportOptions defaults()
    {
        return new ImportOptions(null, List.of(), DEFAULT_FRACTIONAL_BITS, Float.NaN);
    }

    /** A copy with another architecture name. */
    public ImportOptions withArchitecture(final String name)
    {
        return new ImportOptions(name, classNames, fractionalBits, activationBound);
    }

    /** A copy with other class names. */
    public ImportOptions withClassNames(final List<String> names)
    {
        return new ImportOptions(architecture, names, fractionalBits, activationBound);
    }

    /** A copy with other fractional bits. */
    public ImportOptions withFractionalBits(final int bits)
    {
        return new ImportOptions(architecture, classNames, bits, activationBound);
    }

    /** A copy with another activation bound (NaN: from the model). */
    public ImportOptions withActivationBound(final float bound)
    {
        return new ImportOptions(architecture, classNames, fractionalBits, bound);
    }
}
