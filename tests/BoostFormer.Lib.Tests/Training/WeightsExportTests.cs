using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using BoostFormer.Data;
using BoostFormer.IO;
using BoostFormer.Lib.Tests.Models;
using BoostFormer.Models;
using BoostFormer.Tests;
using BoostFormer.Training;
using BoostFormer.Training.Checkpoints;
using BoostFormer.Training.Tracking;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Training;

/// <summary>A fact that needs /usr/bin/python3 with torch (Debian's python3-torch); skipped with the reason otherwise.</summary>
public sealed class PythonTorchFactAttribute : FactAttribute
{
    private static readonly Lazy<bool> Available = new(() =>
    {
        if (!File.Exists("/usr/bin/python3")) return false;
        try
        {
            var psi = new ProcessStartInfo("/usr/bin/python3", "-c \"import torch\"") { RedirectStandardError = true, RedirectStandardOutput = true };
            using var p = Process.Start(psi)!;
            p.WaitForExit(60_000);
            return p.HasExited && p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    });

    /// <summary>Sets <see cref="FactAttribute.Skip"/> when python3 or its torch is missing.</summary>
    public PythonTorchFactAttribute()
    {
        if (!Available.Value) Skip = "no /usr/bin/python3 with torch (Debian's python3-torch; scripts/setup.sh installs it)";
    }
}

/// <summary>
/// Shipped weights (<see cref="WeightsExport"/>, <see cref="ShippedWeights"/>): a training checkpoint exported as bf16
/// model weights loads with no architecture given and predicts what the fp32 model predicts; the SegFormer file has Hugging
/// Face's state-dict keys and shapes and a config.json transformers reads; BoostFormer gets the workbook's config; bad input
/// and overwriting another run's file are refused.
/// </summary>
[Collection(GlobalRngCollection.Name)]
public class WeightsExportTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly ITestOutputHelper _out;
    public WeightsExportTests(ITestOutputHelper output) { _out = output; }
    public void Dispose() => _dir.Dispose();

    private string P(params string[] parts) => Path.Combine(new[] { _dir.Path }.Concat(parts).ToArray());

    /// <summary>
    /// A run's best checkpoint as the trainer writes it (<c>&lt;run&gt;/run-7/best.safetensors</c>, 11 CamVid classes, BatchNorm
    /// statistics moved off their initial values, an auxiliary head), and a periodic one with optimizer state.
    /// </summary>
    private (string best, string periodic) MakeCheckpoint(string model, string run = "segformer-b0-camvid-full", long runId = 7, long seed = 3)
    {
        manual_seed(seed);
        using var net = SegformerForSemanticSegmentation.FromName(model, 11);
        using var scope = NewDisposeScope();
        using (no_grad())
            foreach (var (k, t) in net.state_dict())
            {
                if (k.EndsWith("running_mean", StringComparison.Ordinal)) t.copy_(randn_like(t).mul(Scalars.Of(0.1)));
                else if (k.EndsWith("running_var", StringComparison.Ordinal)) t.copy_(rand_like(t).add(Scalars.Of(0.5)));
                else if (k.EndsWith("num_batches_tracked", StringComparison.Ordinal)) t.fill_(Scalars.OfInt(40));
            }
        var sd = new Dictionary<string, Tensor>(net.state_dict()) { ["auxiliary_head.conv.weight"] = ones(11, 160, 1, 1) };
        var info = new CheckpointInfo { Iteration = 40, BestMetric = 0.4321, RunId = runId, ConfigJson = ModelSpec.FromName(model, 11).ToJson() };
        var manager = new CheckpointManager(P(run, $"run-{runId}"));
        var periodic = manager.Save(info, sd, new Dictionary<string, Tensor> { ["0/exp_avg"] = zeros(8) });
        return (manager.SaveBest(info, sd), periodic);
    }

