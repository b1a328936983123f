using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>The 3x3 depthwise conv of the Mix-FFN, applied to a token sequence reshaped to its H×W grid.</summary>
public sealed class SegformerDWConv : nn.Module<Tensor, long, long, Tensor>
{
    public readonly Conv2d dwconv;

    public SegformerDWConv(int dim = 768) : base(nameof(SegformerDWConv))
    {
        dwconv = nn.Conv2d(dim, dim, 3, 1, 1, groups: dim, bias: true);
        RegisterComponents();
    }

    /// <summary>[B, H·W, C] → [B, H·W, C].</summary>
    public override Tensor forward(Tensor hidden_states, long height, long width)
    {
        using var scope = NewDisposeScope();
        var map = SegformerLayout.ToNCHW(hidden_states, height, width);
        return SegformerLayout.ToSequence(dwconv.call(map)).MoveToOuterDisposeScope();
    }
}
