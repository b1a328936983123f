using BoostFormer.Torch;
using static BoostFormer.Torch.torch;

namespace BoostFormer.Training.Optimization;

/// <summary>
/// One parameter group: its parameters and hyper-parameters. <see cref="InitialLr"/> is the group's base rate (for the
/// decoder ×10); schedules set <see cref="Lr"/> = <see cref="InitialLr"/> · factor(step), as PyTorch's <c>LambdaLR</c>.
/// </summary>
public sealed class ParamGroup
{
    /// <summary>Creates a group.</summary>
    public ParamGroup(string name, IReadOnlyList<(string name, nn.Parameter parameter)> parameters, double lr, double weightDecay)
    {
        Name = name; Parameters = parameters; InitialLr = lr; Lr = lr; WeightDecay = weightDecay;
    }

    /// <summary>Group label (e.g. <c>encoder.decay</c>).</summary>
    public string Name { get; }
    /// <summary>Named parameters of the group.</summary>
    public IReadOnlyList<(string name, nn.Parameter parameter)> Parameters { get; }
    /// <summary>Base learning rate of the group.</summary>
    public double InitialLr { get; }
    /// <summary>Current learning rate.</summary>
    public double Lr { get; set; }
    /// <summary>Decoupled weight decay.</summary>
    public double WeightDecay { get; }
}

/// <summary>
/// What the trainer needs from an optimizer: parameter groups with settable learning rates, a step, and a state that
/// round-trips through a checkpoint as named tensors. <see cref="AdamW"/> implements it; an adapter over the engine's
/// <c>torch.optim</c> can replace it without touching the trainer.
/// </summary>
public interface ITrainingOptimizer : IDisposable
{
    /// <summary>The parameter groups.</summary>
    IReadOnlyList<ParamGroup> Groups { get; }
    /// <summary>Applies one update from the parameters' current gradients.</summary>
    void Step();
    /// <summary>Clears the gradients (sets them to none).</summary>
    void ZeroGrad();
    /// <summary>The optimizer state as named tensors (copies), keyed by parameter name.</summary>
    Dictionary<string, Tensor> StateDict();
    /// <summary>Restores a state written by <see cref="StateDict"/>.</summary>
    void LoadStateDict(IReadOnlyDictionary<string, Tensor> state);
}
