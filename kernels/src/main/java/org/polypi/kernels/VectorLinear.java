package org.polypi.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import static org.polypi.kernels.RingTensor.ELEMENT;

/**
 * Vector matrix product, convolution and pooling kernels over Z_2^64. Arguments are trusted (checked by
 * {@link CheckedRingKernels} or {@link LinearKernels}).
 * <p>
 * Every product is one blocked GEMM in the GotoBLAS style, specialised to what the ring allows: the bottleneck is
 * the 64-bit vector multiply ({@code vpmullq}: about one 8-lane multiply per cycle on Zen 4, one per ~1.5 cycles on
 * recent Xeons), so the design goal is to keep that unit busy and nothing else in the way:
 * <ul>
 *   <li>B is packed, {@link #KC} rows × {@link #NC} columns at a time, into strips {@link #NR} columns wide and laid
 *       out row after row, so the micro-kernel streams it with aligned, unit-stride vector loads. Zero columns pad
 *       the last strip. The same panel format serves B row-major, B transposed and the implicit im2col of a
 *       convolution (the input is gathered straight into the panel; no im2col matrix is ever built).</li>
 *   <li>A is copied, {@link #MR} rows at a time, into a small zero-padded strip, depth-major. Panel and strip are
 *       heap arrays: C2 hoists an array's bounds checks out of the depth loop, while a segment's liveness check
 *       stayed in the loop once the call site had seen several segment kinds (W3 ran 5x slower after W2).</li>
 *   <li>The micro-kernel {@link #microKernel} holds a {@link #MR} × {@link #NR} tile of C in 16 vector registers,
 *       does 16 multiply-adds per depth step, and is a small static method called once per tile (C2 only
 *       intrinsifies the Vector API reliably there; a big loop nest compiled on-stack was measured at 1/15 the
 *       speed). Edge tiles are computed in full into a scratch tile and only their valid part is merged.</li>
 *   <li>Products with fewer than {@link #MR} rows skip packing (it would cost as much as the product) and run a
 *       direct row kernel.</li>
 *   <li>Large products are split over {@link WorkerPool#shared()}: by column strips when there are enough, else by
 *       row strips. Each part runs the whole blocked algorithm on its own sub-matrix of C with its own scratch, so
 *       parts share nothing writable.</li>
 * </ul>
 * Scratch panels come from a small pool of per-call buffers (at most one per concurrently running part is ever
 * created, a bounded number are kept), so the kernels are safe to call from any number of threads at once and
 * allocate nothing after warm-up.
 */
final class VectorLinear
{
    static
    {
        // Before any of this class's methods can be compiled: see ClassHierarchy.
        ClassHierarchy.complete();
    }

    /** Thread count meaning "choose by problem size": one thread below {@link #PARALLEL_MIN_MULTIPLY_ADDS}. */
    static final int AUTO_THREADS = 0;
    /**
     * Products smaller than this run on the caller thread alone. Waking a parked worker costs ~15-20 µs on this VM;
     * measured, two threads break even at ~0.5 M multiply-adds (25 µs of one core) and win by ~20% at 2^20.
     */
    static final long PARALLEL_MIN_MULTIPLY_ADDS = 1L << 20;

    private static final VectorSpecies<Long> SPECIES = LongVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final long VECTOR_BYTES = (long)LANES * Long.BYTES;

    /** Rows of a micro-tile. */
    static final int MR = 4;
    /** Vectors per row of a micro-tile. */
    private static final int NR_VECTORS = 4;
    /** Columns of a micro-tile, and width of a packed B strip. */
    static final int NR = NR_VECTORS * LANES;
    /** Bytes of one depth step of a packed B strip. */
    private static final long PANEL_ROW_BYTES = (long)NR * Long.BYTES;
    /**
     * Largest depth of a block. A 4-row A strip of this depth (8 KiB) stays in L1 while the B panel streams past it;
     * balanced over the real depth (k = 576 gives three blocks of 192), so no tiny last block.
     */
    static final int KC = 256;
    /**
     * Columns of a packed B panel: KC × NC is 1 MiB. Measured on a Zen 4 core (1 MiB L2) this beat 512 KiB panels
     * by ~5% at 1024³, since every column block re-reads all of A.
     */
    static final int NC = 16 * NR;
    /**
     * Columns of a convolution's panel (512 KiB): the input image (512 KiB for 64×32×32) competes for L2 with the
     * panel, and the smaller panel measured ~4% faster on W3's 3×3 layer.
     */
    static final int NC_CONV = 8 * NR;
    /** Lane value that makes every padding check fail, for the lanes of a strip past the last column. */
    private static final long INVALID_POSITION = Long.MIN_VALUE / 4;

    /** Lanes the register transpose of {@link #transposeStrip} is written for (512-bit vectors). */
    private static final int TRANSPOSE_LANES = 8;
    /**
     * Two-vector select indexes of the 8×8 transpose (0-7: first vector, 8-15: second): interleave single lanes of
     * two vectors (low, high halves), then pairs of lanes, then the 4-lane halves.
     */
    private static final long[] TRANSPOSE_INDEXES = {
        0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15,
        0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15,
        0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15,
    };
    private static final int A_ROW_MAJOR = 0;
    private static final int A_TRANSPOSED = 1;
    private static final int B_ROW_MAJOR = 0;
    private static final int B_TRANSPOSED = 1;
    private static final int B_CONV = 2;

    private VectorLinear()
    {
    }

    // ---- entry points --------------------------------------------------------------------------------------------

    static void matmul(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m, final int k,
                       final int n)
    {
        matmul(a, b, c, m, k, n, AUTO_THREADS);
    }

    static void matmulTransposedB(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m,
                                  final int k, final int n)
    {
        matmulTransposedB(a, b, c, m, k, n, AUTO_THREADS);
    }

    static void matmulTransposedA(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m,
                                  final int k, final int n)
    {
        matmulTransposedA(a, b, c, m, k, n, AUTO_THREADS);
    }

    static void conv2d(final MemorySegment input, final MemorySegment weights, final MemorySegment out,
                       final Conv2dShape shape)
    {
        conv2d(input, weights, out, shape, AUTO_THREADS);
    }

    /** {@code C = A · B} on at most {@code threads} threads ({@link #AUTO_THREADS}: by size). */
    static void matmul(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m, final int k,
                       final int n, final int threads)
    {
        matmul(a, b, c, m, k, n, threads, false);
    }

