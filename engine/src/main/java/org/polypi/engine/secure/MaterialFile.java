package org.polypi.engine.secure;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.zip.CRC32C;

import org.polypi.engine.plan.Plan;
import org.polypi.engine.plan.PlanStep;
import org.polypi.engine.protocol.Dealer;
import org.polypi.kernels.AesCtrPrg;
import org.polypi.kernels.RingKernels;
import org.polypi.kernels.RingTensor;

/**
 * Dealer material for a separate offline phase: {@link #write} deals N queries' material for a plan into a file;
 * a dealer opened with {@link SessionOptions#withDealerMaterial} later sends it, query by query, on a connection.
 * <p>
 * <b>What is in it.</b> The dealer's master seed (the connection's dealer re-runs the set-up from it: party seeds and
 * weight masks, which must stand where the file's set-up stood), the plan hash and batch it is bound to, where the
 * dealer's sequence and streams stood before and after the queries, and per query the dealer's messages to the
 * server in plan order (the client's material comes from its seed). <b>The file is as secret as the dealer's
 * seed</b>: with it, either computing party could strip the other's masks. Keep it where only the dealer reads it.
 * <p>
 * <b>Layout</b> (version {@value #VERSION}, every integer little-endian): a {@value #HEADER_BYTES}-byte header —
 * magic {@code "POLYPIMT"}, version u32, header size u32, plan hash (32 B), batch u32, fractional bits u32, plan
 * steps u32, queries u32, bytes per query u64, master seed (16 B), file id (16 random bytes), set-up position and
 * end position (each sequence, server words, client words as u64), CRC32C of the preceding header bytes u32, 4 zero
 * bytes — then per query its messages back to back (sizes fixed by the plan) and an 8-byte trailer holding the
 * query's CRC32C (u32) and 4 zero bytes. CRC32C detects corruption; it is no defence against a forger, nor needs to
 * be: the file never leaves the dealer.
 * <p>
 * <b>Reading</b> validates every header field against the plan and batch, and the file's exact size, before
 * allocating anything, then every query's checksum in one streaming pass; a truncated, corrupt or mismatched file
 * fails with a {@link MaterialFileException} naming the file and the field.
 * <p>
 * <b>Single use.</b> A query's material is sent at most once ({@link QueryMaterial#take}). The file as a whole is
 * consumed when a dealer opens it: its random id is appended (under a file lock, synced) to the ledger
 * {@value #LEDGER_NAME} in the file's directory, and the file is deleted; a second open fails (the file is gone),
 * and so does opening a copy of it in the same directory (its id is in the ledger). Both happen only after the file
 * passed validation, so handing a file to the wrong dealer does not waste it. Writing is atomic: the material goes
 * to a temporary file in the same directory, is synced, and is renamed over the target in one step, so a reader
 * never sees a half-written file.
 */
public final class MaterialFile
{
    /**
     * Current format version: 2 since an activation's message carries its candidate differences packed
     * ({@code CandidateDifferences}); a version-1 file is refused by name rather than by its sizes.
     */
    public static final int VERSION = 2;
    /** Bytes of the header. */
    public static final int HEADER_BYTES = 160;
    /** Bytes of the trailer after each query's messages. */
    public static final int QUERY_TRAILER_BYTES = 8;
    /** Most queries one file holds. */
    public static final int MAX_QUERIES = 1 << 20;
    /** Name of the ledger of consumed file ids, in the material file's directory. */
    public static final String LEDGER_NAME = ".polypi-material-ledger";

    private static final byte[] MAGIC = "POLYPIMT".getBytes(StandardCharsets.US_ASCII);
    private static final int ID_BYTES = 16;
    private static final int HASH_BYTES = 32;
    /** Header offsets. */
    private static final int AT_VERSION = 8;
    private static final int AT_HEADER_SIZE = 12;
    private static final int AT_HASH = 16;
    private static final int AT_BATCH = AT_HASH + HASH_BYTES;
    private static final int AT_FRACTIONAL_BITS = AT_BATCH + Integer.BYTES;
    private static final int AT_STEPS = AT_FRACTIONAL_BITS + Integer.BYTES;
    private static final int AT_QUERIES = AT_STEPS + Integer.BYTES;
    private static final int AT_QUERY_BYTES = AT_QUERIES + Integer.BYTES;
    private static final int AT_SEED = AT_QUERY_BYTES + Long.BYTES;
    private static final int AT_ID = AT_SEED + AesCtrPrg.SEED_BYTES;
    private static final int AT_SETUP = AT_ID + ID_BYTES;
    private static final int AT_END = AT_SETUP + 3 * Long.BYTES;
    private static final int AT_HEADER_CRC = AT_END + 3 * Long.BYTES;
    /** Bytes of the streaming buffer of the checksum pass. */
    private static final int CHUNK_BYTES = 1 << 20;
    private static final HexFormat HEX = HexFormat.of();

