using System.Diagnostics;
using System.Security.Cryptography;
using BoostFormer.IO;
using BoostFormer.Models;
using BoostFormer.Training.Tracking;

namespace BoostFormer.Cli.Tests;

/// <summary>
/// Reliability of the CLI (issue 16), each case on files the test generates: run folders, the pre-flight data check,
/// resume with changed settings, one checkpoint loader, the pixel limit and the evaluation memory budget, and one clear
/// line naming the option for every bad input. Training uses a one-layer-per-stage SegFormer-B0 on 64×48 images.
/// </summary>
[Collection("train-cli")]
public sealed class ReliabilityTests : IDisposable
{
    private readonly string _tmp = Path.Combine(Path.GetTempPath(), "bf-rel-" + Guid.NewGuid().ToString("N"));
    private readonly Xunit.Abstractions.ITestOutputHelper _out;

    public ReliabilityTests(Xunit.Abstractions.ITestOutputHelper output)
    {
        _out = output;
        Directory.CreateDirectory(_tmp);
    }

    public void Dispose()
    {
        try { Directory.Delete(_tmp, true); } catch (IOException) { }
    }

    /// <summary>A tiny model config (SegFormer-B0 widths, one layer a stage).</summary>
    internal static string TinyConfig(string dir)
    {
        var path = Path.Combine(dir, "tiny.json");
        var json = (SegformerConfig.FromName("segformer-b0") with { depths = new[] { 1, 1, 1, 1 }, decoder_hidden_size = 64 }).ToJsonObject();
        json["model"] = "tiny";
        File.WriteAllText(path, json.ToJsonString());
        return path;
    }

    /// <summary>A CamVid-layout dataset of random 64×48 images (labels 0..11) with <paramref name="train"/> and <paramref name="val"/> pairs.</summary>
    internal static string CamVid(string dir, int train = 4, int val = 2, int width = 64, int height = 48)
    {
        var root = Path.Combine(dir, "data", "camvid");
        var rng = new Random(1);
        foreach (var (split, n) in new[] { ("train", train), ("val", val) })
        {
            Directory.CreateDirectory(Path.Combine(root, split));
            Directory.CreateDirectory(Path.Combine(root, split + "annot"));
            var lines = new List<string>();
            for (int i = 0; i < n; i++)
            {
                var img = new byte[height * width * 3];
                rng.NextBytes(img);
                var lbl = new byte[height * width];
                for (int p = 0; p < lbl.Length; p++) lbl[p] = (byte)((p % width) * 12 / width);
                File.WriteAllBytes(Path.Combine(root, split, $"{i:D3}.png"), ImageCodec.EncodePng(img, height, width, 3));
                File.WriteAllBytes(Path.Combine(root, split + "annot", $"{i:D3}.png"), ImageCodec.EncodePng(lbl, height, width, 1));
                lines.Add($"{split}/{i:D3}.png {split}annot/{i:D3}.png");
            }
            File.WriteAllLines(Path.Combine(root, split + ".txt"), lines);
        }
        return Path.Combine(dir, "data");
    }

    private string[] Train(string root, params string[] extra)
    {
        var defaults = new[]
        {
            ("--config", TinyConfig(_tmp)), ("--dataset", "camvid"), ("--root", root), ("--crop", "32"), ("--scale", "64x48"), ("--iterations", "2"),
            ("--warmup", "1"), ("--lr", "1e-3"), ("--workers", "1"), ("--batch-size", "2"), ("--log-every", "1"), ("--db", Path.Combine(_tmp, "runs", "runs.db")),
        };
        // Options given in extra replace the defaults.
        return new[] { "train" }.Concat(defaults.Where(d => !extra.Contains(d.Item1)).SelectMany(d => new[] { d.Item1, d.Item2 })).Concat(extra).ToArray();
    }

