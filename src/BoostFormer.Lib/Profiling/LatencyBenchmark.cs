using System.Diagnostics;
using TorchSharp;

namespace BoostFormer.Profiling;

/// <summary>
/// Forward-pass latency statistics in milliseconds over the timed runs (warm-up runs excluded), and memory:
/// <see cref="PeakBytes"/> is how far the process's resident set rose above its level before the timed runs (what the
/// forward passes needed on top of the model and input: activations, workspaces; -1 where the kernel cannot report it),
/// <see cref="PeakRssBytes"/> the resident set's peak during them.
/// </summary>
public sealed record LatencyResult(double MedianMs, double MinMs, double MaxMs, double MeanMs, IReadOnlyList<double> RunsMs, int Threads, int Warmup)
{
    /// <summary>Peak resident bytes above the level before the timed runs (-1: unknown).</summary>
    public long PeakBytes { get; init; } = -1;
    /// <summary>Peak resident bytes of the process during the timed runs (-1: unknown).</summary>
    public long PeakRssBytes { get; init; } = -1;

    /// <summary>Median of a non-empty list.</summary>
    public static double Median(IReadOnlyList<double> xs)
    {
        if (xs.Count == 0) throw new ArgumentException("median of an empty list");
        var s = xs.OrderBy(v => v).ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
    }

    /// <summary>Statistics of <paramref name="runsMs"/>.</summary>
    public static LatencyResult From(IReadOnlyList<double> runsMs, int threads, int warmup) =>
        new(Median(runsMs), runsMs.Min(), runsMs.Max(), runsMs.Average(), runsMs, threads, warmup);
}

/// <summary>Measures the wall-clock latency of a model's forward pass on the CPU (inference mode, eval mode).</summary>
public static class LatencyBenchmark
{
    /// <summary>
    /// Runs <paramref name="forward"/> on one random input of <paramref name="inputShape"/> <paramref name="warmup"/> times
    /// untimed, then <paramref name="runs"/> times timed, each under inference mode with its outputs disposed.
    /// <paramref name="threads"/> sets libtorch's intra-op threads for the measurement (restored after); null keeps the
    /// current setting.
    /// </summary>
    public static LatencyResult Measure(torch.nn.Module model, Func<torch.Tensor, object?> forward, long[] inputShape, int warmup = 3, int runs = 10, int? threads = null,
        torch.ScalarType dtype = torch.ScalarType.Float32)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (warmup < 0) throw new ArgumentOutOfRangeException(nameof(warmup), warmup, "warmup must be ≥ 0");
        if (runs < 1) throw new ArgumentOutOfRangeException(nameof(runs), runs, "runs must be ≥ 1");
        if (threads is < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "threads must be ≥ 1");
        var previousThreads = torch.get_num_threads();
        var wasTraining = model.training;
        model.eval();
        if (threads is { } t) torch.set_num_threads(t);
        try
        {
            using var inference = torch.inference_mode();
            using var x = torch.randn(inputShape, dtype);
            var times = new List<double>(runs);
            long baseline = -1;
            bool peakKnown = false;
            for (int i = 0; i < warmup + runs; i++)
            {
                if (i == warmup)
                {
                    peakKnown = ProcessMemory.ResetPeak();
                    baseline = ProcessMemory.ResidentBytes();
                }
                var sw = Stopwatch.StartNew();
                using (var scope = torch.NewDisposeScope())
                {
                    var y = forward(x);
                    if (y is IDisposable d) d.Dispose();
                }
                sw.Stop();
                if (i >= warmup) times.Add(sw.Elapsed.TotalMilliseconds);
            }
            var result = LatencyResult.From(times, torch.get_num_threads(), warmup);
            if (!peakKnown || baseline < 0) return result;
            var peak = ProcessMemory.PeakResidentBytes();
            return result with { PeakRssBytes = peak, PeakBytes = Math.Max(0, peak - baseline) };
        }
        finally
        {
            if (threads is not null) torch.set_num_threads(previousThreads);
            model.train(wasTraining);
        }
    }
}
