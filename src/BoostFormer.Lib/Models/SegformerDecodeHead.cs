using BoostFormer.Torch;
using BoostFormer.Torch.Modules;
using static BoostFormer.Torch.torch;

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
    public readonly nn.Parameter? weights;
    public readonly ModuleList<SegformerMLP> linear_c;
    public readonly Conv2d? linear_fuse;
    public readonly BatchNorm2d batch_norm;
    public readonly ReLU activation;
    public readonly Dropout dropout;
    public readonly Conv2d classifier;
    [NotAComponent] public readonly SegFormerConfig config;

    public SegformerDecodeHead(SegFormerConfig config) : base(nameof(SegformerDecodeHead))
    {
        this.config = config;
        var n = config.num_encoder_blocks;
        if (config.weighted_sum_decoder)
            using (var w = ones(new long[] { n, 1 })) weights = new nn.Parameter(w);
        linear_c = new ModuleList<SegformerMLP>(Enumerable.Range(0, n).Select(i => new SegformerMLP(config.hidden_sizes[i], config.decoder_hidden_size)));
        if (!config.weighted_sum_decoder)
            linear_fuse = new Conv2d(config.decoder_hidden_size * n, config.decoder_hidden_size, 1, bias: false);
        batch_norm = new BatchNorm2d(config.decoder_hidden_size, config.batch_norm_eps);
        activation = new ReLU();
        dropout = new Dropout(config.classifier_dropout_prob);
        classifier = new Conv2d(config.decoder_hidden_size, config.num_labels, 1);
        RegisterComponents();
    }

    /// <summary>Logits [B, num_labels, H/4, W/4] from the four stage outputs (NCHW).</summary>
    public override Tensor forward(IReadOnlyList<Tensor> encoder_hidden_states)
    {
        using var scope = NewDisposeScope();
        var first = encoder_hidden_states[0].shape;
        var size = new[] { first[2], first[3] };
        var ups = new List<Tensor>();
        for (int i = 0; i < encoder_hidden_states.Count; i++)
        {
            var hs = encoder_hidden_states[i];
            var s = hs.shape;
            var e = linear_c[i].call(hs);
            var map = e.permute(0, 2, 1).reshape(s[0], -1, s[2], s[3]);
            ups.Add(nn.functional.interpolate(map, size, mode: InterpolationMode.Bilinear, align_corners: false));
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
        var h = batch_norm.call(fused);
        h = activation.call(h);
        h = dropout.call(h);
        return classifier.call(h).MoveToOuterDisposeScope();
    }
}