    /** {@code C += A · B}, by size. */
    static void matmulAccumulate(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m,
                                 final int k, final int n)
    {
        matmul(a, b, c, m, k, n, AUTO_THREADS, true);
    }

    /** {@code C = A · B}, or {@code C += A · B} if {@code accumulate}, on at most {@code threads} threads. */
    static void matmul(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m, final int k,
                       final int n, final int threads, final boolean accumulate)
    {
        if (m < MR)
        {
            smallRowsTimesB(a, k, 1, b, c, m, k, n, accumulate);
            return;
        }
        new Product(a, A_ROW_MAJOR, b, B_ROW_MAJOR, c, m, k, n, null, accumulate).run(threads);
    }

    /** {@code C = A · Bᵀ} on at most {@code threads} threads. */
    static void matmulTransposedB(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m,
                                  final int k, final int n, final int threads)
    {
        if (m < MR)
        {
            smallRowsTimesBTransposed(a, b, c, m, k, n);
            return;
        }
        new Product(a, A_ROW_MAJOR, b, B_TRANSPOSED, c, m, k, n, null, false).run(threads);
    }

    /** {@code C = Aᵀ · B} on at most {@code threads} threads. */
    static void matmulTransposedA(final MemorySegment a, final MemorySegment b, final MemorySegment c, final int m,
                                  final int k, final int n, final int threads)
    {
        if (m < MR)
        {
            smallRowsTimesB(a, 1, m, b, c, m, k, n, false);
            return;
        }
        new Product(a, A_TRANSPOSED, b, B_ROW_MAJOR, c, m, k, n, null, false).run(threads);
    }

    /**
     * Convolution as, per image, {@code out (outC × outH·outW) = weights (outC × inC·kH·kW) · im2col(input)}; the
     * output of that product is already NCHW. A 1×1, stride-1, unpadded convolution is a plain product with the
     * image itself; every other one gathers the im2col columns straight into the packed panel.
     */
    static void conv2d(final MemorySegment input, final MemorySegment weights, final MemorySegment out,
                       final Conv2dShape shape, final int threads)
    {
        conv2d(input, weights, out, shape, threads, false);
    }

    /** {@code out += conv2d(input, weights)}, by size. */
    static void conv2dAccumulate(final MemorySegment input, final MemorySegment weights, final MemorySegment out,
                                 final Conv2dShape shape)
    {
        conv2d(input, weights, out, shape, AUTO_THREADS, true);
    }

    private static void conv2d(final MemorySegment input, final MemorySegment weights, final MemorySegment out,
                               final Conv2dShape shape, final int threads, final boolean accumulate)
    {
        final int m = shape.outChannels();
        final int k = shape.inChannels() * shape.kernelHeight() * shape.kernelWidth();
        final int n = shape.outHeight() * shape.outWidth();
        final boolean pointwise = shape.kernelHeight() == 1 && shape.kernelWidth() == 1 && shape.stride() == 1 &&
            shape.padding() == 0;
        new Product(weights, A_ROW_MAJOR, input, pointwise ? B_ROW_MAJOR : B_CONV, out, m, k, n, shape, accumulate)
            .run(threads);
    }

    /** Window sums: window rows are added with vectors across the whole row, then the columns of each window. */
    static void sumPool2d(final MemorySegment input, final MemorySegment out, final int batch, final int channels,
                          final int height, final int width, final int window, final int stride)
    {
        final int outH = (height - window) / stride + 1;
        final int outW = (width - window) / stride + 1;
        final long planes = (long)batch * channels;
        final Scratch scratch = Scratch.acquire();
        try
        {
            final long[] rowSums = scratch.panel;
            final long capacity = rowSums.length;
            // Output columns per pass, so that the summed input span fits the scratch row (always all of them for
            // any realistic width).
            final int chunk = (int)Math.max(1, Math.min(outW, (capacity - window) / stride + 1));
            for (long plane = 0; plane < planes; plane++)
            {
                final long inPlane = plane * height * width * Long.BYTES;
                final long outPlane = plane * outH * outW * Long.BYTES;
                for (int oh = 0; oh < outH; oh++)
                {
                    final long inRow = inPlane + (long)oh * stride * width * Long.BYTES;
                    final long outRow = outPlane + (long)oh * outW * Long.BYTES;
                    for (int ow0 = 0; ow0 < outW; ow0 += chunk)
                    {
                        final int count = Math.min(chunk, outW - ow0);
                        final int span = (count - 1) * stride + window;
                        final long first = inRow + (long)ow0 * stride * Long.BYTES;
                        sumRows(input, first, (long)width * Long.BYTES, window, span, rowSums);
                        sumColumns(rowSums, count, window, stride, out, outRow + (long)ow0 * Long.BYTES);
                    }
                }
            }
        }
        finally
        {
            scratch.release();
        }
    }

    // ---- the blocked product -------------------------------------------------------------------------------------

    /** One product (or one convolution, a product per image) and how to read its operands. */
    private static final class Product
    {
        final MemorySegment a;
        final int aLayout;
        final MemorySegment b;
        final int bLayout;
        final MemorySegment c;
        final int m;
        final int k;
        final int n;
        final Conv2dShape conv;
        final int images;
        final int panelColumns;
        final long bImageBytes;
        final long cImageBytes;
        /** C's prior content is added to (the first depth block starts from C instead of zero). */
        final boolean accumulateIntoC;

        Product(final MemorySegment a, final int aLayout, final MemorySegment b, final int bLayout, final MemorySegment c,
                final int m, final int k, final int n, final Conv2dShape conv, final boolean accumulateIntoC)
        {
            this.accumulateIntoC = accumulateIntoC;
            this.a = a;
            this.aLayout = aLayout;
            this.b = b;
            this.bLayout = bLayout;
            this.c = c;
            this.m = m;
            this.k = k;
            this.n = n;
            this.conv = conv;
            this.images = conv == null ? 1 : conv.batch();
            this.panelColumns = conv == null ? NC : NC_CONV;
            this.bImageBytes = conv == null ? 0 :
                (long)conv.inChannels() * conv.inHeight() * conv.inWidth() * Long.BYTES;
            this.cImageBytes = (long)m * n * Long.BYTES;
        }

