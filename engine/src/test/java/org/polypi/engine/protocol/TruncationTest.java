package org.polypi.engine.protocol;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.polypi.engine.transport.CostMeter;
import org.polypi.kernels.RingTensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

final class TruncationTest
{
    private static final long LIMIT = (1L << FaithfulTruncation.RANGE_BITS) - 1;
    private static final int RANDOM_VALUES = 4096;

    /** Edge values of the documented range |x| < 2^62 and around the shift's boundary, then random values. */
    private static long[] values(final int shift, final SplittableRandom rnd)
    {
        final List<Long> v = new ArrayList<>(List.of(0L, 1L, -1L, LIMIT, -LIMIT, LIMIT - 1, -LIMIT + 1, 1L << 61,
            -(1L << 61), (1L << shift) - 1, 1L << shift, -(1L << shift), -(1L << shift) + 1, (1L << shift) + 1));
        for (int i = 0; i < 64; i++)
        {
            v.add(LIMIT - rnd.nextLong(1L << 20));
            v.add(-LIMIT + rnd.nextLong(1L << 20));
        }
        for (int i = 0; i < RANDOM_VALUES; i++)
        {
            v.add(rnd.nextLong(-LIMIT, LIMIT + 1));
        }
        return v.stream().mapToLong(Long::longValue).toArray();
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 12, 16, 40, 62})
    void faithfulTruncationIsFloorOrFloorMinusOneOverTheWholeRange(final int shift) throws Exception
    {
        final SplittableRandom rnd = new SplittableRandom(shift);
        final long[] x = values(shift, rnd);
        final long[][] xs = Shares.split(x, rnd);
        final int n = x.length;
        final ThreeParties.PartyTask<long[]> party = (s, m) ->
        {
            final FaithfulTruncationPair pair = m.truncationPair(s, shift, n);
            s.transport().meter().enter("online", "truncate");
            return FaithfulTruncation.truncate(s, RingTensor.of(s.arena(), xs[s.party().id()], n), pair).toArray();
        };
        final ThreeParties.Outcome<long[], long[]> o = ThreeParties.run(31, d -> d.truncationPair(shift, n), party,
            party);
        final long[] y = Shares.add(o.server(), o.client());
        int borrows = 0;
        for (int i = 0; i < n; i++)
        {
            final long floor = x[i] >> shift;
            assertTrue(y[i] == floor || y[i] == floor + 1, "x = " + x[i] + ": got " + y[i] + ", floor " + floor);
            borrows += y[i] == floor ? 0 : 1;
        }
        // The borrow b = [c mod 2^s < r mod 2^s] is 1 with probability (x mod 2^s) / 2^s, about half the time for
        // random x and s >= 12 (a sanity check that the values really went through the protocol).
        if (shift >= 12)
        {
            assertTrue(borrows > n / 3 && borrows < 2 * n / 3, "borrows: " + borrows + " of " + n);
        }
        for (final CostMeter meter : new CostMeter[]{o.serverMeter(), o.clientMeter()})
        {
            final CostMeter.Entry e = ThreeParties.entry(meter, "online", "truncate");
            assertEquals(1, e.rounds());
            assertEquals(8L * n, e.bytesSent());
            assertEquals(8L * n, e.bytesReceived());
        }
    }

    /** 10^7 faithful truncations of values at the top of the range: never a large error. */
    @Test
    void tenMillionTruncationsAtTheTopOfTheRangeHaveNoLargeError() throws Exception
    {
        final int shift = 16;
        final int chunk = 1_000_000;
        final int chunks = 10;
        final long[][][] y = new long[2][chunks][];
        final ThreeParties.PartyTask<Object> party = (s, m) ->
        {
            final int b = s.party().id();
            for (int k = 0; k < chunks; k++)
            {
                try (Arena arena = Arena.ofShared())
                {
                    final PartySession cs = s.withArena(arena);
                    final FaithfulTruncationPair pair = m.truncationPair(cs, shift, chunk);
                    final long[][] xs = Shares.split(topOfRange(k, chunk), new SplittableRandom(1000 + k));
                    y[b][k] = FaithfulTruncation.truncate(cs, RingTensor.of(arena, xs[b], chunk), pair).toArray();
                }
            }
            return null;
        };
        ThreeParties.run(32, d ->
        {
            for (int k = 0; k < chunks; k++)
            {
                d.truncationPair(shift, chunk);
            }
        }, party, party);
        long large = 0;
        long borrows = 0;
        for (int k = 0; k < chunks; k++)
        {
            final long[] x = topOfRange(k, chunk);
            for (int i = 0; i < chunk; i++)
            {
                final long diff = y[0][k][i] + y[1][k][i] - (x[i] >> shift);
                large += diff == 0 || diff == 1 ? 0 : 1;
                borrows += diff == 1 ? 1 : 0;
            }
        }
        assertEquals(0, large, "large errors among " + (long)chunk * chunks);
        assertTrue(borrows > 0, "the 1-ulp borrow occurs");
    }

    /** |x| in [2^61, 2^62), random sign: the top of the faithful truncation's range. */
    private static long[] topOfRange(final int k, final int n)
    {
        final SplittableRandom rnd = new SplittableRandom(k);
        final long[] x = new long[n];
        for (int i = 0; i < n; i++)
        {
            final long magnitude = (1L << 61) + rnd.nextLong(1L << 61);
            x[i] = rnd.nextBoolean() ? magnitude : -magnitude;
        }
        return x;
    }

    /**
     * Local (SecureML) truncation of |x| ~ 2^58 fails with probability |x| / 2^64 = 1/64: the measured rate over
     * 2^16 values is within 6 standard deviations of it, every failure is a huge error and every success within 1.
     */
    @Test
    void localTruncationFailsAtItsPredictedRate() throws Exception
    {
        final int shift = 12;
        final int n = 1 << 16;
        final SplittableRandom rnd = new SplittableRandom(41);
        final long[] x = new long[n];
        for (int i = 0; i < n; i++)
        {
            final long magnitude = (1L << 58) + rnd.nextLong(1L << 20);
            x[i] = rnd.nextBoolean() ? magnitude : -magnitude;
        }
        final long[][] xs = Shares.split(x, rnd);
        final ThreeParties.PartyTask<long[]> party = (s, m) ->
        {
            final RingTensor y = LocalTruncation.truncate(s, RingTensor.of(s.arena(), xs[s.party().id()], n), shift);
            assertEquals(0, s.transport().meter().total("online").bytesSent(), "local truncation sends nothing");
            return y.toArray();
        };
        final ThreeParties.Outcome<long[], long[]> o = ThreeParties.run(42, d -> { }, party, party);
        final long[] y = Shares.add(o.server(), o.client());
        int failures = 0;
        for (int i = 0; i < n; i++)
        {
            final long diff = y[i] - (x[i] >> shift);
            if (diff == 0 || diff == 1)
            {
                continue;
            }
            failures++;
            assertTrue(Math.abs(Math.abs((double)diff) - 0x1p52) <= 2, "a failure is off by 2^(64-s): " + diff);
        }
        final double p = LocalTruncation.failureProbability(0x1p58);
        assertEquals(1.0 / 64, p, 1e-6);
        final double mean = n * p;
        final double sd = Math.sqrt(n * p * (1 - p));
        assertTrue(Math.abs(failures - mean) < 6 * sd, "failures " + failures + ", predicted " + mean + " +- " + sd);
    }

    /**
     * Local truncation at the top of the faithful range (|x| in [2^61, 2^62)): value i fails with probability
     * |x_i| / 2^64 (1/8 to 1/4), so the failure count is a sum of independent Bernoulli trials with mean
     * {@code sum p_i} and variance {@code sum p_i (1 - p_i)}; over 2^16 values it must fall within 6 standard
     * deviations of the mean (a binomial tolerance: the faithful protocol on the same values fails never).
     */
    @Test
    void localTruncationFailsAtItsPredictedRateAtTheTopOfTheRange() throws Exception
    {
        final int shift = 16;
        final int n = 1 << 16;
        final long[] x = topOfRange(99, n);
        final long[][] xs = Shares.split(x, new SplittableRandom(98));
        final ThreeParties.PartyTask<long[]> party = (s, m) ->
            LocalTruncation.truncate(s, RingTensor.of(s.arena(), xs[s.party().id()], n), shift).toArray();
        final ThreeParties.Outcome<long[], long[]> o = ThreeParties.run(97, d -> { }, party, party);
        final long[] y = Shares.add(o.server(), o.client());
        int failures = 0;
        double mean = 0;
        double variance = 0;
        for (int i = 0; i < n; i++)
        {
            final double p = LocalTruncation.failureProbability(Math.abs((double)x[i]));
            mean += p;
            variance += p * (1 - p);
            final long diff = y[i] - (x[i] >> shift);
            if (diff != 0 && diff != 1)
            {
                failures++;
            }
        }
        final double sd = Math.sqrt(variance);
        System.out.printf("local truncation at |x| in [2^61, 2^62): %d failures of %d, predicted %.1f +- %.1f%n",
            failures, n, mean, sd);
        assertTrue(Math.abs(failures - mean) < 6 * sd, "failures " + failures + ", predicted " + mean + " +- " + sd);
    }

    @Test
    void shiftsOutsideTheSupportedRangeAreRejected() throws Exception
    {
        ThreeParties.run(43, d ->
        {
            assertThrows(IllegalArgumentException.class, () -> d.truncationPair(0, 4));
            assertThrows(IllegalArgumentException.class, () -> d.truncationPair(63, 4));
        }, (s, m) ->
        {
            assertThrows(IllegalArgumentException.class, () -> LocalTruncation.truncate(s, s.allocate(4), 0));
            return null;
        }, (s, m) -> null);
    }
}
