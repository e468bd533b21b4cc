package org.polypi.model;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * What the inputs of a model's activation sites looked like on a measured data set (the test set, after training):
 * per site the number of input elements, how many fell outside {@code [-r, r]} and the largest magnitude. The engine
 * compares them with the header's activation bound, which its fixed-point budget and error bounds assume; a model
 * file carries them in format version 2 ({@code docs/model-format.md}).
 * <p>
 * This record only checks what holds on its own (counts, finite values, distinct node names); that every site names
 * an activation node of the graph, in node order, with {@code images} times that node's elements, is checked when a
 * {@link ModelGraph} is built with it.
 *
 * @param images images (items) measured, at least 1.
 * @param sites one entry per measured activation site, in node order; at least one, at most {@link #MAX_SITES}.
 */
public record ActivationStatistics(int images, List<Site> sites)
{
    /** Most sites: one per node at most. */
    public static final int MAX_SITES = ModelGraph.MAX_NODES;

    /**
     * The statistics of one activation site.
     *
     * @param node the activation node whose <em>input</em> was measured.
     * @param elements input elements seen (images times the node's elements per item), at least 1.
     * @param outside elements with {@code |x| > range}, in {@code [0, elements]}.
     * @param maxAbs the largest {@code |x|} seen: finite, {@code +0.0} or positive (a negative zero has no meaning
     *     as a magnitude and would be a second encoding of zero).
     * @param range r, finite and positive: {@code outside} counts the inputs beyond {@code [-r, r]} (the range the
     *     polynomial was fitted on, or the bound the statistics were measured against).
     */
    public record Site(String node, long elements, long outside, float maxAbs, float range)
    {
        /** Checks every field. */
        public Site
        {
            Names.check("statistics node name", node);
            if (elements < 1)
            {
                throw new IllegalArgumentException("site " + node + ": elements must be at least 1, was " + elements);
            }
            if (outside < 0 || outside > elements)
            {
                throw new IllegalArgumentException("site " + node + ": outside count " + outside + " is not in 0.." +
                    elements + " (the elements seen)");
            }
            // the sign bit rejects negative values, -0.0 and negative NaNs at once
            if (Float.isNaN(maxAbs) || Float.isInfinite(maxAbs) || Float.floatToRawIntBits(maxAbs) < 0)
            {
                throw new IllegalArgumentException("site " + node + ": max |x| must be finite and +0.0 or positive, " +
                    "was " + maxAbs);
            }
            if (!(range > 0) || Float.isInfinite(range))
            {
                throw new IllegalArgumentException("site " + node + ": range must be finite and positive, was " +
                    range);
            }
        }

        /** Fraction of the elements outside {@code [-range, range]}. */
        public double outsideFraction()
        {
            return (double)outside / elements;
        }

        /** True if no input exceeded {@code bound} in magnitude. */
        public boolean within(final double bound)
        {
            return maxAbs <= bound;
        }
    }

    /** Checks the counts and that no node is named twice. */
    public ActivationStatistics
    {
        if (images < 1)
        {
            throw new IllegalArgumentException("images measured must be at least 1, was " + images);
        }
        sites = List.copyOf(sites);
        if (sites.isEmpty() || sites.size() > MAX_SITES)
        {
            throw new IllegalArgumentException("activation statistics need 1.." + MAX_SITES + " sites, got " +
                sites.size());
        }
        final Set<String> seen = new HashSet<>();
        for (final Site s : sites)
        {
            if (!seen.add(s.node()))
            {
                throw new IllegalArgumentException("activation statistics name node " + s.node() + " twice");
            }
        }
    }

    /**
     * True for the layers a site may name: {@link Layer.ReLU}, {@link Layer.Poly}, {@link Layer.ChannelPoly} and
     * {@link Layer.MaskedReLU}. Not {@link Layer.Identity}, although it counts as an activation site elsewhere: it
     * neither approximates anything over a range nor compares, so its input range has nothing to be checked against.
     */
    public static boolean isSiteLayer(final Layer layer)
    {
        return layer instanceof Layer.ReLU || layer instanceof Layer.Poly || layer instanceof Layer.ChannelPoly ||
            layer instanceof Layer.MaskedReLU;
    }

    /** The site of {@code node}, if it was measured. */
    public Optional<Site> site(final String node)
    {
        for (final Site s : sites)
        {
            if (s.node().equals(node))
            {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }

    /**
     * These statistics restricted to the sites whose node is in {@code nodes}, for a transform that removes
     * activation nodes: empty if no site remains (statistics need at least one).
     */
    public Optional<ActivationStatistics> retainSites(final Collection<String> nodes)
    {
        Objects.requireNonNull(nodes, "nodes");
        final List<Site> kept = new ArrayList<>(sites.size());
        for (final Site s : sites)
        {
            if (nodes.contains(s.node()))
            {
                kept.add(s);
            }
        }
        if (kept.isEmpty())
        {
            return Optional.empty();
        }
        return Optional.of(kept.size() == sites.size() ? this : new ActivationStatistics(images, kept));
    }

    /** True if every site's max |x| is at most {@code bound}. */
    public boolean within(final double bound)
    {
        return sites.stream().allMatch(s -> s.within(bound));
    }
}
