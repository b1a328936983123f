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

/// <summary>The categories of non-MAC costs the profiler reports.</summary>
public static class OpCounting
{
    /// <summary>Categories of the non-MAC ("other") operations, counted as elements produced.</summary>
    public static readonly IReadOnlyList<string> OtherCategories = new[] { "norm", "activation", "softmax", "upsample", "pool", "elementwise", "reduction", "misc" };
}