    /// <summary>A fixed CamVid-sized input (seeded noise, 1×3×96×128).</summary>
    private static Tensor Input()
    {
        manual_seed(11);
        return randn(1, 3, 96, 128);
    }

    private static Tensor Logits(LoadedSegmentationModel m, Tensor x)
    {
        using var _ = no_grad();
        return m.Model.forward(x);
    }

    [Fact]
    public void A_bf16_export_of_segformer_b0_is_under_8_MB_loads_with_no_model_and_predicts_like_the_fp32_checkpoint()
    {
        var (best, _) = MakeCheckpoint("segformer-b0");
        var output = P("results", "weights", "segformer-b0-camvid-full.safetensors");
        var r = WeightsExport.Export(best, output);

        r.Bytes.Should().BeLessThanOrEqualTo(8_000_000, "a shipped B0 must be at most 8 MB");
        r.HuggingFaceConfig.Should().BeTrue();
        var (entries, meta, _) = Safetensors.ReadHeader(output);
        entries.Where(e => e.Name.EndsWith("num_batches_tracked", StringComparison.Ordinal)).Should().NotBeEmpty().And.OnlyContain(e => e.DType == "I64");
        entries.Where(e => !e.Name.EndsWith("num_batches_tracked", StringComparison.Ordinal)).Should().OnlyContain(e => e.DType == "BF16");
        entries.Should().NotContain(e => e.Name.StartsWith("auxiliary_head.") || e.Name.StartsWith("optimizer/") || e.Name.StartsWith("model/"));
        meta["format"].Should().Be("pt", "transformers refuses safetensors whose format is not pt");

        var shipped = ShippedWeights.Describe(output);
        shipped.Model.Should().Be("segformer-b0");
        shipped.Run.Should().Be("segformer-b0-camvid-full");
        shipped.Iteration.Should().Be(40);
        shipped.ValidationMIoU.Should().Be(0.4321);
        shipped.IsBestCheckpoint.Should().BeTrue();
        shipped.Source.Should().Be("segformer-b0-camvid-full/run-7/best.safetensors");
        shipped.ClassNames.Should().Equal(DatasetInfo.CamVid.ClassNames);
        shipped.DType.Should().Be("bf16");
        TrainedModels.Recorded(output)!.Name.Should().Be("segformer-b0", "the file records its model: no --model needed");

        using var scope = NewDisposeScope();
        using var source = TrainedModels.Load(best);
        using var exported = TrainedModels.Load(output);
        exported.Model.parameters().Should().OnlyContain(p => p.dtype == ScalarType.Float32, "bf16 weights load into the fp32 model");
        var x = Input();
        var a = Logits(source, x);
        var b = Logits(exported, x);
        var scale = a.abs().max().item<float>();
        var diff = a.sub(b).abs().max().item<float>();
        // bf16 keeps 8 significant bits (relative rounding error <= 2^-9 = 0.2 %); through 30 layers the logits move by
        // about 1 % of their range, not 3 %.
        _out.WriteLine($"bf16 export: {r.Bytes} bytes; max |logit diff| {diff} (logit range {scale}); argmax agreement {a.argmax(1).eq(b.argmax(1)).to(ScalarType.Float32).mean().item<float>()}");
        diff.Should().BeLessThan(0.03f * scale, $"max |logit difference| {diff} against logits up to {scale}");
        var agree = a.argmax(1).eq(b.argmax(1)).to(ScalarType.Float32).mean().item<float>();
        agree.Should().BeGreaterThan(0.98f, "the predicted class changes only on near ties");
    }

