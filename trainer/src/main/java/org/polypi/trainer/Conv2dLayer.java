package org.polypi.trainer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.polypi.model.Layer;
import org.polypi.model.Shape;

/**
 * 2-D convolution (groups 1, square stride, symmetric zero padding) with optional bias.
 * <p>
 * Each part of the batch lowers its images to one im2col matrix {@code col} of {@code K × (n·P)} (K = inChannels ·
 * kh · kw, P = output positions, n images side by side), so each pass is one large product: forward
 * {@code W · col}, weight gradient {@code dY · colᵀ} (computed transposed where that is faster), input gradient
 * {@code col2im(Wᵀ · dY)}. Weight and bias gradients are summed per part and then over parts in part order, so results do not depend on thread timing.
 */
final class Conv2dLayer implements TrainLayer.Unary
{
    /** Fewest images per parallel part. */
    private static final int MIN_IMAGES_PER_PART = 4;
    /**
     * Largest im2col matrix (floats, whole batch) kept from the training forward pass for the backward pass; larger
     * ones (W3's 3x3 layers) are rebuilt in backward instead of holding hundreds of MB.
     */
    private static final long MAX_CACHED_COLUMNS = 1L << 23;

    private final String name;
    private final int inChannels;
    private final int inHeight;
    private final int inWidth;
    private final int outChannels;
    private final int kernelHeight;
    private final int kernelWidth;
    private final int stride;
    private final int padding;
    private final int outHeight;
    private final int outWidth;
    private final int rows;
    private final int positions;
    private final Param weight;
    private final Param bias;
    /**
     * Whether the weight gradient is computed transposed, {@code col · dYᵀ} (rows × outChannels), rather than
     * {@code dY · colᵀ}. The product packs its B side: dY is outChannels long panels shared by all rows/4 row tiles
     * of col, where dY · colᵀ packs rows/64 panels of the long col for outChannels/4 tiles each. Measured on W3 (one
     * core): the 3x3 layers (576 rows, 64 channels) 48-58 -> 91-99 GFLOP/s, the 1x1 to 16 channels 23 -> 40; the
     * first layer (9 rows, 64 channels) 22 -> 8, hence only when rows >= outChannels. Every element is the same FMA
     * chain over the positions in the same order either way, so the gradients are bit for bit equal.
     */
    private final boolean transposedWeightGradient;
    private final FloatOps ops = FloatOps.get();

    private final float[][] colScratch = new float[Parallel.MAX_PARTS][];
    private final float[][] gradColScratch = new float[Parallel.MAX_PARTS][];
    private final float[][] outScratch = new float[Parallel.MAX_PARTS][];
    private final float[][] weightGradParts = new float[Parallel.MAX_PARTS][];
    private final double[][] biasGradParts = new double[Parallel.MAX_PARTS][];
    private float[] input;
    private float[] output;
    private float[] gradInput;
    private boolean inputGradient = true;
    /** True if colScratch still holds the im2col matrices of the latest training forward. */
    private boolean columnsCached;

    /**
     * A trainable copy of {@code conv} for inputs of per-item shape {@code in}; parameters are named
     * {@code name.weight} and {@code name.bias}.
     */
    Conv2dLayer(final String name, final Layer.Conv2d conv, final Shape in)
    {
        this.name = name;
        this.inChannels = conv.inChannels();
        this.inHeight = in.dim(1);
        this.inWidth = in.dim(2);
        this.outChannels = conv.outChannels();
        this.kernelHeight = conv.kernelHeight();
        this.kernelWidth = conv.kernelWidth();
        this.stride = conv.stride();
        this.padding = conv.padding();
        final Shape out = conv.outputShape(List.of(in));
        this.outHeight = out.dim(1);
        this.outWidth = out.dim(2);
        this.rows = inChannels * kernelHeight * kernelWidth;
        this.positions = outHeight * outWidth;
        this.weight = Param.trainable(name + ".weight", conv.weights(), true);
        this.bias = conv.hasBias() ? Param.trainable(name + ".bias", conv.bias(), false) : null;
        this.transposedWeightGradient = rows >= outChannels;
    }

    /** The weights {@code [out, in, kh, kw]}. */
    Param weight()
    {
        return weight;
    }

    /** The bias {@code [out]}, or null. */
    Param bias()
    {
        return bias;
    }

    /** The layer with the current values. */
    Layer.Conv2d toLayer()
    {
        return new Layer.Conv2d(inChannels, outChannels, kernelHeight, kernelWidth, stride, padding,
            weight.toTensor(), bias == null ? null : bias.toTensor());
    }

