using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// SegFormer's sequence reduction (§3.1) for ratio R &gt; 1: the token map is reduced by a conv with kernel = stride = R
/// (<c>sr</c>) and a <c>layer_norm</c>, so attention costs O(N²/R²) instead of O(N²).
/// </summary>
public sealed class SegformerSequenceReduction : SegformerKeyValueReducerBase
{
    public readonly Conv2d sr;
    public readonly LayerNorm layer_norm;
    public int sr_ratio { get; }

    public SegformerSequenceReduction(int hidden_size, int sr_ratio, double layer_norm_eps = 1e-5) : base(nameof(SegformerSequenceReduction))
    {
        if (sr_ratio <= 1) throw new ArgumentOutOfRangeException(nameof(sr_ratio), sr_ratio, "a sequence reduction needs R > 1 (R = 1 is SegformerNoReduction)");
        this.sr_ratio = sr_ratio;
        sr = nn.Conv2d(hidden_size, hidden_size, sr_ratio, sr_ratio);
        layer_norm = nn.LayerNorm(hidden_size, layer_norm_eps);
        RegisterComponents();
    }

    public override (long height, long width) OutputGrid(long height, long width) =>
        ((height - sr_ratio) / sr_ratio + 1, (width - sr_ratio) / sr_ratio + 1);

    public override Tensor forward(Tensor hidden_states, long height, long width)
    {
        using var scope = NewDisposeScope();
        var map = SegformerLayout.ToNCHW(hidden_states, height, width);
        return layer_norm.call(SegformerLayout.ToSequence(sr.call(map))).MoveToOuterDisposeScope();
    }
}

/// <summary>No reduction (SegFormer's last stage, R = 1): keys and values come from the full sequence.</summary>
public sealed class SegformerNoReduction : SegformerKeyValueReducerBase
{
    public SegformerNoReduction() : base(nameof(SegformerNoReduction)) { }

    public override (long height, long width) OutputGrid(long height, long width) => (height, width);

    public override Tensor forward(Tensor hidden_states, long height, long width) => hidden_states.alias();
}