    private static string Sha(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    private static void OneLine(int code, string output, int expected, string mustContain)
    {
        code.Should().Be(expected, output);
        output.Should().Contain("error: ", output);
        output.Should().Contain(mustContain, output);
        output.Should().NotContain("   at ", "no stack trace: " + output);
    }

    // ------------------------------------------------------------------------------------------ 1. run folders

    [Fact]
    public async Task Two_runs_with_the_same_name_keep_their_own_checkpoints()
    {
        var root = CamVid(_tmp);
        var (c1, o1) = await CliRunner.RunAsync(Train(root, "--name", "same", "--seed", "1"));
        c1.Should().Be(0, o1);
        string first;
        using (var store = RunStore.Open(Path.Combine(_tmp, "runs", "runs.db")))
            first = store.Artifacts(store.Runs().Single().Id).Last(a => a.Kind == "checkpoint").Path;
        var hash = Sha(first);
        var (c2, o2) = await CliRunner.RunAsync(Train(root, "--name", "same", "--seed", "2"));
        c2.Should().Be(0, o2);
        using (var store = RunStore.Open(Path.Combine(_tmp, "runs", "runs.db")))
        {
            var runs = store.Runs();
            runs.Should().HaveCount(2);
            var paths = runs.Select(r => store.Artifacts(r.Id).Last(a => a.Kind == "checkpoint").Path).ToList();
            paths.Distinct().Should().HaveCount(2, "each run writes its own folder");
        }
        Sha(first).Should().Be(hash, "the second run must not overwrite the first run's checkpoint");
    }

    [Fact]
    public async Task A_run_into_an_output_folder_that_holds_another_runs_checkpoints_is_refused()
    {
        var root = CamVid(_tmp);
        var output = Path.Combine(_tmp, "out");
        var (c1, o1) = await CliRunner.RunAsync(Train(root, "--output", output));
        c1.Should().Be(0, o1);
        var hash = Sha(Path.Combine(output, "iter_00000002.safetensors"));
        var (c2, o2) = await CliRunner.RunAsync(Train(root, "--output", output, "--seed", "5"));
        OneLine(c2, o2, 2, "--resume");
        Sha(Path.Combine(output, "iter_00000002.safetensors")).Should().Be(hash);

        // Two at once into one folder: one trains, the other is refused (the folder is locked, or holds its checkpoints).
        var other = Path.Combine(_tmp, "out2");
        var both = await Task.WhenAll(CliRunner.RunAsync(Train(root, "--output", other, "--iterations", "6")),
            CliRunner.RunAsync(Train(root, "--output", other, "--iterations", "6")));
        both.Select(r => r.code).Order().Should().Equal(new[] { 0, 2 }, string.Join("\n----\n", both.Select(r => r.output)));
        both.Single(r => r.code == 2).output.Should().Contain(other);
    }

    // ------------------------------------------------------------------------------------------ 2. pre-flight, final weights

    [Fact]
    public async Task A_bad_validation_image_stops_the_run_before_the_first_step()
    {
        var root = CamVid(_tmp);
        var bad = Path.Combine(root, "camvid", "val", "001.png");
        File.WriteAllText(bad, "not an image");
        var (code, output) = await CliRunner.RunAsync(Train(root, "--output", Path.Combine(_tmp, "out")));
        OneLine(code, output, 2, bad);
        output.Should().NotContain("iter 1/", "the bad file must be found before training");
    }

    [Fact]
    public async Task Final_weights_are_written_before_the_final_evaluation_and_resume_evaluates()
    {
        var root = CamVid(_tmp);
        var val = Path.Combine(root, "camvid", "val", "001.png");
        var good = File.ReadAllBytes(val);
        File.WriteAllBytes(val, good[..(good.Length / 2)]); // header intact, data cut: passes the header check, fails to decode
        var output = Path.Combine(_tmp, "out");
        var (code, text) = await CliRunner.RunAsync(Train(root, "--output", output, "--checkpoint-interval", "0"));
        code.Should().Be(2, text);
        text.Should().Contain(val);
        File.Exists(Path.Combine(output, "iter_00000002.json")).Should().BeTrue("the trained weights are saved before the evaluation that failed: " + text);

        File.WriteAllBytes(val, good);
        (code, text) = await CliRunner.RunAsync(Train(root, "--output", output, "--checkpoint-interval", "0", "--resume"));
        code.Should().Be(0, text);
        text.Should().NotContain("iter 1/", "resuming from the final checkpoint trains nothing");
        text.Should().Contain("eval @ 2: mIoU");
        using var store = RunStore.Open(Path.Combine(_tmp, "runs", "runs.db"));
        var run = store.Runs().Single();
        run.Status.Should().Be(RunStore.Finished);
        store.LastEvaluation(run.Id).Should().ContainKey("miou");
    }

    // ------------------------------------------------------------------------------------------ 3. resume with changed settings

    [Fact]
    public async Task Resume_with_changed_settings_is_refused_naming_them()
    {
        var root = CamVid(_tmp);
        var output = Path.Combine(_tmp, "out");
        var (code, text) = await CliRunner.RunAsync(Train(root, "--output", output, "--checkpoint-interval", "1"));
        code.Should().Be(0, text);
        (code, text) = await CliRunner.RunAsync(Train(root, "--output", output, "--resume", "--lr", "2e-3", "--iterations", "3"));
        OneLine(code, text, 2, "lr 0.001 → 0.002");
        text.Should().Contain("iterations 2 → 3");
        (code, text) = await CliRunner.RunAsync(Train(root, "--output", output, "--resume", "--crop", "48"));
        OneLine(code, text, 2, "crop 32 → 48");
        (code, text) = await CliRunner.RunAsync(Train(root, "--output", output, "--resume"));
        code.Should().Be(0, "the same settings resume: " + text);
    }

    // ------------------------------------------------------------------------------------------ 4. one checkpoint loader

    [Fact]
    public async Task Pretrained_weights_from_a_training_checkpoint_load_and_a_load_of_nothing_is_an_error()
    {
        var root = CamVid(_tmp);
        var (code, text) = await CliRunner.RunAsync(Train(root, "--output", Path.Combine(_tmp, "a")));
        code.Should().Be(0, text);
        (code, text) = await CliRunner.RunAsync(Train(root, "--output", Path.Combine(_tmp, "b"), "--pretrained", Path.Combine(_tmp, "a", "iter_00000002.safetensors")));
        code.Should().Be(0, text);
        text.Should().MatchRegex(@"pretrained: .* \d{2,} loaded, 0 initialised fresh, \d+ ignored, 0 missing");

        var junk = Path.Combine(_tmp, "junk.safetensors");
        using (var t = TorchSharp.torch.ones(4, 4)) Safetensors.Save(junk, new Dictionary<string, TorchSharp.torch.Tensor> { ["foo.weight"] = t });
        (code, text) = await CliRunner.RunAsync(Train(root, "--output", Path.Combine(_tmp, "c"), "--pretrained", junk));
        OneLine(code, text, 2, "--pretrained " + junk);
        File.Exists(Path.Combine(_tmp, "c", "iter_00000002.safetensors")).Should().BeFalse("nothing may train from scratch under a pretrained label");
    }

    [Fact]
    public async Task A_checkpoint_with_another_class_count_fine_tunes_with_a_fresh_classifier()
    {
        // 5 classes (synthetic) → 11 classes (CamVid): the classifier is re-initialised, everything else loads.
        var (code, text) = await CliRunner.RunAsync("train", "--config", TinyConfig(_tmp), "--dataset", "synthetic", "--synthetic-size", "64", "--crop", "32",
            "--scale", "64x64", "--iterations", "1", "--warmup", "1", "--val-limit", "1", "--workers", "1", "--db", Path.Combine(_tmp, "s.db"), "--output", Path.Combine(_tmp, "s"));
        code.Should().Be(0, text);
        var root = CamVid(_tmp);
        (code, text) = await CliRunner.RunAsync(Train(root, "--output", Path.Combine(_tmp, "b"), "--pretrained", Path.Combine(_tmp, "s", "iter_00000001.safetensors")));
        code.Should().Be(0, text);
        text.Should().Contain("decode_head.classifier.weight: the checkpoint has shape [5, 64, 1, 1], the model [11, 64, 1, 1] (another class count): re-initialised");
    }

    [Fact]
    public async Task Eval_reads_a_pytorch_model_bin_as_pretrained_does()
    {
        var root = CamVid(_tmp);
        var (code, text) = await CliRunner.RunAsync(Train(root, "--output", Path.Combine(_tmp, "a")));
        code.Should().Be(0, text);
        var bin = Path.Combine(_tmp, "pytorch_model.bin");
        // torch.save of the checkpoint's model tensors (the safetensors file read with the standard library and numpy).
        var script = """
import json, struct, sys, numpy as np, torch
src, dst = sys.argv[1], sys.argv[2]
b = open(src, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8+n]); data = b[8+n:]
sd = {}
for k, v in h.items():
    if k == '__metadata__' or not k.startswith('model/'): continue
    s, e = v['data_offsets']; dt = {'F32': np.float32, 'I64': np.int64}[v['dtype']]
    sd[k[6:]] = torch.from_numpy(np.frombuffer(data[s:e], dtype=dt).reshape(v['shape']).copy())
torch.save(sd, dst)
""";
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true };
        foreach (var a in new[] { "-c", script, Path.Combine(_tmp, "a", "iter_00000002.safetensors"), bin }) psi.ArgumentList.Add(a);
        using (var p = Process.Start(psi)!)
        {
            var err = await p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync();
            p.ExitCode.Should().Be(0, err);
        }
        var (c1, fromCkpt) = await CliRunner.RunAsync("eval", "--checkpoint", Path.Combine(_tmp, "a", "iter_00000002.safetensors"), "--dataset", "camvid", "--root", root, "--scale", "64x48", "--json");
        c1.Should().Be(0, fromCkpt);
        var (c2, fromBin) = await CliRunner.RunAsync("eval", "--checkpoint", bin, "--config", TinyConfig(_tmp), "--dataset", "camvid", "--root", root, "--scale", "64x48", "--json");
        c2.Should().Be(0, fromBin);
        static double Miou(string o) { using var d = System.Text.Json.JsonDocument.Parse(o[o.IndexOf('{')..]); return d.RootElement.GetProperty("miou").GetDouble(); }
        Miou(fromBin).Should().Be(Miou(fromCkpt));
    }

