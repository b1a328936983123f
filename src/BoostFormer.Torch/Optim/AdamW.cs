namespace BoostFormer.Torch.Modules;

using static torch;
using static torch.optim;

/// <summary>
/// Implements the AdamW algorithm (Loshchilov &amp; Hutter, "Decoupled Weight Decay Regularization"), with PyTorch 1.13's
/// update exactly (its single-tensor implementation), per parameter with gradient <c>g</c>:
/// <code>
/// step += 1
/// p *= 1 - lr * weight_decay                       (decoupled weight decay)
/// m = beta1 * m + (1 - beta1) * g                  (exp_avg)
/// v = beta2 * v + (1 - beta2) * g * g              (exp_avg_sq)
/// v_max = max(v_max, v)                            (max_exp_avg_sq, only with amsgrad; used instead of v below)
/// denom = sqrt(v) / sqrt(1 - beta2^step) + eps
/// p -= lr / (1 - beta1^step) * m / denom
/// </code>
/// With <c>maximize</c> the gradient's sign is flipped. Parameters without a gradient are skipped.
/// </summary>
public sealed class AdamW : Optimizer
{
    private static readonly string[] Names = { "exp_avg", "exp_avg_sq", "max_exp_avg_sq" };

    internal static Dictionary<string, double> Defaults(double lr, double beta1, double beta2, double eps, double weight_decay, bool amsgrad, bool maximize) => new()
    {
        ["lr"] = lr, ["beta1"] = beta1, ["beta2"] = beta2, ["eps"] = eps, ["weight_decay"] = weight_decay,
        ["amsgrad"] = amsgrad ? 1 : 0, ["maximize"] = maximize ? 1 : 0,
    };

    /// <summary>AdamW over <paramref name="groups"/>; the other arguments are the defaults for options a group leaves unset.</summary>
    public AdamW(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weight_decay = 1e-2, bool amsgrad = false, bool maximize = false)
        : base(groups, Defaults(lr, beta1, beta2, eps, weight_decay, amsgrad, maximize)) { }

    protected override IReadOnlyCollection<string> StateTensorNames => Names;
    protected override bool TracksStep => true;

    protected override void ValidateGroup(ParamGroup g)
    {
        string where = g.name is null ? "" : $" (group '{g.name}')";
        if (!(g.lr >= 0)) throw new ArgumentException($"Invalid learning rate: {g.lr}{where}");
        if (!(g["eps"] >= 0)) throw new ArgumentException($"Invalid epsilon value: {g["eps"]}{where}");
        if (!(g["beta1"] >= 0 && g["beta1"] < 1)) throw new ArgumentException($"Invalid beta parameter at index 0: {g["beta1"]}{where}");
        if (!(g["beta2"] >= 0 && g["beta2"] < 1)) throw new ArgumentException($"Invalid beta parameter at index 1: {g["beta2"]}{where}");
        if (!(g.weight_decay >= 0)) throw new ArgumentException($"Invalid weight_decay value: {g.weight_decay}{where}");
    }

    protected override void UpdateGroup(ParamGroup g)
    {
        double lr = g.lr, wd = g.weight_decay, beta1 = g["beta1"], beta2 = g["beta2"], eps = g["eps"];
        bool amsgrad = g.Flag("amsgrad"), maximize = g.Flag("maximize");
        foreach (var p in g.Parameters)
        {
            using var rawGrad = p.grad;
            if (rawGrad is null) continue;
            using var negGrad = maximize ? rawGrad.neg() : null;
            var grad = negGrad ?? rawGrad;

            var s = StateOf(p);
            if (s.Buffers.Count == 0)
            {
                s.Set("exp_avg", zeros_like(p).DetachFromDisposeScope());
                s.Set("exp_avg_sq", zeros_like(p).DetachFromDisposeScope());
                if (amsgrad) s.Set("max_exp_avg_sq", zeros_like(p).DetachFromDisposeScope());
            }
            var exp_avg = s["exp_avg"]!;
            var exp_avg_sq = s["exp_avg_sq"]!;

            s.step += 1;
            // Multiplying by exactly 1 changes nothing, so skipping it when wd == 0 keeps PyTorch's numbers.
            if (wd != 0) p.mul_(1 - lr * wd);
            exp_avg.mul_(beta1).add_(grad, 1 - beta1);
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);

            double step = s.step;
            double bias_correction1 = 1 - Math.Pow(beta1, step);
            double bias_correction2 = 1 - Math.Pow(beta2, step);
            double step_size = lr / bias_correction1;
            double bias_correction2_sqrt = Math.Sqrt(bias_correction2);

            Tensor second = exp_avg_sq;
            if (amsgrad)
            {
                var max = s["max_exp_avg_sq"];
                if (max is null) { max = zeros_like(p).DetachFromDisposeScope(); s.Set("max_exp_avg_sq", max); }
                Op.Get("aten::maximum.out").Call().T(max).T(exp_avg_sq).T(max).Invoke();
                second = max;
            }
            using var denom = second.sqrt();
            denom.div_(bias_correction2_sqrt).add_(eps);
            p.addcdiv_(exp_avg, denom, -step_size);
        }
    }
}
