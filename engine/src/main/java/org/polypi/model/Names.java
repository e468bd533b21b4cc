package org.polypi.model;

import java.nio.charset.StandardCharsets;

/** Rules for every string of a model (node, input, architecture and class names), shared by graph and format. */
final class Names
{
    /** Longest name in UTF-8 bytes. */
    static final int MAX_BYTES = 256;

    private Names()
    {
    }

    /**
     * Returns {@code name} if it is non-empty, at most {@value #MAX_BYTES} UTF-8 bytes, well-formed (no unpaired
     * surrogates, so that it encodes canonically) and free of control characters.
     *
     * @throws IllegalArgumentException naming {@code what} otherwise.
     */
    static String check(final String what, final String name)
    {
        if (name == null || name.isEmpty())
        {
            throw new IllegalArgumentException(what + " must be a non-empty string");
        }
        for (int i = 0; i < name.length(); i++)
        {
            final char c = name.charAt(i);
            if (Character.isISOControl(c))
            {
                throw new IllegalArgumentException(what + " contains control character U+" +
                    String.format("%04X", (int)c) + " at index " + i);
            }
            if (Character.isHighSurrogate(c) && i + 1 < name.length() && Character.isLowSurrogate(name.charAt(i + 1)))
            {
                i++;
            }
            else if (Character.isSurrogate(c))
            {
                throw new IllegalArgumentException(what + " contains an unpaired surrogate at index " + i);
            }
        }
        final int bytes = name.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_BYTES)
        {
            throw new IllegalArgumentException(what + " is " + bytes + " UTF-8 bytes, at most " + MAX_BYTES +
                " allowed");
        }
        return name;
    }
}
