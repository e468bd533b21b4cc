package org.polypi.bench;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Turns raw JMH times into the figures the kernel acceptance criteria speak of (Gma/s, GB/s, ratios) and checks
 * each against its target. Missing measurements (a benchmark that failed or was filtered out) give a MISSING check,
 * never a pass.
 */
final class Analysis
{
    static final String GEMM = "GemmBench";
    static final String CONV = "ConvBench";
    static final String ELEMENTWISE = "ElementwiseBench";
    static final String PRG = "PrgBench";

    /** GEMM backends (benchmark methods), in report column order. */
    static final List<String> GEMM_BACKENDS = List.of("vector1t", "vector2t", "native1t", "scalar1t");
    /** Elementwise kernels (benchmark methods), in report order; copy is the reference. */
    static final List<String> ELEMENTWISE_KERNELS = List.of("copy", "polynomial2", "polynomial4", "add", "addInPlace");

    static final String ACCEPTANCE_SHAPE = "1024x1024x1024";
    static final String CONV_PRODUCT_SHAPE = "1024x576x64";
    static final double GEMM_TARGET_GMAS = 12.0;
    static final double VECTOR_VS_NATIVE_TARGET = 0.9;
    static final double TWO_CORES_TARGET = 1.8;
    static final double CONV_OVER_PRODUCT_TARGET = 1.3;
    static final double ELEMENTWISE_VS_COPY_TARGET = 0.8;
    static final double PRG_TARGET_GBS = 10.0;

    static final String GMAS = "Gma/s";
    static final String GBS = "GB/s";
    static final String RATIO = "x";

    private static final double NS_PER_US = 1e3;
    private static final int ADD_STREAMS = 3;
    private static final int COPY_STREAMS = 2;

    /** Whether a measured value must be at least or at most its threshold. */
    enum Direction
    {
        AT_LEAST(">="), AT_MOST("<=");

        final String symbol;

        Direction(final String symbol)
        {
            this.symbol = symbol;
        }
    }

    /**
     * One acceptance check.
     *
     * @param name      what is compared.
     * @param direction at least / at most.
     * @param threshold the target value.
     * @param measured  the measured value, NaN when a measurement is missing.
     * @param unit      unit of both.
     */
    record Check(String name, Direction direction, double threshold, double measured, String unit)
    {
        String target()
        {
            return direction.symbol + " " + format(threshold) + " " + unit;
        }

        String measuredText()
        {
            return Double.isNaN(measured) ? "n/a" : format(measured) + " " + unit;
        }

        String result()
        {
            if (Double.isNaN(measured))
            {
                return "MISSING";
            }
            final boolean pass = direction == Direction.AT_LEAST ? measured >= threshold : measured <= threshold;
            return pass ? "PASS" : "FAIL";
        }
    }

    /**
     * One acceptance item: its checks plus the measurements behind them.
     *
     * @param title   heading.
     * @param why     one paragraph on what is measured.
     * @param checks  the acceptance checks.
     * @param headers columns of the supporting table.
     * @param rows    rows of the supporting table.
     */
    record Section(String title, String why, List<Check> checks, List<String> headers, List<List<String>> rows)
    {
    }

    private final List<Measurement> measurements;

    Analysis(final List<Measurement> measurements)
    {
        this.measurements = List.copyOf(measurements);
    }

    List<Measurement> measurements()
    {
        return measurements;
    }

    /** All acceptance items, in report order. */
    List<Section> sections()
    {
        return List.of(gemmRate(), vectorVsNative(), twoCores(), convolution(), elementwise(), prg());
    }

    /** Every check of every section. */
    List<Check> checks()
    {
        final List<Check> all = new ArrayList<>();
        for (final Section s : sections())
        {
            all.addAll(s.checks());
        }
        return all;
    }

    /** The derived figure of a measurement: Gma/s for products and convolutions, GB/s for the rest. */
    static double value(final Measurement m)
    {
        return switch (m.benchmark())
        {
            case GEMM, CONV -> multiplyAdds(m) / m.nsPerOp();
            default -> bytes(m) / m.nsPerOp();
        };
    }

