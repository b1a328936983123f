using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// What the all-MLP decoders share (SegFormer §3.2): each stage output is projected to the decoder width
/// (<c>linear_c.i</c>) and upsampled bilinearly (align_corners=false) to the first stage's 1/4 resolution; the subclass
/// fuses the four maps into one; then BatchNorm, ReLU, dropout and a 1x1 <c>classifier</c>.
/// </summary>
public abstract class SegformerDecodeHeadBase : SegmentationDecodeHeadBase
{
    public readonly ModuleList<SegformerMLP> linear_c;
    public readonly BatchNorm2d batch_norm;
    public readonly ReLU activation;
    public readonly Dropout dropout;
    public readonly Conv2d classifier;
    public readonly SegformerConfig config;

    protected SegformerDecodeHeadBase(string name, SegformerConfig config) : base(name)
    {
        this.config = config;
        var n = config.num_encoder_blocks;
        linear_c = new ModuleList<SegformerMLP>(Enumerable.Range(0, n).Select(i => new SegformerMLP(config.hidden_sizes[i], config.decoder_hidden_size)).ToArray());
        batch_norm = nn.BatchNorm2d(config.decoder_hidden_size, config.batch_norm_eps);
        activation = nn.ReLU();
        dropout = nn.Dropout(config.classifier_dropout_prob);
        classifier = nn.Conv2d(config.decoder_hidden_size, config.num_labels, 1);
    }

    /// <summary>True when <see cref="SegmentationDecodeHeadBase.fused_inference"/> may be taken for this call.</summary>
    protected bool InferenceOnly => fused_inference && SegformerLayout.IsPlainInference(this);

    /// <summary>The fused decoder map [B, D, H/4, W/4] from the four stage outputs (NCHW), as training computes it.</summary>
    protected abstract Tensor Fuse(IReadOnlyList<Tensor> encoder_hidden_states);

    /// <summary>
    /// This decoder's fuse folded into stage <paramref name="i"/>'s projection <paramref name="proj"/> (<c>linear_c.i.proj</c>):
    /// the (W′ᵢ [D, Cᵢ], b′ᵢ [D]) for which <see cref="Fuse"/> equals Σᵢ upsample(W′ᵢ·xᵢ + b′ᵢ).
    /// </summary>
    protected abstract (Tensor w, Tensor b) FoldedStage(int i, Linear proj);

    /// <summary>
    /// The folded inference tail works through the decoder's D channels in blocks holding at most this many bytes of one
    /// 1/4-resolution map (8 MiB), so the full [B, D, H/4, W/4] map (50 MB for B2 at 512²) never exists.
    /// </summary>
    public const long FoldedTailBlockBytes = 8L << 20;

    /// <summary>Logits [B, num_labels, H/4, W/4] from the four stage outputs (NCHW).</summary>
    public override Tensor forward(IReadOnlyList<Tensor> encoder_hidden_states)
    {
        using var scope = NewDisposeScope();
        if (InferenceOnly) return FoldedLogits(encoder_hidden_states).MoveToOuterDisposeScope();
        var h = SegformerLayout.BatchNorm(batch_norm, Fuse(encoder_hidden_states));
        h = activation.call(h);
        h = dropout.call(h);
        return classifier.call(h).MoveToOuterDisposeScope();
    }

    /// <summary>Each stage projected by <c>linear_c.i</c> and upsampled to the first stage's resolution, in stage order.</summary>
    protected List<Tensor> ProjectAndUpsample(IReadOnlyList<Tensor> encoder_hidden_states)
    {
        var first = encoder_hidden_states[0].shape;
        var size = new[] { first[2], first[3] };
        var ups = new List<Tensor>();
        for (int i = 0; i < encoder_hidden_states.Count; i++)
        {
            var hs = encoder_hidden_states[i];
            var s = hs.shape;
            var e = linear_c[i].call(hs);
            var map = e.permute(0, 2, 1).reshape(s[0], -1, s[2], s[3]);
            var up = nn.functional.interpolate(map, size, mode: InterpolationMode.Bilinear, align_corners: false);
            if (Profiling.OpCount.Active) Profiling.OpCount.Other("upsample", up.numel());
            ups.Add(up);
        }
        return ups;
    }

