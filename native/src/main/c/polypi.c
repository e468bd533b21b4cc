/*
 * Register-blocked Z_2^64 matrix products and Horner polynomial evaluation, written with GCC vector extensions.
 * Built with -O3 -march=native -mprefer-vector-width=512, a 64-byte vector of eight uint64_t lanes becomes one
 * zmm register and the multiply becomes vpmullq, the instruction that bounds this ring's product rate.
 *
 * The product follows the kernel that the Java Vector API backend uses (java-stack.md section 2): a micro-kernel of
 * MR = 4 rows by NR = 4 vectors (32 columns) keeps 16 accumulators in registers; per step of the inner dimension it
 * loads four vectors of a B panel and broadcasts one A element per row. B panels are packed (KC x NR, contiguous,
 * zero-padded past the last column) so the micro-kernel streams them from L1/L2 with unit stride.
 */
#include "polypi.h"

#include <stddef.h>
#include <string.h>

#define POLYPI_ABI_VERSION 2

typedef uint64_t u64;
/* Vectors in registers. */
typedef u64 v8 __attribute__((vector_size(64)));
/* The same vector in memory: any alignment (operands may be slices of heap arrays), may alias u64. */
typedef v8 v8m __attribute__((aligned(1), may_alias));
/* Signed lanes, for arithmetic shifts. */
typedef int64_t vs8 __attribute__((vector_size(64)));
/* A scalar element in memory, again with no alignment assumption. */
typedef u64 u64m __attribute__((aligned(1), may_alias));

enum
{
    LANES = 8,                  /* uint64_t lanes in a 512-bit vector */
    MR = 4,                     /* micro-kernel rows */
    NR = 4 * LANES,             /* micro-kernel columns: four vectors */
    KC_MAX = 256,               /* inner-dimension block: a packed panel of KC_MAX x NR longs is 64 KiB */
    PACK_MIN_ROWS = 8,          /* below this many rows a panel is used once, so packing it costs more than it saves */
    POLY_VECTORS = 8,           /* independent Horner chains per step, to cover the latency of vpmullq */
    OPENED_VECTORS = 2          /* vectors per step of the opened polynomial: two independent multiply chains */
};

/* The fields of an opened polynomial's program (see polypi.h): per copy, then per term. */
enum
{
    COPY_SHIFT, COPY_ADDEND, COPY_LEFT, COPY_TERMS, COPY_FIELDS,
    TERM_POWER = 0, TERM_RIGHT, TERM_COUNT, TERM_FIELDS
};

static inline v8 load(const u64 *p)
{
    return *(const v8m *)p;
}

static inline void store(u64 *p, const v8 v)
{
    *(v8m *)p = v;
}

static inline u64 get(const u64 *p)
{
    return *(const u64m *)p;
}

static inline void put(u64 *p, const u64 v)
{
    *(u64m *)p = v;
}

static inline long min_long(const long x, const long y)
{
    return x < y ? x : y;
}

/*
 * The 4 x 32 micro-kernel. A(r, p) = a[r * ars + p * acs]; panel row p is b[p * ldb .. + NR).
 * Writes C(r, 0..NR) = (accumulate ? C : 0) + sum_p A(r, p) * B(p, .) to c[r * ldc ..].
 */
