namespace BoostFormer.Models;

/// <summary>
/// One module of the model zoo — a published block that substitutes one of SegFormer's modules through a field of
/// <see cref="SegformerConfig"/> — described once for every place that names it (the family table, switch summaries,
/// tests): where it plugs in, the config field and value that select it, a label, its paper and reference code.
/// <see cref="SegformerModules"/> builds it. The BoostFormer switches are described the same way by
/// <see cref="BoostformerSwitch"/>.
/// </summary>
public sealed class ZooModule
{
    // The values of the string fields of SegformerConfig that pick the modules.
    public const string AttentionEfficient = "efficient";
    public const string AttentionLsra = "lsra";
    public const string AttentionDest = "dest";
    public const string AttentionMsca = "msca";
    public const string AttentionShenEfficient = "shen_efficient";
    public const string AttentionXca = "xca";
    public const string AttentionIrmb = "irmb";
    public const string AttentionSwin = "swin";
    public const string MlpMixFfn = "mix_ffn";
    public const string MlpDestMixFfn = "dest_mix_ffn";
    public const string DecoderAllMlp = "all_mlp";
    public const string DecoderHam = "ham";
    public const string DecoderLightHam = "light_ham";
    public const string EncoderMit = "mit";
    public const string EncoderMscan = "mscan";
    public const string EncoderResnet18 = "resnet18";
    public const string EncoderNextvitHybrid = "nextvit_hybrid";
    public const string DecoderDeepLabV3Plus = "deeplabv3plus";
    public const string DecoderPsp = "psp";
    public const string DecoderUnet = "unet";
    public const string DecoderLawin = "lawin";

    private readonly Func<SegformerConfig, bool> _isOn;
    private readonly Func<SegformerConfig, SegformerConfig> _apply;

    private ZooModule(string point, string key, string value, string label, string tag, string paper, string code,
        Func<SegformerConfig, bool> isOn, Func<SegformerConfig, SegformerConfig> apply)
    {
        Point = point; Key = key; Value = value; Label = label; Tag = tag; Paper = paper; Code = code; _isOn = isOn; _apply = apply;
    }

    /// <summary>The substitution point it replaces ("token mixer", "channel mixer", "decoder", "encoder", "attention output").</summary>
    public string Point { get; }
    /// <summary>The <see cref="SegformerConfig"/> field (and <c>config.json</c> key) that selects it.</summary>
    public string Key { get; }
    /// <summary>The field's value that selects it.</summary>
    public string Value { get; }
    /// <summary>What it is, in a few words.</summary>
    public string Label { get; }
    /// <summary>Its token in <see cref="SegformerConfig.SwitchSummary"/>.</summary>
    public string Tag { get; }
    /// <summary>The paper (arXiv id).</summary>
    public string Paper { get; }
    /// <summary>The reference implementation: repository, file and class.</summary>
    public string Code { get; }

    /// <summary>True when <paramref name="config"/> uses this module.</summary>
    public bool IsOn(SegformerConfig config) => _isOn(config);
    /// <summary><paramref name="config"/> with this module substituted (everything else unchanged).</summary>
    public SegformerConfig Apply(SegformerConfig config) => _apply(config);

    public override string ToString() => Label;