    private MaterialFile()
    {
    }

    /**
     * What a material file holds.
     *
     * @param file the file.
     * @param planHash the hash of the plan it was dealt for (hex).
     * @param batch items per query.
     * @param queries queries of material.
     * @param bytesPerQuery bytes of one query's messages to the server.
     * @param fileBytes the file's size.
     */
    public record Info(Path file, String planHash, int batch, int queries, long bytesPerQuery, long fileBytes)
    {
    }

    /**
     * Deals {@code queries} queries' material for {@code plan} at {@code batch} items per query from
     * {@code masterSeed} (null: a fresh random seed) and writes it to {@code file} atomically.
     *
     * @throws IllegalArgumentException if an argument is out of range or {@code file} exists.
     * @throws UnsupportedOperationException if the plan has a step without a secure protocol.
     * @throws MaterialFileException if writing fails (nothing is left behind).
     */
    public static Info write(final Plan plan, final int batch, final int queries, final byte[] masterSeed,
                             final RingKernels kernels, final Path file)
    {
        Objects.requireNonNull(plan, "plan");
        Objects.requireNonNull(kernels, "kernels");
        Objects.requireNonNull(file, "file");
        SecureSupport.check(plan);
        if (batch <= 0)
        {
            throw new IllegalArgumentException("batch must be positive, was " + batch);
        }
        if (queries <= 0 || queries > MAX_QUERIES)
        {
            throw new IllegalArgumentException("queries must be in [1, " + MAX_QUERIES + "], was " + queries);
        }
        if (masterSeed != null && masterSeed.length != AesCtrPrg.SEED_BYTES)
        {
            throw new IllegalArgumentException("masterSeed must be " + AesCtrPrg.SEED_BYTES + " bytes, was " +
                masterSeed.length);
        }
        if (Files.exists(file))
        {
            throw new IllegalArgumentException("material file " + file + " exists; material files are not overwritten");
        }
        final byte[] seed = masterSeed == null ? Dealer.randomSeed() : masterSeed.clone();
        final long perQuery = bytesPerQuery(plan, batch);
        final byte[] id = new byte[ID_BYTES];
        new SecureRandom().nextBytes(id);
        final Path temp = file.toAbsolutePath().resolveSibling(file.getFileName() + ".tmp-" + HEX.formatHex(id));
        boolean done = false;
        try (Dealer dealer = Dealer.offline(seed, kernels);
             FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE))
        {
            dealer.start();
            final Dealer.WeightMask[] masks = SecureDealer.drawMasks(dealer, plan, batch);
            final Dealer.Position setup = dealer.position();
            out.position(HEADER_BYTES);
            final List<PlanStep> steps = plan.steps();
            for (int q = 0; q < queries; q++)
            {
                try (Arena arena = Arena.ofConfined())
                {
                    final QueryMaterial m = SecureDealer.deal(dealer, plan, batch, masks,
                        ActivationProtocol.FUSED, arena);
                    final CRC32C crc = new CRC32C();
                    for (int i = 0; i < steps.size(); i++)
                    {
                        final long[] expected = SecureDealer.messageBytes(plan, steps.get(i), batch);
                        final MemorySegment[] got = m.step(i);
                        checkDealt(steps.get(i), expected, got);
                        for (final MemorySegment message : got)
                        {
                            final ByteBuffer b = message.asByteBuffer();
                            crc.update(b.duplicate());
                            writeFully(out, b);
                        }
                    }
                    final ByteBuffer trailer = ByteBuffer.allocate(QUERY_TRAILER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
                    trailer.putInt(0, (int)crc.getValue());
                    writeFully(out, trailer);
                }
            }
            final ByteBuffer header = header(plan, batch, queries, perQuery, seed, id, setup, dealer.position());
            out.position(0);
            writeFully(out, header);
            out.force(true);
            done = true;
            return new Info(file, plan.hashHex(), batch, queries, perQuery, HEADER_BYTES +
                (long)queries * (perQuery + QUERY_TRAILER_BYTES));
        }
        catch (final IOException e)
        {
            done = false;
            throw new MaterialFileException("cannot write material file " + file + ": " + e, e);
        }
        finally
        {
            Arrays.fill(seed, (byte)0);
            if (done)
            {
                // After the channel is closed: the rename publishes a complete, synced file in one step.
                done = publish(temp, file);
            }
            if (!done)
            {
                try
                {
                    Files.deleteIfExists(temp);
                }
                catch (final IOException e)
                {
                    // Best effort: the temporary name never passes for a material file.
                }
            }
        }
    }