static void kernel_4xnr(const long kc, const u64 *a, const long ars, const long acs, const u64 *b, const long ldb,
                        u64 *c, const long ldc, const int accumulate)
{
    v8 c00 = {0}, c01 = {0}, c02 = {0}, c03 = {0};
    v8 c10 = {0}, c11 = {0}, c12 = {0}, c13 = {0};
    v8 c20 = {0}, c21 = {0}, c22 = {0}, c23 = {0};
    v8 c30 = {0}, c31 = {0}, c32 = {0}, c33 = {0};
    const u64 *a0 = a;
    const u64 *a1 = a + ars;
    const u64 *a2 = a + 2 * ars;
    const u64 *a3 = a + 3 * ars;
    for (long p = 0; p < kc; p++)
    {
        const v8 b0 = load(b);
        const v8 b1 = load(b + LANES);
        const v8 b2 = load(b + 2 * LANES);
        const v8 b3 = load(b + 3 * LANES);
        const u64 x0 = get(a0);
        c00 += b0 * x0; c01 += b1 * x0; c02 += b2 * x0; c03 += b3 * x0;
        const u64 x1 = get(a1);
        c10 += b0 * x1; c11 += b1 * x1; c12 += b2 * x1; c13 += b3 * x1;
        const u64 x2 = get(a2);
        c20 += b0 * x2; c21 += b1 * x2; c22 += b2 * x2; c23 += b3 * x2;
        const u64 x3 = get(a3);
        c30 += b0 * x3; c31 += b1 * x3; c32 += b2 * x3; c33 += b3 * x3;
        a0 += acs;
        a1 += acs;
        a2 += acs;
        a3 += acs;
        b += ldb;
    }
    u64 *r0 = c;
    u64 *r1 = c + ldc;
    u64 *r2 = c + 2 * ldc;
    u64 *r3 = c + 3 * ldc;
    if (accumulate)
    {
        c00 += load(r0); c01 += load(r0 + LANES); c02 += load(r0 + 2 * LANES); c03 += load(r0 + 3 * LANES);
        c10 += load(r1); c11 += load(r1 + LANES); c12 += load(r1 + 2 * LANES); c13 += load(r1 + 3 * LANES);
        c20 += load(r2); c21 += load(r2 + LANES); c22 += load(r2 + 2 * LANES); c23 += load(r2 + 3 * LANES);
        c30 += load(r3); c31 += load(r3 + LANES); c32 += load(r3 + 2 * LANES); c33 += load(r3 + 3 * LANES);
    }
    store(r0, c00); store(r0 + LANES, c01); store(r0 + 2 * LANES, c02); store(r0 + 3 * LANES, c03);
    store(r1, c10); store(r1 + LANES, c11); store(r1 + 2 * LANES, c12); store(r1 + 3 * LANES, c13);
    store(r2, c20); store(r2 + LANES, c21); store(r2 + 2 * LANES, c22); store(r2 + 3 * LANES, c23);
    store(r3, c30); store(r3 + LANES, c31); store(r3 + 2 * LANES, c32); store(r3 + 3 * LANES, c33);
}

/* One row of the micro-kernel, for the m % MR rows left over; same contract with a single row. */
static void kernel_1xnr(const long kc, const u64 *a, const long acs, const u64 *b, const long ldb, u64 *c,
                        const int accumulate)
{
    v8 c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0};
    for (long p = 0; p < kc; p++)
    {
        const u64 x = get(a);
        c0 += load(b) * x;
        c1 += load(b + LANES) * x;
        c2 += load(b + 2 * LANES) * x;
        c3 += load(b + 3 * LANES) * x;
        a += acs;
        b += ldb;
    }
    if (accumulate)
    {
        c0 += load(c); c1 += load(c + LANES); c2 += load(c + 2 * LANES); c3 += load(c + 3 * LANES);
    }
    store(c, c0); store(c + LANES, c1); store(c + 2 * LANES, c2); store(c + 3 * LANES, c3);
}

/*
 * Copies B(p0 .. p0 + kc, j0 .. j0 + nr) into panel (kc x NR, row-major), zero-filling columns nr .. NR so the
 * micro-kernel needs no column tail. B(p, j) = b[p * brs + j * bcs].
 */
static void pack_panel(const u64 *b, const long brs, const long bcs, const long p0, const long kc, const long j0,
                       const long nr, u64 *panel)
{
    if (bcs == 1)
    {
        for (long p = 0; p < kc; p++)
        {
            memcpy(panel + p * NR, b + (p0 + p) * brs + j0, (size_t)nr * sizeof(u64));
            memset(panel + p * NR + nr, 0, (size_t)(NR - nr) * sizeof(u64));
        }
        return;
    }
    /* Transposed source: walk each source row (a column of the panel) contiguously. */
    for (long j = 0; j < nr; j++)
    {
        const u64 *src = b + p0 * brs + (j0 + j) * bcs;
        for (long p = 0; p < kc; p++)
        {
            panel[p * NR + j] = get(src + p * brs);
        }
    }
    for (long p = 0; p < kc; p++)
    {
        memset(panel + p * NR + nr, 0, (size_t)(NR - nr) * sizeof(u64));
    }
}

/*
 * The one driver behind the three products: C (m x n, dense) = A (m x k) * B (k x n) with A and B given by
 * strides, so transposed operands cost only a different packing. Loop order: inner-dimension block, then column
 * panel (packed once), then row blocks sweeping the panel while it is hot in cache.
 */