    /** Unit of {@link #value}. */
    static String unit(final Measurement m)
    {
        return m.benchmark().equals(GEMM) || m.benchmark().equals(CONV) ? GMAS : GBS;
    }

    static String format(final double v)
    {
        if (Double.isNaN(v))
        {
            return "n/a";
        }
        return String.format(Locale.ROOT, Math.abs(v) >= 100 ? "%.0f" : Math.abs(v) >= 10 ? "%.1f" : "%.2f", v);
    }

    // ---- sections ----------------------------------------------------------------------------------------

    private Section gemmRate()
    {
        final Check check = new Check("vector backend, 1 thread, " + ACCEPTANCE_SHAPE, Direction.AT_LEAST,
            GEMM_TARGET_GMAS, gemmRate("vector1t", ACCEPTANCE_SHAPE), GMAS);
        final List<List<String>> rows = new ArrayList<>();
        for (final String shape : gemmShapes())
        {
            final List<String> row = new ArrayList<>();
            row.add(shape);
            row.add(format(multiplyAdds(shape) / 1e6));
            for (final String backend : GEMM_BACKENDS)
            {
                row.add(format(gemmRate(backend, shape)));
            }
            row.add(format(gemm("vector1t", shape).map(m -> m.nsPerOp() / NS_PER_US).orElse(Double.NaN)));
            rows.add(row);
        }
        return new Section("Single-thread Z_2^64 product rate",
            "C = A·B over Z_2^64, row-major, off-heap, Gma/s = 10^9 multiply-adds per second. Shapes: W1 fc 784-128 " +
                "at batch 1 and 64, W2 fc 800-500 at batch 64, W3's largest conv as im2col (1024x576x64), a W4 " +
                "stage-3 conv as im2col (64x2304x256), and the square ceilings 256³ and 1024³. Scalar runs only at " +
                "small shapes.",
            List.of(check),
            List.of("shape (MxKxN)", "M mult-adds", "vector 1t", "vector 2t", "native", "scalar", "vector 1t µs"),
            rows);
    }

    private Section vectorVsNative()
    {
        final Check check = new Check("vector 1 thread / native, " + ACCEPTANCE_SHAPE, Direction.AT_LEAST,
            VECTOR_VS_NATIVE_TARGET, gemmRate("vector1t", ACCEPTANCE_SHAPE) / gemmRate("native1t", ACCEPTANCE_SHAPE),
            RATIO);
        final List<List<String>> rows = new ArrayList<>();
        for (final String shape : gemmShapes())
        {
            final double vector = gemmRate("vector1t", shape);
            final double nat = gemmRate("native1t", shape);
            rows.add(List.of(shape, format(vector), format(nat), format(vector / nat)));
        }
        return new Section("Vector API vs native C",
            "The same register-blocked kernel design in Java (Vector API over MemorySegment) and in C (gcc -O3 " +
                "-march=native, AVX-512, called through FFM), both on one thread. Ratio = vector rate / native rate.",
            List.of(check),
            List.of("shape (MxKxN)", "vector 1t Gma/s", "native Gma/s", "vector / native"),
            rows);
    }

    private Section twoCores()
    {
        final Check check = new Check("vector 2 threads / 1 thread, " + ACCEPTANCE_SHAPE, Direction.AT_LEAST,
            TWO_CORES_TARGET, gemmRate("vector2t", ACCEPTANCE_SHAPE) / gemmRate("vector1t", ACCEPTANCE_SHAPE), RATIO);
        final List<List<String>> rows = new ArrayList<>();
        for (final String shape : gemmShapes())
        {
            final double one = gemmRate("vector1t", shape);
            final double two = gemmRate("vector2t", shape);
            rows.add(List.of(shape, format(one), format(two), format(two / one)));
        }
        return new Section("Two cores vs one",
            "The vector kernel split over at most two threads (the caller plus one pool worker) against one thread.",
            List.of(check),
            List.of("shape (MxKxN)", "1 thread Gma/s", "2 threads Gma/s", "speed-up"),
            rows);
    }

