using System.Diagnostics;
using System.Text.Json;
using BoostFormer.Models;
using BoostFormer.Training.Tracking;

namespace BoostFormer.Cli.Tests;

/// <summary>
/// End-to-end training through the CLI on the synthetic dataset (SegFormer-B0, 64x64, a few iterations): a run killed
/// with SIGKILL after a checkpoint and resumed ends with the same weights and metrics as an uninterrupted run, the
/// killed run is left "running" in the database, and eval prints the JSON fields.
/// </summary>
[Collection("train-cli")]
public class TrainCommandTests
{
    private static string[] TrainArgs(string db, string output, params string[] extra) => new[]
    {
        "train", "--model", "segformer-b0", "--dataset", "synthetic", "--synthetic-size", "64", "--crop", "64", "--scale", "64x64",
        "--iterations", "8", "--warmup", "2", "--lr", "1e-3", "--checkpoint-interval", "2", "--eval-interval", "4", "--val-limit", "3",
        "--aux-head", "--seed", "7", "--workers", "1", "--db", db, "--output", output, "--log-every", "1",
    }.Concat(extra).ToArray();

    private static Dictionary<string, float[]> Weights(string path)
    {
        var tensors = BoostFormer.IO.Safetensors.Load(path);
        var d = tensors.Where(kv => kv.Key.StartsWith("model/", StringComparison.Ordinal) && kv.Value.is_floating_point())
            .ToDictionary(kv => kv.Key, kv => kv.Value.ToArray<float>());
        foreach (var t in tensors.Values) t.Dispose();
        return d;
    }