static void gemm(const long m, const long k, const long n, const u64 *a, const long ars, const long acs, const u64 *b,
                 const long brs, const long bcs, u64 *c)
{
    u64 panel[KC_MAX * NR] __attribute__((aligned(64)));
    u64 tile[MR * NR] __attribute__((aligned(64)));
    /* Even blocks: k = 784 becomes 4 x 196 rather than 3 x 256 + 16. */
    const long blocks = (k + KC_MAX - 1) / KC_MAX;
    const long kcs = (k + blocks - 1) / blocks;
    for (long p0 = 0; p0 < k; p0 += kcs)
    {
        const long kc = min_long(kcs, k - p0);
        const int accumulate = p0 > 0;
        for (long j0 = 0; j0 < n; j0 += NR)
        {
            const long nr = min_long(NR, n - j0);
            const u64 *bp;
            long ldb;
            if (bcs == 1 && nr == NR && m < PACK_MIN_ROWS)
            {
                bp = b + p0 * brs + j0;
                ldb = brs;
            }
            else
            {
                pack_panel(b, brs, bcs, p0, kc, j0, nr, panel);
                bp = panel;
                ldb = NR;
            }
            for (long i0 = 0; i0 < m; i0 += MR)
            {
                const long mr = min_long(MR, m - i0);
                const u64 *ap = a + i0 * ars + p0 * acs;
                u64 *cp = c + i0 * n + j0;
                if (nr == NR)
                {
                    if (mr == MR)
                    {
                        kernel_4xnr(kc, ap, ars, acs, bp, ldb, cp, n, accumulate);
                    }
                    else
                    {
                        for (long r = 0; r < mr; r++)
                        {
                            kernel_1xnr(kc, ap + r * ars, acs, bp, ldb, cp + r * n, accumulate);
                        }
                    }
                    continue;
                }
                /* Column tail: compute the full padded tile aside, then merge only the nr real columns. */
                if (mr == MR)
                {
                    kernel_4xnr(kc, ap, ars, acs, bp, ldb, tile, NR, 0);
                }
                else
                {
                    for (long r = 0; r < mr; r++)
                    {
                        kernel_1xnr(kc, ap + r * ars, acs, bp, ldb, tile + r * NR, 0);
                    }
                }
                for (long r = 0; r < mr; r++)
                {
                    for (long j = 0; j < nr; j++)
                    {
                        u64 *dst = cp + r * n + j;
                        put(dst, (accumulate ? get(dst) : 0) + tile[r * NR + j]);
                    }
                }
            }
        }
    }
}

void polypi_matmul(const uint64_t *a, const uint64_t *b, uint64_t *c, const int32_t m, const int32_t k,
                   const int32_t n)
{
    gemm(m, k, n, a, k, 1, b, n, 1, c);
}

/*
 * C = A * B^T for few rows: every C element is a dot product of two contiguous rows, so no panel is packed (a
 * transposing pack would cost as much as the product itself when m is small). Four B rows share each A load.
 */
static void dot_rows(const long m, const long k, const long n, const u64 *a, const u64 *b, u64 *c)
{
    for (long i = 0; i < m; i++)
    {
        const u64 *ai = a + i * k;
        long j = 0;
        for (; j + 4 <= n; j += 4)
        {
            const u64 *b0 = b + j * k;
            const u64 *b1 = b0 + k;
            const u64 *b2 = b1 + k;
            const u64 *b3 = b2 + k;
            v8 s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
            long p = 0;
            for (; p + LANES <= k; p += LANES)
            {
                const v8 x = load(ai + p);
                s0 += x * load(b0 + p);
                s1 += x * load(b1 + p);
                s2 += x * load(b2 + p);
                s3 += x * load(b3 + p);
            }
            u64 t0 = 0, t1 = 0, t2 = 0, t3 = 0;
            for (int l = 0; l < LANES; l++)
            {
                t0 += s0[l];
                t1 += s1[l];
                t2 += s2[l];
                t3 += s3[l];
            }
            for (; p < k; p++)
            {
                const u64 x = get(ai + p);
                t0 += x * get(b0 + p);
                t1 += x * get(b1 + p);
                t2 += x * get(b2 + p);
                t3 += x * get(b3 + p);
            }
            put(c + i * n + j, t0);
            put(c + i * n + j + 1, t1);
            put(c + i * n + j + 2, t2);
            put(c + i * n + j + 3, t3);
        }
        for (; j < n; j++)
        {
            const u64 *bj = b + j * k;
            u64 t = 0;
            for (long p = 0; p < k; p++)
            {
                t += get(ai + p) * get(bj + p);
            }
            put(c + i * n + j, t);
        }
    }
}

void polypi_matmul_transposed_b(const uint64_t *a, const uint64_t *b, uint64_t *c, const int32_t m, const int32_t k,
                                const int32_t n)
{
    if (m < PACK_MIN_ROWS)
    {
        dot_rows(m, k, n, a, b, c);
        return;
    }
    gemm(m, k, n, a, k, 1, b, 1, k, c);
}

