using BoostFormer.IO;

namespace BoostFormer.Data;

/// <summary>
/// One step of a segmentation pipeline, with mmsegmentation's semantics. Steps replace the image/label references
/// (or modify them in place) and draw randomness only from the sample's <see cref="DataRng"/>.
/// </summary>
public interface ISegTransform
{
    void Apply(ref ImageBuffer image, ref LabelMap label, DataRng rng);
}

/// <summary>Pixel operations shared by the segmentation and classification transforms.</summary>
public static class ImageOps
{
    /// <summary>
    /// mmcv's <c>rescale_size</c>: the largest size that fits a (long, short) edge box while keeping the aspect ratio:
    /// factor = min(long/max(h, w), short/min(h, w)), new size = (int)(w·factor + 0.5), (int)(h·factor + 0.5).
    /// </summary>
    public static (int Height, int Width) RescaleSize(int height, int width, int scaleLong, int scaleShort)
    {
        double longEdge = Math.Max(scaleLong, scaleShort), shortEdge = Math.Min(scaleLong, scaleShort);
        double f = Math.Min(longEdge / Math.Max(height, width), shortEdge / Math.Min(height, width));
        return (Math.Max(1, (int)(height * f + 0.5)), Math.Max(1, (int)(width * f + 0.5)));
    }

    /// <summary>Bilinear resize (libtorch upsample_bilinear2d, align_corners=false).</summary>
    public static ImageBuffer Resize(ImageBuffer img, int height, int width)
    {
        if (img.Height == height && img.Width == width) return img;
        var dst = new ImageBuffer(height, width, img.Channels);
        ImageCodec.Resize(img.Pixels, img.Height, img.Width, img.Channels, dst.Pixels, height, width, ResizeMode.Bilinear);
        return dst;
    }

    /// <summary>Nearest-neighbour resize of a label map (libtorch upsample_nearest2d, as cv2.INTER_NEAREST).</summary>
    public static LabelMap Resize(LabelMap lbl, int height, int width)
    {
        if (lbl.Height == height && lbl.Width == width) return lbl;
        var dst = new LabelMap(height, width);
        ImageCodec.Resize(lbl.Labels, lbl.Height, lbl.Width, 1, dst.Labels, height, width, ResizeMode.Nearest);
        return dst;
    }

    public static ImageBuffer Crop(ImageBuffer img, int y0, int x0, int h, int w)
    {
        h = Math.Min(h, img.Height - y0); w = Math.Min(w, img.Width - x0);
        var dst = new ImageBuffer(h, w, img.Channels);
        int c = img.Channels;
        for (int y = 0; y < h; y++)
            img.Pixels.AsSpan(((y0 + y) * img.Width + x0) * c, w * c).CopyTo(dst.Pixels.AsSpan(y * w * c));
        return dst;
    }

    public static LabelMap Crop(LabelMap lbl, int y0, int x0, int h, int w)
    {
        h = Math.Min(h, lbl.Height - y0); w = Math.Min(w, lbl.Width - x0);
        var dst = new LabelMap(h, w);
        for (int y = 0; y < h; y++)
            lbl.Labels.AsSpan((y0 + y) * lbl.Width + x0, w).CopyTo(dst.Labels.AsSpan(y * w));
        return dst;
    }

    public static void FlipHorizontal(ImageBuffer img)
    {
        int c = img.Channels, w = img.Width;
        var p = img.Pixels;
        for (int y = 0; y < img.Height; y++)
        {
            int row = y * w * c;
            for (int l = 0, r = w - 1; l < r; l++, r--)
                for (int k = 0; k < c; k++)
                    (p[row + l * c + k], p[row + r * c + k]) = (p[row + r * c + k], p[row + l * c + k]);
        }
    }

    public static void FlipHorizontal(LabelMap lbl)
    {
        for (int y = 0; y < lbl.Height; y++) lbl.Labels.AsSpan(y * lbl.Width, lbl.Width).Reverse();
    }

    /// <summary>Pads at the bottom and right to at least (height, width) (mmseg's Pad with a fixed size).</summary>
    public static ImageBuffer Pad(ImageBuffer img, int height, int width, byte value)
    {
        if (img.Height >= height && img.Width >= width) return img;
        int h = Math.Max(height, img.Height), w = Math.Max(width, img.Width), c = img.Channels;
        var dst = new ImageBuffer(h, w, c);
        if (value != 0) dst.Pixels.AsSpan().Fill(value);
        for (int y = 0; y < img.Height; y++) img.Pixels.AsSpan(y * img.Width * c, img.Width * c).CopyTo(dst.Pixels.AsSpan(y * w * c));
        return dst;
    }

