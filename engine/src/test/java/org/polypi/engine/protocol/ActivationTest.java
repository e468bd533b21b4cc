package org.polypi.engine.protocol;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.polypi.engine.transport.CostMeter;
import org.polypi.kernels.FixedPoint;
import org.polypi.kernels.RingTensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

final class ActivationTest
{
    private static final int N = 2000;
    /** Real inputs of the polynomial tests lie in [-RANGE, RANGE] (PILLAR keeps them within about 5). */
    private static final double RANGE = 6.0;

    static double[] coefficients(final int degree)
    {
        return switch (degree)
        {
            case 2 -> new double[]{0.2, 0.5, 0.25};
            // PILLAR's degree-4 ReLU fit (seeds.md §2.2): (322 + 512 x + 160 x^2 - 3 x^4) / 1024, a_3 = 0.
            case 4 -> new double[]{0.314453125, 0.5, 0.15625, 0, -0.0029296875};
            case 6 -> new double[]{0.15, 0.5, 0.28, 0.001, -0.012, -0.0001, 0.0004};
            default -> throw new IllegalArgumentException("no test polynomial of degree " + degree);
        };
    }

    /** Random z at scale 2f in [-RANGE, RANGE], with the edges and zero. */
    private static long[] inputs(final int f, final SplittableRandom rnd)
    {
        final FixedPoint codec = new FixedPoint(2 * f);
        final long[] z = new long[N];
        z[0] = codec.encode(RANGE);
        z[1] = codec.encode(-RANGE);
        z[2] = 0;
        z[3] = -1;
        for (int i = 4; i < N; i++)
        {
            z[i] = codec.encode(rnd.nextDouble(-RANGE, RANGE));
        }
        return z;
    }

    /**
     * The fused activation at scale 2f: each truncated copy is floor or floor + 1, every power is exactly that copy's
     * power, the output is exactly the reference formula on those copies, within the documented bound of the
     * floor-truncation reference, and close to the real polynomial (with the encoded coefficients). One round and
     * 8 bytes per element and party.
     */
    @ParameterizedTest
    @CsvSource({"12, 2", "12, 4", "12, 6", "16, 2", "16, 4", "16, 6"})
    void fusedPolynomialMatchesThePlaintextComputation(final int f, final int degree) throws Exception
    {
        final SplittableRandom rnd = new SplittableRandom(f * 100L + degree);
        final long[] z = inputs(f, rnd);
        final long[][] zs = Shares.split(z, rnd);
        final PublicPolynomial poly = new PublicPolynomial(coefficients(degree), f, 2 * f);
        final ActivationPlan plan = poly.plan();
        final ThreeParties.PartyTask<long[][]> party = (s, m) ->
        {
            final ActivationMaterial material = m.activationMaterial(s, plan, N);
            s.transport().meter().enter("online", "activation");
            final FusedActivation.Powers powers = FusedActivation.open(s, RingTensor.of(s.arena(), zs[s.party().id()],
                N), material);
            final RingTensor y = poly.combine(s, powers);
            return flatten(plan, powers, y);
        };
        final ThreeParties.Outcome<long[][], long[][]> o = ThreeParties.run(51, d -> d.activationMaterial(plan, N),
            party, party);
        final long[][] copies = checkPowers(plan, z, o.server(), o.client());
        final long[] y = Shares.add(o.server()[o.server().length - 1], o.client()[o.client().length - 1]);
        final double ulp = Math.scalb(1.0, -poly.outputScale());
        for (int i = 0; i < N; i++)
        {
            final long[] xs = new long[plan.copies()];
            for (int j = 0; j < xs.length; j++)
            {
                xs[j] = copies[j][i];
            }
            assertEquals(poly.plaintextFromCopies(xs), y[i], "element " + i);
            final double err = Math.abs((double)(y[i] - poly.plaintext(z[i])));
            assertTrue(err <= poly.errorBound(z[i]), "element " + i + ": error " + err + " > bound " +
                poly.errorBound(z[i]));
            final double real = z[i] * Math.scalb(1.0, -2 * f);
            assertEquals(encodedPolynomial(poly, coefficients(degree), f, real), y[i] * ulp,
                realTolerance(coefficients(degree), f, real), "z = " + real);
        }
        for (final CostMeter meter : new CostMeter[]{o.serverMeter(), o.clientMeter()})
        {
            final CostMeter.Entry e = ThreeParties.entry(meter, "online", "activation");
            assertEquals(1, e.rounds());
            assertEquals(8L * N, e.bytesSent());
            assertEquals(8L * N, e.bytesReceived());
        }
        assertEquals(16 + 8L * N * plan.materialTensors() + 8, o.serverMeter().total("setup").bytesReceived(),
            "the dealer sends the server the powers and their difference words, one message");
    }

