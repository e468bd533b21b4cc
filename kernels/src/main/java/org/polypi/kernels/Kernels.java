package org.polypi.kernels;

import java.util.Locale;
import java.util.ServiceLoader;

/**
 * The single place that decides which {@link RingKernels} backend runs, and says so once in the log.
 * <p>
 * Choice: the system property {@value #BACKEND_PROPERTY} ({@code vector}, {@code scalar} or {@code native}) if
 * set; otherwise {@code vector} when the {@code jdk.incubator.vector} module is in the boot layer, else
 * {@code scalar}. A backend that was asked for but cannot load is an error, not a silent fallback, so a benchmark
 * never measures something other than what it names. Native backends come from other modules through
 * {@link ServiceLoader} ({@link RingKernelsProvider}), because this module depends on nothing of ours.
 */
public final class Kernels
{
    /** System property naming the backend. */
    public static final String BACKEND_PROPERTY = "polypi.kernels";
    private static final System.Logger LOG = System.getLogger(Kernels.class.getName());
    private static final String VECTOR_MODULE = "jdk.incubator.vector";
    private static final String VECTOR_BACKEND_CLASS = "org.polypi.kernels.VectorRingKernels";

    private Kernels()
    {
    }

    private static final class Holder
    {
        static final RingKernels SELECTED = select();
    }

    /** The backend this JVM uses, chosen on first call. */
    public static RingKernels get()
    {
        return Holder.SELECTED;
    }

    /** True when the Vector API module is in the boot layer. */
    public static boolean vectorModulePresent()
    {
        return ModuleLayer.boot().findModule(VECTOR_MODULE).isPresent();
    }

    /**
     * True when SIMD code may run: the vector module is present and {@code -Dpolypi.kernels=scalar} was not given.
     * Helpers outside {@link RingKernels} (fixed-point codec, bit kernels) consult this one answer.
     */
    static boolean vectorEnabled()
    {
        return vectorModulePresent() &&
            !"scalar".equalsIgnoreCase(System.getProperty(BACKEND_PROPERTY, "").trim());
    }

    /**
     * The backend of the given name, independent of the JVM-wide choice (benchmarks and tests compare backends).
     *
     * @throws IllegalStateException if that backend cannot run here, saying why.
     */
    public static RingKernels byName(final String name)
    {
        return switch (name.toLowerCase(Locale.ROOT))
        {
            case "scalar" -> ScalarRingKernels.INSTANCE;
            case "vector" -> loadVector();
            case "native" -> loadProvided("native");
            default -> throw new IllegalArgumentException(
                "unknown kernel backend '" + name + "': expected vector, scalar or native");
        };
    }

    private static RingKernels select()
    {
        final String asked = System.getProperty(BACKEND_PROPERTY);
        final RingKernels chosen;
        final String why;
        if (asked != null && !asked.isBlank())
        {
            chosen = byName(asked.trim());
            why = "asked for by -D" + BACKEND_PROPERTY;
        }
        else if (vectorModulePresent())
        {
            chosen = loadVector();
            why = VECTOR_MODULE + " present";
        }
        else
        {
            chosen = ScalarRingKernels.INSTANCE;
            why = VECTOR_MODULE + " absent (add --add-modules=" + VECTOR_MODULE + " for SIMD kernels)";
        }
        LOG.log(System.Logger.Level.INFO, "PolyPI kernels: " + chosen.name() + " backend (" + why + ")");
        return chosen;
    }

    private static RingKernels loadVector()
    {
        if (!vectorModulePresent())
        {
            throw new IllegalStateException("vector backend needs --add-modules=" + VECTOR_MODULE);
        }
        try
        {
            return (RingKernels)Class.forName(VECTOR_BACKEND_CLASS).getField("INSTANCE").get(null);
        }
        catch (final ReflectiveOperationException | LinkageError e)
        {
            throw new IllegalStateException("vector backend failed to load: " + e, e);
        }
    }

    private static RingKernels loadProvided(final String name)
    {
        for (final RingKernelsProvider provider : ServiceLoader.load(RingKernelsProvider.class))
        {
            if (provider.name().equals(name))
            {
                return provider.create();
            }
        }
        throw new IllegalStateException("no '" + name + "' kernel backend on the class path (is polypi-native there, " +
            "and was its library built? gcc is needed at build time)");
    }
}
