package org.polypi.trainer;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Training checkpoints: everything needed to continue a run exactly where it stopped (after a whole epoch).
 * <p>
 * Layout (big-endian, as {@link DataOutputStream} writes): magic {@code "PPTRNCK3"} (8 bytes); the config
 * {@link TrainConfig#signature() signature} (modified UTF-8); epochs done (i32); optimizer steps (i64); epoch
 * history (i32 count, then per epoch i32 epoch and six f64); parameters and buffers (i32 count, then per array its
 * name, i32 length and that many f32); optimizer state arrays (i32 count, then i32 length and f32 values each);
 * PILLAR's in-range fallback ({@link InRangeEpoch}: i32 epoch, -1 for none, else f64 test accuracy and one array
 * per parameter, i32 length and f32 values each); the weight average ({@link WeightAverage}: i64 updates, -1 for
 * a run without one, else one array per parameter, i32 length and f32 values each); last a CRC32C (i32) of every
 * byte before it.
 * <p>
 * Version 2 ({@code "PPTRNCK2"}) is the same without the average section, version 1 ({@code "PPTRNCK1"}) also
 * without the fallback section; both are still read, as runs without an average (and without a recorded in-range
 * epoch).
 * <p>
 * Files are written atomically: into a temporary file in the same directory, forced to disk, then moved over the
 * target, so a crash leaves either the previous checkpoint or the new one, never a torn file.
 */
final class Checkpoint
{
    /** "PPTRNCK3" in ASCII: the layout written. */
    private static final long MAGIC = 0x5050_5452_4E43_4B33L;
    /** "PPTRNCK2" in ASCII: the layout before the weight average was kept, still read. */
    private static final long MAGIC_WITHOUT_AVERAGE = 0x5050_5452_4E43_4B32L;
    /** The average section's update count of a run without a weight average. */
    private static final long NO_AVERAGE = -1;
    /** "PPTRNCK1" in ASCII: the layout before the in-range fallback was kept, still read. */
    private static final long MAGIC_WITHOUT_FALLBACK = 0x5050_5452_4E43_4B31L;
    private static final int CRC_BYTES = Integer.BYTES;

    private Checkpoint()
    {
    }

    /** What a checkpoint restores besides the arrays. */
    public record State(int epochsDone, long steps, List<EpochStats> history)
    {
        /** Copies the history. */
        public State
        {
            history = List.copyOf(history);
        }
    }