    /** Over the whole range |z| < 2^62, at shifts 0 to 62: copies are floor or floor + 1 and powers exact. */
    @Test
    void fusedPowersAreExactTruncatedPowersOverTheWholeRange() throws Exception
    {
        fusedPowersAreExact(N);
    }

    /** The same over several blocks of the fused expansion kernel (2,048 elements) and a partial one. */
    @Test
    void fusedPowersAreExactAcrossExpansionBlocks() throws Exception
    {
        fusedPowersAreExact(5 * 2048 + 37);
    }

    private static void fusedPowersAreExact(final int n) throws Exception
    {
        final ActivationPlan plan = ActivationPlan.of(new int[]{0, 1, 12, 37, 62}, new int[]{3, 2, 3, 1, 2});
        final SplittableRandom rnd = new SplittableRandom(52);
        final long limit = (1L << 62) - 1;
        final List<Long> values = new ArrayList<>(List.of(0L, 1L, -1L, limit, -limit, 1L << 61, -(1L << 61)));
        while (values.size() < n)
        {
            values.add(values.size() % 2 == 0 ? rnd.nextLong(-limit, limit + 1) :
                (rnd.nextBoolean() ? limit : -limit) - rnd.nextLong(-1L << 16, 1L << 16) * (values.size() % 3));
        }
        final long[] z = values.stream().mapToLong(v -> Math.max(-limit, Math.min(limit, v))).toArray();
        final long[][] zs = Shares.split(z, rnd);
        final ThreeParties.PartyTask<long[][]> party = (s, m) ->
        {
            final ActivationMaterial material = m.activationMaterial(s, plan, n);
            final FusedActivation.Powers powers = FusedActivation.open(s, RingTensor.of(s.arena(), zs[s.party().id()],
                n), material);
            return flatten(plan, powers, s.allocate(1));
        };
        final ThreeParties.Outcome<long[][], long[][]> o = ThreeParties.run(53, d -> d.activationMaterial(plan, n),
            party, party);
        checkPowers(plan, z, o.server(), o.client());
    }

    /** Plain HoneyBadger: exact powers of any ring value, one round, 8 bytes per element. */
    @Test
    void honeyBadgerPowersAreExact() throws Exception
    {
        final int degree = 5;
        final SplittableRandom rnd = new SplittableRandom(54);
        final long[] x = Shares.random(N, rnd);
        final long[][] xs = Shares.split(x, rnd);
        final ThreeParties.PartyTask<long[][]> party = (s, m) ->
        {
            final PowerTuple t = m.powerTuple(s, degree, N);
            s.transport().meter().enter("online", "powers");
            return arrays(HoneyBadgerPowers.powers(s, RingTensor.of(s.arena(), xs[s.party().id()], N), t));
        };
        final ThreeParties.Outcome<long[][], long[][]> o = ThreeParties.run(55, d -> d.powerTuple(degree, N), party,
            party);
        checkExactPowers(x, degree, o.server(), o.client());
        checkCost(o, "powers", 1, 8L * N);
    }

