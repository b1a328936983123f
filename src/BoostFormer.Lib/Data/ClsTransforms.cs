namespace BoostFormer.Data;

/// <summary>
/// Per-sample classification augmentation in torchvision/timm's order: RandomResizedCrop(size, scale, ratio) →
/// horizontal flip (p ½) → ColorJitter(brightness, contrast, saturation, hue) in a random order → ImageNet
/// normalisation → RandomErasing(p). <see cref="Eval"/> gives the deterministic resize-to-size evaluation transform.
/// </summary>
public sealed class ClsTransform
{
    public int Size { get; init; } = 64;
    public bool Train { get; init; } = true;
    public (double Min, double Max) Scale { get; init; } = (0.08, 1.0);
    public (double Min, double Max) Ratio { get; init; } = (3.0 / 4, 4.0 / 3);
    public double FlipProb { get; init; } = 0.5;
    public double Brightness { get; init; } = 0.4;
    public double Contrast { get; init; } = 0.4;
    public double Saturation { get; init; } = 0.4;
    public double Hue { get; init; } = 0.0;
    /// <summary>Probability of random erasing (timm's reprob); erased pixels get N(0, 1) values (timm's 'pixel' mode).</summary>
    public double EraseProb { get; init; } = 0.25;
    public float[] Mean { get; init; } = ImageOps.ImageNetMean;
    public float[] Std { get; init; } = ImageOps.ImageNetStd;

    /// <summary>The evaluation transform: resize to Size×Size (bilinear), normalise.</summary>
    public static ClsTransform Eval(int size) => new() { Size = size, Train = false };

    /// <summary>Transforms <paramref name="image"/> into normalised CHW floats (3 × Size × Size).</summary>
    public void Apply(ImageBuffer image, Span<float> chw, DataRng rng)
    {
        ImageBuffer img;
        if (Train)
        {
            var (y, x, h, w) = RandomResizedCropBox(image.Height, image.Width, rng);
            img = ImageOps.Resize(ImageOps.Crop(image, y, x, h, w), Size, Size);
            if (ReferenceEquals(img, image)) img = image.Clone();
            if (rng.NextDouble() < FlipProb) ImageOps.FlipHorizontal(img);
            ColorJitter(img, rng);
        }
        else img = ImageOps.Resize(image, Size, Size);
        ImageOps.NormalizeToChw(img, chw, Mean, Std);
        if (Train && EraseProb > 0 && rng.NextDouble() < EraseProb) RandomErase(chw, Size, Size, rng);
    }

