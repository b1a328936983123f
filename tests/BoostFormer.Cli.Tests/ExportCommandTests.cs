using System.Text.Json.Nodes;
using BoostFormer.Models;
using BoostFormer.Training;
using BoostFormer.Training.Checkpoints;
using static TorchSharp.torch;

namespace BoostFormer.Cli.Tests;

/// <summary>
/// <c>boostformer export</c> end to end: a training checkpoint becomes a bf16 weights file and config.json that
/// <c>boostformer eval</c> evaluates with no other argument, to the mIoU of the fp32 checkpoint; bad input exits 2 with
/// one line.
/// </summary>
public class ExportCommandTests
{
    private static string DataRoot()
    {
        var env = Environment.GetEnvironmentVariable("BOOSTFORMER_DATA");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(env)) return env;
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (Directory.Exists(Path.Combine(d.FullName, "shared", "data"))) return Path.Combine(d.FullName, "shared", "data");
        throw new DirectoryNotFoundException("sample data not found: set BOOSTFORMER_DATA");
    }

    /// <summary>A SegFormer-B0 best checkpoint for CamVid's 11 classes as the trainer writes it, under <c>&lt;dir&gt;/&lt;run&gt;/run-&lt;id&gt;/</c>.</summary>
    private static string Checkpoint(string dir, string run, long runId)
    {
        BoostFormer.Engine.Initialize();
        var spec = ModelSpec.FromName("segformer-b0", 11);
        using var net = new SegformerForSemanticSegmentation(spec.Config);
        return new CheckpointManager(Path.Combine(dir, run, $"run-{runId}"))
            .SaveBest(new CheckpointInfo { Iteration = 12, BestMetric = 0.25, RunId = runId, ConfigJson = spec.ToJson() }, net.state_dict());
    }

    private static double MIoU(string json) => JsonNode.Parse(json[json.IndexOf('{')..])!["miou"]!.GetValue<double>();

    [Fact]
    public async Task Export_writes_bf16_weights_that_eval_reads_with_no_model_and_refuses_bad_input()
    {
        var tmp = Path.Combine(Path.GetTempPath(), "bf-cli-export-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(tmp);
        try
        {
            var best = Checkpoint(tmp, "segformer-b0-camvid-full", 3);
            var output = Path.Combine(tmp, "results", "weights", "segformer-b0-camvid-full.safetensors");
            var (code, text) = await CliRunner.RunAsync("export", "--checkpoint", best, "--output", output);
            code.Should().Be(0, text);
            text.Should().Contain("segformer-b0").And.Contain("MB").And.Contain("Hugging Face SegformerConfig");
            new FileInfo(output).Length.Should().BeLessThanOrEqualTo(8_000_000);
            File.Exists(Path.Combine(tmp, "results", "weights", "segformer-b0-camvid-full.config.json")).Should().BeTrue();

            var root = DataRoot();
            var (e1, shipped) = await CliRunner.RunAsync("eval", "--checkpoint", output, "--dataset", "camvid", "--root", root, "--limit", "2", "--json");
            e1.Should().Be(0, shipped);
            var (e2, source) = await CliRunner.RunAsync("eval", "--checkpoint", best, "--dataset", "camvid", "--root", root, "--limit", "2", "--json");
            e2.Should().Be(0, source);
            // bf16 rounding flips only near-tie pixels: half a point of mIoU is far more than that moves.
            MIoU(shipped).Should().BeApproximately(MIoU(source), 0.005);

            foreach (var args in new[]
            {
                new[] { "export", "--checkpoint", Path.Combine(tmp, "missing.safetensors"), "--output", output },
                new[] { "export", "--checkpoint", best, "--output", output, "--dtype", "int8" },
                new[] { "export", "--checkpoint", Checkpoint(tmp, "other", 4), "--output", output },
            })
            {
                var (bad, message) = await CliRunner.RunAsync(args);
                bad.Should().Be(2, message);
                message.Trim().Split('\n').Should().ContainSingle(message).Which.Should().StartWith("error:");
            }
            var (forced, forcedText) = await CliRunner.RunAsync("export", "--checkpoint", Checkpoint(tmp, "other", 4), "--output", output, "--force");
            forced.Should().Be(0, forcedText);
        }
        finally
        {
            try { Directory.Delete(tmp, true); } catch (IOException) { }
        }
    }
}
