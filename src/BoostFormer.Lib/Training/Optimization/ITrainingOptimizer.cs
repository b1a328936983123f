using TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Training.Optimization;

/// <summary>
/// A named parameter group of the training recipe: its parameters (with their state-dict names), base learning rate
/// (for the heads ×10) and weight decay. Schedules set each group's rate to <see cref="InitialLr"/> · factor(step), as
/// PyTorch's <c>LambdaLR</c>.
/// </summary>
public sealed class NamedParamGroup
{
    /// <summary>Creates a group.</summary>
    public NamedParamGroup(string name, IReadOnlyList<(string name, Parameter parameter)> parameters, double lr, double weightDecay)
    {
        Name = name; Parameters = parameters; InitialLr = lr; WeightDecay = weightDecay;
    }

    /// <summary>Group label (e.g. <c>backbone.decay</c>).</summary>
    public string Name { get; }
    /// <summary>Named parameters of the group.</summary>
    public IReadOnlyList<(string name, Parameter parameter)> Parameters { get; }
    /// <summary>Base learning rate of the group.</summary>
    public double InitialLr { get; }
    /// <summary>Decoupled weight decay.</summary>
    public double WeightDecay { get; }
}

/// <summary>
/// What the trainers need from an optimizer: groups with settable learning rates, a step, and a state that round-trips
/// through a checkpoint as named tensors. <see cref="TorchOptimizer"/> adapts the engine's <c>torch.optim</c>.
/// </summary>
public interface ITrainingOptimizer : IDisposable
{
    /// <summary>The parameter groups, in the optimizer's order.</summary>
    IReadOnlyList<NamedParamGroup> Groups { get; }
    /// <summary>Current learning rate of group <paramref name="group"/>.</summary>
    double GetLr(int group);
    /// <summary>Sets the learning rate of group <paramref name="group"/>.</summary>
    void SetLr(int group, double lr);
    /// <summary>Applies one update from the parameters' current gradients.</summary>
    void Step();
    /// <summary>Clears the gradients (sets them to none).</summary>
    void ZeroGrad();
    /// <summary>The optimizer state as named tensors (new tensors, owned by the caller).</summary>
    Dictionary<string, Tensor> StateDict();
    /// <summary>Restores a state written by <see cref="StateDict"/>.</summary>
    void LoadStateDict(IReadOnlyDictionary<string, Tensor> state);
}

/// <summary>
/// <see cref="ITrainingOptimizer"/> over TorchSharp's <c>torch.optim.AdamW</c> or <c>torch.optim.SGD</c> (PyTorch's
/// single-tensor arithmetic), built from <see cref="NamedParamGroup"/>s. State keys are <c>state.&lt;i&gt;.&lt;name&gt;</c>
/// with i the parameter's index over all groups, as in PyTorch's optimizer state dict.
/// </summary>
public sealed class TorchOptimizer : ITrainingOptimizer
{
    private readonly OptimizerHelper _opt;
    private readonly List<optim.ILearningRateController> _groups;

    private TorchOptimizer(IReadOnlyList<NamedParamGroup> groups, OptimizerHelper opt)
    {
        Groups = groups;
        _opt = opt;
        _groups = opt.ParamGroups.ToList();
    }

    /// <summary>AdamW (β = (0.9, 0.999), ε = 1e-8) over the groups.</summary>
    public static TorchOptimizer AdamW(IReadOnlyList<NamedParamGroup> groups, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        if (groups.Count == 0) throw new ArgumentException("the optimizer needs at least one parameter group", nameof(groups));
        var tg = groups.Select(g => new TorchSharp.Modules.AdamW.ParamGroup(g.Parameters.Select(p => p.parameter), lr: g.InitialLr, beta1: beta1, beta2: beta2, eps: eps, weight_decay: g.WeightDecay));
        return new TorchOptimizer(groups, optim.AdamW(tg.ToList(), groups[0].InitialLr, beta1, beta2, eps));
    }

    /// <summary>SGD with momentum over the groups (weight decay as an L2 term, as PyTorch's SGD).</summary>
    public static TorchOptimizer SGD(IReadOnlyList<NamedParamGroup> groups, double momentum = 0.9)
    {
        if (groups.Count == 0) throw new ArgumentException("the optimizer needs at least one parameter group", nameof(groups));
        var tg = groups.Select(g => new TorchSharp.Modules.SGD.ParamGroup(g.Parameters.Select(p => p.parameter), lr: g.InitialLr, momentum: momentum, weight_decay: g.WeightDecay));
        return new TorchOptimizer(groups, optim.SGD(tg.ToList(), groups[0].InitialLr, momentum));
    }

    /// <inheritdoc />
    public IReadOnlyList<NamedParamGroup> Groups { get; }
    /// <summary>The engine optimizer.</summary>
    public OptimizerHelper Inner => _opt;
    /// <inheritdoc />
    public double GetLr(int group) => _groups[group].LearningRate;
    /// <inheritdoc />
    public void SetLr(int group, double lr) => _groups[group].LearningRate = lr;
    /// <inheritdoc />
    public void Step() => _opt.step();
    /// <inheritdoc />
    public void ZeroGrad() => _opt.zero_grad();

    /// <inheritdoc />
    public Dictionary<string, Tensor> StateDict()
    {
        var d = new Dictionary<string, Tensor>();
        var states = _opt.state_dict().State;
        for (int i = 0; i < states.Count; i++)
        {
            switch (states[i])
            {
                case TorchSharp.Modules.AdamW.State a:
                    d[$"state.{i}.step"] = tensor(a.step).DetachFromDisposeScope();
                    d[$"state.{i}.exp_avg"] = a.exp_avg.detach().clone().DetachFromDisposeScope();
                    d[$"state.{i}.exp_avg_sq"] = a.exp_avg_sq.detach().clone().DetachFromDisposeScope();
                    break;
                case TorchSharp.Modules.SGD.State s when s.momentum_buffer is not null:
                    d[$"state.{i}.momentum_buffer"] = s.momentum_buffer.detach().clone().DetachFromDisposeScope();
                    break;
            }
        }
        return d;
    }

    /// <inheritdoc />
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        var states = _opt.state_dict().State;
        var known = new HashSet<string>();
        using (no_grad())
        {
            for (int i = 0; i < states.Count; i++)
            {
                Tensor Get(string name)
                {
                    var key = $"state.{i}.{name}";
                    if (!state.TryGetValue(key, out var t)) throw new InvalidDataException($"the optimizer state has no '{key}'");
                    known.Add(key);
                    return t;
                }
                switch (states[i])
                {
                    case TorchSharp.Modules.AdamW.State a:
                        a.step = Get("step").item<long>();
                        CopyInto(a.exp_avg, Get("exp_avg"), $"state.{i}.exp_avg");
                        CopyInto(a.exp_avg_sq, Get("exp_avg_sq"), $"state.{i}.exp_avg_sq");
                        break;
                    case TorchSharp.Modules.SGD.State s:
                        if (state.TryGetValue($"state.{i}.momentum_buffer", out var m))
                        {
                            known.Add($"state.{i}.momentum_buffer");
                            s.momentum_buffer?.Dispose();
                            s.momentum_buffer = m.detach().clone().DetachFromDisposeScope();
                        }
                        break;
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
    public void Dispose() => _opt.Dispose();
}
