using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// Stochastic depth per sample (drop path): in training, each sample's residual branch is zeroed with probability
/// <c>drop_prob</c> and the kept ones are scaled by 1/(1−drop_prob); identity in eval or when drop_prob is 0.
/// </summary>
public sealed class SegformerDropPath : nn.Module<Tensor, Tensor>
{
    public double drop_prob { get; }

    public SegformerDropPath(double drop_prob) : base(nameof(SegformerDropPath))
    {
        if (drop_prob is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(drop_prob), drop_prob, "drop path probability must be in [0, 1)");
        this.drop_prob = drop_prob;
    }

    public override Tensor forward(Tensor input)
    {
        if (drop_prob == 0 || !training) return input.alias();
        using var scope = NewDisposeScope();
        var keep = 1 - drop_prob;
        var shape = new long[input.dim()];
        Array.Fill(shape, 1L);
        shape[0] = input.size(0);
        var mask = rand(shape, input.dtype);
        var keepScalar = Scalars.Of(keep);   // one value per layer: cached
        mask.add_(keepScalar, Scalars.One);
        var binary = mask.floor();
        return (input.div(keepScalar) * binary).MoveToOuterDisposeScope();
    }
}
