namespace BoostFormer.Profiling;

/// <summary>Operator kinds whose multiply-accumulates the profiler counts.</summary>
public enum MacKind
{
    /// <summary>Convolutions: output elements × (in_channels / groups) × kH × kW.</summary>
    Conv,
    /// <summary>Linear layers: output elements × in_features.</summary>
    Linear,
    /// <summary>Matrix products between activations (attention QKᵀ and AV; matmul/bmm/mm): batch × M × N × K.</summary>
    Attention,
}

/// <summary>Which multiply-accumulates a report's headline <c>macs</c> figure includes.</summary>
public enum MacConvention
{
    /// <summary>Convolutions, linear layers and the attention matrix products (the SegFormer paper's GFLOPs, which are MACs).</summary>
    All,
    /// <summary>Convolutions and linear layers only, as thop/ptflops-style hook counters do (they miss functional matmuls).</summary>
    ConvLinear,
}

/// <summary>Classifies ATen operators for the profiler and computes their cost from the observed shapes.</summary>
public static class OpCounting
{
    /// <summary>Categories of the non-MAC ("other") operators, counted as elements produced (reductions: elements read).</summary>
    public static readonly IReadOnlyList<string> OtherCategories = new[] { "norm", "activation", "softmax", "upsample", "pool", "elementwise", "reduction", "misc" };

    private static readonly HashSet<string> Conv = new() { "conv1d", "conv2d", "conv3d", "convolution", "_convolution" };
    private static readonly HashSet<string> ConvTranspose = new() { "conv_transpose1d", "conv_transpose2d", "conv_transpose3d" };
    private static readonly HashSet<string> Matmul = new() { "matmul", "bmm", "mm", "addmm", "baddbmm", "addbmm", "einsum" };
    private static readonly HashSet<string> Norm = new() { "layer_norm", "native_layer_norm", "batch_norm", "native_batch_norm", "group_norm", "native_group_norm", "instance_norm" };
    private static readonly HashSet<string> Activation = new() { "gelu", "gelu_", "relu", "relu_", "silu", "silu_", "sigmoid", "sigmoid_", "tanh", "tanh_", "hardtanh", "hardtanh_", "hardswish", "hardswish_", "hardsigmoid", "leaky_relu", "leaky_relu_", "elu", "elu_", "softplus", "mish", "threshold", "prelu" };
    private static readonly HashSet<string> Softmax = new() { "softmax", "_softmax", "log_softmax", "_log_softmax" };
    private static readonly HashSet<string> Pool = new() { "avg_pool1d", "avg_pool2d", "avg_pool3d", "max_pool1d", "max_pool2d", "max_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool2d", "_adaptive_avg_pool2d" };
    private static readonly HashSet<string> Reduction = new() { "sum", "mean", "amax", "amin", "max", "min", "argmax", "argmin", "prod", "norm", "std", "var", "logsumexp", "cumsum" };
    private static readonly HashSet<string> Elementwise = new()
    {
        "add", "add_", "sub", "sub_", "rsub", "mul", "mul_", "div", "div_", "neg", "exp", "exp_", "log", "sqrt", "sqrt_", "rsqrt", "pow", "square", "abs", "clamp", "clamp_", "clamp_min", "clamp_max",
        "addcmul", "addcmul_", "addcdiv", "addcdiv_", "lerp", "lerp_", "where", "maximum", "minimum", "erf", "reciprocal", "dropout", "feature_dropout", "floor", "ceil", "round", "sign", "sin", "cos",
        "masked_fill", "masked_fill_", "bernoulli_", "floor_divide", "remainder", "eq", "ne", "gt", "ge", "lt", "le", "logical_and", "logical_or", "logical_not", "isnan", "isfinite", "fmod",
    };
    /// <summary>Operators that only create, move, view or copy data; not counted.</summary>
    private static readonly HashSet<string> Ignored = new()
    {
        "view", "reshape", "permute", "transpose", "t", "flatten", "unflatten", "contiguous", "clone", "copy_", "alias", "detach", "to", "expand", "expand_as", "slice", "select", "narrow", "split",
        "split_with_sizes", "chunk", "unbind", "unsqueeze", "squeeze", "cat", "stack", "concat", "zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like", "full_like", "fill_", "zero_",
        "arange", "linspace", "eye", "randn", "rand", "randint", "normal_", "uniform_", "index", "index_select", "gather", "index_put_", "scatter_", "item", "_local_scalar_dense", "constant_pad_nd", "pad",
        "repeat", "flip", "roll", "one_hot", "masked_select", "equal", "allclose", "size", "numel", "as_strided", "diagonal", "tril", "triu", "erfinv_", "lift_fresh", "_to_copy", "resize_", "set_",
    };

