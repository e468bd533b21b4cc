package org.polypi.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

final class KernelsSelectionTest
{
    @Test
    void choosesVectorWhenTheModuleIsPresentAndNoBackendIsAskedFor()
    {
        assertTrue(Kernels.vectorModulePresent(), "tests run with --add-modules=jdk.incubator.vector");
        final String asked = System.getProperty(Kernels.BACKEND_PROPERTY);
        final RingKernels selected = Kernels.get();
        assertEquals(asked == null ? "vector" : asked, selected.name());
        assertSame(selected, Kernels.get());
    }

    @Test
    void namesEveryBackendAndRejectsUnknownOnes()
    {
        assertSame(ScalarRingKernels.INSTANCE, Kernels.byName("scalar"));
        assertEquals("vector", Kernels.byName("VECTOR").name());
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Kernels.byName("gpu"));
        assertTrue(e.getMessage().contains("gpu"), e.getMessage());
    }
}