    /// <summary>PVTv2 linear spatial-reduction attention: keys/values from AdaptiveAvgPool2d(7) → 1x1 conv → LN → GELU, one fused kv.</summary>
    public static ZooModule Lsra { get; } = new("token mixer", nameof(SegformerConfig.attention_type), AttentionLsra, "LSRA (PVTv2 linear SRA)", "lsra",
        "arXiv 2106.13797", "whai362/PVT classification/pvt_v2.py Attention(linear=True)",
        c => c.attention_type == AttentionLsra, c => c with { attention_type = AttentionLsra });
    /// <summary>DEST simplified attention: max over keys instead of softmax, the mean token as the only value.</summary>
    public static ZooModule DestAttention { get; } = new("token mixer", nameof(SegformerConfig.attention_type), AttentionDest, "DEST simplified attention", "dest-attention",
        "arXiv 2204.13791", "open-mmlab/mmsegmentation projects/dest/models/smit.py SimplifiedAttention",
        c => c.attention_type == AttentionDest, c => c with { attention_type = AttentionDest });
    /// <summary>SegNeXt multi-scale convolutional attention (in place of efficient self-attention).</summary>
    public static ZooModule Msca { get; } = new("token mixer", nameof(SegformerConfig.attention_type), AttentionMsca, "MSCA (SegNeXt)", "msca",
        "arXiv 2209.08575", "Visual-Attention-Network/SegNeXt mmseg/models/backbones/mscan.py SpatialAttention",
        c => c.attention_type == AttentionMsca && c.IsMitEncoder, c => c with { attention_type = AttentionMsca });
    /// <summary>Efficient Attention (Shen et al.): keys softmaxed over positions, queries over channels, one global d_k×d_v context per head; linear in N.</summary>
    public static ZooModule ShenEfficientAttention { get; } = new("token mixer", nameof(SegformerConfig.attention_type), AttentionShenEfficient, "Efficient Attention (Shen et al.)", "shen-efficient",
        "arXiv 1812.01243", "cmsflash/efficient-attention efficient_attention.py EfficientAttention",
        c => c.attention_type == AttentionShenEfficient, c => c with { attention_type = AttentionShenEfficient });
    /// <summary>XCiT block: cross-covariance attention (d×d per head, learnable temperature), LPI, per-channel layer scales.</summary>
    public static ZooModule Xca { get; } = new("layer", nameof(SegformerConfig.attention_type), AttentionXca, "XCA + LPI (XCiT)", "xca-lpi",
        "arXiv 2106.09681", "facebookresearch/xcit xcit.py XCA, LPI, XCABlock",
        c => c.attention_type == AttentionXca && c.xca_lpi, c => c with { attention_type = AttentionXca, xca_lpi = true });
    /// <summary>XCiT block without the LPI branch (the CV-16 team's SegformerXCA).</summary>
    public static ZooModule XcaWithoutLpi { get; } = new("layer", nameof(SegformerConfig.attention_type), AttentionXca, "XCA, no LPI (XCiT)", "xca",
        "arXiv 2106.09681", "facebookresearch/xcit xcit.py XCA, XCABlock",
        c => c.attention_type == AttentionXca && !c.xca_lpi, c => c with { attention_type = AttentionXca, xca_lpi = false });
    /// <summary>EMO's inverted residual mobile block in place of the whole layer: conv stages 1–2, 7×7 window attention in 3–4.</summary>
    public static ZooModule Irmb { get; } = new("layer", nameof(SegformerConfig.attention_type), AttentionIrmb, "iRMB (EMO)", "irmb",
        "arXiv 2301.01146", "zhangzjn/EMO model/emo.py iRMB",
        c => c.attention_type == AttentionIrmb && c.IsMitEncoder, c => c with { attention_type = AttentionIrmb });
    /// <summary>Swin's (shifted) window attention with relative position bias, padded to whole windows, in place of ESA and its output projection.</summary>
    public static ZooModule Swin { get; } = new("token mixer", nameof(SegformerConfig.attention_type), AttentionSwin, "(S)W-MSA (Swin)", "swin",
        "arXiv 2103.14030", "microsoft/Swin-Transformer models/swin_transformer.py WindowAttention, SwinTransformerBlock",
        c => c.attention_type == AttentionSwin, c => c with { attention_type = AttentionSwin });
    /// <summary>No attention output projection, SegFormer's residual order kept (the NOTA team's final model).</summary>
    public static ZooModule NoAttentionOutput { get; } = new("attention output", nameof(SegformerConfig.attention_output), "false", "no attention output projection", "no-attention-output",
        "—", "boostcampaitech4lv23nlp2/final-project-level3-nlp-14 segformer/modeling_segformer.py SegformerAttention",
        c => !c.attention_output && !c.remove_self_output, c => c with { attention_output = false });
    /// <summary>DEST's Mix-FFN: 1x1 conv → BN → DW3×3 → BN → ReLU → 1x1 conv.</summary>
    public static ZooModule DestMixFfn { get; } = new("channel mixer", nameof(SegformerConfig.mlp_type), MlpDestMixFfn, "DEST Mix-FFN", "dest-mix-ffn",
        "arXiv 2204.13791", "boostcampaitech4lv23nlp2/final-project-level3-nlp-14 segformer/modeling_segformer.py DestMixFFN",
        c => c.mlp_type == MlpDestMixFfn, c => c with { mlp_type = MlpDestMixFfn });
    /// <summary>The NOTA team's HamDecoder: stages 2–4 at 1/8, 1x1 squeeze + ReLU, parameter-free HamBurger (NMF), classifier.</summary>
    public static ZooModule HamDecoder { get; } = new("decoder", nameof(SegformerConfig.decoder_type), DecoderHam, "HamDecoder (NOTA, NMF)", "ham-decoder",
        "arXiv 2109.04553", "boostcampaitech4lv23nlp2/final-project-level3-nlp-14 segformer/modeling_segformer.py HamDecoder, segformer/hamburger.py",
        c => c.decoder_type == DecoderHam, c => c with { decoder_type = DecoderHam });
    /// <summary>SegNeXt's LightHamHead: squeeze, Hamburger (ham_in, NMF, ham_out), align, classifier.</summary>
    public static ZooModule LightHamHead { get; } = new("decoder", nameof(SegformerConfig.decoder_type), DecoderLightHam, "LightHamHead (SegNeXt)", "light-ham",
        "arXiv 2209.08575", "Visual-Attention-Network/SegNeXt mmseg/models/decode_heads/ham_head.py LightHamHead",
        c => c.decoder_type == DecoderLightHam, c => c with { decoder_type = DecoderLightHam, ham_rank = 16, ham_eval_steps = 7, ham_channels = c.decoder_hidden_size });
    /// <summary>SegNeXt's MSCAN encoder: conv stem, BatchNorm blocks with MSCA and layer scales.</summary>
    public static ZooModule MscanEncoder { get; } = new("encoder", nameof(SegformerConfig.encoder_type), EncoderMscan, "MSCAN encoder (SegNeXt)", "mscan",
        "arXiv 2209.08575", "Visual-Attention-Network/SegNeXt mmseg/models/backbones/mscan.py MSCAN",
        c => c.encoder_type == EncoderMscan, c => c with { encoder_type = EncoderMscan, mlp_ratios = new[] { 8, 8, 4, 4 }, layer_norm_eps = 1e-6 });

