using TorchSharp;
using System.Globalization;
using System.Text;
using BoostFormer.Models;
using BoostFormer.Visualization;
using Microsoft.Data.Analysis;

namespace BoostFormer.Profiling;

/// <summary>One configuration of the ablation table.</summary>
/// <param name="Name">Row label (e.g. "(e) Mix-CFN"; the switch's <see cref="BoostformerSwitch.Name"/>).</param>
/// <param name="Config">The model configuration.</param>
/// <param name="SeedParams">The seed README's parameter figure for this row, if it reports one (e.g. "27.462M").</param>
/// <param name="SeedMacs">The seed README's "Flops" figure (thop convention: conv+linear MACs), if any.</param>
public sealed record AblationVariant(string Name, SegformerConfig Config, string? SeedParams = null, string? SeedMacs = null)
{
    /// <summary>The switch this row turns on alone; null for the base model and for the all-switches row.</summary>
    public BoostformerSwitch? Switch { get; init; }

    /// <summary>A short label for charts: the switch's letter "(e)", else what was set ("SegFormer-B2"), else <see cref="Name"/>.</summary>
    public string ShortName
    {
        get => _shortName ?? (Switch?.Letter is { } l ? $"({l})" : Name);
        init => _shortName = value;
    }

    private readonly string? _shortName;
}

/// <summary>Measured numbers of one <see cref="AblationVariant"/>.</summary>
public sealed record AblationRow(AblationVariant Variant, long Params, long MacsAll, long MacsConvLinear, long AttentionMacs, LatencyResult? Latency);

/// <summary>Options of <see cref="Ablation.Run"/>.</summary>
public sealed record AblationOptions
{
    /// <summary>Input size of the profiled and timed forward (the seed's tables use 512x512).</summary>
    public InputSize Input { get; init; } = new(512, 512);
    /// <summary>Number of classes (ADE20K: 150).</summary>
    public int Classes { get; init; } = 150;
    /// <summary>Base model the switches are applied to.</summary>
    public string BaseModel { get; init; } = "segformer-b2";
    /// <summary>Untimed warm-up forwards per configuration.</summary>
    public int Warmup { get; init; } = 1;
    /// <summary>Timed forwards per configuration (0 = no latency column).</summary>
    public int Runs { get; init; } = 3;
    /// <summary>libtorch threads for the latency runs (null = current setting).</summary>
    public int? Threads { get; init; }
}

