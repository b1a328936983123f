using BoostFormer.Data;
using BoostFormer.IO;

namespace BoostFormer.Lib.Tests.Data;

public class DatasetTests
{
    [Fact]
    public void CamVid_reads_SegNet_layout_and_maps_unlabelled_to_ignore()
    {
        var train = new CamVidDataset(DataTestPaths.Data, "train");
        var val = new CamVidDataset(DataTestPaths.CamVid, "val");
        train.Count.Should().Be(367);
        val.Count.Should().Be(101);
        train.Info.NumClasses.Should().Be(11);
        var s = val.Get(0);
        (s.Image.Height, s.Image.Width, s.Image.Channels).Should().Be((360, 480, 3));
        var raw = ImageCodec.DecodeFile(s.LabelPath, ImageReadMode.Label).Pixels;
        for (int i = 0; i < raw.Length; i++) s.Label.Labels[i].Should().Be(raw[i] == 11 ? (byte)255 : raw[i]);
        raw.Should().Contain(11, "the first val frame has void pixels");
    }

    [Fact]
    public void CamVid_stats_match_independent_counts()
    {
        var fx = DataTestPaths.Fixtures["camvid_val"]!;
        var st = DatasetStats.Compute(new CamVidDataset(DataTestPaths.CamVid, "val"), "val");
        st.Images.Should().Be((int)fx["images"]!);
        for (int c = 0; c < 11; c++)
        {
            st.PixelCounts[c].Should().Be((long)fx["pixel_counts"]![c.ToString()]!, $"class {c}");
            st.PresentImagePixels[c].Should().Be((long)fx["present_image_pixels"]![c.ToString()]!, $"class {c}");
        }
        st.IgnoredPixels.Should().Be((long)fx["ignored_pixels"]!);
        var w = st.MedianFrequencyWeights();
        var freq = Enumerable.Range(0, 11).Select(c => (double)st.PixelCounts[c] / st.PresentImagePixels[c]).ToArray();
        var median = freq.Order().ElementAt(5);
        for (int c = 0; c < 11; c++) w[c].Should().BeApproximately(median / freq[c], 1e-12);
        w.Count(x => Math.Abs(x - 1) < 1e-12).Should().Be(1, "the median class gets weight 1");
    }

    [Fact]
    public void ADE20K_official_layout_reduces_zero_label()
    {
        var ds = new Ade20kDataset(DataTestPaths.Data, "train");
        ds.Count.Should().Be(1);
        ds.Info.NumClasses.Should().Be(150);
        var s = ds.Get(0);
        (s.Image.Height, s.Image.Width).Should().Be((225, 336));
        var raw = ImageCodec.DecodeFile(s.LabelPath, ImageReadMode.Label).Pixels;
        raw.Should().Contain(0);
        for (int i = 0; i < raw.Length; i++) s.Label.Labels[i].Should().Be(raw[i] == 0 ? (byte)255 : (byte)(raw[i] - 1));
        var noReduce = new Ade20kDataset(DataTestPaths.Ade, "training", reduceZeroLabel: false).Get(0);
        noReduce.Label.Labels.Should().Equal(raw);
    }

    [Fact]
    public void ADE20K_BoostFormer_layout()
    {
        using var t = DataTestPaths.Temp();
        var img = Path.Combine(DataTestPaths.Ade, "images/training/ADE_train_00000036.jpg");
        var ann = Path.Combine(DataTestPaths.Ade, "annotations/training/ADE_train_00000036.png");
        DataTestPaths.CopyInto(img, t["image/val/a.jpg"]);
        DataTestPaths.CopyInto(ann, t["mask/val/a.png"]);
        var ds = new Ade20kDataset(t.Path, "val");
        ds.Count.Should().Be(1);
        ds.Get(0).Label.Labels.Should().Equal(new Ade20kDataset(DataTestPaths.Ade, "train").Get(0).Label.Labels);
        FluentActions.Invoking(() => new Ade20kDataset(t.Path, "train")).Should().Throw<DataFormatException>()
            .WithMessage($"*{t["mask/train"].Replace("mask/train", "image/train")}*expected layout*");
    }

