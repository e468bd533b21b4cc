package org.polypi.engine.plan;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.polypi.kernels.RingKernels;
import org.polypi.kernels.RingTensor;

/**
 * The local (communication-free) arithmetic of the plan's steps, shared by the plaintext reference and the secure
 * parties so that both compute the same ring values: sum-pooling, aligned addition, bias addition and the linear
 * combination of an activation's powers. Each method is linear in its tensor arguments, so applied to additive
 * shares it gives shares of the result; public constants (bias, polynomial constant, the ones channel) are added
 * only by the party that {@code holdsConstants} (the server; the reference holds everything).
 * Tensors are batches of {@code batch} items, NCHW, as {@link MemorySegment}s of ring elements.
 */
public final class LocalSteps
{
    private LocalSteps()
    {
    }

    /** Window sums of {@code in} into {@code out}, then times {@code step.multiplier()} if it is not 1. */
    public static void sumPool(final RingKernels k, final PlanStep.SumPool step, final MemorySegment in,
                               final MemorySegment out, final int batch)
    {
        final long n = (long)batch * step.channels() * step.outHeight() * step.outWidth();
        if (step.windowHeight() == step.windowWidth())
        {
            k.sumPool2d(in, out, batch, step.channels(), step.inHeight(), step.inWidth(), step.windowHeight(),
                step.stride());
        }
        else
        {
            // Only a global pool over a non-square map gets here: one window covering each whole map.
            final long maps = (long)batch * step.channels();
            final long area = (long)step.inHeight() * step.inWidth();
            for (long m = 0; m < maps; m++)
            {
                long sum = 0;
                for (long i = 0; i < area; i++)
                {
                    sum += in.getAtIndex(RingTensor.ELEMENT, m * area + i);
                }
                out.setAtIndex(RingTensor.ELEMENT, m, sum);
            }
        }
        if (step.multiplier() != 1)
        {
            k.multiplyConstant(out, step.multiplier(), out, n);
        }
    }

    /** {@code out = a 2^shiftA + b 2^shiftB} over n elements. */
    public static void add(final RingKernels k, final PlanStep.Add step, final MemorySegment a, final MemorySegment b,
                           final MemorySegment out, final long n)
    {
        if (step.shiftA() == 0 && step.shiftB() == 0)
        {
            k.add(a, b, out, n);
            return;
        }
        try (Arena tmp = Arena.ofConfined())
        {
            final MemorySegment aligned = allocate(tmp, n);
            k.multiplyConstant(a, 1L << step.shiftA(), aligned, n);
            k.multiplyConstant(b, 1L << step.shiftB(), out, n);
            k.add(out, aligned, out, n);
        }
    }

    /** Adds {@code bias[channel]} to every output of a batch of a linear step (the server's or the reference's). */
    public static void addBias(final RingKernels k, final PlanStep.Linear step, final long[] bias,
                               final MemorySegment out, final int batch)
    {
        final int channels = step.outChannels();
        final int positions = step.positions();
        if (positions == 1)
        {
            try (Arena tmp = Arena.ofConfined())
            {
                final MemorySegment row = allocate(tmp, channels);
                MemorySegment.copy(bias, 0, row, RingTensor.ELEMENT, 0, channels);
                for (int b = 0; b < batch; b++)
                {
                    final MemorySegment slice = slice(out, (long)b * channels, channels);
                    k.add(slice, row, slice, channels);
                }
            }
            return;
        }
        for (int g = 0; g < batch * channels; g++)
        {
            final MemorySegment map = slice(out, (long)g * positions, positions);
            k.addConstant(map, bias[g % channels], map, positions);
        }
    }

    /**
     * The activation's output from its input z and the powers of its copies ({@code powers[j][i - 1]} = power i of
     * copy j): the polynomial (PUBLIC, PRIVATE) or the stacked aligned powers (POWERS), see
     * {@link PlanStep.Activation}. {@code privateMultipliers}/{@code privateConstants} are the PRIVATE step's
     * per-channel tables (null otherwise). {@code out} is overwritten.
     */
    public static void combine(final RingKernels k, final PlanStep.Activation step, final long[][] privateMultipliers,
                               final long[] privateConstants, final MemorySegment z, final MemorySegment[][] powers,
                               final boolean holdsConstants, final MemorySegment out, final int batch)
    {
        final long n = (long)batch * step.inputElements();
        switch (step.kind())
        {
            case PUBLIC ->
            {
                out.asSlice(0, n * RingTensor.ELEMENT_BYTES).fill((byte)0);
                try (Arena tmp = Arena.ofConfined())
                {
                    final MemorySegment term = allocate(tmp, n);
                    for (int p = 1; p <= step.degree(); p++)
                    {
                        if (step.powerSource(p) != PlanStep.Activation.SKIPPED)
                        {
                            k.multiplyConstant(power(step, z, powers, p), step.multiplier(p), term, n);
                            k.add(out, term, out, n);
                        }
                    }
                }
                if (holdsConstants && step.constant() != 0)
                {
                    k.addConstant(out, step.constant(), out, n);
                }
            }
            case POWERS ->
            {
                final int in = step.inputElements();
                final int outSize = step.outputElements();
                for (int b = 0; b < batch; b++)
                {
                    for (int p = 1; p <= step.degree(); p++)
                    {
                        k.multiplyConstant(slice(power(step, z, powers, p), (long)b * in, in), step.multiplier(p),
                            slice(out, (long)b * outSize + (long)(p - 1) * in, in), in);
                    }
                    if (step.ones())
                    {
                        final MemorySegment ones = slice(out, (long)b * outSize + (long)step.degree() * in,
                            step.mapSize());
                        ones.fill((byte)0);
                        if (holdsConstants)
                        {
                            k.addConstant(ones, step.oneValue(), ones, step.mapSize());
                        }
                    }
                }
            }
            case PRIVATE ->
            {
                final int channels = step.channels();
                final int map = step.mapSize();
                for (long i = 0; i < n; i++)
                {
                    final int c = (int)(i / map % channels);
                    long y = holdsConstants ? privateConstants[c] : 0;
                    for (int p = 1; p <= step.degree(); p++)
                    {
                        if (step.powerSource(p) != PlanStep.Activation.SKIPPED)
                        {
                            y += privateMultipliers[c][p] * power(step, z, powers, p).getAtIndex(RingTensor.ELEMENT, i);
                        }
                    }
                    out.setAtIndex(RingTensor.ELEMENT, i, y);
                }
            }
        }
    }

