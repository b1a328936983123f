using System.Security.Cryptography;
using BoostFormer.IO;
using BoostFormer.Lib.Tests.Notebooks;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Data;

public class ImageCodecTests
{
    private static string Sha(byte[] b) => Convert.ToHexString(SHA256.HashData(b)).ToLowerInvariant();

    private static byte[] Int32Le(int[] v)
    {
        var b = new byte[v.Length * 4];
        Buffer.BlockCopy(v, 0, b, 0, b.Length);
        return b;
    }

    [Fact]
    public void Decoded_pixels_are_identical_to_PIL()
    {
        var refs = DataTestPaths.Fixtures["decode"]!.AsObject();
        refs.Count.Should().BeGreaterThan(8);
        foreach (var (rel, node) in refs)
        {
            var mode = (string)node!["mode"]! == "rgb" ? ImageReadMode.Rgb : ImageReadMode.Label;
            var d = ImageCodec.DecodeFile(Path.Combine(DataTestPaths.Data, rel), mode);
            var shape = node["shape"]!.AsArray().Select(x => (int)x!).ToArray();
            d.Height.Should().Be(shape[0], rel);
            d.Width.Should().Be(shape[1], rel);
            d.Channels.Should().Be(shape.Length == 3 ? shape[2] : 1, rel);
            var bytes = d.Pixels16 is null ? d.Pixels : Int32Le(d.Pixels16);
            Sha(bytes).Should().Be((string)node["sha256"]!, $"{rel} decoded in {mode} must equal PIL's array");
        }
    }

    [Fact]
    public void Palette_PNG_keeps_indices_and_palette()
    {
        var rel = "misc-seg-samples/dataset/gts/00000_gt.png";
        var node = DataTestPaths.Fixtures["decode"]![rel]!;
        var d = ImageCodec.DecodeFile(Path.Combine(DataTestPaths.Data, rel), ImageReadMode.Label);
        d.Source.IsPalette.Should().BeTrue();
        d.Source.BitDepth.Should().Be(4);
        d.Pixels.Distinct().Order().Select(v => (int)v).Should().Equal(node["values"]!.AsArray().Select(x => (int)x!));
        d.Palette!.Take(48).Select(v => (int)v).Should().Equal(node["palette_first_16"]!.AsArray().Select(x => (int)x!));
    }

