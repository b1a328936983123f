using BoostFormer.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Training;

/// <summary>
/// Training batches from the data layer's <see cref="DataLoader{TBatch}"/> (<see cref="Loaders.Segmentation"/>): the epoch
/// order comes from (seed, epoch) and each sample's augmentation from (seed, epoch, index), so any batch is a pure function
/// of its position — which is what the trainer's exact resume relies on. Batches stream through the loader's background
/// workers, a resumed epoch's from its next batch on.
/// </summary>
public sealed class DatasetBatchSource : ISegmentationBatchSource
{
    private readonly DataLoader<SegBatch> _loader;

    /// <summary>
    /// Creates the source; the pipeline must produce fixed-size crops (e.g. <see cref="SegPipeline.Train"/>). With a
    /// <paramref name="shard"/> (rank, world size) each batch is the rank's part of the global batch of
    /// <paramref name="batchSize"/> (<see cref="LoaderOptions.Shard"/>); <see cref="BatchSize"/> stays the global size.
    /// </summary>
    public DatasetBatchSource(ISegmentationDataset dataset, SegPipeline pipeline, int batchSize, long seed, int? workers = null, (int Rank, int WorldSize)? shard = null)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be at least 1");
        if (dataset.Count < batchSize) throw new ArgumentException($"the dataset has {dataset.Count} samples, fewer than one batch of {batchSize}", nameof(dataset));
        BatchSize = batchSize;
        var o = new LoaderOptions { BatchSize = batchSize, Shuffle = true, DropLast = true, Seed = seed, Shard = shard };
        if (workers is { } w) o = o with { Workers = w };
        _loader = Loaders.Segmentation(dataset, pipeline, o);
    }

    /// <inheritdoc />
    public long BatchesPerEpoch => _loader.BatchCount;
    /// <inheritdoc />
    public int BatchSize { get; }

    /// <inheritdoc />
    public IEnumerable<SegmentationBatch> Epoch(long epoch, long startBatch)
    {
        foreach (var b in _loader.Epoch(checked((int)epoch), checked((int)startBatch))) yield return Wrap(b);
    }

    private static SegmentationBatch Wrap(SegBatch b)
    {
        var labels = b.Labels.dtype == ScalarType.Int64 ? b.Labels.alias() : b.Labels.@long();
        var images = b.Images.alias();
        b.Dispose();
        return new SegmentationBatch(images.DetachFromDisposeScope(), labels.DetachFromDisposeScope());
    }

    /// <summary>
    /// Validation samples: each image resized by <paramref name="test"/> (keep ratio) and normalised, with its label at the
    /// original resolution.
    /// </summary>
    public static IEnumerable<EvalSample> EvalSamples(ISegmentationDataset dataset, SegPipeline test, int? limit = null)
    {
        var n = Math.Min(dataset.Count, limit ?? int.MaxValue);
        for (int i = 0; i < n; i++) yield return EvalSample(dataset.Get(i), test, i);
    }

    /// <summary>
    /// One decoded sample as evaluation input: the image through the test pipeline (resize, normalise) as [1, 3, H, W], the
    /// label at its original size as [h, w] int64. <paramref name="index"/> seeds the (deterministic) pipeline.
    /// </summary>
    public static EvalSample EvalSample(SegmentationSample s, SegPipeline test, int index)
    {
        var label = s.Label.Labels.Select(v => (long)v).ToArray();
        var (img, _) = test.Apply(s.Image, s.Label.Clone(), DataRng.ForSample(0, 0, index));
        var chw = new float[3 * img.Height * img.Width];
        ImageOps.NormalizeToChw(img, chw, test.Mean, test.Std);
        return new EvalSample(tensor(chw, new long[] { 1, 3, img.Height, img.Width }).DetachFromDisposeScope(),
            tensor(label, new long[] { s.Label.Height, s.Label.Width }).DetachFromDisposeScope());
    }
}
