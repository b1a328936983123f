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
        if (config.encoder_type == ZooModule.EncoderNextvitHybrid)
            return new NextvitPatchEmbeddings(inCh, config.hidden_sizes[stage], config.strides[stage], config.batch_norm_eps);
        if (config.encoder_type == ZooModule.EncoderMscan)
            return stage == 0 ? new MscanStemConv(inCh, config.hidden_sizes[0], config.batch_norm_eps)
                              : new MscanOverlapPatchEmbed(inCh, config.hidden_sizes[stage], config.batch_norm_eps);
        return config.pooling_patch_embedding
            ? new BoostformerPoolingPatchEmbeddings(config.patch_sizes[stage], config.strides[stage], inCh, config.hidden_sizes[stage], config.layer_norm_eps)
            : new SegformerOverlapPatchEmbeddings(config.patch_sizes[stage], config.strides[stage], inCh, config.hidden_sizes[stage], config.layer_norm_eps);
    }

    /// <summary>
    /// One layer of stage <paramref name="stage"/>: a PoolFormer layer in the PoolFormer stages (switch b), else an
    /// attention layer — SegFormer's, or BoostFormer's without output projection and with the reference order (switch d) —,
    /// or a layer of another design that replaces the whole layer: an XCiT block (<c>xca</c>) or EMO's iRMB (<c>irmb</c>).
    /// In the Next-ViT hybrid encoder the NCB positions are <see cref="NextvitConvBlock"/>s and the others these layers.
    /// </summary>
    public static SegformerEncoderLayerBase EncoderLayer(SegformerConfig config, int stage, double drop_path_prob, int index = 0) =>
        config.encoder_type == ZooModule.EncoderMscan ? new MscanBlock(config, stage, drop_path_prob)
        : config.encoder_type == ZooModule.EncoderNextvitHybrid && NextvitHybrid.IsConvLayer(config, stage, index) ? new NextvitConvBlock(config.hidden_sizes[stage], config.batch_norm_eps)
        : config.IsPoolFormerStage(stage) ? new BoostformerPoolFormerLayer(config, stage, drop_path_prob)
        : config.attention_type == ZooModule.AttentionXca ? new XcitLayer(config, stage, drop_path_prob)
        : config.attention_type == ZooModule.AttentionIrmb ? EmoInvertedResidualMobileBlock.ForStage(config, stage, drop_path_prob)
        : config.remove_self_output ? new BoostformerLayer(config, stage, drop_path_prob)
        : new SegformerLayer(config, stage, drop_path_prob, index);

    /// <summary>
    /// The attention block (<c>attention</c>) of a SegFormer-order layer of stage <paramref name="stage"/>: the token mixer
    /// of <see cref="SegformerConfig.attention_type"/> (<c>attention.self</c>), followed by the output projection
    /// (<c>attention.output</c>) unless <see cref="SegformerConfig.attention_output"/> is off — except Swin's window
    /// attention, which has its own projection and replaces both. <paramref name="index"/> is the layer's position in the
    /// stage: Swin shifts the windows of the odd layers.
    /// </summary>
    public static SegformerAttentionBase Attention(SegformerConfig config, int stage, int index = 0)
    {
        var hidden = config.hidden_sizes[stage];
        SegformerSelfOutput? Output() => config.attention_output ? new SegformerSelfOutput(hidden, config.hidden_dropout_prob) : null;
        switch (config.attention_type)
        {
            case ZooModule.AttentionEfficient or ZooModule.AttentionLsra:
                var self = SelfAttention(config, stage);
                return config.attention_output ? new SegformerAttention(self, Output()!) : new BoostformerAttention(self);
            case ZooModule.AttentionDest:
                return new SegformerMixerAttention(new DestSimplifiedAttention(hidden, config.num_attention_heads[stage], config.sr_ratios[stage], config.batch_norm_eps), Output());
            case ZooModule.AttentionMsca:
                return new SegformerMixerAttention(new SegnextMscaTokenMixer(hidden), Output());
            case ZooModule.AttentionShenEfficient:
                return new SegformerMixerAttention(new ShenEfficientAttention(hidden, config.ea_key_channels, ShenEfficientAttention.HeadsFor(config, stage), config.ea_value_channels), Output());
            case ZooModule.AttentionSwin:
                return new SegformerMixerAttention(new SwinShiftedWindowAttention(hidden, config.swin_window_size, config.num_attention_heads[stage],
                    index % 2 == 1 ? config.swin_window_size / 2 : 0, qkv_bias: true, config.attention_probs_dropout_prob, config.hidden_dropout_prob), null);
            case ZooModule.AttentionXca or ZooModule.AttentionIrmb:
                throw new ArgumentException($"SegformerConfig.attention_type '{config.attention_type}' replaces the whole layer (SegformerModules.EncoderLayer), not only its attention");
            default:
                throw new ArgumentException($"SegformerConfig.attention_type '{config.attention_type}' is not known");
        }
    }

    /// <summary>The efficient self-attention of stage <paramref name="stage"/>, with its key/value reducer (one fused
    /// <c>kv</c> projection for LSRA, as PVTv2 and the NOTA team write it).</summary>
    public static SegformerEfficientSelfAttention SelfAttention(SegformerConfig config, int stage) =>
        new(config.hidden_sizes[stage], config.num_attention_heads[stage], KeyValueReducer(config, stage), config.attention_probs_dropout_prob,
            fused_kv: config.attention_type == ZooModule.AttentionLsra);

    /// <summary>
    /// How stage <paramref name="stage"/>'s attention shortens keys and values: pooling in the pooled stages (switch c),
    /// else the reduction conv when R &gt; 1, else nothing.
    /// </summary>
    public static SegformerKeyValueReducerBase KeyValueReducer(SegformerConfig config, int stage) =>
        config.attention_type == ZooModule.AttentionLsra ? new PvtLinearSpatialReduction(config.hidden_sizes[stage], config.kv_pool_size, config.layer_norm_eps)
        : config.IsPooledKvStage(stage) ? new BoostformerKeyValuePooling(config.hidden_sizes[stage], config.kv_pool_size, config.layer_norm_eps)
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
        if (config.mlp_type == ZooModule.MlpDestMixFfn) return new DestMixFFN(hidden, mlpHidden, config.hidden_dropout_prob, config.batch_norm_eps);
        if (config.mix_cfn) return new BoostformerMixCFN(hidden, mlpHidden, underscoreNames: !poolFormerLayer, config.batch_norm_eps);
        return poolFormerLayer ? new BoostformerConvMixFFN(hidden, mlpHidden) : new SegformerMixFFN(hidden, mlpHidden, hidden, config.hidden_dropout_prob);
    }

    /// <summary>The decoder: SegFormer's concatenation + 1x1 fuse, or the weighted sum (switch f), or a HamBurger head
    /// (<see cref="SegformerConfig.decoder_type"/>).</summary>
    public static SegmentationDecodeHeadBase DecodeHead(SegformerConfig config) => config.decoder_type switch
    {
        ZooModule.DecoderHam => new NotaHamDecodeHead(config),
        ZooModule.DecoderLightHam => new SegnextLightHamHead(config),
        ZooModule.DecoderDeepLabV3Plus => new DeepLabV3PlusHead(config),
        ZooModule.DecoderPsp => new PspHead(config),
        ZooModule.DecoderUnet => new UnetDecodeHead(config),
        ZooModule.DecoderLawin => new LawinHead(config),
        _ => config.weighted_sum_decoder ? new BoostformerWeightedSumDecodeHead(config) : new SegformerDecodeHead(config),
    };
}