    [Fact]
    public void The_segformer_file_has_hugging_face_keys_and_shapes_and_its_config_reads_back_to_the_same_architecture()
    {
        var (best, _) = MakeCheckpoint("segformer-b0");
        var output = P("w", "segformer-b0-camvid-full.safetensors");
        WeightsExport.Export(best, output);

        // The parity fixture holds Hugging Face's SegformerForSemanticSegmentation state dict (ADE20K: 150 classes).
        var hf = Safetensors.ReadHeader(Path.Combine(TestPaths.Fixtures, "parity", "segformer-b0-ade", "weights.safetensors")).entries
            .ToDictionary(e => e.Name, e => e.Shape);
        var ours = Safetensors.ReadHeader(output).entries.ToDictionary(e => e.Name, e => e.Shape);
        ours.Keys.Should().BeEquivalentTo(hf.Keys);
        foreach (var (k, shape) in hf)
        {
            var expected = k.StartsWith("decode_head.classifier.", StringComparison.Ordinal) ? shape.Select((d, i) => i == 0 ? 11L : d).ToArray() : shape;
            ours[k].Should().Equal(expected, k);
        }

        var configPath = WeightsExport.ConfigPathFor(output);
        configPath.Should().EndWith("segformer-b0-camvid-full.config.json");
        var json = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        json["model_type"]!.GetValue<string>().Should().Be("segformer");
        json["architectures"]!.AsArray().Select(n => n!.GetValue<string>()).Should().Equal("SegformerForSemanticSegmentation");
        json["id2label"]!.AsObject().Select(kv => (kv.Key, kv.Value!.GetValue<string>())).Should()
            .Equal(DatasetInfo.CamVid.ClassNames.Select((n, i) => (i.ToString(), n)));
        json["label2id"]!["Bicyclist"]!.GetValue<int>().Should().Be(10);
        json.ContainsKey("family").Should().BeFalse("a Hugging Face config has only Hugging Face fields");
        SegformerConfig.FromJson(configPath).ToJson().Should().Be(SegformerConfig.FromName("segformer-b0", 11).ToJson());
    }

    [Fact]
    public void BoostFormer_gets_the_workbook_config_and_fp16_and_fp32_exports_load()
    {
        var (best, periodic) = MakeCheckpoint("boostformer-b0", run: "boostformer-b0-camvid-full");
        var bf16 = WeightsExport.Export(best, P("w", "boostformer-b0-camvid-full.safetensors"));
        bf16.HuggingFaceConfig.Should().BeFalse();
        _out.WriteLine($"boostformer-b0 bf16 export: {bf16.Bytes} bytes");
        bf16.Bytes.Should().BeLessThanOrEqualTo(8_000_000);
        var config = SegformerConfig.FromJson(bf16.ConfigPath);
        config.IsBoostFormer.Should().BeTrue();
        config.ToJson().Should().Be(SegformerConfig.FromName("boostformer-b0", 11).ToJson());
        File.ReadAllText(bf16.ConfigPath).Should().Contain("Not a Hugging Face config");

        var fp16 = WeightsExport.Export(periodic, P("w", "b-fp16.safetensors"), ScalarType.Float16);
        var fp32 = WeightsExport.Export(periodic, P("w", "b-fp32.safetensors"), ScalarType.Float32);
        Safetensors.ReadHeader(fp16.WeightsPath).entries.Should().Contain(e => e.DType == "F16").And.NotContain(e => e.DType == "BF16" || e.DType == "F32");
        ShippedWeights.Describe(fp16.WeightsPath).IsBestCheckpoint.Should().BeFalse("a periodic checkpoint's recorded mIoU is the run's best so far, not its own");

        using var scope = NewDisposeScope();
        using var source = TrainedModels.Load(periodic);
        using var half = TrainedModels.Load(fp16.WeightsPath);
        using var full = TrainedModels.Load(fp32.WeightsPath);
        var x = Input();
        var a = Logits(source, x);
        SafetensorsTests.BitEqual(Logits(full, x), a).Should().BeTrue("fp32 export is lossless");
        Logits(half, x).sub(a).abs().max().item<float>().Should().BeLessThan(0.01f * a.abs().max().item<float>(), "fp16 keeps 11 significant bits");
    }

