namespace BoostFormer.Models;

/// <summary>
/// Where the configuration picks the modules: one method per substitution point, each architectural switch of
/// <see cref="SegformerConfig"/> choosing between implementations of one base (see <see cref="BoostformerSwitch"/> for
/// the switches). A new block plugs in here by deriving from the same base.
/// </summary>
public static class SegformerModules
{
    /// <summary>Stage <paramref name="stage"/>'s patch embedding: the overlapping K×K conv, or pooling + 1x1 conv (switch a).</summary>
    public static SegformerPatchEmbeddingsBase PatchEmbeddings(SegformerConfig config, int stage)
    {
        var inCh = stage == 0 ? config.num_channels : config.hidden_sizes[stage - 1];
        return config.pooling_patch_embedding
            ? new BoostformerPoolingPatchEmbeddings(config.patch_sizes[stage], config.strides[stage], inCh, config.hidden_sizes[stage], config.layer_norm_eps)
            : new SegformerOverlapPatchEmbeddings(config.patch_sizes[stage], config.strides[stage], inCh, config.hidden_sizes[stage], config.layer_norm_eps);
    }

    /// <summary>
    /// One layer of stage <paramref name="stage"/>: a PoolFormer layer in the PoolFormer stages (switch b), else an
    /// attention layer — SegFormer's, or BoostFormer's without output projection and with the reference order (switch d).
    /// </summary>
    public static SegformerEncoderLayerBase EncoderLayer(SegformerConfig config, int stage, double drop_path_prob) =>
        config.IsPoolFormerStage(stage) ? new BoostformerPoolFormerLayer(config, stage, drop_path_prob)
        : config.remove_self_output ? new BoostformerLayer(config, stage, drop_path_prob)
        : new SegformerLayer(config, stage, drop_path_prob);

    /// <summary>The efficient self-attention of stage <paramref name="stage"/>, with its key/value reducer.</summary>
    public static SegformerEfficientSelfAttention SelfAttention(SegformerConfig config, int stage) =>
        new(config.hidden_sizes[stage], config.num_attention_heads[stage], KeyValueReducer(config, stage), config.attention_probs_dropout_prob);

    /// <summary>
    /// How stage <paramref name="stage"/>'s attention shortens keys and values: pooling in the pooled stages (switch c),
    /// else the reduction conv when R &gt; 1, else nothing.
    /// </summary>
    public static SegformerKeyValueReducerBase KeyValueReducer(SegformerConfig config, int stage) =>
        config.IsPooledKvStage(stage) ? new BoostformerKeyValuePooling(config.hidden_sizes[stage], config.kv_pool_size, config.layer_norm_eps)
        : config.sr_ratios[stage] > 1 ? new SegformerSequenceReduction(config.hidden_sizes[stage], config.sr_ratios[stage], config.layer_norm_eps)
        : new SegformerNoReduction();

    /// <summary>
    /// The channel mixer of a layer of stage <paramref name="stage"/>: Mix-CFN (switch e) or Mix-FFN — in PoolFormer
    /// layers the conv form of Mix-FFN, and Mix-CFN with the reference's other spelling of its 1x1 convs.
    /// </summary>
    public static SegformerMlpBase Mlp(SegformerConfig config, int stage, bool poolFormerLayer = false)
    {
        var hidden = config.hidden_sizes[stage];
        var mlpHidden = hidden * config.mlp_ratios[stage];
        if (config.mix_cfn) return new BoostformerMixCFN(hidden, mlpHidden, underscoreNames: !poolFormerLayer, config.batch_norm_eps);
        return poolFormerLayer ? new BoostformerConvMixFFN(hidden, mlpHidden) : new SegformerMixFFN(hidden, mlpHidden, hidden, config.hidden_dropout_prob);
    }

    /// <summary>The decoder: SegFormer's concatenation + 1x1 fuse, or the weighted sum (switch f).</summary>
    public static SegformerDecodeHeadBase DecodeHead(SegformerConfig config) =>
        config.weighted_sum_decoder ? new BoostformerWeightedSumDecodeHead(config) : new SegformerDecodeHead(config);
}