        void run(final int requestedThreads)
        {
            final long perImage = (long)m * k * n;
            final boolean small = perImage * images < PARALLEL_MIN_MULTIPLY_ADDS;
            if (requestedThreads == 1 || (requestedThreads == AUTO_THREADS && small))
            {
                runSerial();
                return;
            }
            final WorkerPool pool = WorkerPool.shared();
            final int threads = requestedThreads == AUTO_THREADS ? pool.threads() : requestedThreads;
            if (!pool.canShare(a) || !pool.canShare(b) || !pool.canShare(c))
            {
                // Confined segments: only this thread may touch them.
                runSerial();
                return;
            }
            if (images >= threads && perImage < PARALLEL_MIN_MULTIPLY_ADDS)
            {
                // Many small images: whole images per part, no split inside an image.
                pool.run(threads, part -> withScratch(scratch ->
                {
                    final int first = (int)((long)images * part / threads);
                    final int last = (int)((long)images * (part + 1) / threads);
                    for (int image = first; image < last; image++)
                    {
                        compute(image, 0, m, 0, n, scratch);
                    }
                }));
                return;
            }
            final int columnStrips = (n + NR - 1) / NR;
            final int rowStrips = (m + MR - 1) / MR;
            // Splitting columns shares no packing work (each part packs only its own B columns); rows are the
            // fallback for narrow products.
            final boolean byColumns = columnStrips >= 2 * threads || columnStrips >= rowStrips;
            final int strips = byColumns ? columnStrips : rowStrips;
            final int parts = Math.min(threads, strips);
            if (parts == 1)
            {
                runSerial();
                return;
            }
            for (int image = 0; image < images; image++)
            {
                final int img = image;
                pool.run(parts, part -> withScratch(scratch ->
                {
                    final int first = (int)((long)strips * part / parts);
                    final int last = (int)((long)strips * (part + 1) / parts);
                    if (byColumns)
                    {
                        compute(img, 0, m, first * NR, (int)Math.min(n, (long)last * NR), scratch);
                    }
                    else
                    {
                        compute(img, first * MR, (int)Math.min(m, (long)last * MR), 0, n, scratch);
                    }
                }));
            }
        }

        private void runSerial()
        {
            withScratch(scratch ->
            {
                for (int image = 0; image < images; image++)
                {
                    compute(image, 0, m, 0, n, scratch);
                }
            });
        }

        /** C[m0:m1, n0:n1] of one image, on this thread. */
        void compute(final int image, final int m0, final int m1, final int n0, final int n1, final Scratch scratch)
        {
            final long bBase = image * bImageBytes;
            final long cBase = image * cImageBytes;
            final long ldcBytes = (long)n * Long.BYTES;
            final long[] panel = scratch.panel;
            final long[] aStrip = scratch.aStrip;
            final MemorySegment tile = scratch.tile;
            final MemorySegment zeroTile = scratch.zeroTile;
            final int depthBlocks = (k + KC - 1) / KC;
            final int kcMax = (k + depthBlocks - 1) / depthBlocks;
            for (int jc = n0; jc < n1; jc += panelColumns)
            {
                final int nc = Math.min(panelColumns, n1 - jc);
                final int strips = (nc + NR - 1) / NR;
                for (int pc = 0; pc < k; pc += kcMax)
                {
                    final int kc = Math.min(kcMax, k - pc);
                    final boolean accumulate = pc > 0 || accumulateIntoC;
                    packB(bBase, pc, kc, jc, nc, scratch);
                    for (int i = m0; i < m1; i += MR)
                    {
                        final int rows = Math.min(MR, m1 - i);
                        packAStrip(i, rows, pc, kc, aStrip);
                        for (int s = 0; s < strips; s++)
                        {
                            final int j = jc + s * NR;
                            final int cols = Math.min(NR, n1 - j);
                            final int bOff = s * kc * NR;
                            final long cOff = cBase + (long)i * ldcBytes + (long)j * Long.BYTES;
                            if (rows == MR && cols == NR)
                            {
                                if (accumulate)
                                {
                                    microKernel(aStrip, panel, bOff, kc, c, cOff, ldcBytes, c, cOff, ldcBytes);
                                }
                                else
                                {
                                    microKernel(aStrip, panel, bOff, kc, zeroTile, 0, PANEL_ROW_BYTES, c, cOff,
                                        ldcBytes);
                                }
                            }
                            else
                            {
                                microKernel(aStrip, panel, bOff, kc, zeroTile, 0, PANEL_ROW_BYTES, tile, 0,
                                    PANEL_ROW_BYTES);
                                mergeTile(tile, c, cOff, ldcBytes, rows, cols, accumulate);
                            }
                        }
                    }
                }
            }
        }

    private void packB(final long bBase, final int pc, final int kc, final int jc, final int nc,
                           final Scratch scratch)
        {
            switch (bLayout)
            {
                case B_ROW_MAJOR -> packRowMajorB(b, bBase, n, pc, kc, jc, nc, scratch.panel);
                case B_TRANSPOSED -> packTransposedB(b, k, pc, kc, jc, nc, scratch.panel);
                default ->
                {
                    if (conv.stride() == 1 && conv.outWidth() == conv.inWidth())
                    {
                        packConvSameWidth(b, bBase, conv, pc, kc, jc, nc, scratch);
                    }
                    else
                    {
                        packConvGeneral(b, bBase, conv, pc, kc, jc, nc, scratch);
                    }
                }
            }
        }

        /**
         * Copies rows [i, i+rows) × depth [pc, pc+kc) of A into a zero-padded MR-row strip, depth-major. Always
         * packed, even when A is row-major: the micro-kernel then reads only heap arrays, whose bounds checks C2
         * hoists out of the depth loop, where a segment's liveness check per load was measured to cost 5x once the
         * segment types seen at the call site became polymorphic. Packing costs 1 / (panel columns) of the product.
         */
        private void packAStrip(final int i, final int rows, final int pc, final int kc, final long[] strip)
        {
            if (aLayout == A_ROW_MAJOR)
            {
                for (int r = 0; r < MR; r++)
                {
                    int dst = r;
                    if (r < rows)
                    {
                        long src = ((long)(i + r) * k + pc) * Long.BYTES;
                        for (int p = 0; p < kc; p++)
                        {
                            strip[dst] = a.get(ELEMENT, src);
                            src += Long.BYTES;
                            dst += MR;
                        }
                    }
                    else
                    {
                        for (int p = 0; p < kc; p++)
                        {
                            strip[dst] = 0L;
                            dst += MR;
                        }
                    }
                }
            }
            else
            {
                long src = ((long)pc * m + i) * Long.BYTES;
                final long srcStep = (long)m * Long.BYTES;
                int dst = 0;
                for (int p = 0; p < kc; p++)
                {
                    for (int r = 0; r < MR; r++)
                    {
                        strip[dst + r] = r < rows ? a.get(ELEMENT, src + (long)r * Long.BYTES) : 0L;
                    }
                    src += srcStep;
                    dst += MR;
                }
            }
        }
    }