    [Fact]
    public void Bad_checkpoints_and_overwriting_another_runs_file_are_refused()
    {
        var (best, _) = MakeCheckpoint("segformer-b0");
        var output = P("w", "segformer-b0-camvid-full.safetensors");

        var missing = () => WeightsExport.Export(P("nope.safetensors"), output);
        missing.Should().Throw<FileNotFoundException>().WithMessage("*--checkpoint*nope.safetensors*not found*");
        File.WriteAllBytes(P("corrupt.safetensors"), new byte[] { 9, 0, 0, 0, 0, 0, 0, 0, 1, 2 });
        var corrupt = () => WeightsExport.Export(P("corrupt.safetensors"), output);
        corrupt.Should().Throw<InvalidDataException>().WithMessage("*corrupt.safetensors*");
        var foreign = () => WeightsExport.Export(Path.Combine(TestPaths.Fixtures, "parity", "segformer-b0-ade", "weights.safetensors"), output);
        foreign.Should().Throw<InvalidDataException>().WithMessage("*not a training checkpoint*");
        var wrongClasses = () => WeightsExport.Export(best, output, dataset: "cityscapes");
        wrongClasses.Should().Throw<ArgumentException>().WithMessage("*cityscapes*19 classes*predicts 11*");
        var notSafetensors = () => WeightsExport.Export(best, P("w", "x.bin"));
        notSafetensors.Should().Throw<ArgumentException>().WithMessage("*--output*.safetensors*");
        var badDtype = () => WeightsExport.ParseDType("int8");
        badDtype.Should().Throw<ArgumentException>().WithMessage("*--dtype*bf16, fp16 or fp32*int8*");
        File.Exists(output).Should().BeFalse("nothing is written on bad input");

        WeightsExport.Export(best, output);
        var first = File.ReadAllBytes(output);
        WeightsExport.Export(best, output).Run.Should().Be("segformer-b0-camvid-full", "re-exporting the same run replaces its file");

        var (other, _) = MakeCheckpoint("segformer-b0", run: "another", runId: 9, seed: 5);
        var overwrite = () => WeightsExport.Export(other, output);
        overwrite.Should().Throw<ArgumentException>().WithMessage("*holds the weights of another run*run id 7*run id 9*--force*");
        File.ReadAllBytes(output).Length.Should().Be(first.Length);
        ShippedWeights.Describe(output).Source.Should().StartWith("segformer-b0-camvid-full/");
        WeightsExport.Export(other, output, force: true);
        ShippedWeights.Describe(output).Source.Should().Be("another/run-9/best.safetensors");

        File.WriteAllText(P("w", "notes.safetensors"), "not weights");
        var foreignOutput = () => WeightsExport.Export(best, P("w", "notes.safetensors"));
        foreignOutput.Should().Throw<ArgumentException>().WithMessage("*notes.safetensors*not an exported weights file*--force*");
        Directory.GetFiles(P("w")).Should().NotContain(f => Path.GetFileName(f).StartsWith('.'), "no temporary is left behind");
    }

