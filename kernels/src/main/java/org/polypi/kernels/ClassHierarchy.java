package org.polypi.kernels;

import java.lang.foreign.MemorySegment;

import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Loads, before any vector kernel runs, every class whose first loading would deoptimize the kernels' compiled code:
 * the JDK's heap segment implementations and the Vector API's vector, mask and shuffle classes of every element
 * type and shape.
 * <p>
 * Why: C2 compiles a kernel under class-hierarchy assumptions, e.g. that {@code NativeMemorySegmentImpl} is the only
 * loaded {@code AbstractMemorySegmentImpl} with a given method, or that {@code Long512Mask} is the only loaded mask
 * class. Loading another such class later (the first {@code MemorySegment.copy} into a {@code long[]}, whose heap
 * segment wrapper is {@code HeapMemorySegmentImpl$OfLong}; the first {@code DoubleVector} of the fixed-point codec)
 * invalidates those assumptions and deoptimizes every kernel compiled under them at once, and C2 recompiles them
 * with whatever profiles the moment has. Measured on W3's 64->64 3x3 convolution (1.85 ms once compiled) in a
 * process that warms it up and then runs the fixed-point reference of a trained W2 or W3 (which loads both):
 * afterwards the convolution ran at 11.6-16.4 ms in 3 of 11 runs and at 2.8 ms in 3 more, for the rest of the
 * process; with this class, at 1.82-1.89 ms in 10 of 10 (docs/profiling.md). With the hierarchy complete before the
 * first compilation there is nothing left to invalidate.
 */
final class ClassHierarchy
{
    private static final Class<?>[] ELEMENT_TYPES = {byte.class, short.class, int.class, long.class, float.class,
        double.class};

    private ClassHierarchy()
    {
    }

    /** Holder idiom: the loading happens once, at the first call of {@link #complete()}. */
    private static final class Once
    {
        static final boolean DONE = load();
    }

    /** Makes sure every class named in the class comment is loaded; cheap after the first call. */
    static boolean complete()
    {
        return Once.DONE;
    }

    private static boolean load()
    {
        // One heap segment of every kind MemorySegment.ofArray can make.
        MemorySegment.ofArray(new byte[1]);
        MemorySegment.ofArray(new short[1]);
        MemorySegment.ofArray(new char[1]);
        MemorySegment.ofArray(new int[1]);
        MemorySegment.ofArray(new long[1]);
        MemorySegment.ofArray(new float[1]);
        MemorySegment.ofArray(new double[1]);
        if (Kernels.vectorModulePresent())
        {
            VectorClasses.load();
        }
        return true;
    }

    /** A class of its own, so that nothing of the vector module is resolved when the module is absent. */
    private static final class VectorClasses
    {
        /** Every species' zero vector, a mask and a shuffle: loads each concrete vector, mask and shuffle class. */
        static void load()
        {
            for (final Class<?> type : ELEMENT_TYPES)
            {
                for (final VectorShape shape : VectorShape.values())
                {
                    final VectorSpecies<?> species = VectorSpecies.of(type, shape);
                    species.zero().compare(VectorOperators.EQ, 0).not();
                    species.iotaShuffle(0, 1, true);
                }
            }
        }
    }
}