    [Fact]
    public void Sixteen_bit_PNG_keeps_sixteen_bits()
    {
        var path = Path.Combine(DataTestPaths.Cityscapes, "gtFine/val/frankfurt/frankfurt_000000_000294_gtFine_instanceIds.png");
        var d = ImageCodec.DecodeFile(path, ImageReadMode.Unchanged);
        d.Source.BitDepth.Should().Be(16);
        d.Pixels16.Should().NotBeNull();
        d.Pixels16!.Max().Should().BeGreaterThan(255, "instance ids are label*1000+k");
        using var t = ImageCodec.ReadImage(path, ImageReadMode.Unchanged);
        t.dtype.Should().Be(ScalarType.Int32);
        t.shape.Should().Equal(128, 256, 1);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Encode_decode_round_trips(int channels)
    {
        int h = 37, w = 53;
        var px = new byte[h * w * channels];
        new Random(channels).NextBytes(px);
        var png = ImageCodec.EncodePng(px, h, w, channels);
        var d = ImageCodec.Decode(png, ImageReadMode.Unchanged);
        (d.Height, d.Width, d.Channels).Should().Be((h, w, channels));
        d.Pixels.Should().Equal(px);
    }

    [Fact]
    public void Palette_and_sixteen_bit_encode_round_trip()
    {
        var labels = Enumerable.Range(0, 20 * 30).Select(i => (byte)(i % 11)).ToArray();
        var pal = BoostFormer.Data.DatasetInfo.CamVid.Palette;
        var png = ImageCodec.EncodePng(labels, 20, 30, 1, pal);
        var d = ImageCodec.Decode(png, ImageReadMode.Label);
        d.Source.IsPalette.Should().BeTrue();
        d.Pixels.Should().Equal(labels);
        d.Palette.Should().Equal(pal);
        var rgb = ImageCodec.Decode(png, ImageReadMode.Rgb);
        rgb.Pixels.AsSpan(0, 3).ToArray().Should().Equal(pal[0], pal[1], pal[2]);

        var v16 = Enumerable.Range(0, 12).Select(i => (ushort)(i * 5000)).ToArray();
        var d16 = ImageCodec.Decode(ImageCodec.EncodePng16(v16, 3, 4, 1), ImageReadMode.Unchanged);
        d16.Pixels16!.Select(v => (ushort)v).Should().Equal(v16);
    }

    [Fact]
    public void Tensor_overloads_round_trip()
    {
        var path = Path.Combine(DataTestPaths.CamVid, "val/0016E5_07959.png");
        using var t = ImageCodec.ReadImage(path);
        t.shape.Should().Equal(360, 480, 3);
        t.dtype.Should().Be(ScalarType.Byte);
        var png = ImageCodec.EncodePng(t);
        ImageCodec.Decode(png).Pixels.Should().Equal(t.data<byte>().ToArray());
        ImageCodec.Probe(path).Should().Be(new ImageHeader(ImageFormat.Png, 360, 480, 3, 8, false));
        ImageCodec.Probe(Path.Combine(DataTestPaths.Ade, "images/training/ADE_train_00000036.jpg"))
            .Should().Be(new ImageHeader(ImageFormat.Jpeg, 225, 336, 3, 8, false));
    }

    [Theory]
    [InlineData("camvid/val/0016E5_07959.png")]
    [InlineData("ade20k-sample/ADEChallengeData2016/images/training/ADE_train_00000036.jpg")]
    public void Truncated_files_name_the_file(string rel)
    {
        using var tmp = DataTestPaths.Temp();
        var bytes = File.ReadAllBytes(Path.Combine(DataTestPaths.Data, rel));
        var path = tmp[Path.GetFileName(rel)];
        foreach (var keep in new[] { 40, bytes.Length / 10, bytes.Length / 2, bytes.Length * 9 / 10, bytes.Length - 2 })
        {
            File.WriteAllBytes(path, bytes.AsSpan(0, keep).ToArray());
            var act = () => ImageCodec.DecodeFile(path);
            act.Should().Throw<ImageDecodeException>($"{keep} of {bytes.Length} bytes").Where(e => e.Message.Contains(path) && e.FilePath == path)
                .Which.Message.Should().MatchRegex("(?i)trunc|end of data|premature|end of file|EOF");
        }
    }

    [Fact]
    public void Corrupt_empty_and_missing_files_name_the_file()
    {
        using var tmp = DataTestPaths.Temp();
        var garbage = tmp["garbage.png"];
        File.WriteAllBytes(garbage, Enumerable.Range(0, 1000).Select(i => (byte)(i * 7)).ToArray());
        FluentActions.Invoking(() => ImageCodec.DecodeFile(garbage)).Should().Throw<ImageDecodeException>().WithMessage($"*{garbage}*signature*");

        // A PNG whose image data is damaged mid-stream (CRC / zlib error).
        var good = File.ReadAllBytes(Path.Combine(DataTestPaths.CamVid, "val/0016E5_07959.png"));
        for (int i = 200; i < 260; i++) good[i] ^= 0x5A;
        var damaged = tmp["damaged.png"];
        File.WriteAllBytes(damaged, good);
        FluentActions.Invoking(() => ImageCodec.DecodeFile(damaged)).Should().Throw<ImageDecodeException>().WithMessage($"*{damaged}*PNG decode failed*");

        var empty = tmp["empty.jpg"];
        File.WriteAllBytes(empty, Array.Empty<byte>());
        FluentActions.Invoking(() => ImageCodec.DecodeFile(empty)).Should().Throw<ImageDecodeException>().WithMessage($"*{empty}*empty*");

        var missing = tmp["nope.png"];
        FluentActions.Invoking(() => ImageCodec.DecodeFile(missing)).Should().Throw<ImageDecodeException>().WithMessage($"*{missing}*");
    }

    [Fact]
    public void Label_mode_rejects_colour_images()
    {
        var rgb = Path.Combine(DataTestPaths.CamVid, "val/0016E5_07959.png");
        FluentActions.Invoking(() => ImageCodec.DecodeFile(rgb, ImageReadMode.Label)).Should().Throw<ImageDecodeException>().WithMessage("*single-channel*");
        var jpg = Path.Combine(DataTestPaths.Ade, "images/training/ADE_train_00000036.jpg");
        FluentActions.Invoking(() => ImageCodec.DecodeFile(jpg, ImageReadMode.Label)).Should().Throw<ImageDecodeException>().WithMessage("*lossy*");
    }

    [Fact]
    public void Gray_JPEG_becomes_RGB_with_equal_channels()
    {
        var gray = DataTestPaths.Fixtures["decode"]!.AsObject().First(kv => kv.Key.StartsWith("tiny") && (string)kv.Value!["source_mode"]! == "L").Key;
        var d = ImageCodec.DecodeFile(Path.Combine(DataTestPaths.Data, gray), ImageReadMode.Rgb);
        d.Channels.Should().Be(3);
        d.Source.Channels.Should().Be(1);
        for (int i = 0; i < d.Pixels.Length; i += 3) { d.Pixels[i].Should().Be(d.Pixels[i + 1]); d.Pixels[i].Should().Be(d.Pixels[i + 2]); }
    }

    /// <summary>Independent reference: half-pixel bilinear (align_corners=false), coordinates clamped at 0, as PyTorch/cv2.</summary>
    private static byte[] ReferenceBilinear(byte[] src, int h, int w, int c, int oh, int ow)
    {
        var dst = new byte[oh * ow * c];
        double sy = (double)h / oh, sx = (double)w / ow;
        for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++)
        {
            double fy = Math.Max((y + 0.5) * sy - 0.5, 0), fx = Math.Max((x + 0.5) * sx - 0.5, 0);
            int y0 = (int)fy, x0 = (int)fx, y1 = Math.Min(y0 + 1, h - 1), x1 = Math.Min(x0 + 1, w - 1);
            double ly = fy - y0, lx = fx - x0;
            for (int k = 0; k < c; k++)
            {
                double v = (1 - ly) * ((1 - lx) * src[(y0 * w + x0) * c + k] + lx * src[(y0 * w + x1) * c + k])
                         + ly * ((1 - lx) * src[(y1 * w + x0) * c + k] + lx * src[(y1 * w + x1) * c + k]);
                dst[(y * ow + x) * c + k] = (byte)Math.Clamp(Math.Round(v, MidpointRounding.ToEven), 0, 255);
            }
        }
        return dst;
    }