    [Fact]
    public void Cityscapes_label_ids_map_to_the_official_train_ids()
    {
        var ds = new CityscapesDataset(DataTestPaths.Data, "val");
        ds.Count.Should().Be(1);
        ds.Info.NumClasses.Should().Be(19);
        var s = ds.Get(0);
        var trainIds = ImageCodec.DecodeFile(s.LabelPath.Replace("_labelIds", "_labelTrainIds"), ImageReadMode.Label).Pixels;
        // The sample's labelIds and labelTrainIds PNGs were downscaled separately, so they agree on ~99.7 % of pixels; for
        // every label id present, the trainId it co-occurs with most must be the one our table gives.
        var raw = ImageCodec.DecodeFile(s.LabelPath, ImageReadMode.Label).Pixels;
        foreach (var g in raw.Select((id, i) => (id, train: trainIds[i])).GroupBy(p => p.id))
        {
            var majority = g.GroupBy(p => p.train).OrderByDescending(x => x.Count()).First().Key;
            ds.MapLabel(g.Key).Should().Be(majority, $"label id {g.Key}");
        }
        raw.Distinct().Count().Should().BeGreaterThan(8);
        s.Label.Labels.Zip(trainIds).Count(p => p.First == p.Second).Should().BeGreaterThan(trainIds.Length * 99 / 100);
    }

    [Fact]
    public void KITTI_semantic_uses_Cityscapes_ids()
    {
        using var t = DataTestPaths.Temp();
        var city = new CityscapesDataset(DataTestPaths.Cityscapes, "val");
        DataTestPaths.CopyInto(city.Pairs[0].Image, t["training/image_2/000000_10.png"]);
        DataTestPaths.CopyInto(city.Pairs[0].Label, t["training/semantic/000000_10.png"]);
        var ds = new KittiSemanticDataset(t.Path, "train");
        ds.Count.Should().Be(1);
        ds.Get(0).Label.Labels.Should().Equal(city.Get(0).Label.Labels);
        FluentActions.Invoking(() => new KittiSemanticDataset(t.Path, "val")).Should().Throw<DataFormatException>().WithMessage($"*{t["val.txt"]}*");
        File.WriteAllText(t["val.txt"], "000000_10\n");
        new KittiSemanticDataset(t.Path, "val").Count.Should().Be(1);
    }

    [Fact]
    public void TinyImageNet_trusts_wnids_and_reads_gray_as_RGB()
    {
        var wnids = File.ReadAllLines(Path.Combine(DataTestPaths.Tiny, "wnids.txt")).Where(l => l.Trim().Length > 0).ToArray();
        var train = new TinyImageNetDataset(DataTestPaths.Data, "train");
        train.NumClasses.Should().Be(wnids.Length).And.Be(202);
        train.Count.Should().Be(Directory.EnumerateFiles(Path.Combine(DataTestPaths.Tiny, "train"), "*.JPEG", SearchOption.AllDirectories).Count());
        train.LabelOf(0).Should().Be(0);
        train.Describe(0).Should().Contain(wnids[0]);
        train.ClassNames[0].Should().NotBe(wnids[0], "names come from words.txt");
        var val = new TinyImageNetDataset(DataTestPaths.Tiny, "val");
        val.Count.Should().Be(2000);
        var first = File.ReadLines(Path.Combine(DataTestPaths.Tiny, "val/val_annotations.txt")).First().Split('\t');
        val.LabelOf(0).Should().Be(Array.IndexOf(wnids, first[1]));
        var gray = DataTestPaths.Fixtures["decode"]!.AsObject().First(kv => kv.Key.StartsWith("tiny") && (string)kv.Value!["source_mode"]! == "L").Key;
        int gi = Enumerable.Range(0, val.Count).First(i => val.Describe(i).EndsWith(Path.GetFileName(gray)));
        val.Get(gi).Image.Channels.Should().Be(3);
    }

    [Fact]
    public void Synthetic_scenes_are_deterministic_and_consistent()
    {
        var a = new SyntheticSceneDataset(numClasses: 7, count: 10, height: 96, width: 128, seed: 3);
        var b = new SyntheticSceneDataset(numClasses: 7, count: 10, height: 96, width: 128, seed: 3);
        var c = new SyntheticSceneDataset(numClasses: 7, count: 10, height: 96, width: 128, seed: 4);
        var s = a.Get(5);
        s.Image.Pixels.Should().Equal(b.Get(5).Image.Pixels);
        s.Label.Labels.Should().Equal(b.Get(5).Label.Labels);
        s.Image.Pixels.Should().NotEqual(a.Get(6).Image.Pixels);
        s.Image.Pixels.Should().NotEqual(c.Get(5).Image.Pixels);
        s.Label.Labels.Max().Should().BeLessThan(7);
        s.Label.Labels.Distinct().Count().Should().BeGreaterThan(1);
        // Pixels of a class are near its palette colour (texture ±20 %, noise ±8).
        var pal = a.Info.Palette;
        for (int i = 0; i < s.Label.Labels.Length; i += 97)
        {
            int k = s.Label.Labels[i];
            Math.Abs(s.Image.Pixels[3 * i] - pal[3 * k]).Should().BeLessOrEqualTo((int)(0.42 * pal[3 * k]) + 9);
        }
        Datasets.OpenSegmentation("synthetic", null, "train", new SyntheticOptions(Size: 64, Count: 4)).Count.Should().Be(4);
    }