    /**
     * The register-blocked kernel: {@code C[4 × NR] = Init[4 × NR] + A[4 × kc] · Bpanel[kc × NR]}. The A strip holds
     * element (r, p) at {@code p*MR + r}; the B strip is {@code kc} rows of {@link #NR} longs from {@code bOff}. Both
     * are heap arrays (see {@code packAStrip}). The sixteen accumulators start from {@code init} (C itself to
     * accumulate, a zero tile to overwrite), so there is no branch and no helper method taking vectors: a vector
     * passed to a method C2 does not inline gets boxed.
     */
    private static void microKernel(final long[] a, final long[] b, final int bOff, final int kc,
                                    final MemorySegment init, final long initOff, final long initLdBytes,
                                    final MemorySegment c, final long cOff, final long ldcBytes)
    {
        final long i1 = initOff + initLdBytes;
        final long i2 = i1 + initLdBytes;
        final long i3 = i2 + initLdBytes;
        LongVector c00 = LongVector.fromMemorySegment(SPECIES, init, initOff, ORDER);
        LongVector c01 = LongVector.fromMemorySegment(SPECIES, init, initOff + VECTOR_BYTES, ORDER);
        LongVector c02 = LongVector.fromMemorySegment(SPECIES, init, initOff + 2 * VECTOR_BYTES, ORDER);
        LongVector c03 = LongVector.fromMemorySegment(SPECIES, init, initOff + 3 * VECTOR_BYTES, ORDER);
        LongVector c10 = LongVector.fromMemorySegment(SPECIES, init, i1, ORDER);
        LongVector c11 = LongVector.fromMemorySegment(SPECIES, init, i1 + VECTOR_BYTES, ORDER);
        LongVector c12 = LongVector.fromMemorySegment(SPECIES, init, i1 + 2 * VECTOR_BYTES, ORDER);
        LongVector c13 = LongVector.fromMemorySegment(SPECIES, init, i1 + 3 * VECTOR_BYTES, ORDER);
        LongVector c20 = LongVector.fromMemorySegment(SPECIES, init, i2, ORDER);
        LongVector c21 = LongVector.fromMemorySegment(SPECIES, init, i2 + VECTOR_BYTES, ORDER);
        LongVector c22 = LongVector.fromMemorySegment(SPECIES, init, i2 + 2 * VECTOR_BYTES, ORDER);
        LongVector c23 = LongVector.fromMemorySegment(SPECIES, init, i2 + 3 * VECTOR_BYTES, ORDER);
        LongVector c30 = LongVector.fromMemorySegment(SPECIES, init, i3, ORDER);
        LongVector c31 = LongVector.fromMemorySegment(SPECIES, init, i3 + VECTOR_BYTES, ORDER);
        LongVector c32 = LongVector.fromMemorySegment(SPECIES, init, i3 + 2 * VECTOR_BYTES, ORDER);
        LongVector c33 = LongVector.fromMemorySegment(SPECIES, init, i3 + 3 * VECTOR_BYTES, ORDER);
        int ap = 0;
        int bp = bOff;
        for (int p = 0; p < kc; p++)
        {
            final LongVector b0 = LongVector.fromArray(SPECIES, b, bp);
            final LongVector b1 = LongVector.fromArray(SPECIES, b, bp + LANES);
            final LongVector b2 = LongVector.fromArray(SPECIES, b, bp + 2 * LANES);
            final LongVector b3 = LongVector.fromArray(SPECIES, b, bp + 3 * LANES);
            final LongVector x0 = LongVector.broadcast(SPECIES, a[ap]);
            c00 = c00.add(b0.mul(x0));
            c01 = c01.add(b1.mul(x0));
            c02 = c02.add(b2.mul(x0));
            c03 = c03.add(b3.mul(x0));
            final LongVector x1 = LongVector.broadcast(SPECIES, a[ap + 1]);
            c10 = c10.add(b0.mul(x1));
            c11 = c11.add(b1.mul(x1));
            c12 = c12.add(b2.mul(x1));
            c13 = c13.add(b3.mul(x1));
            final LongVector x2 = LongVector.broadcast(SPECIES, a[ap + 2]);
            c20 = c20.add(b0.mul(x2));
            c21 = c21.add(b1.mul(x2));
            c22 = c22.add(b2.mul(x2));
            c23 = c23.add(b3.mul(x2));
            final LongVector x3 = LongVector.broadcast(SPECIES, a[ap + 3]);
            c30 = c30.add(b0.mul(x3));
            c31 = c31.add(b1.mul(x3));
            c32 = c32.add(b2.mul(x3));
            c33 = c33.add(b3.mul(x3));
            ap += MR;
            bp += NR;
        }
        final long o1 = cOff + ldcBytes;
        final long o2 = o1 + ldcBytes;
        final long o3 = o2 + ldcBytes;
        c00.intoMemorySegment(c, cOff, ORDER);
        c01.intoMemorySegment(c, cOff + VECTOR_BYTES, ORDER);
        c02.intoMemorySegment(c, cOff + 2 * VECTOR_BYTES, ORDER);
        c03.intoMemorySegment(c, cOff + 3 * VECTOR_BYTES, ORDER);
        c10.intoMemorySegment(c, o1, ORDER);
        c11.intoMemorySegment(c, o1 + VECTOR_BYTES, ORDER);
        c12.intoMemorySegment(c, o1 + 2 * VECTOR_BYTES, ORDER);
        c13.intoMemorySegment(c, o1 + 3 * VECTOR_BYTES, ORDER);
        c20.intoMemorySegment(c, o2, ORDER);
        c21.intoMemorySegment(c, o2 + VECTOR_BYTES, ORDER);
        c22.intoMemorySegment(c, o2 + 2 * VECTOR_BYTES, ORDER);
        c23.intoMemorySegment(c, o2 + 3 * VECTOR_BYTES, ORDER);
        c30.intoMemorySegment(c, o3, ORDER);
        c31.intoMemorySegment(c, o3 + VECTOR_BYTES, ORDER);
        c32.intoMemorySegment(c, o3 + 2 * VECTOR_BYTES, ORDER);
        c33.intoMemorySegment(c, o3 + 3 * VECTOR_BYTES, ORDER);
    }

