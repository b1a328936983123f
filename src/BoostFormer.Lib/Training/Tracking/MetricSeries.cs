namespace BoostFormer.Training.Tracking;

/// <summary>Helpers for the (step, value) series <see cref="RunStore.Series"/> returns.</summary>
public static class MetricSeries
{
    /// <summary>
    /// A trailing moving average over <paramref name="window"/> points, thinned to at most <paramref name="maxPoints"/>
    /// points (every k-th averaged point, the last one always kept): a readable curve for a noisy per-step loss. Point i of
    /// the result averages the raw values of steps i−window+1 … i (fewer at the start). Empty in, empty out.
    /// </summary>
    public static IReadOnlyList<(long step, double value)> Smoothed(this IReadOnlyList<(long step, double value)> series, int window, int maxPoints = 400)
    {
        if (window < 1) throw new ArgumentOutOfRangeException(nameof(window), window, "the window must be at least 1 point");
        if (maxPoints < 2) throw new ArgumentOutOfRangeException(nameof(maxPoints), maxPoints, "at least 2 points are needed");
        var result = new List<(long, double)>();
        if (series.Count == 0) return result;
        int stride = Math.Max(1, (int)Math.Ceiling(series.Count / (double)maxPoints));
        double sum = 0;
        for (int i = 0; i < series.Count; i++)
        {
            sum += series[i].value;
            if (i >= window) sum -= series[i - window].value;
            bool keep = i % stride == stride - 1 || i == series.Count - 1;
            if (keep) result.Add((series[i].step, sum / Math.Min(i + 1, window)));
        }
        return result;
    }
}
