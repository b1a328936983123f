using BoostFormer.Metrics;
using BoostFormer.Visualization;

namespace BoostFormer.Training.Tracking;

/// <summary>One row of a per-class comparison: a label (a run, a rung of a ladder), its mean IoU and the IoU of each class (NaN: absent from ground truth and prediction).</summary>
public sealed record ClassIoURow(string Label, double MeanIoU, IReadOnlyDictionary<string, double> ClassIoU)
{
    /// <summary>The IoU of <paramref name="className"/>, NaN when the row has none.</summary>
    public double this[string className] => ClassIoU.TryGetValue(className, out var v) ? v : double.NaN;
}

/// <summary>
/// Per-class IoU of several runs or evaluations side by side — one row each, mean IoU and the chosen classes (notebook 12's
/// ladder: the rare CamVid classes a plain cross-entropy run leaves at 0).
/// </summary>
public static class ClassIoUReport
{
    /// <summary>CamVid's rare classes (the thin and small ones): the columns of the training-tricks ladder.</summary>
    public static IReadOnlyList<string> CamVidRareClasses { get; } = new[] { "Pole", "SignSymbol", "Fence", "Pedestrian", "Bicyclist" };

    /// <summary>The last evaluation of run <paramref name="runId"/> (or its evaluation at <paramref name="step"/>).</summary>
    public static ClassIoURow FromRun(RunStore store, long runId, string? label = null, long? step = null)
    {
        var run = store.Run(runId) ?? throw new ArgumentException($"no run {runId} in {store.Path}", nameof(runId));
        var perClass = store.PerClass(runId, "iou", step);
        if (perClass.Count == 0) throw new ArgumentException($"run {runId} ({run.Name}) has no evaluation with per-class IoU", nameof(runId));
        var evals = store.Metrics(runId, "eval", "miou");
        var s = step ?? evals.Max(m => m.Step);
        var miou = evals.Where(m => m.Step == s).Select(m => m.Value).DefaultIfEmpty(double.NaN).First();
        return new ClassIoURow(label ?? run.Name, miou, perClass.ToDictionary(c => c.className, c => c.value));
    }

    /// <summary>An evaluation's metrics as a row.</summary>
    public static ClassIoURow FromMetrics(string label, SegmentationMetrics metrics) =>
        new(label, metrics.MeanIoU, metrics.ClassNames.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => metrics.PerClassIoU[p.i]));

    /// <summary>The rows as a table in percent: label, mIoU and one column per class of <paramref name="classes"/> ("—" for NaN).</summary>
    public static Table ToTable(IReadOnlyList<ClassIoURow> rows, IReadOnlyList<string> classes, string? title = null, string labelHeader = "run") =>
        new(new[] { labelHeader, "mIoU %" }.Concat(classes.Select(c => c + " IoU %")).ToList(),
            rows.Select(r => (IReadOnlyList<object?>)new object?[] { r.Label, Pct(r.MeanIoU) }.Concat(classes.Select(c => Pct(r[c]))).ToList()).ToList(),
            title);

    private static string Pct(double v) => double.IsNaN(v) ? "—" : (100 * v).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
}