    /** Writes (or adds) the valid {@code rows × cols} corner of a full scratch tile into C. */
    private static void mergeTile(final MemorySegment tile, final MemorySegment c, final long cOff, final long ldcBytes,
                                  final int rows, final int cols, final boolean accumulate)
    {
        for (int r = 0; r < rows; r++)
        {
            final long src = r * PANEL_ROW_BYTES;
            final long dst = cOff + r * ldcBytes;
            for (int j = 0; j < cols; j++)
            {
                final long off = dst + (long)j * Long.BYTES;
                final long v = tile.get(ELEMENT, src + (long)j * Long.BYTES);
                c.set(ELEMENT, off, accumulate ? c.get(ELEMENT, off) + v : v);
            }
        }
    }

    // ---- packing B -----------------------------------------------------------------------------------------------

    /** Panel from row-major B (element (p, j) at {@code p*ldb + j}): one vector copy per row and vector. */
    private static void packRowMajorB(final MemorySegment b, final long bBase, final int ldb, final int pc, final int kc,
                                      final int jc, final int nc, final long[] panel)
    {
        final long ldbBytes = (long)ldb * Long.BYTES;
        for (int s = 0, j = jc; j < jc + nc; s++, j += NR)
        {
            final long src = bBase + (long)pc * ldbBytes + (long)j * Long.BYTES;
            final int dst = s * kc * NR;
            final int cols = Math.min(NR, jc + nc - j);
            if (cols == NR)
            {
                copyFullRows(b, src, ldbBytes, panel, dst, kc);
            }
            else
            {
                copyPartialRows(b, src, ldbBytes, panel, dst, kc, cols);
            }
        }
    }

    private static void copyFullRows(final MemorySegment b, final long srcStart, final long ldbBytes,
                                     final long[] panel, final int dstStart, final int kc)
    {
        long src = srcStart;
        int dst = dstStart;
        for (int p = 0; p < kc; p++)
        {
            LongVector.fromMemorySegment(SPECIES, b, src, ORDER).intoArray(panel, dst);
            LongVector.fromMemorySegment(SPECIES, b, src + VECTOR_BYTES, ORDER).intoArray(panel, dst + LANES);
            LongVector.fromMemorySegment(SPECIES, b, src + 2 * VECTOR_BYTES, ORDER).intoArray(panel, dst + 2 * LANES);
            LongVector.fromMemorySegment(SPECIES, b, src + 3 * VECTOR_BYTES, ORDER).intoArray(panel, dst + 3 * LANES);
            src += ldbBytes;
            dst += NR;
        }
    }

    /** Last strip of a panel: the first {@code cols} columns copied, the rest zero. */
    private static void copyPartialRows(final MemorySegment b, final long srcStart, final long ldbBytes,
                                        final long[] panel, final int dstStart, final int kc, final int cols)
    {
        for (int v = 0; v < NR_VECTORS; v++)
        {
            final VectorMask<Long> valid = SPECIES.indexInRange(v * LANES, cols);
            long src = srcStart + v * VECTOR_BYTES;
            int dst = dstStart + v * LANES;
            for (int p = 0; p < kc; p++)
            {
                LongVector.fromMemorySegment(SPECIES, b, src, ORDER, valid).intoArray(panel, dst);
                src += ldbBytes;
                dst += NR;
            }
        }
    }

    /**
     * Panel from B stored transposed (element (p, j) at {@code j*k + p}). Full strips of 8-lane vectors go through
     * {@link #transposeStrip}, 8×8 blocks transposed in registers; the rest (other vector sizes, depth tails, the
     * last strip) is a scalar transpose, column by column.
     */
    private static void packTransposedB(final MemorySegment b, final int k, final int pc, final int kc, final int jc,
                                        final int nc, final long[] panel)
    {
        final int blockedDepth = LANES == TRANSPOSE_LANES ? kc / TRANSPOSE_LANES * TRANSPOSE_LANES : 0;
        for (int s = 0, j = jc; j < jc + nc; s++, j += NR)
        {
            final int strip = s * kc * NR;
            final int cols = Math.min(NR, jc + nc - j);
            int firstScalarDepth = 0;
            if (cols == NR && blockedDepth > 0)
            {
                transposeStrip(b, ((long)j * k + pc) * Long.BYTES, (long)k * Long.BYTES, blockedDepth, panel, strip);
                firstScalarDepth = blockedDepth;
            }
            for (int jj = 0; jj < NR; jj++)
            {
                int dst = strip + firstScalarDepth * NR + jj;
                if (jj < cols)
                {
                    long src = ((long)(j + jj) * k + pc + firstScalarDepth) * Long.BYTES;
                    for (int p = firstScalarDepth; p < kc; p++)
                    {
                        panel[dst] = b.get(ELEMENT, src);
                        src += Long.BYTES;
                        dst += NR;
                    }
                }
                else
                {
                    for (int p = firstScalarDepth; p < kc; p++)
                    {
                        panel[dst] = 0L;
                        dst += NR;
                    }
                }
            }
        }
    }

