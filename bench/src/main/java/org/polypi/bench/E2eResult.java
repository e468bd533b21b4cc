package org.polypi.bench;

import java.io.Serial;
import java.io.Serializable;
import java.util.List;
import java.util.Map;

/**
 * The measured figures of one cell (NaN where a figure does not apply or was not measured).
 *
 * @param cell the cell.
 * @param status "ok", or "not run: why" / "failed: why".
 * @param model where the model came from (trained file or random weights).
 * @param architecture the model's architecture name.
 * @param fractionalBits f of the plan.
 * @param multiplyAdds multiply-adds per item of the workload.
 * @param warmup warm-up queries run.
 * @param runs measured queries.
 * @param onlineMedianMs median online latency per query (input known to result known).
 * @param onlineP90Ms 90th percentile of the online latency.
 * @param totalMedianMs median wall time of a whole query: dealing, offline and online.
 * @param dealerMs the dealer's time per query.
 * @param dealerBytesPerItem bytes of correlated randomness the dealer sends per inference.
 * @param serverBytesPerItem bytes the server sends online per inference.
 * @param clientBytesPerItem bytes the client sends online per inference.
 * @param rounds online rounds per query.
 * @param rttMicros round trip used for the floor (measured loopback or in-memory, plus the profile's).
 * @param computeFloorMs multiply-adds of the query over the measured single-core Z_2^64 product rate.
 * @param floorMs the physical floor: compute + bytes / bandwidth + rounds x RTT / 2 (a round is a simultaneous exchange).
 * @param breakdownMs online time per query by layer type (the client's meter).
 * @param activationChecks per polynomial activation step: rounds and ring elements per party per element.
 * @param accuracy accuracy figures (only with trained weights).
 */
record E2eResult(E2eCell cell, String status, String model, String architecture, int fractionalBits,
                 long multiplyAdds, int warmup, int runs, double onlineMedianMs, double onlineP90Ms,
                 double totalMedianMs, double dealerMs, double dealerBytesPerItem, double serverBytesPerItem,
                 double clientBytesPerItem, double rounds, double rttMicros, double computeFloorMs, double floorMs,
                 Map<String, Double> breakdownMs, List<ActivationCheck> activationChecks, Accuracy accuracy)
    implements Serializable
{
    // Serializable: a bench worker JVM hands its results to the parent (WorkloadForks).
    @Serial
    private static final long serialVersionUID = 1L;

    /** Status of a cell that ran. */
    static final String OK = "ok";

    /** A cell that was not measured. */
    static E2eResult notRun(final E2eCell cell, final String why)
    {
        return new E2eResult(cell, why, "", "", 0, 0, 0, 0, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
            Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Map.of(), List.of(),
            Accuracy.NONE);
    }

    /** True if the cell was measured. */
    boolean ok()
    {
        return OK.equals(status);
    }

    /** Online inferences per second (batch over the median online latency). */
    double throughput()
    {
        return cell.batch() * 1e3 / onlineMedianMs;
    }

    /** Measured online latency over the physical floor. */
    double floorRatio()
    {
        return onlineMedianMs / floorMs;
    }

    /** Online latency over the compute floor alone (issue 4's goal). */
    double computeFloorRatio()
    {
        return onlineMedianMs / computeFloorMs;
    }

    /**
     * Cost of one polynomial activation step, measured.
     *
     * @param step the plan step.
     * @param degree the polynomial's degree d.
     * @param rounds online rounds per query.
     * @param elementsPerElement ring elements each party sends per activation element.
     */
    record ActivationCheck(String step, int degree, double rounds, double elementsPerElement) implements Serializable
    {
        @Serial
        private static final long serialVersionUID = 1L;

        /** Issue 4: one round and at most d - 1 ring elements per party per element. */
        boolean pass()
        {
            return rounds == 1 && elementsPerElement <= degree - 1;
        }
    }

    /**
     * Accuracy on Fashion-MNIST test images (NaN without trained weights).
     *
     * @param images images classified.
     * @param floatAccuracy plaintext float32 top-1 accuracy.
     * @param fixedAccuracy plaintext fixed-point top-1 accuracy.
     * @param secureAccuracy secure top-1 accuracy.
     * @param agreement secure top-1 equal to the fixed-point top-1.
     */
    record Accuracy(int images, double floatAccuracy, double fixedAccuracy, double secureAccuracy, double agreement)
        implements Serializable
    {
        @Serial
        private static final long serialVersionUID = 1L;

        /** Not measured. */
        static final Accuracy NONE = new Accuracy(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
    }

    /**
     * A copy whose compute floor (and the physical floor that includes it) is taken at {@code macsPerSecond}
     * instead of {@code measuredAt}, the rate it was computed with.
     */
    E2eResult atRate(final double measuredAt, final double macsPerSecond)
    {
        final double compute = computeFloorMs * measuredAt / macsPerSecond;
        return new E2eResult(cell, status, model, architecture, fractionalBits, multiplyAdds, warmup, runs,
            onlineMedianMs, onlineP90Ms, totalMedianMs, dealerMs, dealerBytesPerItem, serverBytesPerItem,
            clientBytesPerItem, rounds, rttMicros, compute, floorMs - computeFloorMs + compute, breakdownMs,
            activationChecks, accuracy);
    }

    /** A copy with accuracy figures. */
    E2eResult withAccuracy(final Accuracy a)
    {
        return new E2eResult(cell, status, model, architecture, fractionalBits, multiplyAdds, warmup, runs,
            onlineMedianMs, onlineP90Ms, totalMedianMs, dealerMs, dealerBytesPerItem, serverBytesPerItem,
            clientBytesPerItem, rounds, rttMicros, computeFloorMs, floorMs, breakdownMs, activationChecks, a);
    }
}
