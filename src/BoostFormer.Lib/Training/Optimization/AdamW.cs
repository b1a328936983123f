using BoostFormer.Torch;
using static BoostFormer.Torch.torch;

namespace BoostFormer.Training.Optimization;

/// <summary>
/// AdamW (Loshchilov &amp; Hutter), with exactly the arithmetic of PyTorch 1.13's single-tensor <c>torch.optim.AdamW</c>:
/// <c>p ← p·(1 − lr·wd)</c>; <c>m ← β₁m + (1−β₁)g</c>; <c>v ← β₂v + (1−β₂)g²</c>;
/// <c>p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)</c>. Parameters without a gradient are skipped.
/// State keys: <c>&lt;param&gt;.exp_avg</c>, <c>&lt;param&gt;.exp_avg_sq</c>, <c>&lt;param&gt;.step</c>.
/// </summary>
public sealed class AdamW : ITrainingOptimizer
{
    private readonly Dictionary<string, (Tensor m, Tensor v)> _state = new();
    private readonly Dictionary<string, long> _steps = new();

    /// <summary>Creates the optimizer over the given groups.</summary>
    public AdamW(IReadOnlyList<ParamGroup> groups, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        if (groups.Count == 0) throw new ArgumentException("AdamW needs at least one parameter group", nameof(groups));
        var names = new HashSet<string>();
        foreach (var g in groups)
            foreach (var (n, _) in g.Parameters)
                if (!names.Add(n)) throw new ArgumentException($"parameter '{n}' appears in more than one group", nameof(groups));
        Groups = groups; Beta1 = beta1; Beta2 = beta2; Eps = eps;
    }

    /// <inheritdoc />
    public IReadOnlyList<ParamGroup> Groups { get; }
    /// <summary>β₁.</summary>
    public double Beta1 { get; }
    /// <summary>β₂.</summary>
    public double Beta2 { get; }
    /// <summary>ε.</summary>
    public double Eps { get; }

    /// <inheritdoc />
    public void Step()
    {
        using var ng = no_grad();
        foreach (var g in Groups)
        {
            foreach (var (name, p) in g.Parameters)
            {
                using var grad = p.grad;
                if (grad is null) continue;
                using var scope = NewDisposeScope();
                if (!_state.TryGetValue(name, out var st))
                {
                    st = (zeros_like(p).DetachFromDisposeScope(), zeros_like(p).DetachFromDisposeScope());
                    _state[name] = st;
                    _steps[name] = 0;
                }
                var step = ++_steps[name];
                p.mul_(1 - g.Lr * g.WeightDecay);
                st.m.lerp_(grad, 1 - Beta1);
                st.v.mul_(Beta2).addcmul_(grad, grad, 1 - Beta2);
                var bc1 = 1 - Math.Pow(Beta1, step);
                var bc2 = 1 - Math.Pow(Beta2, step);
                var denom = st.v.sqrt().div_(Math.Sqrt(bc2)).add_(Eps);
                p.addcdiv_(st.m, denom, -(g.Lr / bc1));
            }
        }
    }

    /// <inheritdoc />
    public void ZeroGrad()
    {
        foreach (var g in Groups) foreach (var (_, p) in g.Parameters) p.grad = null;
    }

    /// <inheritdoc />
    public Dictionary<string, Tensor> StateDict()
    {
        var d = new Dictionary<string, Tensor>();
        foreach (var (n, (m, v)) in _state)
        {
            d[n + ".exp_avg"] = m.clone().DetachFromDisposeScope();
            d[n + ".exp_avg_sq"] = v.clone().DetachFromDisposeScope();
            d[n + ".step"] = tensor(_steps[n]).DetachFromDisposeScope();
        }
        return d;
    }

    /// <inheritdoc />
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        var byName = Groups.SelectMany(g => g.Parameters).ToDictionary(p => p.name, p => p.parameter);
        foreach (var k in state.Keys)
        {
            var dot = k.LastIndexOf('.');
            var pn = dot < 0 ? k : k[..dot];
            if (!byName.ContainsKey(pn)) throw new ArgumentException($"optimizer state has key '{k}' for parameter '{pn}', which this optimizer does not hold", nameof(state));
        }
        ClearState();
        foreach (var (n, p) in byName)
        {
            if (!state.TryGetValue(n + ".exp_avg", out var m)) continue;
            if (!state.TryGetValue(n + ".exp_avg_sq", out var v) || !state.TryGetValue(n + ".step", out var s))
                throw new ArgumentException($"optimizer state for '{n}' is incomplete (needs exp_avg, exp_avg_sq and step)", nameof(state));
            if (!m.shape.SequenceEqual(p.shape) || !v.shape.SequenceEqual(p.shape))
                throw new ArgumentException($"optimizer state for '{n}' has shape [{string.Join(", ", m.shape)}], parameter is [{string.Join(", ", p.shape)}]", nameof(state));
            _state[n] = (m.to(ScalarType.Float32).clone().DetachFromDisposeScope(), v.to(ScalarType.Float32).clone().DetachFromDisposeScope());
            _steps[n] = s.item<long>();
        }
    }

    private void ClearState()
    {
        foreach (var (m, v) in _state.Values) { m.Dispose(); v.Dispose(); }
        _state.Clear();
        _steps.Clear();
    }

    /// <inheritdoc />
    public void Dispose() => ClearState();
}