    [Theory]
    [InlineData(36, 48, 72, 96)]
    [InlineData(36, 48, 17, 23)]
    [InlineData(10, 10, 25, 7)]
    public void Bilinear_resize_matches_half_pixel_reference(int h, int w, int oh, int ow)
    {
        var src = new byte[h * w * 3];
        new Random(h * w).NextBytes(src);
        var dst = new byte[oh * ow * 3];
        ImageCodec.Resize(src, h, w, 3, dst, oh, ow, ResizeMode.Bilinear);
        var r = ReferenceBilinear(src, h, w, 3, oh, ow);
        int maxDiff = dst.Zip(r, (a, b) => Math.Abs(a - b)).Max();
        maxDiff.Should().BeLessOrEqualTo(1, "float32 vs double rounding can differ by one at .5 boundaries");
        dst.Zip(r).Count(p => p.First != p.Second).Should().BeLessThan(dst.Length / 50);
    }

    [Fact]
    public void Nearest_resize_uses_floor_of_scaled_index()
    {
        int h = 7, w = 9, oh = 16, ow = 4;
        var src = Enumerable.Range(0, h * w).Select(i => (byte)i).ToArray();
        var dst = new byte[oh * ow];
        ImageCodec.Resize(src, h, w, 1, dst, oh, ow, ResizeMode.Nearest);
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++)
            {
                int sy = Math.Min((int)Math.Floor(y * (float)h / oh), h - 1), sx = Math.Min((int)Math.Floor(x * (float)w / ow), w - 1);
                dst[y * ow + x].Should().Be(src[sy * w + sx]);
            }
        dst.Distinct().All(v => src.Contains(v)).Should().BeTrue("nearest never invents values");
    }
}

/// <summary>
/// Cross-checks of <see cref="ImageCodec"/> against independent references run with Debian's /usr/bin/python3: PIL for
/// decoding, numpy for the stored samples of PNG layouts PIL cannot write, PyTorch 1.13 for resizing.
/// </summary>
public class ImageCodecCrossCheckTests
{
    private static string Sha(ReadOnlySpan<byte> b) => Convert.ToHexString(SHA256.HashData(b)).ToLowerInvariant();

    private static byte[] Bytes(DecodedImage d)
    {
        if (d.Pixels16 is null) return d.Pixels;
        var b = new byte[d.Pixels16.Length * 4];
        Buffer.BlockCopy(d.Pixels16, 0, b, 0, b.Length);
        return b;
    }

    [Fact]
    public void Every_image_file_in_the_shared_data_decodes_like_PIL()
    {
        var root = DataTestPaths.Data;
        var (code, output) = NotebookTestSupport.Python("""
            import hashlib, os, sys
            import numpy as np
            from PIL import Image
            root = sys.argv[1]
            sha = lambda a: hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
            for dp, dn, fn in os.walk(root):
                dn.sort()
                for f in sorted(fn):
                    if not f.lower().endswith(('.png', '.jpg', '.jpeg')):
                        continue
                    p = os.path.join(dp, f)
                    im = Image.open(p)
                    # PIL clips 16-bit gray to 0..255 in convert('RGB'); the codec scales (libpng's rounding) instead.
                    rgb = sha(np.asarray(im.convert('RGB'))) if im.mode not in ('I', 'I;16') else '-'
                    lab = '-'
                    if im.format == 'PNG' and im.mode in ('L', 'P', 'I', 'I;16'):
                        a = np.asarray(im)
                        lab = sha(a if a.dtype == np.uint8 else a.astype('<i4'))
                    print(os.path.relpath(p, root), im.mode, rgb, lab, sep='\t')
            """, root);
        code.Should().Be(0, output);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Length.Should().BeGreaterThan(1000);
        var bad = new System.Collections.Concurrent.ConcurrentBag<string>();
        int rgbChecked = 0, labelChecked = 0;
        Parallel.ForEach(lines, line =>
        {
            var f = line.Split('\t');
            var path = Path.Combine(root, f[0]);
            if (f[2] != "-")
            {
                var d = ImageCodec.DecodeFile(path, ImageReadMode.Rgb);
                if (Sha(d.Pixels) != f[2]) bad.Add($"{f[0]} ({f[1]}) rgb");
                Interlocked.Increment(ref rgbChecked);
            }
            if (f[3] != "-")
            {
                var d = ImageCodec.DecodeFile(path, ImageReadMode.Label);
                if (Sha(Bytes(d)) != f[3]) bad.Add($"{f[0]} ({f[1]}) label");
                Interlocked.Increment(ref labelChecked);
            }
        });
        bad.Should().BeEmpty("every file must decode to PIL's pixels");
        rgbChecked.Should().BeGreaterThan(lines.Length - 10);
        labelChecked.Should().BeGreaterThan(100);
    }

