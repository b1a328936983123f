using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// Overlapping patch embedding (SegFormer §3.1, "overlapped patch merging"): a conv with kernel K, stride S and padding K//2
/// (7/4/3 for the first stage, 3/2/1 after), flattened to tokens, then LayerNorm.
/// </summary>
public sealed class SegformerOverlapPatchEmbeddings : SegformerPatchEmbeddingsBase
{
    public readonly Conv2d proj;
    public readonly LayerNorm layer_norm;

    public SegformerOverlapPatchEmbeddings(int patch_size, int stride, int num_channels, int hidden_size, double layer_norm_eps = 1e-5)
        : base(nameof(SegformerOverlapPatchEmbeddings))
    {
        proj = nn.Conv2d(num_channels, hidden_size, patch_size, stride, patch_size / 2);
        layer_norm = nn.LayerNorm(hidden_size, layer_norm_eps);
        RegisterComponents();
    }

    public override (Tensor embeddings, long height, long width) forward(Tensor pixel_values)
    {
        using var scope = NewDisposeScope();
        var e = proj.call(pixel_values);
        var s = e.shape;
        var seq = SegformerLayout.ToSequence(e);
        var y = layer_norm.call(seq);
        return (y.MoveToOuterDisposeScope(), s[2], s[3]);
    }
}
