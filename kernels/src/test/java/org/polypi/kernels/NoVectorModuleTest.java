package org.polypi.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Runs in its own JVM without jdk.incubator.vector (see kernels/pom.xml): the engine must still compute. */
final class NoVectorModuleTest
{
    @Test
    void fallsBackToScalarAndStillComputes()
    {
        assertFalse(Kernels.vectorModulePresent());
        final RingKernels kernels = Kernels.get();
        assertEquals("scalar", kernels.name());
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment a = arena.allocateFrom(RingTensor.ELEMENT, 1, 2, 3, 4);
            final MemorySegment b = arena.allocateFrom(RingTensor.ELEMENT, 5, 6, 7, 8);
            final MemorySegment c = arena.allocate(4 * Long.BYTES);
            kernels.matmul(a, b, c, 2, 2, 2);
            assertArrayEquals(new long[]{19, 22, 43, 50}, c.toArray(RingTensor.ELEMENT));
            kernels.add(a, b, c, 4);
            assertArrayEquals(new long[]{6, 8, 10, 12}, c.toArray(RingTensor.ELEMENT));
        }
    }

    @Test
    void askingForTheVectorBackendSaysWhatIsMissing()
    {
        final IllegalStateException e = assertThrows(IllegalStateException.class, () -> Kernels.byName("vector"));
        assertEquals("vector backend needs --add-modules=jdk.incubator.vector", e.getMessage());
    }
}
