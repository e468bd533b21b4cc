package org.polypi.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import com.google.protobuf.ByteString;
import onnx.Onnx.TensorProto;
import onnx.Onnx.TensorProto.DataType;

/**
 * Decodes an ONNX {@link TensorProto} (initializer or Constant value) into a {@link ConstTensor}.
 * <p>
 * Every count is checked against the bytes actually present before anything is allocated: the dimensions must
 * multiply to exactly the number of stored elements, so a tensor claiming absurd dimensions costs nothing. Data
 * stored outside the file, float16/bfloat16, strings and complex numbers are refused with a message saying what to
 * do instead.
 */
final class TensorDecoder
{
    private TensorDecoder()
    {
    }

    /**
     * The tensor's values.
     *
     * @param what the tensor's role for messages, e.g. {@code initializer 'fc.weight'}.
     * @throws OnnxImportException if the tensor is malformed or of an unsupported type.
     */
    static ConstTensor decode(final TensorProto t, final String what) throws OnnxImportException
    {
        if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL || t.getExternalDataCount() > 0)
        {
            throw new OnnxImportException(what + " keeps its data in an external file; save the model with the " +
                "weights inside (onnx.save_model(model, path, save_as_external_data=False))");
        }
        if (t.hasSegment())
        {
            throw new OnnxImportException(what + " is a segment of a larger tensor, which is not supported");
        }
        if (t.getDimsCount() > ConstTensor.MAX_RANK)
        {
            throw new OnnxImportException(what + " has rank " + t.getDimsCount() + ", at most " +
                ConstTensor.MAX_RANK + " supported");
        }
        final long[] dims = new long[t.getDimsCount()];
        for (int i = 0; i < dims.length; i++)
        {
            dims[i] = t.getDims(i);
        }
        final int count = ConstTensor.elements(dims, Integer.MAX_VALUE - 8, what);
        final DataType type = DataType.forNumber(t.getDataType());
        if (type == null)
        {
            throw new OnnxImportException(what + " has unknown data_type " + t.getDataType());
        }
        final ByteString raw = t.getRawData();
        return switch (type)
        {
            case FLOAT -> real(dims, count, raw, Float.BYTES, t.getFloatDataCount(), t, what);
            case DOUBLE -> real(dims, count, raw, Double.BYTES, t.getDoubleDataCount(), t, what);
            case INT64 -> integer(dims, count, raw, Long.BYTES, t.getInt64DataCount(), t, type, what);
            case INT32 -> integer(dims, count, raw, Integer.BYTES, t.getInt32DataCount(), t, type, what);
            case INT16, UINT16 -> integer(dims, count, raw, Short.BYTES, t.getInt32DataCount(), t, type, what);
            case INT8, UINT8, BOOL -> integer(dims, count, raw, Byte.BYTES, t.getInt32DataCount(), t, type, what);
            case FLOAT16, BFLOAT16 -> throw new OnnxImportException(what + " is " + type + "; export the model in " +
                "float32 (call model.float() before torch.onnx.export)");
            default -> throw new OnnxImportException(what + " has data type " + type + ", which PolyPI does not " +
                "support (float32, float64 and integer tensors are)");
        };
    }

    private static void checkCount(final String what, final int expected, final ByteString raw, final int width,
                                   final int typedCount) throws OnnxImportException
    {
        if (!raw.isEmpty() && typedCount > 0)
        {
            throw new OnnxImportException(what + " has both raw_data and typed data");
        }
        final long stored = raw.isEmpty() ? typedCount : raw.size() / width;
        if (!raw.isEmpty() && raw.size() % width != 0)
        {
            throw new OnnxImportException(what + " has " + raw.size() + " bytes of raw_data, not a multiple of the " +
                "element size " + width);
        }
        if (stored != expected)
        {
            throw new OnnxImportException(what + " has dimensions for " + expected + " elements but stores " + stored);
        }
    }

    private static ConstTensor real(final long[] dims, final int count, final ByteString raw, final int width,
                                    final int typedCount, final TensorProto t, final String what)
        throws OnnxImportException
    {
        checkCount(what, count, raw, width, typedCount);
        final double[] v = new double[count];
        if (!raw.isEmpty())
        {
            final ByteBuffer b = raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < count; i++)
            {
                v[i] = width == Float.BYTES ? b.getFloat() : b.getDouble();
            }
        }
        else
        {
            for (int i = 0; i < count; i++)
            {
                v[i] = width == Float.BYTES ? t.getFloatData(i) : t.getDoubleData(i);
            }
        }
        return ConstTensor.real(dims, v);
    }

    private static ConstTensor integer(final long[] dims, final int count, final ByteString raw, final int width,
                                       final int typedCount, final TensorProto t, final DataType type,
                                       final String what) throws OnnxImportException
    {
        checkCount(what, count, raw, width, typedCount);
        final long[] v = new long[count];
        final boolean unsigned = type == DataType.UINT8 || type == DataType.UINT16 || type == DataType.BOOL;
        if (!raw.isEmpty())
        {
            final ByteBuffer b = raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < count; i++)
            {
                v[i] = switch (width)
                {
                    case Long.BYTES -> b.getLong();
                    case Integer.BYTES -> b.getInt();
                    case Short.BYTES -> unsigned ? Short.toUnsignedLong(b.getShort()) : b.getShort();
                    default -> unsigned ? Byte.toUnsignedLong(b.get()) : b.get();
                };
            }
        }
        else
        {
            for (int i = 0; i < count; i++)
            {
                v[i] = width == Long.BYTES ? t.getInt64Data(i) : t.getInt32Data(i);
            }
        }
        if (type == DataType.BOOL)
        {
            for (int i = 0; i < count; i++)
            {
                v[i] = v[i] != 0 ? 1 : 0;
            }
        }
        return ConstTensor.integer(dims, v);
    }
}
