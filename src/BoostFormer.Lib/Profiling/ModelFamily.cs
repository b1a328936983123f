using System.Globalization;
using System.Text;
using BoostFormer.Models;
using TorchSharp;

namespace BoostFormer.Profiling;

/// <summary>One row of the family table: a configuration, its group, and the reference figures a paper or the spec gives.</summary>
/// <param name="Name">Row label (a model name, or "SegFormer-B0 + module").</param>
/// <param name="Group"><c>model</c> (a named model) or <c>module</c> (one zoo module substituted into SegFormer-B0).</param>
/// <param name="Config">The configuration.</param>
/// <param name="ReferenceParams">The reference's parameter figure, as it states it (e.g. "4.3M").</param>
/// <param name="ReferenceGflops">The reference's compute figure, as it states it, with its convention.</param>
/// <param name="Source">Where the reference figures come from.</param>
public sealed record FamilyEntry(string Name, string Group, SegformerConfig Config, string? ReferenceParams = null, string? ReferenceGflops = null, string? Source = null);

/// <summary>Measured numbers of one <see cref="FamilyEntry"/>.</summary>
public sealed record FamilyRow(FamilyEntry Entry, long Params, long MacsAll, long MacsConvLinear, long MatmulMacs, int OutputStride, LatencyResult? Latency)
{
    /// <summary>The profile the row was measured from (per-module counts, e.g. for <see cref="ZooModuleCosts.FromFamily"/>), or null.</summary>
    public ProfileReport? Profile { get; init; }
}

/// <summary>
/// The model family table (<c>boostformer ablate --family</c>, <c>results/family.{md,csv}</c>): every named model of the
/// workbook and every zoo module substituted alone into SegFormer-B0 — parameters, MACs under both conventions, matrix-product
/// MACs (attention, NMF), logit stride and CPU latency — beside the figures papers (or the spec's counts of the reference
/// code) give.
/// </summary>
public static class ModelFamily
{
    /// <summary>The rows: the named models, then SegFormer-B0 with each zoo module alone.</summary>
    public static IReadOnlyList<FamilyEntry> Entries(int classes = 150)
    {
        var ade = classes == 150;
        SegformerConfig N(string n) => SegformerConfig.FromName(n, classes);
        var models = new List<FamilyEntry>
        {
            new("segformer-b0", "model", N("segformer-b0"), ade ? "3.8M" : null, ade ? "8.4 GFLOPs (= MACs, conv+linear+attention)" : null, ade ? "SegFormer paper (arXiv 2105.15203) Table 1, ADE20K 512²" : null),
            new("boostformer-b0", "model", N("boostformer-b0")),
            new("nota-final", "model", N("nota-final"), ade ? "7,354,582" : null, ade ? "7.040 G conv+linear MACs (7.169 G thop)" : null, ade ? "counted from the team's code, PyTorch 1.13.1 (spec §13)" : null),
            new("segnext-t", "model", N("segnext-t"), ade ? "4.3M" : null, ade ? "6.6 GFLOPs (torchprofile; 6.102 G conv+linear)" : null, ade ? "SegNeXt paper (arXiv 2209.08575) Table 4; counts in spec §14" : null),
            new("deeplabv3plus-r18", "model", N("deeplabv3plus-r18")),
            new("pspnet-r18", "model", N("pspnet-r18")),
            new("unet", "model", N("unet")),
        };
        var b0 = N("segformer-b0");
        models.AddRange(ZooModule.All.Select(m => new FamilyEntry($"SegFormer-B0 + {m.Label}", "module", m.Apply(b0), Source: $"{m.Paper}; {m.Code}")));
        return models;
    }

    /// <summary>Profiles (and, when <see cref="AblationOptions.Runs"/> &gt; 0, times) every entry (or those of <paramref name="only"/>).</summary>
    public static FamilyTable Run(AblationOptions options, Action<string>? log = null, IReadOnlyList<FamilyEntry>? only = null)
    {
        Ablation.Check(options);
        var rows = new List<FamilyRow>();
        int threads = torch.get_num_threads();
        foreach (var e in only ?? Entries(options.Classes))
        {
            using var model = new SegformerForSemanticSegmentation(e.Config);
            var (p, lat) = Ablation.Measure(model, e.Name, options, ref threads);
            var row = new FamilyRow(e, p.Params, p.AllMacs, p.ConvLinearMacs, p.Total.Macs(MacKind.Attention), model.decode_head.OutputStride, lat) { Profile = p };
            rows.Add(row);
            log?.Invoke($"{e.Name}: {row.Params:N0} params, {row.MacsAll / 1e9:F3} GMAC (conv+linear {row.MacsConvLinear / 1e9:F3})" + (lat is null ? "" : $", {lat.MedianMs:F1} ms"));
        }
        return new FamilyTable(options, rows, threads);
    }
}

