package org.polypi.engine.protocol;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import org.polypi.kernels.RingKernels;
import org.polypi.kernels.RingTensor;

/**
 * Small compositions of {@link RingKernels} calls the protocols share: bit extraction and shifts that the kernel
 * contract does not offer directly, and the wire-order check.
 */
final class RingOps
{
    /** Bits in a ring element. */
    static final int RING_BITS = Long.SIZE;
    /** Position of the most significant bit. */
    static final int MSB = RING_BITS - 1;

    private RingOps()
    {
    }

    /** {@code 2^e mod 2^64}: 0 for {@code e >= 64} (Java's {@code 1L << 64} would be 1). */
    static long pow2(final int e)
    {
        if (e < 0)
        {
            throw new IllegalArgumentException("exponent must be non-negative, was " + e);
        }
        return e >= RING_BITS ? 0L : 1L << e;
    }

    /** {@code out[i] = -msb(a[i])}, that is -1 where the top bit is set and 0 elsewhere (one pass). */
    static void negatedMsb(final RingKernels k, final MemorySegment a, final MemorySegment out, final long n)
    {
        k.shiftRightArithmetic(a, MSB, out, n);
    }

    /** {@code out[i] = msb(a[i])} as a ring 0/1 value. */
    static void msb(final RingKernels k, final MemorySegment a, final MemorySegment out, final long n)
    {
        k.shiftRightArithmetic(a, MSB, out, n);
        k.negate(out, out, n);
    }

    /**
     * {@code out[i] = a[i] >>> s} (logical shift), from the arithmetic one: {@code a >> s} sign-extends, which
     * subtracts {@code msb(a) * 2^(64-s)}; adding it back gives the logical shift. {@code tmp} is scratch of n
     * elements, distinct from {@code a} and {@code out}.
     */
    static void logicalShiftRight(final RingKernels k, final MemorySegment a, final int s, final MemorySegment out,
                                  final MemorySegment tmp, final long n)
    {
        checkShift(s);
        if (s == 0)
        {
            MemorySegment.copy(a, 0, out, 0, n * RingTensor.ELEMENT_BYTES);
            return;
        }
        k.shiftRightArithmetic(a, MSB, tmp, n);
        k.multiplyConstant(tmp, -pow2(RING_BITS - s), tmp, n);
        k.shiftRightArithmetic(a, s, out, n);
        k.add(out, tmp, out, n);
    }

    /** Throws unless {@code 0 <= s <= 62}, the shifts the protocols support (|values| stay below 2^62). */
    static void checkShift(final int s)
    {
        if (s < 0 || s > FaithfulTruncation.RANGE_BITS)
        {
            throw new IllegalArgumentException("shift must be in [0, " + FaithfulTruncation.RANGE_BITS + "], was " + s);
        }
    }

    /** Element count of a tensor as a checked int-free long, naming the operand when shapes disagree. */
    static void requireSize(final String name, final RingTensor t, final long size)
    {
        if (t.size() != size)
        {
            throw new IllegalArgumentException(name + " has " + t.size() + " elements, expected " + size);
        }
        RingTensor.checkAlive(name, t.segment());
    }

    /**
     * Ring elements travel as 8-byte little-endian words; tensors are in native order, so the protocols send them
     * as they are only on little-endian machines (every platform we support).
     */
    static void checkWireOrder()
    {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN)
        {
            throw new UnsupportedOperationException("the wire format is little-endian and this machine is " +
                ByteOrder.nativeOrder());
        }
    }
}