    // ------------------------------------------------------------------------------------------ 5. bounded memory

    [Fact]
    public async Task An_image_above_the_pixel_limit_is_refused_from_its_header_and_the_limit_can_be_raised()
    {
        var root = CamVid(_tmp);
        var ckpt = await TrainTiny(root);
        // A PNG whose header says 20000x15000 (300 million pixels) followed by no image data: refused before any allocation.
        var bomb = Path.Combine(root, "camvid", "val", "000.png");
        var header = File.ReadAllBytes(bomb)[..33];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(16), 20000);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(20), 15000);
        File.WriteAllBytes(bomb, header);
        var (code, text) = await CliRunner.RunAsync("eval", "--checkpoint", ckpt, "--dataset", "camvid", "--root", root, "--scale", "64x48");
        OneLine(code, text, 2, "20000x15000 is 300,000,000 pixels, above the limit of 89,478,485");
        text.Should().Contain("--max-pixels");

        // A small limit refuses the ordinary 64x48 images; raising it (or 0) lets them through.
        File.Delete(bomb);
        File.WriteAllLines(Path.Combine(root, "camvid", "val.txt"), new[] { "val/001.png valannot/001.png" });
        (code, text) = await CliRunner.RunAsync("eval", "--checkpoint", ckpt, "--dataset", "camvid", "--root", root, "--scale", "64x48", "--max-pixels", "1000");
        OneLine(code, text, 2, "64x48 is 3,072 pixels, above the limit of 1,000");
        (code, text) = await CliRunner.RunAsync("eval", "--checkpoint", ckpt, "--dataset", "camvid", "--root", root, "--scale", "64x48", "--max-pixels", "0");
        code.Should().Be(0, text);
    }

    private async Task<string> TrainTiny(string root)
    {
        var (code, text) = await CliRunner.RunAsync(Train(root, "--output", Path.Combine(_tmp, "tiny"), "--iterations", "1", "--val-limit", "1"));
        code.Should().Be(0, text);
        return Path.Combine(_tmp, "tiny", "iter_00000001.safetensors");
    }

    [Fact]
    public async Task Eval_of_a_large_image_keeps_its_scores_within_the_memory_budget()
    {
        // One 6000x4500 validation image (27 million pixels): its 11-class scores at full size would be 1.19 GB.
        var root = CamVid(_tmp, train: 2, val: 1);
        var ckpt = await TrainTiny(root);
        const int w = 6000, h = 4500;
        var img = new byte[h * w * 3];
        var lbl = new byte[h * w];
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) { img[(y * w + x) * 3] = (byte)x; lbl[y * w + x] = (byte)(x * 11 / w); }
        File.WriteAllBytes(Path.Combine(root, "camvid", "val", "000.png"), ImageCodec.EncodePng(img, h, w, 3));
        File.WriteAllBytes(Path.Combine(root, "camvid", "valannot", "000.png"), ImageCodec.EncodePng(lbl, h, w, 1));
        img = null!; lbl = null!;
        var (code, text, peak) = await RunMeasured("eval", "--checkpoint", ckpt, "--dataset", "camvid", "--root", root, "--scale", "64x48");
        code.Should().Be(0, text);
        _out.WriteLine($"eval of one {w}x{h} image: peak RSS {peak >> 20} MiB");
        // Decoded pixels (3 B), label (1 B) and its int64 tensors (2 × 8 B) are ~19 B/px = 0.5 GB, plus the process (~0.4 GB)
        // and the 256 MiB score budget. Measured: 3217 MiB before the fix (unbounded scores), 1418 MiB after.
        peak.Should().BeLessThan(1900L << 20, $"peak RSS {peak >> 20} MiB\n{text}");
    }

    /// <summary>Runs the CLI and samples its peak resident set (VmHWM) before it exits.</summary>
    private static async Task<(int code, string output, long peakBytes)> RunMeasured(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "boostformer.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        long peak = 0;
        while (!p.HasExited)
        {
            try
            {
                foreach (var line in await File.ReadAllLinesAsync($"/proc/{p.Id}/status"))
                    if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) peak = Math.Max(peak, long.Parse(line[6..].Trim().Split(' ')[0]) * 1024);
            }
            catch (IOException) { }
            await Task.Delay(20);
        }
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout + await stderr, peak);
    }

    // ------------------------------------------------------------------------------------------ 6. one line, the right option

    public static TheoryData<string, string[], string> BadOptions() => new()
    {
        { "--input", new[] { "profile", "--model", "segformer-b0", "--input", "1x1" }, "--input 1x1: both sides must be at least 32" },
        { "--crop", new[] { "train", "--dataset", "synthetic", "--crop", "1", "--iterations", "1" }, "--crop must be at least 32" },
        { "--batch-size", new[] { "train", "step-bench", "--batch-size", "0", "--input", "64x64" }, "--batch-size must be at least 1" },
        { "--input", new[] { "train", "step-bench", "--input", "0x0" }, "--input must be HxW" },
        { "--lr", new[] { "train", "--dataset", "synthetic", "--lr", "NaN", "--iterations", "1" }, "--lr must be a finite number > 0, got NaN" },
        { "--db", new[] { "train", "--dataset", "synthetic", "--iterations", "1", "--db", "@FILE/runs.db" }, "--db @FILE/runs.db: cannot write there" },
        { "--output", new[] { "train", "--dataset", "synthetic", "--iterations", "1", "--output", "@FILE/out" }, "--output @FILE/out: cannot write there" },
        { "--output", new[] { "pretrain", "--iterations", "1", "--output", "@FILE/out" }, "--output @FILE/out: cannot write there" },
        { "--output", new[] { "notebooks", "run", "@NB", "--output", "@FILE/nb" }, "--output @FILE/nb: cannot write there" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public async Task A_bad_option_is_one_line_naming_it(string option, string[] args, string message)
    {
        var file = Path.Combine(_tmp, "a-file");
        File.WriteAllText(file, "x");
        var nb = Path.Combine(_tmp, "n.ipynb");
        var marker = Path.Combine(_tmp, "cell-ran");
        File.WriteAllText(nb, $$"""{"cells":[{"cell_type":"code","metadata":{},"source":["System.IO.File.WriteAllText(\"{{marker}}\", \"ran\");"],"outputs":[],"execution_count":null}],"metadata":{},"nbformat":4,"nbformat_minor":4}""");
        string Sub(string a) => a.Replace("@FILE", file).Replace("@NB", nb);
        var full = args.Select(Sub).ToList();
        if (args[0] is "train" or "pretrain" && args[1] != "step-bench" && !args.Contains("--db")) full.AddRange(new[] { "--db", Path.Combine(_tmp, "r.db") });
        var (code, text) = await CliRunner.RunAsync(full.ToArray());
        OneLine(code, text, 2, Sub(message));
        text.Should().Contain(option);
        File.Exists(marker).Should().BeFalse("nothing runs before the options are checked");
    }

    [Fact]
    public async Task Eval_options_are_checked_and_name_themselves()
    {
        var root = CamVid(_tmp, train: 2, val: 1);
        var ckpt = await TrainTiny(root);
        string[] Eval(params string[] extra) => new[] { "eval", "--checkpoint", ckpt, "--dataset", "camvid", "--root", root }.Concat(extra).ToArray();
        var (code, text) = await CliRunner.RunAsync(Eval("--scale", "1x1"));
        OneLine(code, text, 2, "--scale 1x1: both values must be at least 32");
        (code, text) = await CliRunner.RunAsync(Eval("--slide", "abc"));
        OneLine(code, text, 2, "--slide must be CROPxSTRIDE with positive integers (e.g. 512x341), got 'abc'");
        (code, text) = await CliRunner.RunAsync(Eval("--limit", "-1"));
        OneLine(code, text, 2, "--limit must be at least 1, got -1");
        (code, text) = await CliRunner.RunAsync(Eval("--limit", "0"));
        OneLine(code, text, 2, "--limit must be at least 1, got 0");
    }

    [Fact]
    public async Task Data_check_with_skip_bad_does_not_count_bad_pairs_as_good()
    {
        var root = CamVid(_tmp, train: 3, val: 2);
        var bad = Path.Combine(root, "camvid", "train", "001.png");
        File.WriteAllText(bad, "garbage");
        var (code, text) = await CliRunner.RunAsync("data", "check", "--dataset", "camvid", "--root", root, "--decode", "--skip-bad");
        OneLine(code, text, 2, "1 sample(s) under");
        text.Should().Contain("skipped " + bad);
        text.Should().Contain("train: 2 good of 3 found (1 bad, skipped)");
    }
}
