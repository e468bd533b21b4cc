package org.polypi.nativekernels;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.Optional;

import org.polypi.kernels.CandidateDifferences;

/**
 * Loads {@code libpolypi.so} once per JVM and holds the downcall handles to its kernels.
 * <p>
 * Where the library comes from: the path in {@value #LIBRARY_PROPERTY} if that property is set, otherwise the
 * class path resource {@code /native/linux-x86_64/libpolypi.so} (put into the jar by {@code build-native.sh}),
 * extracted to a temporary file because the dynamic loader needs a real file.
 * <p>
 * Every kernel has two handles. The {@link Linker.Option#critical(boolean) critical} one skips the thread-state
 * transition and may read heap segments in place, but holds off safepoints (so the GC) for the whole call; it is
 * used for short calls and for heap segments. The ordinary one is used for long calls over native segments.
 */
final class NativeLibrary
{
    /** System property naming a {@code libpolypi.so} to load instead of the one on the class path. */
    static final String LIBRARY_PROPERTY = "polypi.native.lib";
    /** Must equal {@code POLYPI_ABI_VERSION} in polypi.c, so that a stale library is refused, not misused. */
    static final int ABI_VERSION = 2;
    /**
     * Calls doing at most this many multiply-adds (a few microseconds) go through the critical handles: so short
     * that holding off a safepoint is harmless, while the saved transition is a visible share of the call.
     */
    static final long CRITICAL_WORK_LIMIT = 1L << 16;

    private static final String PLATFORM = "linux-x86_64";
    private static final String LIBRARY_FILE = "libpolypi.so";
    private static final String RESOURCE = "/native/" + PLATFORM + "/" + LIBRARY_FILE;

    private static final FunctionDescriptor MATMUL_DESCRIPTOR = FunctionDescriptor.ofVoid(ValueLayout.ADDRESS,
        ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT);
    private static final FunctionDescriptor POLYNOMIAL_DESCRIPTOR = FunctionDescriptor.ofVoid(ValueLayout.ADDRESS,
        ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG);
    private static final FunctionDescriptor OPENED_POLYNOMIAL_DESCRIPTOR = FunctionDescriptor.ofVoid(
        ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
        ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG);
    /** The program fields polypi.h specifies: per copy, then per term before its coefficients. */
    private static final int COPY_FIELDS = 4;
    private static final int TERM_FIELDS = 3;
    private static final FunctionDescriptor INT_DESCRIPTOR = FunctionDescriptor.of(ValueLayout.JAVA_INT);

    private NativeLibrary()
    {
    }

    /** The downcall handles of one loaded library: an ordinary and a critical one per kernel. */
    private record Bound(MethodHandle matmul, MethodHandle matmulCritical, MethodHandle matmulTransposedB,
                         MethodHandle matmulTransposedBCritical, MethodHandle matmulTransposedA,
                         MethodHandle matmulTransposedACritical, MethodHandle polynomial,
                         MethodHandle polynomialCritical, MethodHandle polynomialFromOpened)
    {
    }

    /**
     * Loads on first use. Static finals (and record components, which HotSpot also trusts as final) let the JIT
     * treat the handles as constants and inline the downcalls. When loading fails, {@link #BOUND} is null and
     * {@link #FAILURE} says why.
     */
    private static final class Handles
    {
        static final Bound BOUND;
        static final String FAILURE;

        static
        {
            Bound bound = null;
            String failure = null;
            try
            {
                bound = bind();
            }
            catch (final RuntimeException | LinkageError e)
            {
                failure = e instanceof IllegalStateException ? e.getMessage() : e.toString();
            }
            BOUND = bound;
            FAILURE = failure;
        }
    }

    private static Bound bind()
    {
        final SymbolLookup lookup = open();
        final Linker linker = Linker.nativeLinker();
        return new Bound(
            downcall(linker, lookup, "polypi_matmul", MATMUL_DESCRIPTOR, false),
            downcall(linker, lookup, "polypi_matmul", MATMUL_DESCRIPTOR, true),
            downcall(linker, lookup, "polypi_matmul_transposed_b", MATMUL_DESCRIPTOR, false),
            downcall(linker, lookup, "polypi_matmul_transposed_b", MATMUL_DESCRIPTOR, true),
            downcall(linker, lookup, "polypi_matmul_transposed_a", MATMUL_DESCRIPTOR, false),
            downcall(linker, lookup, "polypi_matmul_transposed_a", MATMUL_DESCRIPTOR, true),
            downcall(linker, lookup, "polypi_polynomial", POLYNOMIAL_DESCRIPTOR, false),
            downcall(linker, lookup, "polypi_polynomial", POLYNOMIAL_DESCRIPTOR, true),
            downcall(linker, lookup, "polypi_polynomial_from_opened", OPENED_POLYNOMIAL_DESCRIPTOR, false));
    }

