using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>The decoder's per-stage linear embedding: an NCHW map flattened to tokens and projected (<c>proj</c>) to the decoder width.</summary>
public sealed class SegformerMLP : nn.Module<Tensor, Tensor>
{
    public readonly Linear proj;

    public SegformerMLP(int input_dim, int decoder_hidden_size) : base(nameof(SegformerMLP))
    {
        proj = nn.Linear(input_dim, decoder_hidden_size);
        RegisterComponents();
    }

    /// <summary>[B, C, H, W] → [B, H·W, decoder_hidden_size].</summary>
    public override Tensor forward(Tensor input)
    {
        using var seq = SegformerLayout.ToSequence(input);
        return proj.call(seq);
    }
}
