using BoostFormer.Training.Distributed;
using BoostFormer.Training.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Training;

/// <summary>
/// Data-parallel cross-entropy: two ranks whose shards hold different numbers of ignored pixels must, after the gradient
/// all-reduce's average, have the gradient of the global batch's mean loss. Both ranks are simulated in this process by
/// a group whose all-reduce adds the other rank's value.
/// </summary>
[Collection(GlobalRngCollection.Name)]
public class DataParallelLossTests
{
    private const int K = 5;

    /// <summary>A rank of a two-rank world whose all-reduce adds <see cref="Other"/> (what the other rank contributes).</summary>
    private sealed class TwoRankGroup(int rank) : IDataParallel
    {
        public double Other { get; set; }
        public int Rank => rank;
        public int WorldSize => 2;
        public void AllReduceSum(Tensor t) { using var o = tensor(new[] { Other }, t.dtype); t.add_(o, Scalars.One); }
        public void Broadcast(Tensor t) { }
        public void Barrier() { }
    }

    private static (Tensor logits, Tensor labels) Batch()
    {
        manual_seed(5);
        var logits = randn(4, K, 4, 4);
        var labels = randint(0, K, new long[] { 4, 8, 8 }, dtype: ScalarType.Int64);
        // Uneven ignored pixels: most of images 0–1 (rank 0's shard) are void, images 2–3 (rank 1's) are nearly all labelled.
        labels[TensorIndex.Slice(0, 2), TensorIndex.Slice(0, 6)] = tensor(255L);
        labels[3, 0, 0] = tensor(255L);
        return (logits, labels);
    }

    /// <summary>The normaliser of PyTorch's mean reduction for one shard: Σ w[y] over its labelled pixels.</summary>
    private static double Normaliser(Tensor labels, float[]? weights)
    {
        double d = 0;
        foreach (var y in labels.data<long>()) if (y != 255) d += weights?[y] ?? 1.0;
        return d;
    }

    private static Tensor Gradient(SegmentationLoss loss, Tensor logits, Tensor labels)
    {
        var x = logits.detach().requires_grad_(true);
        using var l = loss.Compute(x, labels);
        l.backward();
        return x.grad!.detach().clone();
    }

    [Theory]
    [InlineData(false, 0.0)]
    [InlineData(true, 0.0)]
    [InlineData(true, 0.1)]
    public void Two_ranks_average_to_the_global_batch_gradient_when_their_shards_ignore_different_pixel_counts(bool classWeights, double smoothing)
    {
        using var scope = NewDisposeScope();
        var weights = classWeights ? new[] { 0.5f, 1f, 2f, 1.5f, 0.8f } : null;
        var options = new SegmentationLossOptions { ClassWeights = weights, LabelSmoothing = smoothing };
        var (logits, labels) = Batch();
        var (la, lb) = (labels.narrow(0, 0, 2), labels.narrow(0, 2, 2));
        var (xa, xb) = (logits.narrow(0, 0, 2), logits.narrow(0, 2, 2));

        using var single = new SegmentationLoss(options, K);
        var expected = Gradient(single, logits, labels);

        var ga = new TwoRankGroup(0) { Other = Normaliser(lb, weights) };
        var gb = new TwoRankGroup(1) { Other = Normaliser(la, weights) };
        using var rankA = new SegmentationLoss(options, K) { Group = ga };
        using var rankB = new SegmentationLoss(options, K) { Group = gb };
        // What GradientAllReduce does: the mean of the ranks' gradients (each rank's gradient lives on its own shard's logits).
        var averaged = cat(new[] { Gradient(rankA, xa, la), Gradient(rankB, xb, lb) }, 0).div(2.0);
        var err = averaged.sub(expected).abs().max().item<float>() / expected.abs().max().item<float>();
        err.Should().BeLessThan(1e-6f);

        // The test is sensitive: the mean of each rank's own mean loss (what plain averaging gives) is a different gradient.
        using var plainA = new SegmentationLoss(options, K);
        using var plainB = new SegmentationLoss(options, K);
        var naive = cat(new[] { Gradient(plainA, xa, la), Gradient(plainB, xb, lb) }, 0).div(2.0);
        (naive.sub(expected).abs().max().item<float>() / expected.abs().max().item<float>()).Should().BeGreaterThan(0.1f);
    }

    [Fact]
    public void One_rank_group_gives_the_single_process_loss()
    {
        using var scope = NewDisposeScope();
        var (logits, labels) = Batch();
        using var single = new SegmentationLoss(new SegmentationLossOptions(), K);
        using var grouped = new SegmentationLoss(new SegmentationLossOptions(), K) { Group = new TwoRankGroup(0) { Other = Normaliser(labels, null) } };
        // A "two-rank" world whose other rank holds an identical shard: the global normaliser doubles and the world size
        // multiplies back, so the loss equals the single-process mean.
        using var a = single.Compute(logits, labels);
        using var b = grouped.Compute(logits, labels);
        b.item<float>().Should().BeApproximately(a.item<float>(), 1e-6f * Math.Max(1, Math.Abs(a.item<float>())));
    }
}