    [Fact]
    public void Dataset_info_palettes_and_names()
    {
        DatasetInfo.Ade20k.NumClasses.Should().Be(150);
        DatasetInfo.Ade20k.ClassNames[0].Should().Be("wall");
        DatasetInfo.Ade20k.ClassNames[149].Should().Be("flag");
        DatasetInfo.Cityscapes.ClassNames[18].Should().Be("bicycle");
        DatasetInfo.CamVid.ClassNames[10].Should().Be("Bicyclist");
        Palettes.For("camvid").Should().HaveCount(33);
        DatasetInfo.CamVid.Colorize(new byte[] { 3, 255 }).Should().Equal(128, 64, 128, 0, 0, 0);
        DatasetInfo.Synthetic(5).Palette.Chunk(3).Select(p => (p[0], p[1], p[2])).Distinct().Should().HaveCount(5);
    }

    [Fact]
    public void Data_root_comes_from_option_then_environment()
    {
        DataRoot.Resolve("/tmp/x").Should().Be("/tmp/x");
        var old = Environment.GetEnvironmentVariable(DataRoot.EnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(DataRoot.EnvironmentVariable, "/tmp/from-env");
            DataRoot.Resolve(null).Should().Be("/tmp/from-env");
            DataRoot.Resolve("/tmp/opt").Should().Be("/tmp/opt");
            Environment.SetEnvironmentVariable(DataRoot.EnvironmentVariable, null);
            DataRoot.Resolve(null).Should().BeNull();
            FluentActions.Invoking(() => Datasets.OpenSegmentation("camvid", null, "val")).Should().Throw<DataFormatException>().WithMessage("*BOOSTFORMER_DATA*");
            Datasets.OpenSegmentationOrSynthetic("camvid", null, "val", new SyntheticOptions(Size: 32, Count: 3)).Should().BeOfType<SyntheticSceneDataset>();
            Datasets.OpenSegmentationOrSynthetic("camvid", DataTestPaths.Data, "val").Should().BeOfType<CamVidDataset>();

            // Requiring an existing folder (the notebooks' rule): a missing option is an error, a missing environment value is ignored.
            var missing = Path.Combine(Path.GetTempPath(), "bf-no-such-root-" + Guid.NewGuid().ToString("N"));
            FluentActions.Invoking(() => DataRoot.Resolve(missing, requireExisting: true)).Should().Throw<DirectoryNotFoundException>().WithMessage($"--root={missing}: *does not exist*");
            Environment.SetEnvironmentVariable(DataRoot.EnvironmentVariable, missing);
            var warnings = new StringWriter();
            DataRoot.Resolve(null, requireExisting: true, warnings).Should().BeNull();
            warnings.ToString().Should().Contain(missing);
            DataRoot.Resolve(null).Should().Be(missing, "without the requirement the path is returned as given");
        }
        finally { Environment.SetEnvironmentVariable(DataRoot.EnvironmentVariable, old); }
    }

    [Fact]
    public void Registry_finds_every_dataset_by_name_or_alias_and_rejects_unknown_names()
    {
        Datasets.Get("ADE").Should().BeSameAs(Datasets.Ade20k);
        Datasets.Get("kitti-semantic").Should().BeSameAs(Datasets.Kitti);
        Datasets.Get("tiny-imagenet-200").Kind.Should().Be(DatasetKind.Classification);
        Datasets.All.Select(d => d.Name).Should().OnlyHaveUniqueItems();
        Datasets.All.SelectMany(d => d.Aliases.Append(d.Name)).Should().OnlyHaveUniqueItems();
        FluentActions.Invoking(() => Datasets.Get("tiny-imagenet", DatasetKind.Segmentation)).Should().Throw<ArgumentException>()
            .WithMessage("unknown segmentation dataset 'tiny-imagenet' (known: camvid, ade20k, cityscapes, kitti, synthetic)*");
        FluentActions.Invoking(() => Datasets.Get("pascal")).Should().Throw<ArgumentException>().WithMessage("*unknown dataset 'pascal'*");
        Datasets.CamVid.TestScale.Should().Be((480, 360));
        Datasets.Cityscapes.TestScale.Should().Be((2048, 512));
        Datasets.CamVid.OfficialCounts.Should().Contain(("val", 101));
        DatasetInfo.ByName("ade").Should().BeSameAs(DatasetInfo.Ade20k);
        foreach (var d in Datasets.All.Where(d => d.NeedsRoot))
        {
            d.Layout.Should().NotBeNullOrEmpty(d.Name);
            d.IsLayoutRoot.Should().NotBeNull(d.Name);
            (d.DownloadUrl ?? d.ManualDownload).Should().NotBeNull(d.Name);
            (d.Kind == DatasetKind.Segmentation ? d.Info is not null && d.SegmentationReader is not null : d.ClassificationReader is not null).Should().BeTrue(d.Name);
        }
        Datasets.CamVid.OpenSegmentation(DataTestPaths.Data, "val").Count.Should().Be(101);
    }
}

