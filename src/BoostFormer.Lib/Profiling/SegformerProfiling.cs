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
        bool sdpa = true, bool fusedDecoder = true, Precision precision = Precision.Fp32, bool channelsLast = true)
    {
        using var model = new SegformerForSemanticSegmentation(config).SetOptimizations(sdpa, fusedDecoder, channelsLast);
        model.to(precision.ScalarType());
        return LatencyBenchmark.Measure(model, x => model.call(x), size.Shape(), warmup, runs, threads, precision.ScalarType());
    }

    /// <summary>
    /// <see cref="ModuleTimer"/> on the path <see cref="Bench"/> times: where the forward time goes, by module type and by
    /// module, beside each one's MACs (counted in fp32 on the same path before a bf16 conversion).
    /// </summary>
    public static ModuleTimeReport ModuleTimes(SegformerConfig config, InputSize size, int warmup = 2, int runs = 5, int? threads = null,
        bool sdpa = true, bool fusedDecoder = true, Precision precision = Precision.Fp32, string? name = null, bool channelsLast = true)
    {
        using var model = new SegformerForSemanticSegmentation(config).SetOptimizations(sdpa, fusedDecoder, channelsLast);
        model.eval();
        var macs = Profiler.Profile(model, x => model.call(x), size.Shape(), MacConvention.All, name ?? "model");
        model.to(precision.ScalarType());
        return ModuleTimer.Measure(model, x => model.call(x), size.Shape(), macs, warmup, runs, threads, precision.ScalarType(), name);
    }
}
