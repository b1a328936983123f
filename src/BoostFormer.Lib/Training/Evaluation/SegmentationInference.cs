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
    /// <summary>Precision of the forward passes: with <see cref="Precision.Bf16"/> the images go in as bfloat16 (the model
    /// must have been converted, e.g. <see cref="CheckpointEvaluation"/> does) and the logits come back as float32.</summary>
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
    /// <summary>Scores [N, K, outH, outW] for <paramref name="image"/> [N, 3, H, W] given a logits function.</summary>
    public static Tensor Predict(Func<Tensor, Tensor> logitsOf, Tensor image, long outH, long outW, InferenceOptions options)
    {
        if (options.Precision == Precision.Bf16)
        {
            var inner = logitsOf;
            logitsOf = x => { using var low = x.to(ScalarType.BFloat16); using var l = inner(low); return l.to(ScalarType.Float32); };
        }
        if (image.dim() != 4) throw new ArgumentException($"image must be [N, 3, H, W], got [{string.Join(", ", image.shape)}]", nameof(image));
        if (options.Scales.Count == 0 || options.Scales.Any(s => !(s > 0))) throw new ArgumentException("scales must be positive and non-empty", nameof(options));
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

    private static Tensor Resize(Tensor logits, long h, long w) =>
        logits.shape[2] == h && logits.shape[3] == w ? logits.alias() : F.interpolate(logits, size: new[] { h, w }, mode: InterpolationMode.Bilinear, align_corners: false);
}
