package org.polypi.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.security.GeneralSecurityException;
import java.util.Arrays;

import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Seeded pseudo-random generator of uniform 64-bit ring elements: AES-128 in counter mode, keyed by a 16-byte
 * seed, with independent numbered streams and random access by word position.
 * <p>
 * <b>Definition</b> (reproducible across runs, machines and chunkings): word {@code p} ({@code p >= 0}) of stream
 * {@code s} under seed {@code k} is bytes {@code 8 * (p % 2)} to {@code 8 * (p % 2) + 7} of the AES-128 block
 * {@code E_k(BE64(s) || BE64(p / 2))}, read as a <b>little-endian</b> 64-bit integer; {@code BE64} is the 8-byte
 * big-endian form. So each AES block yields two words, and the counter block of a stream is the stream id
 * followed by the block index, which is exactly how {@code AES/CTR} increments its 128-bit big-endian counter
 * (block indices stay below 2^62, so the increment never carries into the stream id). Streams of one seed never
 * share a counter block, so they are independent as long as AES is a good PRF.
 * <p>
 * <b>Speed:</b> the JDK's {@code AES/CTR/NoPadding} (VAES intrinsics) encrypts a zero buffer into a reusable heap
 * chunk of {@value #CHUNK_BYTES} bytes, which {@link MemorySegment#copy} moves into the target (heap arrays only:
 * handing {@code Cipher} a direct buffer is about 5x slower). CTR beat ECB over a counter buffer, whose counters
 * must be written first (about 10 GB/s against 3.5 into DRAM on the reference machine). A 16 KiB chunk and its
 * zero source stay in L1 while the copy streams out. Sequential fills continue the cipher's keystream; a fill
 * elsewhere re-initialises the cipher (a key schedule, well under a microsecond).
 * <p>
 * Instances are <b>not thread-safe</b> (they own a cipher and a buffer) and cheap enough to create one per
 * stream and thread. The seed is copied; it is secret, so it is never printed.
 */
public final class AesCtrPrg
{
    /** Seed (AES-128 key) length. */
    public static final int SEED_BYTES = 16;
    /** Size of the reusable heap buffer the cipher writes into. */
    public static final int CHUNK_BYTES = 16 * 1024;

    private static final String TRANSFORMATION = "AES/CTR/NoPadding";
    private static final int BLOCK_BYTES = 16;
    private static final int WORDS_PER_BLOCK = BLOCK_BYTES / Long.BYTES;
    private static final int CHUNK_WORDS = CHUNK_BYTES / Long.BYTES;
    /** How a word is read from the cipher's output, whatever the platform's order. */
    private static final ValueLayout.OfLong WORD = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong COUNTER = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    /**
     * Fills of at least this many words are split over the shared {@link WorkerPool} (one cipher per part): a
     * single core tops out near 9 GB/s into DRAM (keystream into a cached chunk, then a copy), two reach the ceiling
     * of memory writes. Smaller fills stay on the caller's thread, where a split costs more than it saves.
     */
    public static final long PARALLEL_MIN_WORDS = 1L << 20;
    /** Marks a cipher whose keystream position is unknown (before the first fill). */
    private static final long NO_POSITION = -1;

    private final SecretKeySpec key;
    private final long streamId;
    private final Cipher cipher;
    private final byte[] zeros = new byte[CHUNK_BYTES];
    private final byte[] chunk = new byte[CHUNK_BYTES];
    private final MemorySegment chunkSegment = MemorySegment.ofArray(chunk);
    private final byte[] counterBlock = new byte[BLOCK_BYTES];
    /** Word position the cipher's keystream has reached, or {@link #NO_POSITION}. */
    private long cipherPosition = NO_POSITION;
    /** Position of {@link #fillNext}. */
    private long position;
    /** Generators of the same stream for the other parts of a parallel fill, created on first need. */
    private AesCtrPrg[] siblings;

    /**
     * A generator for stream {@code streamId} of {@code seed}, positioned at word 0.
     *
     * @throws IllegalArgumentException unless the seed is exactly {@value #SEED_BYTES} bytes.
     * @throws IllegalStateException if this JDK offers no AES/CTR cipher.
     */
    public AesCtrPrg(final byte[] seed, final long streamId)
    {
        if (seed == null || seed.length != SEED_BYTES)
        {
            throw new IllegalArgumentException("seed must be " + SEED_BYTES + " bytes, was " +
                (seed == null ? "null" : seed.length + " bytes"));
        }
        this.key = new SecretKeySpec(seed, "AES");
        this.streamId = streamId;
        this.cipher = newCipher();
    }

    private static Cipher newCipher()
    {
        try
        {
            return Cipher.getInstance(TRANSFORMATION);
        }
        catch (final GeneralSecurityException e)
        {
            throw new IllegalStateException(TRANSFORMATION + " is not available in this JDK: " + e, e);
        }
    }

    /** The stream number this generator produces. */
    public long streamId()
    {
        return streamId;
    }

    /** The word position the next {@link #fillNext} starts at. */
    public long position()
    {
        return position;
    }

    /**
     * Moves the {@link #fillNext} position to word {@code wordOffset}.
     *
     * @throws IllegalArgumentException if {@code wordOffset} is negative.
     */
    public void seek(final long wordOffset)
    {
        checkRange(wordOffset, 0);
        position = wordOffset;
    }

