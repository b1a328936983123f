using BoostFormer.Models;
using TorchSharp;

namespace BoostFormer.Profiling;

/// <summary>Profiling and latency of SegFormer/BoostFormer configurations (what <c>boostformer profile/bench/ablate</c> run).</summary>
public static class SegformerProfiling
{
    /// <summary>Builds the model of <paramref name="config"/> and profiles one forward at <paramref name="size"/>.</summary>
    public static ProfileReport Profile(SegformerConfig config, InputSize size, MacConvention convention = MacConvention.All, string? name = null)
    {
        using var model = new SegformerForSemanticSegmentation(config);
        return Profiler.Profile(model, x => model.call(x), size.Shape(), convention, name ?? config.SwitchSummary());
    }

    /// <summary>Builds the model of <paramref name="config"/> and measures its forward latency at <paramref name="size"/>.</summary>
    public static LatencyResult Bench(SegformerConfig config, InputSize size, int warmup = 3, int runs = 10, int? threads = null,
        bool sdpa = true, bool fusedDecoder = true, Precision precision = Precision.Fp32)
    {
        using var model = new SegformerForSemanticSegmentation(config).SetOptimizations(sdpa, fusedDecoder);
        model.to(precision.ScalarType());
        return LatencyBenchmark.Measure(model, x => model.call(x), size.Shape(), warmup, runs, threads, precision.ScalarType());
    }
}