void polypi_matmul_transposed_a(const uint64_t *a, const uint64_t *b, uint64_t *c, const int32_t m, const int32_t k,
                                const int32_t n)
{
    gemm(m, k, n, a, 1, m, b, n, 1, c);
}

void polypi_polynomial(const uint64_t *x, const uint64_t *coefficients, const int32_t count, uint64_t *out,
                       const int64_t n)
{
    const int32_t degree = count - 1;
    const u64 top = coefficients[degree];
    int64_t i = 0;
    for (; i + POLY_VECTORS * LANES <= n; i += POLY_VECTORS * LANES)
    {
        v8 xs[POLY_VECTORS];
        v8 acc[POLY_VECTORS];
        for (int v = 0; v < POLY_VECTORS; v++)
        {
            xs[v] = load(x + i + v * LANES);
            acc[v] = (v8){0} + top;
        }
        for (int32_t j = degree - 1; j >= 0; j--)
        {
            const u64 cj = coefficients[j];
            for (int v = 0; v < POLY_VECTORS; v++)
            {
                acc[v] = acc[v] * xs[v] + cj;
            }
        }
        for (int v = 0; v < POLY_VECTORS; v++)
        {
            store(out + i + v * LANES, acc[v]);
        }
    }
    for (; i < n; i++)
    {
        const u64 xi = get(x + i);
        u64 acc = top;
        for (int32_t j = degree - 1; j >= 0; j--)
        {
            acc = acc * xi + coefficients[j];
        }
        put(out + i, acc);
    }
}

/*
 * The engine's one-round activation (RingKernels.polynomialFromOpened): per element, for each copy, the public part
 * p = (c >> shift) + addend, then per term t the Horner chain g_t(p), times the selected candidate of material
 * power t (base - (diff expanded AND -msb(c))), all summed. The program walk costs a few branches per step of
 * OPENED_VECTORS vectors, against about fourteen vector multiplies; the vectors stay in registers throughout.
 */
static inline void opened_step(const u64 *c, const u64 *z, const u64 z_multiplier, const u64 own,
                               const int32_t copies, const int64_t *restrict program,
                               const u64 *const *restrict streams, u64 *out, const int64_t i)
{
    v8 cv[OPENED_VECTORS];
    v8 neg[OPENED_VECTORS];
    v8 acc[OPENED_VECTORS];
    for (int v = 0; v < OPENED_VECTORS; v++)
    {
        cv[v] = load(c + i + v * LANES);
        neg[v] = (v8)((vs8)cv[v] >> (64 - 1));
        acc[v] = (v8){0} + own;
        if (z_multiplier != 0)
        {
            acc[v] += load(z + i + v * LANES) * z_multiplier;
        }
    }
    const int64_t *p = program;
    const u64 *const *s = streams;
    for (int32_t j = 0; j < copies; j++)
    {
        const int shift = (int)p[COPY_SHIFT];
        const u64 addend = (u64)p[COPY_ADDEND];
        const int left = (int)p[COPY_LEFT];
        const int64_t terms = p[COPY_TERMS];
        p += COPY_FIELDS;
        v8 pv[OPENED_VECTORS];
        for (int v = 0; v < OPENED_VECTORS; v++)
        {
            pv[v] = (v8)((vs8)cv[v] >> shift) + addend;
        }
        for (int64_t term = 0; term < terms; term++)
        {
            const int64_t power = p[TERM_POWER];
            const int right = (int)p[TERM_RIGHT];
            const int64_t count = p[TERM_COUNT];
            const int64_t *h = p + TERM_FIELDS;
            p += TERM_FIELDS + count;
            v8 g[OPENED_VECTORS];
            for (int v = 0; v < OPENED_VECTORS; v++)
            {
                g[v] = (v8){0} + (u64)h[0];
            }
            for (int64_t k = 1; k < count; k++)
            {
                for (int v = 0; v < OPENED_VECTORS; v++)
                {
                    g[v] = g[v] * pv[v] + (u64)h[k];
                }
            }
            if (power == 0)
            {
                for (int v = 0; v < OPENED_VECTORS; v++)
                {
                    acc[v] += g[v];
                }
                continue;
            }
            const u64 *base = s[0];
            const u64 *diff = s[1];
            s += 2;
            for (int v = 0; v < OPENED_VECTORS; v++)
            {
                const v8 d = (load(diff + i + v * LANES) >> right) << left;
                acc[v] += (load(base + i + v * LANES) - (d & neg[v])) * g[v];
            }
        }
    }
    for (int v = 0; v < OPENED_VECTORS; v++)
    {
        store(out + i + v * LANES, acc[v]);
    }
}

