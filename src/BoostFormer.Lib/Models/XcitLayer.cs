using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// An XCiT block (<c>facebookresearch/xcit</c> <c>xcit.py</c> <c>XCABlock</c>) as a SegFormer layer: cross-covariance
/// attention in place of efficient self-attention, the local patch interaction, and the stage's channel mixer
/// (SegFormer's Mix-FFN, or the one <see cref="SegformerConfig.mlp_type"/> picks), each with a per-channel layer scale γ:
/// <c>x += DP(γ₁·attn(norm1 x)); x += DP(γ₃·local_mp(norm3 x)); x += DP(γ₂·mlp(norm2 x))</c>. The keys are the
/// reference's (<c>norm1</c>, <c>attn</c>, <c>norm3</c>, <c>local_mp</c>, <c>norm2</c>, <c>mlp</c>, <c>gamma1..3</c>);
/// without LPI (<see cref="SegformerConfig.xca_lpi"/> off, as the CV-16 team's <c>SegformerXCA</c>) <c>norm3</c>,
/// <c>local_mp</c> and <c>gamma3</c> are absent. γ starts at <see cref="SegformerConfig.xca_layer_scale_init"/> (XCiT's
/// <c>eta</c>: 1.0 for its 12-layer models, 1e-5 for 24-layer ones). Heads per stage: the stage's attention heads.
/// </summary>
public sealed class XcitLayer : SegformerEncoderLayerBase
{
    public readonly LayerNorm norm1;
    public readonly XcitCrossCovarianceAttention attn;
    public readonly SegformerDropPath drop_path;
    public readonly LayerNorm norm2;
    public readonly SegformerMlpBase mlp;
    /// <summary>LayerNorm before the LPI, or null without LPI.</summary>
    public readonly LayerNorm? norm3;
    /// <summary>The local patch interaction, or null without LPI.</summary>
    public readonly XcitLocalPatchInteraction? local_mp;
    public readonly Parameter gamma1;
    public readonly Parameter gamma2;
    /// <summary>The LPI's layer scale, or null without LPI.</summary>
    public readonly Parameter? gamma3;

    public XcitLayer(SegformerConfig config, int stage, double drop_path_prob) : base(nameof(XcitLayer))
    {
        var dim = config.hidden_sizes[stage];
        norm1 = nn.LayerNorm(dim, config.layer_norm_eps);
        attn = new XcitCrossCovarianceAttention(dim, config.num_attention_heads[stage], qkv_bias: true, config.attention_probs_dropout_prob, config.hidden_dropout_prob);
        drop_path = new SegformerDropPath(drop_path_prob);
        norm2 = nn.LayerNorm(dim, config.layer_norm_eps);
        mlp = SegformerModules.Mlp(config, stage);
        using (var g = full(dim, Scalars.Of(config.xca_layer_scale_init))) gamma1 = new Parameter(g);
        using (var g = full(dim, Scalars.Of(config.xca_layer_scale_init))) gamma2 = new Parameter(g);
        register_module(nameof(norm1), norm1);
        register_module(nameof(attn), attn);
        register_module(nameof(drop_path), drop_path);
        register_module(nameof(norm2), norm2);
        register_module(nameof(mlp), mlp);
        if (config.xca_lpi)
        {
            norm3 = nn.LayerNorm(dim, config.layer_norm_eps);
            local_mp = new XcitLocalPatchInteraction(dim, 3, config.batch_norm_eps);
            using (var g = full(dim, Scalars.Of(config.xca_layer_scale_init))) gamma3 = new Parameter(g);
            register_module(nameof(norm3), norm3);
            register_module(nameof(local_mp), local_mp);
        }
        register_parameter(nameof(gamma1), gamma1);
        register_parameter(nameof(gamma2), gamma2);
        if (gamma3 is not null) register_parameter(nameof(gamma3), gamma3);
    }

    /// <summary>Registered by hand: the LPI branch exists only with <see cref="SegformerConfig.xca_lpi"/>.</summary>
    protected override void RegisterComponents() { }

    public override (Tensor hidden_states, Tensor? attention_probs) forward(Tensor hidden_states, long height, long width, bool output_attentions)
    {
        using var scope = NewDisposeScope();
        var x = hidden_states.add(drop_path.call(attn.call(norm1.call(hidden_states), height, width).mul(gamma1)), Scalars.One);
        if (local_mp is not null)
            x = x.add(drop_path.call(local_mp.call(norm3!.call(x), height, width).mul(gamma3!)), Scalars.One);
        x = x.add(drop_path.call(mlp.call(norm2.call(x), height, width).mul(gamma2)), Scalars.One);
        return (x.MoveToOuterDisposeScope(), null);
    }
}
