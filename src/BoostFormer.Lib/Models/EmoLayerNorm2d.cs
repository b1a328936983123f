using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// EMO's <c>LayerNorm2d</c> (<c>zhangzjn/EMO</c> <c>model/basic_modules.py</c>, its <c>ln_2d</c> norm): a LayerNorm over the
/// channels of an NCHW map (<c>norm</c>, eps 1e-6), applied at every position.
/// </summary>
public sealed class EmoLayerNorm2d : nn.Module<Tensor, Tensor>
{
    public readonly LayerNorm norm;

    public EmoLayerNorm2d(int channels, double eps = 1e-6) : base(nameof(EmoLayerNorm2d))
    {
        norm = nn.LayerNorm(channels, eps);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var nhwc = x.permute(0, 2, 3, 1);
        using var y = norm.call(nhwc);
        return y.permute(0, 3, 1, 2).contiguous();
    }
}