    /** Why the library cannot be used here, or empty when it loaded. */
    static Optional<String> failure()
    {
        return Optional.ofNullable(Handles.FAILURE);
    }

    /** Throws {@link IllegalStateException} with the reason unless the library loaded. */
    static void require()
    {
        if (Handles.FAILURE != null)
        {
            throw new IllegalStateException("native kernels unavailable: " + Handles.FAILURE);
        }
    }

    static void matmul(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m, final int k,
                       final int n)
    {
        try
        {
            if (critical((long)m * k * n, a, b, c))
            {
                Handles.BOUND.matmulCritical().invokeExact(a, b, c, m, k, n);
            }
            else
            {
                Handles.BOUND.matmul().invokeExact(a, b, c, m, k, n);
            }
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    static void matmulTransposedB(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m,
                                  final int k, final int n)
    {
        try
        {
            if (critical((long)m * k * n, a, b, c))
            {
                Handles.BOUND.matmulTransposedBCritical().invokeExact(a, b, c, m, k, n);
            }
            else
            {
                Handles.BOUND.matmulTransposedB().invokeExact(a, b, c, m, k, n);
            }
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    static void matmulTransposedA(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m,
                                  final int k, final int n)
    {
        try
        {
            if (critical((long)m * k * n, a, b, c))
            {
                Handles.BOUND.matmulTransposedACritical().invokeExact(a, b, c, m, k, n);
            }
            else
            {
                Handles.BOUND.matmulTransposedA().invokeExact(a, b, c, m, k, n);
            }
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    static void polynomial(final MemorySegment x, final long[] coefficients, final MemorySegment out, final long n)
    {
        final int count = coefficients.length;
        try
        {
            if (critical(n * (count - 1), x, out, out))
            {
                // Critical calls may read the heap, so the coefficients go in place.
                Handles.BOUND.polynomialCritical().invokeExact(x, MemorySegment.ofArray(coefficients), count, out, n);
                return;
            }
            // A long call: copy the few coefficients off-heap rather than hold off the GC for its whole length.
            try (Arena arena = Arena.ofConfined())
            {
                final MemorySegment coefficientSegment = arena.allocate((long)count * Long.BYTES, Long.BYTES);
                MemorySegment.copy(coefficients, 0, coefficientSegment, ValueLayout.JAVA_LONG, 0, count);
                Handles.BOUND.polynomial().invokeExact(x, coefficientSegment, count, out, n);
            }
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    /**
     * {@code polypi_polynomial_from_opened}: the arguments of {@code RingKernels.polynomialFromOpened}, checked, every
     * segment native, and the Horner coefficients of {@code OpenedPolynomial.hornerCoefficients} (null entries are
     * terms that vanish). The program and the stream pointers go off-heap for the call, an ordinary (not critical)
     * downcall because the pass is long. The material's segments travel as raw addresses in that pointer array, so
     * the downcall does not keep their scopes alive as it does for its own arguments: the kernel contract's caller
     * owns them for the call (the engine's party thread; their liveness was checked by {@code OpenedPolynomial.check}).
     */
    static void polynomialFromOpened(final MemorySegment c, final int[] shifts, final long[] addends,
                                     final MemorySegment[][] base, final MemorySegment[][] diff,
                                     final long[][][] horner, final MemorySegment z, final long zMultiplier,
                                     final long ownConstant, final MemorySegment out, final long n)
    {
        final int copies = shifts.length;
        int programLength = copies * COPY_FIELDS;
        int streamCount = 0;
        for (final long[][] copy : horner)
        {
            for (int t = 0; t < copy.length; t++)
            {
                if (copy[t] != null)
                {
                    programLength += TERM_FIELDS + copy[t].length;
                    streamCount += t == 0 ? 0 : 2;
                }
            }
        }
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment program = arena.allocate((long)programLength * Long.BYTES, Long.BYTES);
            final MemorySegment streams = arena.allocate(ValueLayout.ADDRESS, Math.max(1, streamCount));
            long at = 0;
            long stream = 0;
            for (int j = 0; j < copies; j++)
            {
                final long[][] copy = horner[j];
                final boolean packed = CandidateDifferences.packed(shifts[j], copy.length - 1);
                int terms = 0;
                for (final long[] h : copy)
                {
                    terms += h == null ? 0 : 1;
                }
                program.setAtIndex(ValueLayout.JAVA_LONG, at++, shifts[j]);
                program.setAtIndex(ValueLayout.JAVA_LONG, at++, addends[j]);
                program.setAtIndex(ValueLayout.JAVA_LONG, at++, CandidateDifferences.leftShift(shifts[j], packed));
                program.setAtIndex(ValueLayout.JAVA_LONG, at++, terms);
                for (int t = 0; t < copy.length; t++)
                {
                    final long[] h = copy[t];
                    if (h == null)
                    {
                        continue;
                    }
                    program.setAtIndex(ValueLayout.JAVA_LONG, at++, t);
                    program.setAtIndex(ValueLayout.JAVA_LONG, at++,
                        t == 0 ? 0 : CandidateDifferences.rightShift(t, packed));
                    program.setAtIndex(ValueLayout.JAVA_LONG, at++, h.length);
                    MemorySegment.copy(h, 0, program, ValueLayout.JAVA_LONG, at * Long.BYTES, h.length);
                    at += h.length;
                    if (t > 0)
                    {
                        streams.setAtIndex(ValueLayout.ADDRESS, stream++, base[j][t - 1]);
                        streams.setAtIndex(ValueLayout.ADDRESS, stream++,
                            diff[j][CandidateDifferences.word(t, packed)]);
                    }
                }
            }
            final MemorySegment zOrNull = zMultiplier == 0 ? MemorySegment.NULL : z;
            Handles.BOUND.polynomialFromOpened().invokeExact(c, zOrNull, zMultiplier, ownConstant, copies, program,
                streams, out, n);
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    private static boolean critical(final long work, final MemorySegment s0, final MemorySegment s1,
                                    final MemorySegment s2)
    {
        // Only critical downcalls may be handed heap segments.
        return work <= CRITICAL_WORK_LIMIT || !s0.isNative() || !s1.isNative() || !s2.isNative();
    }

    private static RuntimeException rethrow(final Throwable t)
    {
        if (t instanceof RuntimeException e)
        {
            return e;
        }
        if (t instanceof Error e)
        {
            throw e;
        }
        return new IllegalStateException("native kernel call failed: " + t, t);
    }

    // Linking to native code is what this class is for; the JVM flag --enable-native-access grants it at run time.
    @SuppressWarnings("restricted")
    private static MethodHandle downcall(final Linker linker, final SymbolLookup lookup, final String symbol,
                                         final FunctionDescriptor descriptor, final boolean critical)
    {
        final MemorySegment address = lookup.find(symbol).orElseThrow(
            () -> new IllegalStateException("symbol " + symbol + " missing from " + LIBRARY_FILE));
        return critical ?
            linker.downcallHandle(address, descriptor, Linker.Option.critical(true)) :
            linker.downcallHandle(address, descriptor);
    }

    @SuppressWarnings("restricted")
    private static SymbolLookup open()
    {
        final Path path = locate();
        final SymbolLookup lookup;
        try
        {
            lookup = SymbolLookup.libraryLookup(path, Arena.global());
        }
        catch (final IllegalArgumentException e)
        {
            throw new IllegalStateException("cannot load " + path + ": " + e.getMessage(), e);
        }
        final Linker linker = Linker.nativeLinker();
        final int version = callInt(linker, lookup, "polypi_abi_version");
        if (version != ABI_VERSION)
        {
            throw new IllegalStateException(path + " has ABI version " + version + ", this code needs " + ABI_VERSION +
                " (stale library: rebuild polypi-native)");
        }
        if (callInt(linker, lookup, "polypi_cpu_supported") == 0)
        {
            throw new IllegalStateException(path + " was compiled with -march=native for another CPU and uses " +
                "instructions this one lacks (rebuild polypi-native on this machine)");
        }
        return lookup;
    }

    private static int callInt(final Linker linker, final SymbolLookup lookup, final String symbol)
    {
        final MethodHandle handle = downcall(linker, lookup, symbol, INT_DESCRIPTOR, false);
        try
        {
            return (int)handle.invokeExact();
        }
        catch (final Throwable t)
        {
            throw rethrow(t);
        }
    }

    private static Path locate()
    {
        final String given = System.getProperty(LIBRARY_PROPERTY);
        if (given != null && !given.isBlank())
        {
            final Path path = Path.of(given.trim());
            if (!Files.isRegularFile(path))
            {
                throw new IllegalStateException("-D" + LIBRARY_PROPERTY + "=" + given + " is not a file");
            }
            return path;
        }
        final String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        final String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (!os.startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64")))
        {
            throw new IllegalStateException("unsupported OS/arch " + os + "/" + arch + ": native kernels are built " +
                "for " + PLATFORM + " only");
        }
        try (InputStream in = NativeLibrary.class.getResourceAsStream(RESOURCE))
        {
            if (in == null)
            {
                throw new IllegalStateException(RESOURCE + " is not on the class path: gcc was missing when " +
                    "polypi-native was built (build-native.sh skipped it); install gcc and rebuild, or pass -D" +
                    LIBRARY_PROPERTY + "=<path to libpolypi.so>");
            }
            final Path file = Files.createTempFile("libpolypi-", ".so");
            file.toFile().deleteOnExit();
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            return file;
        }
        catch (final IOException e)
        {
            throw new IllegalStateException("cannot extract " + RESOURCE + " to a temporary file: " + e, e);
        }
    }
}