    /// <summary>ResNet-18 in torchvision's layout (dilated "D8" for DeepLabV3+ and PSPNet via <see cref="SegformerConfig.resnet_dilated"/>).</summary>
    public static ZooModule Resnet18Encoder { get; } = new("encoder", nameof(SegformerConfig.encoder_type), EncoderResnet18, "ResNet-18 encoder", "resnet18",
        "arXiv 1512.03385", "pytorch/vision torchvision/models/resnet.py resnet18",
        c => c.encoder_type == EncoderResnet18, c => c with { encoder_type = EncoderResnet18, hidden_sizes = ResNet18Backbone.Channels.ToArray(), num_attention_heads = new[] { 1, 2, 4, 8 } });
    /// <summary>DeepLabV3+'s ASPP decoder with the stage-1 skip.</summary>
    public static ZooModule DeepLabV3PlusDecoder { get; } = new("decoder", nameof(SegformerConfig.decoder_type), DecoderDeepLabV3Plus, "DeepLabV3+ decoder (ASPP)", "deeplabv3plus",
        "arXiv 1802.02611", "open-mmlab/mmsegmentation mmseg/models/decode_heads/sep_aspp_head.py DepthwiseSeparableASPPHead",
        c => c.decoder_type == DecoderDeepLabV3Plus, c => c with { decoder_type = DecoderDeepLabV3Plus });
    /// <summary>PSPNet's pyramid pooling decoder.</summary>
    public static ZooModule PspDecoder { get; } = new("decoder", nameof(SegformerConfig.decoder_type), DecoderPsp, "PSPNet decoder (pyramid pooling)", "psp",
        "arXiv 1612.01105", "open-mmlab/mmsegmentation mmseg/models/decode_heads/psp_head.py PSPHead",
        c => c.decoder_type == DecoderPsp, c => c with { decoder_type = DecoderPsp });
    /// <summary>A U-Net decoder on the four stages.</summary>
    public static ZooModule UnetDecoder { get; } = new("decoder", nameof(SegformerConfig.decoder_type), DecoderUnet, "U-Net decoder", "unet",
        "arXiv 1505.04597", "qubvel/segmentation_models.pytorch segmentation_models_pytorch/decoders/unet/decoder.py UnetDecoder",
        c => c.decoder_type == DecoderUnet, c => c with { decoder_type = DecoderUnet });