    /**
     * A {@link PlanStep.Combine}: {@code out = sum_k m_k stacked_k + constant} per element, from the d stacked power
     * blocks of each item. {@code privateMultipliers[c][k]}/{@code privateConstants[c]} replace the step's public
     * ones when it has private coefficients (null otherwise). {@code out} is overwritten.
     */
    public static void combineStacked(final RingKernels k, final PlanStep.Combine step,
                                      final long[][] privateMultipliers, final long[] privateConstants,
                                      final MemorySegment stacked, final boolean holdsConstants,
                                      final MemorySegment out, final int batch)
    {
        final int size = step.outputElements();
        final long n = (long)batch * size;
        if (step.privateCoefficients())
        {
            final int blockStride = step.degree() * size;
            for (long i = 0; i < n; i++)
            {
                final long item = i / size;
                final int e = (int)(i % size);
                final int c = e / step.mapSize();
                long y = holdsConstants ? privateConstants[c] : 0;
                for (int p = 1; p <= step.degree(); p++)
                {
                    y += privateMultipliers[c][p] *
                        stacked.getAtIndex(RingTensor.ELEMENT, item * blockStride + (long)(p - 1) * size + e);
                }
                out.setAtIndex(RingTensor.ELEMENT, i, y);
            }
            return;
        }
        try (Arena tmp = Arena.ofConfined())
        {
            final MemorySegment term = allocate(tmp, size);
            for (int b = 0; b < batch; b++)
            {
                final MemorySegment y = slice(out, (long)b * size, size);
                y.fill((byte)0);
                for (int p = 1; p <= step.degree(); p++)
                {
                    if (step.multiplier(p) != 0)
                    {
                        k.multiplyConstant(slice(stacked, ((long)b * step.degree() + p - 1) * size, size),
                            step.multiplier(p), term, size);
                        k.add(y, term, y, size);
                    }
                }
                if (holdsConstants && step.constant() != 0)
                {
                    k.addConstant(y, step.constant(), y, size);
                }
            }
        }
    }

    /**
     * The reference's copies and powers: {@code powers[j][i - 1] = roundShift(z, shift_j)^i}, allocated in
     * {@code arena}.
     */
    public static MemorySegment[][] plaintextPowers(final RingKernels k, final PlanStep.Activation step,
                                                    final MemorySegment z, final int batch, final Arena arena)
    {
        final long n = (long)batch * step.inputElements();
        final MemorySegment[][] powers = new MemorySegment[step.copies()][];
        for (int j = 0; j < step.copies(); j++)
        {
            powers[j] = new MemorySegment[step.copyDegree(j)];
            final MemorySegment x = allocate(arena, n);
            roundShift(k, z, step.copyShift(j), x, n);
            powers[j][0] = x;
            for (int i = 1; i < step.copyDegree(j); i++)
            {
                powers[j][i] = allocate(arena, n);
                k.multiply(powers[j][i - 1], x, powers[j][i], n);
            }
        }
        return powers;
    }

    /**
     * The reference's truncation by {@code shift} bits: to nearest, ties up, {@code (v + 2^(shift - 1)) >> shift}.
     * The secure engine's faithful truncation gives the floor or the floor + 1 with the carry's probability equal to
     * the dropped fraction, i.e. an unbiased rounding; a floor reference would sit half a unit below it on average,
     * a bias that adds up coherently through the next linear layer's sums (docs/fixed-point.md). Values within the
     * budget ({@code |v| < 2^62}) cannot overflow the addition.
     */
    public static long roundShift(final long v, final int shift)
    {
        return shift == 0 ? v : (v + (1L << (shift - 1))) >> shift;
    }

    /** {@link #roundShift(long, int)} of {@code n} elements of {@code in} into {@code out} (which may be {@code in}). */
    public static void roundShift(final RingKernels k, final MemorySegment in, final int shift,
                                  final MemorySegment out, final long n)
    {
        if (shift == 0)
        {
            k.shiftRightArithmetic(in, 0, out, n);
            return;
        }
        k.addConstant(in, 1L << (shift - 1), out, n);
        k.shiftRightArithmetic(out, shift, out, n);
    }

    private static MemorySegment power(final PlanStep.Activation step, final MemorySegment z,
                                       final MemorySegment[][] powers, final int p)
    {
        final int source = step.powerSource(p);
        return source == PlanStep.Activation.DIRECT ? z : powers[source][p - 1];
    }

    /** {@code elements} ring elements, 64-byte aligned, zero-filled. */
    public static MemorySegment allocate(final Arena arena, final long elements)
    {
        return arena.allocate(elements * RingTensor.ELEMENT_BYTES, RingTensor.ALIGNMENT_BYTES);
    }

    /** Elements {@code [from, from + count)} of {@code segment}. */
    public static MemorySegment slice(final MemorySegment segment, final long from, final long count)
    {
        return segment.asSlice(from * RingTensor.ELEMENT_BYTES, count * RingTensor.ELEMENT_BYTES);
    }
}
