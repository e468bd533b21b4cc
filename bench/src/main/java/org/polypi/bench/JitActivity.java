package org.polypi.bench;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;

/**
 * Whether the JIT compilers are still busy, judged over windows of queries: quiet when the compilation time of the
 * last window is at most {@link #QUIET_SHARE} of its wall time.
 * <p>
 * Why the bench waits for it: the compiler threads share the two cores with the parties. On the reference machine
 * C2 kept compiling for several seconds of W3 queries (the kernels inline into large methods), and a query that
 * overlapped a compilation had one party descheduled half of the time: its online time doubled, and a median over
 * 20 such queries measured the JIT rather than the engine.
 */
final class JitActivity
{
    /** Queries per window. */
    static final int WINDOW = 5;
    /** Largest share of a window's wall time spent compiling for the JIT to count as quiet. */
    static final double QUIET_SHARE = 0.02;

    private final CompilationMXBean compiler = ManagementFactory.getCompilationMXBean();
    private final boolean supported = compiler != null && compiler.isCompilationTimeMonitoringSupported();
    private long windowStartNanos = System.nanoTime();
    private long windowStartCompileMillis = compileMillis();
    private int queries;
    private boolean quiet = !supported;

    /** Counts a finished query; closes the window after {@link #WINDOW} of them. */
    void afterQuery()
    {
        if (!supported || ++queries < WINDOW)
        {
            return;
        }
        final long now = System.nanoTime();
        final long compile = compileMillis();
        quiet = (compile - windowStartCompileMillis) * 1e6 <= QUIET_SHARE * (now - windowStartNanos);
        windowStartNanos = now;
        windowStartCompileMillis = compile;
        queries = 0;
    }

    /** True once a whole window was quiet (always true when the JVM does not report compilation time). */
    boolean quiet()
    {
        return quiet;
    }

    private long compileMillis()
    {
        return supported ? compiler.getTotalCompilationTime() : 0;
    }
}
