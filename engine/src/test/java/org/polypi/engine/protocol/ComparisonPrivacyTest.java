package org.polypi.engine.protocol;

import java.util.Arrays;
import java.util.SplittableRandom;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.polypi.kernels.RingTensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * What each computing party receives from the other during comparisons, ReLUs and max pooling is uniform and does
 * not depend on the other party's secret: each protocol runs with a zero secret and with a structured one (other
 * seeds), and the received words pass {@link PrivacyTest}'s bit-balance and byte chi-square tests against uniform
 * and against each other; so does each round's message of packed opened bits on its own. The same holds for what
 * each party learns, the opened values (its own message plus, or XOR, the peer's): masked by fresh dealer
 * randomness, they are uniform whatever the secret, while unmasked comparison bits would be far from balanced.
 */
final class ComparisonPrivacyTest
{
    /** A multiple of 64, so each round's message of opened bits is a whole number of words. */
    private static final int N = 4096;
    private static final long SECRET = 0x1234_5678_9ABCL;
    private static final int MAPS = 16;
    private static final int SIDE = 16;

    @ParameterizedTest
    @ValueSource(strings = {"msb", "relu", "maxpool"})
    void whatEachPartyReceivesIsUniformWhateverTheSecret(final String protocol) throws Exception
    {
        final ThreeParties.Outcome<long[], long[]> zero = run(protocol, 0, 1);
        final ThreeParties.Outcome<long[], long[]> secret = run(protocol, SECRET, 2);
        for (final boolean server : new boolean[]{true, false})
        {
            final long[] a = server ? zero.serverReceived() : zero.clientReceived();
            final long[] b = server ? secret.serverReceived() : secret.clientReceived();
            final String who = protocol + ", " + (server ? "server" : "client") + " receives";
            assertEquals(a.length, b.length, who);
            assertNull(Uniformity.bitBalance(a), who + " (zero secret)");
            assertNull(Uniformity.bitBalance(b), who + " (structured secret)");
            assertNull(Uniformity.uniformBytes(a), who + " (zero secret)");
            assertNull(Uniformity.uniformBytes(b), who + " (structured secret)");
            assertNull(Uniformity.sameBytes(a, b), who);
            if (!protocol.equals("maxpool"))
            {
                assertEquals(Comparison.bytesSent(N) / Long.BYTES, a.length, who);
                // After the opened c (N words), one message of packed opened bits per round.
                int from = N;
                for (final long planes : new long[]{23, 11, 5, 3})
                {
                    final int to = from + (int)(planes * N / Long.SIZE);
                    final String round = who + ", bits of planes [" + from + ", " + to + ")";
                    assertNull(Uniformity.bitBalance(Arrays.copyOfRange(a, from, to)), round + " (zero secret)");
                    assertNull(Uniformity.bitBalance(Arrays.copyOfRange(b, from, to)), round + " (structured)");
                    assertNull(Uniformity.sameBytes(Arrays.copyOfRange(a, from, to), Arrays.copyOfRange(b, from, to)),
                        round);
                    from = to;
                }
                assertEquals(a.length, from);
                final long[] openedA = opened(a, server ? zero.server() : zero.client());
                final long[] openedB = opened(b, server ? secret.server() : secret.client());
                from = 0;
                for (final long planes : new long[]{Long.SIZE, 23, 11, 5, 3})
                {
                    final int to = from + (int)(planes * N / Long.SIZE);
                    final String round = who + ", opened words [" + from + ", " + to + ")";
                    final long[] x = Arrays.copyOfRange(openedA, from, to);
                    final long[] y = Arrays.copyOfRange(openedB, from, to);
                    assertNull(Uniformity.bitBalance(x), round + " (zero secret)");
                    assertNull(Uniformity.bitBalance(y), round + " (structured secret)");
                    assertNull(Uniformity.uniformBytes(x), round + " (zero secret)");
                    assertNull(Uniformity.sameBytes(x, y), round);
                    from = to;
                }
            }
        }
    }

    /** The opened values: {@code c = sent + received} (the first N words), the packed bits {@code sent ^ received}. */
    private static long[] opened(final long[] received, final long[] sent)
    {
        assertEquals(received.length, sent.length);
        final long[] out = new long[received.length];
        for (int i = 0; i < out.length; i++)
        {
            out[i] = i < N ? sent[i] + received[i] : sent[i] ^ received[i];
        }
        return out;
    }

    private static ThreeParties.Outcome<long[], long[]> run(final String protocol, final long secret, final long seed)
        throws Exception
    {
        final SplittableRandom rnd = new SplittableRandom(seed);
        final boolean pool = protocol.equals("maxpool");
        final int n = pool ? MAPS * SIDE * SIDE : N;
        final long[] x = new long[n];
        Arrays.fill(x, secret);
        final long[][] xs = Shares.split(x, rnd);
        final MaxPoolPlan plan = new MaxPoolPlan(MAPS, SIDE, SIDE, 3, 2, 1);
        final ComparisonParties.PartyTask<long[]> party = (s, m, core) ->
        {
            final RingTensor xt = RingTensor.of(s.arena(), xs[s.party().id()], n);
            switch (protocol)
            {
                case "msb" -> Comparison.msb(s, xt, m.msbMaterial(s, n));
                case "relu" -> Relu.relu(s, xt, m.reluMaterial(s, n));
                default -> MaxPool.maxPool2d(s, xt, plan, m.maxPoolMaterial(s, plan));
            }
            return ((ComparisonParties.Recording)s.transport()).sent();
        };
        return ComparisonParties.run(seed, true, (d, core) ->
        {
            switch (protocol)
            {
                case "msb" -> d.msbMaterial(n);
                case "relu" -> d.reluMaterial(n);
                default -> d.maxPoolMaterial(plan);
            }
        }, party, party);
    }
}
