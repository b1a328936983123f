using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// BoostFormer's weighted-sum decoder (switch f): the upsampled stage maps are multiplied by learned scalars
/// (<c>weights</c> [stages, 1], initialised to 1) and summed — no concatenation, no fuse conv. At inference
/// (<see cref="SegmentationDecodeHeadBase.fused_inference"/>) each weight is folded into its stage's projection
/// (W′ᵢ = wᵢ·W_c,ᵢ) and applied before upsampling: the same map, faster.
/// </summary>
public sealed class BoostformerWeightedSumDecodeHead : SegformerDecodeHeadBase
{
    public readonly Parameter weights;

    public BoostformerWeightedSumDecodeHead(SegformerConfig config) : base(nameof(BoostformerWeightedSumDecodeHead), config)
    {
        using (var w = ones(new long[] { config.num_encoder_blocks, 1 })) weights = new Parameter(w);
        RegisterComponents();   // weights first, then the shared fields: the reference's order
    }

    protected override Tensor Fuse(IReadOnlyList<Tensor> encoder_hidden_states)
    {
        var ups = ProjectAndUpsample(encoder_hidden_states);
        var fused = ups[0] * weights[0];
        for (int i = 1; i < ups.Count; i++) fused = fused.add(ups[i] * weights[i], Scalars.One);
        return fused;
    }

    /// <summary>wᵢ·upsample(linear_c.i(xᵢ)) as upsample(conv1x1(xᵢ; wᵢ·W_c,ᵢ, wᵢ·b_c,ᵢ)).</summary>
    protected override (Tensor w, Tensor b) FoldedStage(int i, Linear proj) => (proj.weight! * weights[i], proj.bias! * weights[i]);
}