/// <summary>The result of <see cref="Ablation.Run"/>: one row per configuration, with renderers and a writer.</summary>
public sealed class AblationTable
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Creates a table from measured rows.</summary>
    public AblationTable(AblationOptions options, IReadOnlyList<AblationRow> rows, int threads)
    {
        Options = options;
        Rows = rows;
        Threads = threads;
    }

    /// <summary>The options the table was measured with.</summary>
    public AblationOptions Options { get; }
    /// <summary>Rows in order: base, each switch alone, all switches.</summary>
    public IReadOnlyList<AblationRow> Rows { get; }
    /// <summary>The base SegFormer's row (the first).</summary>
    public AblationRow Base => Rows[0];
    /// <summary>The all-switches row (the last: BoostFormer).</summary>
    public AblationRow AllSwitches => Rows[^1];

    /// <summary>The row that turns <paramref name="boostformerSwitch"/> on alone.</summary>
    public AblationRow Row(BoostformerSwitch boostformerSwitch) =>
        Rows.FirstOrDefault(r => r.Variant.Switch == boostformerSwitch)
        ?? throw new ArgumentException($"the table has no row for {boostformerSwitch}", nameof(boostformerSwitch));
    /// <summary>libtorch intra-op threads used for the latency column.</summary>
    public int Threads { get; }

    private bool HasLatency => Rows.Any(r => r.Latency is not null);

    /// <summary>The command that regenerates the table with these options.</summary>
    public string Command =>
        $"boostformer ablate --table --input {Options.Input} --classes {Options.Classes} --warmup {Options.Warmup} --runs {Options.Runs}" +
        (Options.Threads is { } t ? $" --threads {t}" : "");

    /// <summary>Column conventions, stated under the table.</summary>
    public IEnumerable<string> ConventionNotes()
    {
        yield return "Params: every parameter of the segmentation model (encoder + decode head), counted once.";
        yield return "GMAC (ours): multiply-accumulates of convolutions, linear layers and the attention matrix products QKᵀ and AV, " +
                     $"from one real forward at {Options.Input} (the SegFormer paper's \"GFLOPs\" are this count).";
        yield return "GMAC conv+linear: convolutions and linear layers only — the convention of thop-style module-hook counters, " +
                     "which the seed's util/get_flops_params.py uses; comparable with the seed column.";
        yield return "Seed: the BoostFormer README's own figures (Params, \"Flops\" = thop MACs at 512x512). thop also counts a few " +
                     "operations of other modules (e.g. BatchNorm, pooling), so its figures sit slightly above our conv+linear column.";
        if (HasLatency)
            yield return $"Latency: median wall-clock forward time on this machine's CPU (libtorch, inference mode, batch 1, {Threads} thread(s), " +
                         $"{Options.Warmup} warm-up + {Options.Runs} timed runs, min–max in brackets), fp32 on the optimised path (LibTorch's fused " +
                         "scaled-dot-product attention, the decoder's 1x1 fuse folded into the stage projections; `boostformer bench --naive` times the graph as written); " +
                         "the CPU may be shared, so treat small differences as noise.";
        yield return "Rows (a)–(f) each turn on one BoostFormer switch of the base model; the last row turns all six on and also drops " +
                     "the LayerNorm closing each encoder stage, as the BoostFormer reference does.";
    }

    /// <summary>Markdown table with a header, the rows and the convention notes.</summary>
    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# Ablation: BoostFormer switches on {Options.BaseModel} ({Options.Input}, {Options.Classes} classes)");
        sb.AppendLine();
        sb.AppendLine($"Regenerate with `{Command}`.");
        sb.AppendLine();
        var baseRow = Rows[0];
        sb.Append("| model | switches | Params | Δ params | GMAC (ours: conv+linear+attention) | GMAC conv+linear (thop-style) | Δ conv+linear | attention GMAC |");
        if (HasLatency) sb.Append(" latency ms (median [min–max]) |");
        sb.AppendLine(" seed Params | seed GFLOPs (thop) |");
        sb.Append("|---|---|---:|---:|---:|---:|---:|---:|");
        if (HasLatency) sb.Append("---:|");
        sb.AppendLine("---:|---:|");
        foreach (var r in Rows)
        {
            sb.Append("| ").Append(r.Variant.Name).Append(" | ").Append(r.Variant.Config.SwitchSummary()).Append(" | ")
              .Append(r.Params.ToString("N0", Inv)).Append(" | ").Append(Pct(r.Params, baseRow.Params)).Append(" | ")
              .Append(G(r.MacsAll)).Append(" | ").Append(G(r.MacsConvLinear)).Append(" | ").Append(Pct(r.MacsConvLinear, baseRow.MacsConvLinear)).Append(" | ")
              .Append(G(r.AttentionMacs)).Append(" |");
            if (HasLatency)
                sb.Append(' ').Append(r.Latency is { } l ? $"{l.MedianMs.ToString("F1", Inv)} [{l.MinMs.ToString("F1", Inv)}–{l.MaxMs.ToString("F1", Inv)}]" : "—").Append(" |");
            sb.Append(' ').Append(r.Variant.SeedParams ?? "—").Append(" | ").Append(r.Variant.SeedMacs ?? "—").AppendLine(" |");
        }
        sb.AppendLine();
        foreach (var n in ConventionNotes()) sb.AppendLine("- " + n);
        return sb.ToString();
    }

    /// <summary>
    /// The table as a Microsoft.Data.Analysis <see cref="DataFrame"/> of raw numbers, one row per configuration; the
    /// column names carry their convention (what <c>ablation.csv</c> holds). Latency columns are empty without timing.
    /// </summary>
    public DataFrame ToFrame()
    {
        long?[] Longs(Func<AblationRow, long> f) => Rows.Select(r => (long?)f(r)).ToArray();
        double?[] Lat(Func<LatencyResult, double> f) => Rows.Select(r => r.Latency is { } l ? f(l) : (double?)null).ToArray();
        return new DataFrame(
            new StringDataFrameColumn("model", Rows.Select(r => r.Variant.Name)),
            new StringDataFrameColumn("switches", Rows.Select(r => r.Variant.Config.SwitchSummary())),
            new Int64DataFrameColumn("params", Longs(r => r.Params)),
            new Int64DataFrameColumn("macs_conv_linear_attention", Longs(r => r.MacsAll)),
            new Int64DataFrameColumn("macs_conv_linear_thop", Longs(r => r.MacsConvLinear)),
            new Int64DataFrameColumn("macs_attention", Longs(r => r.AttentionMacs)),
            new DoubleDataFrameColumn("latency_median_ms", Lat(l => l.MedianMs)),
            new DoubleDataFrameColumn("latency_min_ms", Lat(l => l.MinMs)),
            new DoubleDataFrameColumn("latency_max_ms", Lat(l => l.MaxMs)),
            new Int32DataFrameColumn("latency_runs", Rows.Select(r => (int?)(r.Latency?.RunsMs.Count ?? 0))),
            new Int32DataFrameColumn("threads", Rows.Select(_ => (int?)Threads)),
            new StringDataFrameColumn("input", Rows.Select(_ => Options.Input.ToString())),
            new Int32DataFrameColumn("classes", Rows.Select(_ => (int?)Options.Classes)),
            new StringDataFrameColumn("seed_params", Rows.Select(r => r.Variant.SeedParams)),
            new StringDataFrameColumn("seed_flops_thop", Rows.Select(r => r.Variant.SeedMacs)));
    }

    /// <summary>CSV of <see cref="ToFrame"/>: raw numbers, latencies in ms with two decimals.</summary>
    public string ToCsv() => DataFrames.ToCsv(ToFrame(), new Dictionary<string, string>
    {
        ["latency_median_ms"] = "F2", ["latency_min_ms"] = "F2", ["latency_max_ms"] = "F2",
    });

    /// <summary>Writes <c>ablation.md</c> and <c>ablation.csv</c> into <paramref name="directory"/> (each to a temp file, then renamed).</summary>
    public (string markdown, string csv) WriteTo(string directory)
    {
        Directory.CreateDirectory(directory);
        var md = Path.Combine(directory, "ablation.md");
        var csv = Path.Combine(directory, "ablation.csv");
        AtomicWrite(md, ToMarkdown());
        AtomicWrite(csv, ToCsv());
        return (md, csv);
    }

    /// <summary>Writes <paramref name="text"/> to a temporary file next to <paramref name="path"/> and renames it over <paramref name="path"/>.</summary>
    public static void AtomicWrite(string path, string text)
    {
        var tmp = path + "." + Environment.ProcessId.ToString(Inv) + ".tmp";
        try
        {
            File.WriteAllText(tmp, text, new UTF8Encoding(false));
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    private static string G(long macs) => (macs / 1e9).ToString("F3", Inv);

    private static string Pct(long v, long b) =>
        b == 0 ? "—" : v == b ? "0%" : ((v - b) * 100.0 / b).ToString("+0.0;-0.0", Inv) + "%";
}

/// <summary>
/// The BoostFormer ablation: the base SegFormer, each of the six BoostFormer switches alone, and all together — parameters,
/// MACs under both conventions and measured CPU latency, beside the seed README's own figures.
/// </summary>
public static class Ablation
{
    /// <summary>The seed README's figures (thop convention).</summary>
    public const string SeedSegFormerB2Params = "27.462M", SeedSegFormerB2Flops = "58.576G", SeedBoostFormerParams = "17.575M", SeedBoostFormerFlops = "15.826G";

    /// <summary>The rows of the table for <paramref name="baseModel"/> (a <c>segformer-bN</c> name).</summary>
    public static IReadOnlyList<AblationVariant> Variants(string baseModel = "segformer-b2", int classes = 150)
    {
        var b = SegformerConfig.FromName(baseModel, classes);
        if (BoostformerSwitch.All.Any(s => s.IsOn(b)))
            throw new ArgumentException($"the ablation's base model must be a SegFormer (all switches off), got '{baseModel}'", nameof(baseModel));
        var isB2 = b.depths.SequenceEqual(new[] { 3, 4, 6, 3 }) && b.hidden_sizes.SequenceEqual(new[] { 64, 128, 320, 512 }) && classes == 150;
        var label = baseModel.Trim().ToLowerInvariant().Replace("segformer-b", "SegFormer-B", StringComparison.Ordinal);
        var boostLabel = label.Replace("SegFormer", "BoostFormer", StringComparison.Ordinal);
        return BoostformerSwitch.Lettered.Select(s => new AblationVariant(s.Name, s.Apply(b)) { Switch = s })
            .Prepend(new AblationVariant(label, b, isB2 ? SeedSegFormerB2Params : null, isB2 ? SeedSegFormerB2Flops : null))
            .Append(new AblationVariant($"{boostLabel} (all, = BoostFormer)", SegformerConfig.WithAllBoostFormerSwitches(b),
                isB2 ? SeedBoostFormerParams : null, isB2 ? SeedBoostFormerFlops : null) { ShortName = boostLabel })
            .ToArray();
    }

    /// <summary>The option checks of <c>ablate</c> and <c>ablate --family</c>.</summary>
    internal static void Check(AblationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Classes <= 0) throw new ArgumentException($"--classes must be positive, got {options.Classes}");
        if (options.Runs < 0) throw new ArgumentException($"--runs must be ≥ 0, got {options.Runs}");
        if (options.Warmup < 0) throw new ArgumentException($"--warmup must be ≥ 0, got {options.Warmup}");
    }

    /// <summary>One table row's measurements: the profile of <paramref name="model"/> and, when
    /// <see cref="AblationOptions.Runs"/> &gt; 0, its latency (<paramref name="threads"/> becomes the threads it used).</summary>
    internal static (ProfileReport Profile, LatencyResult? Latency) Measure(SegformerForSemanticSegmentation model, string name, AblationOptions options, ref int threads)
    {
        var p = Profiler.Profile(model, x => model.call(x), options.Input.Shape(), MacConvention.All, name);
        if (options.Runs <= 0) return (p, null);
        var lat = LatencyBenchmark.Measure(model, x => model.call(x), options.Input.Shape(), options.Warmup, options.Runs, options.Threads);
        threads = lat.Threads;
        return (p, lat);
    }

    /// <summary>Profiles (and, when <see cref="AblationOptions.Runs"/> &gt; 0, times) every variant; <paramref name="log"/> gets one line per row.</summary>
    public static AblationTable Run(AblationOptions options, Action<string>? log = null)
    {
        Check(options);
        var rows = new List<AblationRow>();
        int threads = torch.get_num_threads();
        foreach (var v in Variants(options.BaseModel, options.Classes))
        {
            using var model = new SegformerForSemanticSegmentation(v.Config);
            var (p, lat) = Measure(model, v.Name, options, ref threads);
            var row = new AblationRow(v, p.Params, p.AllMacs, p.ConvLinearMacs, p.Total.Macs(MacKind.Attention), lat);
            rows.Add(row);
            log?.Invoke($"{v.Name}: {row.Params:N0} params, {row.MacsAll / 1e9:F3} GMAC (conv+linear {row.MacsConvLinear / 1e9:F3})" +
                        (lat is null ? "" : $", {lat.MedianMs:F1} ms"));
        }
        return new AblationTable(options, rows, threads);
    }
}
