using TorchSharp;

namespace BoostFormer.Visualization;

/// <summary>
/// One step of a block's forward pass: a submodule (<see cref="Module"/>, its path in the block; alternatives separated by
/// <c>|</c> for blocks that name it either way), an operation without weights (<see cref="Module"/> null: pooling,
/// softmax, an activation applied functionally), or a residual add (<see cref="ResidualFrom"/>: the index of the step whose
/// <em>input</em> is added back here; 0 is the block's input).
/// </summary>
public sealed record FlowStep(string Label, string? Module = null, int? ResidualFrom = null);

/// <summary>
/// The data flow of the workbook's blocks, in the order their <c>forward</c> computes — including what registration order
/// cannot show: weight-free operations (the PoolFormer token mixer, GELU applied functionally, softmax) and residual adds.
/// Written next to each block's <c>forward</c> (see its XML docs); <c>BlockDataFlowTests</c> checks every named submodule
/// exists and every module of the block appears.
/// </summary>
public static class BlockDataFlow
{
    /// <summary>The flow of <paramref name="module"/>'s type, or null for a type without a description.</summary>
    public static IReadOnlyList<FlowStep>? Of(torch.nn.Module module)
    {
        // Self-attention registers its key/value reducer's submodules as its own (HF key names), so its flow splices in
        // the flow of the reducer it has: a strided convolution, adaptive pooling, or none.
        if (module is Models.SegformerEfficientSelfAttention attention)
        {
            var reducer = Of(attention.key_value_reducer.GetType().Name) ?? Array.Empty<FlowStep>();
            return new FlowStep[] { new("Q = query(x)", "query") }
                .Concat(reducer.Count == 0 ? new[] { new FlowStep("K/V source: x itself (R = 1)") } : reducer.Select(s => s with { Label = "K/V source: " + s.Label }))
                .Concat(attention.named_children().Any(c => c.name == "kv")
                    ? new FlowStep[] { new("K, V = kv(·) (one fused linear)", "kv") }
                    : new FlowStep[] { new("K = key(·)", "key"), new("V = value(·)", "value") })
                .Concat(new FlowStep[] { new("softmax(QKᵀ/√d) · V, per head"), new("dropout on probabilities", "dropout") })
                .ToList();
        }
        return Of(module.GetType().Name);
    }

