using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// BoostFormer's pooling patch embedding (switch a): average pooling with the patch kernel, stride and padding K//2
/// (count_include_pad=false), a 1x1 <c>conv</c> to the stage width, flattened to tokens, then <c>layer_norm</c>.
/// Replaces the K×K conv of <see cref="SegformerOverlapPatchEmbeddings"/>.
/// </summary>
public sealed class BoostformerPoolingPatchEmbeddings : SegformerPatchEmbeddingsBase
{
    public readonly Conv2d conv;
    public readonly LayerNorm layer_norm;
    public int patch_size { get; }
    public int stride { get; }

    public BoostformerPoolingPatchEmbeddings(int patch_size, int stride, int num_channels, int hidden_size, double layer_norm_eps = 1e-5)
        : base(nameof(BoostformerPoolingPatchEmbeddings))
    {
        this.patch_size = patch_size;
        this.stride = stride;
        conv = nn.Conv2d(num_channels, hidden_size, 1);
        layer_norm = nn.LayerNorm(hidden_size, layer_norm_eps);
        RegisterComponents();
    }

    public override (Tensor embeddings, long height, long width) forward(Tensor pixel_values)
    {
        using var scope = NewDisposeScope();
        var p = nn.functional.avg_pool2d(pixel_values, patch_size, stride, patch_size / 2, ceil_mode: false, count_include_pad: false);
        var e = conv.call(p);
        var s = e.shape;
        var seq = SegformerLayout.ToSequence(e);
        var y = layer_norm.call(seq);
        return (y.MoveToOuterDisposeScope(), s[2], s[3]);
    }
}
