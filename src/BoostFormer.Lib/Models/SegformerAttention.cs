using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>Efficient self-attention (<c>self</c>) followed by the output projection (<c>output</c>), as in SegFormer.</summary>
public sealed class SegformerAttention : SegformerAttentionBase
{
    public readonly SegformerEfficientSelfAttention self;
    public readonly SegformerSelfOutput output;

    public SegformerAttention(SegformerEfficientSelfAttention self, SegformerSelfOutput output) : base(nameof(SegformerAttention))
    {
        this.self = self;
        this.output = output;
        RegisterComponents();
    }

    public override SegformerEfficientSelfAttention SelfAttention => self;

    public override (Tensor attention_output, Tensor? attention_probs) forward(Tensor hidden_states, long height, long width, bool output_attentions)
    {
        var (ctx, probs) = self.call(hidden_states, height, width, output_attentions);
        using (ctx) return (output.call(ctx), probs);
    }
}

/// <summary>
/// BoostFormer's attention block (switch d): efficient self-attention (<c>self</c>) without an output projection, the
/// context returned as is. A holder so the keys read <c>attention.self.…</c> as in the reference.
/// </summary>
public sealed class BoostformerAttention : SegformerAttentionBase
{
    public readonly SegformerEfficientSelfAttention self;

    public BoostformerAttention(SegformerEfficientSelfAttention self) : base(nameof(BoostformerAttention))
    {
        this.self = self;
        RegisterComponents();
    }

    public override SegformerEfficientSelfAttention SelfAttention => self;

    public override (Tensor attention_output, Tensor? attention_probs) forward(Tensor hidden_states, long height, long width, bool output_attentions) =>
        self.call(hidden_states, height, width, output_attentions);
}