    [Fact]
    public async Task Killed_run_resumes_to_the_same_weights_and_metrics_and_eval_prints_json()
    {
        var tmp = Path.Combine(Path.GetTempPath(), "bf-cli-train-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(tmp);
        try
        {
            // Uninterrupted reference.
            var (codeA, outA) = await CliRunner.RunAsync(TrainArgs(Path.Combine(tmp, "a.db"), Path.Combine(tmp, "a")));
            codeA.Should().Be(0, outA);
            outA.Should().Contain("eval @ 8: mIoU");

            // Same run, killed (SIGKILL) once checkpoint 4 exists, then resumed.
            var dll = Path.Combine(AppContext.BaseDirectory, "boostformer.dll");
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(dll);
            foreach (var a in TrainArgs(Path.Combine(tmp, "b.db"), Path.Combine(tmp, "b"))) psi.ArgumentList.Add(a);
            using (var p = Process.Start(psi)!)
            {
                _ = p.StandardOutput.ReadToEndAsync();
                _ = p.StandardError.ReadToEndAsync();
                var marker = Path.Combine(tmp, "b", "iter_00000004.json");
                var sw = Stopwatch.StartNew();
                while (!File.Exists(marker) && !p.HasExited && sw.Elapsed < TimeSpan.FromMinutes(5)) await Task.Delay(50);
                File.Exists(marker).Should().BeTrue("the run should reach checkpoint 4 before it is killed");
                p.HasExited.Should().BeFalse("the kill must interrupt the run");
                p.Kill(entireProcessTree: true); // SIGKILL
                await p.WaitForExitAsync();
            }
            using (var store = RunStore.Open(Path.Combine(tmp, "b.db")))
                store.Runs().Single().Status.Should().Be(RunStore.Running, "a killed run is not marked finished");

            var (codeB, outB) = await CliRunner.RunAsync(TrainArgs(Path.Combine(tmp, "b.db"), Path.Combine(tmp, "b"), "--resume"));
            codeB.Should().Be(0, outB);

            var wa = Weights(Path.Combine(tmp, "a", "iter_00000008.safetensors"));
            var wb = Weights(Path.Combine(tmp, "b", "iter_00000008.safetensors"));
            wb.Keys.Should().BeEquivalentTo(wa.Keys);
            foreach (var (k, a) in wa)
            {
                var b = wb[k];
                var max = a.Zip(b, (x, y) => Math.Abs(x - y)).DefaultIfEmpty(0).Max();
                max.Should().BeLessThanOrEqualTo(1e-6f, k);
            }
            using (var sa = RunStore.Open(Path.Combine(tmp, "a.db")))
            using (var sb = RunStore.Open(Path.Combine(tmp, "b.db")))
            {
                var ra = sa.Runs().Single(); var rb = sb.Runs().Single();
                rb.Status.Should().Be(RunStore.Finished);
                sb.Series(rb.Id, "train", "loss").Select(x => x.step).Should().Equal(Enumerable.Range(1, 8).Select(i => (long)i));
                var la = sa.Series(ra.Id, "train", "loss"); var lb = sb.Series(rb.Id, "train", "loss");
                for (int i = 0; i < la.Count; i++) lb[i].value.Should().BeApproximately(la[i].value, 1e-6);
                sb.LastEvaluation(rb.Id)["miou"].Should().BeApproximately(sa.LastEvaluation(ra.Id)["miou"], 1e-9);
            }

            var (codeE, outE) = await CliRunner.RunAsync("eval", "--checkpoint", Path.Combine(tmp, "b", "iter_00000008.safetensors"), "--dataset", "synthetic",
                "--split", "val", "--scale", "64x64", "--limit", "2", "--json");
            codeE.Should().Be(0, outE);
            using var doc = JsonDocument.Parse(outE[outE.IndexOf('{')..]);
            var miou = doc.RootElement.GetProperty("miou").GetDouble();
            miou.Should().BeInRange(0, 1);
            doc.RootElement.GetProperty("macc").GetDouble().Should().BeInRange(0, 1);
            doc.RootElement.GetProperty("aacc").GetDouble().Should().BeInRange(0, 1);
            doc.RootElement.GetProperty("per_class_iou").EnumerateObject().Count().Should().Be(5);
        }
        finally
        {
            try { Directory.Delete(tmp, true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task Bad_arguments_exit_2_with_one_clear_message()
    {
        var (code, output) = await CliRunner.RunAsync("eval", "--checkpoint", "/nonexistent/x.safetensors", "--dataset", "synthetic");
        code.Should().Be(2, output);
        output.Should().Contain("error: checkpoint not found: /nonexistent/x.safetensors");
        var db = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N") + ".db");
        (code, output) = await CliRunner.RunAsync("train", "--model", "segformer-b9", "--dataset", "synthetic", "--iterations", "1", "--db", db);
        code.Should().Be(2, output);
        output.Should().Contain("unknown model name 'segformer-b9'");
        (code, output) = await CliRunner.RunAsync("train", "--dataset", "pascal", "--iterations", "1", "--db", db);
        code.Should().Be(2, output);
        output.Should().Contain("unknown segmentation dataset 'pascal'");
        (code, output) = await CliRunner.RunAsync("train", "--model", "segformer-b0", "--config", "x.json", "--db", db);
        code.Should().Be(2, output);
        output.Should().Contain("give --model or --config, not both");
        (code, output) = await CliRunner.RunAsync("train", "--iterations", "many");
        code.Should().Be(2, "a command line that does not parse is bad usage too");
        (code, output) = await CliRunner.RunAsync("pretrain", "--root", "/nonexistent/data", "--iterations", "1", "--db", db);
        code.Should().Be(2, output);
        output.Should().Contain("/nonexistent/data");
        File.Exists(db).Should().BeFalse("nothing ran");
    }

    [Fact]
    public async Task A_variant_trained_from_a_config_file_is_evaluated_from_its_checkpoint_alone()
    {
        var tmp = Path.Combine(Path.GetTempPath(), "bf-cli-config-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(tmp);
        try
        {
            // SegFormer-B0 widths with one layer a stage and three BoostFormer switches: no model name describes it.
            var config = SegformerConfig.FromName("segformer-b0") with { depths = new[] { 1, 1, 1, 1 }, mix_cfn = true, pooled_kv_attention = true, weighted_sum_decoder = true };
            var path = Path.Combine(tmp, "variant.json");
            var json = config.ToJsonObject();
            json["model"] = "b0-three-switches";
            File.WriteAllText(path, json.ToJsonString());
            var (code, output) = await CliRunner.RunAsync("train", "--config", path, "--dataset", "synthetic", "--synthetic-size", "64", "--crop", "64", "--scale", "64x64",
                "--iterations", "2", "--warmup", "1", "--val-limit", "1", "--workers", "1", "--db", Path.Combine(tmp, "runs.db"), "--output", Path.Combine(tmp, "out"));
            code.Should().Be(0, output);
            using (var store = RunStore.Open(Path.Combine(tmp, "runs.db")))
                store.Runs().Single().Name.Should().Be("b0-three-switches-synthetic");

            (code, output) = await CliRunner.RunAsync("eval", "--checkpoint", Path.Combine(tmp, "out", "iter_00000002.safetensors"), "--dataset", "synthetic",
                "--split", "val", "--scale", "64x64", "--limit", "1", "--json");
            code.Should().Be(0, output);
            using var doc = JsonDocument.Parse(output[output.IndexOf('{')..]);
            using var expected = new SegformerForSemanticSegmentation(config with { num_labels = 5 });
            doc.RootElement.GetProperty("model").GetString().Should().Be("b0-three-switches");
            doc.RootElement.GetProperty("parameters").GetInt64().Should().Be(expected.parameter_count());
        }
        finally
        {
            try { Directory.Delete(tmp, true); } catch (IOException) { }
        }
    }
}