    /**
     * Reads a material file's header (validated, checksum included) without consuming the file.
     *
     * @throws MaterialFileException if it is missing, truncated or its header is corrupt.
     */
    public static Info inspect(final Path file)
    {
        try (FileChannel in = openChannel(file))
        {
            final Header h = readHeader(file, in);
            return new Info(file, HEX.formatHex(h.hash), h.batch, h.queries, h.bytesPerQuery, in.size());
        }
        catch (final IOException e)
        {
            throw new MaterialFileException("cannot read material file " + file + ": " + e, e);
        }
    }

    /** Bytes of one query's messages to the server for {@code plan} at {@code batch}. */
    public static long bytesPerQuery(final Plan plan, final int batch)
    {
        long total = 0;
        for (final PlanStep step : plan.steps())
        {
            for (final long b : SecureDealer.messageBytes(plan, step, batch))
            {
                total = Math.addExact(total, b);
            }
        }
        return total;
    }

    /** Messages (pieces) of one query. */
    private static long messagesPerQuery(final Plan plan, final int batch)
    {
        long total = 0;
        for (final PlanStep step : plan.steps())
        {
            total += SecureDealer.messageBytes(plan, step, batch).length;
        }
        return total;
    }

    /**
     * Opens, validates and consumes {@code file} for a dealer of {@code plan} at {@code batch}.
     *
     * @throws MaterialFileException if the file is missing or consumed, truncated, corrupt or mismatched.
     */
    static Reader open(final Path file, final Plan plan, final int batch)
    {
        FileChannel in = null;
        try
        {
            in = openChannel(file);
            final Header h = readHeader(file, in);
            if (!Arrays.equals(h.hash, plan.hash()))
            {
                throw new MaterialFileException("material file " + file + " was dealt for plan " +
                    HEX.formatHex(h.hash) + ", this dealer runs plan " + plan.hashHex());
            }
            if (h.batch != batch)
            {
                throw new MaterialFileException("material file " + file + " was dealt for batch " + h.batch +
                    ", this connection's batch is " + batch);
            }
            if (h.fractionalBits != plan.fractionalBits() || h.steps != plan.steps().size())
            {
                throw new MaterialFileException("material file " + file + " has f = " + h.fractionalBits + " and " +
                    h.steps + " steps, the plan f = " + plan.fractionalBits() + " and " + plan.steps().size());
            }
            final long perQuery = bytesPerQuery(plan, batch);
            if (h.bytesPerQuery != perQuery)
            {
                throw new MaterialFileException("material file " + file + " holds " + h.bytesPerQuery +
                    " bytes per query, the plan at batch " + batch + " needs " + perQuery);
            }
            final long pieces = messagesPerQuery(plan, batch) * h.queries;
            if (h.end.sequence() - h.setup.sequence() != pieces || h.end.serverWords() < h.setup.serverWords() ||
                h.end.clientWords() < h.setup.clientWords())
            {
                throw new MaterialFileException("material file " + file + ": positions " + h.setup + " to " + h.end +
                    " do not span " + h.queries + " queries of " + messagesPerQuery(plan, batch) + " pieces");
            }
            final long expected = HEADER_BYTES + (long)h.queries * (perQuery + QUERY_TRAILER_BYTES);
            final long size = in.size();
            if (size != expected)
            {
                throw new MaterialFileException("material file " + file + " is " + size + " bytes, its header (" +
                    h.queries + " queries of " + perQuery + " bytes) says " + expected +
                    (size < expected ? ": truncated" : ": trailing bytes"));
            }
            verifyChecksums(file, in, h.queries, perQuery);
            consume(file, h.id);
            final Reader r = new Reader(file, in, plan, batch, h, perQuery);
            in = null;
            return r;
        }
        catch (final IOException e)
        {
            throw new MaterialFileException("cannot read material file " + file + ": " + e, e);
        }
        finally
        {
            if (in != null)
            {
                try
                {
                    in.close();
                }
                catch (final IOException e)
                {
                    // already failing
                }
            }
        }
    }

