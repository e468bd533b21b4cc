package org.polypi.bench;

import java.util.List;

import org.polypi.engine.secure.ActivationProtocol;
import org.polypi.model.ActivationKind;
import org.polypi.model.Layer;
import org.polypi.model.ReferenceNetworks;

/**
 * The activation variants the bench compares (issue 7): the ReLU baseline; PILLAR's degree-4 polynomial with the
 * engine's fused opening (the headline), with the HoneyBadger and ESPN baselines ({@link ActivationProtocol}) and
 * CrypTen's multi-round evaluation; HerPN's per-channel quadratic (folded into the next linear layer) and SENet's
 * masked ReLU at 50 % of the positions.
 */
enum E2eVariant
{
    /** Exact ReLU through secure comparison (5 rounds per activation layer). */
    RELU("relu", "ReLU (secure comparison)", ActivationKind.RELU, ActivationProtocol.FUSED, List.of("relu"), null),
    /** PILLAR degree 4 with the engine's default: one fused opening gives the truncation and every power. */
    PILLAR("pillar", "PILLAR-4, fused opening (engine default)", ActivationKind.POLY, ActivationProtocol.FUSED,
        List.of("pillar4", "pillar"), null),
    /** PILLAR degree 4, baseline: per copy a faithful truncation, then HoneyBadger power tuples. */
    PILLAR_HB("pillar-hb", "PILLAR-4 via HoneyBadger", ActivationKind.POLY, ActivationProtocol.HONEYBADGER,
        List.of("pillar4", "pillar"), null),
    /** PILLAR degree 4, baseline: per copy a faithful truncation, then ESPN's cheaper variant (d-1 openings). */
    PILLAR_ESPN("pillar-espn", "PILLAR-4 via ESPN", ActivationKind.POLY, ActivationProtocol.ESPN,
        List.of("pillar4", "pillar"), null),
    /** PILLAR degree 4, baseline: per copy a faithful truncation, then CrypTen's Beaver powers, log2(d) rounds. */
    CRYPTEN("crypten", "PILLAR-4 via CrypTen's Beaver powers", ActivationKind.POLY, ActivationProtocol.CRYPTEN,
        List.of("pillar4", "pillar"), null),
    /** HerPN: private per-channel quadratic, folded into the next linear layer. */
    HERPN("herpn", "HerPN (ChannelPoly, folded)", ActivationKind.CHANNEL_POLY, ActivationProtocol.FUSED,
        List.of("herpn"), null),
    /** SENet: ReLU on a random half of the positions, identity elsewhere. */
    SENET("senet50", "SENet masked ReLU 50 %", ActivationKind.MASKED_RELU, ActivationProtocol.FUSED,
        List.of("senet", "senet50", "masked-relu", "maskedrelu"), null);

    private final String id;
    private final String label;
    private final ActivationKind kind;
    private final ActivationProtocol protocol;
    private final List<String> trainedSuffixes;
    private final String unsupported;

    E2eVariant(final String id, final String label, final ActivationKind kind, final ActivationProtocol protocol,
               final List<String> trainedSuffixes, final String unsupported)
    {
        this.id = id;
        this.label = label;
        this.kind = kind;
        this.protocol = protocol;
        this.trainedSuffixes = trainedSuffixes;
        this.unsupported = unsupported;
    }

    /** Id used in cell ids and file names. */
    String id()
    {
        return id;
    }

    /** Human-readable name. */
    String label()
    {
        return label;
    }

    /** A short name for chart legends. */
    String shortLabel()
    {
        return switch (this)
        {
            case RELU -> "ReLU";
            case PILLAR -> "PILLAR-4 fused";
            case PILLAR_HB -> "PILLAR-4 HoneyBadger";
            case PILLAR_ESPN -> "PILLAR-4 ESPN";
            case CRYPTEN -> "CrypTen poly";
            case HERPN -> "HerPN";
            case SENET -> "SENet 50 %";
        };
    }

    /** What ReferenceNetworks puts at every activation site. */
    ActivationKind kind()
    {
        return kind;
    }

    /** True for the polynomial activations (the co-designed networks). */
    boolean polynomial()
    {
        return kind == ActivationKind.POLY || kind == ActivationKind.CHANNEL_POLY;
    }

    /** How the parties compute the polynomial activations' powers. */
    ActivationProtocol protocol()
    {
        return protocol;
    }

    /** Suffixes of trained model files ({@code w2-<suffix>.pim}) tried in order. */
    List<String> trainedSuffixes()
    {
        return trainedSuffixes;
    }

    /** Why the engine cannot run this variant yet, or null if it can. */
    String unsupported()
    {
        return unsupported;
    }

    /** Reference-network options for this variant (random weights, BatchNorm folded later). */
    ReferenceNetworks.Options options(final int fractionalBits)
    {
        final ReferenceNetworks.Options base = ReferenceNetworks.Options.of(kind).withBatchNorm(true)
            .withFixedPoint(fractionalBits, ReferenceNetworks.DEFAULT_ACTIVATION_BOUND);
        return kind == ActivationKind.POLY ? base.withPoly(pillar()) : base;
    }

    private static Layer.Poly pillar()
    {
        return ReferenceNetworks.PILLAR_DEGREE4;
    }

    /** The variant with this id. */
    static E2eVariant byId(final String id)
    {
        for (final E2eVariant v : values())
        {
            if (v.id.equals(id))
            {
                return v;
            }
        }
        throw new IllegalArgumentException("unknown activation variant " + id);
    }
}