    /**
     * Writes words {@code [wordOffset, wordOffset + count)} of this stream into the first {@code count} longs of
     * {@code dst} (native byte order). Does not move {@link #position()}.
     *
     * @throws IllegalArgumentException if an argument is negative, the range passes word 2^63 - 1, or
     *                                  {@code dst} holds fewer than {@code count} longs.
     * @throws IllegalStateException if {@code dst}'s arena is closed.
     */
    public void fill(final MemorySegment dst, final long wordOffset, final long count)
    {
        checkRange(wordOffset, count);
        RingTensor.checkCapacity("dst", dst, count);
        final WorkerPool pool = WorkerPool.shared();
        if (count >= PARALLEL_MIN_WORDS && pool.threads() > 1 && pool.canShare(dst))
        {
            fillParallel(pool, dst, wordOffset, count);
            return;
        }
        fillSerial(dst, wordOffset, count);
    }

    private void fillParallel(final WorkerPool pool, final MemorySegment dst, final long wordOffset, final long count)
    {
        final int parts = pool.threads();
        if (siblings == null || siblings.length != parts)
        {
            siblings = new AesCtrPrg[parts];
            siblings[0] = this;
            final byte[] seed = key.getEncoded();
            for (int i = 1; i < parts; i++)
            {
                siblings[i] = new AesCtrPrg(seed, streamId);
            }
            Arrays.fill(seed, (byte)0);
        }
        // Parts start on an AES block boundary so no part re-encrypts a neighbour's block.
        final long partWords = (count / parts + WORDS_PER_BLOCK - 1) / WORDS_PER_BLOCK * WORDS_PER_BLOCK;
        final AesCtrPrg[] workers = siblings;
        pool.run(parts, part ->
        {
            final long from = Math.min(count, part * partWords);
            final long to = part == parts - 1 ? count : Math.min(count, from + partWords);
            if (to > from)
            {
                workers[part].fillSerial(dst.asSlice(from * Long.BYTES), wordOffset + from, to - from);
            }
        });
    }

    private void fillSerial(final MemorySegment dst, final long wordOffset, final long count)
    {
        if (cipherPosition != wordOffset)
        {
            restartAt(wordOffset);
        }
        cipherPosition = NO_POSITION;
        for (long done = 0; done < count; )
        {
            final int words = (int)Math.min(count - done, CHUNK_WORDS);
            encryptZeros(words * Long.BYTES);
            MemorySegment.copy(chunkSegment, WORD, 0, dst, RingTensor.ELEMENT, done * Long.BYTES, words);
            done += words;
        }
        cipherPosition = wordOffset + count;
    }

    /** Fills every element of {@code tensor} with words {@code [wordOffset, wordOffset + tensor.size())}. */
    public void fill(final RingTensor tensor, final long wordOffset)
    {
        fill(tensor.segment(), wordOffset, tensor.size());
    }

    /** Fills the first {@code count} longs of {@code dst} from {@link #position()}, then advances it by count. */
    public void fillNext(final MemorySegment dst, final long count)
    {
        fill(dst, position, count);
        position += count;
    }

    /** Fills every element of {@code tensor} from {@link #position()}, then advances it. */
    public void fillNext(final RingTensor tensor)
    {
        fillNext(tensor.segment(), tensor.size());
    }

    private void restartAt(final long wordOffset)
    {
        final MemorySegment counter = MemorySegment.ofArray(counterBlock);
        counter.set(COUNTER, 0, streamId);
        counter.set(COUNTER, Long.BYTES, wordOffset / WORDS_PER_BLOCK);
        try
        {
            cipher.init(Cipher.ENCRYPT_MODE, key, new IvParameterSpec(counterBlock));
        }
        catch (final GeneralSecurityException e)
        {
            throw new IllegalStateException("cannot initialise " + TRANSFORMATION + ": " + e, e);
        }
        // CTR is a stream: skipping the first word of an odd position is encrypting (and dropping) 8 bytes.
        if (wordOffset % WORDS_PER_BLOCK != 0)
        {
            encryptZeros(Long.BYTES);
        }
        cipherPosition = wordOffset;
    }

    private void encryptZeros(final int bytes)
    {
        final int written;
        try
        {
            written = cipher.update(zeros, 0, bytes, chunk, 0);
        }
        catch (final GeneralSecurityException e)
        {
            throw new IllegalStateException(TRANSFORMATION + " update failed: " + e, e);
        }
        if (written != bytes)
        {
            throw new IllegalStateException(TRANSFORMATION + " returned " + written + " bytes for " + bytes +
                " (a counter-mode cipher must not buffer)");
        }
    }

    private static void checkRange(final long wordOffset, final long count)
    {
        if (wordOffset < 0 || count < 0 || wordOffset > Long.MAX_VALUE - count)
        {
            throw new IllegalArgumentException("word range [" + wordOffset + ", " + wordOffset + " + " + count +
                ") must be non-negative and end at or below 2^63 - 1");
        }
    }

    @Override
    public String toString()
    {
        return "AesCtrPrg[stream=" + streamId + ", position=" + position + "]";
    }
}
