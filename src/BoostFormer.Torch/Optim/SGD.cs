namespace BoostFormer.Torch.Modules;

using static torch;
using static torch.optim;

/// <summary>
/// Implements stochastic gradient descent (optionally with momentum), with PyTorch 1.13's update exactly, per parameter
/// with gradient <c>g</c>:
/// <code>
/// g = g + weight_decay * p                           (L2 penalty, if weight_decay != 0)
/// b = g                       at the first step      (momentum_buffer, if momentum != 0)
/// b = momentum * b + (1 - dampening) * g   later
/// g = g + momentum * b        with nesterov, else g = b
/// p -= lr * g
/// </code>
/// Nesterov momentum follows Sutskever et al. as PyTorch does. With <c>maximize</c> the gradient's sign is flipped.
/// Parameters without a gradient are skipped.
/// </summary>
public sealed class SGD : Optimizer
{
    private static readonly string[] Names = { "momentum_buffer" };

    internal static Dictionary<string, double> Defaults(double lr, double momentum, double dampening, double weight_decay, bool nesterov, bool maximize) => new()
    {
        ["lr"] = lr, ["momentum"] = momentum, ["dampening"] = dampening, ["weight_decay"] = weight_decay,
        ["nesterov"] = nesterov ? 1 : 0, ["maximize"] = maximize ? 1 : 0,
    };

    /// <summary>SGD over <paramref name="groups"/>; the other arguments are the defaults for options a group leaves unset.</summary>
    public SGD(IEnumerable<ParamGroup> groups, double lr, double momentum = 0, double dampening = 0, double weight_decay = 0,
        bool nesterov = false, bool maximize = false)
        : base(groups, Defaults(lr, momentum, dampening, weight_decay, nesterov, maximize)) { }

    protected override IReadOnlyCollection<string> StateTensorNames => Names;

    protected override void ValidateGroup(ParamGroup g)
    {
        string where = g.name is null ? "" : $" (group '{g.name}')";
        if (!(g.lr >= 0)) throw new ArgumentException($"Invalid learning rate: {g.lr}{where}");
        if (!(g["momentum"] >= 0)) throw new ArgumentException($"Invalid momentum value: {g["momentum"]}{where}");
        if (!(g.weight_decay >= 0)) throw new ArgumentException($"Invalid weight_decay value: {g.weight_decay}{where}");
        if (g.Flag("nesterov") && (g["momentum"] <= 0 || g["dampening"] != 0))
            throw new ArgumentException($"Nesterov momentum requires a momentum and zero dampening{where}");
    }

    protected override void UpdateGroup(ParamGroup g)
    {
        double lr = g.lr, wd = g.weight_decay, momentum = g["momentum"], dampening = g["dampening"];
        bool nesterov = g.Flag("nesterov"), maximize = g.Flag("maximize");
        foreach (var p in g.Parameters)
        {
            using var rawGrad = p.grad;
            if (rawGrad is null) continue;
            using var negGrad = maximize ? rawGrad.neg() : null;
            var d_p = negGrad ?? rawGrad;
            using var decayed = wd != 0 ? d_p.add(p, wd) : null;
            d_p = decayed ?? d_p;

            Tensor? withNesterov = null;
            try
            {
                if (momentum != 0)
                {
                    var s = StateOf(p);
                    var buf = s["momentum_buffer"];
                    if (buf is null)
                    {
                        // torch.clone(d_p).detach(); under no_grad the clone already has no autograd history.
                        buf = d_p.clone().DetachFromDisposeScope();
                        s.Set("momentum_buffer", buf);
                    }
                    else buf.mul_(momentum).add_(d_p, 1 - dampening);

                    if (nesterov) d_p = withNesterov = d_p.add(buf, momentum);
                    else d_p = buf;
                }
                p.add_(d_p, -lr);
            }
            finally
            {
                withNesterov?.Dispose();
            }
        }
    }
}