    /**
     * One full strip of a transposed-B panel, {@code depth} (a multiple of 8) rows deep, for 8-lane vectors: each
     * 8×8 block (8 rows of B, 8 depths) is loaded as 8 row vectors, transposed with 24 two-vector selects (three
     * rounds that interleave pairs, then pairs of pairs, then halves) and stored as 8 panel rows.
     */
    private static void transposeStrip(final MemorySegment b, final long srcStart, final long ldbBytes, final int depth,
                                       final long[] panel, final int dstStart)
    {
        final LongVector pairLow = LongVector.fromArray(SPECIES, TRANSPOSE_INDEXES, 0);
        final LongVector pairHigh = LongVector.fromArray(SPECIES, TRANSPOSE_INDEXES, TRANSPOSE_LANES);
        final LongVector quadLow = LongVector.fromArray(SPECIES, TRANSPOSE_INDEXES, 2 * TRANSPOSE_LANES);
        final LongVector quadHigh = LongVector.fromArray(SPECIES, TRANSPOSE_INDEXES, 3 * TRANSPOSE_LANES);
        final LongVector halfLow = LongVector.fromArray(SPECIES, TRANSPOSE_INDEXES, 4 * TRANSPOSE_LANES);
        final LongVector halfHigh = LongVector.fromArray(SPECIES, TRANSPOSE_INDEXES, 5 * TRANSPOSE_LANES);
        for (int g = 0; g < NR; g += TRANSPOSE_LANES)
        {
            long src = srcStart + g * ldbBytes;
            int dst = dstStart + g;
            for (int p = 0; p < depth; p += TRANSPOSE_LANES)
            {
                final LongVector r0 = LongVector.fromMemorySegment(SPECIES, b, src, ORDER);
                final LongVector r1 = LongVector.fromMemorySegment(SPECIES, b, src + ldbBytes, ORDER);
                final LongVector r2 = LongVector.fromMemorySegment(SPECIES, b, src + 2 * ldbBytes, ORDER);
                final LongVector r3 = LongVector.fromMemorySegment(SPECIES, b, src + 3 * ldbBytes, ORDER);
                final LongVector r4 = LongVector.fromMemorySegment(SPECIES, b, src + 4 * ldbBytes, ORDER);
                final LongVector r5 = LongVector.fromMemorySegment(SPECIES, b, src + 5 * ldbBytes, ORDER);
                final LongVector r6 = LongVector.fromMemorySegment(SPECIES, b, src + 6 * ldbBytes, ORDER);
                final LongVector r7 = LongVector.fromMemorySegment(SPECIES, b, src + 7 * ldbBytes, ORDER);
                // a[2i], a[2i+1]: rows 2i and 2i+1 interleaved, depths 0-3 and 4-7.
                final LongVector a0 = pairLow.selectFrom(r0, r1);
                final LongVector a1 = pairHigh.selectFrom(r0, r1);
                final LongVector a2 = pairLow.selectFrom(r2, r3);
                final LongVector a3 = pairHigh.selectFrom(r2, r3);
                final LongVector a4 = pairLow.selectFrom(r4, r5);
                final LongVector a5 = pairHigh.selectFrom(r4, r5);
                final LongVector a6 = pairLow.selectFrom(r6, r7);
                final LongVector a7 = pairHigh.selectFrom(r6, r7);
                // Four rows per depth: rows 0-3 (q0..q3) and rows 4-7 (q4..q7), two depths per vector.
                final LongVector q0 = quadLow.selectFrom(a0, a2);
                final LongVector q1 = quadHigh.selectFrom(a0, a2);
                final LongVector q2 = quadLow.selectFrom(a1, a3);
                final LongVector q3 = quadHigh.selectFrom(a1, a3);
                final LongVector q4 = quadLow.selectFrom(a4, a6);
                final LongVector q5 = quadHigh.selectFrom(a4, a6);
                final LongVector q6 = quadLow.selectFrom(a5, a7);
                final LongVector q7 = quadHigh.selectFrom(a5, a7);
                halfLow.selectFrom(q0, q4).intoArray(panel, dst);
                halfHigh.selectFrom(q0, q4).intoArray(panel, dst + NR);
                halfLow.selectFrom(q1, q5).intoArray(panel, dst + 2 * NR);
                halfHigh.selectFrom(q1, q5).intoArray(panel, dst + 3 * NR);
                halfLow.selectFrom(q2, q6).intoArray(panel, dst + 4 * NR);
                halfHigh.selectFrom(q2, q6).intoArray(panel, dst + 5 * NR);
                halfLow.selectFrom(q3, q7).intoArray(panel, dst + 6 * NR);
                halfHigh.selectFrom(q3, q7).intoArray(panel, dst + 7 * NR);
                src += TRANSPOSE_LANES * Long.BYTES;
                dst += TRANSPOSE_LANES * NR;
            }
        }
    }

    /**
     * Implicit im2col for stride 1 with the output as wide as the input (the "same" convolutions of the benchmark
     * networks). Then column j = (oh, ow) of depth row (ic, kh, kw) reads input element
     * {@code ic*H*W + j + (kh-pad)*W + (kw-pad)}: consecutive columns read consecutive inputs, so each vector is one
     * masked load, the mask dropping the taps that fall in the padding.
     */
    private static void packConvSameWidth(final MemorySegment x, final long xBase, final Conv2dShape g, final int pc,
                                          final int kc, final int jc, final int nc, final Scratch scratch)
    {
        final long[] laneRow = scratch.laneRow;
        final long[] laneColumn = scratch.laneColumn;
        final int height = g.inHeight();
        final int width = g.inWidth();
        final int kernelH = g.kernelHeight();
        final int kernelW = g.kernelWidth();
        final int pad = g.padding();
        final int padded = (nc + NR - 1) / NR * NR;
        for (int jj = 0; jj < padded; jj++)
        {
            final int col = jc + jj;
            final boolean inside = jj < nc;
            laneRow[jj] = inside ? col / width : INVALID_POSITION;
            laneColumn[jj] = inside ? col % width : INVALID_POSITION;
        }
        final int taps = kernelH * kernelW;
        int ic = pc / taps;
        int kh = pc % taps / kernelW;
        int kw = pc % kernelW;
        final long planeBytes = (long)height * width * Long.BYTES;
        final int stripElements = kc * NR;
        for (int p = 0; p < kc; p++)
        {
            final int dRow = kh - pad;
            final int dColumn = kw - pad;
            final long src = xBase + ic * planeBytes + ((long)jc + (long)dRow * width + dColumn) * Long.BYTES;
            packConvSameWidthRow(x, src, laneRow, laneColumn, padded, dRow, dColumn, height, width, scratch.panel,
                p * NR, stripElements);
            if (++kw == kernelW)
            {
                kw = 0;
                if (++kh == kernelH)
                {
                    kh = 0;
                    ic++;
                }
            }
        }
    }

    /** One depth row (one tap) of the panel, across all its strips: sequential reads of the shifted input plane. */
    private static void packConvSameWidthRow(final MemorySegment x, final long srcStart, final long[] laneRow,
                                             final long[] laneColumn, final int padded, final int dRow,
                                             final int dColumn, final int height, final int width,
                                             final long[] panel, final int dstStart, final int stripElements)
    {
        long src = srcStart;
        int dst = dstStart;
        for (int jj = 0; jj < padded; jj += NR)
        {
            for (int v = 0; v < NR_VECTORS; v++)
            {
                final int lane = jj + v * LANES;
                final VectorMask<Long> valid = LongVector.fromArray(SPECIES, laneRow, lane).add(dRow)
                    .compare(VectorOperators.ULT, height)
                    .and(LongVector.fromArray(SPECIES, laneColumn, lane).add(dColumn)
                        .compare(VectorOperators.ULT, width));
                LongVector.fromMemorySegment(SPECIES, x, src + v * VECTOR_BYTES, ORDER, valid)
                    .intoArray(panel, dst + v * LANES);
            }
            src += PANEL_ROW_BYTES;
            dst += stripElements;
        }
    }