    private Section convolution()
    {
        final Optional<Measurement> conv = find(CONV, "conv1t", null, null);
        final Optional<Measurement> product = find(CONV, "product1t", "productShape", CONV_PRODUCT_SHAPE);
        final double ratio = conv.isPresent() && product.isPresent() ?
            conv.get().nsPerOp() / product.get().nsPerOp() : Double.NaN;
        final Check check = new Check("conv time / " + CONV_PRODUCT_SHAPE + " product time", Direction.AT_MOST,
            CONV_OVER_PRODUCT_TARGET, ratio, RATIO);
        final List<List<String>> rows = new ArrayList<>();
        for (final Measurement m : select(CONV))
        {
            final String label = m.method().equals("conv1t") ? "conv 3x3 64->64 pad 1, 32x32, batch 1" :
                "product " + m.param("productShape");
            rows.add(List.of(label, format(m.nsPerOp() / NS_PER_US), format(value(m)),
                format(conv.map(c -> c.nsPerOp() / m.nsPerOp()).orElse(Double.NaN))));
        }
        return new Section("Convolution vs the same-size product",
            "W3's 64->64 3x3 conv (pad 1, 32x32, batch 1, 37.7 M multiply-adds) against products with the same " +
                "multiply-add count, vector backend, one thread each.",
            List.of(check),
            List.of("kernel", "µs", "Gma/s", "conv time / this time"),
            rows);
    }

    private Section elementwise()
    {
        final List<Check> checks = new ArrayList<>();
        final List<List<String>> rows = new ArrayList<>();
        for (final String size : params(ELEMENTWISE, "size"))
        {
            final double copy = find(ELEMENTWISE, "copy", "size", size).map(Analysis::value).orElse(Double.NaN);
            for (final String kernel : ELEMENTWISE_KERNELS)
            {
                final Optional<Measurement> m = find(ELEMENTWISE, kernel, "size", size);
                final double gbs = m.map(Analysis::value).orElse(Double.NaN);
                rows.add(List.of(sizeLabel(size), kernel, format(m.map(x -> x.nsPerOp() / NS_PER_US).orElse(Double.NaN)),
                    format(gbs), format(gbs / copy)));
                if (!kernel.equals("copy"))
                {
                    checks.add(new Check(kernel + " / copy bandwidth, " + sizeLabel(size), Direction.AT_LEAST,
                        ELEMENTWISE_VS_COPY_TARGET, gbs / copy, RATIO));
                }
            }
        }
        if (checks.isEmpty())
        {
            checks.add(new Check("polynomial and add / copy bandwidth", Direction.AT_LEAST, ELEMENTWISE_VS_COPY_TARGET,
                Double.NaN, RATIO));
        }
        return new Section("Elementwise kernels vs copy bandwidth",
            "Vector backend as the engine calls it (split over both cores from 2^18 elements on shared segments), " +
                "against MemorySegment.copy on one thread at the same element count. GB/s counts bytes read " +
                "plus written: 16 B per element for copy and polynomial, 24 B for add (in place too). 1 M longs = " +
                "8 MiB per array; 32 M longs = 256 MiB per array (DRAM).",
            checks,
            List.of("elements", "kernel", "µs", "GB/s", "/ copy"),
            rows);
    }