    /// <summary>
    /// The logits on the folded inference path. Each stage's projection with this decoder's fuse folded into it
    /// (<see cref="FoldedStage"/>) is applied before upsampling: bilinear upsampling commutes with a per-pixel affine map
    /// (the interpolation weights sum to 1), so each 1x1 conv runs at its stage's own resolution. The eval-mode
    /// <c>batch_norm</c> after the sum is a per-channel affine map y = s·x + t (s = γ/√(σ² + ε), t = β − s·μ) that commutes
    /// with upsampling and distributes over the sum, so it goes into every W′ᵢ and b′ᵢ (t once); dropout is the identity.
    /// What remains — Σᵢ upsample(W′ᵢ·xᵢ + b′ᵢ), ReLU, classifier — is per channel up to the classifier, which is a sum
    /// over channels: so it runs in blocks of channels (<see cref="FoldedTailBlockBytes"/>), each block's classifier
    /// share added into the logits (kept in fp32 when the model runs in bf16). The same logits up to summation order,
    /// without the full-width 1/4-resolution map.
    /// </summary>
    private Tensor FoldedLogits(IReadOnlyList<Tensor> hidden)
    {
        var first = hidden[0].shape;
        var size = new[] { first[2], first[3] };
        var (scale, shift) = SegformerLayout.AffineOf(batch_norm);
        var stages = new (Tensor w, Tensor b)[hidden.Count];
        for (int i = 0; i < hidden.Count; i++)
        {
            var (w0, b0) = FoldedStage(i, linear_c[i].proj);
            var w = w0.mul(scale.unsqueeze(1));
            stages[i] = (w.view(w.shape[0], -1, 1, 1), i == 0 ? b0.mul(scale).add(shift, Scalars.One) : b0.mul(scale));
        }
        long d = config.decoder_hidden_size;
        long perChannel = first[0] * first[2] * first[3] * hidden[0].ElementSize;
        long block = Math.Clamp(FoldedTailBlockBytes / Math.Max(1, perChannel), 1, d);
        var accumulate = hidden[0].dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        Tensor? logits = null;
        for (long c0 = 0; c0 < d; c0 += block)
        {
            using var blockScope = NewDisposeScope();
            long c = Math.Min(block, d - c0);
            Tensor? sum = null;
            for (int i = 0; i < hidden.Count; i++)
            {
                var y = nn.functional.conv2d(hidden[i], stages[i].w.narrow(0, c0, c), stages[i].b.narrow(0, c0, c));
                var s = y.shape;
                if (s[2] != size[0] || s[3] != size[1])
                {
                    using var low = y;
                    y = nn.functional.interpolate(low, size, mode: InterpolationMode.Bilinear, align_corners: false);
                }
                if (sum is null) sum = y;
                else using (y) sum.add_(y, Scalars.One);
            }
            sum!.relu_();
            using var part = nn.functional.conv2d(sum, classifier.weight!.narrow(1, c0, c), c0 == 0 ? classifier.bias : null);
            sum.Dispose();
            if (logits is null) logits = part.to(accumulate).MoveToOuterDisposeScope();
            else logits.add_(part, Scalars.One);
        }
        return logits!.dtype == hidden[0].dtype ? logits : logits.to(hidden[0].dtype);
    }
}

/// <summary>
/// SegFormer's all-MLP decoder: the upsampled stage maps are concatenated in reverse stage order (c4, c3, c2, c1) and
/// fused by a 1x1 conv without bias (<c>linear_fuse</c>).
/// </summary>
public sealed class SegformerDecodeHead : SegformerDecodeHeadBase
{
    public readonly Conv2d linear_fuse;

    /// <summary>
    /// <see cref="SegmentationDecodeHeadBase.fused_inference"/> here folds <c>linear_fuse</c> into each stage's projection
    /// (W′ᵢ = W_fuse,ᵢ·W_c,ᵢ, b′ᵢ = W_fuse,ᵢ·b_c,ᵢ) and projects before upsampling. Bilinear upsampling and a per-pixel
    /// affine map commute (the interpolation weights sum to 1), so the logits are unchanged while the 1x1 convs run at
    /// each stage's own resolution instead of on four full-resolution maps.
    /// </summary>
    public SegformerDecodeHead(SegformerConfig config) : base(nameof(SegformerDecodeHead), config)
    {
        linear_fuse = nn.Conv2d(config.decoder_hidden_size * config.num_encoder_blocks, config.decoder_hidden_size, 1, bias: false);
        // Hugging Face's order (linear_c, linear_fuse, batch_norm, …): the state dict and the optimizer's parameter
        // order follow registration, and field registration would put this class's field first.
        register_module(nameof(linear_c), linear_c);
        register_module(nameof(linear_fuse), linear_fuse);
        RegisterComponents();
    }

    protected override Tensor Fuse(IReadOnlyList<Tensor> encoder_hidden_states)
    {
        var ups = ProjectAndUpsample(encoder_hidden_states);
        ups.Reverse();
        return linear_fuse.call(cat(ups, 1));
    }

    /// <summary>linear_fuse(cat(upsample(linear_c(x_i)))) as Σᵢ upsample(conv1x1(x_i; W′ᵢ, b′ᵢ)), W′ᵢ = W_fuse,ᵢ·W_c,ᵢ.</summary>
    protected override (Tensor w, Tensor b) FoldedStage(int i, Linear proj)
    {
        int n = config.num_encoder_blocks;
        long d = config.decoder_hidden_size;
        // [D, D] block of linear_fuse's [D, n·D]; stage i sits at block n−1−i (the concatenation is in reverse order)
        var block = linear_fuse.weight!.flatten(1).narrow(1, (n - 1 - i) * d, d);
        return (block.matmul(proj.weight!), block.matmul(proj.bias!));
    }
}