    /// <summary>
    /// Writes PNGs with a small independent writer (numpy + zlib: Adam7, 1/2/4/16-bit, tRNS, palettes with repeated
    /// colours, which PIL cannot write) plus a few PIL-written files and JPEGs, and the expected pixels of every read
    /// mode: stored samples from the source arrays, RGB and gray as PIL's convert('RGB') / convert('L') (checked in the
    /// script), 16-bit scaled to 8 bits with rounding.
    /// </summary>
    private const string LayoutsScript = """
        import struct, sys, zlib
        import numpy as np
        from PIL import Image
        out, jpeg_src = sys.argv[1], sys.argv[2]

        def chunk(t, d):
            return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)

        def rows(a, depth):
            res = []
            for r in a.reshape(a.shape[0], -1):
                if depth == 16: res.append(r.astype('>u2').tobytes())
                elif depth == 8: res.append(r.astype(np.uint8).tobytes())
                else:
                    per = 8 // depth; b = bytearray((len(r) * depth + 7) // 8)
                    for i, v in enumerate(r): b[i // per] |= int(v) << ((per - 1 - i % per) * depth)
                    res.append(bytes(b))
            return res

        def filtered(rs, bpp, ftype):
            o = b''; prev = bytes(len(rs[0]))
            for r in rs:
                f = bytearray(len(r))
                for i in range(len(r)):
                    a = r[i - bpp] if i >= bpp else 0; b = prev[i]; c = prev[i - bpp] if i >= bpp else 0
                    if ftype == 0: p = 0
                    elif ftype == 1: p = a
                    elif ftype == 2: p = b
                    elif ftype == 3: p = (a + b) // 2
                    else:
                        q = a + b - c; pa, pb, pc = abs(q - a), abs(q - b), abs(q - c)
                        p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                    f[i] = (r[i] - p) & 255
                o += bytes([ftype]) + bytes(f); prev = r
            return o

        def write_png(path, a, depth, ctype, palette=None, trns=None, interlace=False, ftype=4):
            a3 = a if a.ndim == 3 else a[:, :, None]
            h, w, c = a3.shape
            bpp = max(1, c * depth // 8)
            if not interlace: raw = filtered(rows(a3, depth), bpp, ftype)
            else:
                raw = b''
                for x0, y0, dx, dy in [(0,0,8,8), (4,0,8,8), (0,4,4,8), (2,0,4,4), (0,2,2,4), (1,0,2,2), (0,1,1,2)]:
                    sub = a3[y0::dy, x0::dx]
                    if sub.shape[0] and sub.shape[1]: raw += filtered(rows(sub, depth), bpp, ftype)
            d = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, depth, ctype, 0, 0, int(interlace)))
            if palette is not None: d += chunk(b'PLTE', bytes(int(v) for v in np.asarray(palette).ravel()))
            if trns is not None: d += chunk(b'tRNS', trns)
            d += chunk(b'IDAT', zlib.compress(raw, 6)) + chunk(b'IEND', b'')
            open(path, 'wb').write(d)

        def expect(name, mode, arr):
            arr = np.ascontiguousarray(arr)
            c = 1 if arr.ndim == 2 else arr.shape[2]
            kind = 'u8' if arr.dtype == np.uint8 else 'i32'
            open(f'{out}/{name}.{mode}.{c}.{kind}', 'wb').write(arr.tobytes() if kind == 'u8' else arr.astype('<i4').tobytes())

        def luma(rgb):
            rgb = rgb.astype(np.int64)
            return ((rgb[..., 0] * 19595 + rgb[..., 1] * 38470 + rgb[..., 2] * 7471 + 0x8000) >> 16).astype(np.uint8)

        def scale16(v):
            return ((v.astype(np.int64) * 255 + 32767) // 65535).astype(np.uint8)

        def rep(g):
            return np.repeat(g[:, :, None], 3, axis=2)

        rng = np.random.default_rng(7)
        H, W = 29, 43
        pal = rng.integers(0, 256, (16, 3))
        dup = np.zeros((256, 3), dtype=np.int64)
        dup[1:40] = rng.integers(0, 256, (39, 3)); dup[40:60] = dup[20:40]  # black padding and repeated colours
        cases = [
            ('g16_all', np.arange(65536).reshape(256, 256), 16, 0, {}),
            ('g16_1x1', np.array([[40000]]), 16, 0, {}),
            ('g16_il', rng.integers(0, 65536, (H, W)), 16, 0, dict(interlace=True)),
            ('la16', rng.integers(0, 65536, (H, W, 2)), 16, 4, dict(ftype=1)),
            ('rgb16', rng.integers(0, 65536, (H, W, 3)), 16, 2, dict(ftype=3)),
            ('rgba16_il', rng.integers(0, 65536, (H, W, 4)), 16, 6, dict(interlace=True)),
            ('rgb_il', rng.integers(0, 256, (H, W, 3)), 8, 2, dict(interlace=True)),
            ('rgb_3x1_il', rng.integers(0, 256, (3, 1, 3)), 8, 2, dict(interlace=True)),
            ('la_il', rng.integers(0, 256, (H, W, 2)), 8, 4, dict(interlace=True, ftype=2)),
            ('rgba', rng.integers(0, 256, (H, W, 4)), 8, 6, dict(ftype=0)),
            ('g1', rng.integers(0, 2, (H, W)), 1, 0, {}),
            ('g2_il', rng.integers(0, 4, (H, W)), 2, 0, dict(interlace=True)),
            ('g4', rng.integers(0, 16, (H, W)), 4, 0, {}),
            ('p1', rng.integers(0, 2, (H, W)), 1, 3, dict(palette=pal[:2])),
            ('p2_il', rng.integers(0, 4, (H, W)), 2, 3, dict(palette=pal[:4], interlace=True)),
            ('p4', rng.integers(0, 16, (H, W)), 4, 3, dict(palette=pal)),
            ('p8_dup', rng.integers(0, 256, (H, W)), 8, 3, dict(palette=dup)),
            ('p8_trns_il', rng.integers(0, 16, (H, W)), 8, 3, dict(palette=pal, trns=bytes(range(0, 160, 10)), interlace=True)),
            ('rgb_trns', rng.integers(0, 256, (H, W, 3)), 8, 2, dict(trns=struct.pack('>HHH', 10, 20, 30))),
            ('g8_trns', rng.integers(0, 256, (H, W)), 8, 0, dict(trns=struct.pack('>H', 7))),
        ]
        for name, a, depth, ctype, kw in cases:
            path = f'{out}/{name}.png'
            write_png(path, a, depth, ctype, **kw)
            if ctype == 3:
                p = np.asarray(kw['palette']).reshape(-1, 3)
                stored, rgb = a.astype(np.uint8), p[a].astype(np.uint8)
                gray = luma(rgb)
            elif depth == 16:
                stored = a
                s8 = scale16(a)
                rgb = rep(s8) if ctype == 0 else rep(s8[..., 0]) if ctype == 4 else s8[..., :3]
                gray = s8 if ctype == 0 else s8[..., 0] if ctype == 4 else luma(s8[..., :3])
            else:
                scaled = (a * (255 // (2 ** depth - 1))).astype(np.uint8)
                stored = scaled
                rgb = rep(scaled) if ctype == 0 else rep(scaled[..., 0]) if ctype == 4 else scaled[..., :3]
                gray = scaled if ctype == 0 else scaled[..., 0] if ctype == 4 else luma(scaled[..., :3])
            if depth <= 8:  # the expectations are PIL's conversions
                im = Image.open(path)
                assert np.array_equal(rgb, np.asarray(im.convert('RGB'))), name
                assert np.array_equal(gray, np.asarray(im.convert('L'))), name
            expect(name, 'Unchanged', stored)
            expect(name, 'Rgb', rgb)
            expect(name, 'Gray', gray)
            if ctype in (0, 3, 4):  # label maps: stored values, unscaled, alpha dropped
                expect(name, 'Label', a.astype(np.uint8 if depth <= 8 else np.int64) if a.ndim == 2 else a[..., 0].astype(np.uint8 if depth <= 8 else np.int64))

        # Files written by PIL's own encoder.
        la = Image.fromarray(rng.integers(0, 256, (H, W, 2)).astype(np.uint8), 'LA'); la.save(f'{out}/pil_la.png')
        expect('pil_la', 'Unchanged', np.asarray(la)); expect('pil_la', 'Rgb', np.asarray(la.convert('RGB'))); expect('pil_la', 'Label', np.asarray(la)[..., 0])
        bw = Image.fromarray(rng.integers(0, 2, (H, W)).astype(bool)); bw.save(f'{out}/pil_1.png')
        expect('pil_1', 'Rgb', np.asarray(bw.convert('RGB'))); expect('pil_1', 'Label', np.asarray(bw).astype(np.uint8)); expect('pil_1', 'Unchanged', np.asarray(bw.convert('L')))
        # JPEGs: progressive, CMYK, gray.
        src = Image.open(jpeg_src).convert('RGB')
        src.save(f'{out}/prog.jpg', quality=90, progressive=True)
        src.convert('CMYK').save(f'{out}/cmyk.jpg', quality=95)
        src.convert('L').save(f'{out}/gray.jpg', quality=90)
        for name in ('prog', 'cmyk', 'gray'):
            im = Image.open(f'{out}/{name}.jpg')
            expect(name, 'Rgb', np.asarray(im.convert('RGB')))
            expect(name, 'Gray', np.asarray(im.convert('RGB').convert('L')) if im.mode != 'L' else np.asarray(im))
            expect(name, 'Unchanged', np.asarray(im) if im.mode == 'L' else np.asarray(im.convert('RGB')))
        print('ok')
        """;

