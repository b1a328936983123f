using BoostFormer.IO;

namespace BoostFormer.Data;

/// <summary>An 8-bit image in HWC order (RGB: 3 channels), the unit the transforms work on.</summary>
public sealed class ImageBuffer
{
    public int Height { get; }
    public int Width { get; }
    public int Channels { get; }
    public byte[] Pixels { get; }

    public ImageBuffer(int height, int width, int channels, byte[]? pixels = null)
    {
        if (height <= 0 || width <= 0 || channels <= 0) throw new ArgumentException($"image size {height}x{width}x{channels} must be positive");
        Height = height; Width = width; Channels = channels;
        Pixels = pixels ?? new byte[checked(height * width * channels)];
        if (Pixels.Length != height * width * channels) throw new ArgumentException($"{Pixels.Length} bytes for a {height}x{width}x{channels} image");
    }

    public ImageBuffer Clone() => new(Height, Width, Channels, (byte[])Pixels.Clone());
}

/// <summary>A label map (HW, one byte a pixel): class indices, <see cref="DatasetInfo.IgnoreIndex"/> for ignored pixels.</summary>
public sealed class LabelMap
{
    public int Height { get; }
    public int Width { get; }
    public byte[] Labels { get; }

    public LabelMap(int height, int width, byte[]? labels = null)
    {
        if (height <= 0 || width <= 0) throw new ArgumentException($"label map size {height}x{width} must be positive");
        Height = height; Width = width;
        Labels = labels ?? new byte[checked(height * width)];
        if (Labels.Length != height * width) throw new ArgumentException($"{Labels.Length} labels for a {height}x{width} map");
    }

    public LabelMap Clone() => new(Height, Width, (byte[])Labels.Clone());
}

/// <summary>One segmentation sample: the image, its label map and where they came from.</summary>
public sealed record SegmentationSample(ImageBuffer Image, LabelMap Label, string ImagePath, string LabelPath);

/// <summary>A dataset whose layout or content is wrong: the message names the path, what was expected and what was found.</summary>
public sealed class DataFormatException : IOException
{
    public string? FilePath { get; }
    /// <summary>True when the error is a missing folder/file of the layout (a split that is not there), not bad content.</summary>
    public bool IsMissingPath { get; init; }
    public DataFormatException(string message, string? path = null, Exception? inner = null) : base(message, inner) { FilePath = path; }
}

/// <summary>Image/label reading shared by the datasets, with errors that name the file.</summary>
public static class SampleReader
{
    /// <summary>Reads an RGB image (gray and palette images become RGB, alpha is dropped).</summary>
    public static ImageBuffer ReadRgb(string path)
    {
        var d = ImageCodec.DecodeFile(path, ImageReadMode.Rgb);
        return new ImageBuffer(d.Height, d.Width, 3, d.Pixels);
    }

    /// <summary>Reads a single-channel label map (palette indices kept) and maps it through <paramref name="lut"/>
    /// (256 entries; 255 = ignore). A value whose value is listed in <paramref name="invalidMarker"/> raises an error naming the file and value.</summary>
    public static LabelMap ReadLabel(string path, ReadOnlySpan<byte> lut, int expectedHeight, int expectedWidth, string imagePath, short[]? invalidMarker = null)
    {
        var d = ImageCodec.DecodeFile(path, ImageReadMode.Label);
        if (d.Pixels16 is not null)
            throw new DataFormatException($"{path}: 16-bit label map; expected 8-bit class values", path);
        if (d.Height != expectedHeight || d.Width != expectedWidth)
            throw new DataFormatException($"{path}: label map is {d.Width}x{d.Height} (WxH) but its image {imagePath} is {expectedWidth}x{expectedHeight}", path);
        var src = d.Pixels;
        var dst = new byte[src.Length];
        Span<bool> bad = stackalloc bool[256];
        if (invalidMarker is not null) foreach (var v in invalidMarker) bad[v] = true;
        for (int i = 0; i < src.Length; i++)
        {
            var v = src[i];
            if (bad[v]) throw new DataFormatException($"{path}: label value {v} at pixel (x={i % d.Width}, y={i / d.Width}) is neither a class nor the ignore value", path);
            dst[i] = lut[v];
        }
        return new LabelMap(d.Height, d.Width, dst);
    }
}
