using System.Buffers.Binary;
using System.IO.Compression;
using BoostFormer.Lib.Tests.Notebooks;
using BoostFormer.Visualization;

namespace BoostFormer.Lib.Tests.Visualization;

public class PngTests
{
    private static byte[] Pattern(int w, int h, int c, int seed)
    {
        var rng = new Random(seed);
        var px = new byte[w * h * c];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int k = 0; k < c; k++)
                    px[(y * w + x) * c + k] = (byte)((x * 7 + y * 13 + k * 50) % 256 ^ (rng.Next(4) == 0 ? rng.Next(256) : 0));
        return px;
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(17, 5, 1)]
    [InlineData(33, 21, 2)]
    [InlineData(64, 48, 3)]
    [InlineData(9, 40, 4)]
    public void Encoded_file_has_signature_IHDR_and_valid_crcs_and_round_trips(int w, int h, int c)
    {
        var px = Pattern(w, h, c, w * 31 + h);
        var png = Png.Encode(px, w, h, c);

        png.AsSpan(0, 8).ToArray().Should().Equal(0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A);
        // Walk the chunks by hand: lengths, types, CRCs.
        int pos = 8;
        var types = new List<string>();
        var idat = new MemoryStream();
        while (pos < png.Length)
        {
            int len = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            var type = System.Text.Encoding.ASCII.GetString(png, pos + 4, 4);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos + 8 + len));
            Crc32.Compute(png.AsSpan(pos + 4, 4 + len)).Should().Be(crc, $"CRC of {type}");
            if (type == "IHDR")
            {
                BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos + 8)).Should().Be(w);
                BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos + 12)).Should().Be(h);
                png[pos + 16].Should().Be(8, "bit depth");
                png[pos + 17].Should().Be((byte)(c switch { 1 => 0, 2 => 4, 3 => 2, _ => 6 }), "colour type");
            }
            if (type == "IDAT") idat.Write(png, pos + 8, len);
            types.Add(type);
            pos += 12 + len;
        }
        types.First().Should().Be("IHDR");
        types.Last().Should().Be("IEND");
        // The zlib stream inflates to one filter byte + one row per scanline.
        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        var raw = new MemoryStream();
        z.CopyTo(raw);
        raw.Length.Should().Be((long)h * (w * c + 1));

        var back = Png.Decode(png);
        (back.Width, back.Height, back.Channels).Should().Be((w, h, c));
        back.Pixels.Should().Equal(px);
    }

    [Fact]
    public void CRC32_matches_the_standard_check_value() =>
        Crc32.Compute("123456789"u8).Should().Be(0xCBF43926u);

    [Fact]
    public void Python_PIL_decodes_our_PNG_to_the_same_pixels()
    {
        var dir = NotebookTestSupport.TempDir("png-pil");
        var px = Pattern(37, 23, 3, 5);
        var path = Path.Combine(dir, "a.png");
        File.WriteAllBytes(path, Png.Encode(px, 37, 23, 3));
        File.WriteAllBytes(Path.Combine(dir, "a.raw"), px);
        var (code, output) = NotebookTestSupport.Python("""
            import sys, zlib, struct
            from PIL import Image
            d = sys.argv[1]
            data = open(d + '/a.png', 'rb').read()
            pos = 8
            while pos < len(data):
                n, = struct.unpack('>I', data[pos:pos+4]); t = data[pos+4:pos+8]
                crc, = struct.unpack('>I', data[pos+8+n:pos+12+n])
                assert zlib.crc32(data[pos+4:pos+8+n]) & 0xffffffff == crc, t
                pos += 12 + n
            im = Image.open(d + '/a.png'); im.load()
            assert im.mode == 'RGB' and im.size == (37, 23), (im.mode, im.size)
            assert im.tobytes() == open(d + '/a.raw', 'rb').read()
            print('same')
            """, dir);
        code.Should().Be(0, output);
        output.Should().Contain("same");
    }

    [Fact]
    public void Decodes_real_dataset_PNGs_like_PIL()
    {
        var root = NotebookTestSupport.DataRoot;
        if (root is null) return; // data-dependent: no data root on this machine
        var rgb = Path.Combine(root, "camvid", "train", "0001TP_006690.png");
        var label = Path.Combine(root, "camvid", "trainannot", "0001TP_006690.png");
        var palette = Directory.GetFiles(Path.Combine(root, "misc-seg-samples", "dataset", "gts"), "*.png").OrderBy(f => f).First();
        var dir = NotebookTestSupport.TempDir("png-real");
        foreach (var (file, keep, tag) in new[] { (rgb, false, "rgb"), (label, false, "label"), (palette, true, "palette") })
        {
            var img = Png.Decode(File.ReadAllBytes(file), keepPaletteIndices: keep, source: file);
            File.WriteAllBytes(Path.Combine(dir, tag + ".raw"), img.Pixels);
            var (code, output) = NotebookTestSupport.Python("""
                import sys
                from PIL import Image
                im = Image.open(sys.argv[1])
                if im.mode not in ('P', 'L', 'RGB', 'RGBA'): im = im.convert('RGB')
                assert im.tobytes() == open(sys.argv[2], 'rb').read(), (im.mode, im.size)
                print('same', im.mode, im.size)
                """, file, Path.Combine(dir, tag + ".raw"));
            code.Should().Be(0, $"{file}: {output}");
        }
        var camvid = Png.Load(rgb);
        (camvid.Width, camvid.Height, camvid.Channels).Should().Be((480, 360, 3));
    }

    [Fact]
    public void Corrupt_files_give_one_clear_error()
    {
        var png = Png.Encode(new byte[12], 2, 2, 3);
        var bad = (byte[])png.Clone();
        bad[30] ^= 0xFF; // inside IHDR/IDAT data: CRC no longer matches
        var act = () => Png.Decode(bad, source: "x.png");
        act.Should().Throw<InvalidDataException>().WithMessage("x.png: CRC mismatch*");
        var notPng = () => Png.Decode(new byte[] { 1, 2, 3 }, source: "y.png");
        notPng.Should().Throw<InvalidDataException>().WithMessage("y.png: not a PNG file*");
        var size = () => Png.Encode(new byte[5], 2, 2, 3);
        size.Should().Throw<ArgumentException>().WithMessage("*5 bytes, expected 2x2x3 = 12*");
    }
}