    [Fact]
    public void Unusual_layouts_decode_to_the_stored_samples_and_to_PILs_conversions()
    {
        using var tmp = DataTestPaths.Temp();
        var (code, output) = NotebookTestSupport.Python(LayoutsScript, tmp.Path, Path.Combine(DataTestPaths.Ade, "images/training/ADE_train_00000036.jpg"));
        code.Should().Be(0, output);
        var expected = Directory.GetFiles(tmp.Path).Where(f => f.EndsWith(".u8") || f.EndsWith(".i32")).Order().ToArray();
        expected.Length.Should().BeGreaterThan(80);
        var failures = new List<string>();
        foreach (var f in expected)
        {
            var parts = Path.GetFileName(f).Split('.');  // name.mode.channels.kind
            var image = Path.Combine(tmp.Path, parts[0] + (File.Exists(Path.Combine(tmp.Path, parts[0] + ".png")) ? ".png" : ".jpg"));
            var mode = Enum.Parse<ImageReadMode>(parts[1]);
            var d = ImageCodec.DecodeFile(image, mode);
            var want = File.ReadAllBytes(f);
            if (d.Channels != int.Parse(parts[2])) failures.Add($"{parts[0]} {mode}: {d.Channels} channels, expected {parts[2]}");
            else if ((parts[3] == "i32") != (d.Pixels16 is not null)) failures.Add($"{parts[0]} {mode}: 16-bit samples {(d.Pixels16 is null ? "missing" : "unexpected")}");
            else if (!Bytes(d).AsSpan().SequenceEqual(want)) failures.Add($"{parts[0]} {mode}: pixels differ");
        }
        failures.Should().BeEmpty();

        var p8 = ImageCodec.DecodeFile(tmp["p8_dup.png"], ImageReadMode.Label);
        (p8.Source.IsPalette, p8.Palette!.Length).Should().Be((true, 768));
        var g16 = ImageCodec.DecodeFile(tmp["rgba16_il.png"], ImageReadMode.Unchanged);
        (g16.Source.BitDepth, g16.Source.Channels, g16.Pixels.Length).Should().Be((16, 4, 0));
        FluentActions.Invoking(() => ImageCodec.DecodeFile(tmp["rgb16.png"], ImageReadMode.Label)).Should().Throw<ImageDecodeException>().WithMessage("*single-channel*RGB*");
        ImageCodec.DecodeFile(tmp["cmyk.jpg"], ImageReadMode.Unchanged).Source.Channels.Should().Be(4);
        ImageCodec.Probe(tmp["g2_il.png"]).Should().Be(new ImageHeader(ImageFormat.Png, 29, 43, 1, 2, false));
    }

