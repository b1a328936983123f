using System.Buffers.Binary;
using System.IO.Compression;
using BoostFormer.Visualization;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.IO;

/// <summary>How <see cref="ImageCodec"/> converts decoded pixels.</summary>
public enum ImageReadMode
{
    /// <summary>As stored: gray 1, gray+alpha 2, RGB 3, RGBA 4 channels; palette PNGs give their indices; 16-bit PNGs keep 16 bits.</summary>
    Unchanged = 0,
    /// <summary>Three 8-bit channels in RGB order: palettes expanded, gray replicated, alpha dropped, 16-bit scaled to 8.</summary>
    Rgb = 1,
    /// <summary>One channel of stored values for label maps: palette indices kept (not colours), low bit depths unpacked
    /// without scaling, 16-bit kept. RGB PNGs and JPEGs are rejected.</summary>
    Label = 2,
    /// <summary>One 8-bit luminance channel: gray images as stored (16-bit scaled to 8); colour images (palette colours,
    /// RGB, JPEG) converted as <c>PIL.Image.convert("L")</c> does: L = (19595 R + 38470 G + 7471 B + 2^15) >> 16.</summary>
    Gray = 3,
}

/// <summary>Container format of an encoded image.</summary>
public enum ImageFormat { Unknown = 0, Png = 1, Jpeg = 2 }

/// <summary>Interpolation used by <see cref="ImageCodec.Resize"/>.</summary>
public enum ResizeMode
{
    /// <summary>Bilinear, align_corners=false (half-pixel centres) as cv2.INTER_LINEAR / mmcv.imresize; for images.</summary>
    Bilinear = 0,
    /// <summary>Nearest neighbour, source index floor(dst·in/out) as cv2.INTER_NEAREST; for label maps.</summary>
    Nearest = 1,
}

/// <summary>Header facts of an encoded image.</summary>
public readonly record struct ImageHeader(ImageFormat Format, int Height, int Width, int Channels, int BitDepth, bool IsPalette);

/// <summary>
/// A decoded image in HWC order. <see cref="Pixels"/> holds 8-bit samples; for 16-bit PNGs read with
/// <see cref="ImageReadMode.Unchanged"/> or <see cref="ImageReadMode.Label"/>, <see cref="Pixels16"/> holds them instead.
/// </summary>
public sealed class DecodedImage
{
    public required int Height { get; init; }
    public required int Width { get; init; }
    public required int Channels { get; init; }
    /// <summary>8-bit samples, HWC (empty when the image is 16-bit).</summary>
    public required byte[] Pixels { get; init; }
    /// <summary>16-bit samples, HWC, or null for 8-bit images.</summary>
    public int[]? Pixels16 { get; init; }
    public required ImageHeader Source { get; init; }
    /// <summary>The PNG palette (RGB triplets) of a palette image, else null.</summary>
    public byte[]? Palette { get; init; }
}

/// <summary>A file that is not a readable PNG/JPEG (corrupt, truncated, unsupported). The message names the file.</summary>
public class ImageDecodeException : IOException
{
    /// <summary>The file (or the caller's name for an in-memory buffer).</summary>
    public string? FilePath { get; }
    public ImageDecodeException(string? path, string reason) : base(path is null ? reason : $"{path}: {reason}") { FilePath = path; }
}

/// <summary>An image larger than <see cref="ImageCodec.MaxPixels"/> (the decompression-bomb guard), found from its header.</summary>
public sealed class ImageTooLargeException : ImageDecodeException
{
    public ImageTooLargeException(string? path, int height, int width, long limit)
        : base(path, string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{width}x{height} is {(long)width * height:N0} pixels, above the limit of {limit:N0} (a guard against decompression bombs); raise it with --max-pixels N or BOOSTFORMER_MAX_PIXELS=N (0 = no limit) if the image is meant to be this large"))
    { }
}

/// <summary>
/// PNG and JPEG decoding, PNG encoding and pixel resizing, all in-process and without libtorch.
/// <list type="bullet">
/// <item>Decoding goes through SkiaSharp (Skia's libpng and libjpeg-turbo) for 8-bit pixels, decoded without colour
/// management (no ICC/gAMA conversion, EXIF orientation not applied), which gives exactly
/// <c>PIL.Image.open(f).convert("RGB")</c> for RGB/gray/palette PNGs and JPEGs (checked on every file of the shared data).
/// What Skia cannot give is done here in managed code: the chunk and marker structure is walked first (so a file cut
/// anywhere, even just before its end marker, is reported as truncated, which Skia does not always do), and 16-bit PNGs,
/// palette indices and unscaled low-bit-depth label maps are decoded by a small PNG reader (zlib inflate, unfiltering,
/// Adam7) because Skia only hands out 8-bit colours.</item>
/// <item>PNG encoding is a small managed writer (zlib through <see cref="ZLibStream"/>): gray, gray+alpha, RGB, RGBA at 8
/// or 16 bits, and palette PNGs for label maps, which Skia's encoder cannot write.</item>
/// <item>Resizing is plain managed code that reproduces, bit for bit, the old codec's resize through libtorch 1.13's float32
/// <c>upsample_bilinear2d</c> (align_corners=false) and <c>upsample_nearest2d</c>, so data-loader workers never enter
/// libtorch's thread pool.</item>
/// </list>
/// All members are thread-safe.
/// </summary>
public static class ImageCodec
{
    private const int MaxDimension = 1 << 15;  // decompression-bomb limit (the libpng user limit the old codec set)

    /// <summary>PIL's <c>Image.MAX_IMAGE_PIXELS</c> (1024·1024·1024 // 4 // 3): the default <see cref="MaxPixels"/>.</summary>
    public const long DefaultMaxPixels = 89_478_485;

    private static long _maxPixels = FromEnvironment();