    [Fact]
    public void Shipped_weights_are_found_from_a_notebooks_folder_listed_and_used_unless_a_local_run_is_better_trained()
    {
        var (best, _) = MakeCheckpoint("segformer-b0");
        var (boost, _) = MakeCheckpoint("boostformer-b0", run: "boostformer-b0-camvid-full", runId: 8);
        File.WriteAllText(P("BoostFormer.Lib.sln"), "");
        Directory.CreateDirectory(P("notebooks"));
        ShippedWeights.Folder(P("notebooks")).Should().Be(P("results", "weights"), "the repository root is found from notebooks/");
        ShippedWeights.List(P("results", "weights")).Should().BeEmpty();

        WeightsExport.Export(best, P("results", "weights", "segformer-b0-camvid-full.safetensors"));
        WeightsExport.Export(boost, P("results", "weights", "boostformer-b0-camvid-full.safetensors"));
        File.WriteAllText(P("results", "weights", "stray.safetensors"), "x");
        var folder = ShippedWeights.Folder(P("notebooks"))!;
        ShippedWeights.List(folder).Select(s => s.Name).Should().Equal("boostformer-b0-camvid-full", "segformer-b0-camvid-full");
        ShippedWeights.Find("missing", folder).Should().BeNull();
        using (var m = ShippedWeights.Load("boostformer-b0-camvid-full", folder)) m.Name.Should().Be("boostformer-b0");

        var runs = ShippedWeights.LocalOrShipped(new RunQuery(P("runs", "none.db")), new[] { "segformer-b0-camvid-ci" },
            new[] { "segformer-b0-camvid-full", "boostformer-b0-camvid-full", "absent" }, folder);
        runs.Select(r => (r.Model, r.Origin)).Should().Equal(("segformer-b0", "shipped weights results/weights/segformer-b0-camvid-full.safetensors"),
            ("boostformer-b0", "shipped weights results/weights/boostformer-b0-camvid-full.safetensors"));
        runs[0].BestValidationMIoU.Should().Be(0.4321);
        ShippedWeights.Summary(runs).Should().Contain("- **segformer-b0**: shipped weights results/weights/segformer-b0-camvid-full.safetensors, best val mIoU 43.21 %");

        // A local run at this scale is shown instead only when it is at least as well trained (mean best val mIoU).
        Directory.CreateDirectory(P("runs"));
        using (var store = RunStore.Open(P("runs", "ci.db")))
        {
            foreach (var (name, miou) in new[] { ("segformer-b0-camvid-ci", 0.20), ("segformer-b0-camvid-long", 0.60) })
            {
                var id = store.CreateRun(name, "segmentation", "segformer-b0", "{}", "{}", "{}");
                store.LogMetrics(id, "eval", 10, new Dictionary<string, double> { ["miou"] = miou });
                store.AddArtifact(id, 10, "best", best);
                store.EndRun(id, RunStore.Finished);
            }
        }
        var shippedNames = new[] { "segformer-b0-camvid-full", "boostformer-b0-camvid-full" };
        ShippedWeights.LocalOrShipped(new RunQuery(P("runs", "ci.db")), new[] { "segformer-b0-camvid-ci" }, shippedNames, folder)
            .Select(r => r.Origin).Should().OnlyContain(o => o.StartsWith("shipped weights"), "a 20 % demo run does not hide weights that reach 43 %");
        ShippedWeights.LocalOrShipped(new RunQuery(P("runs", "ci.db")), new[] { "segformer-b0-camvid-long" }, shippedNames, folder)
            .Select(r => r.Name).Should().Equal(new[] { "segformer-b0-camvid-long" }, "a better local run replaces the shipped ones, never mixed with them");
        ShippedWeights.LocalOrShipped(new RunQuery(P("runs", "ci.db")), new[] { "segformer-b0-camvid-ci" }, new[] { "absent" }, folder)
            .Select(r => r.Name).Should().Equal("segformer-b0-camvid-ci");
        new TrainedRun("segformer-b0-camvid-ci", 3, "segformer-b0", "x", 0.1).Weights.Should().Be("local run segformer-b0-camvid-ci");
        ShippedWeights.Summary(Array.Empty<TrainedRun>()).Should().Contain("No trained weights");
        using var loaded = TrainedModels.Load(runs[1].Checkpoint);
        loaded.Model.config.IsBoostFormer.Should().BeTrue();
    }

