namespace BoostFormer.Torch.Modules;

using static torch;
using static torch.nn;

/// <summary>Layer normalisation over the trailing <c>normalized_shape</c> dimensions, with an elementwise affine (weight 1, bias 0).</summary>
public sealed class LayerNorm : Module<Tensor, Tensor>
{
    public readonly Parameter? weight;
    public readonly Parameter? bias;
    public long[] normalized_shape { get; }
    public double eps { get; }

    public LayerNorm(long[] normalized_shape, double eps = 1e-5, bool elementwise_affine = true) : base(nameof(LayerNorm))
    {
        this.normalized_shape = normalized_shape;
        this.eps = eps;
        if (elementwise_affine)
        {
            using (var w = ones(normalized_shape)) weight = new Parameter(w);
            using (var b = zeros(normalized_shape)) bias = new Parameter(b);
        }
        RegisterComponents();
    }

    public LayerNorm(long normalized_shape, double eps = 1e-5, bool elementwise_affine = true) : this(new[] { normalized_shape }, eps, elementwise_affine) { }

    public override Tensor forward(Tensor input) => functional.layer_norm(input, normalized_shape, weight, bias, eps);
}
