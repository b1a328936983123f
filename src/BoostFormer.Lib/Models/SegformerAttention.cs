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

    public override SegformerEfficientSelfAttention? SelfAttention => self;

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

    public override SegformerEfficientSelfAttention? SelfAttention => self;

    public override (Tensor attention_output, Tensor? attention_probs) forward(Tensor hidden_states, long height, long width, bool output_attentions) =>
        self.call(hidden_states, height, width, output_attentions);
}

/// <summary>
/// The attention block of a layer whose token mixer is not efficient self-attention (<see cref="SegformerTokenMixerBase"/>:
/// DEST simplified attention, MSCA, …): the mixer (<c>self</c>), followed by SegFormer's output projection
/// (<c>output</c>) when <see cref="SegformerConfig.attention_output"/> is on.
/// </summary>
public sealed class SegformerMixerAttention : SegformerAttentionBase
{
    public readonly SegformerTokenMixerBase self;
    /// <summary>The output projection, or null.</summary>
    public readonly SegformerSelfOutput? output;

    public SegformerMixerAttention(SegformerTokenMixerBase self, SegformerSelfOutput? output) : base(nameof(SegformerMixerAttention))
    {
        this.self = self;
        this.output = output;
        register_module(nameof(self), self);
        if (output is not null) register_module(nameof(output), output);
    }

    /// <summary>Registered by hand: the optional output projection must not be registered when absent.</summary>
    protected override void RegisterComponents() { }

    public override (Tensor attention_output, Tensor? attention_probs) forward(Tensor hidden_states, long height, long width, bool output_attentions)
    {
        var mixed = self.call(hidden_states, height, width);
        if (output is null) return (mixed, null);
        using (mixed) return (output.call(mixed), null);
    }
}
