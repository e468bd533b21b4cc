package org.polypi.cli;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A text progress bar: redrawn in place on a terminal, one line per tenth of the work otherwise (logs, tests).
 * Thread-safe.
 */
final class ProgressBar
{
    private static final int WIDTH = 40;
    private static final int STEPS_WITHOUT_TERMINAL = 10;

    private final PrintStream out;
    private final String label;
    private final boolean terminal;
    private int lastStep = -1;
    private boolean finished;

    ProgressBar(final PrintStream out, final String label, final boolean terminal)
    {
        this.out = out;
        this.label = label;
        this.terminal = terminal;
    }

    /** Shows {@code done} of {@code total}. */
    synchronized void update(final int done, final int total)
    {
        if (finished || total <= 0)
        {
            return;
        }
        final int filled = (int)((long)WIDTH * done / total);
        final String line = String.format(Locale.ROOT, "  %s [%s%s] %d/%d", label, "#".repeat(filled),
            ".".repeat(WIDTH - filled), done, total);
        if (terminal)
        {
            out.print("\r" + line);
            if (done >= total)
            {
                out.println();
                finished = true;
            }
        }
        else
        {
            final int step = (int)((long)STEPS_WITHOUT_TERMINAL * done / total);
            if (step != lastStep)
            {
                lastStep = step;
                out.println(line);
                finished = done >= total;
            }
        }
        out.flush();
    }

    /** Ends the bar's line if it was left unfinished (an error in the middle). */
    synchronized void end()
    {
        if (terminal && !finished)
        {
            out.println();
        }
        finished = true;
    }
}
