using System.Runtime.InteropServices;

namespace BoostFormer.Torch.IO;

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
    /// <summary>One 8-bit luminance channel.</summary>
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
public sealed class ImageDecodeException : IOException
{
    /// <summary>The file (or the caller's name for an in-memory buffer).</summary>
    public string? FilePath { get; }
    public ImageDecodeException(string? path, string reason) : base(path is null ? reason : $"{path}: {reason}") { FilePath = path; }
}

/// <summary>
/// PNG and JPEG codecs (Debian's libpng and libjpeg-turbo, called from the native shim) and pixel resizing through
/// libtorch's upsample kernels. JPEG decoding uses libjpeg's defaults (islow IDCT, fancy upsampling), which is what
/// PIL and OpenCV use, so decoded pixels are identical to <c>PIL.Image.open(f).convert("RGB")</c>.
/// </summary>
public static unsafe class ImageCodec
{
    [DllImport(Native.Lib)] private static extern IntPtr bf_image_decode(byte* data, long len, int mode, int* info, byte* palette);
    [DllImport(Native.Lib)] private static extern int bf_image_probe(byte* data, long len, int* info);
    [DllImport(Native.Lib)] private static extern int bf_image_encode_png(byte* pixels, int h, int w, int c, int bitDepth, byte* palette, int paletteSize, int compression, out IntPtr output, out long outLen);
    [DllImport(Native.Lib)] private static extern void bf_image_free(IntPtr p);
    [DllImport(Native.Lib)] private static extern int bf_image_resize(byte* src, int h, int w, int c, byte* dst, int oh, int ow, int mode);

    [DllImport(Native.Lib)] private static extern int bf_set_thread_local_num_threads(int n);

    /// <summary>
    /// Sets libtorch's intra-op thread count for the calling thread only (OpenMP's per-thread setting; the global
    /// <c>torch.set_num_threads</c> is untouched). Data-loader workers call it with 1, as PyTorch's DataLoader workers do,
    /// so that several workers do not each fan out over every core. Returns false when libtorch is not an OpenMP build.
    /// </summary>
    public static bool SetThreadLocalNumThreads(int n) => bf_set_thread_local_num_threads(n) == 0;

    private static string TakeError()
    {
        var msg = Marshal.PtrToStringUTF8(Native.bf_last_error_message()) ?? "unknown error";
        Native.bf_clear_error();
        return msg;
    }

    /// <summary>Decodes a PNG or JPEG held in memory; <paramref name="name"/> is used in error messages.</summary>
    /// <exception cref="ImageDecodeException">The data is not a complete, valid PNG/JPEG, or does not fit <paramref name="mode"/>.</exception>
    public static DecodedImage Decode(ReadOnlySpan<byte> data, ImageReadMode mode = ImageReadMode.Rgb, string? name = null)
    {
        var info = stackalloc int[7];
        var pal = new byte[768];
        IntPtr t;
        fixed (byte* p = data)
        fixed (byte* pp = pal)
            t = bf_image_decode(p, data.Length, (int)mode, info, pp);
        if (t == IntPtr.Zero) throw new ImageDecodeException(name, TakeError());
        try
        {
            int h = info[5], w = info[6];
            int c = (int)(Native.bf_tensor_numel(t) / Math.Max(1L, (long)h * w));
            var header = new ImageHeader((ImageFormat)info[0], h, w, info[1], info[2], info[3] != 0);
            var ptr = Native.bf_tensor_data_ptr(t);
            long n = (long)h * w * c;
            byte[]? palette = info[4] > 0 ? pal.AsSpan(0, info[4] * 3).ToArray() : null;
            if ((ScalarType)Native.bf_tensor_dtype(t) == ScalarType.Int32)
            {
                var px = new ReadOnlySpan<int>((void*)ptr, checked((int)n)).ToArray();
                return new DecodedImage { Height = h, Width = w, Channels = c, Pixels = Array.Empty<byte>(), Pixels16 = px, Source = header, Palette = palette };
            }
            var bytes = GC.AllocateUninitializedArray<byte>(checked((int)n));
            new ReadOnlySpan<byte>((void*)ptr, bytes.Length).CopyTo(bytes);
            return new DecodedImage { Height = h, Width = w, Channels = c, Pixels = bytes, Source = header, Palette = palette };
        }
        finally { Native.bf_tensor_free(t); }
    }

    /// <summary>Reads and decodes a file. Errors (missing, corrupt, truncated) name the file.</summary>
    public static DecodedImage DecodeFile(string path, ImageReadMode mode = ImageReadMode.Rgb)
    {
        byte[] data;
        try { data = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new ImageDecodeException(path, e.Message); }
        return Decode(data, mode, path);
    }

    /// <summary>Decodes into an HWC tensor: uint8, or int32 for 16-bit PNG samples (torchvision's <c>decode_image</c> layout is CHW; permute if needed).</summary>
    public static torch.Tensor DecodeToTensor(ReadOnlySpan<byte> data, ImageReadMode mode = ImageReadMode.Rgb, string? name = null)
    {
        var info = stackalloc int[7];
        IntPtr t;
        fixed (byte* p = data) t = bf_image_decode(p, data.Length, (int)mode, info, null);
        if (t == IntPtr.Zero) throw new ImageDecodeException(name, TakeError());
        return new torch.Tensor(t);
    }