    [Fact]
    public void Truncated_progressive_JPEG_and_big_header_segments()
    {
        using var tmp = DataTestPaths.Temp();
        var src = Path.Combine(DataTestPaths.Ade, "images/training/ADE_train_00000036.jpg");
        var (code, output) = NotebookTestSupport.Python("""
            import sys
            from PIL import Image
            Image.open(sys.argv[1]).save(sys.argv[2], quality=90, progressive=True)
            """, src, tmp["prog.jpg"]);
        code.Should().Be(0, output);
        // Skia fills a cut progressive JPEG in silently: the marker walk must report it.
        var prog = File.ReadAllBytes(tmp["prog.jpg"]);
        foreach (var keep in new[] { prog.Length / 2, prog.Length * 9 / 10, prog.Length - 2 })
        {
            File.WriteAllBytes(tmp["cut.jpg"], prog.AsSpan(0, keep).ToArray());
            FluentActions.Invoking(() => ImageCodec.DecodeFile(tmp["cut.jpg"])).Should().Throw<ImageDecodeException>($"{keep} of {prog.Length} bytes")
                .WithMessage($"*{tmp["cut.jpg"]}*trunc*");
        }
        // A 100 KB comment segment before the frame header: Probe reads past its first 64 KB, decoding is unaffected.
        var jpg = File.ReadAllBytes(src);
        var big = new List<byte>(jpg[..2]);
        for (int k = 0; k < 2; k++) { big.AddRange(new byte[] { 0xFF, 0xFE, 0xFF, 0xFF }); big.AddRange(Enumerable.Repeat((byte)'x', 0xFFFD)); }
        big.AddRange(jpg[2..]);
        File.WriteAllBytes(tmp["big.jpg"], big.ToArray());
        ImageCodec.Probe(tmp["big.jpg"]).Should().Be(new ImageHeader(ImageFormat.Jpeg, 225, 336, 3, 8, false));
        ImageCodec.DecodeFile(tmp["big.jpg"]).Pixels.Should().Equal(ImageCodec.DecodeFile(src).Pixels);
    }