    @Override
    public String describe()
    {
        return name + ": Conv2d " + inChannels + "->" + outChannels + " " + kernelHeight + "x" + kernelWidth + "/" +
            stride + " pad " + padding;
    }

    @Override
    public int outputSize()
    {
        return outChannels * positions;
    }

    @Override
    public List<Param> params()
    {
        final List<Param> list = new ArrayList<>(2);
        list.add(weight);
        if (bias != null)
        {
            list.add(bias);
        }
        return List.copyOf(list);
    }

    @Override
    public void inputGradientNeeded(final boolean needed)
    {
        inputGradient = needed;
    }

    @Override
    public float[] forward(final float[] x, final int batch, final boolean training)
    {
        input = x;
        columnsCached = training && (long)batch * rows * positions <= MAX_CACHED_COLUMNS;
        output = TrainLayer.reuse(output, batch * outputSize());
        final float[] y = output;
        final float[] w = weight.value();
        final float[] b = bias == null ? null : bias.value();
        final int parts = Parallel.parts(batch, MIN_IMAGES_PER_PART);
        Parallel.forRange(batch, parts, (part, from, to) ->
        {
            final int n = to - from;
            final int width = n * positions;
            final float[] col = scratch(colScratch, part, rows * width);
            final float[] out = scratch(outScratch, part, outChannels * width);
            for (int j = 0; j < n; j++)
            {
                im2col(x, from + j, col, width, j * positions);
            }
            ops.matmul(w, col, out, outChannels, rows, width);
            for (int j = 0; j < n; j++)
            {
                final int image = (from + j) * outChannels * positions;
                for (int o = 0; o < outChannels; o++)
                {
                    final float shift = b == null ? 0f : b[o];
                    final int src = o * width + j * positions;
                    final int dst = image + o * positions;
                    for (int p = 0; p < positions; p++)
                    {
                        y[dst + p] = out[src + p] + shift;
                    }
                }
            }
        });
        return y;
    }

    @Override
    public float[] backward(final float[] dy, final int batch)
    {
        final float[] x = input;
        final boolean cached = columnsCached;
        final boolean needDx = inputGradient;
        gradInput = needDx ? TrainLayer.reuse(gradInput, batch * inChannels * inHeight * inWidth) : null;
        final float[] dx = gradInput;
        final float[] transposed = needDx ? RowGemm.transpose(weight.value(), outChannels, rows) : null;
        final int parts = Parallel.parts(batch, MIN_IMAGES_PER_PART);
        Parallel.forRange(batch, parts, (part, from, to) ->
        {
            final int n = to - from;
            final int width = n * positions;
            final float[] col = scratch(colScratch, part, rows * width);
            final float[] gy = scratch(outScratch, part, outChannels * width);
            final double[] gb = new double[outChannels];
            for (int j = 0; j < n; j++)
            {
                if (!cached)
                {
                    im2col(x, from + j, col, width, j * positions);
                }
                final int image = (from + j) * outChannels * positions;
                for (int o = 0; o < outChannels; o++)
                {
                    final int src = image + o * positions;
                    final int dst = o * width + j * positions;
                    System.arraycopy(dy, src, gy, dst, positions);
                    double sum = 0;
                    for (int p = 0; p < positions; p++)
                    {
                        sum += gy[dst + p];
                    }
                    gb[o] += sum;
                }
            }
            biasGradParts[part] = gb;
            final float[] gwt = scratch(weightGradParts, part, rows * outChannels);
            if (transposedWeightGradient)
            {
                ops.matmulTransposedB(col, gy, gwt, rows, width, outChannels);
            }
            else
            {
                ops.matmulTransposedB(gy, col, gwt, outChannels, width, rows);
            }
            if (needDx)
            {
                final float[] gcol = scratch(gradColScratch, part, rows * width);
                ops.matmul(transposed, gy, gcol, rows, outChannels, width);
                for (int j = 0; j < n; j++)
                {
                    col2im(gcol, width, j * positions, dx, from + j);
                }
            }
        });
        columnsCached = false;
        final float[] wg = weight.grad();
        for (int part = 0; part < parts; part++)
        {
            final float[] gwt = weightGradParts[part];
            if (transposedWeightGradient)
            {
                for (int r = 0; r < rows; r++)
                {
                    for (int o = 0; o < outChannels; o++)
                    {
                        wg[o * rows + r] += gwt[r * outChannels + o];
                    }
                }
            }
            else
            {
                for (int i = 0; i < wg.length; i++)
                {
                    wg[i] += gwt[i];
                }
            }
            if (bias != null)
            {
                final float[] bg = bias.grad();
                final double[] gb = biasGradParts[part];
                for (int o = 0; o < outChannels; o++)
                {
                    bg[o] += (float)gb[o];
                }
            }
        }
        return dx;
    }