    public static LabelMap Pad(LabelMap lbl, int height, int width, byte value)
    {
        if (lbl.Height >= height && lbl.Width >= width) return lbl;
        int h = Math.Max(height, lbl.Height), w = Math.Max(width, lbl.Width);
        var dst = new LabelMap(h, w);
        dst.Labels.AsSpan().Fill(value);
        for (int y = 0; y < lbl.Height; y++) lbl.Labels.AsSpan(y * lbl.Width, lbl.Width).CopyTo(dst.Labels.AsSpan(y * w));
        return dst;
    }

    /// <summary>Applies a 256-entry table to every sample.</summary>
    public static void ApplyLut(byte[] pixels, ReadOnlySpan<byte> lut)
    {
        for (int i = 0; i < pixels.Length; i++) pixels[i] = lut[pixels[i]];
    }

    /// <summary>mmseg's <c>convert</c>: clip(v·alpha + beta, 0, 255) truncated to uint8, as a lookup table.</summary>
    public static byte[] ConvertLut(double alpha, double beta)
    {
        var lut = new byte[256];
        for (int v = 0; v < 256; v++)
        {
            float f = (float)v * (float)alpha + (float)beta;
            lut[v] = f <= 0 ? (byte)0 : f >= 255 ? (byte)255 : (byte)f;
        }
        return lut;
    }

    /// <summary>
    /// OpenCV's 8-bit RGB→HSV (cv2.COLOR_RGB2HSV): H in 0..179 (degrees/2), S and V in 0..255, with OpenCV's
    /// fixed-point division tables (12-bit shift) so values match cv2 exactly.
    /// </summary>
    public static void RgbToHsv(ReadOnlySpan<byte> rgb, Span<byte> hsv)
    {
        for (int i = 0; i < rgb.Length; i += 3)
        {
            int r = rgb[i], g = rgb[i + 1], b = rgb[i + 2];
            int v = Math.Max(r, Math.Max(g, b)), vmin = Math.Min(r, Math.Min(g, b));
            int diff = v - vmin;
            int s = (diff * SDiv[v] + (1 << 11)) >> 12;
            int h;
            if (v == r) h = g - b;
            else if (v == g) h = b - r + 2 * diff;
            else h = r - g + 4 * diff;
            h = (h * HDiv[diff] + (1 << 11)) >> 12;
            if (h < 0) h += 180;
            hsv[i] = (byte)h; hsv[i + 1] = (byte)s; hsv[i + 2] = (byte)v;
        }
    }

    /// <summary>OpenCV's 8-bit HSV→RGB (cv2.COLOR_HSV2RGB, H in 0..179): float sector formula, rounded to nearest.</summary>
    public static void HsvToRgb(ReadOnlySpan<byte> hsv, Span<byte> rgb)
    {
        for (int i = 0; i < hsv.Length; i += 3)
        {
            float h = hsv[i], s = hsv[i + 1] * (1f / 255f), v = hsv[i + 2] * (1f / 255f);
            float r, g, b;
            if (s == 0) r = g = b = v;
            else
            {
                h *= 6f / 180f;
                if (h < 0) h += 6; else if (h >= 6) h -= 6;
                int sector = (int)MathF.Floor(h);
                h -= sector;
                if ((uint)sector >= 6u) { sector = 0; h = 0; }
                float t0 = v, t1 = v * (1 - s), t2 = v * (1 - s * h), t3 = v * (1 - s * (1 - h));
                (b, g, r) = sector switch
                {
                    0 => (t1, t3, t0),
                    1 => (t1, t0, t2),
                    2 => (t3, t0, t1),
                    3 => (t0, t2, t1),
                    4 => (t0, t1, t3),
                    _ => (t2, t1, t0),
                };
            }
            rgb[i] = Sat(r * 255f); rgb[i + 1] = Sat(g * 255f); rgb[i + 2] = Sat(b * 255f);
        }
    }

