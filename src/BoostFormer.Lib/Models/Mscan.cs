using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// SegNeXt's multi-scale convolutional attention (MSCA, arXiv 2209.08575; <c>mscan.py</c> <c>AttentionModule</c>), all
/// convs depthwise: a0 = DW5×5(x) (<c>conv0</c>); for k ∈ {7, 11, 21} a strip pair DW1×k then DWk×1 on a0
/// (<c>conv0_1</c>/<c>conv0_2</c>, <c>conv1_*</c>, <c>conv2_*</c>); A = 1x1(a0 + a7 + a11 + a21) (<c>conv3</c>, with bias);
/// out = A ⊙ x. NCHW in and out.
/// </summary>
public sealed class SegnextAttentionModule : nn.Module<Tensor, Tensor>
{
    public readonly Conv2d conv0, conv0_1, conv0_2, conv1_1, conv1_2, conv2_1, conv2_2, conv3;

    public SegnextAttentionModule(int dim) : base(nameof(SegnextAttentionModule))
    {
        conv0 = nn.Conv2d(dim, dim, 5, padding: 2, groups: dim);
        Conv2d Strip(long kh, long kw) => nn.Conv2d(dim, dim, (kh, kw), padding: (kh / 2, kw / 2), groups: dim);
        conv0_1 = Strip(1, 7); conv0_2 = Strip(7, 1);
        conv1_1 = Strip(1, 11); conv1_2 = Strip(11, 1);
        conv2_1 = Strip(1, 21); conv2_2 = Strip(21, 1);
        conv3 = nn.Conv2d(dim, dim, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var a = conv0.call(x);
        var a0 = conv0_2.call(conv0_1.call(a));
        var a1 = conv1_2.call(conv1_1.call(a));
        var a2 = conv2_2.call(conv2_1.call(a));
        var sum = a.add(a0, Scalars.One).add_(a1, Scalars.One).add_(a2, Scalars.One);
        return (conv3.call(sum) * x).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// SegNeXt's spatial attention (<c>SpatialAttention</c>): 1x1 (<c>proj_1</c>) → GELU (<c>activation</c>) → MSCA
/// (<c>spatial_gating_unit</c>) → 1x1 (<c>proj_2</c>), plus the input when <c>shortcut</c> (as in MSCAN blocks). NCHW.
/// </summary>
public sealed class SegnextSpatialAttention : nn.Module<Tensor, Tensor>
{
    public readonly Conv2d proj_1;
    public readonly GELU activation;
    public readonly SegnextAttentionModule spatial_gating_unit;
    public readonly Conv2d proj_2;
    private readonly bool _shortcut;

    public SegnextSpatialAttention(int dim, bool shortcut = true) : base(nameof(SegnextSpatialAttention))
    {
        proj_1 = nn.Conv2d(dim, dim, 1);
        activation = nn.GELU();
        spatial_gating_unit = new SegnextAttentionModule(dim);
        proj_2 = nn.Conv2d(dim, dim, 1);
        _shortcut = shortcut;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = proj_2.call(spatial_gating_unit.call(activation.call(proj_1.call(x))));
        return (_shortcut ? y.add_(x, Scalars.One) : y).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// MSCA in place of efficient self-attention in a Mix Transformer layer (<c>attention.self</c>): the tokens as an NCHW map
/// through SegNeXt's spatial attention without its own shortcut (the layer adds the residual), back to tokens.
/// </summary>
public sealed class SegnextMscaTokenMixer : SegformerTokenMixerBase
{
    public readonly Conv2d proj_1;
    public readonly GELU activation;
    public readonly SegnextAttentionModule spatial_gating_unit;
    public readonly Conv2d proj_2;

    public SegnextMscaTokenMixer(int dim) : base(nameof(SegnextMscaTokenMixer))
    {
        proj_1 = nn.Conv2d(dim, dim, 1);
        activation = nn.GELU();
        spatial_gating_unit = new SegnextAttentionModule(dim);
        proj_2 = nn.Conv2d(dim, dim, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden_states, long height, long width)
    {
        using var scope = NewDisposeScope();
        var map = SegformerLayout.ToNCHW(hidden_states, height, width).contiguous();
        var y = proj_2.call(spatial_gating_unit.call(activation.call(proj_1.call(map))));
        return SegformerLayout.ToSequence(y).MoveToOuterDisposeScope();
    }
}

/// <summary>SegNeXt's MLP (<c>Mlp</c>): 1x1 (<c>fc1</c>, C → rC) → DW3×3 (<c>dwconv.dwconv</c>) → GELU (<c>act</c>) → 1x1 (<c>fc2</c>). NCHW.</summary>
public sealed class SegnextMlp : nn.Module<Tensor, Tensor>
{
    public readonly Conv2d fc1;
    public readonly DestDWConv dwconv;
    public readonly GELU act;
    public readonly Conv2d fc2;
    public readonly Dropout drop;

    public SegnextMlp(int in_features, int hidden_features, double drop = 0) : base(nameof(SegnextMlp))
    {
        fc1 = nn.Conv2d(in_features, hidden_features, 1);
        dwconv = new DestDWConv(hidden_features);
        act = nn.GELU();
        fc2 = nn.Conv2d(hidden_features, in_features, 1);
        this.drop = nn.Dropout(drop);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = drop.call(act.call(dwconv.call(fc1.call(x))));
        return drop.call(fc2.call(h)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// An MSCAN block (<c>mscan.py</c> <c>Block</c>) on NCHW maps, in the encoder as a layer on tokens:
/// x += DP(ls₁ ⊙ SpatialAttention(BN x)); x += DP(ls₂ ⊙ Mlp(BN x)), layer scales per channel initialised to 1e-2. Keys:
/// <c>layer_scale_1</c>, <c>layer_scale_2</c>, <c>norm1</c>, <c>attn</c>, <c>norm2</c>, <c>mlp</c> (mmseg's).
/// </summary>
public sealed class MscanBlock : SegformerEncoderLayerBase
{
    public readonly Parameter layer_scale_1;
    public readonly Parameter layer_scale_2;
    public readonly BatchNorm2d norm1;
    public readonly SegnextSpatialAttention attn;
    public readonly SegformerDropPath drop_path;
    public readonly BatchNorm2d norm2;
    public readonly SegnextMlp mlp;

    /// <summary>Initial value of the layer scales.</summary>
    public const double LayerScaleInit = 1e-2;

    public MscanBlock(SegformerConfig config, int stage, double drop_path_prob) : base(nameof(MscanBlock))
    {
        var dim = config.hidden_sizes[stage];
        using (var s = full(dim, Scalars.Of(LayerScaleInit))) layer_scale_1 = new Parameter(s);
        using (var s = full(dim, Scalars.Of(LayerScaleInit))) layer_scale_2 = new Parameter(s);
        norm1 = nn.BatchNorm2d(dim, config.batch_norm_eps);
        attn = new SegnextSpatialAttention(dim);
        drop_path = new SegformerDropPath(drop_path_prob);
        norm2 = nn.BatchNorm2d(dim, config.batch_norm_eps);
        mlp = new SegnextMlp(dim, dim * config.mlp_ratios[stage], config.hidden_dropout_prob);
        RegisterComponents();
    }

    public override (Tensor hidden_states, Tensor? attention_probs) forward(Tensor hidden_states, long height, long width, bool output_attentions)
    {
        using var scope = NewDisposeScope();
        var x = SegformerLayout.ToNCHW(hidden_states, height, width).contiguous();
        var ls1 = layer_scale_1.view(-1, 1, 1);
        var ls2 = layer_scale_2.view(-1, 1, 1);
        x = x.add(drop_path.call(ls1 * attn.call(SegformerLayout.BatchNorm(norm1, x))), Scalars.One);
        x = x.add(drop_path.call(ls2 * mlp.call(SegformerLayout.BatchNorm(norm2, x))), Scalars.One);
        return (SegformerLayout.ToSequence(x).MoveToOuterDisposeScope(), null);
    }
}

/// <summary>
/// MSCAN's stem (<c>StemConv</c>, stage 1's patch embedding): <c>proj</c> = Conv3×3 s2 (→ C/2), BN, GELU, Conv3×3 s2 (→ C), BN;
/// stride 4 in all.
/// </summary>
public sealed class MscanStemConv : SegformerPatchEmbeddingsBase
{
    public readonly Sequential proj;

    public MscanStemConv(int in_channels, int out_channels, double batch_norm_eps = 1e-5) : base(nameof(MscanStemConv))
    {
        proj = nn.Sequential(
            nn.Conv2d(in_channels, out_channels / 2, 3, 2, 1),
            nn.BatchNorm2d(out_channels / 2, batch_norm_eps),
            nn.GELU(),
            nn.Conv2d(out_channels / 2, out_channels, 3, 2, 1),
            nn.BatchNorm2d(out_channels, batch_norm_eps));
        RegisterComponents();
    }

    public override (Tensor embeddings, long height, long width) forward(Tensor pixel_values)
    {
        using var scope = NewDisposeScope();
        var x = SegformerLayout.Sequential(proj, pixel_values);
        return (SegformerLayout.ToSequence(x).MoveToOuterDisposeScope(), x.size(2), x.size(3));
    }
}

/// <summary>MSCAN's downsampling patch embedding of stages 2–4 (<c>OverlapPatchEmbed</c>): Conv3×3 s2 p1 (<c>proj</c>) + BN (<c>norm</c>).</summary>
public sealed class MscanOverlapPatchEmbed : SegformerPatchEmbeddingsBase
{
    public readonly Conv2d proj;
    public readonly BatchNorm2d norm;

    public MscanOverlapPatchEmbed(int in_channels, int embed_dim, double batch_norm_eps = 1e-5) : base(nameof(MscanOverlapPatchEmbed))
    {
        proj = nn.Conv2d(in_channels, embed_dim, 3, 2, 1);
        norm = nn.BatchNorm2d(embed_dim, batch_norm_eps);
        RegisterComponents();
    }

    public override (Tensor embeddings, long height, long width) forward(Tensor pixel_values)
    {
        using var scope = NewDisposeScope();
        var x = SegformerLayout.BatchNorm(norm, proj.call(pixel_values));
        return (SegformerLayout.ToSequence(x).MoveToOuterDisposeScope(), x.size(2), x.size(3));
    }
}
