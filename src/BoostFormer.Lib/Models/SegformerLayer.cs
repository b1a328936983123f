using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// A Mix Transformer layer. SegFormer's pre-norm residual order:
/// <c>x = x + drop_path(attention(layer_norm_1(x))); x = x + drop_path(mlp(layer_norm_2(x)))</c>.
/// With BoostFormer's switch d (no SelfOutput) the reference order is used instead:
/// <c>x = x + drop_path(attention(x)); x = layer_norm_2(x + drop_path(mlp(layer_norm_1(x))))</c>.
/// The MLP is the Mix-FFN (<see cref="SegformerMixFFN"/>), or Mix-CFN (<see cref="BoostformerMixCFN"/>, switch e).
/// </summary>
public sealed class SegformerLayer : SegformerEncoderLayerBase
{
    public readonly LayerNorm layer_norm_1;
    public readonly SegformerAttention attention;
    public readonly SegformerDropPath drop_path;
    public readonly LayerNorm layer_norm_2;
    /// <summary>The MLP: a <see cref="SegformerMixFFN"/>, or a <see cref="BoostformerMixCFN"/> (switch e).</summary>
    public readonly nn.Module mlp;

    /// <summary>True when the reference (post-norm, no output projection) order is used.</summary>
    public bool reference_order { get; }

    public SegformerLayer(SegFormerConfig config, int stage, double drop_path_prob) : base(nameof(SegformerLayer))
    {
        var hidden = config.hidden_sizes[stage];
        reference_order = config.remove_self_output;
        layer_norm_1 = nn.LayerNorm(hidden, config.layer_norm_eps);
        var self = new SegformerEfficientSelfAttention(hidden, config.num_attention_heads[stage], config.sr_ratios[stage],
            config.attention_probs_dropout_prob, config.layer_norm_eps, config.IsPooledKvStage(stage) ? config.kv_pool_size : 0);
        attention = new SegformerAttention(self, config.remove_self_output ? null : new SegformerSelfOutput(hidden, config.hidden_dropout_prob));
        drop_path = new SegformerDropPath(drop_path_prob);
        layer_norm_2 = nn.LayerNorm(hidden, config.layer_norm_eps);
        var mlpHidden = hidden * config.mlp_ratios[stage];
        mlp = config.mix_cfn
            ? new BoostformerMixCFN(hidden, mlpHidden, underscoreNames: true, config.batch_norm_eps)
            : new SegformerMixFFN(hidden, mlpHidden, hidden, config.hidden_dropout_prob);
        RegisterComponents();
    }

    private Tensor Mlp(Tensor seq, long height, long width)
    {
        if (mlp is SegformerMixFFN ffn) return ffn.call(seq, height, width);
        using var scope = NewDisposeScope();
        var map = SegformerLayout.ToNCHW(seq, height, width);
        return SegformerLayout.ToSequence(((BoostformerMixCFN)mlp).call(map)).MoveToOuterDisposeScope();
    }

    public override (Tensor hidden_states, Tensor? attention_probs) forward(Tensor hidden_states, long height, long width, bool output_attentions)
    {
        using var scope = NewDisposeScope();
        Tensor x;
        Tensor? probs;
        if (!reference_order)
        {
            var (a, p) = attention.call(layer_norm_1.call(hidden_states), height, width, output_attentions);
            probs = p;
            var h = drop_path.call(a).add(hidden_states);
            var m = Mlp(layer_norm_2.call(h), height, width);
            x = drop_path.call(m).add(h);
        }
        else
        {
            var (a, p) = attention.call(hidden_states, height, width, output_attentions);
            probs = p;
            var h = drop_path.call(a).add(hidden_states);
            var m = Mlp(layer_norm_1.call(h), height, width);
            x = layer_norm_2.call(drop_path.call(m).add(h));
        }
        x.MoveToOuterDisposeScope();
        probs?.MoveToOuterDisposeScope();
        return (x, probs);
    }
}
