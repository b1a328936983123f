using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>The attention output projection: a linear layer (<c>dense</c>) then dropout.</summary>
public sealed class SegformerSelfOutput : nn.Module<Tensor, Tensor>
{
    public readonly Linear dense;
    public readonly Dropout dropout;

    public SegformerSelfOutput(int hidden_size, double hidden_dropout_prob = 0) : base(nameof(SegformerSelfOutput))
    {
        dense = nn.Linear(hidden_size, hidden_size);
        dropout = nn.Dropout(hidden_dropout_prob);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var d = dense.call(input);
        return dropout.call(d);
    }
}
