using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// BoostFormer's pooled key/value reduction (switch c, stages 3–4 of the reference): the token map is adaptively
/// average-pooled to P×P, then <c>norm</c> (LayerNorm) and GELU — no weights beyond the norm, and P² keys whatever the
/// resolution. Replaces <see cref="SegformerSequenceReduction"/> (and, where R = 1, <see cref="SegformerNoReduction"/>).
/// </summary>
public sealed class BoostformerKeyValuePooling : SegformerKeyValueReducerBase
{
    public readonly LayerNorm norm;
    /// <summary>Side P of the pooled key/value grid.</summary>
    public int pool_size { get; }

    public BoostformerKeyValuePooling(int hidden_size, int pool_size, double layer_norm_eps = 1e-5) : base(nameof(BoostformerKeyValuePooling))
    {
        if (pool_size <= 0) throw new ArgumentOutOfRangeException(nameof(pool_size), pool_size, "the pooled key/value grid needs a positive side");
        this.pool_size = pool_size;
        norm = nn.LayerNorm(hidden_size, layer_norm_eps);
        RegisterComponents();
    }

    public override (long height, long width) OutputGrid(long height, long width) => (pool_size, pool_size);

    public override Tensor forward(Tensor hidden_states, long height, long width)
    {
        using var scope = NewDisposeScope();
        var map = SegformerLayout.ToNCHW(hidden_states, height, width);
        var pooled = nn.functional.adaptive_avg_pool2d(map, pool_size);
        return nn.functional.gelu(norm.call(SegformerLayout.ToSequence(pooled))).MoveToOuterDisposeScope();
    }
}
