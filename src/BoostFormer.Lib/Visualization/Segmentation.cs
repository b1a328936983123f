using BoostFormer.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Visualization;

/// <summary>
/// Colours segmentation label maps with a dataset's palette (<see cref="DatasetInfo"/>: <c>DatasetInfo.Ade20k</c>,
/// <c>DatasetInfo.Cityscapes</c>, <c>DatasetInfo.CamVid</c>, …) and blends them over images.
/// </summary>
public static class Segmentation
{
    /// <summary>Colour used for ignored / out-of-palette labels (black).</summary>
    public static readonly (byte R, byte G, byte B) IgnoreColor = (0, 0, 0);

    /// <summary>
    /// Colours a label map: a tensor <c>[H,W]</c> (or <c>[1,H,W]</c>) of integer class ids. Ids outside the palette (e.g.
    /// 255 or CamVid's 11 = void) are drawn in <see cref="IgnoreColor"/>.
    /// </summary>
    public static Image Colorize(Tensor labels, DatasetInfo dataset, string? caption = null)
    {
        var (ids, h, w) = Labels(labels);
        return Colorize(ids, w, h, dataset, caption);
    }

    /// <summary>Colours a row-major label map of <paramref name="width"/> × <paramref name="height"/> class ids.</summary>
    public static Image Colorize(ReadOnlySpan<int> labels, int width, int height, DatasetInfo dataset, string? caption = null)
    {
        if (labels.Length != width * height) throw new ArgumentException($"label map has {labels.Length} values, expected {width}x{height}", nameof(labels));
        var rgb = new byte[labels.Length * 3];
        var pal = dataset.Palette;
        for (int i = 0; i < labels.Length; i++)
        {
            int id = labels[i];
            if ((uint)id < (uint)dataset.NumClasses) { rgb[3 * i] = pal[3 * id]; rgb[3 * i + 1] = pal[3 * id + 1]; rgb[3 * i + 2] = pal[3 * id + 2]; }
            else { rgb[3 * i] = IgnoreColor.R; rgb[3 * i + 1] = IgnoreColor.G; rgb[3 * i + 2] = IgnoreColor.B; }
        }
        return new Image(rgb, width, height, 3, caption);
    }

    /// <summary>
    /// Blends the coloured label map over <paramref name="image"/>: <c>(1-alpha)·image + alpha·colour</c>; ignored pixels
    /// keep the image. The label map is resized (nearest) to the image if their sizes differ.
    /// </summary>
    public static Image Overlay(Image image, Tensor labels, DatasetInfo dataset, double alpha = 0.5, string? caption = null)
    {
        var (ids, h, w) = Labels(labels);
        return Overlay(image, ids, w, h, dataset, alpha, caption);
    }

    /// <summary>Overlay from a tensor image (any layout <see cref="Image.FromTensor"/> accepts).</summary>
    public static Image Overlay(Tensor image, Tensor labels, DatasetInfo dataset, double alpha = 0.5, string? caption = null) =>
        Overlay(Image.FromTensor(image), labels, dataset, alpha, caption);

    /// <summary>Overlay from a row-major label array.</summary>
    public static Image Overlay(Image image, ReadOnlySpan<int> labels, int width, int height, DatasetInfo dataset, double alpha = 0.5, string? caption = null)
    {
        if (alpha is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(alpha), $"alpha must be in [0, 1], got {alpha}");
        if (labels.Length != width * height) throw new ArgumentException($"label map has {labels.Length} values, expected {width}x{height}", nameof(labels));
        var rgb = image.ToRgb();
        var o = (byte[])rgb.Pixels.Clone();
        var pal = dataset.Palette;
        for (int y = 0; y < rgb.Height; y++)
        {
            int ly = (int)((long)y * height / rgb.Height);
            for (int x = 0; x < rgb.Width; x++)
            {
                int id = labels[ly * width + (int)((long)x * width / rgb.Width)];
                if ((uint)id >= (uint)dataset.NumClasses) continue;
                int p = 3 * (y * rgb.Width + x);
                for (int k = 0; k < 3; k++) o[p + k] = (byte)Math.Round((1 - alpha) * o[p + k] + alpha * pal[3 * id + k]);
            }
        }
        return new Image(o, rgb.Width, rgb.Height, 3, caption ?? image.Caption);
    }

    /// <summary>A legend (colour swatches with class names) of the classes present in <paramref name="labels"/>, or all classes.</summary>
    public static Legend Legend(DatasetInfo dataset, Tensor? labels = null)
    {
        IEnumerable<int> ids = Enumerable.Range(0, dataset.NumClasses);
        if (labels is not null)
        {
            var (l, _, _) = Labels(labels);
            var present = new HashSet<int>();
            foreach (var v in l) if ((uint)v < (uint)dataset.NumClasses) present.Add(v);
            ids = present.OrderBy(i => i);
        }
        return new Legend(dataset, ids.ToArray());
    }

    private static (int[] Ids, int H, int W) Labels(Tensor labels)
    {
        using var scope = torch.NewDisposeScope();
        var x = labels;
        while (x.dim() > 2 && x.shape[0] == 1) x = x.squeeze(0);
        if (x.dim() != 2) throw new ArgumentException($"label map must be [H,W] (or [1,H,W]), got shape [{string.Join(", ", labels.shape)}]", nameof(labels));
        if (x.is_floating_point()) throw new ArgumentException($"label map must hold integer class ids, got {x.dtype}", nameof(labels));
        var ids = x.to(ScalarType.Int32).contiguous().ToArray<int>();
        return (ids, (int)x.shape[0], (int)x.shape[1]);
    }
}

/// <summary>Colour swatches with class names.</summary>
public sealed class Legend : RichOutput
{
    /// <summary>Swatches for the class ids <paramref name="ids"/> of <paramref name="dataset"/>.</summary>
    public Legend(DatasetInfo dataset, IReadOnlyList<int> ids) { Dataset = dataset; Ids = ids; }

    /// <summary>The dataset whose classes are shown.</summary>
    public DatasetInfo Dataset { get; }

    /// <summary>Colour of class <paramref name="id"/> as <c>#rrggbb</c>.</summary>
    public string Hex(int id) { var (r, g, b) = Dataset.ColorOf(id); return $"#{r:x2}{g:x2}{b:x2}"; }
    /// <summary>The class ids shown.</summary>
    public IReadOnlyList<int> Ids { get; }

    /// <inheritdoc />
    public override string ToHtml() =>
        "<div style=\"font:12px sans-serif\">" + string.Concat(Ids.Select(i =>
            $"<span style=\"display:inline-block;margin:2px 8px 2px 0\"><span style=\"display:inline-block;width:12px;height:12px;background:{Hex(i)};vertical-align:middle;margin-right:4px;border:1px solid #888\"></span>{Escape(Dataset.ClassNames[i])}</span>")) + "</div>";

    /// <inheritdoc />
    public override IEnumerable<(string Mime, string Data)> Formats()
    {
        yield return (MimeTypes.Html, ToHtml());
        yield return (MimeTypes.Plain, ToString());
    }

    /// <inheritdoc />
    public override string ToString() => $"{Dataset.Name}: " + string.Join(", ", Ids.Select(i => $"{i} {Dataset.ClassNames[i]} {Hex(i)}"));
}