    /// <summary>torchvision's RandomResizedCrop.get_params: 10 tries of area ∈ scale·A and log-uniform aspect ratio,
    /// then a centre crop clamped to the ratio range.</summary>
    public (int Y, int X, int H, int W) RandomResizedCropBox(int height, int width, DataRng rng)
    {
        double area = height * width;
        double logLo = Math.Log(Ratio.Min), logHi = Math.Log(Ratio.Max);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double target = area * rng.Uniform(Scale.Min, Scale.Max);
            double aspect = Math.Exp(rng.Uniform(logLo, logHi));
            int w = (int)Math.Round(Math.Sqrt(target * aspect));
            int h = (int)Math.Round(Math.Sqrt(target / aspect));
            if (w > 0 && w <= width && h > 0 && h <= height)
                return (rng.Next(0, height - h + 1), rng.Next(0, width - w + 1), h, w);
        }
        double inRatio = (double)width / height;
        int cw, ch;
        if (inRatio < Ratio.Min) { cw = width; ch = (int)Math.Round(cw / Ratio.Min); }
        else if (inRatio > Ratio.Max) { ch = height; cw = (int)Math.Round(ch * Ratio.Max); }
        else { cw = width; ch = height; }
        return ((height - ch) / 2, (width - cw) / 2, ch, cw);
    }

    /// <summary>torchvision's ColorJitter: brightness, contrast, saturation and hue factors drawn uniformly in
    /// [1 − x, 1 + x] (hue in [−h, h]) and applied in a random order, each clamped to 0..255.</summary>
    public void ColorJitter(ImageBuffer img, DataRng rng)
    {
        var order = rng.Permutation(4);
        double b = Brightness > 0 ? rng.Uniform(Math.Max(0, 1 - Brightness), 1 + Brightness) : 1;
        double c = Contrast > 0 ? rng.Uniform(Math.Max(0, 1 - Contrast), 1 + Contrast) : 1;
        double s = Saturation > 0 ? rng.Uniform(Math.Max(0, 1 - Saturation), 1 + Saturation) : 1;
        double h = Hue > 0 ? rng.Uniform(-Hue, Hue) : 0;
        var p = img.Pixels;
        foreach (var op in order)
        {
            switch (op)
            {
                case 0 when b != 1:
                    ImageOps.ApplyLut(p, BlendLut(b, 0));
                    break;
                case 1 when c != 1:
                {
                    double mean = 0;
                    for (int i = 0; i < p.Length; i += 3) mean += Gray(p[i], p[i + 1], p[i + 2]);
                    mean /= p.Length / 3;
                    ImageOps.ApplyLut(p, BlendLut(c, mean));
                    break;
                }
                case 2 when s != 1:
                    for (int i = 0; i < p.Length; i += 3)
                    {
                        double g = Gray(p[i], p[i + 1], p[i + 2]);
                        p[i] = Clip(s * p[i] + (1 - s) * g); p[i + 1] = Clip(s * p[i + 1] + (1 - s) * g); p[i + 2] = Clip(s * p[i + 2] + (1 - s) * g);
                    }
                    break;
                case 3 when h != 0:
                {
                    var hsv = new byte[p.Length];
                    ImageOps.RgbToHsv(p, hsv);
                    int delta = (int)Math.Round(h * 180);
                    for (int i = 0; i < hsv.Length; i += 3) hsv[i] = (byte)(((hsv[i] + delta) % 180 + 180) % 180);
                    ImageOps.HsvToRgb(hsv, p);
                    break;
                }
            }
        }
    }

    private static double Gray(byte r, byte g, byte b) => 0.299 * r + 0.587 * g + 0.114 * b;
    private static byte Clip(double v) => v <= 0 ? (byte)0 : v >= 255 ? (byte)255 : (byte)v;

    private static byte[] BlendLut(double factor, double other)
    {
        var lut = new byte[256];
        for (int v = 0; v < 256; v++) lut[v] = Clip(factor * v + (1 - factor) * other);
        return lut;
    }

    /// <summary>timm's RandomErasing (one box, area ∈ [0.02, 1/3]·A, log-uniform aspect in [0.3, 3.3], up to 10 tries),
    /// filling the box in every channel with N(0, 1) values.</summary>
    public static void RandomErase(Span<float> chw, int height, int width, DataRng rng)
    {
        double area = height * width;
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double target = area * rng.Uniform(0.02, 1.0 / 3);
            double aspect = Math.Exp(rng.Uniform(Math.Log(0.3), Math.Log(1 / 0.3)));
            int h = (int)Math.Round(Math.Sqrt(target * aspect)), w = (int)Math.Round(Math.Sqrt(target / aspect));
            if (w < width && h < height && w > 0 && h > 0)
            {
                int top = rng.Next(0, height - h), left = rng.Next(0, width - w);
                for (int c = 0; c < 3; c++)
                    for (int y = top; y < top + h; y++)
                        for (int x = left; x < left + w; x++)
                            chw[c * height * width + y * width + x] = (float)rng.Normal();
                return;
            }
        }
    }
}

