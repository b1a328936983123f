using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace BoostFormer.Training.Evaluation;

/// <summary>How test images are run through the network.</summary>
public enum InferenceMode
{
    /// <summary>The whole image at once.</summary>
    Whole,
    /// <summary>Overlapping crops (mmseg <c>slide</c>), logits summed and divided by how many crops cover each pixel.</summary>
    Slide,
}

/// <summary>Inference settings: mode, crop and stride for sliding windows, test-time scales and flip.</summary>
public sealed record InferenceOptions
{
    /// <summary>Whole image or sliding window.</summary>
    public InferenceMode Mode { get; init; } = InferenceMode.Whole;
    /// <summary>Crop (height, width) for sliding windows.</summary>
    public (long h, long w) Crop { get; init; } = (512, 512);
    /// <summary>Stride (height, width) for sliding windows.</summary>
    public (long h, long w) Stride { get; init; } = (341, 341);
    /// <summary>Image scale ratios (1.0 = test scale); mmseg's multi-scale test uses 0.5, 0.75, 1.0, 1.25, 1.5, 1.75.</summary>
    public IReadOnlyList<double> Scales { get; init; } = new[] { 1.0 };
    /// <summary>Also run the horizontally flipped image.</summary>
    public bool Flip { get; init; }
    /// <summary>Precision of the forward passes: with <see cref="Precision.Bf16"/> (or <see cref="Precision.Fp64"/>) the images
    /// go in as bfloat16 (float64) — the model must have been converted, e.g. <see cref="CheckpointEvaluation"/> does — and the
    /// logits come back as float32.</summary>
    public Precision Precision { get; init; } = Precision.Fp32;

    /// <summary>The standard multi-scale + flip TTA.</summary>
    public static InferenceOptions MultiScaleFlip(InferenceMode mode = InferenceMode.Whole) =>
        new() { Mode = mode, Scales = new[] { 0.5, 0.75, 1.0, 1.25, 1.5, 1.75 }, Flip = true };

    /// <summary>True when more than one pass is averaged.</summary>
    public bool IsAugmented => Flip || Scales.Count > 1;
}

/// <summary>
/// mmsegmentation's test-time inference: each pass's logits are resized (bilinear, align_corners=false) to the pass's
/// input size, sliding windows are accumulated and count-normalised, and every pass is resized to the requested output
/// size (the label's original size). With augmentation (several scales and/or flip) the softmax probabilities of the
/// passes are averaged (mmseg <c>aug_test</c>); without, the logits are returned.
/// </summary>
public static class SegmentationInference
{
    /// <summary>The smallest input side the SegFormer encoder takes (its first attention reduces 1/4-size maps by 8).</summary>
    public const int MinimumInputSize = 32;

    /// <summary>Scores [N, K, outH, outW] for <paramref name="image"/> [N, 3, H, W] given a logits function.</summary>
    public static Tensor Predict(Func<Tensor, Tensor> logitsOf, Tensor image, long outH, long outW, InferenceOptions options)
    {
        if (options.Precision != Precision.Fp32)
        {
            var inner = logitsOf;
            var dtype = options.Precision.ScalarType();
            logitsOf = x => { using var cast = x.to(dtype); using var l = inner(cast); return l.to(ScalarType.Float32); };
        }
        if (image.dim() != 4) throw new ArgumentException($"image must be [N, 3, H, W], got [{string.Join(", ", image.shape)}]", nameof(image));
        if (options.Scales.Count == 0 || options.Scales.Any(s => !(s > 0))) throw new ArgumentException("scales must be positive and non-empty", nameof(options));
        if (image.shape[2] < MinimumInputSize || image.shape[3] < MinimumInputSize)
            throw new ArgumentException($"the image reaches the model as {image.shape[3]}x{image.shape[2]} (WxH), smaller than the {MinimumInputSize}x{MinimumInputSize} the encoder needs " +
                "(it downsamples by 32): use a larger --scale", nameof(image));
        using var ng = no_grad();
        using var scope = NewDisposeScope();
        var h = image.shape[2];
        var w = image.shape[3];
        Tensor? acc = null;
        int passes = 0;
        foreach (var s in options.Scales)
        {
            var img = s == 1.0 ? image : F.interpolate(image, size: new[] { (long)(h * s + 0.5), (long)(w * s + 0.5) }, mode: InterpolationMode.Bilinear, align_corners: false);
            foreach (var flip in options.Flip ? new[] { false, true } : new[] { false })
            {
                var input = flip ? img.flip(3) : img;
                var logits = options.Mode == InferenceMode.Slide ? Slide(logitsOf, input, options.Crop, options.Stride) : Whole(logitsOf, input);
                if (flip) logits = logits.flip(3);
                logits = Resize(logits, outH, outW);
                var part = options.IsAugmented ? logits.softmax(1) : logits;
                acc = acc is null ? part : acc.add(part, Scalars.One);
                passes++;
            }
        }
        return (passes == 1 ? acc! : acc!.div(Scalars.Of(passes))).MoveToOuterDisposeScope();
    }