    private static FileChannel openChannel(final Path file) throws IOException
    {
        Objects.requireNonNull(file, "file");
        if (!Files.isRegularFile(file))
        {
            throw new MaterialFileException("material file " + file + " does not exist (never written, or already " +
                "consumed: a dealer deletes a material file when it opens it)");
        }
        return FileChannel.open(file, StandardOpenOption.READ);
    }

    /** The parsed header. */
    private record Header(byte[] hash, int batch, int fractionalBits, int steps, int queries, long bytesPerQuery,
                          byte[] seed, byte[] id, Dealer.Position setup, Dealer.Position end)
    {
    }

    private static Header readHeader(final Path file, final FileChannel in) throws IOException
    {
        final long size = in.size();
        if (size < HEADER_BYTES)
        {
            throw new MaterialFileException("material file " + file + " is " + size + " bytes, shorter than its " +
                HEADER_BYTES + "-byte header: truncated");
        }
        final ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        readFully(in, b, 0);
        final byte[] magic = new byte[MAGIC.length];
        b.get(0, magic);
        if (!Arrays.equals(magic, MAGIC))
        {
            throw new MaterialFileException("material file " + file + " starts with " + HEX.formatHex(magic) +
                ", not the magic " + HEX.formatHex(MAGIC) + ": not a material file");
        }
        final int version = b.getInt(AT_VERSION);
        if (version != VERSION)
        {
            throw new MaterialFileException("material file " + file + " has format version " + version +
                ", this build reads version " + VERSION);
        }
        final CRC32C crc = new CRC32C();
        crc.update(b.slice(0, AT_HEADER_CRC));
        final int stored = b.getInt(AT_HEADER_CRC);
        if (stored != (int)crc.getValue())
        {
            throw new MaterialFileException("material file " + file + ": header checksum " +
                Integer.toHexString(stored) + " != computed " + Long.toHexString(crc.getValue()) + ": corrupt");
        }
        final int headerSize = b.getInt(AT_HEADER_SIZE);
        if (headerSize != HEADER_BYTES)
        {
            throw new MaterialFileException("material file " + file + ": header size " + headerSize + ", expected " +
                HEADER_BYTES);
        }
        final byte[] hash = new byte[HASH_BYTES];
        b.get(AT_HASH, hash);
        final int batch = b.getInt(AT_BATCH);
        final int queries = b.getInt(AT_QUERIES);
        final long perQuery = b.getLong(AT_QUERY_BYTES);
        if (batch <= 0 || queries <= 0 || queries > MAX_QUERIES || perQuery <= 0)
        {
            throw new MaterialFileException("material file " + file + ": batch " + batch + ", queries " + queries +
                " (at most " + MAX_QUERIES + "), bytes per query " + perQuery + ": out of range");
        }
        final byte[] seed = new byte[AesCtrPrg.SEED_BYTES];
        b.get(AT_SEED, seed);
        final byte[] id = new byte[ID_BYTES];
        b.get(AT_ID, id);
        return new Header(hash, batch, b.getInt(AT_FRACTIONAL_BITS), b.getInt(AT_STEPS), queries, perQuery, seed, id,
            position(b, AT_SETUP), position(b, AT_END));
    }

