using BoostFormer.Torch;
using static BoostFormer.Torch.torch;

namespace BoostFormer.Training.Optimization;

/// <summary>
/// A named parameter group of the training recipe: its parameters (with their state-dict names), base learning rate
/// (for the heads ×10) and weight decay. Schedules set each group's rate to <see cref="InitialLr"/> · factor(step), as
/// PyTorch's <c>LambdaLR</c>.
/// </summary>
public sealed class NamedParamGroup
{
    /// <summary>Creates a group.</summary>
    public NamedParamGroup(string name, IReadOnlyList<(string name, nn.Parameter parameter)> parameters, double lr, double weightDecay)
    {
        Name = name; Parameters = parameters; InitialLr = lr; WeightDecay = weightDecay;
    }

    /// <summary>Group label (e.g. <c>backbone.decay</c>).</summary>
    public string Name { get; }
    /// <summary>Named parameters of the group.</summary>
    public IReadOnlyList<(string name, nn.Parameter parameter)> Parameters { get; }
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
/// <see cref="ITrainingOptimizer"/> over <c>torch.optim.AdamW</c> or <c>torch.optim.SGD</c> (PyTorch 1.13 arithmetic),
/// built from <see cref="NamedParamGroup"/>s. State keys are the engine's <c>state.&lt;i&gt;.&lt;name&gt;</c>.
/// </summary>
public sealed class TorchOptimizer : ITrainingOptimizer
{
    private readonly optim.Optimizer _opt;

    private TorchOptimizer(IReadOnlyList<NamedParamGroup> groups, optim.Optimizer opt) { Groups = groups; _opt = opt; }

    /// <summary>AdamW (β = (0.9, 0.999), ε = 1e-8) over the groups.</summary>
    public static TorchOptimizer AdamW(IReadOnlyList<NamedParamGroup> groups, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        if (groups.Count == 0) throw new ArgumentException("the optimizer needs at least one parameter group", nameof(groups));
        var tg = groups.Select(g => new optim.ParamGroup(g.Parameters.Select(p => (Tensor)p.parameter), lr: g.InitialLr, weight_decay: g.WeightDecay, name: g.Name));
        return new TorchOptimizer(groups, optim.AdamW(tg.ToList(), groups[0].InitialLr, beta1, beta2, eps));
    }

    /// <summary>SGD with momentum over the groups (weight decay as an L2 term, as PyTorch's SGD).</summary>
    public static TorchOptimizer SGD(IReadOnlyList<NamedParamGroup> groups, double momentum = 0.9)
    {
        if (groups.Count == 0) throw new ArgumentException("the optimizer needs at least one parameter group", nameof(groups));
        var tg = groups.Select(g => new optim.ParamGroup(g.Parameters.Select(p => (Tensor)p.parameter), lr: g.InitialLr, weight_decay: g.WeightDecay, name: g.Name));
        return new TorchOptimizer(groups, optim.SGD(tg.ToList(), groups[0].InitialLr, momentum));
    }

    /// <inheritdoc />
    public IReadOnlyList<NamedParamGroup> Groups { get; }
    /// <summary>The engine optimizer.</summary>
    public optim.Optimizer Inner => _opt;
    /// <inheritdoc />
    public double GetLr(int group) => _opt.param_groups[group].lr;
    /// <inheritdoc />
    public void SetLr(int group, double lr) => _opt.param_groups[group].lr = lr;
    /// <inheritdoc />
    public void Step() => _opt.step();
    /// <inheritdoc />
    public void ZeroGrad() => _opt.zero_grad();
    /// <inheritdoc />
    public Dictionary<string, Tensor> StateDict()
    {
        var d = _opt.StateTensors();
        foreach (var t in d.Values) t.DetachFromDisposeScope();
        return d;
    }
    /// <inheritdoc />
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state) => _opt.load_state_dict(state, _opt.HyperParameters());
    /// <inheritdoc />
    public void Dispose() => _opt.Dispose();
}