    /// <summary>The Lawin Transformer's decoder: Lawin ASPP (window attention on 8×8 windows over 8×, 4×, 2× pooled contexts) at 1/8, width 512 as the reference.</summary>
    public static ZooModule LawinDecoder { get; } = new("decoder", nameof(SegformerConfig.decoder_type), DecoderLawin, "Lawin ASPP decoder", "lawin",
        "arXiv 2201.01615", "yan-hao-tian/lawin mmseg/models/decode_heads/lawin_head.py LawinHead, LawinAttn, PatchEmbed",
        c => c.decoder_type == DecoderLawin, c => c with { decoder_type = DecoderLawin, decoder_hidden_size = 512 });

    /// <summary>The NOTA team's Next-ViT-style hybrid encoder: per stage NextPatchEmbed, NCBs, then a SegFormer layer (stage 3 also at positions 2 and 5) with the stage's LayerNorm after it; stage 1 all NCB.</summary>
    public static ZooModule NextvitHybridEncoder { get; } = new("encoder", nameof(SegformerConfig.encoder_type), EncoderNextvitHybrid, "Next-ViT hybrid stages (NCB + SegFormer layer)", "nextvit-hybrid",
        "arXiv 2207.05501", "bytedance/Next-ViT classification/nextvit.py NCB, MHCA, Mlp, PatchEmbed; boostcampaitech4lv23nlp2/final-project-level3-nlp-14 (Next-Vit) segformer/modeling_segformer.py NCBForSegformer, NextPatchEmbed, SegformerEncoder",
        c => c.encoder_type == EncoderNextvitHybrid, c => c with { encoder_type = EncoderNextvitHybrid });

    /// <summary>Every zoo module.</summary>
    public static IReadOnlyList<ZooModule> All { get; } = new[]
    {
        Lsra, DestAttention, Msca, ShenEfficientAttention, Xca, XcaWithoutLpi, Irmb, Swin, NoAttentionOutput, DestMixFfn, HamDecoder, LightHamHead, MscanEncoder,
        Resnet18Encoder, DeepLabV3PlusDecoder, PspDecoder, UnetDecoder, LawinDecoder, NextvitHybridEncoder,
    };

    private static readonly string[] AttentionTypes = { AttentionEfficient, AttentionLsra, AttentionDest, AttentionMsca, AttentionShenEfficient, AttentionXca, AttentionIrmb, AttentionSwin };
    private static readonly string[] MlpTypes = { MlpMixFfn, MlpDestMixFfn };
    private static readonly string[] DecoderTypes = { DecoderAllMlp, DecoderHam, DecoderLightHam, DecoderDeepLabV3Plus, DecoderPsp, DecoderUnet, DecoderLawin };
    private static readonly string[] EncoderTypes = { EncoderMit, EncoderMscan, EncoderResnet18, EncoderNextvitHybrid };

