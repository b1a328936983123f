using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// BoostFormer's PoolFormer layer (switch b, stages 1–2 of the reference), on the H×W map of the tokens:
/// <c>x = x + layer_scale_1 · (avgpool3x3(x) − x)</c> (stride 1, padding 1, count_include_pad=false), then
/// <c>x = norm_2(x + layer_scale_2 · mlp(norm_1(x)))</c> with BatchNorm <c>norm_1</c>/<c>norm_2</c>, layer scales initialised
/// to <c>layer_scale_init_value</c> (1e-5), and the Mix-CFN (or, with switch e off, a conv Mix-FFN) as <c>mlp</c>.
/// </summary>
public sealed class BoostformerPoolFormerLayer : SegformerEncoderLayerBase
{
    public readonly Parameter layer_scale_1;
    public readonly Parameter layer_scale_2;
    public readonly BatchNorm2d norm_1;
    public readonly BatchNorm2d norm_2;
    public readonly SegformerMlpBase mlp;
    public readonly SegformerDropPath drop_path;

    public BoostformerPoolFormerLayer(SegformerConfig config, int stage, double drop_path_prob) : base(nameof(BoostformerPoolFormerLayer))
    {
        var hidden = config.hidden_sizes[stage];
        using (var s = full(new long[] { hidden }, Scalars.Of(config.layer_scale_init_value), ScalarType.Float32)) layer_scale_1 = new Parameter(s);
        using (var s = full(new long[] { hidden }, Scalars.Of(config.layer_scale_init_value), ScalarType.Float32)) layer_scale_2 = new Parameter(s);
        norm_1 = nn.BatchNorm2d(hidden, config.batch_norm_eps);
        norm_2 = nn.BatchNorm2d(hidden, config.batch_norm_eps);
        mlp = SegformerModules.Mlp(config, stage, poolFormerLayer: true);
        drop_path = new SegformerDropPath(drop_path_prob);
        RegisterComponents();
    }

    public override (Tensor hidden_states, Tensor? attention_probs) forward(Tensor hidden_states, long height, long width, bool output_attentions)
    {
        using var scope = NewDisposeScope();
        var x = SegformerLayout.ToNCHW(hidden_states, height, width);
        var ls1 = layer_scale_1.view(-1, 1, 1);
        var ls2 = layer_scale_2.view(-1, 1, 1);
        var pooled = nn.functional.avg_pool2d(x, 3, 1, 1, ceil_mode: false, count_include_pad: false);
        var mixed = (pooled - x) * ls1;
        x = drop_path.call(mixed).add(x, Scalars.One);
        // The MLP takes tokens; both conversions are views of the contiguous maps (no copies).
        var normed = SegformerLayout.ToSequence(SegformerLayout.BatchNorm(norm_1, x));
        var m = SegformerLayout.ToNCHW(mlp.call(normed, height, width), height, width) * ls2;
        x = SegformerLayout.BatchNorm(norm_2, drop_path.call(m).add(x, Scalars.One));
        return (SegformerLayout.ToSequence(x).MoveToOuterDisposeScope(), null);
    }
}
