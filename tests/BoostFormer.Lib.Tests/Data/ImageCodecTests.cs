using System.Security.Cryptography;
using BoostFormer.Torch;
using BoostFormer.Torch.IO;

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
    public void DecodedPixelsAreIdenticalToPil()
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
    public void PalettePngKeepsIndicesAndPalette()
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
    public void SixteenBitPngKeepsSixteenBits()
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
    public void EncodeDecodeRoundTrips(int channels)
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
    public void PaletteAndSixteenBitEncodeRoundTrip()
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
    public void TensorOverloadsRoundTrip()
    {
        var path = Path.Combine(DataTestPaths.CamVid, "val/0016E5_07959.png");
        using var t = ImageCodec.ReadImage(path);
        t.shape.Should().Equal(360, 480, 3);
        t.dtype.Should().Be(ScalarType.Byte);
        var png = ImageCodec.EncodePng(t);
        ImageCodec.Decode(png).Pixels.Should().Equal(t.ToArray<byte>());
        ImageCodec.Probe(path).Should().Be(new ImageHeader(ImageFormat.Png, 360, 480, 3, 8, false));
        ImageCodec.Probe(Path.Combine(DataTestPaths.Ade, "images/training/ADE_train_00000036.jpg"))
            .Should().Be(new ImageHeader(ImageFormat.Jpeg, 225, 336, 3, 8, false));
    }

    [Theory]
    [InlineData("camvid/val/0016E5_07959.png")]
    [InlineData("ade20k-sample/ADEChallengeData2016/images/training/ADE_train_00000036.jpg")]
    public void TruncatedFilesNameTheFile(string rel)
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
    public void CorruptEmptyAndMissingFilesNameTheFile()
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
    public void LabelModeRejectsColourImages()
    {
        var rgb = Path.Combine(DataTestPaths.CamVid, "val/0016E5_07959.png");
        FluentActions.Invoking(() => ImageCodec.DecodeFile(rgb, ImageReadMode.Label)).Should().Throw<ImageDecodeException>().WithMessage("*single-channel*");
        var jpg = Path.Combine(DataTestPaths.Ade, "images/training/ADE_train_00000036.jpg");
        FluentActions.Invoking(() => ImageCodec.DecodeFile(jpg, ImageReadMode.Label)).Should().Throw<ImageDecodeException>().WithMessage("*lossy*");
    }

    [Fact]
    public void GrayJpegBecomesRgbWithEqualChannels()
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
    public void BilinearResizeMatchesHalfPixelReference(int h, int w, int oh, int ow)
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
    public void NearestResizeUsesFloorOfScaledIndex()
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

public class ThreadLocalParallelismTests
{
    [Fact]
    public void WorkerThreadCountIsThreadLocal()
    {
        using (BoostFormer.Torch.torch.zeros(1)) { }
        int main = BoostFormer.Torch.torch.get_num_threads();
        int inWorker = -1;
        var th = new Thread(() =>
        {
            ImageCodec.SetThreadLocalNumThreads(1).Should().BeTrue("Debian's libtorch is an OpenMP build");
            inWorker = BoostFormer.Torch.torch.get_num_threads();
        });
        th.Start();
        th.Join();
        inWorker.Should().Be(1);
        BoostFormer.Torch.torch.get_num_threads().Should().Be(main, "the global setting is untouched");
    }
}
