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
    /// <summary>AdamW β₁ of this group, when it differs from the optimizer's (PyTorch's per-group <c>betas</c>).</summary>
    public double? Beta1 { get; init; }
    /// <summary>AdamW β₂ of this group, when it differs from the optimizer's.</summary>
    public double? Beta2 { get; init; }
    /// <summary>AdamW ε of this group, when it differs from the optimizer's.</summary>
    public double? Eps { get; init; }
}

/// <summary>
/// What the trainers need from an optimizer: groups with settable learning rates, a step, and a state that round-trips
/// through a checkpoint as named tensors. <see cref="TrainingOptimizer"/> implements AdamW and SGD.
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