    /// <summary>Checks the module fields of <paramref name="c"/> name known modules that fit together; throws <see cref="ArgumentException"/> naming the field.</summary>
    public static void ValidateChoices(SegformerConfig c)
    {
        void Known(string value, string[] known, string field)
        {
            if (!known.Contains(value)) throw new ArgumentException($"SegformerConfig.{field} '{value}' is not known; known: {string.Join(", ", known)}");
        }
        Known(c.attention_type, AttentionTypes, nameof(SegformerConfig.attention_type));
        Known(c.mlp_type, MlpTypes, nameof(SegformerConfig.mlp_type));
        Known(c.decoder_type, DecoderTypes, nameof(SegformerConfig.decoder_type));
        Known(c.encoder_type, EncoderTypes, nameof(SegformerConfig.encoder_type));
        if (c.weighted_sum_decoder && c.decoder_type != DecoderAllMlp)
            throw new ArgumentException($"SegformerConfig: weighted_sum_decoder is a form of the all-MLP decoder, not of decoder_type '{c.decoder_type}'");
        if (c.decoder_type != DecoderAllMlp && c.num_encoder_blocks != 4)
            throw new ArgumentException($"SegformerConfig: the HamBurger decoders read stages 2–4 of a 4-stage encoder, got num_encoder_blocks {c.num_encoder_blocks}");
        if (c.encoder_type == EncoderMscan && (c.poolformer_blocks || c.pooling_patch_embedding || c.remove_self_output || c.mix_cfn || c.mlp_type != MlpMixFfn))
            throw new ArgumentException("SegformerConfig: the MSCAN encoder has its own blocks and patch embeddings; turn the layer switches off (poolformer_blocks, pooling_patch_embedding, remove_self_output, mix_cfn, mlp_type)");
        if (c.encoder_type == EncoderResnet18 && (c.num_channels != 3 || !c.hidden_sizes.SequenceEqual(ResNet18Backbone.Channels) || c.poolformer_blocks || c.pooling_patch_embedding))
            throw new ArgumentException($"SegformerConfig: the ResNet-18 encoder takes 3 input channels and has widths [{string.Join(", ", ResNet18Backbone.Channels)}] (hidden_sizes), and no MiT layer switches");
        if (c.decoder_type == DecoderLawin) LawinHead.Validate(c);
        if (c.encoder_type == EncoderNextvitHybrid) NextvitHybrid.Validate(c);
        if (c.attention_type != AttentionEfficient && c.attention_type != AttentionLsra && c.remove_self_output)
            throw new ArgumentException($"SegformerConfig: remove_self_output (switch d) wraps efficient self-attention, not attention_type '{c.attention_type}'");
        if (c.attention_type == AttentionLsra && c.kv_pool_size <= 0)
            throw new ArgumentException($"SegformerConfig.kv_pool_size must be positive with LSRA, got {c.kv_pool_size}");
        if (c.attention_type == AttentionShenEfficient)
        {
            if (c.ea_key_channels <= 0 || c.ea_value_channels <= 0)
                throw new ArgumentException($"SegformerConfig: ea_key_channels ({c.ea_key_channels}) and ea_value_channels ({c.ea_value_channels}) must be positive");
            for (int i = 0; i < c.num_encoder_blocks; i++)
            {
                var h = Models.ShenEfficientAttention.HeadsFor(c, i);
                if (c.ea_key_channels % h != 0 || c.ea_value_channels % h != 0)
                    throw new ArgumentException($"SegformerConfig: ea_key_channels ({c.ea_key_channels}) and ea_value_channels ({c.ea_value_channels}) must be multiples of stage {i}'s {h} heads");
            }
        }
        if (c.attention_type == AttentionIrmb && (c.mlp_type != MlpMixFfn || c.mix_cfn || c.irmb_window_size <= 0 || c.mlp_ratios.Any(r => r <= 0)))
            throw new ArgumentException($"SegformerConfig: attention_type 'irmb' replaces the whole layer (no mlp_type / mix_cfn channel mixer) and needs a positive irmb_window_size, got {c.irmb_window_size}");
        if (c.attention_type == AttentionSwin && c.swin_window_size < 2)
            throw new ArgumentException($"SegformerConfig.swin_window_size must be at least 2 (the shift is half of it), got {c.swin_window_size}");
        if (c.attention_type == AttentionXca && c.xca_layer_scale_init <= 0)
            throw new ArgumentException($"SegformerConfig.xca_layer_scale_init must be positive, got {c.xca_layer_scale_init}");
        if (c.attention_type == AttentionDest && c.mix_cfn)
            throw new ArgumentException("SegformerConfig: pick one channel mixer (mix_cfn or mlp_type)");
        if (c.mix_cfn && c.mlp_type != MlpMixFfn)
            throw new ArgumentException($"SegformerConfig: pick one channel mixer (mix_cfn or mlp_type '{c.mlp_type}')");
    }
}

/// <summary>
/// The named models of the zoo that are configurations of <see cref="SegformerForSemanticSegmentation"/>:
/// <c>nota-final</c> (the NOTA boostcamp team's final model exactly as its code builds it) and <c>segnext-t</c>
/// (SegNeXt-T: MSCAN-T + LightHamHead). <see cref="SegformerConfig.FromName"/> resolves them.
/// </summary>
public static class ZooModels
{
    /// <summary>The names, in table order.</summary>
    public static IReadOnlyList<string> Names { get; } = new[] { "nota-final", "segnext-t", "deeplabv3plus-r18", "pspnet-r18", "unet" };

    private static SegformerConfig Cnn(string decoder, bool dilated, int channels, int numLabels) => new SegformerConfig
    {
        encoder_type = ZooModule.EncoderResnet18,
        resnet_dilated = dilated,
        hidden_sizes = ResNet18Backbone.Channels.ToArray(),
        num_attention_heads = new[] { 1, 2, 4, 8 },   // unused; keeps the MiT fields consistent
        decoder_type = decoder,
        decoder_hidden_size = channels,
        num_labels = numLabels,
    };

