using System.Collections.Concurrent;
using TorchSharp;
using BoostFormer.IO;
using static TorchSharp.torch;

namespace BoostFormer.Data;

/// <summary>
/// A segmentation batch: normalised images [N, 3, H, W] float32 and labels [N, H, W] int64 (255 = ignore). Samples of
/// different sizes are padded at the bottom/right to the largest (image 0 after normalisation, label 255). The consumer
/// owns the tensors: dispose the batch.
/// </summary>
public sealed class SegBatch : IDisposable
{
    public Tensor Images { get; }
    public Tensor Labels { get; }
    public int[] Indices { get; }
    public string[] Paths { get; }

    public SegBatch(Tensor images, Tensor labels, int[] indices, string[] paths)
    {
        Images = images; Labels = labels; Indices = indices; Paths = paths;
    }

    public void Dispose() { Images.Dispose(); Labels.Dispose(); }
}

/// <summary>
/// A classification batch: normalised images [N, 3, H, W] float32, class indices [N] int64 and soft targets [N, K]
/// float32 (one-hot with label smoothing, mixed by mixup/cutmix when enabled). The consumer owns it: dispose it.
/// </summary>
public sealed class ClsBatch : IDisposable
{
    public Tensor Images { get; }
    public Tensor Labels { get; }
    public Tensor Targets { get; }
    public int[] Indices { get; }
    /// <summary>Mixing weight of the batch's own labels (1 when no mixup/cutmix was applied).</summary>
    public double Lambda { get; }

    public ClsBatch(Tensor images, Tensor labels, Tensor targets, int[] indices, double lambda)
    {
        Images = images; Labels = labels; Targets = targets; Indices = indices; Lambda = lambda;
    }

    public void Dispose() { Images.Dispose(); Labels.Dispose(); Targets.Dispose(); }
}

/// <summary>Builds loaders over the datasets with their transforms.</summary>
public static class Loaders
{
    /// <summary>
    /// A loader of <see cref="SegBatch"/>es: each sample is read, passed through <paramref name="pipeline"/> with its own
    /// generator DataRng(seed, epoch, index), normalised straight into the batch tensor.
    /// </summary>
    /// <remarks>With a <paramref name="skipBad"/> log, an unreadable or invalid sample is replaced by the next readable one
    /// (index + 1, + 2, … up to 16: a function of the index only, so batches stay deterministic) and recorded in the log;
    /// without it the error (naming the file) reaches the consumer.</remarks>
    public static DataLoader<SegBatch> Segmentation(ISegmentationDataset dataset, SegPipeline pipeline, LoaderOptions? options = null, BadSampleLog? skipBad = null) =>
        new(dataset.Count, req => BuildSegBatch(dataset, pipeline, req, skipBad), options);

    public static SegBatch BuildSegBatch(ISegmentationDataset dataset, SegPipeline pipeline, BatchRequest req, BadSampleLog? skipBad = null)
    {
        int n = req.Indices.Length;
        var imgs = new ImageBuffer[n];
        var lbls = new LabelMap[n];
        var paths = new string[n];
        for (int i = 0; i < n; i++)
        {
            int idx = req.Indices[i];
            var s = ReadWithFallback(idx, dataset.Count, dataset.Get, dataset.Describe, skipBad);
            try { (imgs[i], lbls[i]) = pipeline.Apply(s.Image, s.Label, req.SampleRng(idx)); }
            catch (Exception e) when (e is not IOException) { throw new DataFormatException($"{s.ImagePath}: transform failed: {e.Message}", s.ImagePath, e); }
            paths[i] = s.ImagePath;
        }
        int h = imgs.Max(x => x.Height), w = imgs.Max(x => x.Width);
        // Filled as managed arrays, then copied into tensors once (TorchSharp exposes no span over a tensor's storage).
        var dstArray = new float[(long)n * 3 * h * w];
        var dst = dstArray.AsSpan();
        var ldstArray = new long[(long)n * h * w];
        ldstArray.AsSpan().Fill(255L);
        var ldst = ldstArray.AsSpan();
        {
            for (int i = 0; i < n; i++)
            {
                var img = imgs[i];
                var plane = dst.Slice(i * 3 * h * w, 3 * h * w);
                if (img.Height == h && img.Width == w) ImageOps.NormalizeToChw(img, plane, pipeline.Mean, pipeline.Std);
                else
                {
                    var tmp = new float[3 * img.Height * img.Width];
                    ImageOps.NormalizeToChw(img, tmp, pipeline.Mean, pipeline.Std);
                    int ih = img.Height, iw = img.Width;
                    for (int c = 0; c < 3; c++)
                        for (int y = 0; y < ih; y++)
                            tmp.AsSpan(c * ih * iw + y * iw, iw).CopyTo(plane.Slice(c * h * w + y * w));
                }
                var l = lbls[i];
                var ld = ldst.Slice(i * h * w, h * w);
                for (int y = 0; y < l.Height; y++)
                {
                    var src = l.Labels.AsSpan(y * l.Width, l.Width);
                    var row = ld.Slice(y * w, l.Width);
                    for (int x = 0; x < src.Length; x++) row[x] = src[x];
                }
            }
        }
        var images = tensor(dstArray, new long[] { n, 3, h, w });
        try
        {
            var labels = tensor(ldstArray, new long[] { n, h, w });
            return new SegBatch(images, labels, req.Indices, paths);
        }
        catch { images.Dispose(); throw; }
    }

