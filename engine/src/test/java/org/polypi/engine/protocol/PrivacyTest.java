package org.polypi.engine.protocol;

import java.util.Arrays;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.polypi.kernels.RingTensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.polypi.engine.protocol.Uniformity.bitBalance;
import static org.polypi.engine.protocol.Uniformity.sameBytes;
import static org.polypi.engine.protocol.Uniformity.uniformBytes;

/**
 * What each computing party receives from the other is uniformly distributed and its distribution does not depend
 * on the other party's secret: every protocol runs twice, with a zero secret and with a structured one (and other
 * seeds), and the received words must pass a per-bit balance test and byte-histogram chi-square tests, both
 * against uniform and against each other.
 */
final class PrivacyTest
{
    /** Words each party receives per run (about). */
    private static final int WORDS = 8192;
    private static final long SECRET = 0x1234_5678_9ABCL;
    private static final int F = 12;

    @ParameterizedTest
    @ValueSource(strings = {"linear", "truncation", "activation", "beaver", "honeybadger", "espn"})
    void whatEachPartyReceivesIsUniformWhateverTheSecret(final String protocol) throws Exception
    {
        final ThreeParties.Outcome<?, ?> zero = run(protocol, 0, 1);
        final ThreeParties.Outcome<?, ?> secret = run(protocol, SECRET, 2);
        for (final boolean server : new boolean[]{true, false})
        {
            final long[] a = server ? zero.serverReceived() : zero.clientReceived();
            final long[] b = server ? secret.serverReceived() : secret.clientReceived();
            final String who = protocol + ", " + (server ? "server" : "client") + " receives";
            assertEquals(a.length, b.length, who);
            assertNull(bitBalance(a), who + " (zero secret)");
            assertNull(bitBalance(b), who + " (structured secret)");
            assertNull(uniformBytes(a), who + " (zero secret)");
            assertNull(uniformBytes(b), who + " (structured secret)");
            assertNull(sameBytes(a, b), who);
        }
    }

    /** The statistics catch what a leak would look like, so the test above can fail. */
    @Test
    void theStatisticsRejectStreamsThatCarryTheSecret()
    {
        final SplittableRandom rnd = new SplittableRandom(3);
        final long[] constant = new long[WORDS];
        Arrays.fill(constant, SECRET);
        assertNotNull(bitBalance(constant));
        // A value shifted to be non-negative but opened without its mask: the top bits are never set.
        final long[] unmasked = new long[WORDS];
        final long[] uniform = new long[WORDS];
        for (int i = 0; i < WORDS; i++)
        {
            unmasked[i] = rnd.nextLong(1L << 62);
            uniform[i] = rnd.nextLong();
        }
        assertNotNull(bitBalance(unmasked));
        assertNull(bitBalance(uniform));
        // A distribution that depends on the secret: low bytes biased towards the secret's.
        final long[] biased = uniform.clone();
        for (int i = 0; i < WORDS; i += 4)
        {
            biased[i] = (biased[i] & ~0xFFL) | (SECRET & 0xFF);
        }
        assertNotNull(sameBytes(uniform, biased));
    }

    private static ThreeParties.Outcome<?, ?> run(final String protocol, final long secret, final long seed)
        throws Exception
    {
        final SplittableRandom rnd = new SplittableRandom(seed);
        return switch (protocol)
        {
            case "linear" -> linear(secret, seed, rnd);
            case "truncation" -> elementwise(seed, secret, rnd, WORDS, d -> d.truncationPair(F, WORDS),
                (s, m, x) -> FaithfulTruncation.truncate(s, x, m.truncationPair(s, F, WORDS)));
            case "activation" ->
            {
                final ActivationPlan plan = new PublicPolynomial(ActivationTest.coefficients(4), F, 2 * F).plan();
                yield elementwise(seed, secret, rnd, WORDS, d -> d.activationMaterial(plan, WORDS),
                    (s, m, x) -> FusedActivation.open(s, x, m.activationMaterial(s, plan, WORDS)).power(0, 1));
            }
            case "beaver" -> elementwise(seed, secret, rnd, WORDS / 2, d -> d.beaverTriple(WORDS / 2),
                (s, m, x) -> BeaverMultiplication.multiply(s, x, x, m.beaverTriple(s, WORDS / 2)));
            case "honeybadger" -> elementwise(seed, secret, rnd, WORDS, d -> d.powerTuple(3, WORDS),
                (s, m, x) -> HoneyBadgerPowers.powers(s, x, m.powerTuple(s, 3, WORDS))[0]);
            case "espn" -> elementwise(seed, secret, rnd, WORDS / 2, d -> d.espnTuple(3, WORDS / 2),
                (s, m, x) -> EspnPowers.powers(s, x, m.espnTuple(s, 3, WORDS / 2))[0]);
            default -> throw new IllegalArgumentException(protocol);
        };
    }

    @FunctionalInterface
    private interface Step
    {
        RingTensor run(PartySession session, MaterialReceiver material, RingTensor x);
    }

    /** n elements all equal to {@code secret}, shared, through one protocol step. */
    private static ThreeParties.Outcome<?, ?> elementwise(final long seed, final long secret,
                                                          final SplittableRandom rnd, final int n,
                                                          final ThreeParties.DealerTask dealer, final Step step)
        throws Exception
    {
        final long[] x = new long[n];
        Arrays.fill(x, secret);
        final long[][] xs = Shares.split(x, rnd);
        final ThreeParties.PartyTask<Object> party = (s, m) ->
        {
            step.run(s, m, RingTensor.of(s.arena(), xs[s.party().id()], n));
            return null;
        };
        return ThreeParties.run(seed, true, dealer, party, party);
    }

    /** A 64x64 layer: the set-up (the client receives W - B_0) and one query (E = X - A). */
    private static ThreeParties.Outcome<?, ?> linear(final long secret, final long seed, final SplittableRandom rnd)
        throws Exception
    {
        final int dim = 64;
        final LinearOp op = new LinearOp.Matmul(dim, dim, dim);
        final long[] w = new long[dim * dim];
        Arrays.fill(w, secret);
        final long[] x = new long[dim * dim];
        Arrays.fill(x, ~secret);
        final long[][] xs = Shares.split(x, rnd);
        final ThreeParties.PartyTask<Object> party = (s, m) ->
        {
            final LinearMask mask = m.linearMask(s, op);
            final LinearTriple triple = m.linearTriple(s, mask);
            final LinearLayer.Prepared layer = s.holdsConstants() ?
                LinearLayer.setupServer(s, mask, RingTensor.of(s.arena(), w, op.weightShape())) :
                LinearLayer.setupClient(s, mask);
            LinearLayer.online(s, layer, LinearLayer.prepareQuery(s, layer, triple),
                RingTensor.of(s.arena(), xs[s.party().id()], op.inputShape()));
            return null;
        };
        return ThreeParties.run(seed, true, d -> d.linearTriple(d.linearMask(op)), party, party);
    }
}
