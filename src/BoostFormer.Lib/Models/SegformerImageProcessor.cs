using BoostFormer.Data;
using BoostFormer.Visualization;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Models;

/// <summary>
/// Turns an image into SegFormer's <c>pixel_values</c>, like Hugging Face's <c>SegformerImageProcessor</c>: resize to
/// the model's input size (bilinear, align_corners=false), scale to [0, 1], normalise with the ImageNet mean and std,
/// and add a batch dimension.
/// </summary>
public static class SegformerImageProcessor
{
    /// <summary>ImageNet mean of the [0, 1] RGB channels (the data pipeline's 0–255 constants, rescaled).</summary>
    public static readonly float[] ImageMean = ImageOps.ImageNetMean.Select(v => v / 255f).ToArray();
    /// <summary>ImageNet standard deviation of the [0, 1] RGB channels (the data pipeline's 0–255 constants, rescaled).</summary>
    public static readonly float[] ImageStd = ImageOps.ImageNetStd.Select(v => v / 255f).ToArray();

    /// <summary><c>pixel_values</c> [1, 3, height, width] for <paramref name="image"/> (RGB or gray, alpha dropped).</summary>
    public static Tensor Preprocess(Image image, int width, int height)
    {
        if (width <= 0 || height <= 0) throw new ArgumentOutOfRangeException(nameof(width), $"input size must be positive, got {width}x{height}");
        using var scope = NewDisposeScope();
        var chw = image.ToTensor();
        if (chw.shape[0] == 1) chw = chw.expand(3, -1, -1);
        var resized = nn.functional.interpolate(chw.unsqueeze(0), new long[] { height, width }, mode: InterpolationMode.Bilinear, align_corners: false);
        var mean = tensor(ImageMean, 1, 3, 1, 1);
        var std = tensor(ImageStd, 1, 3, 1, 1);
        return ((resized - mean) / std).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>Undoes the normalisation of one image of <paramref name="pixelValues"/> [B,3,H,W] for display.</summary>
    public static Image ToImage(Tensor pixelValues, int index = 0, string? caption = null)
    {
        using var scope = NewDisposeScope();
        var mean = tensor(ImageMean, 3, 1, 1);
        var std = tensor(ImageStd, 3, 1, 1);
        var x = (pixelValues[index] * std).add(mean, Scalars.One).clamp(Scalars.Zero, Scalars.One);
        return Image.FromTensor(x, 0, 1, caption: caption);
    }
}