    /// <summary>The flow of the block type called <paramref name="typeName"/>, or null (self-attention: see <see cref="Of(torch.nn.Module)"/>).</summary>
    public static IReadOnlyList<FlowStep>? Of(string typeName) => typeName switch
    {
        "SegformerLayer" => new FlowStep[]
        {
            new("LayerNorm", "layer_norm_1"), new("attention", "attention"), new("drop path", "drop_path"), new("+ residual", ResidualFrom: 0),
            new("LayerNorm", "layer_norm_2"), new("Mix-FFN", "mlp"), new("drop path", "drop_path"), new("+ residual", ResidualFrom: 4),
        },
        "BoostformerLayer" => new FlowStep[]
        {
            new("attention (no output projection)", "attention"), new("drop path", "drop_path"), new("+ residual", ResidualFrom: 0),
            new("LayerNorm", "layer_norm_1"), new("Mix-CFN", "mlp"), new("drop path", "drop_path"), new("+ residual", ResidualFrom: 3),
            new("LayerNorm (post-norm)", "layer_norm_2"),
        },
        "BoostformerPoolFormerLayer" => new FlowStep[]
        {
            new("token mixer: AvgPool3×3(x) − x"), new("× layer scale 1", "layer_scale_1"), new("drop path", "drop_path"), new("+ residual", ResidualFrom: 0),
            new("BatchNorm", "norm_1"), new("channel MLP", "mlp"), new("× layer scale 2", "layer_scale_2"), new("drop path", "drop_path"),
            new("+ residual", ResidualFrom: 4), new("BatchNorm", "norm_2"),
        },
        "SegformerAttention" => new FlowStep[]
        {
            new("efficient self-attention", "self"), new("output projection", "output.dense"), new("dropout", "output.dropout"),
        },
        "BoostformerAttention" => new FlowStep[] { new("efficient self-attention", "self") },
        "SegformerSequenceReduction" => new FlowStep[] { new("strided conv k = s = R", "sr"), new("LayerNorm", "layer_norm") },
        "SegformerNoReduction" => Array.Empty<FlowStep>(),
        "BoostformerKeyValuePooling" => new FlowStep[] { new("adaptive AvgPool → 7×7"), new("LayerNorm", "norm"), new("GELU") },
        "PvtLinearSpatialReduction" => new FlowStep[] { new("adaptive AvgPool → 7×7", "pool"), new("1×1 conv", "sr"), new("LayerNorm", "layer_norm"), new("GELU", "act") },
        "SegformerMixerAttention" => new FlowStep[] { new("token mixer", "self"), new("output projection (when kept)", "output") },
        "DestMixFFN" => new FlowStep[]
        {
            new("1×1 conv C → 4C", "conv1"), new("BatchNorm", "batch_norm1"), new("depthwise conv 3×3", "dwconv"), new("BatchNorm", "batch_norm2"),
            new("ReLU", "activation"), new("dropout", "dropout"), new("1×1 conv 4C → C", "conv2"), new("dropout", "dropout"),
        },
        "ShenEfficientAttention" => new FlowStep[]
        {
            new("K = keys(x) (1×1 conv), softmax over positions", "keys"), new("Q = queries(x) (1×1 conv), softmax over channels", "queries"),
            new("V = values(x) (1×1 conv)", "values"), new("context G = K·Vᵀ per head (d_k × d_v)"), new("Gᵀ·Q"),
            new("reprojection (1×1 conv)", "reprojection"), new("+ residual", ResidualFrom: 0),
        },
        "SegformerMixFFN" => new FlowStep[]
        {
            new("Linear C → 4C", "dense1"), new("depthwise conv 3×3", "dwconv"), new("GELU", "intermediate_act_fn"), new("dropout", "dropout"),
            new("Linear 4C → C", "dense2"), new("dropout", "dropout"),
        },
        "BoostformerMixCFN" => new FlowStep[]
        {
            new("1×1 conv C → 4C", "conv_1|conv1"), new("BatchNorm", "norm_1|norm1"), new("depthwise 3×3 | 5×5 on channel halves", "dwconv"),
            new("BatchNorm", "norm_2|norm2"), new("GELU", "act"), new("1×1 conv 4C → C", "conv_2|conv2"),
        },
        "BoostformerConvMixFFN" => new FlowStep[]
        {
            new("1×1 conv C → 4C", "conv1"), new("depthwise conv 3×3", "dwconv"), new("GELU", "act"), new("1×1 conv 4C → C", "conv2"),
        },
        "SegformerOverlapPatchEmbeddings" => new FlowStep[] { new("overlapping strided conv", "proj"), new("flatten to tokens"), new("LayerNorm", "layer_norm") },
        "BoostformerPoolingPatchEmbeddings" => new FlowStep[] { new("AvgPool k×k, stride s"), new("1×1 conv", "conv"), new("flatten to tokens"), new("LayerNorm", "layer_norm") },
        "SegformerDecodeHead" => new FlowStep[]
        {
            new("per-stage Linear → D (×4)", "linear_c"), new("bilinear upsample to 1/4"), new("concatenate (4·D channels)"),
            new("1×1 fuse conv 4D → D", "linear_fuse"), new("BatchNorm", "batch_norm"), new("ReLU", "activation"), new("dropout", "dropout"), new("1×1 classifier", "classifier"),
        },
        "BoostformerWeightedSumDecodeHead" => new FlowStep[]
        {
            new("per-stage Linear → D (×4)", "linear_c"), new("bilinear upsample to 1/4"), new("× learned weight per stage, sum", "weights"),
            new("BatchNorm", "batch_norm"), new("ReLU", "activation"), new("dropout", "dropout"), new("1×1 classifier", "classifier"),
        },
        _ => null,
    };

    /// <summary>The submodule or parameter of <paramref name="block"/> at <paramref name="path"/> (alternatives separated by <c>|</c>): its type name and parameter count, or null when absent.</summary>
    public static (string Type, long Params)? Resolve(torch.nn.Module block, string path)
    {
        foreach (var p in path.Split('|'))
        {
            foreach (var (name, m) in block.named_modules())
                if (name == p) return (Profiling.Profiler.TypeName(m), m.parameter_count());
            foreach (var (name, t) in block.named_parameters())
                if (name == p) return ("Parameter", t.numel());
        }
        return null;
    }
}
