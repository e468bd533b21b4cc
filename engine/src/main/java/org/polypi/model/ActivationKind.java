package org.polypi.model;

/** Which layer {@link ReferenceNetworks} puts at every activation site. */
public enum ActivationKind
{
    /** {@link Layer.ReLU}: the baseline networks. */
    RELU,
    /** {@link Layer.Poly}: one public polynomial for the whole model (PILLAR). */
    POLY,
    /** {@link Layer.ChannelPoly}: a private quadratic per channel (HerPN / AESPA folded form). */
    CHANNEL_POLY,
    /** {@link Layer.MaskedReLU}: ReLU on a random subset of positions, identity elsewhere (SENet). */
    MASKED_RELU,
    /** {@link Layer.Identity}: no non-linearity (a linear network, for tests and cost baselines). */
    IDENTITY
}
