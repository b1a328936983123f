namespace BoostFormer.Visualization;

/// <summary>Images laid out in a grid with captions (HTML), e.g. image / ground truth / prediction side by side.</summary>
public sealed class ImageGrid : RichOutput
{
    private readonly List<Image> _images;

    /// <summary>A grid of <paramref name="images"/> (their captions are shown) with <paramref name="columns"/> per row.</summary>
    public ImageGrid(IEnumerable<Image> images, int columns = 4, string? title = null, int? cellWidth = null)
    {
        _images = images.ToList();
        if (_images.Count == 0) throw new ArgumentException("ImageGrid needs at least one image", nameof(images));
        if (columns < 1) throw new ArgumentOutOfRangeException(nameof(columns), $"columns must be >= 1, got {columns}");
        Columns = columns;
        Title = title;
        CellWidth = cellWidth;
    }

    /// <summary>A grid from (image, caption) pairs.</summary>
    public static ImageGrid Of(int columns, params (Image Image, string Caption)[] items) =>
        new(items.Select(i => i.Image.WithCaption(i.Caption)), columns);

    /// <summary>Images per row.</summary>
    public int Columns { get; }
    /// <summary>Optional title above the grid.</summary>
    public string? Title { get; }
    /// <summary>Display width of each cell in pixels (default: the images' own width); larger images are stored downscaled to it.</summary>
    public int? CellWidth { get; }
    /// <summary>The images.</summary>
    public IReadOnlyList<Image> Images => _images;

    /// <inheritdoc />
    public override string ToHtml()
    {
        var sb = new System.Text.StringBuilder();
        sb.Append("<div class=\"bf-image-grid\">");
        if (Title is not null) sb.Append($"<div style=\"font:bold 14px sans-serif;margin:4px 0\">{Escape(Title)}</div>");
        sb.Append($"<div style=\"display:grid;grid-template-columns:repeat({Columns}, max-content);gap:6px\">");
        foreach (var im in _images)
        {
            int w = CellWidth ?? im.Width;
            int h = Math.Max(1, (int)Math.Round((double)im.Height * w / im.Width));
            // Images larger than their cell are stored at the cell size: the notebook stays small.
            var shown = w < im.Width ? im.Downscale(w, h) : im;
            sb.Append("<figure style=\"margin:0\">")
              .Append($"<img src=\"{shown.DataUri}\" width=\"{w}\" height=\"{h}\" alt=\"{Escape(im.Caption ?? "")}\" style=\"image-rendering:pixelated\"/>");
            if (im.Caption is not null) sb.Append($"<figcaption style=\"text-align:center;font:12px sans-serif\">{Escape(im.Caption)}</figcaption>");
            sb.Append("</figure>");
        }
        sb.Append("</div></div>");
        return sb.ToString();
    }

    /// <inheritdoc />
    public override IEnumerable<(string Mime, string Data)> Formats()
    {
        yield return (MimeTypes.Html, ToHtml());
        yield return (MimeTypes.Plain, ToString());
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"ImageGrid ({_images.Count} images, {Columns} columns)" + (Title is null ? "" : $" \"{Title}\"") + ": " +
        string.Join("; ", _images.Select(i => i.Caption ?? $"{i.Width}x{i.Height}"));
}
