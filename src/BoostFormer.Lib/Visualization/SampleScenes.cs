using System.Globalization;
using BoostFormer.Data;
using BoostFormer.IO;

namespace BoostFormer.Visualization;

/// <summary>An image with its per-pixel class ids (row-major, <see cref="Image.Width"/> × <see cref="Image.Height"/>).</summary>
public sealed record LabelledImage(Image Image, int[] Labels, DatasetInfo Dataset, string Source)
{
    /// <summary>The label map coloured with the dataset's palette.</summary>
    public Image Colorized(string? caption = "labels") => Segmentation.Colorize(Labels, Image.Width, Image.Height, Dataset, caption);

    /// <summary>The label map blended over the image.</summary>
    public Image Overlay(double alpha = 0.5, string? caption = "overlay") =>
        Segmentation.Overlay(Image, Labels, Image.Width, Image.Height, Dataset, alpha, caption);

    /// <summary>Image, labels and overlay side by side.</summary>
    public ImageGrid Grid(int? cellWidth = null) =>
        new(new[] { Image.WithCaption(Path.GetFileName(Source)), Colorized(), Overlay() }, columns: 3, cellWidth: cellWidth);

    /// <summary>Legend of the classes present.</summary>
    public Legend Legend() => new(Dataset, Labels.Where(l => (uint)l < (uint)Dataset.NumClasses).Distinct().OrderBy(l => l).ToArray());
}

/// <summary>
/// Sample images for notebooks and demos: a real CamVid frame when a data root is available, otherwise a synthetic street
/// scene drawn with CamVid's classes, so every notebook shows a picture even without data.
/// </summary>
public static class SampleScenes
{
    /// <summary>
    /// The <paramref name="index"/>-th pair of CamVid's <c>train.txt</c> under <paramref name="dataRoot"/> (SegNet layout:
    /// <c>camvid/train/*.png</c>, <c>camvid/trainannot/*.png</c>).
    /// </summary>
    public static LabelledImage CamVid(string dataRoot, int index = 0, string split = "train")
    {
        var list = Path.Combine(dataRoot, "camvid", split + ".txt");
        if (!File.Exists(list)) throw new FileNotFoundException($"CamVid split list '{list}' does not exist (expected the SegNet layout under <data root>/camvid)", list);
        var lines = File.ReadAllLines(list).Where(l => l.Trim().Length > 0).ToArray();
        if (index < 0 || index >= lines.Length) throw new ArgumentOutOfRangeException(nameof(index), $"{list} has {lines.Length} pairs, index {index} is out of range");
        var parts = lines[index].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2) throw new InvalidDataException($"{list} line {index + 1}: expected 'image label', got '{lines[index]}'");
        var imgPath = Path.Combine(dataRoot, "camvid", parts[0]);
        var lblPath = Path.Combine(dataRoot, "camvid", parts[1]);
        var image = Image.Load(imgPath);
        var lbl = ImageCodec.DecodeFile(lblPath, ImageReadMode.Label);
        if (lbl.Channels != 1 || lbl.Width != image.Width || lbl.Height != image.Height)
            throw new InvalidDataException($"{lblPath}: expected a {image.Width}x{image.Height} single-channel label map, got {lbl.Width}x{lbl.Height}x{lbl.Channels}");
        return new LabelledImage(image, lbl.Pixels.Select(b => (int)b).ToArray(), DatasetInfo.CamVid, imgPath);
    }

    /// <summary>
    /// A synthetic street scene (sky, buildings, trees, road, pavement, a car, a pole) of <paramref name="width"/> ×
    /// <paramref name="height"/> pixels with CamVid class ids and mild per-pixel noise; deterministic for a seed.
    /// </summary>
    public static LabelledImage Synthetic(int width = 480, int height = 360, int seed = 0)
    {
        if (width < 32 || height < 32) throw new ArgumentOutOfRangeException(nameof(width), $"synthetic scene needs at least 32x32 pixels, got {width}x{height}");
        var rng = new Random(seed);
        var labels = new int[width * height];
        int horizon = (int)(height * (0.55 + 0.05 * rng.NextDouble()));
        const int Sky = 0, Building = 1, Pole = 2, Road = 3, Pavement = 4, Tree = 5, Car = 8;
        // Skyline heights per building block.
        var roofs = new int[width];
        for (int x = 0; x < width;)
        {
            int w = width / 8 + rng.Next(width / 6), top = (int)(height * (0.12 + 0.3 * rng.NextDouble()));
            for (int k = x; k < Math.Min(width, x + w); k++) roofs[k] = top;
            x += w;
        }
        int treeX = (int)(width * (0.15 + 0.2 * rng.NextDouble())), treeR = height / 7;
        int carX0 = (int)(width * (0.5 + 0.2 * rng.NextDouble())), carW = width / 5, carY1 = horizon + (height - horizon) / 2, carH = height / 8;
        int poleX = (int)(width * 0.85);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int c = y < roofs[x] ? Sky : y < horizon ? Building : (x < width * 0.18 * (1 - (double)(y - horizon) / (height - horizon)) + width * 0.05 ? Pavement : Road);
                int dx = x - treeX, dy = y - (horizon - treeR);
                if (dx * dx + dy * dy < treeR * treeR) c = Tree;
                if (x >= carX0 && x < carX0 + carW && y >= carY1 - carH && y < carY1) c = Car;
                if (Math.Abs(x - poleX) <= Math.Max(1, width / 160) && y > height * 0.2 && y < horizon + 10) c = Pole;
                labels[y * width + x] = c;
            }
        // Colours: class-typical tones, shaded by height, plus noise.
        var tones = new Dictionary<int, (int R, int G, int B)>
        {
            [Sky] = (150, 185, 225), [Building] = (120, 100, 90), [Pole] = (60, 60, 60), [Road] = (95, 95, 100),
            [Pavement] = (160, 150, 140), [Tree] = (60, 110, 50), [Car] = (170, 30, 40),
        };
        var rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int i = y * width + x;
                var (r, g, b) = tones[labels[i]];
                double shade = 0.85 + 0.3 * y / height + (rng.NextDouble() - 0.5) * 0.12;
                if (labels[i] == Building && (x / 12 + y / 16) % 3 == 0) shade *= 0.7; // windows
                rgb[3 * i] = (byte)Math.Clamp(r * shade, 0, 255);
                rgb[3 * i + 1] = (byte)Math.Clamp(g * shade, 0, 255);
                rgb[3 * i + 2] = (byte)Math.Clamp(b * shade, 0, 255);
            }
        return new LabelledImage(new Image(rgb, width, height, 3), labels, DatasetInfo.CamVid, $"synthetic-street-{seed.ToString(CultureInfo.InvariantCulture)}");
    }

    /// <summary>CamVid sample <paramref name="index"/> when <paramref name="dataRoot"/> has CamVid, else the synthetic scene.</summary>
    public static LabelledImage CamVidOrSynthetic(string? dataRoot, int index = 0) =>
        dataRoot is not null && File.Exists(Path.Combine(dataRoot, "camvid", "train.txt")) ? CamVid(dataRoot, index) : Synthetic(seed: index);
}