public class BadInputTests
{
    [Fact]
    public void Missing_root_and_split_name_the_path_and_layout()
    {
        using var t = DataTestPaths.Temp();
        var missing = t["no-such-root"];
        FluentActions.Invoking(() => new CamVidDataset(missing, "val")).Should().Throw<DataFormatException>().WithMessage($"*{missing}*expected layout*.txt*");
        FluentActions.Invoking(() => new CamVidDataset(DataTestPaths.CamVid, "test")).Should().Throw<DataFormatException>()
            .WithMessage($"*test.txt*expected layout*");
        FluentActions.Invoking(() => new CityscapesDataset(DataTestPaths.Cityscapes, "train")).Should().Throw<DataFormatException>()
            .WithMessage("*leftImg8bit/train*expected layout*_gtFine_labelIds.png*");
        FluentActions.Invoking(() => new Ade20kDataset(DataTestPaths.Ade, "val")).Should().Throw<DataFormatException>().WithMessage("*validation*");
        FluentActions.Invoking(() => new TinyImageNetDataset(t.Path, "train")).Should().Throw<DataFormatException>().WithMessage("*wnids.txt*");
    }

    [Fact]
    public void Corrupt_image_names_the_file_and_skip_bad_counts_it()
    {
        using var t = DataTestPaths.SmallCamVid(3);
        var ds = new CamVidDataset(t.Path, "val");
        var victim = ds.Pairs[1].Image;
        var bytes = File.ReadAllBytes(victim);
        File.WriteAllBytes(victim, bytes.AsSpan(0, bytes.Length / 3).ToArray());
        FluentActions.Invoking(() => ds.Get(1)).Should().Throw<ImageDecodeException>().WithMessage($"*{victim}*");
        FluentActions.Invoking(() => DatasetStats.Compute(ds, "val")).Should().Throw<ImageDecodeException>().WithMessage($"*{victim}*");
        var st = DatasetStats.Compute(ds, "val", skipBad: true);
        st.Images.Should().Be(2);
        st.Skipped.Should().ContainSingle().Which.Path.Should().Be(victim);
    }

    [Fact]
    public void Mask_size_mismatch_names_the_file()
    {
        using var t = DataTestPaths.SmallCamVid(1);
        var ds = new CamVidDataset(t.Path, "val");
        var lbl = ds.Pairs[0].Label;
        ImageCodec.WritePng(lbl, new byte[100 * 120], 100, 120, 1);
        FluentActions.Invoking(() => ds.Get(0)).Should().Throw<DataFormatException>().WithMessage($"*{lbl}*120x100*{ds.Pairs[0].Image}*480x360*");
    }

    [Fact]
    public void Out_of_range_label_names_file_and_value()
    {
        using var t = DataTestPaths.SmallCamVid(1);
        var ds = new CamVidDataset(t.Path, "val");
        var lbl = ds.Pairs[0].Label;
        var raw = ImageCodec.DecodeFile(lbl, ImageReadMode.Label).Pixels;
        raw[480 * 7 + 5] = 42;
        ImageCodec.WritePng(lbl, raw, 360, 480, 1);
        FluentActions.Invoking(() => ds.Get(0)).Should().Throw<DataFormatException>().WithMessage($"*{lbl}*value 42*x=5, y=7*");
    }

    [Fact]
    public void Broken_lists_and_annotations_name_the_line()
    {
        using var t = DataTestPaths.SmallCamVid(2);
        File.AppendAllText(t["val.txt"], "val/missing.png valannot/missing.png\n");
        FluentActions.Invoking(() => new CamVidDataset(t.Path, "val")).Should().Throw<DataFormatException>().WithMessage($"*val.txt:3*{t["val/missing.png"]}*");

        using var tiny = DataTestPaths.Temp();
        File.WriteAllText(tiny["wnids.txt"], "n01\n");
        Directory.CreateDirectory(tiny["val/images"]);
        File.WriteAllText(tiny["val/val_annotations.txt"], "val_0.JPEG\tn99\t0\t0\t1\t1\n");
        FluentActions.Invoking(() => new TinyImageNetDataset(tiny.Path, "val")).Should().Throw<DataFormatException>().WithMessage("*val_annotations.txt:1*n99*");
        FluentActions.Invoking(() => new TinyImageNetDataset(tiny.Path, "train")).Should().Throw<DataFormatException>().WithMessage($"*n01*{tiny["train/n01/images"]}*");
    }
}
