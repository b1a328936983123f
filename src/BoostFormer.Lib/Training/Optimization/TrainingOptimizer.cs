using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Training.Optimization;

/// <summary>
/// AdamW and SGD with momentum over <see cref="NamedParamGroup"/>s, with PyTorch's single-tensor arithmetic
/// (<c>torch.optim.AdamW</c> / <c>torch.optim.SGD</c>, <c>foreach=False</c>, as in PyTorch 1.13):
/// <list type="bullet">
/// <item>AdamW: θ ← θ·(1 − lr·λ); m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²;
/// θ ← θ − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε).</item>
/// <item>SGD: d = g + λθ; b ← μb + d (b = d at the first step); θ ← θ − lr·b (d itself when μ = 0).</item>
/// </list>
/// Written here rather than taken from TorchSharp's <c>torch.optim</c> because TorchSharp 0.107's optimisers pass
/// implicit <see cref="Scalar"/> temporaries to native code without keeping them alive, which fails when another thread
/// allocates during a step (see <see cref="Scalars"/>); every Scalar here lives until the operation that reads it has
/// returned. Parameters without a gradient are skipped (their state does not advance). State keys are
/// <c>state.&lt;i&gt;.&lt;name&gt;</c> with i the parameter's index over all groups, as in PyTorch's optimizer state dict:
/// <c>step</c>, <c>exp_avg</c>, <c>exp_avg_sq</c> (AdamW) or <c>momentum_buffer</c> (SGD, once it exists).
/// </summary>
public sealed class TrainingOptimizer : ITrainingOptimizer
{
    private enum Kind { AdamW, Sgd }

    private sealed class ParamState
    {
        public long Step;
        public Tensor? ExpAvg, ExpAvgSq, MomentumBuffer;
    }

    private readonly Kind _kind;
    private readonly double _beta1, _beta2, _eps, _momentum;
    private readonly double[] _lr;
    private readonly List<(int group, Parameter p, ParamState s)> _params = new();

    private TrainingOptimizer(Kind kind, IReadOnlyList<NamedParamGroup> groups, double beta1, double beta2, double eps, double momentum)
    {
        if (groups.Count == 0) throw new ArgumentException("the optimizer needs at least one parameter group", nameof(groups));
        _kind = kind; _beta1 = beta1; _beta2 = beta2; _eps = eps; _momentum = momentum;
        Groups = groups;
        _lr = groups.Select(g => g.InitialLr).ToArray();
        for (int gi = 0; gi < groups.Count; gi++)
            foreach (var (_, p) in groups[gi].Parameters)
            {
                var s = new ParamState();
                if (kind == Kind.AdamW)
                {
                    s.ExpAvg = zeros_like(p).DetachFromDisposeScope();
                    s.ExpAvgSq = zeros_like(p).DetachFromDisposeScope();
                }
                _params.Add((gi, p, s));
            }
    }

