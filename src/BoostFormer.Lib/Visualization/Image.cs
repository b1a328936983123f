using TorchSharp;
using BoostFormer.IO;
using static TorchSharp.torch;

namespace BoostFormer.Visualization;

/// <summary>
/// An 8-bit raster image (grey, RGB or RGBA, row-major interleaved) that displays as a PNG. Build it from a tensor, from
/// arrays, or load a PNG; <see cref="Segmentation"/> colours label maps and <see cref="ImageGrid"/> lays images out.
/// </summary>
public sealed class Image : RichOutput
{
    private byte[]? _png;

    /// <summary>Wraps interleaved 8-bit pixels (<paramref name="channels"/> = 1, 2, 3 or 4 per pixel).</summary>
    public Image(byte[] pixels, int width, int height, int channels, string? caption = null)
    {
        if (width <= 0 || height <= 0) throw new ArgumentOutOfRangeException(nameof(width), $"image size must be positive, got {width}x{height}");
        if (channels is < 1 or > 4) throw new ArgumentOutOfRangeException(nameof(channels), $"channels must be 1..4, got {channels}");
        if (pixels.LongLength != (long)width * height * channels)
            throw new ArgumentException($"pixel buffer has {pixels.LongLength} bytes, expected {width}x{height}x{channels}", nameof(pixels));
        Pixels = pixels;
        Width = width;
        Height = height;
        Channels = channels;
        Caption = caption;
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }
    /// <summary>Height in pixels.</summary>
    public int Height { get; }
    /// <summary>Samples per pixel: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA.</summary>
    public int Channels { get; }
    /// <summary>Row-major interleaved samples.</summary>
    public byte[] Pixels { get; }
    /// <summary>Optional caption shown under the image in HTML.</summary>
    public string? Caption { get; }

    /// <summary>A copy with a caption.</summary>
    public Image WithCaption(string? caption) => new(Pixels, Width, Height, Channels, caption);

    /// <summary>The PNG encoding (computed once).</summary>
    public byte[] ToPng() => _png ??= Png.Encode(Pixels, Width, Height, Channels);

