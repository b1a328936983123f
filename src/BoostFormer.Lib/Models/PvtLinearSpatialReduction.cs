using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// PVTv2's linear spatial reduction (LSRA, arXiv 2106.13797; <c>Attention(linear=True)</c>), as the NOTA team's
/// <c>SegformerEfficientSelfAttention</c> writes it with <c>config.linear</c>: the token map is adaptively average-pooled
/// to P×P (<c>pool</c>, P = 7), then a 1x1 conv (<c>sr</c>), LayerNorm (<c>layer_norm</c>) and GELU (<c>act</c>) — so every
/// layer attends over P² = 49 keys whatever the resolution and the sequence-reduction ratio is unused. Cost O(49·N·C).
/// </summary>
public sealed class PvtLinearSpatialReduction : SegformerKeyValueReducerBase
{
    public readonly AdaptiveAvgPool2d pool;
    public readonly Conv2d sr;
    public readonly LayerNorm layer_norm;
    public readonly GELU act;
    /// <summary>Side P of the pooled key/value grid.</summary>
    public int pool_size { get; }

    public PvtLinearSpatialReduction(int hidden_size, int pool_size = 7, double layer_norm_eps = 1e-5) : base(nameof(PvtLinearSpatialReduction))
    {
        if (pool_size <= 0) throw new ArgumentOutOfRangeException(nameof(pool_size), pool_size, "the pooled key/value grid needs a positive side");
        this.pool_size = pool_size;
        pool = nn.AdaptiveAvgPool2d(pool_size);
        sr = nn.Conv2d(hidden_size, hidden_size, 1);
        layer_norm = nn.LayerNorm(hidden_size, layer_norm_eps);
        act = nn.GELU();
        RegisterComponents();
    }

    public override (long height, long width) OutputGrid(long height, long width) => (pool_size, pool_size);

    public override Tensor forward(Tensor hidden_states, long height, long width)
    {
        using var scope = NewDisposeScope();
        var map = SegformerLayout.ToNCHW(hidden_states, height, width);
        var reduced = sr.call(pool.call(map));
        return act.call(layer_norm.call(SegformerLayout.ToSequence(reduced))).MoveToOuterDisposeScope();
    }
}
