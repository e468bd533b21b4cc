package org.polypi.bench;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The charts on synthetic results: any number of panels, missing cells, and nothing to draw. */
final class E2eChartsTest
{
    private static final int PANEL_WIDTH = 800;
    private static final int PANEL_HEIGHT = 520;

    @TempDir
    Path dir;

    @Test
    void oddPanelCountsAndMissingCellsDraw() throws IOException
    {
        System.setProperty("java.awt.headless", "true");
        final List<E2eResult> results = new ArrayList<>();
        double ms = 0.5;
        // Three workloads on lan (three breakdown panels), one profile with a missing (workload, variant).
        for (final E2eWorkload w : List.of(E2eWorkload.W1, E2eWorkload.W2, E2eWorkload.W3))
        {
            for (final E2eVariant v : List.of(E2eVariant.RELU, E2eVariant.PILLAR_HB))
            {
                results.add(result(new E2eCell(w, v, E2eProfile.LAN, 1), ms *= 3));
                if (w != E2eWorkload.W3 || v != E2eVariant.RELU)
                {
                    results.add(result(new E2eCell(w, v, E2eProfile.WAN, 1), ms * 10));
                }
            }
        }
        results.add(E2eResult.notRun(new E2eCell(E2eWorkload.W2, E2eVariant.PILLAR_ESPN, E2eProfile.LAN, 1), "no"));
        final Path latency = dir.resolve("latency.png");
        final Path breakdown = dir.resolve("breakdown.png");
        assertTrue(E2eCharts.latency(results, latency));
        assertTrue(E2eCharts.breakdown(results, breakdown));
        final BufferedImage l = ImageIO.read(latency.toFile());
        final BufferedImage b = ImageIO.read(breakdown.toFile());
        assertEquals(2 * PANEL_WIDTH, l.getWidth(), "lan and wan side by side");
        assertEquals(PANEL_HEIGHT, l.getHeight());
        assertEquals(2 * PANEL_WIDTH, b.getWidth(), "three workload panels, two per row");
        assertEquals(2 * PANEL_HEIGHT, b.getHeight());
    }

    @Test
    void nothingToDrawWritesNothing() throws IOException
    {
        final Path png = dir.resolve("none.png");
        final List<E2eResult> none = List.of(E2eResult.notRun(new E2eCell(E2eWorkload.W1, E2eVariant.RELU,
            E2eProfile.LAN, 1), "not run: test"));
        assertFalse(E2eCharts.latency(none, png));
        assertFalse(E2eCharts.breakdown(none, png));
        assertFalse(Files.exists(png));
    }

    private static E2eResult result(final E2eCell cell, final double ms)
    {
        final Map<String, Double> breakdown = new LinkedHashMap<>();
        for (final String t : E2eRunner.LAYER_TYPES)
        {
            breakdown.put(t, ms / E2eRunner.LAYER_TYPES.size());
        }
        return new E2eResult(cell, E2eResult.OK, "random", "arch", 12, 1000, 1, 3, ms, ms, ms, ms, 1, 1, 1, 1, 1,
            ms / 2, ms / 2, breakdown, List.of(), E2eResult.Accuracy.NONE);
    }
}
