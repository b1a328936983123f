using BoostFormer.Models;
using BoostFormer.Visualization;

namespace BoostFormer.Profiling;

/// <summary>
/// How much faster fewer MACs can make a lighter model, counted on the path that actually runs. The papers count
/// SegFormer's MACs on the graph as written, whose decoder fuses four concatenated 1/4-resolution maps with a 1×1
/// convolution (two thirds of B2's MACs); the folded decoder (<see cref="SegformerDecodeHead"/>) removes that convolution
/// without changing the logits. On the same optimised path the MAC ratio is the ceiling of the speed-up; against the graph
/// as written it is the paper's FLOP claim. Measured latency beside both tells how far the kernels are from it.
/// </summary>
/// <param name="Model">The reference model (e.g. segformer-b2).</param>
/// <param name="Lighter">The lighter model (e.g. boostformer-b2).</param>
/// <param name="ModelMacs">The reference's MACs on the graph as written (conv + linear + attention products).</param>
/// <param name="ModelDeployedMacs">The reference's MACs on the folded-decoder path (the fuse convolution removed).</param>
/// <param name="LighterMacs">The lighter model's MACs as written.</param>
/// <param name="LighterDeployedMacs">The lighter model's MACs on the folded-decoder path.</param>
/// <param name="MeasuredSpeedup">The reference's forward time over the lighter one's on the same optimised path, when measured.</param>
public sealed record MacCeiling(string Model, string Lighter, long ModelMacs, long ModelDeployedMacs, long LighterMacs, long LighterDeployedMacs, double? MeasuredSpeedup)
{
    /// <summary>MAC ratio on the same (folded-decoder) path: the most a pure reduction of MACs can speed up.</summary>
    public double SamePathCeiling => (double)ModelDeployedMacs / LighterDeployedMacs;

    /// <summary>The reference's MACs as written over the lighter model's deployed ones: the papers' comparison.</summary>
    public double AsWrittenRatio => (double)ModelMacs / LighterDeployedMacs;

    /// <summary>MACs of <paramref name="p"/> without the decode head's <c>linear_fuse</c>, which the folded decoder never runs.</summary>
    public static long DeployedMacs(ProfileReport p) =>
        p.AllMacs - p.Modules.Where(m => m.Path == "decode_head.linear_fuse").Sum(m => m.Counts.Macs(MacConvention.All));

    /// <summary>Profiles both models (one forward each) at <paramref name="size"/>; the measured speed-up comes from <paramref name="timings"/> when it holds both.</summary>
    public static MacCeiling Measure(string model, string lighter, InputSize size, IEnumerable<ModuleTimeReport>? timings = null, int classes = 150)
    {
        var a = SegformerProfiling.Profile(SegformerConfig.FromName(model, classes), size, MacConvention.All, model);
        var b = SegformerProfiling.Profile(SegformerConfig.FromName(lighter, classes), size, MacConvention.All, lighter);
        var t = timings?.ToList();
        var ta = t?.FirstOrDefault(r => r.Model == model);
        var tb = t?.FirstOrDefault(r => r.Model == lighter);
        return new MacCeiling(model, lighter, a.AllMacs, DeployedMacs(a), b.AllMacs, DeployedMacs(b), ta is not null && tb is not null ? ta.ForwardMs / tb.ForwardMs : null);
    }

    /// <summary>The comparison as a table: MACs both ways, the two ratios and the measured speed-up.</summary>
    public Table ToTable(string? title = null) => new(
        new[] { "comparison", "MACs of " + Model + " (G)", "MACs of " + Lighter + " (G)", "MAC ratio", "measured speed-up" },
        new[]
        {
            (IReadOnlyList<object?>)new object?[] { "same optimised path (folded decoder)", Math.Round(ModelDeployedMacs / 1e9, 2), Math.Round(LighterDeployedMacs / 1e9, 2), Math.Round(SamePathCeiling, 2), MeasuredSpeedup is { } m ? Math.Round(m, 2) : null },
            new object?[] { Model + " as written (the papers' count)", Math.Round(ModelMacs / 1e9, 2), Math.Round(LighterDeployedMacs / 1e9, 2), Math.Round(AsWrittenRatio, 2), null },
        }, title);
}
