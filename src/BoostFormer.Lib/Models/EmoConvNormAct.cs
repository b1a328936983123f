using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// EMO's <c>ConvNormAct</c> (<c>zhangzjn/EMO</c> <c>model/basic_modules.py</c>): <c>conv</c> (padding ⌈(k − stride)/2⌉,
/// bias off by default), then <c>norm</c> (<c>bn_2d</c>: BatchNorm2d, <c>ln_2d</c>: <see cref="EmoLayerNorm2d"/>, both eps 1e-6;
/// <c>none</c>: absent) and <c>act</c> (<c>relu</c>, <c>silu</c>, <c>gelu</c> or <c>none</c>).
/// </summary>
public sealed class EmoConvNormAct : nn.Module<Tensor, Tensor>
{
    public readonly Conv2d conv;
    /// <summary>The norm, or null for <c>none</c>.</summary>
    public readonly nn.Module<Tensor, Tensor>? norm;
    /// <summary>The activation, or null for <c>none</c>.</summary>
    public readonly nn.Module<Tensor, Tensor>? act;

    public EmoConvNormAct(int dim_in, int dim_out, int kernel_size, int stride = 1, int groups = 1, bool bias = false,
        string norm_layer = "bn_2d", string act_layer = "relu") : base(nameof(EmoConvNormAct))
    {
        var padding = (kernel_size - stride + 1) / 2;   // ⌈(k − s)/2⌉ for k ≥ s
        conv = nn.Conv2d(dim_in, dim_out, kernel_size, stride, padding, groups: groups, bias: bias);
        norm = Norm(norm_layer, dim_out);
        act = Activation(act_layer);
        register_module(nameof(conv), conv);
        if (norm is not null) register_module(nameof(norm), norm);
        if (act is not null) register_module(nameof(act), act);
    }

    /// <summary>Registered by hand: norm and activation may be absent.</summary>
    protected override void RegisterComponents() { }

    /// <summary>EMO's <c>get_norm</c> for the names the EMO models use (eps 1e-6); null for <c>none</c>.</summary>
    public static nn.Module<Tensor, Tensor>? Norm(string name, int channels) => name switch
    {
        "none" => null,
        "bn_2d" => nn.BatchNorm2d(channels, 1e-6),
        "ln_2d" => new EmoLayerNorm2d(channels, 1e-6),
        _ => throw new ArgumentException($"EMO norm '{name}' is not supported (bn_2d, ln_2d, none)"),
    };

    /// <summary>EMO's <c>get_act</c> for the names the EMO models use; null for <c>none</c>.</summary>
    public static nn.Module<Tensor, Tensor>? Activation(string name) => name switch
    {
        "none" => null,
        "relu" => nn.ReLU(),
        "silu" => nn.SiLU(),
        "gelu" => nn.GELU(),
        _ => throw new ArgumentException($"EMO activation '{name}' is not supported (relu, silu, gelu, none)"),
    };

    /// <summary>Runs an EMO norm: BatchNorm through <see cref="SegformerLayout.BatchNorm"/> (contiguous input, synchronised in data-parallel training).</summary>
    internal static Tensor RunNorm(nn.Module<Tensor, Tensor> norm, Tensor x) =>
        norm is BatchNorm2d bn ? SegformerLayout.BatchNorm(bn, x) : norm.call(x);

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = conv.call(x);
        if (norm is not null) y = RunNorm(norm, y);
        if (act is not null) y = act.call(y);
        return y.MoveToOuterDisposeScope();
    }
}