    [Fact]
    public void Encoded_PNGs_are_read_back_by_PIL()
    {
        using var tmp = DataTestPaths.Temp();
        var rng = new Random(11);
        int h = 23, w = 37;
        foreach (var c in new[] { 1, 2, 3, 4 })
        {
            var px = new byte[h * w * c];
            rng.NextBytes(px);
            File.WriteAllBytes(tmp[$"u8_{c}.png"], ImageCodec.EncodePng(px, h, w, c));
            File.WriteAllBytes(tmp[$"u8_{c}.raw"], px);
            var v16 = Enumerable.Range(0, h * w * c).Select(_ => (ushort)rng.Next(65536)).ToArray();
            File.WriteAllBytes(tmp[$"u16_{c}.png"], ImageCodec.EncodePng16(v16, h, w, c, compression: 9));
            File.WriteAllBytes(tmp[$"u16_{c}.raw"], v16.SelectMany(v => BitConverter.GetBytes(v)).ToArray());
        }
        var labels = Enumerable.Range(0, h * w).Select(i => (byte)(i * 7 % 5)).ToArray();
        File.WriteAllBytes(tmp["pal.png"], ImageCodec.EncodePng(labels, h, w, 1, new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 250, 251, 252 }, compression: 1));
        File.WriteAllBytes(tmp["pal.raw"], labels);
        var (code, output) = NotebookTestSupport.Python("""
            import sys
            import numpy as np
            from PIL import Image
            d = sys.argv[1]; h, w = 23, 37
            modes = {1: 'L', 2: 'LA', 3: 'RGB', 4: 'RGBA'}
            for c in (1, 2, 3, 4):
                im = Image.open(f'{d}/u8_{c}.png'); im.load()
                assert im.mode == modes[c] and im.size == (w, h), (c, im.mode)
                assert im.tobytes() == open(f'{d}/u8_{c}.raw', 'rb').read(), c
                v = np.fromfile(f'{d}/u16_{c}.raw', dtype='<u2').reshape(h, w, c)
                im = Image.open(f'{d}/u16_{c}.png'); im.load()
                a = np.asarray(im)
                # PIL keeps 16-bit gray exactly (mode I) and the high byte of 16-bit colour samples; it opens 16-bit
                # gray+alpha as RGBA.
                want = v[..., 0] if c == 1 else v >> 8
                got = a[..., [0, 3]] if c == 2 else a
                assert np.array_equal(got, want), (c, im.mode)
            im = Image.open(f'{d}/pal.png')
            assert im.mode == 'P' and im.getpalette()[:15] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 250, 251, 252]
            assert np.asarray(im).tobytes() == open(f'{d}/pal.raw', 'rb').read()
            print('same')
            """, tmp.Path);
        code.Should().Be(0, output);
        output.Should().Contain("same");
        FluentActions.Invoking(() => ImageCodec.EncodePng(new byte[] { 0, 1, 5 }, 1, 3, 1, new byte[] { 0, 0, 0, 9, 9, 9 }))
            .Should().Throw<ArgumentException>().WithMessage("*value 5 at x=2, y=0*2-entry palette*");
    }

    private static readonly (int H, int W)[] ResizeSizes =
    [
        (17, 23), (97, 131), (360, 480), (512, 683), (1, 1), (1, 7), (721, 1000), (127, 255), (45, 333), (64, 128),
    ];

    /// <summary>Decoded pixels of a few real images, at most 512 on a side (resizing is checked, not decoding).</summary>
    private static IEnumerable<(string Name, byte[] Px, int H, int W, int C)> ResizeInputs()
    {
        var rgb = new[]
        {
            Path.Combine(DataTestPaths.CamVid, "val/0016E5_07959.png"),
            Path.Combine(DataTestPaths.Ade, "images/training/ADE_train_00000036.jpg"),
            Path.Combine(DataTestPaths.Tiny, "val/images/val_0.JPEG"),
            Path.Combine(DataTestPaths.Data, "misc-seg-samples/potsdam_dataset/img_dir/2_10_0_0_512_512.png"),
        };
        foreach (var f in rgb)
        {
            var d = ImageCodec.DecodeFile(f, ImageReadMode.Rgb);
            yield return (Path.GetFileName(f), d.Pixels, d.Height, d.Width, 3);
        }
        var ade = Path.Combine(DataTestPaths.Ade, "images/training/ADE_train_00000036.jpg");
        var gray = ImageCodec.DecodeFile(ade, ImageReadMode.Gray);
        yield return ("ade-gray", gray.Pixels, gray.Height, gray.Width, 1);
        var rgb4 = ImageCodec.DecodeFile(ade, ImageReadMode.Rgb);
        var rgba = new byte[gray.Pixels.Length * 4];
        for (int i = 0; i < gray.Pixels.Length; i++) { rgb4.Pixels.AsSpan(3 * i, 3).CopyTo(rgba.AsSpan(4 * i)); rgba[4 * i + 3] = gray.Pixels[i]; }
        yield return ("ade-rgba", rgba, gray.Height, gray.Width, 4);
        var label = ImageCodec.DecodeFile(Path.Combine(DataTestPaths.CamVid, "valannot/0016E5_07959.png"), ImageReadMode.Label);
        yield return ("camvid-label", label.Pixels, label.Height, label.Width, 1);
    }

    [Fact]
    public void Resize_is_bit_exact_with_PyTorch_1_13()
    {
        using var tmp = DataTestPaths.Temp();
        var cases = new List<string>();
        foreach (var (name, px, h, w, c) in ResizeInputs())
        {
            File.WriteAllBytes(tmp[name + ".in"], px);
            // The fixed sizes, plus one axis unchanged and exact doubling (nearest's special cases).
            foreach (var (oh, ow) in ResizeSizes.Append((h, w + 77)).Append((h * 2 - 1, w)).Append((h * 2, w * 2)))
                foreach (var mode in new[] { "bilinear", "nearest" })
                    cases.Add($"{name}\t{h}\t{w}\t{c}\t{oh}\t{ow}\t{mode}\t{cases.Count}");
        }
        File.WriteAllLines(tmp["cases.tsv"], cases);
        var (code, output) = NotebookTestSupport.Python("""
            import sys
            import numpy as np, torch
            d = sys.argv[1]
            for line in open(f'{d}/cases.tsv'):
                name, h, w, c, oh, ow, mode, k = line.split()
                h, w, c, oh, ow = int(h), int(w), int(c), int(oh), int(ow)
                a = np.fromfile(f'{d}/{name}.in', dtype=np.uint8).reshape(h, w, c)
                # NCHW-contiguous float32, as the old codec called at::upsample_bilinear2d / upsample_nearest2d.
                x = torch.from_numpy(a).permute(2, 0, 1)[None].float().contiguous()
                kw = dict(align_corners=False) if mode == 'bilinear' else {}
                y = torch.nn.functional.interpolate(x, (oh, ow), mode=mode, **kw).round().clamp(0, 255).byte()
                y[0].permute(1, 2, 0).contiguous().numpy().tofile(f'{d}/{k}.out')
            print('torch', torch.__version__)
            """, tmp.Path);
        code.Should().Be(0, output);
        output.Should().Contain("torch 1.13");
        var inputs = ResizeInputs().ToDictionary(x => x.Name);
        long compared = 0;
        var failures = new List<string>();
        foreach (var line in cases)
        {
            var f = line.Split('\t');
            var (px, h, w, c) = (inputs[f[0]].Px, inputs[f[0]].H, inputs[f[0]].W, inputs[f[0]].C);
            int oh = int.Parse(f[4]), ow = int.Parse(f[5]);
            var dst = new byte[oh * ow * c];
            ImageCodec.Resize(px, h, w, c, dst, oh, ow, f[6] == "bilinear" ? ResizeMode.Bilinear : ResizeMode.Nearest);
            var want = File.ReadAllBytes(tmp[f[7] + ".out"]);
            int diff = dst.Zip(want).Count(p => p.First != p.Second), max = dst.Zip(want).Max(p => Math.Abs(p.First - p.Second));
            // One-channel bilinear went through libtorch 1.13's channels-last kernel (a [1, 1, H, W] tensor is also
            // channels-last contiguous), whose float32 rounding differs slightly: ±1 in a few samples per thousand.
            bool oneChannelBilinear = c == 1 && f[6] == "bilinear";
            if (oneChannelBilinear ? max > 1 || diff > dst.Length / 500 : diff > 0)
                failures.Add($"{f[0]} {h}x{w}x{c} -> {oh}x{ow} {f[6]}: {diff} samples differ (max {max})");
            if (!oneChannelBilinear) compared += dst.Length;
        }
        failures.Should().BeEmpty();
        compared.Should().BeGreaterThan(10_000_000);
    }

    [Fact]
    public void Bilinear_resize_is_within_one_of_LibTorch_2()
    {
        // LibTorch 2.x rounds its float32 arithmetic slightly differently (and picks a kernel by thread count and output
        // size): the same interpolation up to ±1 in a few samples per million.
        long compared = 0, differ = 0;
        int max = 0;
        foreach (var (_, px, h, w, c) in ResizeInputs())
            foreach (var (oh, ow) in ResizeSizes)
            {
                var dst = new byte[oh * ow * c];
                ImageCodec.Resize(px, h, w, c, dst, oh, ow, ResizeMode.Bilinear);
                using var x = torch.tensor(px, new long[] { 1, h, w, c }).permute(0, 3, 1, 2).to(ScalarType.Float32).contiguous();
                using var y = torch.nn.functional.interpolate(x, new long[] { oh, ow }, mode: torch.InterpolationMode.Bilinear, align_corners: false);
                using var r = y.round().clamp(0, 255).to(ScalarType.Byte).permute(0, 2, 3, 1).contiguous();
                var want = r.data<byte>().ToArray();
                for (int i = 0; i < dst.Length; i++)
                {
                    int d = Math.Abs(dst[i] - want[i]);
                    if (d > 0) differ++;
                    max = Math.Max(max, d);
                }
                compared += dst.Length;
            }
        max.Should().BeLessOrEqualTo(1);
        ((double)differ / compared).Should().BeLessThan(1e-3);
    }
}

public class ThreadLocalParallelismTests
{
    [Fact]
    public void Set_thread_local_num_threads_is_a_no_op_now()
    {
        // The codec no longer calls libtorch (decoding is SkiaSharp, resizing managed code), and TorchSharp has no
        // per-thread setting: the call is kept for the data-loader workers, does nothing and says so.
        using (torch.zeros(1)) { }
        int main = torch.get_num_threads();
        bool? result = null;
        var th = new Thread(() => result = ImageCodec.SetThreadLocalNumThreads(1));
        th.Start();
        th.Join();
        result.Should().BeFalse();
        torch.get_num_threads().Should().Be(main, "the global setting is untouched");
    }
}
