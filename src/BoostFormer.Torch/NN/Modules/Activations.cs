namespace BoostFormer.Torch.Modules;

using static torch;
using static torch.nn;

/// <summary>Gaussian error linear unit, x·Φ(x) (exact, or the tanh approximation).</summary>
public sealed class GELU : Module<Tensor, Tensor>
{
    private readonly string _approximate;
    public GELU(string approximate = "none") : base(nameof(GELU)) { _approximate = approximate; }
    public override Tensor forward(Tensor input) => functional.gelu(input, _approximate);
}

/// <summary>Rectified linear unit, max(0, x).</summary>
public sealed class ReLU : Module<Tensor, Tensor>
{
    private readonly bool _inplace;
    public ReLU(bool inplace = false) : base(nameof(ReLU)) { _inplace = inplace; }
    public override Tensor forward(Tensor input) => _inplace ? input.relu_().alias() : functional.relu(input);
}

/// <summary>Returns its input (a new handle to the same tensor).</summary>
public sealed class Identity : Module<Tensor, Tensor>
{
    public Identity() : base(nameof(Identity)) { }
    public override Tensor forward(Tensor input) => input.alias();
}

/// <summary>During training zeroes elements with probability p and scales the rest by 1/(1-p); identity in eval.</summary>
public sealed class Dropout : Module<Tensor, Tensor>
{
    public double p { get; }
    public Dropout(double p = 0.5) : base(nameof(Dropout))
    {
        if (p < 0 || p > 1) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability has to be between 0 and 1");
        this.p = p;
    }
    public override Tensor forward(Tensor input) => training && p > 0 ? functional.dropout(input, p, true) : input.alias();
}