/// <summary>
/// timm's batch-level Mixup/CutMix with label smoothing. Targets are one-hot smoothed (off = ε/K, on = 1 − ε + ε/K);
/// with probability <see cref="Prob"/> a batch is mixed with its reversed self: CutMix (with probability
/// <see cref="SwitchProb"/> when both are enabled) pastes a box of area ≈ (1 − λ) and corrects λ to the exact box area,
/// Mixup blends x = λ·x + (1 − λ)·x.flip(0); λ ~ Beta(α, α). Targets become λ·y + (1 − λ)·y.flip(0).
/// </summary>
public sealed class MixupCutmix
{
    public double MixupAlpha { get; init; } = 0.8;
    public double CutmixAlpha { get; init; } = 1.0;
    public double Prob { get; init; } = 1.0;
    public double SwitchProb { get; init; } = 0.5;
    public double LabelSmoothing { get; init; } = 0.1;

    /// <summary>True when a batch can be mixed (an α > 0 and a probability > 0): its samples then depend on each other.</summary>
    public bool Mixes => (MixupAlpha > 0 || CutmixAlpha > 0) && Prob > 0;

    /// <summary>No mixing and no smoothing: plain one-hot targets.</summary>
    public static MixupCutmix None { get; } = new() { MixupAlpha = 0, CutmixAlpha = 0, Prob = 0, LabelSmoothing = 0 };

    /// <summary>Mixes the batch <paramref name="x"/> (N×3×H×W) in place and fills <paramref name="targets"/> (N×K); returns λ.</summary>
    public double Apply(float[] x, int[] labels, float[] targets, int n, int height, int width, int numClasses, DataRng rng)
    {
        double off = LabelSmoothing / numClasses, on = 1 - LabelSmoothing + off;
        double lam = 1;
        bool enabled = (MixupAlpha > 0 || CutmixAlpha > 0) && rng.NextDouble() < Prob;
        if (enabled)
        {
            bool cutmix = CutmixAlpha > 0 && (MixupAlpha <= 0 || rng.NextDouble() < SwitchProb);
            lam = cutmix ? rng.Beta(CutmixAlpha, CutmixAlpha) : rng.Beta(MixupAlpha, MixupAlpha);
            int plane = 3 * height * width;
            var orig = (float[])x.Clone();
            if (cutmix)
            {
                double cut = Math.Sqrt(1 - lam);
                int ch = (int)(height * cut), cw = (int)(width * cut);
                int cy = rng.Next(0, height), cx = rng.Next(0, width);
                int y0 = Math.Clamp(cy - ch / 2, 0, height), y1 = Math.Clamp(cy + ch / 2, 0, height);
                int x0 = Math.Clamp(cx - cw / 2, 0, width), x1 = Math.Clamp(cx + cw / 2, 0, width);
                for (int i = 0; i < n; i++)
                {
                    int j = n - 1 - i;
                    for (int c = 0; c < 3; c++)
                        for (int y = y0; y < y1; y++)
                            orig.AsSpan(j * plane + c * height * width + y * width + x0, x1 - x0)
                                .CopyTo(x.AsSpan(i * plane + c * height * width + y * width + x0));
                }
                lam = 1 - (double)(y1 - y0) * (x1 - x0) / (height * width);
            }
            else
            {
                float a = (float)lam, b = (float)(1 - lam);
                for (int i = 0; i < n; i++)
                {
                    int j = n - 1 - i;
                    var dst = x.AsSpan(i * plane, plane);
                    var src = orig.AsSpan(j * plane, plane);
                    var self = orig.AsSpan(i * plane, plane);
                    for (int p = 0; p < plane; p++) dst[p] = a * self[p] + b * src[p];
                }
            }
        }
        for (int i = 0; i < n; i++)
        {
            int j = n - 1 - i;
            var row = targets.AsSpan(i * numClasses, numClasses);
            row.Fill((float)off);
            row[labels[i]] += (float)(lam * (on - off));
            row[labels[j]] += (float)((1 - lam) * (on - off));
        }
        return lam;
    }
}
