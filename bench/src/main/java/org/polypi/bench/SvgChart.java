package org.polypi.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A dependency-free SVG bar chart of the kernel report: product rates per shape and backend, and bandwidths of the
 * memory-bound kernels per size, each with its target line, stamped with machine, JDK, commit and date.
 */
final class SvgChart
{
    private static final int WIDTH = 1000;
    private static final int PANEL_HEIGHT = 330;
    private static final int LEFT = 60;
    private static final int RIGHT = 20;
    private static final int TOP = 40;
    private static final int BOTTOM = 50;
    private static final int STAMP_HEIGHT = 70;
    private static final int GRID_LINES = 5;
    private static final double HEADROOM = 1.15;
    private static final double GROUP_FILL = 0.8;
    private static final String[] COLOURS = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#d62728", "#8c564b"};

    private SvgChart()
    {
    }

    /** A panel's data: {@code values[series][group]}, NaN where not measured. */
    private record Panel(String title, String unit, List<String> groups, List<String> series, double[][] values,
                         double target, String targetLabel)
    {
    }

    static String render(final MachineStamp stamp, final Analysis analysis)
    {
        final List<Panel> panels = List.of(gemmPanel(analysis), bandwidthPanel(analysis));
        final int height = panels.size() * PANEL_HEIGHT + STAMP_HEIGHT;
        final StringBuilder svg = new StringBuilder();
        svg.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" " +
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">%n", WIDTH, height, WIDTH, height));
        svg.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", WIDTH, height));
        for (int i = 0; i < panels.size(); i++)
        {
            panel(svg, panels.get(i), i * PANEL_HEIGHT);
        }
        final int y = panels.size() * PANEL_HEIGHT + 20;
        text(svg, LEFT, y, "start", 11, stamp.machine());
        text(svg, LEFT, y + 16, "start", 11, "JDK " + stamp.jdk() + "; " + stamp.os());
        text(svg, LEFT, y + 32, "start", 11, "commit " + stamp.commit() + "; " + stamp.date());
        svg.append("</svg>\n");
        return svg.toString();
    }

    private static Panel gemmPanel(final Analysis analysis)
    {
        final List<String> shapes = analysis.gemmShapes();
        final List<String> series = Analysis.GEMM_BACKENDS;
        final double[][] values = new double[series.size()][shapes.size()];
        for (int s = 0; s < series.size(); s++)
        {
            for (int g = 0; g < shapes.size(); g++)
            {
                values[s][g] = analysis.gemmRate(series.get(s), shapes.get(g));
            }
        }
        return new Panel("Z_2^64 matrix product (MxKxN), Gma/s, higher is better", Analysis.GMAS, shapes,
            List.of("vector 1 thread", "vector 2 threads", "native C", "scalar"), values, Analysis.GEMM_TARGET_GMAS,
            "target 1 thread at 1024³");
    }

    private static Panel bandwidthPanel(final Analysis analysis)
    {
        final List<String> sizes = new ArrayList<>(analysis.params(Analysis.ELEMENTWISE, "size"));
        for (final String words : analysis.params(Analysis.PRG, "words"))
        {
            if (!sizes.contains(words))
            {
                sizes.add(words);
            }
        }
        sizes.sort((x, y) -> Long.compare(Long.parseLong(x), Long.parseLong(y)));
        final List<String> series = new ArrayList<>(Analysis.ELEMENTWISE_KERNELS);
        series.add("PRG");
        final double[][] values = new double[series.size()][sizes.size()];
        final List<String> groups = new ArrayList<>();
        for (int g = 0; g < sizes.size(); g++)
        {
            final String size = sizes.get(g);
            groups.add(Analysis.sizeLabel(size) + " longs");
            for (int s = 0; s < series.size(); s++)
            {
                values[s][g] = s < Analysis.ELEMENTWISE_KERNELS.size() ?
                    analysis.find(Analysis.ELEMENTWISE, series.get(s), "size", size).map(Analysis::value)
                        .orElse(Double.NaN) :
                    analysis.find(Analysis.PRG, "fill", "words", size).map(Analysis::value).orElse(Double.NaN);
            }
        }
        return new Panel("Memory-bound kernels, GB/s read + written (PRG: written), higher is better", Analysis.GBS,
            groups, series, values, Analysis.PRG_TARGET_GBS, "PRG target");
    }

    private static void panel(final StringBuilder svg, final Panel p, final int y0)
    {
        final int plotTop = y0 + TOP;
        final int plotBottom = y0 + PANEL_HEIGHT - BOTTOM;
        final int plotWidth = WIDTH - LEFT - RIGHT;
        final double max = niceMax(Math.max(p.target(), maxOf(p.values())) * HEADROOM);
        text(svg, LEFT, y0 + 20, "start", 13, p.title());

        for (int i = 0; i <= GRID_LINES; i++)
        {
            final double v = max * i / GRID_LINES;
            final double y = plotBottom - (plotBottom - plotTop) * (double)i / GRID_LINES;
            svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>%n",
                LEFT, y, LEFT + plotWidth, y));
            text(svg, LEFT - 6, y + 4, "end", 10, Analysis.format(v));
        }
        svg.append(String.format(Locale.ROOT, "<text x=\"0\" y=\"0\" text-anchor=\"middle\" font-size=\"11\" " +
            "transform=\"translate(16,%.1f) rotate(-90)\">%s</text>%n", (plotTop + plotBottom) / 2.0, escape(p.unit())));

        final int groups = p.groups().size();
        final int series = p.series().size();
        if (groups > 0)
        {
            final double groupWidth = (double)plotWidth / groups;
            final double barWidth = groupWidth * GROUP_FILL / series;
            for (int g = 0; g < groups; g++)
            {
                final double gx = LEFT + g * groupWidth + groupWidth * (1 - GROUP_FILL) / 2;
                for (int s = 0; s < series; s++)
                {
                    final double v = p.values()[s][g];
                    if (Double.isNaN(v))
                    {
                        continue;
                    }
                    final double h = (plotBottom - plotTop) * Math.min(v, max) / max;
                    final double x = gx + s * barWidth;
                    svg.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" " +
                        "fill=\"%s\"/>%n", x, plotBottom - h, barWidth * 0.92, h, COLOURS[s % COLOURS.length]));
                    text(svg, x + barWidth / 2, plotBottom - h - 3, "middle", 8, Analysis.format(v));
                }
                text(svg, LEFT + (g + 0.5) * groupWidth, plotBottom + 16, "middle", 11, p.groups().get(g));
            }
        }
        final double ty = plotBottom - (plotBottom - plotTop) * p.target() / max;
        svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#d62728\" " +
            "stroke-dasharray=\"6,4\"/>%n", LEFT, ty, LEFT + plotWidth, ty));
        text(svg, LEFT + plotWidth - 4, ty - 4, "end", 10, p.targetLabel() + " " + Analysis.format(p.target()) + " " +
            p.unit());
        svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>%n",
            LEFT, plotBottom, LEFT + plotWidth, plotBottom));

        // Legend, one row under the axis labels.
        double lx = LEFT;
        final int ly = plotBottom + 34;
        for (int s = 0; s < series; s++)
        {
            svg.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>%n",
                lx, ly - 9, COLOURS[s % COLOURS.length]));
            text(svg, lx + 14, ly, "start", 11, p.series().get(s));
            lx += 24 + 7 * p.series().get(s).length();
        }
    }

    private static double maxOf(final double[][] values)
    {
        double max = 0;
        for (final double[] row : values)
        {
            for (final double v : row)
            {
                if (!Double.isNaN(v) && v > max)
                {
                    max = v;
                }
            }
        }
        return max;
    }

    /** Rounds up to 1, 2 or 5 times a power of ten. */
    private static double niceMax(final double v)
    {
        if (!(v > 0))
        {
            return 1;
        }
        final double power = Math.pow(10, Math.floor(Math.log10(v)));
        for (final double step : new double[] {1, 2, 5, 10})
        {
            if (step * power >= v)
            {
                return step * power;
            }
        }
        return 10 * power;
    }

    private static void text(final StringBuilder svg, final double x, final double y, final String anchor,
                             final int size, final String content)
    {
        svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\">%s</text>%n",
            x, y, anchor, size, escape(content)));
    }

    private static String escape(final String s)
    {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
