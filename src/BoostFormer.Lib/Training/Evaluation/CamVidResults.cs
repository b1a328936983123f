using System.Globalization;
using System.Text;
using BoostFormer.Data;
using BoostFormer.Models;
using BoostFormer.Profiling;
using BoostFormer.IO;
using BoostFormer.Training.Checkpoints;
using BoostFormer.Visualization;
using Microsoft.Data.Analysis;
using TorchSharp;

namespace BoostFormer.Training.Evaluation;

/// <summary>
/// A published CamVid result to read ours against: 11 classes, 360×480, test split, trained from scratch on CamVid's
/// 367 training images (plus, where the paper says so, its validation images).
/// </summary>
/// <param name="Model">The model as its paper names it.</param>
/// <param name="TestMIoU">Class-average IoU on the 233 test images, in percent, as the paper's table gives it.</param>
/// <param name="Parameters">Parameter count as the paper states it (null when it does not).</param>
/// <param name="Citation">Authors, title, venue, arXiv id.</param>
/// <param name="Table">Where in the paper the number is.</param>
public sealed record PublishedCamVidResult(string Model, double TestMIoU, double? Parameters, string Citation, string Table);

/// <summary>One of our trained models measured for <see cref="CamVidResults"/>.</summary>
/// <param name="Run">The run (or shipped weights file) name.</param>
/// <param name="Model">The architecture's name.</param>
/// <param name="Source">Where the weights came from (a local run's checkpoint or <c>results/weights/…</c>).</param>
/// <param name="Parameters">Parameters of the segmentation model (11 classes).</param>
/// <param name="GMacsAll">Multiply-accumulates of one 360×480 forward, every operation counted (10⁹).</param>
/// <param name="GMacsConvLinear">The same counting convolutions and linear layers only (the thop/fvcore convention).</param>
/// <param name="LatencyMs">Median CPU forward latency at 360×480, batch 1, fp32.</param>
/// <param name="Threads">Intra-op threads of the latency measurement.</param>
/// <param name="Images">Validation images evaluated.</param>
/// <param name="ValMIoU">Validation mIoU (fraction).</param>
/// <param name="ValMAcc">Validation mean class accuracy (fraction).</param>
/// <param name="ValAAcc">Validation pixel accuracy (fraction).</param>
/// <param name="PerClassIoU">Validation IoU per class, by class name (fraction; NaN for a class absent from both label and prediction).</param>
/// <param name="TrainIterations">Fine-tuning iterations, when the weights record them.</param>
/// <param name="TrainWallMinutes">Fine-tuning wall time, when recorded.</param>
/// <param name="TrainImagesPerSecond">Mean fine-tuning throughput, when recorded.</param>
public sealed record CamVidModelResult(
    string Run, string Model, string Source, long Parameters, double GMacsAll, double GMacsConvLinear, double LatencyMs, int Threads,
    int Images, double ValMIoU, double ValMAcc, double ValAAcc, IReadOnlyDictionary<string, double> PerClassIoU,
    long? TrainIterations, double? TrainWallMinutes, double? TrainImagesPerSecond);

/// <summary>
/// Our CamVid models beside the published anchors: each trained checkpoint evaluated on the validation split (whole image at
/// 480×360, the labels' resolution), profiled (parameters, MACs) and timed at 360×480 on this CPU; written to
/// <c>results/camvid.md</c> and <c>.csv</c> by notebook 04 and drawn as accuracy against MACs.
/// </summary>
public static class CamVidResults
{
    /// <summary>The input every model is profiled and timed at: CamVid's 360×480 frames.</summary>
    public static readonly InputSize Input = new(360, 480);

    /// <summary>
    /// Published test-set mIoU of models trained from scratch on CamVid (11 classes, 360×480), the anchors of issue 19.
    /// </summary>
    public static readonly IReadOnlyList<PublishedCamVidResult> Published = new PublishedCamVidResult[]
    {
        new("SegNet-Basic", 47.7, null,
            "Badrinarayanan, Kendall, Cipolla: SegNet: A Deep Convolutional Encoder-Decoder Architecture for Image Segmentation, TPAMI 2017, arXiv 1511.00561",
            "CamVid comparison table (class average IoU)"),
        new("ENet", 51.3, 0.37e6,
            "Paszke, Chaurasia, Kim, Culurciello: ENet: A Deep Neural Network Architecture for Real-Time Semantic Segmentation, arXiv 1606.02147",
            "Table 5 (CamVid, class IoU)"),
        new("FC-DenseNet103", 66.9, 9.4e6,
            "Jégou, Drozdzal, Vazquez, Romero, Bengio: The One Hundred Layers Tiramisu, CVPR-W 2017, arXiv 1611.09326",
            "Table 2 (CamVid, mean IoU)"),
    };

