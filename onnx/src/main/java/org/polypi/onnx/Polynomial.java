package org.polypi.onnx;

import java.util.Arrays;

import org.polypi.model.Layer;
import org.polypi.model.Shape;
import org.polypi.model.Tensor;

/**
 * A polynomial in one tensor, the same for every element ({@link #rows()} == 1) or one per channel (rows == C),
 * with coefficients in double, lowest power first. Immutable.
 * <p>
 * This is how the importer recognises activations exported from PyTorch as chains of elementwise {@code Mul},
 * {@code Add}, {@code Sub}, {@code Div}, {@code Pow} and {@code BatchNormalization} nodes: every such node applied
 * to polynomials of the same tensor yields another polynomial of it, and only the final one becomes a layer
 * ({@link Layer.Poly} if all rows are equal, else {@link Layer.ChannelPoly}).
 */
final class Polynomial
{
    private static final Polynomial IDENTITY = new Polynomial(new double[][] {{0, 1}});

    /** {@code coefficients[row][power]}; every row has the same length (degree + 1). */
    private final double[][] coefficients;

    private Polynomial(final double[][] coefficients)
    {
        this.coefficients = trim(coefficients);
    }

    /** {@code p(x) = x}. */
    static Polynomial identity()
    {
        return IDENTITY;
    }

    /** The per-row affine map {@code scale[r] * x + shift[r]}; arrays of length 1 or C (equal lengths). */
    static Polynomial affine(final double[] scale, final double[] shift)
    {
        final double[][] c = new double[scale.length][];
        for (int r = 0; r < c.length; r++)
        {
            c[r] = new double[] {shift[r], scale[r]};
        }
        return new Polynomial(c);
    }

    /** The constant polynomial with the given per-row values (length 1 or C). */
    static Polynomial constant(final double[] values)
    {
        final double[][] c = new double[values.length][];
        for (int r = 0; r < c.length; r++)
        {
            c[r] = new double[] {values[r]};
        }
        return new Polynomial(c);
    }

    /** Degree (0 for a constant). */
    int degree()
    {
        return coefficients[0].length - 1;
    }

    /** 1 for a polynomial shared by all elements, else the channel count. */
    int rows()
    {
        return coefficients.length;
    }

    /** True for {@code p(x) = x} exactly. */
    boolean isIdentity()
    {
        for (final double[] row : coefficients)
        {
            if (row.length != 2 || row[0] != 0 || row[1] != 1)
            {
                return false;
            }
        }
        return true;
    }

    /** {@code this + other}. */
    Polynomial plus(final Polynomial other)
    {
        final int rows = Math.max(rows(), other.rows());
        final int terms = Math.max(degree(), other.degree()) + 1;
        final double[][] c = new double[rows][terms];
        for (int r = 0; r < rows; r++)
        {
            final double[] a = row(r);
            final double[] b = other.row(r);
            for (int k = 0; k < terms; k++)
            {
                c[r][k] = (k < a.length ? a[k] : 0) + (k < b.length ? b[k] : 0);
            }
        }
        return new Polynomial(c);
    }

    /**
     * {@code this * other}.
     *
     * @throws IllegalArgumentException if the product's degree exceeds {@link Layer#MAX_POLY_DEGREE}.
     */
    Polynomial times(final Polynomial other)
    {
        final int degree = degree() + other.degree();
        if (degree > Layer.MAX_POLY_DEGREE)
        {
            throw new IllegalArgumentException("the polynomial would have degree " + degree + ", at most " +
                Layer.MAX_POLY_DEGREE + " is supported");
        }
        final int rows = Math.max(rows(), other.rows());
        final double[][] c = new double[rows][degree + 1];
        for (int r = 0; r < rows; r++)
        {
            final double[] a = row(r);
            final double[] b = other.row(r);
            for (int i = 0; i < a.length; i++)
            {
                for (int j = 0; j < b.length; j++)
                {
                    c[r][i + j] += a[i] * b[j];
                }
            }
        }
        return new Polynomial(c);
    }