    /// <summary>Writes the image as a PNG file (temp file + rename).</summary>
    public void Save(string path)
    {
        var tmp = path + ".tmp";
        File.WriteAllBytes(tmp, ToPng());
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Loads a PNG or JPEG file as RGB (libpng/libjpeg through <see cref="ImageCodec"/>).</summary>
    public static Image Load(string path, string? caption = null)
    {
        var d = ImageCodec.DecodeFile(path, ImageReadMode.Rgb);
        return new Image(d.Pixels, d.Width, d.Height, d.Channels, caption);
    }

    /// <summary>
    /// An image from a tensor: <c>[3,H,W]</c> / <c>[1,H,W]</c> (channels first, as models use), <c>[H,W,3]</c> /
    /// <c>[H,W,4]</c> (channels last, as decoders return) or <c>[H,W]</c>. A leading batch dimension of 1 is dropped. When
    /// both the first and the last dimension could hold channels, the smaller is taken (a tie means channels first).
    /// uint8 tensors are taken as is. Floating tensors are scaled from [<paramref name="min"/>, <paramref name="max"/>]
    /// to [0, 255]; when the range is not given, [0, 1] is used if all values lie in it, else the tensor's own min/max.
    /// Single-channel float images can be drawn with a colour map (<paramref name="colormap"/> "viridis" or "gray").
    /// </summary>
    public static Image FromTensor(Tensor t, double? min = null, double? max = null, string colormap = "gray", string? caption = null)
    {
        using var scope = torch.NewDisposeScope();
        var x = t.detach();
        if (x.dim() == 4 && x.shape[0] == 1) x = x.squeeze(0);
        if (x.dim() is not (2 or 3))
            throw new ArgumentException($"Image.FromTensor: expected [C,H,W], [H,W,C] or [H,W], got shape [{string.Join(", ", t.shape)}]", nameof(t));
        if (x.dim() == 3)
        {
            // The channel dimension has size 1, 3 or 4. When both ends qualify (e.g. [4,5,3]) the smaller one is taken,
            // and on a tie channels first ([C,H,W], PyTorch's convention).
            bool first = x.shape[0] is 1 or 3 or 4, last = x.shape[2] is 1 or 3 or 4;
            if (!first && !last)
                throw new ArgumentException($"Image.FromTensor: cannot find a channel dimension of size 1, 3 or 4 in shape [{string.Join(", ", t.shape)}]", nameof(t));
            if (first && (!last || x.shape[0] <= x.shape[2])) x = x.permute(1, 2, 0);
        }
        int h = (int)x.shape[0], w = (int)x.shape[1], c = x.dim() == 3 ? (int)x.shape[2] : 1;
        if (x.dtype == ScalarType.Byte)
            return new Image(x.contiguous().ToArray<byte>(), w, h, c, caption);

        var f = x.to(ScalarType.Float32).contiguous().ToArray<float>();
        return FromFloats(f, w, h, c, min, max, colormap, caption);
    }

    /// <summary>
    /// An image from float samples (row-major, <paramref name="channels"/> interleaved). Range handling as in
    /// <see cref="FromTensor"/>.
    /// </summary>
    public static Image FromFloats(float[] data, int width, int height, int channels = 1, double? min = null, double? max = null,
        string colormap = "gray", string? caption = null)
    {
        if (data.LongLength != (long)width * height * channels)
            throw new ArgumentException($"Image.FromFloats: {data.LongLength} values, expected {width}x{height}x{channels}", nameof(data));
        double lo = min ?? double.PositiveInfinity, hi = max ?? double.NegativeInfinity;
        if (min is null || max is null)
        {
            double dmin = double.PositiveInfinity, dmax = double.NegativeInfinity;
            foreach (var v in data) { if (float.IsFinite(v)) { dmin = Math.Min(dmin, v); dmax = Math.Max(dmax, v); } }
            if (double.IsInfinity(dmin)) { dmin = 0; dmax = 1; }
            bool unit = dmin >= 0 && dmax <= 1;
            lo = min ?? (unit ? 0 : dmin);
            hi = max ?? (unit ? 1 : dmax);
        }
        double scale = hi > lo ? 1.0 / (hi - lo) : 0;
        if (channels == 1 && colormap != "gray")
        {
            Func<double, (byte, byte, byte)> cm = colormap switch
            {
                "viridis" => Colormaps.Viridis,
                _ => throw new ArgumentException($"unknown colour map '{colormap}' (use gray or viridis)", nameof(colormap)),
            };
            var rgb = new byte[(long)width * height * 3];
            for (long i = 0; i < data.LongLength; i++)
            {
                var (r, g, b) = cm((data[i] - lo) * scale);
                rgb[3 * i] = r; rgb[3 * i + 1] = g; rgb[3 * i + 2] = b;
            }
            return new Image(rgb, width, height, 3, caption);
        }
        var px = new byte[data.LongLength];
        for (long i = 0; i < data.LongLength; i++)
            px[i] = (byte)Math.Round(Math.Clamp(float.IsNaN(data[i]) ? 0 : (data[i] - lo) * scale, 0, 1) * 255);
        return new Image(px, width, height, channels, caption);
    }

    /// <summary>An image from a 2-D array of values (rows × columns), e.g. an attention or feature map.</summary>
    public static Image FromArray(float[,] values, string colormap = "viridis", double? min = null, double? max = null, string? caption = null)
    {
        int h = values.GetLength(0), w = values.GetLength(1);
        var flat = new float[h * w];
        Buffer.BlockCopy(values, 0, flat, 0, flat.Length * sizeof(float));
        return FromFloats(flat, w, h, 1, min, max, colormap, caption);
    }

    /// <summary>An RGB image from interleaved bytes.</summary>
    public static Image FromRgb(byte[] rgb, int width, int height, string? caption = null) => new(rgb, width, height, 3, caption);

    /// <summary>The image as a float tensor <c>[C,H,W]</c> in [0, 1] (alpha dropped).</summary>
    public Tensor ToTensor()
    {
        int c = Channels is 2 or 4 ? Channels - 1 : Channels;
        var f = new float[(long)c * Width * Height];
        long plane = (long)Width * Height;
        for (long i = 0; i < plane; i++)
            for (int k = 0; k < c; k++) f[k * plane + i] = Pixels[i * Channels + k] / 255f;
        return torch.tensor(f, new long[] { c, Height, Width });
    }

    /// <summary>Nearest-neighbour resize to <paramref name="width"/> × <paramref name="height"/>.</summary>
    public Image Resize(int width, int height)
    {
        var o = new byte[(long)width * height * Channels];
        for (int y = 0; y < height; y++)
        {
            int sy = (int)((long)y * Height / height);
            for (int x = 0; x < width; x++)
            {
                int sx = (int)((long)x * Width / width);
                Array.Copy(Pixels, ((long)sy * Width + sx) * Channels, o, ((long)y * width + x) * Channels, Channels);
            }
        }
        return new Image(o, width, height, Channels, Caption);
    }

    /// <summary>
    /// Shrinks to <paramref name="width"/> × <paramref name="height"/> by averaging the source pixels each target pixel
    /// covers (area resampling: no aliasing on photos); enlarging falls back to <see cref="Resize"/>.
    /// </summary>
    public Image Downscale(int width, int height)
    {
        if (width >= Width || height >= Height) return width == Width && height == Height ? this : Resize(width, height);
        var o = new byte[(long)width * height * Channels];
        var sum = new double[Channels];
        for (int y = 0; y < height; y++)
        {
            int y0 = (int)((long)y * Height / height), y1 = Math.Max(y0 + 1, (int)((long)(y + 1) * Height / height));
            for (int x = 0; x < width; x++)
            {
                int x0 = (int)((long)x * Width / width), x1 = Math.Max(x0 + 1, (int)((long)(x + 1) * Width / width));
                Array.Clear(sum);
                for (int sy = y0; sy < y1; sy++)
                    for (int sx = x0; sx < x1; sx++)
                        for (int k = 0; k < Channels; k++) sum[k] += Pixels[((long)sy * Width + sx) * Channels + k];
                int n = (y1 - y0) * (x1 - x0);
                for (int k = 0; k < Channels; k++) o[((long)y * width + x) * Channels + k] = (byte)Math.Round(sum[k] / n, MidpointRounding.AwayFromZero);
            }
        }
        return new Image(o, width, height, Channels, Caption);
    }

    /// <summary>Integer nearest-neighbour upscaling (keeps small feature maps crisp).</summary>
    public Image Scale(int factor) => factor == 1 ? this : Resize(Width * factor, Height * factor);

    /// <summary>The image as 3-channel RGB (grey replicated, alpha composited on white).</summary>
    public Image ToRgb()
    {
        if (Channels == 3) return this;
        long n = (long)Width * Height;
        var o = new byte[n * 3];
        for (long i = 0; i < n; i++)
        {
            int a = Channels is 2 or 4 ? Pixels[i * Channels + Channels - 1] : 255;
            for (int k = 0; k < 3; k++)
            {
                int v = Channels <= 2 ? Pixels[i * Channels] : Pixels[i * Channels + k];
                o[i * 3 + k] = (byte)((v * a + 255 * (255 - a) + 127) / 255);
            }
        }
        return new Image(o, Width, Height, 3, Caption);
    }

    /// <summary>PNG as a data URI.</summary>
    public string DataUri => "data:image/png;base64," + Convert.ToBase64String(ToPng());

    /// <inheritdoc />
    public override string ToHtml()
    {
        var img = $"<img src=\"{DataUri}\" width=\"{Width}\" height=\"{Height}\" alt=\"{Escape(Caption ?? $"{Width}x{Height} image")}\" style=\"image-rendering:pixelated\"/>";
        return Caption is null ? img : $"<figure style=\"display:inline-block;margin:4px\">{img}<figcaption style=\"text-align:center;font:12px sans-serif\">{Escape(Caption)}</figcaption></figure>";
    }

    /// <inheritdoc />
    /// <remarks>
    /// An image without caption is an <c>image/png</c> output; a captioned one is an HTML figure (the PNG inlined as a data
    /// URI) so that the caption shows, without storing the PNG twice.
    /// </remarks>
    public override IEnumerable<(string Mime, string Data)> Formats()
    {
        if (Caption is null) yield return (MimeTypes.Png, Convert.ToBase64String(ToPng()));
        else yield return (MimeTypes.Html, ToHtml());
        yield return (MimeTypes.Plain, ToString());
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"Image {Width}x{Height} {(Channels switch { 1 => "grey", 2 => "grey+alpha", 3 => "RGB", _ => "RGBA" })}" + (Caption is null ? "" : $" \"{Caption}\"");
}