    /// <summary>
    /// Evaluates, profiles and times one trained checkpoint (a training checkpoint or shipped weights; the model is
    /// rebuilt from the configuration it records). <paramref name="valLimit"/> evaluates only the first images (ci scale).
    /// </summary>
    public static CamVidModelResult Measure(string run, string checkpoint, string? root, int? valLimit = null, int latencyRuns = 5, string dataset = "camvid",
        IProgress<int>? progress = null, InferenceOptions? inference = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(checkpoint);
        if (latencyRuns < 1) throw new ArgumentOutOfRangeException(nameof(latencyRuns), $"latencyRuns must be ≥ 1, got {latencyRuns}");
        // One load serves all three measurements; profile and time first, because bf16 evaluation converts the model in place.
        using var loaded = TrainedModels.Load(checkpoint);
        var model = loaded.Model;
        var profile = Profiler.Profile(model, x => model.call(x), Input.Shape(), MacConvention.All, loaded.Name);
        var latency = LatencyBenchmark.Measure(model, x => model.call(x), Input.Shape(), warmup: 2, runs: latencyRuns);
        var eval = CheckpointEvaluation.Evaluate(loaded, checkpoint, dataset, root, "val", inference: inference, limit: valLimit, progress: progress);
        var meta = Safetensors.ReadMetadata(checkpoint);
        var info = CheckpointManager.ReadInfo(checkpoint, meta);
        long? iterations = Long(meta, "iterations") ?? info?.Iteration;
        var m = eval.Metrics;
        var perClass = m.ClassNames.Select((name, i) => (name, iou: m.PerClassIoU[i])).ToDictionary(p => p.name, p => p.iou);
        return new CamVidModelResult(run, loaded.Name, checkpoint, profile.Params, profile.AllMacs / 1e9, profile.ConvLinearMacs / 1e9,
            latency.MedianMs, latency.Threads, eval.Images, m.MeanIoU, m.MeanAccuracy, m.AllAccuracy, perClass,
            iterations, Double(meta, "wall_minutes"), Double(meta, "images_per_second"));
    }

    /// <summary>The table of our rows followed by the published anchors (what <c>results/camvid.md</c> shows).</summary>
    public static Table ToTable(IReadOnlyList<CamVidModelResult> ours, string? title = null) =>
        new(new[] { "model", "weights", "split", "mIoU %", "mAcc %", "aAcc %", "params (M)", "GMAC 360×480 (all / conv+linear)", "CPU ms", "train iterations", "train wall min" },
            ours.Select(r => (IReadOnlyList<object?>)new object?[]
            {
                r.Model, Path.GetFileName(r.Source), $"val ({r.Images})", Pct(r.ValMIoU), Pct(r.ValMAcc), Pct(r.ValAAcc),
                Math.Round(r.Parameters / 1e6, 2), $"{r.GMacsAll:F2} / {r.GMacsConvLinear:F2}", Math.Round(r.LatencyMs, 1), r.TrainIterations,
                r.TrainWallMinutes is { } w ? Math.Round(w, 1) : null,
            }).Concat(Published.Select(p => (IReadOnlyList<object?>)new object?[]
            {
                p.Model + " (published)", p.Citation.Split(':')[0], "test (233)", p.TestMIoU, null, null,
                p.Parameters is { } n ? Math.Round(n / 1e6, 2) : null, null, null, null, null,
            })).ToList(), title);

    /// <summary>Per-class validation IoU of our models, one column per model (percent).</summary>
    public static Table PerClassTable(IReadOnlyList<CamVidModelResult> ours)
    {
        var classes = ours.SelectMany(r => r.PerClassIoU.Keys).Distinct().ToList();
        return new Table(ours.Select(r => r.Model).Prepend("class").ToList(),
            classes.Select(c => (IReadOnlyList<object?>)ours.Select(r => (object?)(r.PerClassIoU.TryGetValue(c, out var v) && !double.IsNaN(v) ? Math.Round(100 * v, 1) : null))
                .Prepend(c).ToList()).ToList(), "Validation IoU per class, %");
    }