    /** ESPN's cheaper variant: exact powers, one round, (d - 1) elements per element and party. */
    @ParameterizedTest
    @ValueSource(ints = {2, 4, 6})
    void espnPowersAreExact(final int degree) throws Exception
    {
        final SplittableRandom rnd = new SplittableRandom(56 + degree);
        final long[] x = Shares.random(N, rnd);
        final long[][] xs = Shares.split(x, rnd);
        final ThreeParties.PartyTask<long[][]> party = (s, m) ->
        {
            final EspnTuple t = m.espnTuple(s, degree, N);
            s.transport().meter().enter("online", "powers");
            return arrays(EspnPowers.powers(s, RingTensor.of(s.arena(), xs[s.party().id()], N), t));
        };
        final ThreeParties.Outcome<long[][], long[][]> o = ThreeParties.run(57, d -> d.espnTuple(degree, N), party,
            party);
        checkExactPowers(x, degree, o.server(), o.client());
        checkCost(o, "powers", 1, 8L * N * (degree - 1));
    }

    /** Beaver: two products opened together are exact and cost one round, 2 elements per product element. */
    @Test
    void beaverProductsAreExactAndBatchedInOneRound() throws Exception
    {
        final SplittableRandom rnd = new SplittableRandom(58);
        final long[][] v = {Shares.random(N, rnd), Shares.random(N, rnd), Shares.random(N, rnd), Shares.random(N, rnd)};
        final long[][][] vs = new long[4][][];
        for (int i = 0; i < 4; i++)
        {
            vs[i] = Shares.split(v[i], rnd);
        }
        final ThreeParties.PartyTask<long[][]> party = (s, m) ->
        {
            final int b = s.party().id();
            final BeaverTriple[] t = {m.beaverTriple(s, N), m.beaverTriple(s, N)};
            final RingTensor[] in = new RingTensor[4];
            for (int i = 0; i < 4; i++)
            {
                in[i] = RingTensor.of(s.arena(), vs[i][b], N);
            }
            s.transport().meter().enter("online", "beaver");
            return arrays(BeaverMultiplication.multiply(s, new RingTensor[]{in[0], in[2]},
                new RingTensor[]{in[1], in[3]}, t));
        };
        final ThreeParties.Outcome<long[][], long[][]> o = ThreeParties.run(59, d ->
        {
            d.beaverTriple(N);
            d.beaverTriple(N);
        }, party, party);
        final long[] p = Shares.add(o.server()[0], o.client()[0]);
        final long[] q = Shares.add(o.server()[1], o.client()[1]);
        for (int i = 0; i < N; i++)
        {
            assertEquals(v[0][i] * v[1][i], p[i]);
            assertEquals(v[2][i] * v[3][i], q[i]);
        }
        checkCost(o, "beaver", 1, 2L * 2 * 8 * N);
    }

