using BoostFormer.IO;

namespace BoostFormer.Data;

/// <summary>
/// Exact per-class pixel counts of a segmentation split (labels after the dataset's mapping, so ignored pixels are
/// counted apart) and class-balanced loss weights derived from them.
/// </summary>
public sealed class DatasetStats
{
    public required string Dataset { get; init; }
    public required string Split { get; init; }
    public required int Images { get; init; }
    /// <summary>Pixels per class index 0..K−1.</summary>
    public required long[] PixelCounts { get; init; }
    /// <summary>For each class, the total pixels of the images in which it appears (SegNet's median-frequency denominator).</summary>
    public required long[] PresentImagePixels { get; init; }
    public required long IgnoredPixels { get; init; }
    public required long TotalPixels { get; init; }
    /// <summary>Files that could not be read and were skipped (with --skip-bad), with the reason.</summary>
    public required IReadOnlyList<(string Path, string Reason)> Skipped { get; init; }

    /// <summary>
    /// Median frequency balancing (Eigen &amp; Fergus 2015, as SegNet used it for CamVid): freq(c) = pixels(c) / (total
    /// pixels of the images where c appears), weight(c) = median(freq) / freq(c). Classes that never appear get 0.
    /// </summary>
    public double[] MedianFrequencyWeights()
    {
        int k = PixelCounts.Length;
        var freq = new double[k];
        for (int c = 0; c < k; c++) freq[c] = PresentImagePixels[c] > 0 ? (double)PixelCounts[c] / PresentImagePixels[c] : 0;
        var present = freq.Where(f => f > 0).Order().ToArray();
        if (present.Length == 0) return new double[k];
        double median = present.Length % 2 == 1 ? present[present.Length / 2] : (present[present.Length / 2 - 1] + present[present.Length / 2]) / 2;
        return freq.Select(f => f > 0 ? median / f : 0).ToArray();
    }

    /// <summary>Counts the labels of every sample of <paramref name="dataset"/>. With <paramref name="skipBad"/>, unreadable
    /// or invalid samples are skipped and listed; otherwise the first one throws (naming the file).</summary>
    public static DatasetStats Compute(ISegmentationDataset dataset, string split, bool skipBad = false, IProgress<int>? progress = null)
    {
        int k = dataset.Info.NumClasses;
        var counts = new long[k];
        var present = new long[k];
        long ignored = 0, total = 0;
        int images = 0;
        var skipped = new List<(string, string)>();
        var local = new long[256];
        for (int i = 0; i < dataset.Count; i++)
        {
            LabelMap lbl;
            try { lbl = dataset.Get(i).Label; }
            catch (Exception e) when (skipBad && e is ImageDecodeException or DataFormatException)
            {
                skipped.Add((dataset.Describe(i), e.Message));
                continue;
            }
            Array.Clear(local);
            foreach (var v in lbl.Labels) local[v]++;
            long pixels = lbl.Labels.Length;
            for (int c = 0; c < k; c++)
            {
                counts[c] += local[c];
                if (local[c] > 0) present[c] += pixels;
            }
            for (int v = k; v < 256; v++) ignored += local[v];
            total += pixels;
            images++;
            progress?.Report(i + 1);
        }
        return new DatasetStats
        {
            Dataset = dataset.Info.Name, Split = split, Images = images, PixelCounts = counts, PresentImagePixels = present,
            IgnoredPixels = ignored, TotalPixels = total, Skipped = skipped,
        };
    }
}
