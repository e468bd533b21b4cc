package org.polypi.bench;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import javax.imageio.ImageIO;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.style.Styler;

/**
 * The PNG charts of a run (XChart): online latency per workload, ReLU against the polynomial variants, one panel
 * per network profile (batch 1); and the online time per layer type, stacked, one panel per workload. Every variant
 * and layer type keeps its colour across panels.
 */
final class E2eCharts
{
    private static final int PANEL_WIDTH = 800;
    private static final int PANEL_HEIGHT = 520;
    private static final int COLUMNS = 2;
    /** One colour per variant, in {@link E2eVariant} order. */
    private static final Color[] VARIANT_COLORS = {new Color(0x4C72B0), new Color(0xDD8452), new Color(0xDA8BC3),
        new Color(0xC44E52), new Color(0x937860), new Color(0x55A868), new Color(0x8172B3)};
    /** One colour per layer type, in {@link E2eRunner#LAYER_TYPES} order. */
    private static final Color[] TYPE_COLORS = {new Color(0x4C72B0), new Color(0xDD8452), new Color(0xC44E52),
        new Color(0x55A868), new Color(0x8C8C8C), new Color(0x937860)};

    private E2eCharts()
    {
    }

    /** Writes the latency chart; returns false if there was nothing to draw. */
    static boolean latency(final List<E2eResult> results, final Path png) throws IOException
    {
        final List<CategoryChart> panels = new ArrayList<>();
        for (final E2eProfile p : E2eProfile.values())
        {
            final Set<E2eWorkload> workloads = new LinkedHashSet<>();
            final Set<E2eVariant> variants = new LinkedHashSet<>();
            double min = Double.MAX_VALUE;
            for (final E2eResult r : results)
            {
                if (r.ok() && r.cell().profile() == p && r.cell().batch() == 1)
                {
                    workloads.add(r.cell().workload());
                    variants.add(r.cell().variant());
                    min = Math.min(min, r.onlineMedianMs());
                }
            }
            if (workloads.isEmpty())
            {
                continue;
            }
            final CategoryChart chart = chart("online latency, batch 1, " + p.id(), "workload", "ms (log scale)");
            chart.getStyler().setYAxisLogarithmic(true);
            // The value on each bar: a log axis of one decade has few ticks.
            chart.getStyler().setLabelsVisible(true);
            chart.getStyler().setLabelsRotation(90);
            chart.getStyler().setDecimalPattern("#,##0.##");
            // A log axis needs an explicit bottom: bars start there (XChart refuses a log axis down to zero).
            chart.getStyler().setYAxisMin(Math.pow(10, Math.floor(Math.log10(min))));
            final List<String> x = new ArrayList<>();
            for (final E2eWorkload w : workloads)
            {
                x.add(w.name());
            }
            for (final E2eVariant v : E2eVariant.values())
            {
                if (!variants.contains(v))
                {
                    continue;
                }
                final List<Double> y = new ArrayList<>();
                for (final E2eWorkload w : workloads)
                {
                    y.add(value(results, new E2eCell(w, v, p, 1)));
                }
                final CategorySeries s = chart.addSeries(v.shortLabel(), x, y);
                s.setFillColor(VARIANT_COLORS[v.ordinal()]);
            }
            panels.add(chart);
        }
        return save(panels, png);
    }

    /** Writes the time-breakdown chart (lan if measured, else in memory; batch 1); false if nothing to draw. */
    static boolean breakdown(final List<E2eResult> results, final Path png) throws IOException
    {
        E2eProfile profile = null;
        for (final E2eProfile p : new E2eProfile[]{E2eProfile.LAN, E2eProfile.INMEM, E2eProfile.LAN_1G,
            E2eProfile.WAN})
        {
            for (final E2eResult r : results)
            {
                if (profile == null && r.ok() && r.cell().profile() == p && r.cell().batch() == 1)
                {
                    profile = p;
                }
            }
        }
        if (profile == null)
        {
            return false;
        }
        final List<CategoryChart> panels = new ArrayList<>();
        for (final E2eWorkload w : E2eWorkload.values())
        {
            final List<E2eResult> cells = new ArrayList<>();
            final List<String> x = new ArrayList<>();
            for (final E2eResult r : results)
            {
                if (r.ok() && r.cell().workload() == w && r.cell().profile() == profile && r.cell().batch() == 1)
                {
                    cells.add(r);
                    x.add(r.cell().variant().id());
                }
            }
            if (cells.isEmpty())
            {
                continue;
            }
            final CategoryChart chart = chart(w.label() + ": online time per layer type, batch 1, " + profile.id(),
                "activation", "ms per query");
            chart.getStyler().setStacked(true);
            for (int t = 0; t < E2eRunner.LAYER_TYPES.size(); t++)
            {
                final String type = E2eRunner.LAYER_TYPES.get(t);
                final List<Double> y = new ArrayList<>();
                for (final E2eResult r : cells)
                {
                    y.add(r.breakdownMs().getOrDefault(type, 0.0));
                }
                chart.addSeries(type, x, y).setFillColor(TYPE_COLORS[t]);
            }
            panels.add(chart);
        }
        return save(panels, png);
    }

    private static CategoryChart chart(final String title, final String xTitle, final String yTitle)
    {
        final CategoryChart chart = new CategoryChartBuilder().width(PANEL_WIDTH).height(PANEL_HEIGHT).title(title)
            .xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        chart.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
        return chart;
    }

    /** Draws the panels into one image, {@value #COLUMNS} per row (a last odd panel leaves a white slot). */
    private static boolean save(final List<CategoryChart> panels, final Path png) throws IOException
    {
        if (panels.isEmpty())
        {
            return false;
        }
        final int columns = Math.min(COLUMNS, panels.size());
        final int rows = (panels.size() + columns - 1) / columns;
        final BufferedImage image = new BufferedImage(columns * PANEL_WIDTH, rows * PANEL_HEIGHT,
            BufferedImage.TYPE_INT_RGB);
        final Graphics2D g = image.createGraphics();
        try
        {
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, image.getWidth(), image.getHeight());
            for (int i = 0; i < panels.size(); i++)
            {
                g.drawImage(BitmapEncoder.getBufferedImage(panels.get(i)), (i % columns) * PANEL_WIDTH,
                    (i / columns) * PANEL_HEIGHT, null);
            }
        }
        finally
        {
            g.dispose();
        }
        if (!ImageIO.write(image, "png", png.toFile()))
        {
            throw new IOException("no PNG writer in this JDK");
        }
        return true;
    }

    private static Double value(final List<E2eResult> results, final E2eCell cell)
    {
        for (final E2eResult r : results)
        {
            if (r.ok() && r.cell().equals(cell))
            {
                return r.onlineMedianMs();
            }
        }
        return null;
    }
}
