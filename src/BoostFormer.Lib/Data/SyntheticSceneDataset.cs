namespace BoostFormer.Data;

/// <summary>
/// A deterministic procedural segmentation dataset that needs no files: each sample is a textured background (class 0)
/// with 3–9 overlapping shapes (discs, boxes, triangles: the shape follows the class) of classes 1..K−1, each filled
/// with its class colour modulated by a class-specific stripe texture and pixel noise. Sample i depends only on
/// (seed, i), so any size and any count are reproducible. The embedded default when no data root is given.
/// </summary>
public sealed class SyntheticSceneDataset : ISegmentationDataset
{
    public DatasetInfo Info { get; }
    public int Count { get; }
    public int Height { get; }
    public int Width { get; }
    public long Seed { get; }

    public SyntheticSceneDataset(int numClasses = 19, int count = 256, int height = 512, int width = 512, long seed = 0)
    {
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), count, "count must be positive");
        if (height < 8 || width < 8) throw new ArgumentOutOfRangeException(nameof(height), $"{height}x{width}", "images must be at least 8x8");
        Info = DatasetInfo.Synthetic(numClasses);
        Count = count; Height = height; Width = width; Seed = seed;
    }

    public string Describe(int index) => $"synthetic[{index}] (seed {Seed})";

    public SegmentationSample Get(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"the dataset has {Count} samples");
        var rng = new DataRng(DataRng.Mix((ulong)Seed, 0x5EED, (ulong)index));
        int h = Height, w = Width, k = Info.NumClasses;
        var img = new ImageBuffer(h, w, 3);
        var lbl = new LabelMap(h, w);
        var px = img.Pixels;
        var lb = lbl.Labels;
        var pal = Info.Palette;

        // Background: a diagonal gradient of class 0's colour plus noise.
        double gx = rng.Uniform(-0.4, 0.4), gy = rng.Uniform(-0.4, 0.4);
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
        {
            double f = 1 + gx * (x / (double)w - 0.5) + gy * (y / (double)h - 0.5);
            int o = 3 * (y * w + x);
            int n = (int)(NoiseHash((ulong)index, (uint)(y * w + x)) % 17) - 8;
            px[o] = Clamp(pal[0] * f + n); px[o + 1] = Clamp(pal[1] * f + n); px[o + 2] = Clamp(pal[2] * f + n);
        }

        int shapes = rng.Next(3, 10);
        for (int s = 0; s < shapes; s++)
        {
            int c = rng.Next(1, k);
            double cx = rng.Uniform(0, w), cy = rng.Uniform(0, h);
            double r = rng.Uniform(0.08, 0.3) * Math.Min(h, w);
            double angle = rng.Uniform(0, Math.PI);
            double stripe = 0.15 + 0.05 * (c % 7), orient = c * 0.7;
            double co = Math.Cos(orient), so = Math.Sin(orient);
            int shape = (c - 1) % 3;
            double ca = Math.Cos(angle), sa = Math.Sin(angle);
            int x0 = Math.Max(0, (int)(cx - r * 1.5)), x1 = Math.Min(w - 1, (int)(cx + r * 1.5));
            int y0 = Math.Max(0, (int)(cy - r * 1.5)), y1 = Math.Min(h - 1, (int)(cy + r * 1.5));
            for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++)
            {
                double dx = x - cx, dy = y - cy;
                // Rotate into the shape's frame.
                double u = dx * ca + dy * sa, v = -dx * sa + dy * ca;
                bool inside = shape switch
                {
                    0 => u * u + v * v <= r * r,
                    1 => Math.Abs(u) <= r && Math.Abs(v) <= r * 0.6,
                    _ => v >= -r * 0.5 && v <= r && Math.Abs(u) <= (r - v) * 0.577,
                };
                if (!inside) continue;
                int i = y * w + x;
                lb[i] = (byte)c;
                double t = 0.8 + 0.2 * Math.Sin((x * co + y * so) * stripe);
                int n = (int)(NoiseHash((ulong)index * 31 + (ulong)s, (uint)i) % 13) - 6;
                px[3 * i] = Clamp(pal[3 * c] * t + n);
                px[3 * i + 1] = Clamp(pal[3 * c + 1] * t + n);
                px[3 * i + 2] = Clamp(pal[3 * c + 2] * t + n);
            }
        }
        return new SegmentationSample(img, lbl, Describe(index), Describe(index));
    }

    private static byte Clamp(double v) => v <= 0 ? (byte)0 : v >= 255 ? (byte)255 : (byte)(v + 0.5);

    private static ulong NoiseHash(ulong a, uint b)
    {
        ulong z = a * 0x9E3779B97F4A7C15UL + b;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
