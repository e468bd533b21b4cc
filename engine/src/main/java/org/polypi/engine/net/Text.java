package org.polypi.engine.net;

import java.time.Duration;
import java.util.HexFormat;

/** Formatting for error messages: sizes, durations and byte strings as a person reads them. */
final class Text
{
    private static final long KIB = 1L << 10;
    private static final long MIB = 1L << 20;
    private static final long GIB = 1L << 30;
    /** Bytes of a byte string shown in full; longer ones are cut with their length given. */
    private static final int HEX_SHOWN_BYTES = 16;

    private Text()
    {
    }

    /** "4 GiB", "1.5 MiB", "8192 bytes": exact for whole units, one decimal otherwise, bytes below 1 KiB. */
    static String bytes(final long n)
    {
        if (n < 0)
        {
            return n + " bytes";
        }
        if (n >= GIB)
        {
            return unit(n, GIB, "GiB");
        }
        if (n >= MIB)
        {
            return unit(n, MIB, "MiB");
        }
        if (n >= 64 * KIB)
        {
            return unit(n, KIB, "KiB");
        }
        return n + " bytes";
    }

    private static String unit(final long n, final long unit, final String name)
    {
        if (n % unit == 0)
        {
            return n / unit + " " + name;
        }
        return String.format("%.1f %s (%d bytes)", (double)n / unit, name, n);
    }

    /** "30 s", "250 ms", "1.5 s". */
    static String duration(final Duration d)
    {
        final long ms = d.toMillis();
        if (ms >= 1000)
        {
            return ms % 1000 == 0 ? ms / 1000 + " s" : String.format("%.1f s", ms / 1000.0);
        }
        return ms > 0 ? ms + " ms" : d.toNanos() / 1000 + " us";
    }

    /** Hex of a byte string, cut after {@value #HEX_SHOWN_BYTES} bytes, with its length. */
    static String hex(final byte[] b)
    {
        final HexFormat hex = HexFormat.of();
        if (b.length <= HEX_SHOWN_BYTES)
        {
            return (b.length == 0 ? "(empty)" : hex.formatHex(b)) + " (" + b.length + " bytes)";
        }
        return hex.formatHex(b, 0, HEX_SHOWN_BYTES) + "... (" + b.length + " bytes)";
    }
}