    [Fact]
    public void With_the_tracking_database_the_export_records_the_runs_iterations_wall_time_throughput_and_last_miou()
    {
        var job = new SegmentationJob
        {
            Model = "segformer-b0", Dataset = "synthetic", Synthetic = new(64, 8, 5), CropSize = 64, Scale = (64, 64), BatchSize = 2,
            ValLimit = 1, Workers = 1, Database = P("runs.db"),
            Trainer = new SegmentationTrainerOptions { RunName = "tiny", Iterations = 2, WarmupIterations = 1 },
        };
        var id = job.Run();
        using var store = RunStore.Open(job.Database);
        var row = RunReport.Rows(store, new[] { id })[0];
        var checkpoint = store.BestCheckpoint(id)!;
        var output = P("w", "tiny.safetensors");
        WeightsExport.Export(checkpoint, output, dataset: "synthetic", database: job.Database);

        var meta = Safetensors.ReadMetadata(output);
        meta["iterations"].Should().Be("2");
        double.Parse(meta["wall_minutes"], System.Globalization.CultureInfo.InvariantCulture).Should().Be(row.WallMinutes).And.BePositive();
        double.Parse(meta["images_per_second"], System.Globalization.CultureInfo.InvariantCulture).Should().Be(row.ImagesPerSecond).And.BePositive();
        double.Parse(meta["final_val_miou"], System.Globalization.CultureInfo.InvariantCulture).Should().Be(row.FinalValMIoU!.Value);
        ShippedWeights.Describe(output).ValidationMIoU.Should().Be(row.BestValMIoU);
        ShippedWeights.Describe(output).ClassNames.Should().Equal(DatasetInfo.Synthetic(5).ClassNames);

        var wrongDb = () => WeightsExport.Export(checkpoint, output, dataset: "synthetic", database: P("other.db"));
        wrongDb.Should().Throw<FileNotFoundException>().WithMessage("*--db*other.db*not found*");
    }

    [PythonTorchFact]
    public void Python_reads_the_bf16_file_without_the_safetensors_package_and_the_hugging_face_layout_model_gives_the_same_logits()
    {
        var (best, _) = MakeCheckpoint("segformer-b0");
        var output = P("w", "segformer-b0-camvid-full.safetensors");
        WeightsExport.Export(best, output);
        float[] probe;
        using (var scope = NewDisposeScope())
        using (var exported = TrainedModels.Load(output))
        {
            var x = Input();
            Safetensors.Save(P("io.safetensors"), new Dictionary<string, Tensor> { ["input"] = x, ["logits"] = Logits(exported, x) });
            probe = Safetensors.Load(output)["decode_head.classifier.weight"].flatten().narrow(0, 0, 16).to(ScalarType.Float32).ToArray<float>();
        }

        var result = JsonNode.Parse(RunPython(Script(), output, WeightsExport.ConfigPathFor(output), P("io.safetensors"), ReferenceDir()))!;
        result["probe_dtype"]!.GetValue<string>().Should().Be("torch.bfloat16");
        result["probe"]!.AsArray().Select(v => (float)v!.GetValue<double>()).Should().Equal(probe, "Python reads the same bf16 values C# wrote");
        result["num_labels"]!.GetValue<int>().Should().Be(11);
        result["label0"]!.GetValue<string>().Should().Be("Sky");
        result["shape"]!.AsArray().Select(v => v!.GetValue<int>()).Should().Equal(1, 11, 24, 32);
        var maxAbs = result["max_abs"]!.GetValue<double>();
        var scale = result["scale"]!.GetValue<double>();
        _out.WriteLine($"python3-torch HF-layout reference vs C#: max |logit diff| {maxAbs} (scale {scale})");
        // Same (bf16-rounded) weights in fp32 on both sides: only summation order differs (the parity tests' 1e-4 budget).
        maxAbs.Should().BeLessThan(1e-3 * Math.Max(1, scale), $"PyTorch logits differ from C# by {maxAbs} (scale {scale})");
    }

    private static string Script([CallerFilePath] string self = "") => Path.Combine(Path.GetDirectoryName(self)!, "Fixtures", "check_exported_weights.py");

    private static string ReferenceDir([CallerFilePath] string self = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(self)!, "..", "..", "..", "bench", "segformer-latency"));

    private static string RunPython(params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var o = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        p.ExitCode.Should().Be(0, stderr.Result);
        return o;
    }
}
