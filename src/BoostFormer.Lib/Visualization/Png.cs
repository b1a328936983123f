using System.Buffers.Binary;
using System.IO.Compression;

namespace BoostFormer.Visualization;

/// <summary>
/// A small, self-contained PNG codec (ISO/IEC 15948): encodes 8-bit grey, grey+alpha, RGB and RGBA images, and decodes
/// non-interlaced PNGs of any colour type (bit depths 1–16; 16-bit samples keep their high byte; palette images are
/// expanded to RGB/RGBA unless the raw indices are asked for). Compression uses zlib from System.IO.Compression.
/// </summary>
public static class Png
{
    private static readonly byte[] Signature = { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A };

    /// <summary>
    /// Encodes interleaved 8-bit samples (row-major, <paramref name="channels"/> per pixel: 1 grey, 2 grey+alpha, 3 RGB,
    /// 4 RGBA) as a PNG file. Each row uses the filter (none, sub, up, average, Paeth) with the smallest sum of absolute
    /// residuals, the usual heuristic from the PNG specification.
    /// </summary>
    public static byte[] Encode(ReadOnlySpan<byte> pixels, int width, int height, int channels)
    {
        if (width <= 0 || height <= 0) throw new ArgumentOutOfRangeException(nameof(width), $"PNG size must be positive, got {width}x{height}");
        if (channels is < 1 or > 4) throw new ArgumentOutOfRangeException(nameof(channels), $"channels must be 1..4, got {channels}");
        long expected = (long)width * height * channels;
        if (pixels.Length != expected)
            throw new ArgumentException($"pixel buffer has {pixels.Length} bytes, expected {width}x{height}x{channels} = {expected}", nameof(pixels));

        // The writer (filters, zlib level 6 = CompressionLevel.Optimal, chunks) is the data layer's; this overload keeps
        // the drawing code's argument checks and messages.
        return BoostFormer.IO.ImageCodec.EncodePng(pixels, height, width, channels);
    }

    private static int Predict(int filter, int a, int b, int c) => filter switch
    {
        0 => 0,
        1 => a,
        2 => b,
        3 => (a + b) >> 1,
        4 => Paeth(a, b, c),
        _ => throw new InvalidDataException($"PNG: unknown filter type {filter}"),
    };

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    /// <summary>Decodes a PNG file. See <see cref="Decode(ReadOnlySpan{byte}, bool, string?)"/>.</summary>
    public static PngImage Load(string path) => Decode(File.ReadAllBytes(path), keepPaletteIndices: false, source: path);

