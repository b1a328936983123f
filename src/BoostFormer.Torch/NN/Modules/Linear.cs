namespace BoostFormer.Torch.Modules;

using static torch;
using static torch.nn;

/// <summary>Applies an affine transformation y = x Aᵀ + b. Weight [out_features, in_features], initialised as in PyTorch.</summary>
public sealed class Linear : Module<Tensor, Tensor>
{
    public readonly Parameter weight;
    public readonly Parameter? bias;
    public long in_features { get; }
    public long out_features { get; }

    public Linear(long in_features, long out_features, bool hasBias = true) : base(nameof(Linear))
    {
        this.in_features = in_features;
        this.out_features = out_features;
        using (var w = empty(new[] { out_features, in_features })) weight = new Parameter(w);
        init.kaiming_uniform_(weight, a: Math.Sqrt(5));
        if (hasBias)
        {
            using (var b = empty(new[] { out_features })) bias = new Parameter(b);
            var bound = in_features > 0 ? 1 / Math.Sqrt(in_features) : 0;
            init.uniform_(bias, -bound, bound);
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => functional.linear(input, weight, bias);
}
