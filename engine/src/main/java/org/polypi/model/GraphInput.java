package org.polypi.model;

import java.util.Objects;

/** A named input of a {@link ModelGraph} and its per-item shape ({@code [C,H,W]} or {@code [F]}). */
public record GraphInput(String name, Shape shape)
{
    /** Checks the name. */
    public GraphInput
    {
        Names.check("input name", name);
        Objects.requireNonNull(shape, "shape");
    }
}
