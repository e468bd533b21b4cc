package org.polypi.onnx;

import java.util.Map;

/** The nearest supported alternative for ONNX operators PolyPI does not import, for the error message. */
final class Unsupported
{
    private static final String POLYNOMIAL = "Relu, or a polynomial activation built from Mul/Add/Pow of one " +
        "tensor (e.g. PILLAR's)";
    private static final String NORMALIZATION = "BatchNormalization after a Conv or Gemm (it is folded into them)";
    private static final Map<String, String> NEAREST = Map.ofEntries(
        Map.entry("Sigmoid", POLYNOMIAL),
        Map.entry("Tanh", POLYNOMIAL),
        Map.entry("Softplus", POLYNOMIAL),
        Map.entry("Softsign", POLYNOMIAL),
        Map.entry("Gelu", POLYNOMIAL),
        Map.entry("Erf", POLYNOMIAL),
        Map.entry("Elu", POLYNOMIAL),
        Map.entry("Selu", POLYNOMIAL),
        Map.entry("Celu", POLYNOMIAL),
        Map.entry("LeakyRelu", POLYNOMIAL),
        Map.entry("PRelu", POLYNOMIAL),
        Map.entry("ThresholdedRelu", POLYNOMIAL),
        Map.entry("HardSigmoid", POLYNOMIAL),
        Map.entry("HardSwish", POLYNOMIAL),
        Map.entry("Mish", POLYNOMIAL),
        Map.entry("Exp", POLYNOMIAL),
        Map.entry("Log", POLYNOMIAL),
        Map.entry("Abs", POLYNOMIAL),
        Map.entry("Sqrt", POLYNOMIAL),
        Map.entry("Reciprocal", POLYNOMIAL),
        Map.entry("Sign", POLYNOMIAL),
        Map.entry("Softmax", "no final Softmax: export the logits (the predicted class is the same)"),
        Map.entry("LogSoftmax", "no final LogSoftmax: export the logits (the predicted class is the same)"),
        Map.entry("ConvTranspose", "Conv (stride s, symmetric zero padding)"),
        Map.entry("ConvInteger", "Conv on float32 weights"),
        Map.entry("QLinearConv", "Conv on float32 weights (export without quantisation)"),
        Map.entry("QuantizeLinear", "a float32 model (export without quantisation)"),
        Map.entry("DequantizeLinear", "a float32 model (export without quantisation)"),
        Map.entry("LpPool", "AveragePool or MaxPool"),
        Map.entry("GlobalMaxPool", "GlobalAveragePool, or MaxPool with the whole map as window"),
        Map.entry("GlobalLpPool", "GlobalAveragePool"),
        Map.entry("ReduceMax", "MaxPool"),
        Map.entry("ReduceSum", "GlobalAveragePool (a mean over H and W)"),
        Map.entry("ReduceL2", "GlobalAveragePool"),
        Map.entry("InstanceNormalization", NORMALIZATION),
        Map.entry("LayerNormalization", NORMALIZATION),
        Map.entry("GroupNormalization", NORMALIZATION),
        Map.entry("LpNormalization", NORMALIZATION),
        Map.entry("LRN", NORMALIZATION),
        Map.entry("MeanVarianceNormalization", NORMALIZATION),
        Map.entry("Concat", "Add of two branches (residual connection); channel concatenation is not supported"),
        Map.entry("Split", "separate Conv layers reading the same tensor"),
        Map.entry("Slice", "a model that does not crop or split activations"),
        Map.entry("Gather", "a model that does not index activations"),
        Map.entry("Transpose", "NCHW activations without transposes"),
        Map.entry("Unsqueeze", "Flatten (torch.flatten(x, 1))"),
        Map.entry("Expand", "Add of tensors of the same shape"),
        Map.entry("Tile", "Add of tensors of the same shape"),
        Map.entry("Resize", "a strided Conv or AveragePool (no upsampling)"),
        Map.entry("Upsample", "a strided Conv or AveragePool (no upsampling)"),
        Map.entry("Max", "Relu (max(x, 0))"),
        Map.entry("Min", "a polynomial activation"),
        Map.entry("Mean", "Add then Mul by 0.5"),
        Map.entry("Einsum", "MatMul with a constant weight"),
        Map.entry("Where", "a model without data-dependent selection"),
        Map.entry("If", "a model without control flow (export in eval mode with fixed shapes)"),
        Map.entry("Loop", "a model without control flow"),
        Map.entry("Scan", "a model without control flow"),
        Map.entry("LSTM", "convolutional or fully connected layers"),
        Map.entry("GRU", "convolutional or fully connected layers"),
        Map.entry("RNN", "convolutional or fully connected layers"),
        Map.entry("Attention", "convolutional or fully connected layers"),
        Map.entry("Shape", "Flatten (torch.flatten(x, 1)) instead of shape arithmetic"));

    /** The operators the importer converts (for the message of an operator it has never heard of). */
    static final String SUPPORTED = "Conv, Gemm, MatMul (+Add bias), Add, Sub, Mul, Div, Pow, Neg, Sum, Relu, " +
        "Clip, BatchNormalization, AveragePool, GlobalAveragePool, ReduceMean over H and W, MaxPool, Flatten, " +
        "Reshape, Squeeze, Identity, Dropout, Cast, Constant, Pad (folded into a Conv)";

    private Unsupported()
    {
    }

    /** The error for a node whose operator PolyPI does not support at all. */
    static OnnxImportException operator(final OnnxNode node)
    {
        final String nearest = NEAREST.get(node.opType());
        if (nearest != null)
        {
            return node.unsupported("operator " + node.opType() + " is not supported", nearest);
        }
        return node.unsupported("operator " + node.opType() + " is not supported", "none close; PolyPI imports " +
            SUPPORTED);
    }
}