    /** Implicit im2col for any stride and padding: one scalar gather per panel element. */
    private static void packConvGeneral(final MemorySegment x, final long xBase, final Conv2dShape g, final int pc,
                                        final int kc, final int jc, final int nc, final Scratch scratch)
    {
        final long[] panel = scratch.panel;
        final int[] rowOrigin = scratch.rowOrigin;
        final int[] columnOrigin = scratch.columnOrigin;
        final int height = g.inHeight();
        final int width = g.inWidth();
        final int kernelH = g.kernelHeight();
        final int kernelW = g.kernelWidth();
        final int stride = g.stride();
        final int pad = g.padding();
        final int outW = g.outWidth();
        final int taps = kernelH * kernelW;
        final long planeBytes = (long)height * width * Long.BYTES;
        for (int s = 0, j = jc; j < jc + nc; s++, j += NR)
        {
            final int cols = Math.min(NR, jc + nc - j);
            int oh = j / outW;
            int ow = j % outW;
            for (int jj = 0; jj < NR; jj++)
            {
                // Past the last column: an origin so far outside that no tap reaches the input.
                rowOrigin[jj] = jj < cols ? oh * stride - pad : Integer.MIN_VALUE / 2;
                columnOrigin[jj] = jj < cols ? ow * stride - pad : Integer.MIN_VALUE / 2;
                if (++ow == outW)
                {
                    ow = 0;
                    oh++;
                }
            }
            int ic = pc / taps;
            int kh = pc % taps / kernelW;
            int kw = pc % kernelW;
            int dst = s * kc * NR;
            for (int p = 0; p < kc; p++)
            {
                final long plane = xBase + ic * planeBytes;
                for (int jj = 0; jj < NR; jj++)
                {
                    final int ih = rowOrigin[jj] + kh;
                    final int iw = columnOrigin[jj] + kw;
                    final boolean inside = Integer.compareUnsigned(ih, height) < 0 &&
                        Integer.compareUnsigned(iw, width) < 0;
                    panel[dst + jj] = inside ? x.get(ELEMENT, plane + ((long)ih * width + iw) * Long.BYTES) : 0L;
                }
                dst += NR;
                if (++kw == kernelW)
                {
                    kw = 0;
                    if (++kh == kernelH)
                    {
                        kh = 0;
                        ic++;
                    }
                }
            }
        }
    }

    // ---- products with fewer than MR rows ------------------------------------------------------------------------

    /**
     * {@code C = A · B} for m < MR, B row-major k×n, A element (i, p) at {@code i*aRowStride + p*aColumnStride}
     * (elements). Each C row is computed NR columns at a time, straight from B: packing would cost as much as the
     * product.
     */
    private static void smallRowsTimesB(final MemorySegment a, final int aRowStride, final int aColumnStride,
                                        final MemorySegment b, final MemorySegment c, final int m, final int k,
                                        final int n, final boolean accumulate)
    {
        final long ldbBytes = (long)n * Long.BYTES;
        final long aStep = (long)aColumnStride * Long.BYTES;
        for (int i = 0; i < m; i++)
        {
            final long aRow = (long)i * aRowStride * Long.BYTES;
            final long cRow = (long)i * n * Long.BYTES;
            int j = 0;
            for (; j + NR <= n; j += NR)
            {
                rowTimesFullStrip(a, aRow, aStep, b, (long)j * Long.BYTES, ldbBytes, k, c, cRow + (long)j * Long.BYTES,
                    accumulate);
            }
            for (; j < n; j += LANES)
            {
                rowTimesPartialVector(a, aRow, aStep, b, (long)j * Long.BYTES, ldbBytes, k, c,
                    cRow + (long)j * Long.BYTES, SPECIES.indexInRange(0, n - j), accumulate);
            }
        }
    }

    private static void rowTimesFullStrip(final MemorySegment a, final long aOff, final long aStep,
                                          final MemorySegment b, final long bOff, final long ldbBytes, final int k,
                                          final MemorySegment c, final long cOff, final boolean accumulate)
    {
        LongVector s0 = LongVector.zero(SPECIES);
        LongVector s1 = s0;
        LongVector s2 = s0;
        LongVector s3 = s0;
        if (accumulate)
        {
            s0 = LongVector.fromMemorySegment(SPECIES, c, cOff, ORDER);
            s1 = LongVector.fromMemorySegment(SPECIES, c, cOff + VECTOR_BYTES, ORDER);
            s2 = LongVector.fromMemorySegment(SPECIES, c, cOff + 2 * VECTOR_BYTES, ORDER);
            s3 = LongVector.fromMemorySegment(SPECIES, c, cOff + 3 * VECTOR_BYTES, ORDER);
        }
        long ap = aOff;
        long bp = bOff;
        for (int p = 0; p < k; p++)
        {
            final LongVector x = LongVector.broadcast(SPECIES, a.get(ELEMENT, ap));
            s0 = s0.add(LongVector.fromMemorySegment(SPECIES, b, bp, ORDER).mul(x));
            s1 = s1.add(LongVector.fromMemorySegment(SPECIES, b, bp + VECTOR_BYTES, ORDER).mul(x));
            s2 = s2.add(LongVector.fromMemorySegment(SPECIES, b, bp + 2 * VECTOR_BYTES, ORDER).mul(x));
            s3 = s3.add(LongVector.fromMemorySegment(SPECIES, b, bp + 3 * VECTOR_BYTES, ORDER).mul(x));
            ap += aStep;
            bp += ldbBytes;
        }
        s0.intoMemorySegment(c, cOff, ORDER);
        s1.intoMemorySegment(c, cOff + VECTOR_BYTES, ORDER);
        s2.intoMemorySegment(c, cOff + 2 * VECTOR_BYTES, ORDER);
        s3.intoMemorySegment(c, cOff + 3 * VECTOR_BYTES, ORDER);
    }

