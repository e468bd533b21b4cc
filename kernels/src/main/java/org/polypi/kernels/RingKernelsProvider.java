package org.polypi.kernels;

/** Service interface through which modules outside {@code kernels} (the native one) offer a backend. */
public interface RingKernelsProvider
{
    /** Backend name, as in {@link Kernels#byName(String)}. */
    String name();

    /**
     * Creates (or returns) the backend.
     *
     * @throws IllegalStateException if it cannot run on this machine, saying why.
     */
    RingKernels create();
}
