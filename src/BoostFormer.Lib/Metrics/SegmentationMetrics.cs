namespace BoostFormer.Metrics;

/// <summary>
/// Semantic-segmentation metrics with mmsegmentation's semantics (<c>mmseg.core.evaluation.metrics</c>), from a confusion
/// matrix <c>m[gt, pred]</c>:
/// per-class IoU = TP / (TP + FP + FN) and accuracy = TP / (pixels labelled with the class); a class whose denominator is
/// zero gets NaN (IoU: absent from both ground truth and prediction; accuracy: absent from the ground truth) and is left
/// out of the means (<c>nanmean</c>). aAcc = Σ TP / Σ labelled pixels.
/// </summary>
public sealed record SegmentationMetrics(
    double MeanIoU,
    double MeanAccuracy,
    double AllAccuracy,
    IReadOnlyList<double> PerClassIoU,
    IReadOnlyList<double> PerClassAccuracy,
    IReadOnlyList<long> PixelsPerClass,
    IReadOnlyList<string> ClassNames)
{
    /// <summary>Computes the metrics of a K×K confusion matrix (rows ground truth, columns prediction).</summary>
    public static SegmentationMetrics FromConfusionMatrix(long[,] m, IReadOnlyList<string>? classNames = null)
    {
        var k = m.GetLength(0);
        if (m.GetLength(1) != k) throw new ArgumentException($"confusion matrix must be square, got {k}x{m.GetLength(1)}", nameof(m));
        if (classNames is not null && classNames.Count != k) throw new ArgumentException($"{classNames.Count} class names for {k} classes", nameof(classNames));
        var iou = new double[k];
        var acc = new double[k];
        var label = new long[k];
        long totalTp = 0, total = 0;
        for (int c = 0; c < k; c++)
        {
            long tp = m[c, c], rowSum = 0, colSum = 0;
            for (int j = 0; j < k; j++) { rowSum += m[c, j]; colSum += m[j, c]; }
            var union = rowSum + colSum - tp;
            iou[c] = union == 0 ? double.NaN : (double)tp / union;
            acc[c] = rowSum == 0 ? double.NaN : (double)tp / rowSum;
            label[c] = rowSum;
            totalTp += tp;
            total += rowSum;
        }
        return new SegmentationMetrics(NanMean(iou), NanMean(acc), total == 0 ? double.NaN : (double)totalTp / total, iou, acc, label,
            classNames?.ToArray() ?? Enumerable.Range(0, k).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray());
    }

    /// <summary>Mean of the non-NaN values (NaN when all are NaN), as numpy's <c>nanmean</c>.</summary>
    public static double NanMean(IEnumerable<double> values)
    {
        double s = 0; int n = 0;
        foreach (var v in values) if (!double.IsNaN(v)) { s += v; n++; }
        return n == 0 ? double.NaN : s / n;
    }

    /// <summary>Flat name → value pairs for logging (<c>miou</c>, <c>macc</c>, <c>aacc</c>, <c>iou.&lt;class&gt;</c>, <c>acc.&lt;class&gt;</c>).</summary>
    public IReadOnlyDictionary<string, double> ToDictionary()
    {
        var d = new Dictionary<string, double> { ["miou"] = MeanIoU, ["macc"] = MeanAccuracy, ["aacc"] = AllAccuracy };
        for (int i = 0; i < PerClassIoU.Count; i++)
        {
            d["iou." + ClassNames[i]] = PerClassIoU[i];
            d["acc." + ClassNames[i]] = PerClassAccuracy[i];
        }
        return d;
    }
}
