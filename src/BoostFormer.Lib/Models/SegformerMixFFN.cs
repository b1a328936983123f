using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// Mix-FFN (SegFormer §3.1): x_out = MLP(GELU(Conv3×3(MLP(x_in)))) — <c>dense1</c>, depthwise 3x3 <c>dwconv</c> (which leaks
/// the positional information that replaces positional encodings), GELU, <c>dense2</c>, dropout.
/// </summary>
public sealed class SegformerMixFFN : SegformerMlpBase
{
    public readonly Linear dense1;
    public readonly SegformerDWConv dwconv;
    public readonly GELU intermediate_act_fn;
    public readonly Linear dense2;
    public readonly Dropout dropout;

    public SegformerMixFFN(int in_features, int hidden_features, int? out_features = null, double hidden_dropout_prob = 0) : base(nameof(SegformerMixFFN))
    {
        dense1 = nn.Linear(in_features, hidden_features);
        dwconv = new SegformerDWConv(hidden_features);
        intermediate_act_fn = nn.GELU();
        dense2 = nn.Linear(hidden_features, out_features ?? in_features);
        dropout = nn.Dropout(hidden_dropout_prob);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden_states, long height, long width)
    {
        using var scope = NewDisposeScope();
        var h = dense1.call(hidden_states);
        h = dwconv.call(h, height, width);
        h = intermediate_act_fn.call(h);
        h = dropout.call(h);
        h = dense2.call(h);
        return dropout.call(h).MoveToOuterDisposeScope();
    }
}