/* One element of opened_step, for the tail of fewer than OPENED_VECTORS vectors. */
static void opened_element(const u64 *c, const u64 *z, const u64 z_multiplier, const u64 own,
                           const int32_t copies, const int64_t *restrict program, const u64 *const *restrict streams,
                           u64 *out, const int64_t i)
{
    const u64 ci = get(c + i);
    const u64 neg = (u64)((int64_t)ci >> (64 - 1));
    u64 acc = own;
    if (z_multiplier != 0)
    {
        acc += get(z + i) * z_multiplier;
    }
    const int64_t *p = program;
    const u64 *const *s = streams;
    for (int32_t j = 0; j < copies; j++)
    {
        const u64 pv = (u64)((int64_t)ci >> p[COPY_SHIFT]) + (u64)p[COPY_ADDEND];
        const int left = (int)p[COPY_LEFT];
        const int64_t terms = p[COPY_TERMS];
        p += COPY_FIELDS;
        for (int64_t term = 0; term < terms; term++)
        {
            const int64_t power = p[TERM_POWER];
            const int right = (int)p[TERM_RIGHT];
            const int64_t count = p[TERM_COUNT];
            const int64_t *h = p + TERM_FIELDS;
            p += TERM_FIELDS + count;
            u64 g = (u64)h[0];
            for (int64_t k = 1; k < count; k++)
            {
                g = g * pv + (u64)h[k];
            }
            if (power == 0)
            {
                acc += g;
                continue;
            }
            const u64 d = (get(s[1] + i) >> right) << left;
            acc += (get(s[0] + i) - (d & neg)) * g;
            s += 2;
        }
    }
    put(out + i, acc);
}

void polypi_polynomial_from_opened(const uint64_t *c, const uint64_t *z, const uint64_t z_multiplier,
                                   const uint64_t own_constant, const int32_t copies, const int64_t *program,
                                   const uint64_t *const *streams, uint64_t *out, const int64_t n)
{
    int64_t i = 0;
    for (; i + OPENED_VECTORS * LANES <= n; i += OPENED_VECTORS * LANES)
    {
        opened_step(c, z, z_multiplier, own_constant, copies, program, streams, out, i);
    }
    for (; i < n; i++)
    {
        opened_element(c, z, z_multiplier, own_constant, copies, program, streams, out, i);
    }
}

/*
 * Built with -march=native, the library may use any instruction of the build machine; on a CPU without one of
 * them the first call would die of SIGILL and take the JVM with it. So the Java side asks this first: every ISA
 * extension the compiler was allowed to use (the predefined macros say which) must be present here. The function
 * itself is compiled for baseline x86-64 so that asking is always safe.
 */
__attribute__((target("arch=x86-64"))) int32_t polypi_cpu_supported(void)
{
    int ok = 1;
    __builtin_cpu_init();
#define POLYPI_NEED(feature) ok &= __builtin_cpu_supports(feature) != 0
#ifdef __AVX__
    POLYPI_NEED("avx");
#endif
#ifdef __AVX2__
    POLYPI_NEED("avx2");
#endif
#ifdef __FMA__
    POLYPI_NEED("fma");
#endif
#ifdef __BMI__
    POLYPI_NEED("bmi");
#endif
#ifdef __BMI2__
    POLYPI_NEED("bmi2");
#endif
#ifdef __AVX512F__
    POLYPI_NEED("avx512f");
#endif
#ifdef __AVX512DQ__
    POLYPI_NEED("avx512dq");
#endif
#ifdef __AVX512BW__
    POLYPI_NEED("avx512bw");
#endif
#ifdef __AVX512VL__
    POLYPI_NEED("avx512vl");
#endif
#ifdef __AVX512CD__
    POLYPI_NEED("avx512cd");
#endif
#ifdef __AVX512IFMA__
    POLYPI_NEED("avx512ifma");
#endif
#ifdef __AVX512VBMI__
    POLYPI_NEED("avx512vbmi");
#endif
#ifdef __AVX512VBMI2__
    POLYPI_NEED("avx512vbmi2");
#endif
#ifdef __AVX512VNNI__
    POLYPI_NEED("avx512vnni");
#endif
#ifdef __AVX512BITALG__
    POLYPI_NEED("avx512bitalg");
#endif
#ifdef __AVX512VPOPCNTDQ__
    POLYPI_NEED("avx512vpopcntdq");
#endif
#ifdef __AVX512BF16__
    POLYPI_NEED("avx512bf16");
#endif
#undef POLYPI_NEED
    return ok;
}

int32_t polypi_abi_version(void)
{
    return POLYPI_ABI_VERSION;
}