    private Section prg()
    {
        final List<Check> checks = new ArrayList<>();
        final List<List<String>> rows = new ArrayList<>();
        for (final Measurement m : select(PRG))
        {
            final String words = m.param("words");
            final double gbs = value(m);
            checks.add(new Check("AES-CTR PRG fill, " + sizeLabel(words) + " words", Direction.AT_LEAST, PRG_TARGET_GBS,
                gbs, GBS));
            rows.add(List.of(sizeLabel(words), format(m.nsPerOp() / NS_PER_US), format(gbs), format(gbs / Long.BYTES)));
        }
        if (checks.isEmpty())
        {
            checks.add(new Check("AES-CTR PRG fill", Direction.AT_LEAST, PRG_TARGET_GBS, Double.NaN, GBS));
        }
        return new Section("Pseudo-random generator",
            "AesCtrPrg (AES-128 in counter mode, the dealer's source of correlated randomness) filling off-heap " +
                "64-bit words.",
            checks,
            List.of("words", "µs", "GB/s", "G words/s"),
            rows);
    }

    // ---- lookups -----------------------------------------------------------------------------------------

    /** Gma/s of a GEMM backend at a shape, NaN if not measured. */
    double gemmRate(final String backend, final String shape)
    {
        return gemm(backend, shape).map(Analysis::value).orElse(Double.NaN);
    }

    private Optional<Measurement> gemm(final String backend, final String shape)
    {
        return find(GEMM, backend, backend.equals("scalar1t") ? "scalarShape" : "shape", shape);
    }

    /** Every GEMM shape measured, by multiply-add count. */
    List<String> gemmShapes()
    {
        final Set<String> shapes = new LinkedHashSet<>();
        for (final Measurement m : select(GEMM))
        {
            shapes.add(shape(m));
        }
        final List<String> sorted = new ArrayList<>(shapes);
        sorted.sort(Comparator.comparingDouble((final String shape) -> multiplyAdds(shape))
            .thenComparing(Comparator.naturalOrder()));
        return sorted;
    }

    /** The values of a numeric parameter measured in a benchmark, ascending. */
    List<String> params(final String benchmark, final String name)
    {
        final Set<String> values = new LinkedHashSet<>();
        for (final Measurement m : select(benchmark))
        {
            if (m.param(name) != null)
            {
                values.add(m.param(name));
            }
        }
        final List<String> sorted = new ArrayList<>(values);
        sorted.sort(Comparator.comparingLong(Long::parseLong));
        return sorted;
    }

    private List<Measurement> select(final String benchmark)
    {
        return measurements.stream().filter(m -> m.benchmark().equals(benchmark)).toList();
    }

    /** The measurement of a method, with {@code param = value} unless {@code param} is null. */
    Optional<Measurement> find(final String benchmark, final String method, final String param,
                                       final String value)
    {
        return measurements.stream()
            .filter(m -> m.benchmark().equals(benchmark) && m.method().equals(method))
            .filter(m -> param == null || value.equals(m.param(param)))
            .findFirst();
    }

    // ---- work counts -------------------------------------------------------------------------------------

    private static String shape(final Measurement m)
    {
        for (final String name : List.of("shape", "scalarShape", "productShape"))
        {
            if (m.param(name) != null)
            {
                return m.param(name);
            }
        }
        throw new IllegalArgumentException("no shape parameter in " + m);
    }

    private static double multiplyAdds(final Measurement m)
    {
        if (m.benchmark().equals(CONV) && m.method().equals("conv1t"))
        {
            return ConvBench.LAYER.multiplyAdds();
        }
        return multiplyAdds(shape(m));
    }

    static double multiplyAdds(final String shape)
    {
        final int[] d = BenchSupport.parseShape(shape);
        return (double)d[0] * d[1] * d[2];
    }

    private static double bytes(final Measurement m)
    {
        if (m.benchmark().equals(PRG))
        {
            return Double.parseDouble(m.param("words")) * Long.BYTES;
        }
        final double elements = Double.parseDouble(m.param("size"));
        final int streams = m.method().startsWith("add") ? ADD_STREAMS : COPY_STREAMS;
        return elements * Long.BYTES * streams;
    }

    /** "1M", "32M" for powers of two in mega-elements, else the number. */
    static String sizeLabel(final String count)
    {
        final long n = Long.parseLong(count);
        final long mega = 1L << 20;
        return n % mega == 0 ? (n / mega) + "M" : count;
    }
}