    /**
     * CrypTen's polynomial baseline: ceil(log2 d) rounds, 2 elements per product element, and close to the real
     * polynomial within the accumulated 1-ulp local truncation errors.
     */
    @ParameterizedTest
    @ValueSource(ints = {2, 4, 6})
    void crypTenBaselineTakesLogDegreeRounds(final int degree) throws Exception
    {
        final int f = 12;
        final SplittableRandom rnd = new SplittableRandom(60 + degree);
        final FixedPoint codec = new FixedPoint(f);
        final long[] x = new long[N];
        for (int i = 0; i < N; i++)
        {
            x[i] = codec.encode(rnd.nextDouble(-5, 5));
        }
        final long[][] xs = Shares.split(x, rnd);
        final CrypTenPolynomial poly = new CrypTenPolynomial(coefficients(degree), f);
        final ThreeParties.PartyTask<long[]> party = (s, m) ->
        {
            final BeaverTriple[] t = new BeaverTriple[poly.triplesNeeded()];
            for (int i = 0; i < t.length; i++)
            {
                t[i] = m.beaverTriple(s, N);
            }
            s.transport().meter().enter("online", "crypten");
            return poly.evaluate(s, RingTensor.of(s.arena(), xs[s.party().id()], N), t).toArray();
        };
        final ThreeParties.Outcome<long[], long[]> o = ThreeParties.run(61, d ->
        {
            for (int i = 0; i < poly.triplesNeeded(); i++)
            {
                d.beaverTriple(N);
            }
        }, party, party);
        final long[] y = Shares.add(o.server(), o.client());
        final double[] a = coefficients(degree);
        final double ulp = Math.scalb(1.0, -f);
        for (int i = 0; i < N; i++)
        {
            final double real = x[i] * ulp;
            double expected = new FixedPoint(2 * f).encode(a[0]) * ulp * ulp;
            double tolerance = 2 * ulp;
            final double[] bound = powerErrorBounds(Math.abs(real), degree, ulp);
            for (int k = 1; k <= degree; k++)
            {
                final double ak = codec.encode(a[k]) * ulp;
                expected += ak * Math.pow(real, k);
                tolerance += Math.abs(ak) * bound[k];
            }
            assertEquals(expected, y[i] * ulp, tolerance, "x = " + real);
        }
        checkCost(o, "crypten", CrypTenPolynomial.ceilLog2(degree), 2L * 8 * N * (degree - 1));
        assertEquals(CrypTenPolynomial.ceilLog2(degree), poly.rounds());
    }

    @Test
    void planAndPolynomialRejectWhatTheyCannotDo()
    {
        assertThrows(IllegalArgumentException.class, () -> ActivationPlan.of(new int[]{3, 3}, new int[]{1, 1}));
        assertThrows(IllegalArgumentException.class, () -> ActivationPlan.of(new int[]{63}, new int[]{1}));
        assertThrows(IllegalArgumentException.class, () -> ActivationPlan.of(new int[]{3}, new int[]{0}));
        assertThrows(IllegalArgumentException.class, () -> new PublicPolynomial(coefficients(4), 21, 42));
        assertThrows(IllegalArgumentException.class, () -> new PublicPolynomial(coefficients(4), 12, 11));
        assertThrows(IllegalArgumentException.class, () -> new PublicPolynomial(new double[]{1, 0, 0}, 12, 24));
        final PublicPolynomial pillar = new PublicPolynomial(coefficients(4), 12, 24);
        // s_k = (0, 0, 4, 6) for f = 12 (seeds.md §2.4); a_3 = 0 needs no copy: shifts 12 (up to x^2) and 18 (x^4).
        assertEquals(ActivationPlan.of(new int[]{12, 18}, new int[]{2, 4}), pillar.plan());
        assertEquals(4, PublicPolynomial.preScale(3, 12));
        assertEquals(8, PublicPolynomial.preScale(4, 16));
    }

    // ---- helpers ---------------------------------------------------------------------------------------

    /** Every power tensor of every copy, in plan order, then {@code last}. */
    private static long[][] flatten(final ActivationPlan plan, final FusedActivation.Powers powers,
                                    final RingTensor last)
    {
        final long[][] out = new long[plan.totalPowers() + 1][];
        int c = 0;
        for (int j = 0; j < plan.copies(); j++)
        {
            for (int i = 1; i <= plan.degree(j); i++)
            {
                out[c++] = powers.power(j, i).toArray();
            }
        }
        out[c] = last.toArray();
        return out;
    }

    /** Checks copy j's first power is floor or floor + 1 of z >> sh_j and its powers exact; returns the copies. */
    private static long[][] checkPowers(final ActivationPlan plan, final long[] z, final long[][] s, final long[][] c)
    {
        final long[][] copies = new long[plan.copies()][];
        int t = 0;
        for (int j = 0; j < plan.copies(); j++)
        {
            final int sh = plan.shift(j);
            final long[] x = Shares.add(s[t], c[t]);
            copies[j] = x;
            for (int e = 0; e < z.length; e++)
            {
                final long diff = x[e] - (z[e] >> sh);
                assertTrue(diff == 0 || diff == 1, "shift " + sh + ", z = " + z[e] + ": copy off by " + diff);
            }
            for (int i = 1; i <= plan.degree(j); i++)
            {
                final long[] p = Shares.add(s[t], c[t]);
                t++;
                for (int e = 0; e < z.length; e++)
                {
                    assertEquals(pow(x[e], i), p[e], "shift " + sh + " power " + i);
                }
            }
        }
        return copies;
    }