    /// <summary>DeepLabV3+ with a dilated ResNet-18 (output stride 8; mmseg's <c>deeplabv3plus_r18-d8</c> head sizes: 128 channels, 12 for the stage-1 skip).</summary>
    public static SegformerConfig DeepLabV3PlusR18(int numLabels = 150) => Cnn(ZooModule.DecoderDeepLabV3Plus, true, 128, numLabels);
    /// <summary>PSPNet with a dilated ResNet-18 (output stride 8; mmseg's <c>pspnet_r18-d8</c>: 128 channels).</summary>
    public static SegformerConfig PspNetR18(int numLabels = 150) => Cnn(ZooModule.DecoderPsp, true, 128, numLabels);
    /// <summary>U-Net decoder (256, 128, 64) on a plain ResNet-18 (strides 4–32), logits at 1/4.</summary>
    public static SegformerConfig UnetR18(int numLabels = 150) => Cnn(ZooModule.DecoderUnet, false, 64, numLabels);

    /// <summary>
    /// The NOTA team's final model (<c>boostcampaitech4lv23nlp2/final-project-level3-nlp-14</c>, main 68d32f1): its
    /// <c>SegformerConfig</c> defaults — depths [1,2,2,1], widths [64,128,256,512], heads [1,2,4,8], mlp ratio 4 — with
    /// LSRA in every stage (7×7 pooled keys/values, no output projection), DEST Mix-FFN, and the HamDecoder (width 512,
    /// NMF rank 64, 6 steps in training and evaluation, bases drawn at random every forward). 7,354,582 parameters with
    /// 150 classes.
    /// </summary>
    public static SegformerConfig NotaFinal(int numLabels = 150) => new SegformerConfig
    {
        depths = new[] { 1, 2, 2, 1 },
        hidden_sizes = new[] { 64, 128, 256, 512 },
        num_attention_heads = new[] { 1, 2, 4, 8 },
        mlp_ratios = new[] { 4, 4, 4, 4 },
        sr_ratios = new[] { 8, 4, 2, 1 },
        attention_type = ZooModule.AttentionLsra,
        kv_pool_size = 7,
        attention_output = false,
        mlp_type = ZooModule.MlpDestMixFfn,
        decoder_type = ZooModule.DecoderHam,
        decoder_hidden_size = 512,
        ham_rank = 64,
        ham_train_steps = 6,
        ham_eval_steps = 6,
        num_labels = numLabels,
    };

    /// <summary>
    /// SegNeXt-T (official code, Visual-Attention-Network/SegNeXt): MSCAN-T — widths [32,64,160,256], depths [3,3,5,2],
    /// mlp ratios [8,8,4,4], drop path 0.1 — and the LightHamHead on stages 2–4 (256 channels, GroupNorm 32, NMF rank 16,
    /// 6 training / 7 evaluation steps). 4,263,414 parameters with 150 classes. Checkpoints of the official code load through
    /// <see cref="SegformerKeyMapping.Segnext"/>.
    /// </summary>
    public static SegformerConfig SegnextTiny(int numLabels = 150) => new SegformerConfig
    {
        encoder_type = ZooModule.EncoderMscan,
        attention_type = ZooModule.AttentionMsca,
        depths = new[] { 3, 3, 5, 2 },
        hidden_sizes = new[] { 32, 64, 160, 256 },
        num_attention_heads = new[] { 1, 2, 5, 8 },
        mlp_ratios = new[] { 8, 8, 4, 4 },
        drop_path_rate = 0.1,
        layer_norm_eps = 1e-6,
        decoder_type = ZooModule.DecoderLightHam,
        decoder_hidden_size = 256,
        ham_channels = 256,
        ham_rank = 16,
        ham_train_steps = 6,
        ham_eval_steps = 7,
        num_labels = numLabels,
    };

    /// <summary>The configuration named <paramref name="name"/> (lower case, no prefix), or null when it is not a zoo name.</summary>
    public static SegformerConfig? TryFromName(string name, int numLabels) => name switch
    {
        "nota-final" => NotaFinal(numLabels),
        "segnext-t" => SegnextTiny(numLabels),
        "deeplabv3plus-r18" => DeepLabV3PlusR18(numLabels),
        "pspnet-r18" => PspNetR18(numLabels),
        "unet" or "unet-r18" => UnetR18(numLabels),
        _ => null,
    };
}
