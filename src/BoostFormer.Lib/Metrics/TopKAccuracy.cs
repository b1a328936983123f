using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Metrics;

/// <summary>
/// Top-1 / top-k classification accuracy accumulated over a split: a sample counts as correct at k when its target is
/// among the k largest logits (ties resolved by <c>topk</c>, as in timm's <c>accuracy</c>).
/// </summary>
public sealed class TopKAccuracy
{
    private readonly long[] _correct;

    /// <summary>Tracks accuracy at each k in <paramref name="ks"/> (default 1 and 5).</summary>
    public TopKAccuracy(params int[] ks)
    {
        Ks = ks.Length == 0 ? new[] { 1, 5 } : ks.ToArray();
        if (Ks.Any(k => k < 1)) throw new ArgumentException("every k must be at least 1", nameof(ks));
        _correct = new long[Ks.Count];
    }

    /// <summary>The k values tracked.</summary>
    public IReadOnlyList<int> Ks { get; }

    /// <summary>Samples seen.</summary>
    public long Count { get; private set; }

    /// <summary>Adds a batch of logits [N, C] and integer targets [N].</summary>
    public void Update(Tensor logits, Tensor target)
    {
        if (logits.dim() != 2) throw new ArgumentException($"logits must be [N, C], got [{string.Join(", ", logits.shape)}]", nameof(logits));
        if (target.dim() != 1 || target.shape[0] != logits.shape[0])
            throw new ArgumentException($"target must be [N] with N = {logits.shape[0]}, got [{string.Join(", ", target.shape)}]", nameof(target));
        using var scope = NewDisposeScope();
        var maxK = Math.Min(Ks.Max(), (int)logits.shape[1]);
        var (_, idx) = logits.topk(maxK, 1);
        var hit = idx.eq(target.@long().unsqueeze(1)); // [N, maxK]
        var cum = hit.@long().cumsum(1);
        for (int i = 0; i < Ks.Count; i++)
        {
            var k = Math.Min(Ks[i], maxK);
            _correct[i] += cum.select(1, k - 1).sum().item<long>();
        }
        Count += logits.shape[0];
    }

    /// <summary>Accuracy (0–1) at <paramref name="k"/>.</summary>
    public double Accuracy(int k)
    {
        var i = Ks.ToList().IndexOf(k);
        if (i < 0) throw new ArgumentException($"k = {k} is not tracked (tracked: {string.Join(", ", Ks)})", nameof(k));
        return Count == 0 ? double.NaN : (double)_correct[i] / Count;
    }

    /// <summary>Resets the counts.</summary>
    public void Reset() { Array.Clear(_correct); Count = 0; }
}