    private static byte Sat(float v) { int x = (int)MathF.Round(v, MidpointRounding.ToEven); return x < 0 ? (byte)0 : x > 255 ? (byte)255 : (byte)x; }

    private static readonly int[] SDiv = Enumerable.Range(0, 256).Select(i => i == 0 ? 0 : (int)Math.Round((255.0 * 4096) / i)).ToArray();
    private static readonly int[] HDiv = Enumerable.Range(0, 256).Select(i => i == 0 ? 0 : (int)Math.Round((180.0 * 4096) / (6 * i))).ToArray();

    /// <summary>
    /// Writes (pixel − mean) / std into a CHW float destination (mmseg's Normalize with to_rgb on an RGB image).
    /// </summary>
    public static void NormalizeToChw(ImageBuffer img, Span<float> chw, ReadOnlySpan<float> mean, ReadOnlySpan<float> std)
    {
        int hw = img.Height * img.Width, c = img.Channels;
        if (chw.Length != hw * c) throw new ArgumentException($"destination holds {chw.Length} floats, need {hw * c}");
        Span<float> scale = stackalloc float[c];
        Span<float> shift = stackalloc float[c];
        for (int k = 0; k < c; k++) { scale[k] = 1f / std[k]; shift[k] = -mean[k] / std[k]; }
        var p = img.Pixels;
        if (c == 3)
        {
            var d0 = chw[..hw]; var d1 = chw.Slice(hw, hw); var d2 = chw.Slice(2 * hw, hw);
            float s0 = scale[0], s1 = scale[1], s2 = scale[2], o0 = shift[0], o1 = shift[1], o2 = shift[2];
            for (int i = 0, j = 0; i < hw; i++, j += 3)
            {
                d0[i] = p[j] * s0 + o0; d1[i] = p[j + 1] * s1 + o1; d2[i] = p[j + 2] * s2 + o2;
            }
            return;
        }
        for (int i = 0; i < hw; i++)
            for (int k = 0; k < c; k++) chw[k * hw + i] = p[i * c + k] * scale[k] + shift[k];
    }

    /// <summary>ImageNet mean (RGB, 0..255 scale), as mmseg/timm.</summary>
    public static readonly float[] ImageNetMean = { 123.675f, 116.28f, 103.53f };
    /// <summary>ImageNet std (RGB, 0..255 scale).</summary>
    public static readonly float[] ImageNetStd = { 58.395f, 57.12f, 57.375f };
}

/// <summary>
/// mmseg's <c>Resize(img_scale=scale, ratio_range=(lo, hi), keep_ratio=True)</c>: draws ratio ~ U[lo, hi), scales the
/// (long, short) box by it (int(scale·ratio)), then resizes keeping the aspect ratio to fit that box (mmcv.imrescale):
/// bilinear for the image, nearest for the label. Without a ratio range it is the test-time keep-ratio resize.
/// </summary>
public sealed class RandomResize : ISegTransform
{
    public int ScaleLong { get; }
    public int ScaleShort { get; }
    public (double Min, double Max)? RatioRange { get; }

    public RandomResize(int scaleLong = 2048, int scaleShort = 512, double ratioMin = 0.5, double ratioMax = 2.0)
    {
        if (ratioMin <= 0 || ratioMax < ratioMin) throw new ArgumentOutOfRangeException(nameof(ratioMin), $"ratio range ({ratioMin}, {ratioMax}) must be positive and ordered");
        ScaleLong = scaleLong; ScaleShort = scaleShort; RatioRange = (ratioMin, ratioMax);
    }

    private RandomResize(int scaleLong, int scaleShort) { ScaleLong = scaleLong; ScaleShort = scaleShort; RatioRange = null; }

    /// <summary>The deterministic keep-ratio resize to fit (scaleLong, scaleShort) (mmseg's test-time Resize).</summary>
    public static RandomResize KeepRatio(int scaleLong = 2048, int scaleShort = 512) => new(scaleLong, scaleShort);

    public void Apply(ref ImageBuffer image, ref LabelMap label, DataRng rng)
    {
        int sl = ScaleLong, ss = ScaleShort;
        if (RatioRange is { } rr)
        {
            double ratio = rng.Uniform(rr.Min, rr.Max);
            sl = (int)(sl * ratio); ss = (int)(ss * ratio);
        }
        var (h, w) = ImageOps.RescaleSize(image.Height, image.Width, sl, ss);
        image = ImageOps.Resize(image, h, w);
        label = ImageOps.Resize(label, h, w);
    }
}