    /// <summary>
    /// Accuracy against cost: our models as points (validation mIoU against GMAC at 360×480, all operations) and each
    /// published anchor as a dashed horizontal level (its test mIoU; the papers give no MAC count in one convention).
    /// </summary>
    public static Chart AccuracyVsMacs(IReadOnlyList<CamVidModelResult> ours)
    {
        if (ours.Count == 0) throw new ArgumentException("no models to draw", nameof(ours));
        var lo = 0.0; var hi = ours.Max(r => r.GMacsAll) * 1.25;
        var points = ours.Select(r => Chart.Scatter(new[] { r.GMacsAll }, new[] { 100 * r.ValMIoU }, name: $"{r.Model} (val)"));
        var levels = Published.Select(p => Chart.Line(new[] { lo, hi }, new[] { p.TestMIoU, p.TestMIoU }, name: $"{p.Model} (published, test)"));
        return Chart.Combine(points.Concat(levels)).WithTitle("CamVid: mIoU against cost").WithXTitle("GMAC per 360×480 frame")
            .WithYTitle("mIoU %").WithXRange(lo, hi).WithYRange(0, 100).WithSize(760, 420);
    }

    /// <summary>
    /// Writes <c>{name}.md</c> (how to regenerate, the table, per-class IoU, the anchors' citations and what differs) and
    /// <c>{name}.csv</c> (our rows at full precision) into <paramref name="directory"/>, each atomically.
    /// </summary>
    public static (string markdown, string csv) Write(IReadOnlyList<CamVidModelResult> ours, string directory, string name, string regenerate)
    {
        if (ours.Count == 0) throw new ArgumentException("no models to report", nameof(ours));
        Directory.CreateDirectory(directory);
        var md = new StringBuilder();
        md.Append("# CamVid: our models beside published results\n\n");
        md.Append("Regenerate with `").Append(regenerate).Append("`; every number of our rows is measured by that run.\n\n");
        md.Append(ToTable(ours).ToMarkdown()).Append('\n');
        md.Append(PerClassTable(ours).ToMarkdown()).Append('\n');
        md.Append("- Our rows: CamVid **validation** split (whole image at 480×360, IoU over the confusion matrix of the images the split column counts, void ignored); ")
          .Append("the published rows are **test**-split numbers (233 images), which `../shared/data` does not hold — the two splits are not the same images.\n");
        md.Append("- GMAC: one forward at 360×480, every operation counted / convolutions and linear layers only; CPU ms: median fp32 forward, batch 1, ")
          .Append(string.Join(", ", ours.Select(r => r.Threads).Distinct().Select(t => $"{t} thread{(t == 1 ? "" : "s")}"))).Append(", this machine.\n");
        md.Append("- Published anchors (trained from scratch on CamVid, 11 classes, 360×480):\n");
        foreach (var p in Published) md.Append("  - ").Append(p.Model).Append(' ').Append(p.TestMIoU.ToString("F1", CultureInfo.InvariantCulture))
            .Append(": ").Append(p.Citation).Append(", ").Append(p.Table).Append('\n');
        var frame = DataFrames.FromRecords(ours.Select(r => new
        {
            r.Run, r.Model, r.Source, r.Parameters, r.GMacsAll, r.GMacsConvLinear, r.LatencyMs, r.Threads, r.Images, r.ValMIoU, r.ValMAcc, r.ValAAcc,
            r.TrainIterations, r.TrainWallMinutes, r.TrainImagesPerSecond,
        }));
        var mdPath = Path.Combine(directory, name + ".md");
        var csvPath = Path.Combine(directory, name + ".csv");
        AtomicFile.WriteAllText(mdPath, md.ToString());
        AtomicFile.WriteAllText(csvPath, DataFrames.ToCsv(frame));
        return (mdPath, csvPath);
    }

    private static double? Pct(double v) => double.IsNaN(v) ? null : Math.Round(100 * v, 2);

    private static long? Long(IReadOnlyDictionary<string, string> meta, string key) =>
        meta.TryGetValue(key, out var s) && long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null;

    private static double? Double(IReadOnlyDictionary<string, string> meta, string key) =>
        meta.TryGetValue(key, out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null;
}