/// <summary>The measured family table with its renderers and writer.</summary>
public sealed class FamilyTable
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public FamilyTable(AblationOptions options, IReadOnlyList<FamilyRow> rows, int threads) { Options = options; Rows = rows; Threads = threads; }

    public AblationOptions Options { get; }
    public IReadOnlyList<FamilyRow> Rows { get; }
    public int Threads { get; }
    private bool HasLatency => Rows.Any(r => r.Latency is not null);

    /// <summary>The row named <paramref name="name"/>.</summary>
    public FamilyRow Row(string name) => Rows.FirstOrDefault(r => r.Entry.Name == name) ?? throw new ArgumentException($"the family table has no row '{name}'", nameof(name));

    /// <summary>The command that regenerates the table.</summary>
    public string Command => $"boostformer ablate --family --input {Options.Input} --classes {Options.Classes} --warmup {Options.Warmup} --runs {Options.Runs}" +
                             (Options.Threads is { } t ? $" --threads {t}" : "");

    /// <summary>Markdown: the table and its conventions.</summary>
    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# Model family ({Options.Input}, {Options.Classes} classes)");
        sb.AppendLine();
        sb.AppendLine($"Regenerate with `{Command}`.");
        sb.AppendLine();
        sb.Append("| model | group | modules | Params | GMAC (conv+linear+matmul) | GMAC conv+linear | matmul GMAC (attention, NMF) | logits |");
        if (HasLatency) sb.Append(" latency ms (median [min–max]) |");
        sb.AppendLine(" reference Params | reference compute | source |");
        sb.Append("|---|---|---|---:|---:|---:|---:|---:|");
        if (HasLatency) sb.Append("---:|");
        sb.AppendLine("---:|---|---|");
        foreach (var r in Rows)
        {
            sb.Append("| ").Append(r.Entry.Name).Append(" | ").Append(r.Entry.Group).Append(" | ").Append(r.Entry.Config.SwitchSummary()).Append(" | ")
              .Append(r.Params.ToString("N0", Inv)).Append(" | ").Append(G(r.MacsAll)).Append(" | ").Append(G(r.MacsConvLinear)).Append(" | ")
              .Append(G(r.MatmulMacs)).Append(" | 1/").Append(r.OutputStride.ToString(Inv)).Append(" |");
            if (HasLatency)
                sb.Append(' ').Append(r.Latency is { } l ? $"{l.MedianMs.ToString("F1", Inv)} [{l.MinMs.ToString("F1", Inv)}–{l.MaxMs.ToString("F1", Inv)}]" : "—").Append(" |");
            sb.Append(' ').Append(r.Entry.ReferenceParams ?? "—").Append(" | ").Append(r.Entry.ReferenceGflops ?? "—").Append(" | ").Append(r.Entry.Source ?? "—").AppendLine(" |");
        }
        sb.AppendLine();
        sb.AppendLine("- Params: every parameter of the segmentation model (encoder + decode head), counted once.");
        sb.AppendLine($"- GMAC: multiply-accumulates from one real forward at {Options.Input}: convolutions, linear layers and the matrix products " +
                      "between activations (attention QKᵀ and AV; the HamBurger's NMF updates, in evaluation mode). The SegFormer paper's \"GFLOPs\" are this count; " +
                      "\"conv+linear\" is what thop-style module-hook counters report.");
        sb.AppendLine("- Module rows substitute one zoo module into SegFormer-B0 and keep everything else (the ResNet-18 and MSCAN rows replace the whole encoder).");
        sb.AppendLine("- Logits: the resolution of the decoder's output relative to the input (losses and predictions upsample it).");
        if (HasLatency)
            sb.AppendLine($"- Latency: median wall-clock forward on this machine's CPU (batch 1, {Threads} thread(s), {Options.Warmup} warm-up + {Options.Runs} timed runs); the CPU may be shared, so treat small differences as noise.");
        sb.AppendLine("- Reference figures are quoted as their source states them; a blank means no paper gives this configuration's numbers.");
        return sb.ToString();
    }

    /// <summary>CSV with raw numbers.</summary>
    public string ToCsv()
    {
        var sb = new StringBuilder();
        sb.AppendLine("model,group,modules,params,macs_conv_linear_matmul,macs_conv_linear,macs_matmul,output_stride,latency_median_ms,latency_min_ms,latency_max_ms,latency_runs,threads,input,classes,reference_params,reference_compute,source");
        foreach (var r in Rows)
        {
            var l = r.Latency;
            sb.AppendJoin(',', new[]
            {
                ProfileRenderers.Csv(r.Entry.Name), r.Entry.Group, ProfileRenderers.Csv(r.Entry.Config.SwitchSummary()), r.Params.ToString(Inv),
                r.MacsAll.ToString(Inv), r.MacsConvLinear.ToString(Inv), r.MatmulMacs.ToString(Inv), r.OutputStride.ToString(Inv),
                l?.MedianMs.ToString("F2", Inv) ?? "", l?.MinMs.ToString("F2", Inv) ?? "", l?.MaxMs.ToString("F2", Inv) ?? "", l?.RunsMs.Count.ToString(Inv) ?? "0",
                Threads.ToString(Inv), Options.Input.ToString(), Options.Classes.ToString(Inv),
                ProfileRenderers.Csv(r.Entry.ReferenceParams ?? ""), ProfileRenderers.Csv(r.Entry.ReferenceGflops ?? ""), ProfileRenderers.Csv(r.Entry.Source ?? ""),
            }).AppendLine();
        }
        return sb.ToString();
    }

    /// <summary>Writes <c>family.md</c> and <c>family.csv</c> into <paramref name="directory"/> (temp file + rename).</summary>
    public (string markdown, string csv) WriteTo(string directory)
    {
        Directory.CreateDirectory(directory);
        var md = Path.Combine(directory, "family.md");
        var csv = Path.Combine(directory, "family.csv");
        AblationTable.AtomicWrite(md, ToMarkdown());
        AblationTable.AtomicWrite(csv, ToCsv());
        return (md, csv);
    }

    private static string G(long macs) => (macs / 1e9).ToString("F3", Inv);
}
