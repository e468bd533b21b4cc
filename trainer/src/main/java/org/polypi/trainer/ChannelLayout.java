package org.polypi.trainer;

import org.polypi.model.Shape;

/**
 * Where the elements of one channel live in a batch-first tensor of per-item shape {@code [C,H,W]} or {@code [C]}:
 * for item b, channel c the run {@code [(b·C + c)·S, (b·C + c + 1)·S)}, S = H·W (1 for a vector).
 *
 * @param channels C.
 * @param spatial S.
 */
record ChannelLayout(int channels, int spatial)
{
    /** The layout of per-item shape {@code in} (channels first). */
    static ChannelLayout of(final Shape in)
    {
        return new ChannelLayout(in.dim(0), in.size() / in.dim(0));
    }

    /** Elements per item. */
    int itemSize()
    {
        return channels * spatial;
    }

    /** First element of item b, channel c. */
    int start(final int item, final int channel)
    {
        return (item * channels + channel) * spatial;
    }
}
