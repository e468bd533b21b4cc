package org.polypi.engine.secure;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.polypi.datasets.Dataset;
import org.polypi.engine.plan.CompiledModel;
import org.polypi.engine.protocol.Dealer;
import org.polypi.engine.transport.InMemoryTransport;
import org.polypi.engine.transport.Party;
import org.polypi.kernels.Kernels;
import org.polypi.model.ReferenceNetworks.Workload;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Dealer material ahead of time: the bounded pool and material files give exactly the material live dealing gives
 * (same seed: the same logits to the last bit, since every faithful carry depends only on the value and the dealer's
 * r, and the same measured costs), the pool never holds more than its capacity and leaves no thread behind, a file
 * is single-use (a second open and a copy are refused), and a truncated, corrupt or mismatched file fails clearly
 * without being consumed.
 */
final class DealerMaterialTest
{
    private static final int BATCH = 4;
    private static final int QUERIES = 3;
    private static final long SEED = 77;
    private static final Duration WAIT = Duration.ofSeconds(20);

    /** W1 with ReLU: linear triples, truncation pairs and comparison pieces (several messages) in one plan. */
    private static CompiledModel relu;
    /** W1 with the quadratic: another plan. */
    private static CompiledModel poly;
    private static float[] images;
    private static int count;

    @BeforeAll
    static void setUp()
    {
        relu = TestData.model(Workload.MLP, TestData.Act.RELU, 12);
        poly = TestData.model(Workload.MLP, TestData.Act.POLY2, 12);
        final Dataset data = TestData.images(Workload.MLP, (QUERIES + 2) * BATCH);
        images = data.toFloatArray();
        count = data.count();
    }

    private static SessionOptions options()
    {
        return SessionOptions.of(BATCH).withDealerSeed(TestData.seed(SEED));
    }

    private static InferenceResult run(final CompiledModel model, final SessionOptions options, final int items)
    {
        try (InMemorySession s = InMemorySession.start(model, options))
        {
            return s.infer(images, items);
        }
    }

    @Test
    void thePoolGivesTheLiveMaterialHoldsAtMostItsCapacityAndStopsCleanly() throws Exception
    {
        final int items = QUERIES * BATCH;
        final InferenceResult live = run(relu, options(), items);
        final int capacity = 2;
        final InferenceResult pooled;
        final MaterialPool pool;
        try (InMemorySession s = InMemorySession.start(relu, options().withDealerPool(capacity)))
        {
            pool = s.dealer().pool();
            assertEquals(capacity, pool.capacity());
            // Back-pressure: the producer fills the pool and then waits; it never runs ahead of it.
            final long deadline = System.nanoTime() + WAIT.toNanos();
            while (pool.ready() < capacity && System.nanoTime() < deadline)
            {
                TimeUnit.MILLISECONDS.sleep(5);
            }
            assertEquals(capacity, pool.ready());
            assertEquals(capacity, pool.produced());
            pooled = s.infer(images, items);
            assertEquals(QUERIES, pool.taken());
            assertTrue(pool.produced() <= pool.taken() + capacity, pool.produced() + " produced");
            assertTrue(pool.dealingNanos() > 0);
        }
        assertFalse(pool.producing(), "the producer outlived the session");
        assertArrayEquals(live.output().ringLogits(), pooled.output().ringLogits());
        SecureAgreementTest.assertCostsMatch(relu.plan(), BATCH, pooled);
    }

    @Test
    void closingASessionWhoseProducerIsBlockedOnAFullPoolEndsIt()
    {
        final MaterialPool pool;
        try (InMemorySession s = InMemorySession.start(poly, options().withDealerPool(1)))
        {
            pool = s.dealer().pool();
            assertTrue(pool.producing());
        }
        assertFalse(pool.producing());
        assertEquals(0, pool.ready(), "pooled material is released");
    }

