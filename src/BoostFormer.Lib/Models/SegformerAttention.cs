using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// Efficient self-attention (<c>self</c>) followed by the output projection (<c>output</c>); BoostFormer's switch d removes
/// the projection (<c>output</c> is then absent and the context is returned as is).
/// </summary>
public sealed class SegformerAttention : nn.Module<Tensor, long, long, bool, (Tensor attention_output, Tensor? attention_probs)>
{
    public readonly SegformerEfficientSelfAttention self;
    public readonly SegformerSelfOutput? output;

    public SegformerAttention(SegformerEfficientSelfAttention self, SegformerSelfOutput? output) : base(nameof(SegformerAttention))
    {
        this.self = self;
        this.output = output;
        RegisterComponents();
    }

    public override (Tensor attention_output, Tensor? attention_probs) forward(Tensor hidden_states, long height, long width, bool output_attentions)
    {
        var (ctx, probs) = self.call(hidden_states, height, width, output_attentions);
        if (output is null) return (ctx, probs);
        using (ctx) return (output.call(ctx), probs);
    }
}