    /**
     * Writes image {@code item}'s im2col matrix into columns {@code [colOffset, colOffset + P)} of {@code col}
     * (row stride {@code ld}): row {@code (c·kh + r)·kw + s}, column {@code oy·outWidth + ox} holds
     * {@code x[c][oy·stride + r - pad][ox·stride + s - pad]}, zero in the padding.
     */
    private void im2col(final float[] x, final int item, final float[] col, final int ld, final int colOffset)
    {
        final int image = item * inChannels * inHeight * inWidth;
        for (int c = 0; c < inChannels; c++)
        {
            for (int r = 0; r < kernelHeight; r++)
            {
                for (int s = 0; s < kernelWidth; s++)
                {
                    final int row = ((c * kernelHeight + r) * kernelWidth + s) * ld + colOffset;
                    final int xLo = firstValid(s);
                    final int xHi = lastValid(s, inWidth, outWidth);
                    for (int oy = 0; oy < outHeight; oy++)
                    {
                        final int dst = row + oy * outWidth;
                        final int iy = oy * stride + r - padding;
                        if (iy < 0 || iy >= inHeight || xLo > xHi)
                        {
                            Arrays.fill(col, dst, dst + outWidth, 0f);
                            continue;
                        }
                        final int src = image + (c * inHeight + iy) * inWidth + s - padding;
                        Arrays.fill(col, dst, dst + xLo, 0f);
                        if (stride == 1)
                        {
                            System.arraycopy(x, src + xLo, col, dst + xLo, xHi - xLo + 1);
                        }
                        else
                        {
                            for (int ox = xLo; ox <= xHi; ox++)
                            {
                                col[dst + ox] = x[src + ox * stride];
                            }
                        }
                        Arrays.fill(col, dst + xHi + 1, dst + outWidth, 0f);
                    }
                }
            }
        }
    }

    /** Adds the column gradient of image {@code item} (the transpose of {@link #im2col}) into {@code dx}. */
    private void col2im(final float[] col, final int ld, final int colOffset, final float[] dx, final int item)
    {
        final int image = item * inChannels * inHeight * inWidth;
        Arrays.fill(dx, image, image + inChannels * inHeight * inWidth, 0f);
        for (int c = 0; c < inChannels; c++)
        {
            for (int r = 0; r < kernelHeight; r++)
            {
                for (int s = 0; s < kernelWidth; s++)
                {
                    final int row = ((c * kernelHeight + r) * kernelWidth + s) * ld + colOffset;
                    final int xLo = firstValid(s);
                    final int xHi = lastValid(s, inWidth, outWidth);
                    for (int oy = 0; oy < outHeight; oy++)
                    {
                        final int iy = oy * stride + r - padding;
                        if (iy < 0 || iy >= inHeight)
                        {
                            continue;
                        }
                        final int src = row + oy * outWidth;
                        final int dst = image + (c * inHeight + iy) * inWidth + s - padding;
                        if (stride == 1)
                        {
                            addRun(col, src, dx, dst, xLo, xHi + 1);
                        }
                        else
                        {
                            for (int ox = xLo; ox <= xHi; ox++)
                            {
                                dx[dst + ox * stride] += col[src + ox];
                            }
                        }
                    }
                }
            }
        }
    }

    /** {@code dst[dOff + i] += src[sOff + i]} for i in [from, to): a plain loop the JIT vectorises. */
    private static void addRun(final float[] src, final int sOff, final float[] dst, final int dOff, final int from,
                               final int to)
    {
        for (int i = from; i < to; i++)
        {
            dst[dOff + i] += src[sOff + i];
        }
    }

    /** Smallest ox with {@code ox·stride + s - pad >= 0}. */
    private int firstValid(final int s)
    {
        final int need = padding - s;
        return need <= 0 ? 0 : (need + stride - 1) / stride;
    }

    /** Largest ox (at most outSize - 1) with {@code ox·stride + s - pad <= inSize - 1}; may be below firstValid. */
    private int lastValid(final int s, final int inSize, final int outSize)
    {
        final int limit = inSize - 1 + padding - s;
        return limit < 0 ? -1 : Math.min(outSize - 1, limit / stride);
    }

    /** Per-part scratch of exactly {@code length} floats, reused across calls. */
    private static float[] scratch(final float[][] pool, final int part, final int length)
    {
        final float[] s = TrainLayer.reuse(pool[part], length);
        pool[part] = s;
        return s;
    }
}