    /// <summary>The bare operator name: <c>aten::add.Tensor</c> → <c>add</c>.</summary>
    public static string BareName(string qualified)
    {
        var s = qualified.StartsWith("aten::", StringComparison.Ordinal) ? qualified[6..] : qualified;
        var dot = s.IndexOf('.');
        return dot < 0 ? s : s[..dot];
    }

    /// <summary>
    /// The cost of one operator call: either multiply-accumulates of a <see cref="MacKind"/>, or an element count in one of
    /// <see cref="OtherCategories"/>, or nothing (data movement).
    /// </summary>
    public static (MacKind? kind, long macs, string? otherCategory, long elements) Cost(string qualifiedName, IReadOnlyList<long[]> inputs, long[]? output)
    {
        var n = BareName(qualifiedName);
        if (Ignored.Contains(n)) return (null, 0, null, 0);
        long outNumel = output is null ? 0 : Numel(output);
        if (Conv.Contains(n) && inputs.Count >= 2 && output is not null)
        {
            // weight [out, in/groups, k...]: each output element needs in/groups × prod(k) multiply-accumulates
            var w = inputs[1];
            long perOut = 1;
            for (int i = 1; i < w.Length; i++) perOut *= w[i];
            return (MacKind.Conv, outNumel * perOut, null, 0);
        }
        if (ConvTranspose.Contains(n) && inputs.Count >= 2)
        {
            // weight [in, out/groups, k...]: each input element is scattered to out/groups × prod(k) outputs
            var w = inputs[1];
            long perIn = 1;
            for (int i = 1; i < w.Length; i++) perIn *= w[i];
            return (MacKind.Conv, Numel(inputs[0]) * perIn, null, 0);
        }
        if (n == "linear" && inputs.Count >= 2 && output is not null)
            return (MacKind.Linear, outNumel * inputs[1][^1], null, 0);
        if (Matmul.Contains(n) && output is not null && n != "einsum")
        {
            // (self, mat1, mat2) for addmm/baddbmm/addbmm, (a, b) otherwise; K = last dim of the left operand
            var left = n is "addmm" or "baddbmm" or "addbmm" ? (inputs.Count >= 2 ? inputs[1] : null) : (inputs.Count >= 1 ? inputs[0] : null);
            if (left is null || left.Length == 0) return (null, 0, "misc", outNumel);
            return (MacKind.Attention, outNumel * left[^1], null, 0);
        }
        if (Norm.Contains(n)) return (null, 0, "norm", outNumel);
        if (Activation.Contains(n)) return (null, 0, "activation", outNumel);
        if (Softmax.Contains(n)) return (null, 0, "softmax", outNumel);
        if (n.StartsWith("upsample_", StringComparison.Ordinal) || n is "grid_sampler" or "grid_sampler_2d") return (null, 0, "upsample", outNumel);
        if (Pool.Contains(n)) return (null, 0, "pool", outNumel);
        if (Reduction.Contains(n)) return (null, 0, "reduction", inputs.Count > 0 ? Numel(inputs[0]) : outNumel);
        if (Elementwise.Contains(n)) return (null, 0, "elementwise", outNumel);
        return (null, 0, "misc", outNumel);
    }

    /// <summary>Product of the dimensions (1 for a scalar shape).</summary>
    public static long Numel(long[] shape)
    {
        long r = 1;
        foreach (var d in shape) r *= d;
        return r;
    }
}