    /// <summary>
    /// Decodes a PNG (non-interlaced; chunk CRCs are checked). Output samples are 8-bit: 1 channel for grey, 2 grey+alpha,
    /// 3 RGB, 4 RGBA. Palette images become RGB (RGBA with a tRNS chunk) unless <paramref name="keepPaletteIndices"/>,
    /// which returns the raw indices as one channel (what segmentation masks stored as palette PNGs need).
    /// </summary>
    public static PngImage Decode(ReadOnlySpan<byte> file, bool keepPaletteIndices = false, string? source = null)
    {
        string name = source ?? "PNG data";
        if (file.Length < 8 || !file[..8].SequenceEqual(Signature)) throw new InvalidDataException($"{name}: not a PNG file (bad signature)");
        int pos = 8, width = 0, height = 0, depth = 0, colorType = -1;
        byte[]? palette = null, trns = null;
        using var idat = new MemoryStream();
        bool ended = false;
        while (!ended)
        {
            if (pos + 12 > file.Length) throw new InvalidDataException($"{name}: truncated PNG (no IEND chunk)");
            int len = BinaryPrimitives.ReadInt32BigEndian(file[pos..]);
            if (len < 0 || pos + 12 + (long)len > file.Length) throw new InvalidDataException($"{name}: truncated PNG chunk at byte {pos}");
            var typeBytes = file.Slice(pos + 4, 4);
            string type = System.Text.Encoding.ASCII.GetString(typeBytes);
            var data = file.Slice(pos + 8, len);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(file[(pos + 8 + len)..]);
            uint actual = Crc32.Update(Crc32.Update(0xFFFFFFFFu, typeBytes), data) ^ 0xFFFFFFFFu;
            if (crc != actual) throw new InvalidDataException($"{name}: CRC mismatch in {type} chunk at byte {pos}");
            switch (type)
            {
                case "IHDR":
                    width = BinaryPrimitives.ReadInt32BigEndian(data);
                    height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                    depth = data[8];
                    colorType = data[9];
                    if (data[12] != 0) throw new NotSupportedException($"{name}: interlaced (Adam7) PNGs are not supported");
                    if (width <= 0 || height <= 0) throw new InvalidDataException($"{name}: invalid size {width}x{height}");
                    break;
                case "PLTE": palette = data.ToArray(); break;
                case "tRNS": trns = data.ToArray(); break;
                case "IDAT": idat.Write(data); break;
                case "IEND": ended = true; break;
            }
            pos += 12 + len;
        }
        if (colorType < 0) throw new InvalidDataException($"{name}: missing IHDR chunk");
        int samples = colorType switch
        {
            0 => 1, 2 => 3, 3 => 1, 4 => 2, 6 => 4,
            _ => throw new InvalidDataException($"{name}: invalid colour type {colorType}"),
        };
        if (colorType == 3 && palette is null && !keepPaletteIndices) throw new InvalidDataException($"{name}: palette image without PLTE chunk");
        int bitsPerPixel = samples * depth;
        int bpp = Math.Max(1, bitsPerPixel / 8);
        int stride = (width * bitsPerPixel + 7) / 8;

        idat.Position = 0;
        var raw = new byte[(long)(stride + 1) * height];
        using (var z = new ZLibStream(idat, CompressionMode.Decompress))
        {
            int read = 0;
            while (read < raw.Length)
            {
                int n = z.Read(raw, read, raw.Length - read);
                if (n == 0) throw new InvalidDataException($"{name}: image data is shorter than {width}x{height} needs");
                read += n;
            }
        }

        // Unfilter in place.
        var prior = new byte[stride];
        for (int y = 0; y < height; y++)
        {
            int row = y * (stride + 1);
            int filter = raw[row];
            var line = raw.AsSpan(row + 1, stride);
            for (int i = 0; i < stride; i++)
            {
                int a = i >= bpp ? line[i - bpp] : 0, b = prior[i], c = i >= bpp ? prior[i - bpp] : 0;
                line[i] = (byte)(line[i] + Predict(filter, a, b, c));
            }
            line.CopyTo(prior);
        }

        // Unpack to 8-bit samples.
        var unpacked = new byte[(long)width * height * samples];
        for (int y = 0; y < height; y++)
        {
            var line = raw.AsSpan(y * (stride + 1) + 1, stride);
            int o = y * width * samples;
            if (depth == 8) line[..(width * samples)].CopyTo(unpacked.AsSpan(o));
            else if (depth == 16) for (int i = 0; i < width * samples; i++) unpacked[o + i] = line[2 * i];
            else
            {
                int perByte = 8 / depth, mask = (1 << depth) - 1;
                int scale = colorType == 3 ? 1 : 255 / mask; // grey is rescaled to 0..255, palette indices stay indices
                for (int x = 0; x < width; x++)
                {
                    int v = (line[x / perByte] >> ((perByte - 1 - x % perByte) * depth)) & mask;
                    unpacked[o + x] = (byte)(v * scale);
                }
            }
        }

        if (colorType != 3 || keepPaletteIndices) return new PngImage(width, height, samples, unpacked);
        bool alpha = trns is not null;
        int outC = alpha ? 4 : 3;
        var rgb = new byte[(long)width * height * outC];
        for (long i = 0; i < (long)width * height; i++)
        {
            int idx = unpacked[i];
            if (idx * 3 + 2 >= palette!.Length) throw new InvalidDataException($"{name}: palette index {idx} is outside the {palette.Length / 3}-entry palette");
            rgb[i * outC] = palette[idx * 3];
            rgb[i * outC + 1] = palette[idx * 3 + 1];
            rgb[i * outC + 2] = palette[idx * 3 + 2];
            if (alpha) rgb[i * outC + 3] = idx < trns!.Length ? trns[idx] : (byte)255;
        }
        return new PngImage(width, height, outC, rgb);
    }
}

/// <summary>Decoded PNG pixels: row-major, interleaved 8-bit samples, <see cref="Channels"/> per pixel.</summary>
public sealed record PngImage(int Width, int Height, int Channels, byte[] Pixels);

/// <summary>CRC-32 (ISO 3309 / ITU-T V.42, polynomial 0xEDB88320) as used by PNG chunks and zlib's gzip.</summary>
public static class Crc32
{
    private static readonly uint[] Table = BuildTable();

    private static uint[] BuildTable()
    {
        var t = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }

    /// <summary>Feeds <paramref name="data"/> into a running (pre-inverted) CRC register.</summary>
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (var b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    /// <summary>The CRC-32 of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Update(0xFFFFFFFFu, data) ^ 0xFFFFFFFFu;
}