    /**
     * {@code this^exponent} for a small non-negative integer exponent.
     *
     * @throws IllegalArgumentException if the result's degree exceeds {@link Layer#MAX_POLY_DEGREE}.
     */
    Polynomial power(final int exponent)
    {
        if (exponent < 0 || exponent > Layer.MAX_POLY_DEGREE)
        {
            throw new IllegalArgumentException("exponent " + exponent + " is not an integer in [0, " +
                Layer.MAX_POLY_DEGREE + "]");
        }
        if ((long)degree() * exponent > Layer.MAX_POLY_DEGREE)
        {
            throw new IllegalArgumentException("the polynomial would have degree " + (long)degree() * exponent +
                ", at most " + Layer.MAX_POLY_DEGREE + " is supported");
        }
        Polynomial p = constant(new double[] {1});
        for (int k = 0; k < exponent; k++)
        {
            p = p.times(this);
        }
        return p;
    }

    /** Row {@code r}, or the only row of a shared polynomial. */
    private double[] row(final int r)
    {
        return coefficients[coefficients.length == 1 ? 0 : r];
    }

    /**
     * The layer computing this polynomial on a tensor with {@code channels} channels: {@link Layer.Poly} when every
     * row is the same, else {@link Layer.ChannelPoly}. Coefficients are rounded to float32 once, here.
     *
     * @throws IllegalArgumentException if the degree is 0 (the output would not depend on the input), a coefficient
     *     is not finite in float32, or the rows do not match {@code channels}.
     */
    Layer toLayer(final int channels)
    {
        if (degree() == 0)
        {
            throw new IllegalArgumentException("the result is a constant that does not depend on the input");
        }
        if (rows() != 1 && rows() != channels)
        {
            throw new IllegalArgumentException("per-channel coefficients for " + rows() + " channels applied to " +
                channels + " channels");
        }
        final int terms = degree() + 1;
        final float[] first = rounded(coefficients[0]);
        boolean shared = true;
        final float[] all = new float[rows() * terms];
        for (int r = 0; r < rows(); r++)
        {
            final float[] row = rounded(coefficients[r]);
            System.arraycopy(row, 0, all, r * terms, terms);
            shared &= Arrays.equals(row, first);
        }
        if (shared)
        {
            return new Layer.Poly(Tensor.of(Shape.of(terms), first));
        }
        return new Layer.ChannelPoly(Tensor.of(Shape.of(rows(), terms), all));
    }

    /** Per-row scale and shift of a degree-1 polynomial (for folding into a Conv or Gemm); rows as stored. */
    double[][] affineCoefficients()
    {
        final double[] scale = new double[rows()];
        final double[] shift = new double[rows()];
        for (int r = 0; r < rows(); r++)
        {
            shift[r] = coefficients[r][0];
            scale[r] = degree() >= 1 ? coefficients[r][1] : 0;
        }
        return new double[][] {scale, shift};
    }

    private static float[] rounded(final double[] row)
    {
        final float[] f = new float[row.length];
        for (int k = 0; k < row.length; k++)
        {
            f[k] = (float)row[k];
            if (!Float.isFinite(f[k]))
            {
                throw new IllegalArgumentException("coefficient of x^" + k + " is " + row[k] + ", not finite in " +
                    "float32");
            }
        }
        return f;
    }

    /** Drops leading powers that are zero in every row (keeps at least the constant term). */
    private static double[][] trim(final double[][] c)
    {
        int terms = c[0].length;
        while (terms > 1 && allZero(c, terms - 1))
        {
            terms--;
        }
        if (terms == c[0].length)
        {
            return c;
        }
        final double[][] t = new double[c.length][];
        for (int r = 0; r < c.length; r++)
        {
            t[r] = Arrays.copyOf(c[r], terms);
        }
        return t;
    }

    private static boolean allZero(final double[][] c, final int power)
    {
        for (final double[] row : c)
        {
            if (row[power] != 0)
            {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString()
    {
        return "Polynomial[degree " + degree() + ", " + rows() + " row(s), first " + Arrays.toString(coefficients[0]) +
            "]";
    }
}
