using BoostFormer.Models;
using TorchSharp;

namespace BoostFormer.Profiling;

/// <summary>
/// The cost of one zoo module where it sits in SegFormer-B0 (<see cref="ZooModuleCosts"/>): the module's path in the
/// model, its parameters and MACs (conv+linear+matmul and conv+linear), and the same for the SegFormer-B0 module it replaces.
/// </summary>
public sealed record ZooModuleCost(ZooModule Module, string Path, string Type, long Params, long MacsAll, long MacsConvLinear,
    string BaseType, long BaseParams, long BaseMacsAll, long BaseMacsConvLinear);

/// <summary>
/// Each <see cref="ZooModule"/> substituted alone into SegFormer-B0 and measured <em>at its own place</em> — not the whole
/// model (that is <see cref="ModelFamily"/>): a token mixer or attention block at stage 3's first layer
/// (<c>segformer.encoder.block.2.0.attention</c>), a whole-layer replacement at that layer, a channel mixer at its
/// <c>mlp</c>, a decoder at <c>decode_head</c>, an encoder at <c>segformer.encoder</c>. MACs come from one forward of the
/// whole model at the stated input (so the module sees the feature map it sees in use), read from the profiler's inclusive
/// per-module counts.
/// </summary>
public static class ZooModuleCosts
{
    /// <summary>The module path in a SegFormer-shaped model where a module of substitution point <paramref name="point"/> sits.</summary>
    public static string PathOf(string point) => point switch
    {
        "token mixer" or "attention output" => "segformer.encoder.block.2.0.attention",
        "layer" => "segformer.encoder.block.2.0",
        "channel mixer" => "segformer.encoder.block.2.0.mlp",
        "decoder" => "decode_head",
        "encoder" => "segformer.encoder",
        _ => throw new ArgumentException($"unknown substitution point '{point}'", nameof(point)),
    };

    /// <summary>
    /// The module of <paramref name="model"/> at <paramref name="module"/>'s place; with <paramref name="drawn"/>, the one a
    /// diagram shows: a token mixer's <c>attention.self</c> (the mixer itself, without the output projection it shares with
    /// SegFormer), otherwise the same module.
    /// </summary>
    public static torch.nn.Module At(SegformerForSemanticSegmentation model, ZooModule module, bool drawn = false)
    {
        var path = PathOf(module.Point) + (drawn && module.Point == "token mixer" ? ".self" : "");
        return model.named_modules().FirstOrDefault(m => m.name == path).module
               ?? throw new ArgumentException($"{Profiler.TypeName(model)} has no module at '{path}' (the place of {module.Label})");
    }

    /// <summary>Measures every zoo module (or those of <paramref name="only"/>) at <paramref name="input"/>: the family table's SegFormer-B0 and module rows (<see cref="FromFamily"/>).</summary>
    public static IReadOnlyList<ZooModuleCost> Run(InputSize input, int classes = 11, IReadOnlyList<ZooModule>? only = null, Action<string>? log = null)
    {
        var modules = only ?? ZooModule.All;
        var entries = ModelFamily.Entries(classes).Where(e => e.Name == "segformer-b0" || modules.Any(m => e.Name == ModuleRowName(m))).ToList();
        return FromFamily(ModelFamily.Run(new AblationOptions { Input = input, Classes = classes, Runs = 0 }, null, entries), only, log);
    }

    /// <summary>The family table's row name of <paramref name="module"/> substituted into SegFormer-B0.</summary>
    public static string ModuleRowName(ZooModule module) => $"SegFormer-B0 + {module.Label}";

    /// <summary>
    /// Every zoo module's cost read from a measured family table (its <c>segformer-b0</c> row and the module rows, with their
    /// profiles), so a notebook that shows both profiles each model once.
    /// </summary>
    public static IReadOnlyList<ZooModuleCost> FromFamily(FamilyTable family, IReadOnlyList<ZooModule>? only = null, Action<string>? log = null)
    {
        ProfileReport ProfileOf(string name) => family.Row(name).Profile ?? throw new ArgumentException($"the family row '{name}' carries no profile");
        var baseReport = ProfileOf("segformer-b0");
        var rows = new List<ZooModuleCost>();
        foreach (var m in only ?? ZooModule.All)
        {
            var path = PathOf(m.Point);
            var report = ProfileOf(ModuleRowName(m));
            var at = report.Modules.FirstOrDefault(r => r.Path == path) ?? throw new InvalidOperationException($"{m.Label}: the profile has no module '{path}'");
            var was = baseReport.Modules.First(r => r.Path == path);
            var row = new ZooModuleCost(m, path, at.Type, at.Params, at.Counts.Macs(MacConvention.All), at.Counts.Macs(MacConvention.ConvLinear),
                was.Type, was.Params, was.Counts.Macs(MacConvention.All), was.Counts.Macs(MacConvention.ConvLinear));
            rows.Add(row);
            log?.Invoke($"{m.Label}: {row.Type} at {path}, {row.Params:N0} params, {row.MacsAll / 1e6:F1} MMAC (SegFormer-B0's {row.BaseType}: {row.BaseParams:N0}, {row.BaseMacsAll / 1e6:F1} MMAC)");
        }
        return rows;
    }
}