    /// <summary>
    /// A loader of <see cref="ClsBatch"/>es: per-sample <paramref name="transform"/> (crop/flip/jitter/normalise/erase),
    /// then batch-level mixup/cutmix with label smoothing from <paramref name="mix"/> (null = one-hot with
    /// <see cref="MixupCutmix"/>'s smoothing 0).
    /// </summary>
    public static DataLoader<ClsBatch> Classification(IClassificationDataset dataset, ClsTransform transform, MixupCutmix? mix = null, LoaderOptions? options = null, BadSampleLog? skipBad = null) =>
        new(dataset.Count, req => BuildClsBatch(dataset, transform, mix, req, skipBad), options);

    public static ClsBatch BuildClsBatch(IClassificationDataset dataset, ClsTransform transform, MixupCutmix? mix, BatchRequest req, BadSampleLog? skipBad = null)
    {
        if (req.GlobalIndices is { } global && global.Length != req.Indices.Length && mix is { Mixes: true })
        {
            // Mixup/CutMix pair sample i with sample N − 1 − i of the global batch, which another rank's shard holds: build
            // the global batch as one process does (the per-sample transforms are cheap next to the model) and keep this
            // rank's rows, so N ranks together train on exactly the single-process batch.
            using var whole = BuildClsBatch(dataset, transform, mix, req with { Indices = global, GlobalIndices = null, ShardOffset = 0 }, skipBad);
            long at = req.ShardOffset, count = req.Indices.Length;
            using var im = whole.Images.narrow(0, at, count);
            using var lb = whole.Labels.narrow(0, at, count);
            using var tg = whole.Targets.narrow(0, at, count);
            return new ClsBatch(im.clone(), lb.clone(), tg.clone(), req.Indices, whole.Lambda);
        }
        int n = req.Indices.Length, s = transform.Size, k = dataset.NumClasses;
        var x = new float[n * 3 * s * s];
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            var sample = ReadWithFallback(req.Indices[i], dataset.Count, dataset.Get, dataset.Describe, skipBad);
            try { transform.Apply(sample.Image, x.AsSpan(i * 3 * s * s, 3 * s * s), req.SampleRng(req.Indices[i])); }
            catch (Exception e) when (e is not IOException) { throw new DataFormatException($"{sample.Path}: transform failed: {e.Message}", sample.Path, e); }
            y[i] = sample.Label;
        }
        var targets = new float[n * k];
        double lambda = (mix ?? MixupCutmix.None).Apply(x, y, targets, n, s, s, k, req.BatchRng());
        var images = tensor(x, new long[] { n, 3, s, s });
        var labels = tensor(y.Select(v => (long)v).ToArray(), new long[] { n });
        var t = tensor(targets, new long[] { n, k });
        return new ClsBatch(images, labels, t, req.Indices, lambda);
    }

    private static T ReadWithFallback<T>(int index, int count, Func<int, T> get, Func<int, string> describe, BadSampleLog? log)
    {
        if (log is null) return get(index);
        for (int k = 0; k < Math.Min(16, count); k++)
        {
            int j = (index + k) % count;
            try { return get(j); }
            catch (Exception e) when (e is ImageDecodeException or DataFormatException) { log.Add(describe(j), e.Message); }
        }
        throw new DataFormatException($"{describe(index)} and the next {Math.Min(16, count) - 1} samples are all unreadable (see the skipped list)", describe(index));
    }
}

/// <summary>Thread-safe record of the samples a loader skipped (<c>--skip-bad</c>): each file once, with the reason.</summary>
public sealed class BadSampleLog
{
    private readonly ConcurrentDictionary<string, string> _items = new();
    public void Add(string path, string reason) => _items.TryAdd(path, reason);
    public int Count => _items.Count;
    public IReadOnlyList<(string Path, string Reason)> Items => _items.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, kv.Value)).ToList();
}
