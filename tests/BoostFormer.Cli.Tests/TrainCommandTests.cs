using System.Diagnostics;
using System.Text.Json;
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
    public async Task Bad_arguments_fail_with_one_clear_message()
    {
        var (code, output) = await CliRunner.RunAsync("eval", "--checkpoint", "/nonexistent/x.safetensors", "--dataset", "synthetic");
        code.Should().NotBe(0);
        output.Should().Contain("checkpoint not found: /nonexistent/x.safetensors");
        var (code2, output2) = await CliRunner.RunAsync("train", "--model", "segformer-b9", "--dataset", "synthetic", "--iterations", "1", "--db", Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N") + ".db"));
        code2.Should().NotBe(0);
        output2.Should().Contain("unknown model name 'segformer-b9'");
    }
}
