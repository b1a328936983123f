using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// XCiT's local patch interaction (LPI, arXiv 2106.09681; <c>facebookresearch/xcit</c> <c>xcit.py</c> <c>LPI</c>): "allows
/// explicit communication between tokens in 3x3 windows to augment the implicit communication performed by the block
/// diagonal scatter attention", two depthwise 3×3 convs with GELU and BatchNorm between them:
/// (B, C, H, W) <c>conv1</c> → <c>act</c> → <c>bn</c> → <c>conv2</c>. The reference uses SyncBatchNorm; here a BatchNorm2d
/// (synchronised across data-parallel workers by <see cref="SegformerLayout.BatchNorm"/> like every other one).
/// </summary>
public sealed class XcitLocalPatchInteraction : SegformerTokenMixerBase
{
    public readonly Conv2d conv1;
    public readonly GELU act;
    public readonly BatchNorm2d bn;
    public readonly Conv2d conv2;

    public XcitLocalPatchInteraction(int in_features, int kernel_size = 3, double batch_norm_eps = 1e-5) : base(nameof(XcitLocalPatchInteraction))
    {
        var padding = kernel_size / 2;
        conv1 = nn.Conv2d(in_features, in_features, kernel_size, padding: padding, groups: in_features);
        act = nn.GELU();
        bn = nn.BatchNorm2d(in_features, batch_norm_eps);
        conv2 = nn.Conv2d(in_features, in_features, kernel_size, padding: padding, groups: in_features);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden_states, long height, long width)
    {
        using var scope = NewDisposeScope();
        var x = SegformerLayout.ToNCHW(hidden_states, height, width).contiguous();
        x = conv2.call(SegformerLayout.BatchNorm(bn, act.call(conv1.call(x))));
        return SegformerLayout.ToSequence(x).MoveToOuterDisposeScope();
    }
}