    private static void rowTimesPartialVector(final MemorySegment a, final long aOff, final long aStep,
                                              final MemorySegment b, final long bOff, final long ldbBytes, final int k,
                                              final MemorySegment c, final long cOff, final VectorMask<Long> valid,
                                              final boolean accumulate)
    {
        LongVector sum = accumulate ? LongVector.fromMemorySegment(SPECIES, c, cOff, ORDER, valid) :
            LongVector.zero(SPECIES);
        long ap = aOff;
        long bp = bOff;
        for (int p = 0; p < k; p++)
        {
            sum = sum.add(LongVector.fromMemorySegment(SPECIES, b, bp, ORDER, valid).mul(a.get(ELEMENT, ap)));
            ap += aStep;
            bp += ldbBytes;
        }
        sum.intoMemorySegment(c, cOff, ORDER, valid);
    }

    /** {@code C = A · Bᵀ} for m < MR: one dot product of contiguous rows per output element. */
    private static void smallRowsTimesBTransposed(final MemorySegment a, final MemorySegment b, final MemorySegment c,
                                                  final int m, final int k, final int n)
    {
        for (int i = 0; i < m; i++)
        {
            final long aRow = (long)i * k * Long.BYTES;
            for (int j = 0; j < n; j++)
            {
                c.setAtIndex(ELEMENT, (long)i * n + j, dot(a, aRow, b, (long)j * k * Long.BYTES, k));
            }
        }
    }

    private static long dot(final MemorySegment a, final long aOff, final MemorySegment b, final long bOff, final int k)
    {
        LongVector s0 = LongVector.zero(SPECIES);
        LongVector s1 = s0;
        int p = 0;
        long off = 0;
        for (; p + 2 * LANES <= k; p += 2 * LANES, off += 2 * VECTOR_BYTES)
        {
            s0 = s0.add(LongVector.fromMemorySegment(SPECIES, a, aOff + off, ORDER)
                .mul(LongVector.fromMemorySegment(SPECIES, b, bOff + off, ORDER)));
            s1 = s1.add(LongVector.fromMemorySegment(SPECIES, a, aOff + off + VECTOR_BYTES, ORDER)
                .mul(LongVector.fromMemorySegment(SPECIES, b, bOff + off + VECTOR_BYTES, ORDER)));
        }
        long sum = s0.add(s1).reduceLanes(VectorOperators.ADD);
        for (; p < k; p++, off += Long.BYTES)
        {
            sum += a.get(ELEMENT, aOff + off) * b.get(ELEMENT, bOff + off);
        }
        return sum;
    }

    // ---- pooling -------------------------------------------------------------------------------------------------

    /** {@code sums[w] = sum_{r < window} x[first + r*rowBytes + w]} for w in [0, span), vectors across the row. */
    private static void sumRows(final MemorySegment x, final long first, final long rowBytes, final int window,
                                final int span, final long[] sums)
    {
        int w = 0;
        for (; w + LANES <= span; w += LANES)
        {
            final long off = first + (long)w * Long.BYTES;
            LongVector sum = LongVector.fromMemorySegment(SPECIES, x, off, ORDER);
            for (int r = 1; r < window; r++)
            {
                sum = sum.add(LongVector.fromMemorySegment(SPECIES, x, off + r * rowBytes, ORDER));
            }
            sum.intoArray(sums, w);
        }
        for (; w < span; w++)
        {
            final long off = first + (long)w * Long.BYTES;
            long sum = 0;
            for (int r = 0; r < window; r++)
            {
                sum += x.get(ELEMENT, off + r * rowBytes);
            }
            sums[w] = sum;
        }
    }

    /** {@code out[ow] = sum_{q < window} sums[ow*stride + q]} for the {@code count} outputs of a pass. */
    private static void sumColumns(final long[] sums, final int count, final int window, final int stride,
                                   final MemorySegment out, final long outOff)
    {
        for (int ow = 0; ow < count; ow++)
        {
            final int first = ow * stride;
            long sum = 0;
            for (int q = 0; q < window; q++)
            {
                sum += sums[first + q];
            }
            out.set(ELEMENT, outOff + (long)ow * Long.BYTES, sum);
        }
    }

    // ---- scratch -------------------------------------------------------------------------------------------------

    private interface ScratchUser
    {
        void accept(Scratch scratch);
    }

    private static void withScratch(final ScratchUser user)
    {
        final Scratch scratch = Scratch.acquire();
        try
        {
            user.accept(scratch);
        }
        finally
        {
            scratch.release();
        }
    }

    /**
     * Packing buffers for one running part: the B panel (1 MiB) and A strip on the heap, an edge tile off-heap (from
     * an automatic arena) and im2col lane tables, so a buffer the pool drops is freed by the GC, never leaked. The pool keeps at
     * most {@link #RETAINED} idle buffers; more are created only while more parts run at once.
     */
    private static final class Scratch
    {
        private static final int RETAINED = 2 * Runtime.getRuntime().availableProcessors() + 2;
        private static final ConcurrentLinkedQueue<Scratch> IDLE = new ConcurrentLinkedQueue<>();
        private static final AtomicInteger IDLE_COUNT = new AtomicInteger();

        /** Heap arrays: the micro-kernel's hot loop reads only these (see {@code packAStrip}). */
        final long[] panel = new long[KC * NC];
        final long[] aStrip = new long[KC * MR];
        final MemorySegment tile;
        /** Never written: the starting value of a tile that overwrites C. */
        final MemorySegment zeroTile;
        final long[] laneRow = new long[NC];
        final long[] laneColumn = new long[NC];
        final int[] rowOrigin = new int[NR];
        final int[] columnOrigin = new int[NR];

        private Scratch()
        {
            final Arena arena = Arena.ofAuto();
            tile = arena.allocate((long)MR * NR * Long.BYTES, RingTensor.ALIGNMENT_BYTES);
            zeroTile = arena.allocate((long)MR * NR * Long.BYTES, RingTensor.ALIGNMENT_BYTES);
        }

        static Scratch acquire()
        {
            final Scratch idle = IDLE.poll();
            if (idle == null)
            {
                return new Scratch();
            }
            IDLE_COUNT.decrementAndGet();
            return idle;
        }

        void release()
        {
            if (IDLE_COUNT.incrementAndGet() <= RETAINED)
            {
                IDLE.offer(this);
            }
            else
            {
                IDLE_COUNT.decrementAndGet();
            }
        }
    }
}
