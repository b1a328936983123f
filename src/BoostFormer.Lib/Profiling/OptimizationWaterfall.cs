using BoostFormer.Models;
using BoostFormer.Visualization;

namespace BoostFormer.Profiling;

/// <summary>One rung of <see cref="OptimizationWaterfall"/>: which engine optimisations are on.</summary>
/// <param name="Label">What this rung adds, for tables and charts.</param>
/// <param name="Sdpa">LibTorch's fused scaled-dot-product attention in every efficient self-attention layer.</param>
/// <param name="FusedDecoder">The decoder's 1×1 fuse and BatchNorm folded into the per-stage projections, applied before
/// upsampling; the encoder's eval BatchNorms folded into the convolutions before them (<see cref="SegformerLayout.FoldsAtInference"/>).</param>
/// <param name="Precision">Weights and activations in fp32 or bf16.</param>
/// <param name="ChannelsLast">Channels-last maps at inference (<see cref="SegformerForSemanticSegmentation.channels_last_inference"/>).</param>
public sealed record OptimizationStep(string Label, bool Sdpa, bool FusedDecoder, Precision Precision, bool ChannelsLast = true);

/// <summary>A measured rung: latency and peak memory of one forward with the step's optimisations on.</summary>
/// <param name="Model">The model's name.</param>
/// <param name="Step">The optimisations measured.</param>
/// <param name="Latency">Median/min/max forward time and peak resident-memory rise.</param>
/// <param name="SpeedupVsNaive">The first rung's median divided by this one's.</param>
public sealed record OptimizationRung(string Model, OptimizationStep Step, LatencyResult Latency, double SpeedupVsNaive)
{
    /// <summary>Peak resident memory above the level before the timed runs, in MiB (NaN when the platform cannot tell).</summary>
    public double PeakMiB => Latency.PeakBytes < 0 ? double.NaN : Latency.PeakBytes / 1048576.0;
}

/// <summary>
/// From the naive port of the Hugging Face graph to the fastest inference path, one optimisation at a time (each can be
/// switched off on its own, see <see cref="SegformerForSemanticSegmentation.SetOptimizations"/> and <see cref="Precision"/>):
/// the latency and peak memory of each rung, for notebook 05's waterfall. None of the fp32 rungs changes the logits
/// (tests hold the fused decoder to 1e-5 and SDPA to the parity fixtures); bf16 changes them within the tolerance its test
/// states.
/// </summary>
public static class OptimizationWaterfall
{
    /// <summary>The rungs, cumulative: naive → + fused attention → + folded decoder → + channels-last maps → + bf16.</summary>
    public static readonly IReadOnlyList<OptimizationStep> Steps = new OptimizationStep[]
    {
        new("naive HF graph (fp32)", Sdpa: false, FusedDecoder: false, Precision.Fp32, ChannelsLast: false),
        new("+ fused SDPA attention", Sdpa: true, FusedDecoder: false, Precision.Fp32, ChannelsLast: false),
        new("+ folded decoder and BatchNorms", Sdpa: true, FusedDecoder: true, Precision.Fp32, ChannelsLast: false),
        new("+ channels-last maps", Sdpa: true, FusedDecoder: true, Precision.Fp32),
        new("+ bf16 weights and activations", Sdpa: true, FusedDecoder: true, Precision.Bf16),
    };

    /// <summary>Measures every rung of <see cref="Steps"/> for <paramref name="model"/> (a name <see cref="SegformerConfig.FromName"/> knows).</summary>
    public static IReadOnlyList<OptimizationRung> Measure(string model, InputSize size, int warmup = 2, int runs = 5, int? threads = null, int classes = 150,
        Action<string>? log = null)
    {
        var config = SegformerConfig.FromName(model, classes);
        var rungs = new List<OptimizationRung>();
        foreach (var step in Steps)
        {
            var latency = SegformerProfiling.Bench(config, size, warmup, runs, threads, step.Sdpa, step.FusedDecoder, step.Precision, step.ChannelsLast);
            var rung = new OptimizationRung(model, step, latency, rungs.Count == 0 ? 1.0 : rungs[0].Latency.MedianMs / latency.MedianMs);
            rungs.Add(rung);
            log?.Invoke($"{model} {step.Label}: {latency.MedianMs:F1} ms (×{rung.SpeedupVsNaive:F2} vs naive)");
        }
        return rungs;
    }

    /// <summary>The rungs as a table: median, min, peak memory and speed-up over the naive port.</summary>
    public static Table ToTable(IEnumerable<OptimizationRung> rungs, string? title = null) =>
        new(new[] { "model", "path", "median ms", "min ms", "peak rise MiB", "peak RSS MiB", "speed-up vs naive", "threads" },
            rungs.Select(r => (IReadOnlyList<object?>)new object?[]
            {
                r.Model, r.Step.Label, Math.Round(r.Latency.MedianMs, 1), Math.Round(r.Latency.MinMs, 1),
                double.IsNaN(r.PeakMiB) ? null : Math.Round(r.PeakMiB, 0),
                r.Latency.PeakRssBytes < 0 ? null : Math.Round(r.Latency.PeakRssBytes / 1048576.0, 0), Math.Round(r.SpeedupVsNaive, 2), r.Latency.Threads,
            }).ToList(), title);

    /// <summary>A bar per rung and model: the median latency as each optimisation is added.</summary>
    public static Chart ToChart(IEnumerable<OptimizationRung> rungs, InputSize size) =>
        Chart.Combine(rungs.GroupBy(r => r.Model).Select(g => Chart.Bar(g.Select(r => r.Step.Label), g.Select(r => r.Latency.MedianMs), name: g.Key)))
            .WithTitle($"From the naive port to the fastest path at {size}").WithYTitle("median forward ms").WithSize(820, 420);
}