    /**
     * Writes a checkpoint of {@code network}, {@code optimizer}, {@code inRange} and {@code average} (null: none)
     * atomically.
     *
     * @throws IOException if writing or the atomic move fails (the previous file is then unchanged).
     */
    static void save(final Path path, final TrainConfig config, final State state, final Network network,
                     final Optimizer optimizer, final InRangeEpoch inRange, final WeightAverage average)
        throws IOException
    {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes))
        {
            out.writeLong(MAGIC);
            out.writeUTF(config.signature());
            out.writeInt(state.epochsDone());
            out.writeLong(state.steps());
            out.writeInt(state.history().size());
            for (final EpochStats e : state.history())
            {
                out.writeInt(e.epoch());
                out.writeDouble(e.loss());
                out.writeDouble(e.penalty());
                out.writeDouble(e.trainAccuracy());
                out.writeDouble(e.testAccuracy());
                out.writeDouble(e.seconds());
                out.writeDouble(e.imagesPerSecond());
            }
            final List<Param> params = network.params();
            out.writeInt(params.size());
            for (final Param p : params)
            {
                out.writeUTF(p.name());
                writeArray(out, p.value());
            }
            final List<float[]> opt = optimizer.state();
            out.writeInt(opt.size());
            for (final float[] a : opt)
            {
                writeArray(out, a);
            }
            out.writeInt(inRange.epoch());
            if (inRange.present())
            {
                out.writeDouble(inRange.testAccuracy());
                for (final float[] a : inRange.weights())
                {
                    writeArray(out, a);
                }
            }
            out.writeLong(average == null ? NO_AVERAGE : average.updates());
            if (average != null)
            {
                for (final float[] a : average.arrays())
                {
                    writeArray(out, a);
                }
            }
            final CRC32C crc = new CRC32C();
            crc.update(bytes.toByteArray());
            out.writeInt((int)crc.getValue());
        }
        writeAtomically(path, bytes.toByteArray());
    }

    /**
     * Restores {@code network}, {@code optimizer}, {@code inRange} and {@code average} (null: the run keeps none)
     * from {@code path} and returns the run state. {@code inRange} is changed only if the checkpoint recorded an
     * in-range epoch.
     *
     * @throws IOException if the file cannot be read, is corrupt (checksum), or belongs to another config or
     *     network (the message says which).
     */
    static State load(final Path path, final TrainConfig config, final Network network, final Optimizer optimizer,
                      final InRangeEpoch inRange, final WeightAverage average) throws IOException
    {
        final byte[] all = Files.readAllBytes(path);
        if (all.length < Long.BYTES + CRC_BYTES)
        {
            throw new IOException("checkpoint " + path + " is too short (" + all.length + " bytes)");
        }
        final CRC32C crc = new CRC32C();
        crc.update(all, 0, all.length - CRC_BYTES);
        final int stored = ByteBuffer.wrap(all, all.length - CRC_BYTES, CRC_BYTES).getInt();
        if ((int)crc.getValue() != stored)
        {
            throw new IOException("checkpoint " + path + " is corrupt: CRC32C mismatch");
        }
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(all, 0, all.length - CRC_BYTES)))
        {
            final long magic = in.readLong();
            if (magic != MAGIC && magic != MAGIC_WITHOUT_AVERAGE && magic != MAGIC_WITHOUT_FALLBACK)
            {
                throw new IOException(path + " is not a PolyPI training checkpoint (bad magic)");
            }
            final String signature = in.readUTF();
            if (!signature.equals(config.signature()))
            {
                throw new IOException("checkpoint " + path + " was written by another config:\n  checkpoint: " +
                    signature + "\n  this run:   " + config.signature());
            }
            final int epochsDone = in.readInt();
            final long steps = in.readLong();
            final int historySize = in.readInt();
            final List<EpochStats> history = new ArrayList<>(Math.max(0, Math.min(historySize, config.epochs())));
            for (int i = 0; i < historySize; i++)
            {
                history.add(new EpochStats(in.readInt(), in.readDouble(), in.readDouble(), in.readDouble(),
                    in.readDouble(), in.readDouble(), in.readDouble()));
            }
            final List<Param> params = network.params();
            final int count = in.readInt();
            if (count != params.size())
            {
                throw new IOException("checkpoint " + path + " holds " + count + " arrays, the network has " +
                    params.size());
            }
            for (final Param p : params)
            {
                final String name = in.readUTF();
                if (!name.equals(p.name()))
                {
                    throw new IOException("checkpoint " + path + " has array " + name + " where the network has " +
                        p.name());
                }
                readArray(in, p.value(), p.name());
            }
            final List<float[]> opt = optimizer.state();
            final int optCount = in.readInt();
            if (optCount != opt.size())
            {
                throw new IOException("checkpoint " + path + " holds " + optCount +
                    " optimizer arrays, the optimizer has " + opt.size());
            }
            for (int i = 0; i < opt.size(); i++)
            {
                readArray(in, opt.get(i), "optimizer state " + i);
            }
            if (magic != MAGIC_WITHOUT_FALLBACK)
            {
                readInRange(in, path, epochsDone, params, inRange);
            }
            final long averaged = magic == MAGIC ? in.readLong() : NO_AVERAGE;
            if ((averaged != NO_AVERAGE) != (average != null))
            {
                throw new IOException("checkpoint " + path + (average == null ? " keeps a weight average, this run " +
                    "none" : " keeps no weight average, this run one"));
            }
            if (average != null)
            {
                if (averaged < 0 || averaged > steps)
                {
                    throw new IOException("checkpoint " + path + " records " + averaged + " average updates of " +
                        steps + " steps");
                }
                final List<float[]> arrays = average.arrays();
                for (int i = 0; i < arrays.size(); i++)
                {
                    readArray(in, arrays.get(i), "average " + params.get(i).name());
                }
                average.restoreUpdates(averaged);
            }
            if (in.available() != 0)
            {
                throw new IOException("checkpoint " + path + " has " + in.available() + " trailing bytes");
            }
            optimizer.restoreSteps(steps);
            return new State(epochsDone, steps, history);
        }
    }

    private static void readInRange(final DataInputStream in, final Path path, final int epochsDone,
                                    final List<Param> params, final InRangeEpoch inRange) throws IOException
    {
        final int epoch = in.readInt();
        if (epoch == InRangeEpoch.NONE)
        {
            return;
        }
        if (epoch < 0 || epoch >= epochsDone)
        {
            throw new IOException("checkpoint " + path + " records in-range epoch " + epoch + " of " + epochsDone +
                " done");
        }
        final double accuracy = in.readDouble();
        if (!(accuracy >= 0 && accuracy <= 1))
        {
            throw new IOException("checkpoint " + path + " records in-range test accuracy " + accuracy);
        }
        final float[][] weights = new float[params.size()][];
        for (int i = 0; i < weights.length; i++)
        {
            weights[i] = new float[params.get(i).value().length];
            readArray(in, weights[i], "in-range " + params.get(i).name());
        }
        inRange.restoreFrom(epoch, accuracy, weights);
    }

    private static void writeArray(final DataOutputStream out, final float[] a) throws IOException
    {
        out.writeInt(a.length);
        for (final float v : a)
        {
            out.writeFloat(v);
        }
    }

    private static void readArray(final DataInputStream in, final float[] into, final String what) throws IOException
    {
        final int length = in.readInt();
        if (length != into.length)
        {
            throw new IOException("checkpoint array " + what + " has " + length + " values, expected " +
                into.length);
        }
        for (int i = 0; i < length; i++)
        {
            into[i] = in.readFloat();
        }
    }

    /** Temporary file in the target's directory, forced, then moved over the target atomically. */
    static void writeAtomically(final Path path, final byte[] content) throws IOException
    {
        final Path target = path.toAbsolutePath();
        final Path dir = target.getParent();
        Files.createDirectories(dir);
        final Path tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
        boolean moved = false;
        try
        {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING))
            {
                final ByteBuffer buffer = ByteBuffer.wrap(content);
                while (buffer.hasRemaining())
                {
                    ch.write(buffer);
                }
                ch.force(true);
            }
            try
            {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
            catch (final AtomicMoveNotSupportedException e)
            {
                throw new IOException("cannot replace " + target + " atomically", e);
            }
            moved = true;
        }
        finally
        {
            if (!moved)
            {
                Files.deleteIfExists(tmp);
            }
        }
    }
}
