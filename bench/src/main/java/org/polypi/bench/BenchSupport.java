package org.polypi.bench;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/** Constants and helpers shared by the kernel benchmarks. */
final class BenchSupport
{
    /** {@code jvm.flags} of the parent pom, one per constant because JMH annotations need compile-time constants. */
    static final String ADD_VECTOR_MODULE = "--add-modules=jdk.incubator.vector";
    /** See {@link #ADD_VECTOR_MODULE}. */
    static final String ENABLE_NATIVE_ACCESS = "--enable-native-access=ALL-UNNAMED";
    /** See {@link #ADD_VECTOR_MODULE}. */
    static final String EXPORT_JDK_INTERNAL_MISC = "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED";

    /** Fixed seed: every fork benchmarks the same operands. */
    static final long SEED = 0x9017_BE4C_0000_0001L;

    private BenchSupport()
    {
    }

    /** Fills the first {@code count} longs of {@code segment} with pseudo-random values. */
    static void fillRandom(final MemorySegment segment, final long count, final long seed)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        for (long i = 0; i < count; i++)
        {
            segment.setAtIndex(ValueLayout.JAVA_LONG, i, random.nextLong());
        }
    }

    /**
     * Parses a product shape written {@code MxKxN}.
     *
     * @throws IllegalArgumentException if it is not three positive integers separated by 'x'.
     */
    static int[] parseShape(final String shape)
    {
        final String[] parts = shape.split("x");
        if (parts.length != 3)
        {
            throw new IllegalArgumentException("shape must be MxKxN, was '" + shape + "'");
        }
        final int[] dims = new int[3];
        for (int i = 0; i < 3; i++)
        {
            dims[i] = Integer.parseInt(parts[i].trim());
            if (dims[i] <= 0)
            {
                throw new IllegalArgumentException("shape dimensions must be positive, was '" + shape + "'");
            }
        }
        return dims;
    }
}
