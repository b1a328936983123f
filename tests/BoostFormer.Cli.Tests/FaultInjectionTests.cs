using System.Diagnostics;
using BoostFormer.IO;
using Microsoft.Data.Sqlite;

namespace BoostFormer.Cli.Tests;

/// <summary>
/// kill -9 at random moments (issue 16, item 7): 20 short training runs (a one-layer-per-stage SegFormer-B0, 32×32 crops,
/// 4 iterations, a checkpoint every iteration and an evaluation every 2, one LibTorch thread) are each killed with SIGKILL
/// at a random time within an uninterrupted run's duration. After every kill the tracking database passes
/// <c>PRAGMA integrity_check</c> and every checkpoint the folder lists as complete loads in full; <c>--resume</c> then
/// finishes the run with exactly the final weights of an uninterrupted run, and the database still passes the check.
/// </summary>
[Collection("train-cli")]
public sealed class FaultInjectionTests : IDisposable
{
    private readonly string _tmp = Path.Combine(Path.GetTempPath(), "bf-kill-" + Guid.NewGuid().ToString("N"));
    private readonly Xunit.Abstractions.ITestOutputHelper _out;

    public FaultInjectionTests(Xunit.Abstractions.ITestOutputHelper output)
    {
        _out = output;
        Directory.CreateDirectory(_tmp);
    }

    public void Dispose()
    {
        try { Directory.Delete(_tmp, true); } catch (IOException) { }
    }

    private string[] Args(string name, params string[] extra) => new[]
    {
        "train", "--config", ReliabilityTests.TinyConfig(_tmp), "--dataset", "synthetic", "--synthetic-size", "32", "--crop", "32", "--scale", "32x32",
        "--iterations", "4", "--warmup", "2", "--lr", "1e-3", "--checkpoint-interval", "1", "--eval-interval", "2", "--val-limit", "1", "--seed", "3",
        "--workers", "1", "--batch-size", "2", "--db", Path.Combine(_tmp, name + ".db"), "--output", Path.Combine(_tmp, name),
    }.Concat(extra).ToArray();

    private static Process Start(string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["BOOSTFORMER_THREADS"] = "1";
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "boostformer.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    private static async Task<(int code, string output, TimeSpan took)> Run(string[] args)
    {
        var sw = Stopwatch.StartNew();
        using var p = Start(args);
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await o + await e, sw.Elapsed);
    }

    private static Dictionary<string, float[]> Weights(string path)
    {
        var tensors = Safetensors.Load(path);
        var d = tensors.Where(kv => kv.Key.StartsWith("model/", StringComparison.Ordinal) && kv.Value.is_floating_point())
            .ToDictionary(kv => kv.Key, kv => kv.Value.ToArray<float>());
        foreach (var t in tensors.Values) t.Dispose();
        return d;
    }

    private static void SameWeights(Dictionary<string, float[]> a, Dictionary<string, float[]> b, string what)
    {
        b.Keys.Should().BeEquivalentTo(a.Keys, what);
        foreach (var (k, x) in a) b[k].Should().Equal(x, $"{what}: {k}");
    }

    private static string IntegrityCheck(string db)
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = db, Pooling = false, Mode = SqliteOpenMode.ReadOnly }.ToString());
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA integrity_check";
        return (string)cmd.ExecuteScalar()!;
    }

    /// <summary>Waits until <paramref name="folder"/> holds a complete checkpoint (its .json) or the process has exited.</summary>
    private static async Task FirstCheckpoint(System.Diagnostics.Process p, string folder)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(5);
        while (!p.HasExited && DateTime.UtcNow < deadline &&
               !(Directory.Exists(folder) && Directory.EnumerateFiles(folder, "iter_*.json").Any()))
            await Task.Delay(10);
    }

    [Fact]
    public async Task Runs_killed_at_random_moments_resume_to_the_weights_of_an_uninterrupted_run()
    {
        // Training with one thread is deterministic: two uninterrupted runs end with identical weights.
        var refs = await Task.WhenAll(Run(Args("ref")), Run(Args("ref2")));
        foreach (var r in refs) r.code.Should().Be(0, r.output);
        var reference = Weights(Path.Combine(_tmp, "ref", "iter_00000004.safetensors"));
        SameWeights(reference, Weights(Path.Combine(_tmp, "ref2", "iter_00000004.safetensors")), "a second uninterrupted run");
        var duration = refs.Max(r => r.took);
        _out.WriteLine($"uninterrupted run: {duration.TotalSeconds:F1} s");

        var rng = new Random(16);
        var delays = Enumerable.Range(0, 20).Select(_ => TimeSpan.FromMilliseconds(rng.Next(200, (int)duration.TotalMilliseconds))).ToList();
        var killedAt = new List<string>();
        // Two runs at a time (one LibTorch thread each, on this 2-core machine).
        foreach (var pair in Enumerable.Range(0, 20).Chunk(2))
            await Task.WhenAll(pair.Select(async i =>
            {
                var name = $"k{i:D2}";
                // Odd runs die at a random time (the shortest ones always before the first checkpoint: starting the
                // process takes longer). Even runs die a random time after their first checkpoint is complete, so
                // both stages are hit however the machine's load changes between the reference runs and these.
                bool afterCheckpoint = i % 2 == 0;
                var wait = afterCheckpoint ? delays[i] / 4 : delays[i];
                var when = afterCheckpoint ? $"first checkpoint + {wait.TotalMilliseconds} ms" : $"{wait.TotalMilliseconds} ms";
                using (var p = Start(Args(name)))
                {
                    _ = p.StandardOutput.ReadToEndAsync();
                    _ = p.StandardError.ReadToEndAsync();
                    if (afterCheckpoint) await FirstCheckpoint(p, Path.Combine(_tmp, name));
                    await Task.Delay(wait);
                    if (!p.HasExited) p.Kill(entireProcessTree: true); // SIGKILL
                    await p.WaitForExitAsync();
                }
                var db = Path.Combine(_tmp, name + ".db");
                if (File.Exists(db)) IntegrityCheck(db).Should().Be("ok", $"{name} killed at {when}");
                var folder = Path.Combine(_tmp, name);
                var complete = Directory.Exists(folder) ? Directory.GetFiles(folder, "iter_*.json").Order().ToList() : new List<string>();
                lock (killedAt) killedAt.Add($"{name}: {when}, {complete.Count} complete checkpoint(s)");
                // Every checkpoint that counts (its .json exists) is whole: its header validates and every tensor reads.
                foreach (var json in complete) Weights(Path.ChangeExtension(json, ".safetensors")).Should().NotBeEmpty(json);

                var (code, output, _) = await Run(Args(name, "--resume"));
                code.Should().Be(0, $"{name}: {output}");
                SameWeights(reference, Weights(Path.Combine(folder, "iter_00000004.safetensors")), $"{name} (killed at {when})");
                IntegrityCheck(db).Should().Be("ok");
            }));
        foreach (var line in killedAt.Order()) _out.WriteLine(line);
        // The kills landed at different stages: some before the first checkpoint, some after it.
        killedAt.Should().Contain(s => s.EndsWith(" 0 complete checkpoint(s)", StringComparison.Ordinal), string.Join("\n", killedAt));
        killedAt.Should().Contain(s => !s.EndsWith(" 0 complete checkpoint(s)", StringComparison.Ordinal), string.Join("\n", killedAt));
    }
}
