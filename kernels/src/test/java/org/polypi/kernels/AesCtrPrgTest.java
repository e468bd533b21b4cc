package org.polypi.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.HexFormat;
import java.util.SplittableRandom;

import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.polypi.kernels.ElementwiseKernelsTest.assertMessage;
import static org.polypi.kernels.RingTensor.ELEMENT;

/**
 * The AES-CTR generator: it computes the documented function (checked against AES-ECB on counter blocks), its
 * output does not depend on how fills are chunked or where they start, streams and seeds differ, the words look
 * uniform, and bad arguments are rejected.
 */
final class AesCtrPrgTest
{
    private static final byte[] SEED = HexFormat.of().parseHex("000102030405060708090a0b0c0d0e0f");
    private static final ValueLayout.OfLong BIG_ENDIAN = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong LITTLE_ENDIAN =
        ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Word p of stream s straight from the definition in AesCtrPrg's javadoc, with an ECB cipher. */
    private static long definedWord(final byte[] seed, final long stream, final long p) throws Exception
    {
        final byte[] counter = new byte[16];
        MemorySegment.ofArray(counter).set(BIG_ENDIAN, 0, stream);
        MemorySegment.ofArray(counter).set(BIG_ENDIAN, 8, p / 2);
        final Cipher ecb = Cipher.getInstance("AES/ECB/NoPadding");
        ecb.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(seed, "AES"));
        final byte[] block = ecb.doFinal(counter);
        return MemorySegment.ofArray(block).get(LITTLE_ENDIAN, 8 * (p % 2));
    }

    private static long[] words(final AesCtrPrg prg, final long offset, final int count)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment s = arena.allocate(Math.max(1, count) * 8L);
            prg.fill(s, offset, count);
            return s.asSlice(0, count * 8L).toArray(ELEMENT);
        }
    }

    @Test
    void parallelFillOfSharedSegmentsEqualsSerialFillWordForWord()
    {
        final long count = AesCtrPrg.PARALLEL_MIN_WORDS + 5;
        final long offset = 3;
        try (Arena shared = Arena.ofShared(); Arena confined = Arena.ofConfined())
        {
            final MemorySegment parallel = shared.allocate(count * Long.BYTES);
            final MemorySegment serial = confined.allocate(count * Long.BYTES);
            final AesCtrPrg prg = new AesCtrPrg(SEED, 9);
            prg.fill(parallel, offset, count);
            prg.fill(serial, offset, count); // confined: the pool cannot touch it, so this runs on one thread
            assertEquals(-1, parallel.mismatch(serial));
            final MemorySegment next = confined.allocate(16 * Long.BYTES);
            prg.fill(next, offset + count, 16); // continues the stream after a parallel fill
            final MemorySegment expected = confined.allocate(16 * Long.BYTES);
            new AesCtrPrg(SEED, 9).fill(expected, offset + count, 16);
            assertEquals(-1, next.mismatch(expected));
        }
    }

    @Test
    void aesIsTheFips197Cipher() throws Exception
    {
        final Cipher ecb = Cipher.getInstance("AES/ECB/NoPadding");
        ecb.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(SEED, "AES"));
        assertEquals("69c4e0d86a7b0430d8cdb78070b4c55a",
            HexFormat.of().formatHex(ecb.doFinal(HexFormat.of().parseHex("00112233445566778899aabbccddeeff"))));
    }

    @Test
    void wordsFollowTheDocumentedConstruction() throws Exception
    {
        for (final long stream : new long[]{0, 1, -1, 0x0123_4567_89AB_CDEFL})
        {
            final AesCtrPrg prg = new AesCtrPrg(SEED, stream);
            final long[] first = words(prg, 0, 5);
            for (int p = 0; p < 5; p++)
            {
                assertEquals(definedWord(SEED, stream, p), first[p], "stream " + stream + " word " + p);
            }
            for (final long p : new long[]{4095, 4096, 1L << 40, (1L << 40) + 1, Long.MAX_VALUE - 2})
            {
                assertEquals(definedWord(SEED, stream, p), words(prg, p, 1)[0], "stream " + stream + " word " + p);
            }
            // The last two words of the stream, from an odd start.
            final long[] tail = words(prg, Long.MAX_VALUE - 2, 2);
            assertEquals(definedWord(SEED, stream, Long.MAX_VALUE - 1), tail[1]);
        }
    }

    @Test
    void fillsDoNotDependOnChunkingOrStart()
    {
        final int total = 3 * AesCtrPrg.CHUNK_BYTES / 8 + 777;
        final long base = 12_345;
        final long[] reference = words(new AesCtrPrg(SEED, 7), base, total);
        assertArrayEquals(reference, words(new AesCtrPrg(SEED, 7), base, total), "same seed, stream, offset");

        final SplittableRandom random = new SplittableRandom(31);
        final AesCtrPrg chunked = new AesCtrPrg(SEED, 7);
        chunked.seek(base);
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment all = arena.allocate(total * 8L);
            long done = 0;
            final int[] sizes = {1, 1, 2, 3, 2047, 2048, 2049, 0, 5};
            for (int i = 0; done < total; i++)
            {
                final long size = Math.min(total - done, i < sizes.length ? sizes[i] : 1 + random.nextInt(5000));
                chunked.fillNext(all.asSlice(done * 8), size);
                done += size;
            }
            assertEquals(base + total, chunked.position());
            assertArrayEquals(reference, all.toArray(ELEMENT), "sequential chunks of odd sizes");
        }
        // Random access: starts anywhere (odd and even), in any order, on one instance.
        final AesCtrPrg randomAccess = new AesCtrPrg(SEED, 7);
        for (int i = 0; i < 40; i++)
        {
            final int from = random.nextInt(total);
            final int count = random.nextInt(total - from + 1);
            final long[] expected = java.util.Arrays.copyOfRange(reference, from, from + count);
            assertArrayEquals(expected, words(randomAccess, base + from, count), "words at " + (base + from));
        }
    }

    @Test
    void fillsRingTensors()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final RingTensor t = RingTensor.allocate(arena, 3, 17);
            final AesCtrPrg prg = new AesCtrPrg(SEED, 2);
            prg.fill(t, 99);
            assertArrayEquals(words(new AesCtrPrg(SEED, 2), 99, 51), t.toArray());
            prg.seek(10);
            prg.fillNext(t);
            assertEquals(61, prg.position());
            assertArrayEquals(words(new AesCtrPrg(SEED, 2), 10, 51), t.toArray());
        }
    }

    @Test
    void streamsAndSeedsDiffer()
    {
        final int n = 4096;
        final long[] base = words(new AesCtrPrg(SEED, 0), 0, n);
        final byte[] otherSeed = SEED.clone();
        otherSeed[15] ^= 1;
        for (final long[] other : new long[][]{words(new AesCtrPrg(SEED, 1), 0, n), words(new AesCtrPrg(SEED, -1), 0, n),
            words(new AesCtrPrg(otherSeed, 0), 0, n), words(new AesCtrPrg(SEED, 0), 1, n)})
        {
            int equal = 0;
            for (int i = 0; i < n; i++)
            {
                equal += base[i] == other[i] ? 1 : 0;
            }
            assertEquals(0, equal, "equal words between distinct streams");
        }
    }

    @Test
    void wordsLookUniform()
    {
        final int n = 1 << 20;
        final long[] ones = new long[Long.SIZE];
        final long[] byteCounts = new long[256];
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment s = arena.allocate(n * 8L);
            new AesCtrPrg(SEED, 3).fill(s, 0, n);
            for (int i = 0; i < n; i++)
            {
                long v = s.getAtIndex(ELEMENT, i);
                for (int b = 0; b < Long.SIZE; b++)
                {
                    ones[b] += (v >>> b) & 1;
                }
                for (int k = 0; k < Long.BYTES; k++, v >>>= 8)
                {
                    byteCounts[(int)(v & 0xFF)]++;
                }
            }
        }
        // Each bit is Binomial(n, 1/2): mean n/2, standard deviation sqrt(n)/2.
        final double sigma = Math.sqrt(n) / 2;
        for (int b = 0; b < Long.SIZE; b++)
        {
            assertTrue(Math.abs(ones[b] - n / 2.0) <= 5 * sigma, "bit " + b + " set " + ones[b] + " times of " + n);
        }
        // Chi-square over 255 degrees of freedom: mean 255, standard deviation about 22.6.
        final double expected = n * 8.0 / 256;
        double chiSquare = 0;
        for (final long count : byteCounts)
        {
            chiSquare += (count - expected) * (count - expected) / expected;
        }
        assertTrue(chiSquare > 150 && chiSquare < 400, "byte chi-square " + chiSquare);
    }

    @Test
    void badArgumentsAreRejected()
    {
        assertMessage(assertThrows(IllegalArgumentException.class, () -> new AesCtrPrg(new byte[15], 0)),
            "seed must be 16 bytes, was 15 bytes");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> new AesCtrPrg(null, 0)), "was null");
        final AesCtrPrg prg = new AesCtrPrg(SEED, 0);
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment s = arena.allocate(16 * 8L);
            assertMessage(assertThrows(IllegalArgumentException.class, () -> prg.fill(s, -1, 4)), "[-1, -1 + 4)");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> prg.fill(s, 0, -4)), "[0, 0 + -4)");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> prg.fill(s, Long.MAX_VALUE - 2, 3)),
                "2^63 - 1");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> prg.fill(s, 0, 17)),
                "dst too small: needs 17 elements");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> prg.seek(-5)), "[-5,");
        }
        final Arena closed = Arena.ofConfined();
        final MemorySegment dead = closed.allocate(8);
        closed.close();
        assertThrows(IllegalStateException.class, () -> prg.fill(dead, 0, 1));
        assertTrue(!prg.toString().contains("0001020304"), "the seed is secret");
    }
}