    private static void checkExactPowers(final long[] x, final int degree, final long[][] s, final long[][] c)
    {
        for (int i = 1; i <= degree; i++)
        {
            final long[] p = Shares.add(s[i - 1], c[i - 1]);
            for (int e = 0; e < x.length; e++)
            {
                assertEquals(pow(x[e], i), p[e], "power " + i);
            }
        }
    }

    private static void checkCost(final ThreeParties.Outcome<?, ?> o, final String step, final long rounds,
                                  final long bytes)
    {
        for (final CostMeter meter : new CostMeter[]{o.serverMeter(), o.clientMeter()})
        {
            final CostMeter.Entry e = ThreeParties.entry(meter, "online", step);
            assertEquals(rounds, e.rounds(), step + " rounds");
            assertEquals(bytes, e.bytesSent(), step + " bytes sent");
            assertEquals(bytes, e.bytesReceived(), step + " bytes received");
        }
    }

    /** The polynomial with the coefficients as the protocol encodes them, in real numbers. */
    private static double encodedPolynomial(final PublicPolynomial poly, final double[] a, final int f,
                                            final double z)
    {
        double y = new FixedPoint(poly.outputScale()).encode(a[0]) * Math.scalb(1.0, -poly.outputScale());
        final FixedPoint codec = new FixedPoint(f);
        for (int k = 1; k < a.length; k++)
        {
            y += codec.encode(a[k]) * Math.scalb(1.0, -f) * Math.pow(z, k);
        }
        return y;
    }

    /**
     * Bound of the real error when power k uses z truncated to {@code f - s_k} fractional bits, floor or floor + 1:
     * {@code |z^k - x^k| <= k (|z| + 2 delta)^(k-1) 2 delta}, delta = 2^-(f - s_k); plus one output ulp and slack
     * for double rounding.
     */
    private static double realTolerance(final double[] a, final int f, final double z)
    {
        final FixedPoint codec = new FixedPoint(f);
        double t = Math.scalb(1.0, -3 * f) + 1e-9;
        for (int k = 1; k < a.length; k++)
        {
            final double delta = Math.scalb(1.0, -(f - PublicPolynomial.preScale(k, f)));
            t += Math.abs(codec.encode(a[k]) * Math.scalb(1.0, -f)) * k * Math.pow(Math.abs(z) + 2 * delta, k - 1) *
                2 * delta;
        }
        return t;
    }

    /**
     * Error bounds of CrypTen's powers (same schedule as {@link CrypTenPolynomial#powers}): x^j = x^h x^(j-h), each
     * product's local truncation off by at most one ulp.
     */
    private static double[] powerErrorBounds(final double absX, final int degree, final double ulp)
    {
        final double[] b = new double[degree + 1];
        final double m = absX + ulp;
        for (int h = 1; h < degree; h *= 2)
        {
            for (int j = h + 1; j <= Math.min(2 * h, degree); j++)
            {
                final int g = j - h;
                b[j] = Math.pow(m, h) * b[g] + Math.pow(m, g) * b[h] + b[h] * b[g] + 2 * ulp;
            }
        }
        return b;
    }

    private static long[][] arrays(final RingTensor[] tensors)
    {
        final long[][] out = new long[tensors.length][];
        for (int i = 0; i < tensors.length; i++)
        {
            out[i] = tensors[i].toArray();
        }
        return out;
    }

    private static long pow(final long x, final int e)
    {
        long p = 1;
        for (int i = 0; i < e; i++)
        {
            p *= x;
        }
        return p;
    }
}
