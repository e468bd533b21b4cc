package org.polypi.bench;

import java.util.Map;

/**
 * One JMH result: average time per operation of one benchmark method at one parameter setting.
 *
 * @param benchmark  the benchmark class's simple name, e.g. {@code GemmBench}.
 * @param method     the benchmark method, e.g. {@code vector1t}.
 * @param params     JMH parameters by name.
 * @param nsPerOp    mean time per operation in nanoseconds.
 * @param nsError    half-width of JMH's 99.9 % confidence interval, in nanoseconds (NaN with one iteration).
 */
record Measurement(String benchmark, String method, Map<String, String> params, double nsPerOp, double nsError)
{
    /** The value of parameter {@code name}, or null. */
    String param(final String name)
    {
        return params.get(name);
    }

    /** {@code name=value} pairs separated by spaces, in name order. */
    String paramText()
    {
        final StringBuilder sb = new StringBuilder();
        params.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e ->
        {
            if (!sb.isEmpty())
            {
                sb.append(' ');
            }
            sb.append(e.getKey()).append('=').append(e.getValue());
        });
        return sb.toString();
    }
}
