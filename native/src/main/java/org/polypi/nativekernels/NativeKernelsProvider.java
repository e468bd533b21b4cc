package org.polypi.nativekernels;

import org.polypi.kernels.RingKernels;
import org.polypi.kernels.RingKernelsProvider;

/**
 * Offers {@link NativeRingKernels} to {@code Kernels.byName("native")} through {@link java.util.ServiceLoader}
 * (registered in {@code META-INF/services/org.polypi.kernels.RingKernelsProvider}).
 */
public final class NativeKernelsProvider implements RingKernelsProvider
{
    /** Called by {@link java.util.ServiceLoader}; cheap, the library is loaded by {@link #create()}. */
    public NativeKernelsProvider()
    {
    }

    @Override
    public String name()
    {
        return "native";
    }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalStateException if libpolypi.so is unavailable (gcc missing at build time, unsupported
     *     OS/arch or CPU), saying which.
     */
    @Override
    public RingKernels create()
    {
        return NativeRingKernels.instance();
    }
}
