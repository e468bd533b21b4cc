package org.polypi.onnx;

import org.polypi.model.Shape;

/**
 * What an ONNX value (a tensor name of the graph) stands for while the importer walks the graph: a constant, a
 * tensor of the PolyPI graph (possibly with an elementwise polynomial still to be applied), or a zero-padded tensor
 * waiting for the convolution it folds into.
 */
sealed interface Value permits Value.Const, Value.Data, Value.Padded
{
    /** A constant known at import time. */
    record Const(ConstTensor tensor) implements Value
    {
    }

    /**
     * The tensor {@code poly(base)}, where {@code base} names a node or the input of the PolyPI graph with per-item
     * shape {@code shape}; {@code poly == null} means the base itself. A polynomial becomes a layer only when some
     * consumer needs the tensor itself ({@link GraphConverter#materialize(Data)}); the layer's name is then
     * {@code label}'s, the ONNX node that computed this value. {@code origin} is the ONNX value that the base
     * stands for: the importer looks at who else reads it.
     */
    final class Data implements Value
    {
        private final String base;
        private final Shape shape;
        private final Polynomial poly;
        private final String label;
        private final String origin;
        /** Name of the layer that computes the polynomial, once made; shared by every reader of this value. */
        private String materialized;

        Data(final String base, final Shape shape, final Polynomial poly, final String label, final String origin)
        {
            this.base = base;
            this.shape = shape;
            this.poly = poly == null || poly.isIdentity() ? null : poly;
            this.label = label;
            this.origin = origin;
        }

        /** The PolyPI node or input this value is a polynomial of. */
        String base()
        {
            return base;
        }

        /** Per-item shape ({@code [C,H,W]} or {@code [F]}); elementwise polynomials keep it. */
        Shape shape()
        {
            return shape;
        }

        /** Channels (features for {@code [F]}): the rows of a per-channel polynomial. */
        int channels()
        {
            return shape.dim(0);
        }

        /** The polynomial of the base, or null for the base itself. */
        Polynomial poly()
        {
            return poly;
        }

        /** The polynomial, with null read as the identity. */
        Polynomial polyOrIdentity()
        {
            return poly == null ? Polynomial.identity() : poly;
        }

        /** Name for a layer computing this value. */
        String label()
        {
            return label;
        }

        /** The ONNX value whose tensor the base is. */
        String origin()
        {
            return origin;
        }

        String materialized()
        {
            return materialized;
        }

        void materialized(final String name)
        {
            materialized = name;
        }
    }

    /** {@code data} zero-padded by {@code pad} on each side of H and W, by {@code node} (an ONNX Pad). */
    record Padded(Data data, int pad, OnnxNode node) implements Value
    {
    }
}
