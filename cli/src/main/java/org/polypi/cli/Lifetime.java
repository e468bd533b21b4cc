package org.polypi.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * How long a service command runs: until it is interrupted (Ctrl-C, SIGTERM: the shutdown hook closes the service
 * so sessions end cleanly), until it has ended a given number of sessions, or, for child processes of
 * {@code polypi demo}, until its standard input closes (the parent died or is done): a child must never outlive
 * the demo.
 */
final class Lifetime
{
    private static final long POLL_MS = 50;

    private final CountDownLatch stop = new CountDownLatch(1);

    /** Stops when standard input reaches its end. */
    void watchStdin(final InputStream in)
    {
        Thread.ofPlatform().daemon().name("polypi-parent-watch").start(() ->
        {
            try
            {
                while (in.read() >= 0)
                {
                    // The parent writes nothing; anything read is ignored.
                }
            }
            catch (final IOException e)
            {
                // Same as the end of the stream: the parent is gone.
            }
            stop.countDown();
        });
    }

    /**
     * Blocks until the service should stop: {@code sessions > 0} ended sessions, standard input closed (if
     * watched), or the JVM shutting down (the caller's shutdown hook does the rest).
     */
    void await(final long sessions, final LongSupplier ended) throws InterruptedException
    {
        while (!stop.await(POLL_MS, TimeUnit.MILLISECONDS))
        {
            if (sessions > 0 && ended.getAsLong() >= sessions)
            {
                return;
            }
        }
    }
}
