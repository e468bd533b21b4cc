/*
 * PolyPI native kernels over the ring Z_2^64 (uint64_t arithmetic wraps = the ring).
 *
 * These exist as a ceiling to measure the Java Vector API kernels against, and as an optional backend; they are
 * not a full port of the kernel contract. Every function is single-threaded, trusts its arguments (the Java side,
 * CheckedRingKernels, has validated sizes and liveness) and assumes no alignment beyond one byte, so any slice of
 * any segment may be passed. Matrices are row-major and densely packed (leading dimension = column count).
 */
#ifndef POLYPI_H
#define POLYPI_H

#include <stdint.h>

#define POLYPI_EXPORT __attribute__((visibility("default")))

/** C = A * B; A is m x k, B is k x n, C is m x n. C is overwritten and must not overlap A or B. */
POLYPI_EXPORT void polypi_matmul(const uint64_t *a, const uint64_t *b, uint64_t *c, int32_t m, int32_t k, int32_t n);

/** C = A * B^T; A is m x k, B is n x k, C is m x n. */
POLYPI_EXPORT void polypi_matmul_transposed_b(const uint64_t *a, const uint64_t *b, uint64_t *c, int32_t m, int32_t k,
                                              int32_t n);

/** C = A^T * B; A is k x m, B is k x n, C is m x n. */
POLYPI_EXPORT void polypi_matmul_transposed_a(const uint64_t *a, const uint64_t *b, uint64_t *c, int32_t m, int32_t k,
                                              int32_t n);

/**
 * out[i] = sum_{j < count} coefficients[j] * x[i]^j (Horner), for i in [0, n). out may equal x (in place);
 * count >= 1.
 */
POLYPI_EXPORT void polypi_polynomial(const uint64_t *x, const uint64_t *coefficients, int32_t count, uint64_t *out,
                                     int64_t n);

/**
 * The fused one-round activation (the Java contract is RingKernels.polynomialFromOpened):
 * out[i] = own_constant + z_multiplier * z[i] + sum over copies and terms of (selected material) * g(p), where, for
 * each copy, p = (c[i] >> shift) + addend (arithmetic shift), and for each term g is the Horner chain of its
 * coefficients in p, times 1 for power 0, else times base[i] - (((diff[i] >> right) << left) & -msb(c[i])).
 * program: per copy {shift, addend, left, terms}, then per term {power, right, count, count coefficients, highest
 * power of p first}; shift, left and right in [0, 63], count >= 1. streams: per term of power >= 1, in order, its base
 * and diff pointers. z is read only when z_multiplier != 0. out may equal c or z (each element is read before it is
 * written); no other overlap.
 */
POLYPI_EXPORT void polypi_polynomial_from_opened(const uint64_t *c, const uint64_t *z, uint64_t z_multiplier,
                                                 uint64_t own_constant, int32_t copies, const int64_t *program,
                                                 const uint64_t *const *streams, uint64_t *out, int64_t n);

/** 1 if this CPU has every instruction-set extension the library was compiled to use (-march=native), else 0. */
POLYPI_EXPORT int32_t polypi_cpu_supported(void);

/** ABI version of this library, so the Java side can refuse a stale .so given by -Dpolypi.native.lib. */
POLYPI_EXPORT int32_t polypi_abi_version(void);

#endif