    @Test
    void aMaterialFileGivesTheLiveMaterialThenTheDealerContinuesLive(@TempDir final Path dir)
    {
        final Path file = dir.resolve("w1-relu.mat");
        final MaterialFile.Info info = MaterialFile.write(relu.plan(), BATCH, QUERIES, TestData.seed(SEED),
            Kernels.get(), file);
        assertEquals(QUERIES, info.queries());
        assertEquals(MaterialFile.bytesPerQuery(relu.plan(), BATCH), info.bytesPerQuery());
        assertEquals(info.fileBytes(), size(file));
        assertEquals(info, MaterialFile.inspect(file));
        // More queries than the file holds: the dealer continues live right after the file's material.
        final int items = Math.min(count, (QUERIES + 2) * BATCH);
        final InferenceResult live = run(relu, options(), items);
        final InferenceResult fromFile;
        try (InMemorySession s = InMemorySession.start(relu, SessionOptions.of(BATCH).withDealerMaterial(file)))
        {
            assertFalse(Files.exists(file), "an opened material file is consumed");
            assertEquals(QUERIES, s.dealer().fileQueriesRemaining());
            fromFile = s.infer(images, items);
            assertEquals(0, s.dealer().fileQueriesRemaining());
        }
        assertArrayEquals(live.output().ringLogits(), fromFile.output().ringLogits());
        SecureAgreementTest.assertCostsMatch(relu.plan(), BATCH, fromFile);
    }

    @Test
    void aFileAndThePoolTogether(@TempDir final Path dir)
    {
        final Path file = dir.resolve("w1-poly.mat");
        MaterialFile.write(poly.plan(), BATCH, 1, TestData.seed(SEED), Kernels.get(), file);
        final int items = QUERIES * BATCH;
        final InferenceResult live = run(poly, options(), items);
        final InferenceResult both = run(poly, SessionOptions.of(BATCH).withDealerMaterial(file).withDealerPool(1),
            items);
        assertArrayEquals(live.output().ringLogits(), both.output().ringLogits());
    }

    @Test
    void aMaterialFileIsConsumedOnceEvenAsACopy(@TempDir final Path dir) throws IOException
    {
        final Path file = dir.resolve("once.mat");
        final Path copy = dir.resolve("copy.bin");
        MaterialFile.write(poly.plan(), BATCH, 1, null, Kernels.get(), file);
        Files.copy(file, copy);
        openDealer(poly, file).close();
        assertFalse(Files.exists(file));
        final MaterialFileException gone = assertThrows(MaterialFileException.class, () -> openDealer(poly, file));
        assertTrue(gone.getMessage().contains("does not exist"), gone.getMessage());
        // The same material under its old name: refused by the directory's ledger.
        Files.move(copy, file);
        final MaterialFileException again = assertThrows(MaterialFileException.class, () -> openDealer(poly, file));
        assertTrue(again.getMessage().contains("already consumed"), again.getMessage());
        assertTrue(Files.readString(dir.resolve(MaterialFile.LEDGER_NAME)).lines().count() == 1);
        // A session whose dealer cannot open its file fails before any thread starts.
        final MaterialFileException session = assertThrows(MaterialFileException.class,
            () -> InMemorySession.start(poly, SessionOptions.of(BATCH).withDealerMaterial(dir.resolve("missing"))));
        assertTrue(session.getMessage().contains("does not exist"), session.getMessage());
        // Writing never overwrites.
        assertThrows(IllegalArgumentException.class,
            () -> MaterialFile.write(poly.plan(), BATCH, 1, null, Kernels.get(), file));
    }