    /// <summary>Logits of the whole input, resized to its size.</summary>
    public static Tensor Whole(Func<Tensor, Tensor> logitsOf, Tensor input)
    {
        using var scope = NewDisposeScope();
        var l = logitsOf(input);
        return Resize(l, input.shape[2], input.shape[3]).MoveToOuterDisposeScope();
    }

    /// <summary>mmseg <c>slide_inference</c>: overlapping crops, logits summed into place and divided by the coverage count.</summary>
    public static Tensor Slide(Func<Tensor, Tensor> logitsOf, Tensor input, (long h, long w) crop, (long h, long w) stride)
    {
        if (crop.h <= 0 || crop.w <= 0 || stride.h <= 0 || stride.w <= 0) throw new ArgumentException($"crop {crop} and stride {stride} must be positive");
        using var scope = NewDisposeScope();
        long n = input.shape[0], hImg = input.shape[2], wImg = input.shape[3];
        var hGrids = Math.Max(hImg - crop.h + stride.h - 1, 0) / stride.h + 1;
        var wGrids = Math.Max(wImg - crop.w + stride.w - 1, 0) / stride.w + 1;
        Tensor? preds = null;
        var count = zeros(new[] { n, 1L, hImg, wImg });
        for (long hi = 0; hi < hGrids; hi++)
        for (long wi = 0; wi < wGrids; wi++)
        {
            using var inner = NewDisposeScope();
            var y1 = hi * stride.h; var x1 = wi * stride.w;
            var y2 = Math.Min(y1 + crop.h, hImg); var x2 = Math.Min(x1 + crop.w, wImg);
            y1 = Math.Max(y2 - crop.h, 0); x1 = Math.Max(x2 - crop.w, 0);
            var cropImg = input.slice(2, y1, y2, 1).slice(3, x1, x2, 1);
            var l = Resize(logitsOf(cropImg), y2 - y1, x2 - x1);
            if (preds is null)
            {
                preds = zeros(new[] { n, l.shape[1], hImg, wImg });
                preds.MoveToOuterDisposeScope();
            }
            preds.slice(2, y1, y2, 1).slice(3, x1, x2, 1).add_(l, Scalars.One);
            count.slice(2, y1, y2, 1).slice(3, x1, x2, 1).add_(Scalars.One, Scalars.One);
        }
        return preds!.div(count).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Rows <paramref name="y0"/>..<paramref name="y1"/> (exclusive) of <paramref name="scores"/> [N, K, H, W] resized to
    /// <paramref name="outH"/> × <paramref name="outW"/> (bilinear, align_corners=false, the same sample points as the whole
    /// resize): only the strip is allocated, so a large output is made a strip at a time.
    /// </summary>
    public static Tensor ResizeRows(Tensor scores, long outH, long outW, long y0, long y1)
    {
        using var scope = NewDisposeScope();
        long inH = scores.shape[2];
        var n = y1 - y0;
        var i0 = new long[n]; var i1 = new long[n]; var l1 = new float[n];
        double scale = (double)inH / outH;
        for (long y = y0; y < y1; y++)
        {
            var src = Math.Max(0.0, scale * (y + 0.5) - 0.5);
            var a = Math.Min((long)src, inH - 1);
            i0[y - y0] = a;
            i1[y - y0] = Math.Min(a + 1, inH - 1);
            l1[y - y0] = (float)(src - a);
        }
        var lam1 = tensor(l1).view(1, 1, n, 1);
        var rows = scores.index_select(2, tensor(i0)).mul(lam1.neg().add(Scalars.One, Scalars.One)).add(scores.index_select(2, tensor(i1)).mul(lam1), Scalars.One);
        return Resize(rows, n, outW).MoveToOuterDisposeScope();
    }

    private static Tensor Resize(Tensor logits, long h, long w) =>
        logits.shape[2] == h && logits.shape[3] == w ? logits.alias() : F.interpolate(logits, size: new[] { h, w }, mode: InterpolationMode.Bilinear, align_corners: false);
}
