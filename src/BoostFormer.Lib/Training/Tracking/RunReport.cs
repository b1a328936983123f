using System.Text;
using System.Text.Json;
using BoostFormer.Training.Checkpoints;
using BoostFormer.Visualization;
using Microsoft.Data.Analysis;

namespace BoostFormer.Training.Tracking;

/// <summary>One segmentation run summarised for a results table.</summary>
public sealed record RunReportRow(
    string Run, string Model, string Initialisation, long Iterations, int BatchSize, int Crop,
    double? BestValMIoU, long? BestStep, double? FinalValMIoU, double? FinalValMAcc, double? FinalValAAcc,
    double WallMinutes, double ImagesPerSecond, string? GitCommit);

/// <summary>
/// Turns tracked segmentation runs into a results table (Markdown and CSV under <c>results/</c>), so a fine-tuning
/// notebook leaves its numbers where the ablation table lives, read from the database rather than retyped.
/// </summary>
public static class RunReport
{
    /// <summary>One row per run in <paramref name="runIds"/> (segmentation runs), in that order.</summary>
    public static IReadOnlyList<RunReportRow> Rows(RunStore store, IEnumerable<long> runIds)
    {
        var rows = new List<RunReportRow>();
        foreach (var id in runIds)
        {
            var run = store.Run(id) ?? throw new ArgumentException($"no run {id} in {store.Path}", nameof(runIds));
            if (run.Kind != "segmentation") throw new ArgumentException($"run {id} ({run.Name}) is a {run.Kind} run, not a segmentation run", nameof(runIds));
            using var data = JsonDocument.Parse(run.DataConfigJson);
            int Int(string key) => data.RootElement.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : 0;
            var pretrained = data.RootElement.TryGetProperty("pretrained", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
            var miou = store.Metrics(id, "eval", "miou").Where(m => !double.IsNaN(m.Value)).ToList();
            var best = miou.Count == 0 ? null : miou.MaxBy(m => m.Value);
            var last = store.LastEvaluation(id);
            var speed = store.Metrics(id, "train", "images_per_s");
            var loss = store.Metrics(id, "train", "loss");
            rows.Add(new RunReportRow(run.Name, run.Model,
                pretrained is null ? "random" : $"encoder {Path.GetFileName(Path.GetDirectoryName(pretrained))}",
                loss.Count == 0 ? 0 : loss[^1].Step, Int("batch_size"), Int("crop"),
                best?.Value, best?.Step, last.TryGetValue("miou", out var fm) ? fm : null,
                last.TryGetValue("macc", out var ma) ? ma : null, last.TryGetValue("aacc", out var aa) ? aa : null,
                run.EndedUtc is { } end ? (end - run.StartedUtc).TotalMinutes : double.NaN,
                speed.Count == 0 ? double.NaN : speed.Average(m => m.Value), run.GitCommit));
        }
        return rows;
    }

    /// <summary>
    /// What each run's recorded configuration (hyperparameters, data, model) changes against the first run's, as
    /// <see cref="ConfigDiff"/> items (<c>lr 0.0004 → 0.0008</c>): the variable of a sweep, read from the database.
    /// The first run's list is empty.
    /// </summary>
    public static IReadOnlyList<(string Run, IReadOnlyList<string> Changes)> Differences(RunStore store, IReadOnlyList<long> runIds)
    {
        var runs = runIds.Select(id => store.Run(id) ?? throw new ArgumentException($"no run {id} in {store.Path}", nameof(runIds))).ToList();
        if (runs.Count == 0) return Array.Empty<(string, IReadOnlyList<string>)>();
        var first = runs[0];
        return runs.Select(r => (r.Name, (IReadOnlyList<string>)ConfigDiff.Changes(first.HyperparametersJson, r.HyperparametersJson, "")
            .Concat(ConfigDiff.Changes(first.DataConfigJson, r.DataConfigJson, "data ").Where(c => !c.StartsWith("data pretrained ", StringComparison.Ordinal)))
            .Concat(r.Model == first.Model ? ConfigDiff.Changes(first.ModelConfigJson, r.ModelConfigJson, "model ") : new[] { $"model {first.Model} → {r.Model}" })
            .ToList())).ToList();
    }

    /// <summary>
    /// The rows as a Microsoft.Data.Analysis <see cref="DataFrame"/>, one column per field of <see cref="RunReportRow"/>
    /// at full precision (metrics as fractions): what <c>{name}.csv</c> holds.
    /// </summary>
    public static DataFrame ToFrame(IReadOnlyList<RunReportRow> rows) => DataFrames.FromRecords(rows);

    /// <summary>The rows as a displayable table (metrics in percent).</summary>
    public static Table ToTable(IReadOnlyList<RunReportRow> rows, string? title = null) =>
        new(new[] { "run", "model", "initialisation", "iterations", "batch", "crop", "best val mIoU %", "at iteration", "final val mIoU %", "final mAcc %", "final aAcc %", "wall min", "img/s" },
            rows.Select(r => (IReadOnlyList<object?>)new object?[]
            {
                r.Run, r.Model, r.Initialisation, r.Iterations, r.BatchSize, r.Crop, Pct(r.BestValMIoU), r.BestStep, Pct(r.FinalValMIoU),
                Pct(r.FinalValMAcc), Pct(r.FinalValAAcc), Math.Round(r.WallMinutes, 1), Math.Round(r.ImagesPerSecond, 2),
            }).ToList(), title);

    /// <summary>
    /// Writes <c>{name}.md</c> (title, how to regenerate, the table, what each run changes when
    /// <paramref name="differences"/> is given, the commits) and <c>{name}.csv</c> (full precision) into
    /// <paramref name="directory"/>, each atomically. Returns both paths.
    /// </summary>
    public static (string markdown, string csv) Write(IReadOnlyList<RunReportRow> rows, string directory, string name, string title, string regenerate,
        IReadOnlyList<(string Run, IReadOnlyList<string> Changes)>? differences = null)
    {
        if (rows.Count == 0) throw new ArgumentException("no runs to report", nameof(rows));
        Directory.CreateDirectory(directory);
        var md = new StringBuilder();
        md.Append("# ").Append(title).Append("\n\n");
        md.Append("Regenerate with `").Append(regenerate).Append("`; the numbers are read from the run-tracking database.\n\n");
        md.Append(ToTable(rows).ToMarkdown()).Append('\n');
        md.Append("- mIoU, mAcc, aAcc: validation split, whole-image inference, confusion matrix over the split at the labels' resolution.\n");
        md.Append("- wall min: start to end of the run, evaluations and checkpoints included (a run stopped and resumed counts the pause too; iterations × batch ÷ img/s is its training time); img/s: mean training throughput.\n");
        if (differences is { Count: > 0 })
        {
            md.Append("- What each run changes against ").Append(differences[0].Run).Append(" (recorded configurations):\n");
            foreach (var (run, changes) in differences.Skip(1))
                md.Append("  - ").Append(run).Append(": ").Append(changes.Count == 0 ? "nothing" : string.Join("; ", changes)).Append('\n');
        }
        var commits = rows.Select(r => r.GitCommit).OfType<string>().Distinct().ToList();
        if (commits.Count > 0) md.Append("- git commit").Append(commits.Count > 1 ? "s" : "").Append(": ").Append(string.Join(", ", commits.Select(c => c[..Math.Min(12, c.Length)]))).Append('\n');
        var csv = DataFrames.ToCsv(ToFrame(rows));
        var mdPath = Path.Combine(directory, name + ".md");
        var csvPath = Path.Combine(directory, name + ".csv");
        AtomicFile.WriteAllText(mdPath, md.ToString());
        AtomicFile.WriteAllText(csvPath, csv);
        return (mdPath, csvPath);
    }

    private static double? Pct(double? v) => v is { } x ? Math.Round(100 * x, 2) : null;
}