    /// <summary>
    /// The decompression-bomb guard, like PIL's: an image with more pixels than this (width × height, read from its header
    /// before anything is allocated) is refused with <see cref="ImageTooLargeException"/>. Default <see cref="DefaultMaxPixels"/>
    /// (89,478,485, e.g. 10,000 × 8,947); the environment variable <c>BOOSTFORMER_MAX_PIXELS</c> or the CLI's
    /// <c>--max-pixels</c> raise it (0 = no limit). Decoding holds about 4 bytes a pixel (RGB plus a label), so the
    /// default keeps one decoded sample under about 360 MB.
    /// </summary>
    public static long MaxPixels
    {
        get => Volatile.Read(ref _maxPixels);
        set
        {
            if (value < 0) throw new ArgumentOutOfRangeException(nameof(value), value, "the pixel limit must be >= 0 (0 = no limit)");
            Volatile.Write(ref _maxPixels, value);
        }
    }

    private static long FromEnvironment()
    {
        var e = Environment.GetEnvironmentVariable("BOOSTFORMER_MAX_PIXELS");
        return e is not null && long.TryParse(e, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : DefaultMaxPixels;
    }

    /// <summary>Throws <see cref="ImageTooLargeException"/> when an image of this size exceeds <see cref="MaxPixels"/>.</summary>
    public static void CheckPixels(int height, int width, string? name)
    {
        var limit = MaxPixels;
        if (limit > 0 && (long)height * width > limit) throw new ImageTooLargeException(name, height, width, limit);
    }

    /// <summary>
    /// Formerly set libtorch's OpenMP thread count for the calling thread, so that data-loader workers decoding and resizing
    /// through libtorch did not each fan out over every core. The codec no longer calls libtorch (decoding is SkiaSharp,
    /// resizing is managed single-threaded code) and TorchSharp offers no per-thread setting, so this does nothing and
    /// returns false. Kept so that callers (data-loader workers) need not change.
    /// </summary>
    public static bool SetThreadLocalNumThreads(int n) => false;

    /// <summary>Decodes a PNG or JPEG held in memory; <paramref name="name"/> is used in error messages.</summary>
    /// <exception cref="ImageDecodeException">The data is not a complete, valid PNG/JPEG, or does not fit <paramref name="mode"/>.</exception>
    public static DecodedImage Decode(ReadOnlySpan<byte> data, ImageReadMode mode = ImageReadMode.Rgb, string? name = null)
    {
        if (mode is < ImageReadMode.Unchanged or > ImageReadMode.Gray) throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown read mode");
        if (data.IsEmpty) throw new ImageDecodeException(name, "empty file");
        return Sniff(data) switch
        {
            ImageFormat.Png => DecodePng(data, mode, name),
            ImageFormat.Jpeg => DecodeJpeg(data, mode, name),
            _ => throw new ImageDecodeException(name, "not a PNG or JPEG file (unrecognised signature)"),
        };
    }

    /// <summary>Reads and decodes a file. Errors (missing, corrupt, truncated) name the file.</summary>
    public static DecodedImage DecodeFile(string path, ImageReadMode mode = ImageReadMode.Rgb) => Decode(ReadAll(path), mode, path);

    /// <summary>Decodes into an HWC tensor: uint8, or int32 for 16-bit PNG samples (torchvision's <c>decode_image</c> layout is CHW; permute if needed).</summary>
    public static Tensor DecodeToTensor(ReadOnlySpan<byte> data, ImageReadMode mode = ImageReadMode.Rgb, string? name = null)
    {
        var d = Decode(data, mode, name);
        var shape = new long[] { d.Height, d.Width, d.Channels };
        return d.Pixels16 is { } p16 ? torch.tensor(p16, shape, ScalarType.Int32) : torch.tensor(d.Pixels, shape, ScalarType.Byte);
    }

    /// <summary>Reads a file into an HWC tensor (see <see cref="DecodeToTensor"/>).</summary>
    public static Tensor ReadImage(string path, ImageReadMode mode = ImageReadMode.Rgb) => DecodeToTensor(ReadAll(path), mode, path);

    private static byte[] ReadAll(string path)
    {
        try { return File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new ImageDecodeException(path, e.Message); }
    }

    /// <summary>Reads only the header (size, channels, bit depth) of a PNG or JPEG file.</summary>
    public static ImageHeader Probe(string path)
    {
        byte[] buf;
        int n;
        try
        {
            using var f = File.OpenRead(path);
            buf = new byte[4 * 1024];
            n = f.ReadAtLeast(buf, buf.Length, throwOnEndOfStream: false);
            // A JPEG's frame header can sit behind a large EXIF/ICC segment: then read the whole file.
            if (n == buf.Length && Sniff(buf) == ImageFormat.Jpeg && !ScanJpeg(buf).HasFrame)
            {
                f.Position = 0;
                buf = new byte[f.Length];
                n = f.ReadAtLeast(buf, buf.Length, throwOnEndOfStream: false);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new ImageDecodeException(path, e.Message); }
        var data = buf.AsSpan(0, n);
        switch (Sniff(data))
        {
            case ImageFormat.Png:
                if (n < 33 || !data.Slice(12, 4).SequenceEqual("IHDR"u8)) throw new ImageDecodeException(path, "PNG header truncated");
                int color = data[25];
                return new ImageHeader(ImageFormat.Png, BinaryPrimitives.ReadInt32BigEndian(data[20..]), BinaryPrimitives.ReadInt32BigEndian(data[16..]),
                    SamplesPerPixel(color), data[24], color == 3);
            case ImageFormat.Jpeg:
                var j = ScanJpeg(data);
                if (!j.HasFrame) throw new ImageDecodeException(path, "JPEG header truncated (no frame header)");
                return new ImageHeader(ImageFormat.Jpeg, j.Height, j.Width, j.Components, 8, false);
            default:
                throw new ImageDecodeException(path, "not a PNG or JPEG file (unrecognised signature)");
        }
    }

    private static ImageFormat Sniff(ReadOnlySpan<byte> d) =>
        d.Length >= 8 && d[..8].SequenceEqual(PngSignature) ? ImageFormat.Png
        : d.Length >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF ? ImageFormat.Jpeg
        : ImageFormat.Unknown;

    private static ReadOnlySpan<byte> PngSignature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    // ------------------------------------------------------------------------------------------------------------ PNG

    /// <summary>Samples per pixel of a PNG colour type (palette: one index).</summary>
    private static int SamplesPerPixel(int colorType) => colorType switch { 0 or 3 => 1, 4 => 2, 2 => 3, _ => 4 };

    private sealed class PngFile
    {
        public int Width, Height, BitDepth, ColorType, Interlace;
        public byte[]? Palette;                   // PLTE (RGB triplets), palette images only
        public readonly List<Range> Idat = new(); // IDAT payloads, in order
        public readonly List<int> Critical = new(); // offsets of the critical chunks (IHDR, PLTE, IDAT, IEND)
    }

    /// <summary>Verifies the CRCs of the critical chunks (for the managed decoder; Skia's libpng checks them itself).</summary>
    private static void CheckCrcs(ReadOnlySpan<byte> d, PngFile png, string? name)
    {
        foreach (int pos in png.Critical)
        {
            int len = BinaryPrimitives.ReadInt32BigEndian(d[pos..]);
            var typeAndBody = d.Slice(pos + 4, 4 + len);
            if (Crc32.Compute(typeAndBody) != BinaryPrimitives.ReadUInt32BigEndian(d[(pos + 8 + len)..]))
                throw PngError(name, System.Text.Encoding.ASCII.GetString(typeAndBody[..4]) + ": CRC error");
        }
    }

    /// <summary>
    /// Walks the chunks from the signature to IEND (lengths, IHDR sanity, PLTE, IDAT positions). A file that ends before
    /// IEND is truncated: libpng (and so the old codec) read up to IEND, Skia stops after the image data and would accept
    /// it.
    /// </summary>
    private static PngFile ReadPngChunks(ReadOnlySpan<byte> d, string? name)
    {
        var png = new PngFile();
        int pos = 8;
        bool header = false;
        while (true)
        {
            if (pos + 8 > d.Length) throw PngError(name, "unexpected end of data (truncated file)");
            uint len = BinaryPrimitives.ReadUInt32BigEndian(d[pos..]);
            if (len > int.MaxValue) throw PngError(name, $"chunk length {len} too large at byte {pos}");
            var type = d.Slice(pos + 4, 4);
            string typeName = System.Text.Encoding.ASCII.GetString(type);
            if (pos + 12L + len > d.Length) throw PngError(name, "unexpected end of data (truncated file)");
            var body = d.Slice(pos + 8, (int)len);
            if ((type[0] & 0x20) == 0) png.Critical.Add(pos);
            if (!header && typeName != "IHDR") throw PngError(name, "missing IHDR (first chunk is " + typeName + ")");
            switch (typeName)
            {
                case "IHDR":
                    if (len != 13) throw PngError(name, "invalid IHDR length");
                    png.Width = BinaryPrimitives.ReadInt32BigEndian(body);
                    png.Height = BinaryPrimitives.ReadInt32BigEndian(body[4..]);
                    png.BitDepth = body[8];
                    png.ColorType = body[9];
                    png.Interlace = body[12];
                    if (png.Width <= 0 || png.Height <= 0) throw PngError(name, $"invalid image size {png.Width}x{png.Height} in IHDR");
                    if (png.Width > MaxDimension || png.Height > MaxDimension) throw PngError(name, $"image size {png.Width}x{png.Height} exceeds the limit of {MaxDimension} in IHDR");
                    CheckPixels(png.Height, png.Width, name);
                    bool depthOk = png.ColorType switch
                    {
                        0 => png.BitDepth is 1 or 2 or 4 or 8 or 16,
                        3 => png.BitDepth is 1 or 2 or 4 or 8,
                        2 or 4 or 6 => png.BitDepth is 8 or 16,
                        _ => false,
                    };
                    if (!depthOk) throw PngError(name, $"invalid colour type {png.ColorType} / bit depth {png.BitDepth} in IHDR");
                    if (body[10] != 0 || body[11] != 0 || png.Interlace > 1) throw PngError(name, "unknown compression, filter or interlace method in IHDR");
                    header = true;
                    break;
                case "PLTE":
                    if (png.ColorType == 3)
                    {
                        if (len % 3 != 0 || len == 0) throw PngError(name, "invalid palette length");
                        png.Palette = body[..Math.Min(body.Length, 256 * 3)].ToArray();
                    }
                    break;
                case "IDAT":
                    if (png.ColorType == 3 && png.Palette is null) throw PngError(name, "missing PLTE before IDAT");
                    png.Idat.Add(new Range(pos + 8, pos + 8 + (int)len));
                    break;
                case "IEND":
                    if (png.Idat.Count == 0) throw PngError(name, "no image data (IDAT)");
                    return png;
            }
            pos += 12 + (int)len;
        }
    }

    private static ImageDecodeException PngError(string? name, string msg) => new(name, "PNG decode failed: " + msg);

    private static DecodedImage DecodePng(ReadOnlySpan<byte> data, ImageReadMode mode, string? name)
    {
        var png = ReadPngChunks(data, name);
        int w = png.Width, h = png.Height, ct = png.ColorType, depth = png.BitDepth;
        var source = new ImageHeader(ImageFormat.Png, h, w, SamplesPerPixel(ct), depth, ct == 3);
        if (mode == ImageReadMode.Label && ct is 2 or 6)
            throw PngError(name, $"a label map must be single-channel (grayscale or palette PNG), this PNG is {(ct == 2 ? "RGB" : "RGBA")}");

        DecodedImage Result(int channels, byte[] px, int[]? px16 = null) => new()
        {
            Height = h, Width = w, Channels = channels, Pixels = px, Pixels16 = px16, Source = source, Palette = png.Palette,
        };

        bool keepStored = mode is ImageReadMode.Unchanged or ImageReadMode.Label;
        if (depth == 16)
        {
            var s = ReadPngSamples16(data, png, name);
            int spp = SamplesPerPixel(ct);
            if (mode == ImageReadMode.Unchanged) return Result(spp, Array.Empty<byte>(), s);
            if (mode == ImageReadMode.Label) return Result(1, Array.Empty<byte>(), spp == 1 ? s : TakeChannel(s, spp, 0));
            // 16 -> 8 bits exactly as libpng's png_set_scale_16 (rounds V*255/65535; Skia would truncate to the high byte).
            var b = GC.AllocateUninitializedArray<byte>(s.Length);
            for (int i = 0; i < s.Length; i++) { int hi = s[i] >> 8, lo = s[i] & 0xFF; b[i] = (byte)(hi + (((lo - hi + 128) * 65535) >> 24)); }
            return mode == ImageReadMode.Rgb ? Result(3, ToRgb(b, spp)) : Result(1, ToGray(b, spp));
        }
        if (keepStored && (ct == 3 || (depth < 8 && mode == ImageReadMode.Label)))
        {
            // Palette indices (not colours) and low-bit-depth label values unscaled (a 4-bit label map keeps 0..15).
            // Skia only hands out colours; mapping them back through PLTE would be ambiguous when the palette repeats a
            // colour (palettes padded with black are common), so the stored samples are read directly.
            return Result(1, ReadPngSamples8(data, png, name));
        }

        var (px, gray) = SkiaDecode(data, ImageFormat.Png, name);
        int stored = SamplesPerPixel(ct);
        return mode switch
        {
            // Unchanged: gray 1 / gray+alpha 2 / RGB 3 / RGBA 4 as stored (tRNS is not turned into alpha); low bit depths scaled.
            ImageReadMode.Unchanged => Result(stored, gray ? px : ct switch
            {
                0 => TakeChannel(px, 4, 0),
                4 => TakeChannels(px, 0, 3),
                2 => ToRgb(px, 4),
                _ => px,
            }),
            ImageReadMode.Label => Result(1, gray ? px : TakeChannel(px, 4, 0)),
            ImageReadMode.Rgb => Result(3, gray ? ToRgb(px, 1) : ToRgb(px, 4)),
            _ => Result(1, gray ? px : ct is 0 or 4 ? TakeChannel(px, 4, 0) : ToGray(px, 4)),
        };
    }

    /// <summary>Unfiltered, de-interlaced PNG samples as stored: one byte each (bit depths 1..8, unpacked, unscaled).</summary>
    private static byte[] ReadPngSamples8(ReadOnlySpan<byte> data, PngFile png, string? name)
    {
        int spp = SamplesPerPixel(png.ColorType), depth = png.BitDepth;
        var output = GC.AllocateUninitializedArray<byte>(checked(png.Width * png.Height * spp));
        ReadPngRows(data, png, name, (row, y, x0, dx, count) =>
        {
            int o = (y * png.Width + x0) * spp, step = dx * spp;
            if (depth == 8)
            {
                if (dx == 1) row[..(count * spp)].CopyTo(output.AsSpan(o));
                else
                    for (int i = 0; i < count; i++, o += step)
                        for (int k = 0; k < spp; k++) output[o + k] = row[i * spp + k];
                return;
            }
            int perByte = 8 / depth, mask = (1 << depth) - 1;  // bit depths < 8 only occur with one sample per pixel
            for (int i = 0; i < count; i++, o += step)
                output[o] = (byte)((row[i / perByte] >> ((perByte - 1 - i % perByte) * depth)) & mask);
        });
        return output;
    }

    /// <summary>16-bit PNG samples (big-endian in the file), de-interlaced, as ints.</summary>
    private static int[] ReadPngSamples16(ReadOnlySpan<byte> data, PngFile png, string? name)
    {
        int spp = SamplesPerPixel(png.ColorType);
        var output = GC.AllocateUninitializedArray<int>(checked(png.Width * png.Height * spp));
        ReadPngRows(data, png, name, (row, y, x0, dx, count) =>
        {
            int o = (y * png.Width + x0) * spp, step = dx * spp;
            for (int i = 0; i < count; i++, o += step)
                for (int k = 0; k < spp; k++) output[o + k] = BinaryPrimitives.ReadUInt16BigEndian(row[(2 * (i * spp + k))..]);
        });
        return output;
    }

    private delegate void PngRowSink(ReadOnlySpan<byte> row, int y, int x0, int dx, int count);

    // Adam7 passes: first column and row, column and row steps; a non-interlaced image is the single pass (0, 0, 1, 1).
    private static readonly (int X0, int Y0, int Dx, int Dy)[] Adam7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];
    private static readonly (int X0, int Y0, int Dx, int Dy)[] SinglePass = [(0, 0, 1, 1)];

    /// <summary>Inflates the IDAT stream and hands every unfiltered scanline (of every Adam7 pass) to <paramref name="sink"/>.</summary>
    private static void ReadPngRows(ReadOnlySpan<byte> data, PngFile png, string? name, PngRowSink sink)
    {
        int spp = SamplesPerPixel(png.ColorType), bitsPerPixel = spp * png.BitDepth, bpp = Math.Max(1, bitsPerPixel / 8);
        CheckCrcs(data, png, name);
        var passes = png.Interlace == 1 ? Adam7 : SinglePass;
        long total = 0;
        foreach (var (x0, y0, dx, dy) in passes)
        {
            long pw = (png.Width - x0 + dx - 1) / dx, ph = (png.Height - y0 + dy - 1) / dy;
            if (pw > 0 && ph > 0) total += ph * (1 + (pw * bitsPerPixel + 7) / 8);
        }
        if (total > Array.MaxLength) throw PngError(name, "image too large");

        int compressed = 0;
        foreach (var r in png.Idat) compressed += r.End.Value - r.Start.Value;
        var z = new byte[compressed];
        int zo = 0;
        foreach (var r in png.Idat) { data[r].CopyTo(z.AsSpan(zo)); zo += r.End.Value - r.Start.Value; }
        var raw = GC.AllocateUninitializedArray<byte>((int)total);
        try
        {
            using var inflate = new ZLibStream(new MemoryStream(z), CompressionMode.Decompress);
            int got = inflate.ReadAtLeast(raw, raw.Length, throwOnEndOfStream: false);
            if (got < raw.Length) throw PngError(name, $"not enough image data (IDAT inflates to {got} of {raw.Length} bytes)");
        }
        catch (InvalidDataException e) { throw PngError(name, "IDAT: invalid compressed data (" + e.Message + ")"); }

        int pos = 0;
        foreach (var (x0, y0, dx, dy) in passes)
        {
            int pw = (png.Width - x0 + dx - 1) / dx, ph = (png.Height - y0 + dy - 1) / dy;
            if (pw <= 0 || ph <= 0) continue;
            int stride = (pw * bitsPerPixel + 7) / 8;
            Span<byte> prior = Span<byte>.Empty;
            for (int r = 0; r < ph; r++)
            {
                int filter = raw[pos];
                var line = raw.AsSpan(pos + 1, stride);
                if (filter > 4) throw PngError(name, $"bad adaptive filter value {filter}");
                Unfilter(filter, line, prior, bpp);
                sink(line, y0 + r * dy, x0, dx, pw);
                prior = line;
                pos += stride + 1;
            }
        }
    }

    /// <summary>Reverses one scanline's filter in place (PNG spec §9; <paramref name="prior"/> is empty for the first row of a pass).</summary>
    private static void Unfilter(int filter, Span<byte> line, ReadOnlySpan<byte> prior, int bpp)
    {
        bool first = prior.IsEmpty;
        switch (filter)
        {
            case 0: break;
            case 1: for (int i = bpp; i < line.Length; i++) line[i] += line[i - bpp]; break;
            case 2: if (!first) for (int i = 0; i < line.Length; i++) line[i] += prior[i]; break;
            case 3:
                for (int i = 0; i < line.Length; i++)
                    line[i] += (byte)(((i >= bpp ? line[i - bpp] : 0) + (first ? 0 : prior[i])) >> 1);
                break;
            default:
                for (int i = 0; i < line.Length; i++)
                {
                    int a = i >= bpp ? line[i - bpp] : 0, b = first ? 0 : prior[i], c = i >= bpp && !first ? prior[i - bpp] : 0;
                    line[i] += (byte)Paeth(a, b, c);
                }
                break;
        }
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    // ----------------------------------------------------------------------------------------------------------- JPEG

    private readonly record struct JpegScan(bool HasFrame, int Height, int Width, int Components, bool HasEnd);

    /// <summary>
    /// Walks a JPEG's markers: the frame header (SOFn: size, components) and whether an end-of-image marker follows the
    /// entropy-coded data. libjpeg (and Skia) pad missing data with a fake EOI, and Skia reports success for a cut
    /// progressive JPEG, so a file without EOI is reported as truncated here, as the old libjpeg-based codec did.
    /// </summary>
    private static JpegScan ScanJpeg(ReadOnlySpan<byte> d)
    {
        bool frame = false;
        int h = 0, w = 0, comps = 0, p = 2;
        while (p + 1 < d.Length)
        {
            if (d[p] != 0xFF) { p++; continue; }  // stray bytes between segments (libjpeg warns and resynchronises)
            int m = d[p + 1];
            if (m == 0xFF) { p++; continue; }     // fill byte
            if (m == 0xD9) return new JpegScan(frame, h, w, comps, true);
            if (m is 0xD8 or 0x01 or (>= 0xD0 and <= 0xD7)) { p += 2; continue; }
            if (p + 4 > d.Length) break;
            int len = d[p + 2] << 8 | d[p + 3];
            if (m is >= 0xC0 and <= 0xCF && m is not (0xC4 or 0xC8 or 0xCC) && !frame)
            {
                if (p + 10 > d.Length) break;
                h = d[p + 5] << 8 | d[p + 6];
                w = d[p + 7] << 8 | d[p + 8];
                comps = d[p + 9];
                frame = true;
            }
            p += 2 + len;
            if (m == 0xDA)
            {
                // Entropy-coded data: 0xFF is followed by 0x00 (stuffing), RSTn or fill bytes; anything else is a marker.
                while (p < d.Length)
                {
                    int ff = d[p..].IndexOf((byte)0xFF);
                    if (ff < 0) { p = d.Length; break; }
                    p += ff;
                    if (p + 1 >= d.Length) break;
                    int n = d[p + 1];
                    if (n == 0x00 || n is >= 0xD0 and <= 0xD7) p += 2;
                    else if (n == 0xFF) p++;
                    else break;
                }
            }
        }
        return new JpegScan(frame, h, w, comps, false);
    }

    private static ImageDecodeException JpegError(string? name, string msg) => new(name, "JPEG decode failed: " + msg);

    private static DecodedImage DecodeJpeg(ReadOnlySpan<byte> data, ImageReadMode mode, string? name)
    {
        var scan = ScanJpeg(data);
        if (!scan.HasFrame) throw JpegError(name, "truncated file (data ends before the frame header)");
        CheckPixels(scan.Height, scan.Width, name);
        if (mode == ImageReadMode.Label) throw JpegError(name, "JPEG is lossy and cannot hold a label map");
        if (!scan.HasEnd) throw JpegError(name, "truncated file (data ends early: no end-of-image marker)");
        var (px, gray) = SkiaDecode(data, ImageFormat.Jpeg, name);
        var source = new ImageHeader(ImageFormat.Jpeg, scan.Height, scan.Width, scan.Components, 8, false);
        // Unchanged: gray JPEGs give one channel, colour (YCbCr, RGB, Adobe CMYK) three.
        var (c, pixels) = mode switch
        {
            ImageReadMode.Rgb => (3, gray ? ToRgb(px, 1) : ToRgb(px, 4)),
            ImageReadMode.Gray => (1, gray ? px : ToGray(px, 4)),
            _ => gray ? (1, px) : (3, ToRgb(px, 4)),
        };
        return new DecodedImage { Height = scan.Height, Width = scan.Width, Channels = c, Pixels = pixels, Source = source };
    }

    // ----------------------------------------------------------------------------------------------------- Skia decode

    /// <summary>
    /// Decodes 8-bit pixels with Skia: Gray8 when the source is gray without transparency, else unpremultiplied RGBA.
    /// The destination has no colour space, so Skia applies no colour conversion (pixels as PIL gives them).
    /// </summary>
    private static (byte[] Pixels, bool Gray) SkiaDecode(ReadOnlySpan<byte> data, ImageFormat format, string? name)
    {
        string what = format == ImageFormat.Png ? "PNG" : "JPEG";
        using var sk = SKData.CreateCopy(data);
        using var codec = SKCodec.Create(new SKMemoryStream(sk), out var created);
        if (codec is null) throw new ImageDecodeException(name, $"{what} decode failed: {Describe(created)}");
        var src = codec.Info;
        bool gray = src.ColorType == SKColorType.Gray8;
        var info = new SKImageInfo(src.Width, src.Height, gray ? SKColorType.Gray8 : SKColorType.Rgba8888, gray ? SKAlphaType.Opaque : SKAlphaType.Unpremul);
        var px = GC.AllocateUninitializedArray<byte>(info.BytesSize);
        var r = codec.GetPixels(info, px);
        if (r != SKCodecResult.Success) throw new ImageDecodeException(name, $"{what} decode failed: {Describe(r)}");
        return (px, gray);
    }

    private static string Describe(SKCodecResult r) => r switch
    {
        SKCodecResult.IncompleteInput => "unexpected end of data (truncated file)",
        SKCodecResult.ErrorInInput => "corrupt image data (ErrorInInput)",
        SKCodecResult.InvalidInput => "invalid or unsupported data (InvalidInput)",
        _ => r.ToString(),
    };

    // ------------------------------------------------------------------------------------------------ channel helpers

    private static T[] TakeChannel<T>(T[] src, int channels, int k)
    {
        var dst = GC.AllocateUninitializedArray<T>(src.Length / channels);
        for (int i = 0, j = k; i < dst.Length; i++, j += channels) dst[i] = src[j];
        return dst;
    }

    private static byte[] TakeChannels(byte[] rgba, int a, int b)
    {
        var dst = GC.AllocateUninitializedArray<byte>(rgba.Length / 2);
        for (int i = 0, j = 0; i < dst.Length; i += 2, j += 4) { dst[i] = rgba[j + a]; dst[i + 1] = rgba[j + b]; }
        return dst;
    }

    /// <summary>RGB from 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA) channels.</summary>
    private static byte[] ToRgb(byte[] src, int channels)
    {
        if (channels == 3) return src;
        int n = src.Length / channels;
        var dst = GC.AllocateUninitializedArray<byte>(n * 3);
        if (channels <= 2)
            for (int i = 0, j = 0; i < n; i++, j += channels) dst[3 * i] = dst[3 * i + 1] = dst[3 * i + 2] = src[j];
        else
            for (int i = 0, j = 0; i < n; i++, j += 4) { dst[3 * i] = src[j]; dst[3 * i + 1] = src[j + 1]; dst[3 * i + 2] = src[j + 2]; }
        return dst;
    }

    /// <summary>Luminance from 1..4 channels: gray as is, colour as PIL's <c>convert("L")</c> (ITU-R 601-2 luma, rounded).</summary>
    private static byte[] ToGray(byte[] src, int channels)
    {
        if (channels <= 2) return channels == 1 ? src : TakeChannel(src, 2, 0);
        int n = src.Length / channels;
        var dst = GC.AllocateUninitializedArray<byte>(n);
        for (int i = 0, j = 0; i < n; i++, j += channels)
            dst[i] = (byte)((src[j] * 19595 + src[j + 1] * 38470 + src[j + 2] * 7471 + 0x8000) >> 16);
        return dst;
    }

    // ------------------------------------------------------------------------------------------------------ PNG encode

    /// <summary>
    /// Encodes HWC 8-bit pixels (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA channels) as a PNG. With a <paramref name="palette"/>
    /// (RGB triplets, up to 256) and one channel, writes a palette PNG whose indices are the pixel values (label maps);
    /// every value must then index the palette. <paramref name="compression"/> is the zlib level 0..9 (negative: 6).
    /// </summary>
    public static byte[] EncodePng(ReadOnlySpan<byte> hwc, int height, int width, int channels, ReadOnlySpan<byte> palette = default, int compression = 6)
    {
        if ((long)height * width * channels != hwc.Length)
            throw new ArgumentException($"EncodePng: {hwc.Length} bytes given for {height}x{width}x{channels}", nameof(hwc));
        if (palette.Length % 3 != 0) throw new ArgumentException("EncodePng: the palette holds RGB triplets", nameof(palette));
        if (!palette.IsEmpty)
        {
            if (channels != 1 || palette.Length > 256 * 3) throw new ArgumentException("EncodePng: a palette needs 1 channel, 8 bits and 1..256 entries", nameof(palette));
            int entries = palette.Length / 3;
            if (entries < 256)
            {
                int bad = hwc.IndexOfAnyInRange((byte)entries, (byte)255);
                if (bad >= 0) throw new ArgumentException($"EncodePng: value {hwc[bad]} at x={bad % width}, y={bad / width} is outside the {entries}-entry palette", nameof(hwc));
            }
        }
        return WritePngFile(hwc, height, width, channels, 8, palette, compression);
    }

    /// <summary>Encodes HWC 8-bit pixels as PNG (array overload for callers without spans).</summary>
    public static byte[] EncodePng(byte[] hwc, int height, int width, int channels) => EncodePng((ReadOnlySpan<byte>)hwc, height, width, channels);

    /// <summary>Encodes 16-bit samples (0..65535), HWC, as a 16-bit PNG.</summary>
    public static byte[] EncodePng16(ReadOnlySpan<ushort> hwc, int height, int width, int channels, int compression = 6)
    {
        if ((long)height * width * channels != hwc.Length)
            throw new ArgumentException($"EncodePng16: {hwc.Length} samples given for {height}x{width}x{channels}", nameof(hwc));
        var be = GC.AllocateUninitializedArray<byte>(hwc.Length * 2);
        for (int i = 0; i < hwc.Length; i++) BinaryPrimitives.WriteUInt16BigEndian(be.AsSpan(2 * i), hwc[i]);
        return WritePngFile(be, height, width, channels, 16, default, compression);
    }

    /// <summary>Encodes an HWC (or HW) uint8 tensor as PNG.</summary>
    public static byte[] EncodePng(Tensor hwc)
    {
        if (hwc.dtype != ScalarType.Byte) throw new ArgumentException($"EncodePng: expected a uint8 tensor, got {hwc.dtype}", nameof(hwc));
        var s = hwc.shape;
        if (s.Length is < 2 or > 3) throw new ArgumentException($"EncodePng: expected [H, W] or [H, W, C], got [{string.Join(", ", s)}]", nameof(hwc));
        using var onCpu = hwc.device_type == DeviceType.CPU ? hwc.alias() : hwc.cpu();
        using var c = onCpu.contiguous();
        return EncodePng(c.data<byte>().ToArray(), (int)s[0], (int)s[1], s.Length == 3 ? (int)s[2] : 1);
    }

    /// <summary>Writes a PNG file atomically (temp file in the same folder, then rename).</summary>
    public static void WritePng(string path, ReadOnlySpan<byte> hwc, int height, int width, int channels, ReadOnlySpan<byte> palette = default)
    {
        var bytes = EncodePng(hwc, height, width, channels, palette);
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var tmp = full + $".tmp{Environment.ProcessId}";
        File.WriteAllBytes(tmp, bytes);
        File.Move(tmp, full, overwrite: true);
    }

    /// <summary>
    /// The PNG writer: IHDR, PLTE (palette images), one IDAT, IEND. Rows are filtered as libpng does by default: palette
    /// images unfiltered, others with the filter (none, sub, up, average, Paeth) of least summed absolute residual.
    /// <paramref name="samples"/> holds 8-bit samples or big-endian 16-bit ones.
    /// </summary>
    private static byte[] WritePngFile(ReadOnlySpan<byte> samples, int height, int width, int channels, int depth, ReadOnlySpan<byte> palette, int compression)
    {
        if (height <= 0 || width <= 0) throw new ArgumentException($"EncodePng: height and width must be positive, got {height}x{width}");
        if (channels is < 1 or > 4) throw new ArgumentException($"EncodePng: channels must be 1, 2, 3 or 4, got {channels}");
        if (compression < 0) compression = 6;
        if (compression > 9) throw new ArgumentOutOfRangeException(nameof(compression), compression, "EncodePng: zlib compression level is 0..9");
        int bpp = channels * depth / 8, stride = checked(width * bpp);
        bool isPalette = !palette.IsEmpty;

        using var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, new ZLibCompressionOptions { CompressionLevel = compression }, leaveOpen: true))
        {
            var best = new byte[stride + 1];
            var trial = new byte[stride + 1];
            for (int y = 0; y < height; y++)
            {
                var cur = samples.Slice(y * stride, stride);
                var prev = y > 0 ? samples.Slice((y - 1) * stride, stride) : ReadOnlySpan<byte>.Empty;
                if (isPalette)
                {
                    best[0] = 0;
                    cur.CopyTo(best.AsSpan(1));
                }
                else
                {
                    long bestScore = long.MaxValue;
                    for (int f = 0; f <= 4; f++)
                    {
                        trial[0] = (byte)f;
                        long score = 0;
                        for (int i = 0; i < stride; i++)
                        {
                            int a = i >= bpp ? cur[i - bpp] : 0, b = prev.IsEmpty ? 0 : prev[i], c = i >= bpp && !prev.IsEmpty ? prev[i - bpp] : 0;
                            int pred = f switch { 0 => 0, 1 => a, 2 => b, 3 => (a + b) >> 1, _ => Paeth(a, b, c) };
                            byte r = (byte)(cur[i] - pred);
                            trial[i + 1] = r;
                            score += r < 128 ? r : 256 - r;
                        }
                        if (score < bestScore) { bestScore = score; (best, trial) = (trial, best); }
                    }
                }
                z.Write(best, 0, stride + 1);
            }
        }

        using var png = new MemoryStream();
        png.Write(PngSignature);
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], height);
        ihdr[8] = (byte)depth;
        ihdr[9] = (byte)(isPalette ? 3 : channels switch { 1 => 0, 2 => 4, 3 => 2, _ => 6 });
        ihdr[10] = ihdr[11] = ihdr[12] = 0;
        WriteChunk(png, "IHDR"u8, ihdr);
        if (isPalette) WriteChunk(png, "PLTE"u8, palette);
        WriteChunk(png, "IDAT"u8, idat.GetBuffer().AsSpan(0, (int)idat.Length));
        WriteChunk(png, "IEND"u8, ReadOnlySpan<byte>.Empty);
        return png.ToArray();
    }

    private static void WriteChunk(Stream s, ReadOnlySpan<byte> type, ReadOnlySpan<byte> body)
    {
        Span<byte> buf = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(buf, body.Length);
        type.CopyTo(buf[4..]);
        s.Write(buf);
        s.Write(body);
        BinaryPrimitives.WriteUInt32BigEndian(buf, ~Crc32.Update(Crc32.Update(0xFFFFFFFFu, type), body));
        s.Write(buf[..4]);
    }

    // ---------------------------------------------------------------------------------------------------------- resize

    /// <summary>
    /// Resizes HWC uint8 pixels. Bilinear (align_corners=false, half-pixel centres, no antialias: the convention of
    /// cv2.INTER_LINEAR and mmcv.imresize up to ±1 from OpenCV's fixed-point rounding) reproduces bit for bit what the
    /// old codec computed with libtorch 1.13's float32 <c>upsample_bilinear2d</c> (PyTorch 1.13's
    /// <c>F.interpolate(x.float(), size, mode="bilinear", align_corners=False)</c>) followed by round-half-to-even and
    /// clamping to 0..255. Nearest reproduces <c>upsample_nearest2d</c> (cv2.INTER_NEAREST: source index floor(dst·in/out)).
    /// Plain single-threaded managed code: no libtorch call, so data-loader workers never enter libtorch's thread pool.
    /// </summary>
    /// <remarks>
    /// Exact for every channel count the old codec sent through libtorch's generic kernel; with one channel libtorch 1.13
    /// used its channels-last kernel (a [1, 1, H, W] tensor is also channels-last), whose float32 rounding differs by ±1
    /// in a few samples per thousand. LibTorch 2.x (TorchSharp) computes the same interpolation with slightly different
    /// float32 arithmetic and picks between two kernels by thread count and output size: ±1 in about one sample in ten
    /// thousand.
    /// </remarks>
    public static void Resize(ReadOnlySpan<byte> src, int height, int width, int channels, Span<byte> dst, int outHeight, int outWidth, ResizeMode mode)
    {
        if (height <= 0 || width <= 0 || outHeight <= 0 || outWidth <= 0 || channels <= 0)
            throw new ArgumentException($"Resize: sizes must be positive, got {height}x{width}x{channels} -> {outHeight}x{outWidth}");
        if (src.Length != (long)height * width * channels) throw new ArgumentException($"Resize: {src.Length} bytes for {height}x{width}x{channels}", nameof(src));
        if (dst.Length != (long)outHeight * outWidth * channels) throw new ArgumentException($"Resize: destination holds {dst.Length} bytes, need {outHeight}x{outWidth}x{channels}", nameof(dst));
        if (height == outHeight && width == outWidth) { src.CopyTo(dst); return; }
        if (mode == ResizeMode.Nearest) ResizeNearest(src, height, width, channels, dst, outHeight, outWidth);
        else if (mode == ResizeMode.Bilinear) ResizeBilinear(src, height, width, channels, dst, outHeight, outWidth);
        else throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown resize mode");
    }

    /// <summary>ATen's nearest_idx: exact for equal and doubled sizes, else floor(dst · (float)(in/out)) clamped.</summary>
    private static int NearestIndex(int o, int inSize, int outSize)
    {
        if (outSize == inSize) return o;
        if (outSize == 2 * inSize) return o >> 1;
        float scale = (float)inSize / outSize;
        return Math.Min((int)MathF.Floor(o * scale), inSize - 1);
    }

    private static void ResizeNearest(ReadOnlySpan<byte> src, int h, int w, int c, Span<byte> dst, int oh, int ow)
    {
        var xs = new int[ow];
        for (int x = 0; x < ow; x++) xs[x] = NearestIndex(x, w, ow) * c;
        for (int y = 0; y < oh; y++)
        {
            var srow = src.Slice(NearestIndex(y, h, oh) * w * c, w * c);
            var drow = dst.Slice(y * ow * c, ow * c);
            if (c == 1) for (int x = 0; x < ow; x++) drow[x] = srow[xs[x]];
            else for (int x = 0; x < ow; x++) srow.Slice(xs[x], c).CopyTo(drow.Slice(x * c, c));
        }
    }

    /// <summary>
    /// Source taps and weights of one axis as libtorch 1.13 computes them (UpSample.h, compute_source_index_and_lambda
    /// with a double accumulator): scale = (float)in/out; real = max(scale·(o + 0.5) − 0.5, 0) in double; i0 = ⌊real⌋,
    /// i1 = i0 + (i0 &lt; in − 1); λ1 = (float)(real − i0), λ0 = 1 − λ1 in float. An axis whose size does not change is
    /// copied (λ0 = 1).
    /// </summary>
    private static void LinearTaps(int inSize, int outSize, int[] i0, int[] i1, float[] w0, float[] w1)
    {
        float scale = (float)inSize / outSize;
        for (int o = 0; o < outSize; o++)
        {
            if (inSize == outSize) { i0[o] = i1[o] = o; w0[o] = 1f; w1[o] = 0f; continue; }
            double real = Math.Max((double)scale * (o + 0.5) - 0.5, 0.0);
            int idx = (int)real;
            i0[o] = idx;
            i1[o] = idx + (idx < inSize - 1 ? 1 : 0);
            w1[o] = (float)(real - idx);
            w0[o] = 1f - w1[o];
        }
    }

    /// <summary>
    /// Separable evaluation of ATen's generic bilinear kernel, out = t0·wy0 + t1·wy1 with t = s[x0]·wx0 + s[x1]·wx1 per
    /// source row, in float32 with the fused multiply-adds that libtorch's AVX2 build contracts these sums into:
    /// t = fma(s[x0], wx0, s[x1]·wx1), out = fma(t0, wy0, t1·wy1). The horizontal term of a source row is computed once
    /// and reused by every output row that reads it.
    /// </summary>
    private static void ResizeBilinear(ReadOnlySpan<byte> src, int h, int w, int c, Span<byte> dst, int oh, int ow)
    {
        int[] ys0 = new int[oh], ys1 = new int[oh], xs0 = new int[ow], xs1 = new int[ow];
        float[] wy0 = new float[oh], wy1 = new float[oh], wx0 = new float[ow], wx1 = new float[ow];
        LinearTaps(h, oh, ys0, ys1, wy0, wy1);
        LinearTaps(w, ow, xs0, xs1, wx0, wx1);
        int rowLen = ow * c;
        // Horizontal pass of the two source rows in use (a small cache keyed by source row).
        var rowA = new float[rowLen];
        var rowB = new float[rowLen];
        int keyA = -1, keyB = -1;

        float[] Horizontal(int sy, ReadOnlySpan<byte> s)
        {
            if (sy == keyA) return rowA;
            if (sy == keyB) return rowB;
            // Replace the row not needed next (the older one).
            (rowA, rowB, keyA, keyB) = (rowB, rowA, keyB, keyA);
            keyB = sy;
            var line = s.Slice(sy * w * c, w * c);
            var outRow = rowB;
            for (int x = 0; x < ow; x++)
            {
                int a = xs0[x] * c, b = xs1[x] * c, o = x * c;
                float f0 = wx0[x], f1 = wx1[x];
                for (int k = 0; k < c; k++) outRow[o + k] = MathF.FusedMultiplyAdd(line[a + k], f0, line[b + k] * f1);
            }
            return outRow;
        }

        for (int y = 0; y < oh; y++)
        {
            var top = Horizontal(ys0[y], src);
            var bottom = Horizontal(ys1[y], src);
            float f0 = wy0[y], f1 = wy1[y];
            var drow = dst.Slice(y * rowLen, rowLen);
            for (int i = 0; i < rowLen; i++)
            {
                float v = MathF.Round(MathF.FusedMultiplyAdd(top[i], f0, bottom[i] * f1));  // half to even, as torch.round
                drow[i] = (byte)(v < 0f ? 0f : v > 255f ? 255f : v);
            }
        }
    }
}