    /// <summary>AdamW (β = (0.9, 0.999), ε = 1e-8 unless a group says otherwise) over the groups.</summary>
    public static TrainingOptimizer AdamW(IReadOnlyList<NamedParamGroup> groups, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
        => new(Kind.AdamW, groups, beta1, beta2, eps, 0);

    /// <summary>SGD with momentum over the groups (weight decay as an L2 term, as PyTorch's SGD).</summary>
    public static TrainingOptimizer SGD(IReadOnlyList<NamedParamGroup> groups, double momentum = 0.9)
        => new(Kind.Sgd, groups, 0, 0, 0, momentum);

    /// <inheritdoc />
    public IReadOnlyList<NamedParamGroup> Groups { get; }
    /// <inheritdoc />
    public double GetLr(int group) => _lr[group];
    /// <inheritdoc />
    public void SetLr(int group, double lr) => _lr[group] = lr;

    /// <inheritdoc />
    public void ZeroGrad()
    {
        foreach (var (_, p, _) in _params)
        {
            var g = p.grad;
            if (g is null) continue;
            p.grad = null;
            g.Dispose();
        }
    }

    /// <inheritdoc />
    public void Step()
    {
        using var ng = no_grad();
        foreach (var (gi, p, s) in _params)
        {
            using var scope = NewDisposeScope();
            var grad = p.grad;
            if (grad is null) continue;
            var group = Groups[gi];
            if (_kind == Kind.AdamW) AdamWStep(p, grad, s, _lr[gi], group.WeightDecay, group.Beta1 ?? _beta1, group.Beta2 ?? _beta2, group.Eps ?? _eps);
            else SgdStep(p, grad, s, _lr[gi], group.WeightDecay);
        }
    }

    private static void AdamWStep(Parameter p, Tensor grad, ParamState s, double lr, double weightDecay, double beta1, double beta2, double eps)
    {
        s.Step++;
        if (weightDecay != 0)
        {
            using var decay = Scalars.Temporary(1 - lr * weightDecay);
            p.mul_(decay);
        }
        using var b1 = Scalars.Temporary(beta1);
        using var oneMinusB1 = Scalars.Temporary(1 - beta1);
        using var b2 = Scalars.Temporary(beta2);
        using var oneMinusB2 = Scalars.Temporary(1 - beta2);
        s.ExpAvg!.mul_(b1).add_(grad, oneMinusB1);
        s.ExpAvgSq!.mul_(b2).addcmul_(grad, grad, oneMinusB2);
        double biasCorrection1 = 1 - Math.Pow(beta1, s.Step);
        double biasCorrection2 = 1 - Math.Pow(beta2, s.Step);
        using var bc2Sqrt = Scalars.Temporary(Math.Sqrt(biasCorrection2));
        using var epsS = Scalars.Temporary(eps);
        using var negStepSize = Scalars.Temporary(-lr / biasCorrection1);
        using var denom = s.ExpAvgSq.sqrt().div_(bc2Sqrt).add_(epsS, Scalars.One);
        p.addcdiv_(s.ExpAvg, denom, negStepSize);
    }

    private void SgdStep(Parameter p, Tensor grad, ParamState s, double lr, double weightDecay)
    {
        s.Step++;
        var d = grad;
        if (weightDecay != 0)
        {
            using var wd = Scalars.Temporary(weightDecay);
            d = grad.add(p, wd);
        }
        if (_momentum != 0)
        {
            if (s.MomentumBuffer is null) s.MomentumBuffer = d.detach().clone().DetachFromDisposeScope();
            else
            {
                using var mu = Scalars.Temporary(_momentum);
                s.MomentumBuffer.mul_(mu).add_(d, Scalars.One);
            }
            d = s.MomentumBuffer;
        }
        using var negLr = Scalars.Temporary(-lr);
        p.add_(d, negLr);
    }

    /// <inheritdoc />
    public Dictionary<string, Tensor> StateDict()
    {
        var d = new Dictionary<string, Tensor>();
        for (int i = 0; i < _params.Count; i++)
        {
            var s = _params[i].s;
            if (_kind == Kind.AdamW)
            {
                d[$"state.{i}.step"] = tensor(s.Step).DetachFromDisposeScope();
                d[$"state.{i}.exp_avg"] = s.ExpAvg!.detach().clone().DetachFromDisposeScope();
                d[$"state.{i}.exp_avg_sq"] = s.ExpAvgSq!.detach().clone().DetachFromDisposeScope();
            }
            else if (s.MomentumBuffer is not null)
                d[$"state.{i}.momentum_buffer"] = s.MomentumBuffer.detach().clone().DetachFromDisposeScope();
        }
        return d;
    }

    /// <inheritdoc />
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        var known = new HashSet<string>();
        using (no_grad())
        {
            for (int i = 0; i < _params.Count; i++)
            {
                var (_, p, s) = _params[i];
                Tensor Get(string name)
                {
                    var key = $"state.{i}.{name}";
                    if (!state.TryGetValue(key, out var t)) throw new InvalidDataException($"the optimizer state has no '{key}'");
                    known.Add(key);
                    return t;
                }
                if (_kind == Kind.AdamW)
                {
                    s.Step = Get("step").item<long>();
                    CopyInto(s.ExpAvg!, Get("exp_avg"), $"state.{i}.exp_avg");
                    CopyInto(s.ExpAvgSq!, Get("exp_avg_sq"), $"state.{i}.exp_avg_sq");
                }
                else if (state.TryGetValue($"state.{i}.momentum_buffer", out var m))
                {
                    known.Add($"state.{i}.momentum_buffer");
                    if (!m.shape.SequenceEqual(p.shape))
                        throw new InvalidDataException($"the optimizer state 'state.{i}.momentum_buffer' has shape [{string.Join(", ", m.shape)}], the parameter [{string.Join(", ", p.shape)}]");
                    s.MomentumBuffer?.Dispose();
                    s.MomentumBuffer = m.detach().clone().DetachFromDisposeScope();
                }
            }
        }
        var extra = state.Keys.Where(k => !known.Contains(k)).ToList();
        if (extra.Count > 0)
            throw new InvalidDataException($"the optimizer state does not fit this optimizer: unexpected {string.Join(", ", extra.Take(5))}");
    }

    private static void CopyInto(Tensor dst, Tensor src, string key)
    {
        if (!dst.shape.SequenceEqual(src.shape))
            throw new InvalidDataException($"the optimizer state '{key}' has shape [{string.Join(", ", src.shape)}], the parameter [{string.Join(", ", dst.shape)}]");
        dst.copy_(src);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (_, _, s) in _params)
        {
            s.ExpAvg?.Dispose(); s.ExpAvgSq?.Dispose(); s.MomentumBuffer?.Dispose();
        }
        _params.Clear();
    }
}
