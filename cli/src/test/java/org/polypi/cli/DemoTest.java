package org.polypi.cli;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code polypi demo} as a user runs it: three child processes over TLS, both networks, a few images. */
final class DemoTest
{
    private static final Pattern AGREEMENT = Pattern.compile(
        "agreement with the plaintext fixed-point model\\s+(\\d+) / (\\d+)\\s+(\\d+) / (\\d+)");

    @Test
    void threeProcessesAgreeWithThePlaintextModelOnEveryImage()
    {
        final Cli c = Cli.run("demo", "--images", "3", "--timeout", "120");
        assertEquals(0, c.status, c.toString());
        final String out = c.out();
        assertTrue(out.contains("three processes on loopback, TLS 1.3 with mutual authentication"), out);
        final Matcher m = AGREEMENT.matcher(out);
        assertTrue(m.find(), out);
        assertEquals("3", m.group(1), out);
        assertEquals("3", m.group(2), out);
        assertEquals("3", m.group(3), out);
        assertEquals("3", m.group(4), out);
        assertTrue(out.contains("online rounds per query"), out);
        assertTrue(out.matches("(?s).*dealer pid \\d+ on 127\\.0\\.0\\.1:\\d+, server pid \\d+ on 127\\.0\\.0\\.1:" +
            "\\d+, client pid \\d+.*"), out);
        assertTrue(out.contains("faster online than its ReLU version"), out);
    }
}
