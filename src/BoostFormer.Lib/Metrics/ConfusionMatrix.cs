using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Metrics;

/// <summary>
/// A K×K confusion matrix (rows = ground-truth class, columns = predicted class) accumulated over a whole split as an
/// int64 tensor: each update is one <c>bincount</c> of <c>gt·K + pred</c> over the valid pixels, computed by libtorch.
/// Pixels whose label equals <see cref="IgnoreIndex"/> (255 by default) are skipped; any other label outside [0, K)
/// is an error (it would silently corrupt the metrics).
/// </summary>
public sealed class ConfusionMatrix : IDisposable
{
    private Tensor _counts;

    /// <summary>Creates an empty matrix for <paramref name="numClasses"/> classes.</summary>
    public ConfusionMatrix(int numClasses, long ignoreIndex = 255)
    {
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "the number of classes must be at least 1");
        NumClasses = numClasses;
        IgnoreIndex = ignoreIndex;
        _counts = zeros(new long[] { (long)numClasses * numClasses }, ScalarType.Int64).DetachFromDisposeScope();
    }

    /// <summary>Number of classes K.</summary>
    public int NumClasses { get; }

    /// <summary>Label value excluded from the matrix (mmseg and HF: 255).</summary>
    public long IgnoreIndex { get; }

    /// <summary>
    /// Adds a batch: <paramref name="prediction"/> holds predicted class indices and <paramref name="label"/> the ground
    /// truth, with the same shape (any rank, e.g. [N, H, W]).
    /// </summary>
    public void Update(Tensor prediction, Tensor label)
    {
        if (!prediction.shape.SequenceEqual(label.shape))
            throw new ArgumentException($"prediction shape [{string.Join(", ", prediction.shape)}] differs from label shape [{string.Join(", ", label.shape)}]", nameof(prediction));
        using var scope = NewDisposeScope();
        var gt = label.@long().flatten();
        var pr = prediction.@long().flatten();
        var valid = gt.ne(Scalars.OfInt(IgnoreIndex));
        var g = gt.masked_select(valid);
        var p = pr.masked_select(valid);
        if (g.numel() == 0) return;
        var k = (long)NumClasses;
        var bad = g.lt(Scalars.OfInt(0)).logical_or(g.ge(Scalars.OfInt(k)));
        if (bad.any().item<bool>())
        {
            var v = g.masked_select(bad)[0].item<long>();
            throw new ArgumentException($"label value {v} is neither a class in [0, {k}) nor the ignore index {IgnoreIndex}", nameof(label));
        }
        var badP = p.lt(Scalars.OfInt(0)).logical_or(p.ge(Scalars.OfInt(k)));
        if (badP.any().item<bool>())
        {
            var v = p.masked_select(badP)[0].item<long>();
            throw new ArgumentException($"predicted class {v} is outside [0, {k})", nameof(prediction));
        }
        var idx = g.mul(Scalars.OfInt(k)).add(p, Scalars.OfInt(1));
        var bc = idx.bincount(null, k * k);
        _counts.add_(bc, Scalars.OfInt(1));
    }

    /// <summary>Adds another matrix's counts (e.g. from another worker).</summary>
    public void Add(ConfusionMatrix other)
    {
        if (other.NumClasses != NumClasses) throw new ArgumentException($"cannot add a {other.NumClasses}-class matrix to a {NumClasses}-class one", nameof(other));
        _counts.add_(other._counts, Scalars.OfInt(1));
    }

    /// <summary>Resets every count to zero.</summary>
    public void Reset() => _counts.zero_();

    /// <summary>The counts as a [K, K] array: <c>m[gt, pred]</c>.</summary>
    public long[,] ToArray()
    {
        var flat = _counts.ToArray<long>();
        var m = new long[NumClasses, NumClasses];
        Buffer.BlockCopy(flat, 0, m, 0, flat.Length * sizeof(long));
        return m;
    }

    /// <summary>mIoU, mAcc, aAcc and the per-class values of the accumulated matrix.</summary>
    public SegmentationMetrics Compute(IReadOnlyList<string>? classNames = null) => SegmentationMetrics.FromConfusionMatrix(ToArray(), classNames);

    /// <inheritdoc />
    public void Dispose() => _counts.Dispose();
}