    @Test
    void truncatedCorruptAndMismatchedFilesFailClearlyAndAreNotConsumed(@TempDir final Path dir) throws IOException
    {
        final Path good = dir.resolve("good.mat");
        MaterialFile.write(poly.plan(), BATCH, 2, null, Kernels.get(), good);
        final long size = size(good);
        final long perQuery = MaterialFile.bytesPerQuery(poly.plan(), BATCH);

        expect(variant(dir, good, "short.mat", size - 1, -1), poly, BATCH, "truncated");
        expect(variant(dir, good, "header.mat", MaterialFile.HEADER_BYTES - 1, -1), poly, BATCH, "truncated");
        expect(variant(dir, good, "long.mat", size + 8, -1), poly, BATCH, "trailing bytes");
        expect(variant(dir, good, "payload.mat", size, MaterialFile.HEADER_BYTES + perQuery + 100), poly, BATCH,
            "query 1 of 2 fails its checksum");
        expect(variant(dir, good, "hdr.mat", size, 60), poly, BATCH, "header checksum");
        expect(variant(dir, good, "magic.mat", size, 0), poly, BATCH, "not a material file");
        expect(variant(dir, good, "plan.mat", size, -1), relu, BATCH, "was dealt for plan");
        expect(variant(dir, good, "batch.mat", size, -1), poly, BATCH + 1, "batch");
        // None of the failures consumed anything: the good file still opens, once.
        openDealer(poly, good).close();
        assertFalse(Files.exists(good));
    }

    @Test
    void aFailingProducerFailsTheNextTakeAndLeavesNothingBehind()
    {
        final MaterialPool pool = MaterialPool.start(arena ->
        {
            throw new IllegalStateException("dealing failed");
        }, 2);
        final IllegalStateException e = assertThrows(IllegalStateException.class, pool::take);
        assertTrue(e.getMessage().contains("dealing failed"), e.getMessage());
        pool.close();
        assertFalse(pool.producing());
        assertThrows(IllegalStateException.class, pool::take);
    }

    @Test
    void queryMaterialAndDealerPositionsAreSingleUse()
    {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined())
        {
            final QueryMaterial m = new QueryMaterial(arena, new java.lang.foreign.MemorySegment[0][], 0);
            m.take();
            final IllegalStateException e = assertThrows(IllegalStateException.class, m::take);
            assertTrue(e.getMessage().contains("single-use"), e.getMessage());
        }
        try (Dealer d = Dealer.offline(TestData.seed(1), Kernels.get()))
        {
            d.start();
            d.beaverTriple(8);
            final Dealer.Position after = d.position();
            assertEquals(1, after.sequence());
            final IllegalArgumentException back = assertThrows(IllegalArgumentException.class,
                () -> d.resume(new Dealer.Position(0, 0, 0)));
            assertTrue(back.getMessage().contains("dealt twice"), back.getMessage());
        }
    }

    private static SecureDealer openDealer(final CompiledModel model, final Path file)
    {
        final InMemoryTransport[] t = InMemoryTransport.connectThree(WAIT);
        try
        {
            return new SecureDealer(model.plan(), t[Party.DEALER.id()],
                SessionOptions.of(BATCH).withDealerMaterial(file));
        }
        finally
        {
            for (final InMemoryTransport x : t)
            {
                x.close();
            }
        }
    }

    private static void expect(final Path file, final CompiledModel model, final int batch, final String message)
    {
        final InMemoryTransport[] t = InMemoryTransport.connectThree(WAIT);
        try
        {
            final MaterialFileException e = assertThrows(MaterialFileException.class,
                () -> new SecureDealer(model.plan(), t[Party.DEALER.id()],
                    SessionOptions.of(batch).withDealerMaterial(file)).close());
            assertTrue(e.getMessage().contains(message), e.getMessage());
            assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
            assertTrue(Files.exists(file), "a rejected file is not consumed");
        }
        finally
        {
            for (final InMemoryTransport x : t)
            {
                x.close();
            }
        }
    }

    /** A copy of {@code good} cut or padded to {@code length} bytes, with the byte at {@code flip} inverted. */
    private static Path variant(final Path dir, final Path good, final String name, final long length,
                                final long flip) throws IOException
    {
        final Path out = dir.resolve(name);
        final byte[] all = Files.readAllBytes(good);
        final byte[] bytes = java.util.Arrays.copyOf(all, Math.toIntExact(length));
        if (flip >= 0)
        {
            bytes[Math.toIntExact(flip)] ^= (byte)0xFF;
        }
        Files.write(out, bytes);
        return out;
    }

    private static long size(final Path file)
    {
        try (FileChannel c = FileChannel.open(file, StandardOpenOption.READ))
        {
            return c.size();
        }
        catch (final IOException e)
        {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
