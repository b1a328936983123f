using BoostFormer.Torch;
using static BoostFormer.Torch.torch;

namespace BoostFormer.Models;

/// <summary>
/// Efficient self-attention (<c>self</c>) followed by the output projection (<c>output</c>); BoostFormer's switch d removes
/// the projection (<c>output</c> is then absent and the context is returned as is).
/// </summary>
public sealed class SegformerAttention : nn.Module
{
    public readonly SegformerEfficientSelfAttention self;
    public readonly SegformerSelfOutput? output;

    public SegformerAttention(SegformerEfficientSelfAttention self, SegformerSelfOutput? output) : base(nameof(SegformerAttention))
    {
        this.self = self;
        this.output = output;
        RegisterComponents();
    }

    public (Tensor attention_output, Tensor? attention_probs) forward(Tensor hidden_states, long height, long width, bool output_attentions = false)
    {
        var (ctx, probs) = self.call(hidden_states, height, width, output_attentions);
        if (output is null) return (ctx, probs);
        using (ctx) return (output.call(ctx), probs);
    }

    public (Tensor attention_output, Tensor? attention_probs) call(Tensor hidden_states, long height, long width, bool output_attentions = false) =>
        InvokeHooked(() => forward(hidden_states, height, width, output_attentions));
}
