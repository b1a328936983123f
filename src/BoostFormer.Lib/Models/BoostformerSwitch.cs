namespace BoostFormer.Models;

/// <summary>
/// One BoostFormer switch of <see cref="SegformerConfig"/>, described once for every place that names it: its letter in
/// the ablation (a–f; none for the closing-LayerNorm removal), its config key, a label, the tag used in switch summaries,
/// whether a configuration has it on, and how to turn it on. The ablation table (<c>Profiling.Ablation</c>), the
/// summaries (<see cref="SegformerConfig.SwitchSummary"/>) and notebook 02 read these; which module each switch
/// substitutes is decided in <see cref="SegformerModules"/>.
/// </summary>
public sealed class BoostformerSwitch
{
    private readonly Func<SegformerConfig, bool> _isOn;
    private readonly Func<SegformerConfig, SegformerConfig> _apply;

    private BoostformerSwitch(char? letter, string key, string label, string tag, Func<SegformerConfig, bool> isOn, Func<SegformerConfig, SegformerConfig> apply)
    {
        Letter = letter; Key = key; Label = label; Tag = tag; _isOn = isOn; _apply = apply;
    }

    /// <summary>The letter of the ablation row, or null for a switch that has no row of its own.</summary>
    public char? Letter { get; }
    /// <summary>The <see cref="SegformerConfig"/> field (and <c>config.json</c> key) the switch sets.</summary>
    public string Key { get; }
    /// <summary>What the switch changes, in a few words ("Mix-CFN").</summary>
    public string Label { get; }
    /// <summary>The switch's token in <see cref="SegformerConfig.SwitchSummary"/> ("mix-cfn").</summary>
    public string Tag { get; }
    /// <summary>"(e) Mix-CFN": the label with its letter, as the ablation rows are named.</summary>
    public string Name => Letter is { } l ? $"({l}) {Label}" : Label;

    /// <summary>True when <paramref name="config"/> has this switch on.</summary>
    public bool IsOn(SegformerConfig config) => _isOn(config);
    /// <summary><paramref name="config"/> with this switch on (everything else unchanged).</summary>
    public SegformerConfig Apply(SegformerConfig config) => _apply(config);

    public override string ToString() => Name;

    /// <summary>(a) Average pooling + 1x1 conv + LayerNorm instead of the K×K patch-embedding conv.</summary>
    public static BoostformerSwitch PoolingPatchEmbedding { get; } = new('a', nameof(SegformerConfig.pooling_patch_embedding), "pooling patch embedding", "pooling-patch-embedding",
        c => c.pooling_patch_embedding, c => c with { pooling_patch_embedding = true });
    /// <summary>(b) PoolFormer layers instead of attention layers in the first two stages.</summary>
    public static BoostformerSwitch PoolFormerBlocks { get; } = new('b', nameof(SegformerConfig.poolformer_blocks), "PoolFormer blocks, stages 1–2", "poolformer",
        c => c.poolformer_blocks, c => c with { poolformer_blocks = true });
    /// <summary>(c) Keys and values from an adaptive average pool instead of the reduction conv in the last two stages.</summary>
    public static BoostformerSwitch PooledKvAttention { get; } = new('c', nameof(SegformerConfig.pooled_kv_attention), "pooled K/V attention, stages 3–4", "pooled-kv",
        c => c.pooled_kv_attention, c => c with { pooled_kv_attention = true });
    /// <summary>(d) No attention output projection, and the reference's layer order.</summary>
    public static BoostformerSwitch RemoveSelfOutput { get; } = new('d', nameof(SegformerConfig.remove_self_output), "no attention output projection", "no-self-output",
        c => c.remove_self_output, c => c with { remove_self_output = true });
    /// <summary>(e) Mix-CFN instead of Mix-FFN.</summary>
    public static BoostformerSwitch MixCfn { get; } = new('e', nameof(SegformerConfig.mix_cfn), "Mix-CFN", "mix-cfn",
        c => c.mix_cfn, c => c with { mix_cfn = true });
    /// <summary>(f) Weighted sum of the stage maps instead of concatenation + 1x1 fuse in the decoder.</summary>
    public static BoostformerSwitch WeightedSumDecoder { get; } = new('f', nameof(SegformerConfig.weighted_sum_decoder), "weighted-sum decoder", "weighted-sum",
        c => c.weighted_sum_decoder, c => c with { weighted_sum_decoder = true });
    /// <summary>No LayerNorm closing each encoder stage, as in the BoostFormer reference (no ablation row of its own).</summary>
    public static BoostformerSwitch NoStageLayerNorm { get; } = new(null, nameof(SegformerConfig.encoder_layer_norm), "no LayerNorm closing each stage", "no-stage-layernorm",
        c => !c.encoder_layer_norm, c => c with { encoder_layer_norm = false });

    /// <summary>The six lettered switches (a)–(f), in order: the rows of the ablation.</summary>
    public static IReadOnlyList<BoostformerSwitch> Lettered { get; } =
        new[] { PoolingPatchEmbedding, PoolFormerBlocks, PooledKvAttention, RemoveSelfOutput, MixCfn, WeightedSumDecoder };

    /// <summary>Every switch the BoostFormer reference turns on: the six lettered ones and <see cref="NoStageLayerNorm"/>.</summary>
    public static IReadOnlyList<BoostformerSwitch> All { get; } = Lettered.Append(NoStageLayerNorm).ToArray();

    /// <summary>The switch of letter <paramref name="letter"/> ('a'–'f').</summary>
    public static BoostformerSwitch FromLetter(char letter) =>
        Lettered.FirstOrDefault(s => s.Letter == char.ToLowerInvariant(letter))
        ?? throw new ArgumentOutOfRangeException(nameof(letter), letter, "BoostFormer switches are lettered a–f");
}