    private static ByteBuffer header(final Plan plan, final int batch, final int queries, final long perQuery,
                                     final byte[] seed, final byte[] id, final Dealer.Position setup,
                                     final Dealer.Position end)
    {
        final ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, MAGIC);
        b.putInt(AT_VERSION, VERSION);
        b.putInt(AT_HEADER_SIZE, HEADER_BYTES);
        b.put(AT_HASH, plan.hash());
        b.putInt(AT_BATCH, batch);
        b.putInt(AT_FRACTIONAL_BITS, plan.fractionalBits());
        b.putInt(AT_STEPS, plan.steps().size());
        b.putInt(AT_QUERIES, queries);
        b.putLong(AT_QUERY_BYTES, perQuery);
        b.put(AT_SEED, seed);
        b.put(AT_ID, id);
        putPosition(b, AT_SETUP, setup);
        putPosition(b, AT_END, end);
        final CRC32C crc = new CRC32C();
        crc.update(b.slice(0, AT_HEADER_CRC));
        b.putInt(AT_HEADER_CRC, (int)crc.getValue());
        return b;
    }

    private static Dealer.Position position(final ByteBuffer b, final int at)
    {
        return new Dealer.Position(b.getLong(at), b.getLong(at + Long.BYTES), b.getLong(at + 2 * Long.BYTES));
    }

    private static void putPosition(final ByteBuffer b, final int at, final Dealer.Position p)
    {
        b.putLong(at, p.sequence());
        b.putLong(at + Long.BYTES, p.serverWords());
        b.putLong(at + 2 * Long.BYTES, p.clientWords());
    }

    private static void checkDealt(final PlanStep step, final long[] expected, final MemorySegment[] got)
    {
        boolean ok = expected.length == got.length;
        for (int i = 0; ok && i < got.length; i++)
        {
            ok = got[i].byteSize() == expected[i];
        }
        if (!ok)
        {
            final long[] sizes = new long[got.length];
            for (int i = 0; i < got.length; i++)
            {
                sizes[i] = got[i].byteSize();
            }
            throw new IllegalStateException("step " + step.name() + " dealt messages of " + Arrays.toString(sizes) +
                " bytes, the plan predicts " + Arrays.toString(expected));
        }
    }

    private static void verifyChecksums(final Path file, final FileChannel in, final int queries,
                                        final long perQuery) throws IOException
    {
        final ByteBuffer chunk = ByteBuffer.allocateDirect(CHUNK_BYTES);
        final ByteBuffer trailer = ByteBuffer.allocate(QUERY_TRAILER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        long at = HEADER_BYTES;
        for (int q = 0; q < queries; q++)
        {
            final CRC32C crc = new CRC32C();
            for (long left = perQuery; left > 0; )
            {
                chunk.clear().limit((int)Math.min(CHUNK_BYTES, left));
                readFully(in, chunk, at);
                chunk.flip();
                crc.update(chunk);
                at += chunk.limit();
                left -= chunk.limit();
            }
            trailer.clear();
            readFully(in, trailer, at);
            at += QUERY_TRAILER_BYTES;
            checkQuery(file, q, queries, trailer, crc);
        }
    }

    private static void checkQuery(final Path file, final int q, final int queries, final ByteBuffer trailer,
                                   final CRC32C crc)
    {
        if (trailer.getInt(0) != (int)crc.getValue() || trailer.getInt(Integer.BYTES) != 0)
        {
            throw new MaterialFileException("material file " + file + ": query " + q + " of " + queries +
                " fails its checksum (stored " + Integer.toHexString(trailer.getInt(0)) + ", computed " +
                Long.toHexString(crc.getValue()) + "): corrupt");
        }
    }

    /** Records the file's id in the directory's ledger (refusing a known id), then deletes the file. */
    private static void consume(final Path file, final byte[] id) throws IOException
    {
        final Path ledger = file.toAbsolutePath().resolveSibling(LEDGER_NAME);
        final String line = HEX.formatHex(id);
        try (FileChannel l = FileChannel.open(ledger, StandardOpenOption.CREATE, StandardOpenOption.READ,
            StandardOpenOption.WRITE); FileLock lock = l.lock())
        {
            final ByteBuffer all = ByteBuffer.allocate(Math.toIntExact(l.size()));
            readFully(l, all, 0);
            final String known = new String(all.array(), StandardCharsets.US_ASCII);
            for (final String k : known.split("\n"))
            {
                if (k.equals(line))
                {
                    throw new MaterialFileException("material file " + file + " (id " + line + ") was already " +
                        "consumed (recorded in " + ledger + "): dealer material is single-use");
                }
            }
            writeFully(l.position(l.size()), ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.US_ASCII)));
            l.force(true);
            if (!lock.isValid())
            {
                throw new IOException("lost the lock on " + ledger);
            }
        }
        Files.delete(file);
    }

    /** Renames the synced temporary file onto the target atomically, or deletes it and fails. */
    private static boolean publish(final Path from, final Path to)
    {
        try
        {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
            return true;
        }
        catch (final IOException e)
        {
            try
            {
                Files.deleteIfExists(from);
            }
            catch (final IOException suppressed)
            {
                e.addSuppressed(suppressed);
            }
            throw new MaterialFileException(e instanceof AtomicMoveNotSupportedException ?
                "the file system of " + to + " cannot rename atomically" :
                "cannot publish material file " + to + ": " + e, e);
        }
    }

    private static void writeFully(final FileChannel out, final ByteBuffer b) throws IOException
    {
        while (b.hasRemaining())
        {
            out.write(b);
        }
    }

    private static void readFully(final FileChannel in, final ByteBuffer b, final long at) throws IOException
    {
        long position = at;
        while (b.hasRemaining())
        {
            final int n = in.read(b, position);
            if (n < 0)
            {
                throw new MaterialFileException("material file ends at byte " + position + ", " + b.remaining() +
                    " bytes early: truncated");
            }
            position += n;
        }
    }

    /**
     * An opened (validated and consumed) material file: the seed and positions for the dealer's set-up, and the
     * queries, read one at a time. Not thread-safe.
     */
    static final class Reader implements AutoCloseable
    {
        private final Path path;
        private final FileChannel in;
        private final Plan plan;
        private final int batch;
        private final Header header;
        private final long perQuery;
        private int next;

        private Reader(final Path path, final FileChannel in, final Plan plan, final int batch, final Header header,
                       final long perQuery)
        {
            this.path = path;
            this.in = in;
            this.plan = plan;
            this.batch = batch;
            this.header = header;
            this.perQuery = perQuery;
        }

        Path path()
        {
            return path;
        }

        byte[] masterSeed()
        {
            return header.seed.clone();
        }

        Dealer.Position setupPosition()
        {
            return header.setup;
        }

        Dealer.Position endPosition()
        {
            return header.end;
        }

        int remaining()
        {
            return header.queries - next;
        }

        /** The next query's material in a confined arena it owns (checksum checked again). */
        QueryMaterial next()
        {
            if (remaining() <= 0)
            {
                throw new IllegalStateException("material file " + path + " has no query left");
            }
            final int q = next++;
            final Arena arena = Arena.ofConfined();
            try
            {
                final MemorySegment all = arena.allocate(perQuery, RingTensor.ALIGNMENT_BYTES);
                final long at = HEADER_BYTES + (long)q * (perQuery + QUERY_TRAILER_BYTES);
                readFully(in, all.asByteBuffer(), at);
                final ByteBuffer trailer = ByteBuffer.allocate(QUERY_TRAILER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
                readFully(in, trailer, at + perQuery);
                final CRC32C crc = new CRC32C();
                crc.update(all.asByteBuffer());
                checkQuery(path, q, header.queries, trailer, crc);
                final List<PlanStep> steps = plan.steps();
                final MemorySegment[][] messages = new MemorySegment[steps.size()][];
                long offset = 0;
                for (int i = 0; i < steps.size(); i++)
                {
                    final long[] sizes = SecureDealer.messageBytes(plan, steps.get(i), batch);
                    messages[i] = new MemorySegment[sizes.length];
                    for (int k = 0; k < sizes.length; k++)
                    {
                        messages[i][k] = all.asSlice(offset, sizes[k]);
                        offset += sizes[k];
                    }
                }
                return new QueryMaterial(arena, messages, 0);
            }
            catch (final IOException e)
            {
                arena.close();
                throw new MaterialFileException("cannot read query " + q + " of material file " + path + ": " + e, e);
            }
            catch (final RuntimeException | Error e)
            {
                arena.close();
                throw e;
            }
        }

        @Override
        public void close()
        {
            Arrays.fill(header.seed, (byte)0);
            try
            {
                in.close();
            }
            catch (final IOException e)
            {
                // The file is already deleted; nothing to keep.
            }
        }
    }
}