/// <summary>
/// mmseg's <c>RandomCrop(crop_size, cat_max_ratio)</c>: offsets uniform in [0, max(size − crop, 0)]; up to 10 draws until
/// the crop holds more than one non-ignored class and the largest one covers less than <c>cat_max_ratio</c> of the
/// non-ignored pixels (the last draw is kept otherwise). Images smaller than the crop are cropped to their own size.
/// </summary>
public sealed class RandomCrop : ISegTransform
{
    public int CropHeight { get; }
    public int CropWidth { get; }
    public double CatMaxRatio { get; }
    public byte IgnoreIndex { get; }

    public RandomCrop(int cropHeight = 512, int cropWidth = 512, double catMaxRatio = 0.75, byte ignoreIndex = DatasetInfo.IgnoreIndex)
    {
        CropHeight = cropHeight; CropWidth = cropWidth; CatMaxRatio = catMaxRatio; IgnoreIndex = ignoreIndex;
    }

    private (int y, int x) Draw(ImageBuffer img, DataRng rng)
    {
        int mh = Math.Max(img.Height - CropHeight, 0), mw = Math.Max(img.Width - CropWidth, 0);
        int y = rng.Next(0, mh + 1);
        int x = rng.Next(0, mw + 1);
        return (y, x);
    }

    public void Apply(ref ImageBuffer image, ref LabelMap label, DataRng rng)
    {
        var (y, x) = Draw(image, rng);
        if (CatMaxRatio < 1)
        {
            Span<int> counts = stackalloc int[256];
            for (int attempt = 0; attempt < 10; attempt++)
            {
                counts.Clear();
                int h = Math.Min(CropHeight, label.Height - y), w = Math.Min(CropWidth, label.Width - x);
                for (int r = 0; r < h; r++)
                {
                    var row = label.Labels.AsSpan((y + r) * label.Width + x, w);
                    foreach (var v in row) counts[v]++;
                }
                counts[IgnoreIndex] = 0;
                int classes = 0; long total = 0; int max = 0;
                foreach (var c in counts) if (c > 0) { classes++; total += c; max = Math.Max(max, c); }
                if (classes > 1 && (double)max / total < CatMaxRatio) break;
                (y, x) = Draw(image, rng);
            }
        }
        image = ImageOps.Crop(image, y, x, CropHeight, CropWidth);
        label = ImageOps.Crop(label, y, x, CropHeight, CropWidth);
    }
}

/// <summary>mmseg's <c>RandomFlip(prob)</c>: horizontal flip of image and label with probability <c>prob</c>.</summary>
public sealed class RandomFlip : ISegTransform
{
    public double Prob { get; }
    public RandomFlip(double prob = 0.5) { Prob = prob; }

    public void Apply(ref ImageBuffer image, ref LabelMap label, DataRng rng)
    {
        if (rng.NextDouble() < Prob)
        {
            ImageOps.FlipHorizontal(image);
            ImageOps.FlipHorizontal(label);
        }
    }
}

/// <summary>
/// mmseg's <c>PhotoMetricDistortion</c>, each step applied with probability ½ and rounded back to uint8 after each step:
/// brightness (add U(−32, 32)), contrast (multiply by U(0.5, 1.5)) either second or last (mode drawn with p ½),
/// saturation (multiply HSV S by U(0.5, 1.5)), hue (add randint(−18, 18) to OpenCV's 0..179 hue, modulo 180).
/// Values are clipped to 0..255 and truncated as numpy's astype(uint8); HSV conversions follow OpenCV's 8-bit ones.
/// </summary>
public sealed class PhotoMetricDistortion : ISegTransform
{
    public int BrightnessDelta { get; init; } = 32;
    public (double Lower, double Upper) Contrast { get; init; } = (0.5, 1.5);
    public (double Lower, double Upper) Saturation { get; init; } = (0.5, 1.5);
    public int HueDelta { get; init; } = 18;

    public void Apply(ref ImageBuffer image, ref LabelMap label, DataRng rng) => Apply(image, rng);

