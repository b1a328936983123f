using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// What the attention layers of SegFormer and BoostFormer share: <c>layer_norm_1</c>, an attention block
/// (<c>attention</c>), <c>drop_path</c>, <c>layer_norm_2</c> and a channel mixer (<c>mlp</c>: Mix-FFN, or Mix-CFN with
/// switch e). The subclasses differ in the residual order only.
/// </summary>
public abstract class SegformerAttentionLayerBase : SegformerEncoderLayerBase
{
    public readonly LayerNorm layer_norm_1;
    public readonly SegformerAttentionBase attention;
    public readonly SegformerDropPath drop_path;
    public readonly LayerNorm layer_norm_2;
    public readonly SegformerMlpBase mlp;

    protected SegformerAttentionLayerBase(string name, SegformerConfig config, int stage, double drop_path_prob, SegformerAttentionBase attention)
        : base(name)
    {
        var hidden = config.hidden_sizes[stage];
        layer_norm_1 = nn.LayerNorm(hidden, config.layer_norm_eps);
        this.attention = attention;
        drop_path = new SegformerDropPath(drop_path_prob);
        layer_norm_2 = nn.LayerNorm(hidden, config.layer_norm_eps);
        mlp = SegformerModules.Mlp(config, stage);
        RegisterComponents();
    }

    public override SegformerEfficientSelfAttention? SelfAttention => attention.SelfAttention;
}

/// <summary>
/// A Mix Transformer layer with SegFormer's pre-norm residual order:
/// <c>x = x + drop_path(attention(layer_norm_1(x))); x = x + drop_path(mlp(layer_norm_2(x)))</c>.
/// </summary>
public sealed class SegformerLayer : SegformerAttentionLayerBase
{
    /// <summary>Layer <paramref name="index"/> of stage <paramref name="stage"/> (Swin's shifted windows alternate with the index).</summary>
    public SegformerLayer(SegformerConfig config, int stage, double drop_path_prob, int index = 0)
        : base(nameof(SegformerLayer), config, stage, drop_path_prob,
               SegformerModules.Attention(config, stage, index)) { }

    public override (Tensor hidden_states, Tensor? attention_probs) forward(Tensor hidden_states, long height, long width, bool output_attentions)
    {
        using var scope = NewDisposeScope();
        var (a, probs) = attention.call(layer_norm_1.call(hidden_states), height, width, output_attentions);
        var h = drop_path.call(a).add(hidden_states, Scalars.One);
        var m = mlp.call(layer_norm_2.call(h), height, width);
        var x = drop_path.call(m).add(h, Scalars.One);
        x.MoveToOuterDisposeScope();
        probs?.MoveToOuterDisposeScope();
        return (x, probs);
    }
}

/// <summary>
/// BoostFormer's attention layer (switch d): no attention output projection (<see cref="BoostformerAttention"/>) and the
/// reference's residual order, post-norm on the MLP branch:
/// <c>x = x + drop_path(attention(x)); x = layer_norm_2(x + drop_path(mlp(layer_norm_1(x))))</c>.
/// </summary>
public sealed class BoostformerLayer : SegformerAttentionLayerBase
{
    public BoostformerLayer(SegformerConfig config, int stage, double drop_path_prob)
        : base(nameof(BoostformerLayer), config, stage, drop_path_prob, new BoostformerAttention(SegformerModules.SelfAttention(config, stage))) { }

    public override (Tensor hidden_states, Tensor? attention_probs) forward(Tensor hidden_states, long height, long width, bool output_attentions)
    {
        using var scope = NewDisposeScope();
        var (a, probs) = attention.call(hidden_states, height, width, output_attentions);
        var h = drop_path.call(a).add(hidden_states, Scalars.One);
        var m = mlp.call(layer_norm_1.call(h), height, width);
        var x = layer_norm_2.call(drop_path.call(m).add(h, Scalars.One));
        x.MoveToOuterDisposeScope();
        probs?.MoveToOuterDisposeScope();
        return (x, probs);
    }
}
