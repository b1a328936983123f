using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// The all-MLP decoder (SegFormer §3.2): each stage output is projected to the decoder width (<c>linear_c.i</c>), upsampled
/// bilinearly (align_corners=false) to the first stage's 1/4 resolution, concatenated in reverse stage order (c4, c3, c2,
/// c1), fused by a 1x1 conv without bias (<c>linear_fuse</c>), then BatchNorm, ReLU, dropout and a 1x1 <c>classifier</c>.
/// With BoostFormer's weighted-sum switch (f) the upsampled features are multiplied by learned scalars
/// (<c>weights</c> [stages, 1]) and summed, and there is no fuse conv.
/// </summary>
public sealed class SegformerDecodeHead : nn.Module<IReadOnlyList<Tensor>, Tensor>
{
    public readonly Parameter? weights;
    public readonly ModuleList<SegformerMLP> linear_c;
    public readonly Conv2d? linear_fuse;
    public readonly BatchNorm2d batch_norm;
    public readonly ReLU activation;
    public readonly Dropout dropout;
    public readonly Conv2d classifier;
    public readonly SegFormerConfig config;

    /// <summary>
    /// At inference (eval mode, no gradients) fold <c>linear_fuse</c> into each stage's projection
    /// (W′ᵢ = W_fuse,ᵢ·W_c,ᵢ, b′ᵢ = W_fuse,ᵢ·b_c,ᵢ) and project before upsampling. Bilinear upsampling and a per-pixel
    /// affine map commute (the interpolation weights sum to 1), so the logits are unchanged while the 1x1 convs run at
    /// each stage's own resolution instead of on four full-resolution maps. Training, gradients, the profiler (which
    /// counts the published graph) and the weighted-sum decoder always take the original path. Default on.
    /// </summary>
    public bool fused_inference { get; set; } = true;

    public SegformerDecodeHead(SegFormerConfig config) : base(nameof(SegformerDecodeHead))
    {
        this.config = config;
        var n = config.num_encoder_blocks;
        if (config.weighted_sum_decoder)
            using (var w = ones(new long[] { n, 1 })) weights = new Parameter(w);
        linear_c = new ModuleList<SegformerMLP>(Enumerable.Range(0, n).Select(i => new SegformerMLP(config.hidden_sizes[i], config.decoder_hidden_size)).ToArray());
        if (!config.weighted_sum_decoder)
            linear_fuse = nn.Conv2d(config.decoder_hidden_size * n, config.decoder_hidden_size, 1, bias: false);
        batch_norm = nn.BatchNorm2d(config.decoder_hidden_size, config.batch_norm_eps);
        activation = nn.ReLU();
        dropout = nn.Dropout(config.classifier_dropout_prob);
        classifier = nn.Conv2d(config.decoder_hidden_size, config.num_labels, 1);
        RegisterComponents();
    }

    /// <summary>Logits [B, num_labels, H/4, W/4] from the four stage outputs (NCHW).</summary>
    public override Tensor forward(IReadOnlyList<Tensor> encoder_hidden_states)
    {
        using var scope = NewDisposeScope();
        if (fused_inference && !training && !is_grad_enabled() && !Profiling.OpCount.Active)
            return Head(FusedProjection(encoder_hidden_states)).MoveToOuterDisposeScope();
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
        Tensor fused;
        if (weights is not null)
        {
            fused = ups[0] * weights[0];
            for (int i = 1; i < ups.Count; i++) fused = fused + ups[i] * weights[i];
        }
        else
        {
            ups.Reverse();
            fused = linear_fuse!.call(cat(ups, 1));
        }
        return Head(fused).MoveToOuterDisposeScope();
    }

    private Tensor Head(Tensor fused)
    {
        var h = SegformerLayout.BatchNorm(batch_norm, fused);
        h = activation.call(h);
        h = dropout.call(h);
        return classifier.call(h);
    }

    /// <summary>
    /// linear_fuse(cat(upsample(linear_c(x_i)))) computed as Σᵢ upsample(conv1x1(x_i; W′ᵢ, b′ᵢ)); with the weighted-sum
    /// decoder (switch f) Σᵢ wᵢ·upsample(linear_c(x_i)) likewise, with W′ᵢ = wᵢ·W_c,ᵢ. Each projection then writes an
    /// NCHW-contiguous map, which LibTorch upsamples several times faster than the channels-last view of a token
    /// sequence that the written-out graph produces.
    /// </summary>
    private Tensor FusedProjection(IReadOnlyList<Tensor> hidden)
    {
        int n = hidden.Count;
        long d = config.decoder_hidden_size;
        var first = hidden[0].shape;
        var size = new[] { first[2], first[3] };
        var wFuse = linear_fuse?.weight!.flatten(1);          // [D, n·D]; stage i sits at block n−1−i (reversed concat)
        Tensor? sum = null;
        for (int i = 0; i < n; i++)
        {
            var proj = linear_c[i].proj;
            Tensor w, b;
            if (wFuse is not null)
            {
                var block = wFuse.narrow(1, (n - 1 - i) * d, d);   // [D, D]
                w = block.matmul(proj.weight!);                 // [D, C_i]
                b = block.matmul(proj.bias!);
            }
            else
            {
                var scale = weights![i];                        // [1]
                w = proj.weight! * scale;
                b = proj.bias! * scale;
            }
            var y = nn.functional.conv2d(hidden[i], w.view(d, -1, 1, 1), b);
            var s = y.shape;
            if (s[2] != size[0] || s[3] != size[1])
                y = nn.functional.interpolate(y, size, mode: InterpolationMode.Bilinear, align_corners: false);
            sum = sum is null ? y : sum.add_(y);
        }
        return sum!;
    }
}