    /// <summary>Reads a file into an HWC tensor (see <see cref="DecodeToTensor"/>).</summary>
    public static torch.Tensor ReadImage(string path, ImageReadMode mode = ImageReadMode.Rgb)
    {
        byte[] data;
        try { data = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new ImageDecodeException(path, e.Message); }
        return DecodeToTensor(data, mode, path);
    }

    /// <summary>Reads only the header (size, channels, bit depth) of a PNG or JPEG file.</summary>
    public static ImageHeader Probe(string path)
    {
        var buf = new byte[64 * 1024];
        int n;
        try { using var f = File.OpenRead(path); n = f.ReadAtLeast(buf, buf.Length, throwOnEndOfStream: false); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new ImageDecodeException(path, e.Message); }
        var info = stackalloc int[7];
        fixed (byte* p = buf)
            if (bf_image_probe(p, n, info) < 0) throw new ImageDecodeException(path, TakeError());
        return new ImageHeader((ImageFormat)info[0], info[5], info[6], info[1], info[2], info[3] != 0);
    }

    /// <summary>
    /// Encodes HWC 8-bit pixels (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA channels) as a PNG. With a <paramref name="palette"/>
    /// (RGB triplets, up to 256) and one channel, writes a palette PNG whose indices are the pixel values (label maps).
    /// </summary>
    public static byte[] EncodePng(ReadOnlySpan<byte> hwc, int height, int width, int channels, ReadOnlySpan<byte> palette = default, int compression = 6)
    {
        if ((long)height * width * channels != hwc.Length)
            throw new ArgumentException($"EncodePng: {hwc.Length} bytes given for {height}x{width}x{channels}", nameof(hwc));
        if (palette.Length % 3 != 0) throw new ArgumentException("EncodePng: the palette holds RGB triplets", nameof(palette));
        IntPtr outp; long len;
        int rc;
        fixed (byte* p = hwc)
        fixed (byte* pal = palette)
            rc = bf_image_encode_png(p, height, width, channels, 8, palette.IsEmpty ? null : pal, palette.Length / 3, compression, out outp, out len);
        if (rc < 0) throw new ArgumentException(TakeError());
        try { return new ReadOnlySpan<byte>((void*)outp, checked((int)len)).ToArray(); }
        finally { bf_image_free(outp); }
    }

    /// <summary>Encodes HWC 8-bit pixels as PNG (array overload for callers without spans).</summary>
    public static byte[] EncodePng(byte[] hwc, int height, int width, int channels) => EncodePng((ReadOnlySpan<byte>)hwc, height, width, channels);

    /// <summary>Encodes 16-bit samples (0..65535), HWC, as a 16-bit PNG.</summary>
    public static byte[] EncodePng16(ReadOnlySpan<ushort> hwc, int height, int width, int channels, int compression = 6)
    {
        if ((long)height * width * channels != hwc.Length)
            throw new ArgumentException($"EncodePng16: {hwc.Length} samples given for {height}x{width}x{channels}", nameof(hwc));
        IntPtr outp; long len;
        int rc;
        fixed (ushort* p = hwc) rc = bf_image_encode_png((byte*)p, height, width, channels, 16, null, 0, compression, out outp, out len);
        if (rc < 0) throw new ArgumentException(TakeError());
        try { return new ReadOnlySpan<byte>((void*)outp, checked((int)len)).ToArray(); }
        finally { bf_image_free(outp); }
    }

    /// <summary>Encodes an HWC (or HW) uint8 tensor as PNG.</summary>
    public static byte[] EncodePng(torch.Tensor hwc)
    {
        if (hwc.dtype != ScalarType.Byte) throw new ArgumentException($"EncodePng: expected a uint8 tensor, got {hwc.dtype}", nameof(hwc));
        var s = hwc.shape;
        if (s.Length is < 2 or > 3) throw new ArgumentException($"EncodePng: expected [H, W] or [H, W, C], got [{string.Join(", ", s)}]", nameof(hwc));
        using var c = hwc.contiguous();
        return EncodePng(c.data<byte>(), (int)s[0], (int)s[1], s.Length == 3 ? (int)s[2] : 1);
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
    /// Resizes HWC uint8 pixels through libtorch's <c>upsample_bilinear2d</c> (align_corners=false, float32, rounded,
    /// no antialias: the convention of cv2.INTER_LINEAR and mmcv.imresize up to ±1 from OpenCV's fixed-point rounding)
    /// or <c>upsample_nearest2d</c> (cv2.INTER_NEAREST: source index floor(dst·in/out)).
    /// </summary>
    public static void Resize(ReadOnlySpan<byte> src, int height, int width, int channels, Span<byte> dst, int outHeight, int outWidth, ResizeMode mode)
    {
        if (src.Length != (long)height * width * channels) throw new ArgumentException($"Resize: {src.Length} bytes for {height}x{width}x{channels}", nameof(src));
        if (dst.Length != (long)outHeight * outWidth * channels) throw new ArgumentException($"Resize: destination holds {dst.Length} bytes, need {outHeight}x{outWidth}x{channels}", nameof(dst));
        if (height == outHeight && width == outWidth) { src.CopyTo(dst); return; }
        int rc;
        fixed (byte* s = src)
        fixed (byte* d = dst)
            rc = bf_image_resize(s, height, width, channels, d, outHeight, outWidth, (int)mode);
        if (rc < 0) throw new ArgumentException(TakeError());
    }
}