    /// <summary>Distorts an RGB image in place.</summary>
    public void Apply(ImageBuffer image, DataRng rng)
    {
        if (image.Channels != 3) throw new ArgumentException("PhotoMetricDistortion needs an RGB image");
        var p = image.Pixels;
        if (rng.Next(2) == 1) ImageOps.ApplyLut(p, ImageOps.ConvertLut(1, rng.Uniform(-BrightnessDelta, BrightnessDelta)));
        int mode = rng.Next(2);
        if (mode == 1) ContrastStep(p, rng);
        byte[]? hsv = null;
        if (rng.Next(2) == 1)
        {
            hsv ??= new byte[p.Length];
            ImageOps.RgbToHsv(p, hsv);
            var lut = ImageOps.ConvertLut(rng.Uniform(Saturation.Lower, Saturation.Upper), 0);
            for (int i = 1; i < hsv.Length; i += 3) hsv[i] = lut[hsv[i]];
            ImageOps.HsvToRgb(hsv, p);
        }
        if (rng.Next(2) == 1)
        {
            hsv ??= new byte[p.Length];
            ImageOps.RgbToHsv(p, hsv);
            int delta = rng.Next(-HueDelta, HueDelta);
            for (int i = 0; i < hsv.Length; i += 3) hsv[i] = (byte)(((hsv[i] + delta) % 180 + 180) % 180);
            ImageOps.HsvToRgb(hsv, p);
        }
        if (mode == 0) ContrastStep(p, rng);
    }

    private void ContrastStep(byte[] p, DataRng rng)
    {
        if (rng.Next(2) == 1) ImageOps.ApplyLut(p, ImageOps.ConvertLut(rng.Uniform(Contrast.Lower, Contrast.Upper), 0));
    }
}

/// <summary>mmseg's <c>Pad(size, pad_val=0, seg_pad_val=255)</c>: pads bottom/right to the given size.</summary>
public sealed class PadTo : ISegTransform
{
    public int Height { get; }
    public int Width { get; }
    public byte PadValue { get; }
    public byte SegPadValue { get; }

    public PadTo(int height, int width, byte padValue = 0, byte segPadValue = DatasetInfo.IgnoreIndex)
    {
        Height = height; Width = width; PadValue = padValue; SegPadValue = segPadValue;
    }

    public void Apply(ref ImageBuffer image, ref LabelMap label, DataRng rng)
    {
        image = ImageOps.Pad(image, Height, Width, PadValue);
        label = ImageOps.Pad(label, Height, Width, SegPadValue);
    }
}

/// <summary>A sequence of segmentation transforms (mmseg's <c>Compose</c>); normalisation happens when batching.</summary>
public sealed class SegPipeline
{
    public IReadOnlyList<ISegTransform> Steps { get; }
    public float[] Mean { get; init; } = ImageOps.ImageNetMean;
    public float[] Std { get; init; } = ImageOps.ImageNetStd;

    public SegPipeline(params ISegTransform[] steps) { Steps = steps; }

    public (ImageBuffer Image, LabelMap Label) Apply(ImageBuffer image, LabelMap label, DataRng rng)
    {
        foreach (var s in Steps) s.Apply(ref image, ref label, rng);
        return (image, label);
    }

    /// <summary>
    /// mmseg's SegFormer training pipeline: Resize(scale, ratio 0.5–2.0) → RandomCrop(crop, cat_max_ratio 0.75) →
    /// RandomFlip(0.5) → PhotoMetricDistortion → (Normalize) → Pad(crop, 0, 255).
    /// </summary>
    public static SegPipeline Train(int cropHeight = 512, int cropWidth = 512, int scaleLong = 2048, int scaleShort = 512,
        double ratioMin = 0.5, double ratioMax = 2.0, double catMaxRatio = 0.75) =>
        new(new RandomResize(scaleLong, scaleShort, ratioMin, ratioMax),
            new RandomCrop(cropHeight, cropWidth, catMaxRatio),
            new RandomFlip(0.5),
            new PhotoMetricDistortion(),
            new PadTo(cropHeight, cropWidth));

    /// <summary>Test-time: resize keeping the ratio to fit (scaleLong, scaleShort), no randomness. Labels are resized
    /// too (nearest) so a batch lines up; evaluate against the original label map for mmseg-exact metrics.</summary>
    public static SegPipeline Test(int scaleLong = 2048, int scaleShort = 512) => new(RandomResize.KeepRatio(scaleLong, scaleShort));
}
