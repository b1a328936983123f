namespace BoostFormer.Data;

/// <summary>Smaller views of datasets, for CI-scale runs and overfitting checks.</summary>
public static class Subsets
{
    /// <summary>The first <paramref name="count"/> samples (all of them when the dataset is smaller).</summary>
    public static ISegmentationDataset First(this ISegmentationDataset dataset, int count) => new FirstSamples(dataset, count);

    /// <summary><paramref name="count"/> samples spread evenly over the dataset (every k-th), so every class stays represented.</summary>
    public static IClassificationDataset EvenlySpread(this IClassificationDataset dataset, int count) => new SpreadSamples(dataset, count);

    /// <summary>A view of the first samples of another dataset (so checks can reach its files).</summary>
    internal interface IFileBacked
    {
        ISegmentationDataset Inner { get; }
        int Count { get; }
    }

    private sealed class FirstSamples(ISegmentationDataset d, int n) : ISegmentationDataset, IFileBacked
    {
        public ISegmentationDataset Inner => d;
        public DatasetInfo Info => d.Info;
        public int Count { get; } = Math.Min(n, d.Count);
        public SegmentationSample Get(int index) => d.Get(index);
        public string Describe(int index) => d.Describe(index);
    }

    private sealed class SpreadSamples : IClassificationDataset
    {
        private readonly IClassificationDataset _d;
        private readonly int[] _idx;

        public SpreadSamples(IClassificationDataset d, int n)
        {
            _d = d;
            var step = Math.Max(1, d.Count / Math.Max(1, n));
            _idx = Enumerable.Range(0, Math.Min(n, d.Count)).Select(i => Math.Min(d.Count - 1, i * step)).ToArray();
        }

        public int Count => _idx.Length;
        public int NumClasses => _d.NumClasses;
        public IReadOnlyList<string> ClassNames => _d.ClassNames;
        public ClassificationSample Get(int index) => _d.Get(_idx[index]);
        public int LabelOf(int index) => _d.LabelOf(_idx[index]);
        public string Describe(int index) => _d.Describe(_idx[index]);
    }
}
