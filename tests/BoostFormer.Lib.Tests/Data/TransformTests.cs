using BoostFormer.Data;

namespace BoostFormer.Lib.Tests.Data;

public class TransformTests
{
    private static ImageBuffer Gradient(int h, int w)
    {
        var img = new ImageBuffer(h, w, 3);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int o = 3 * (y * w + x);
                img.Pixels[o] = (byte)(x * 255 / Math.Max(1, w - 1)); img.Pixels[o + 1] = (byte)(y * 255 / Math.Max(1, h - 1)); img.Pixels[o + 2] = (byte)((x + y) % 256);
            }
        return img;
    }

    private static LabelMap Stripes(int h, int w, int k)
    {
        var l = new LabelMap(h, w);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) l.Labels[y * w + x] = (byte)(x * k / w);
        return l;
    }

    [Theory]
    [InlineData(360, 480, 2048, 512, 512, 683)]   // mmcv.rescale_size((480, 360), (2048, 512)) = (683, 512)
    [InlineData(512, 1024, 2048, 1024, 1024, 2048)] // Cityscapes
    [InlineData(225, 336, 2048, 512, 512, 765)]
    [InlineData(1000, 100, 2048, 512, 2048, 205)]   // the long edge limits: factor min(2048/1000, 512/100)
    [InlineData(100, 1000, 2048, 512, 205, 2048)]
    public void RescaleSizeFollowsMmcv(int h, int w, int sl, int ss, int eh, int ew)
    {
        ImageOps.RescaleSize(h, w, sl, ss).Should().Be((eh, ew));
    }

    [Fact]
    public void Random_resize_draws_ratio_in_range_and_keeps_aspect()
    {
        var t = new RandomResize(2048, 512, 0.5, 2.0);
        var sizes = new HashSet<int>();
        for (int s = 0; s < 40; s++)
        {
            var img = Gradient(36, 48); var lbl = Stripes(36, 48, 5);
            var rng = new DataRng((ulong)s);
            var expectRng = new DataRng((ulong)s);
            double ratio = expectRng.Uniform(0.5, 2.0);
            t.Apply(ref img, ref lbl, rng);
            img.Height.Should().Be(ImageOps.RescaleSize(36, 48, (int)(2048 * ratio), (int)(512 * ratio)).Height);
            (img.Height, img.Width).Should().Be((lbl.Height, lbl.Width));
            img.Height.Should().BeInRange(256, 1024);
            Math.Abs(img.Width / (double)img.Height - 48 / 36.0).Should().BeLessThan(0.01);
            lbl.Labels.Distinct().Order().Select(v => (int)v).Should().Equal(0, 1, 2, 3, 4);
            sizes.Add(img.Height);
        }
        sizes.Count.Should().BeGreaterThan(20);
        var a = Gradient(36, 48); var b = Stripes(36, 48, 5);
        RandomResize.KeepRatio(96, 64).Apply(ref a, ref b, new DataRng(0));
        (a.Height, a.Width).Should().Be((64, 85));
    }

    [Fact]
    public void Random_crop_honours_cat_max_ratio()
    {
        // Left 90 % class 0, right 10 % class 1: most 64-wide crops are a single class.
        var lbl = new LabelMap(64, 640);
        for (int y = 0; y < 64; y++) for (int x = 576; x < 640; x++) lbl.Labels[y * 640 + x] = 1;
        int satisfied = 0, satisfiedWithout = 0;
        for (int s = 0; s < 50; s++)
        {
            var img = Gradient(64, 640); var l = lbl;
            new RandomCrop(64, 64, 0.75).Apply(ref img, ref l, new DataRng((ulong)s));
            (img.Height, img.Width, l.Height, l.Width).Should().Be((64, 64, 64, 64));
            // The image crop is the same window as the label crop.
            int x0 = img.Pixels[0] * 639 / 255;
            Math.Abs(l.Labels.Count(v => v == 1) - Math.Max(0, Math.Min(64, x0 + 64 - 576)) * 64).Should().BeLessOrEqualTo(3 * 64);
            if (l.Labels.Count(v => v == 1) is > 16 and < 48 * 64) satisfied++;
            var img2 = Gradient(64, 640); var l2 = lbl;
            new RandomCrop(64, 64, 1.0).Apply(ref img2, ref l2, new DataRng((ulong)s));
            if (l2.Labels.Count(v => v == 1) is > 16 and < 48 * 64) satisfiedWithout++;
        }
        satisfied.Should().BeGreaterThan(satisfiedWithout + 10, "up to 10 redraws look for a crop with max share < 0.75");
    }

    [Fact]
    public void Random_crop_ignores_ignore_index_and_handles_small_images()
    {
        var img = Gradient(20, 30); var lbl = Stripes(20, 30, 3);
        new RandomCrop(64, 64).Apply(ref img, ref lbl, new DataRng(1));
        (img.Height, img.Width, lbl.Height, lbl.Width).Should().Be((20, 30, 20, 30));
        new PadTo(64, 64).Apply(ref img, ref lbl, new DataRng(1));
        (img.Height, img.Width).Should().Be((64, 64));
        img.Pixels[3 * (63 * 64 + 63)].Should().Be(0);
        lbl.Labels[63 * 64 + 63].Should().Be(255);
        lbl.Labels[19 * 64 + 29].Should().Be(2);
        lbl.Labels[19 * 64 + 30].Should().Be(255);
    }

    [Fact]
    public void Flip_mirrors_image_and_label_together()
    {
        var img = Gradient(5, 7); var lbl = Stripes(5, 7, 7);
        var orig = img.Clone(); var origL = lbl.Clone();
        int flips = 0;
        for (int s = 0; s < 40; s++)
        {
            var i2 = orig.Clone(); var l2 = origL.Clone();
            new RandomFlip(0.5).Apply(ref i2, ref l2, new DataRng((ulong)s));
            bool flipped = l2.Labels[0] == 6;
            if (flipped)
            {
                flips++;
                for (int y = 0; y < 5; y++) for (int x = 0; x < 7; x++)
                {
                    l2.Labels[y * 7 + x].Should().Be(origL.Labels[y * 7 + 6 - x]);
                    i2.Pixels[3 * (y * 7 + x)].Should().Be(orig.Pixels[3 * (y * 7 + 6 - x)]);
                }
            }
            else i2.Pixels.Should().Equal(orig.Pixels);
        }
        flips.Should().BeInRange(10, 30);
    }

    [Theory]
    [InlineData(255, 0, 0, 0, 255, 255)]
    [InlineData(0, 255, 0, 60, 255, 255)]
    [InlineData(0, 0, 255, 120, 255, 255)]
    [InlineData(128, 64, 32, 10, 191, 128)]
    [InlineData(10, 10, 10, 0, 0, 10)]
    [InlineData(200, 100, 150, 165, 127, 200)]   // S = 100·round(255·4096/200) >> 12 = 127 (cv2 fixed point), not round(127.5)
    public void HsvMatchesOpenCvEightBitConvention(byte r, byte g, byte b, byte h, byte s, byte v)
    {
        var hsv = new byte[3];
        ImageOps.RgbToHsv(new[] { r, g, b }, hsv);
        hsv.Should().Equal(h, s, v);
    }

    [Fact]
    public void HSV_round_trip_is_nearly_lossless()
    {
        var rng = new Random(5);
        var rgb = new byte[3 * 5000];
        rng.NextBytes(rgb);
        var hsv = new byte[rgb.Length];
        var back = new byte[rgb.Length];
        ImageOps.RgbToHsv(rgb, hsv);
        ImageOps.HsvToRgb(hsv, back);
        // 8-bit hue has 2° steps: errors grow with saturation·value, up to a few levels.
        rgb.Zip(back, (a, c) => Math.Abs(a - c)).Max().Should().BeLessOrEqualTo(6);
        rgb.Zip(back, (a, c) => Math.Abs(a - c)).Average().Should().BeLessThan(1.0);
    }

    [Fact]
    public void Convert_truncates_like_numpy_astype()
    {
        var lut = ImageOps.ConvertLut(1.5, 0);
        lut[100].Should().Be(150);
        lut[101].Should().Be(151, "151.5 truncates");
        lut[200].Should().Be(255);
        ImageOps.ConvertLut(1, -32.7)[10].Should().Be(0);
        ImageOps.ConvertLut(1, 10.9)[10].Should().Be(20);
    }

    [Fact]
    public void Photometric_distortion_is_seeded_and_stays_in_range()
    {
        var src = Gradient(64, 64);
        var a = src.Clone(); new PhotoMetricDistortion().Apply(a, new DataRng(7));
        var b = src.Clone(); new PhotoMetricDistortion().Apply(b, new DataRng(7));
        a.Pixels.Should().Equal(b.Pixels);
        int changed = 0;
        for (int s = 0; s < 16; s++)
        {
            var c = src.Clone(); new PhotoMetricDistortion().Apply(c, new DataRng((ulong)s));
            if (!c.Pixels.SequenceEqual(src.Pixels)) changed++;
        }
        changed.Should().BeGreaterThan(12, "each of four steps fires with p ½: all four skip with p 1/16");
        // Brightness only: a uniform shift of every value (clipped).
        var d = new PhotoMetricDistortion { BrightnessDelta = 0, Contrast = (1, 1), Saturation = (1, 1), HueDelta = 0 };
        var e = src.Clone(); d.Apply(e, new DataRng(3));
        // Brightness and contrast are then exact identities; the saturation/hue steps still round-trip through 8-bit HSV
        // (as mmseg does), which moves values by a few levels at most.
        e.Pixels.Zip(src.Pixels, (u, v) => Math.Abs(u - v)).Max().Should().BeLessOrEqualTo(6);
    }

    [Fact]
    public void Normalize_writes_CHW_with_ImageNet_statistics()
    {
        var img = new ImageBuffer(1, 2, 3, new byte[] { 0, 128, 255, 10, 20, 30 });
        var chw = new float[6];
        ImageOps.NormalizeToChw(img, chw, ImageOps.ImageNetMean, ImageOps.ImageNetStd);
        chw[0].Should().BeApproximately((0 - 123.675f) / 58.395f, 1e-5f);
        chw[1].Should().BeApproximately((10 - 123.675f) / 58.395f, 1e-5f);
        chw[2].Should().BeApproximately((128 - 116.28f) / 57.12f, 1e-5f);
        chw[5].Should().BeApproximately((30 - 103.53f) / 57.375f, 1e-5f);
    }

    [Fact]
    public void Train_pipeline_on_CamVid_gives_fixed_crops_and_valid_labels()
    {
        var ds = new CamVidDataset(DataTestPaths.CamVid, "val");
        var p = SegPipeline.Train(512, 512);
        var s = ds.Get(3);
        var (img, lbl) = p.Apply(s.Image, s.Label, DataRng.ForSample(1, 0, 3));
        (img.Height, img.Width, lbl.Height, lbl.Width).Should().Be((512, 512, 512, 512));
        lbl.Labels.All(v => v <= 10 || v == 255).Should().BeTrue();
        var again = p.Apply(ds.Get(3).Image, ds.Get(3).Label, DataRng.ForSample(1, 0, 3));
        again.Image.Pixels.Should().Equal(img.Pixels);
        again.Label.Labels.Should().Equal(lbl.Labels);
        var other = p.Apply(ds.Get(3).Image, ds.Get(3).Label, DataRng.ForSample(1, 1, 3));
        other.Image.Pixels.Should().NotEqual(img.Pixels, "another epoch draws other augmentations");
    }

    [Fact]
    public void Random_resized_crop_follows_torchvision_bounds()
    {
        var t = new ClsTransform { Size = 64 };
        for (int s = 0; s < 200; s++)
        {
            var (y, x, h, w) = t.RandomResizedCropBox(64, 64, new DataRng((ulong)s));
            (y >= 0 && x >= 0 && y + h <= 64 && x + w <= 64).Should().BeTrue();
            double area = h * w / 4096.0, ratio = (double)w / h;
            if (!(y == 0 && x == 0 && h == 64 && w == 64))
            {
                area.Should().BeInRange(0.08 - 0.01, 1.0);
                ratio.Should().BeInRange(0.75 - 0.1, 4 / 3.0 + 0.1);
            }
        }
        var chw = new float[3 * 64 * 64];
        ClsTransform.Eval(64).Apply(Gradient(64, 64), chw, new DataRng(0));
        chw[0].Should().BeApproximately((0 - 123.675f) / 58.395f, 1e-5f, "eval at native size is normalisation only");
    }

    [Fact]
    public void Mixup_and_cutmix_mix_targets_with_label_smoothing()
    {
        int n = 4, k = 10, h = 8, w = 8, plane = 3 * h * w;
        var labels = new[] { 1, 2, 3, 4 };
        float[] Batch() { var x = new float[n * plane]; for (int i = 0; i < n; i++) x.AsSpan(i * plane, plane).Fill(i); return x; }

        var none = new float[n * k];
        MixupCutmix.None.Apply(Batch(), labels, none, n, h, w, k, new DataRng(0)).Should().Be(1);
        none[1].Should().Be(1); none.Sum().Should().BeApproximately(n, 1e-5f);

        var smooth = new MixupCutmix { Prob = 0, LabelSmoothing = 0.1 };
        var t = new float[n * k];
        smooth.Apply(Batch(), labels, t, n, h, w, k, new DataRng(0));
        t[1].Should().BeApproximately(0.91f, 1e-6f);
        t[0].Should().BeApproximately(0.01f, 1e-6f);

        var mix = new MixupCutmix { CutmixAlpha = 0, MixupAlpha = 0.8, LabelSmoothing = 0 };
        var x = Batch(); t = new float[n * k];
        var lam = mix.Apply(x, labels, t, n, h, w, k, new DataRng(3));
        x[0].Should().BeApproximately((float)(lam * 0 + (1 - lam) * 3), 1e-5f, "sample 0 mixes with the reversed batch's sample 3");
        t[1].Should().BeApproximately((float)lam, 1e-6f);
        t[4].Should().BeApproximately((float)(1 - lam), 1e-6f);

        var cut = new MixupCutmix { MixupAlpha = 0, CutmixAlpha = 1.0, LabelSmoothing = 0 };
        x = Batch(); t = new float[n * k];
        lam = cut.Apply(x, labels, t, n, h, w, k, new DataRng(11));
        double pasted = x.AsSpan(0, plane).ToArray().Count(v => v == 3) / (double)plane;
        lam.Should().BeApproximately(1 - pasted, 1e-9, "λ is corrected to the exact pasted area");
        t.AsSpan(0, k).ToArray().Sum().Should().BeApproximately(1, 1e-5f);
    }

    [Fact]
    public void Random_erasing_fills_one_box()
    {
        var chw = new float[3 * 32 * 32];
        ClsTransform.RandomErase(chw, 32, 32, new DataRng(2));
        int erased = chw.Take(32 * 32).Count(v => v != 0);
        erased.Should().BeInRange((int)(0.02 * 1024) - 2, 1024 / 3 + 40);
        chw.Skip(1024).Take(1024).Count(v => v != 0).Should().Be(erased, "all channels share the box");
    }
}
