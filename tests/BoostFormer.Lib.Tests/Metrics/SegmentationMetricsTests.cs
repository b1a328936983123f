using BoostFormer.Metrics;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Metrics;

public class SegmentationMetricsTests
{
    [Fact]
    public void ConfusionMatrix_counts_pixels_and_skips_ignore()
    {
        // gt:   0 0 1 1 2 255      pred: 0 1 1 1 0 2
        using var gt = tensor(new long[] { 0, 0, 1, 1, 2, 255 }, new long[] { 1, 2, 3 });
        using var pr = tensor(new long[] { 0, 1, 1, 1, 0, 2 }, new long[] { 1, 2, 3 });
        using var cm = new ConfusionMatrix(4);
        cm.Update(pr, gt);
        cm.Update(pr, gt); // accumulates
        var m = cm.ToArray();
        var expected = new long[,] { { 2, 2, 0, 0 }, { 0, 4, 0, 0 }, { 2, 0, 0, 0 }, { 0, 0, 0, 0 } };
        m.Should().BeEquivalentTo(expected);
    }

    [Fact]
    public void Metrics_match_hand_computed_values_with_mmseg_nan_semantics()
    {
        // rows = gt, cols = pred. Class 3 absent from both -> NaN IoU and acc, excluded from means.
        // Class 2: absent from GT but predicted once -> IoU 0, acc NaN.
        var m = new long[,]
        {
            { 5, 1, 1, 0 },
            { 2, 6, 0, 0 },
            { 0, 0, 0, 0 },
            { 0, 0, 0, 0 },
        };
        var r = SegmentationMetrics.FromConfusionMatrix(m);
        // IoU0 = 5/(7+7-5) = 5/9 ; IoU1 = 6/(8+7-6) = 6/9 ; IoU2 = 0/(0+1-0) = 0 ; IoU3 = NaN
        r.PerClassIoU[0].Should().BeApproximately(5.0 / 9, 1e-12);
        r.PerClassIoU[1].Should().BeApproximately(6.0 / 9, 1e-12);
        r.PerClassIoU[2].Should().Be(0);
        double.IsNaN(r.PerClassIoU[3]).Should().BeTrue();
        r.MeanIoU.Should().BeApproximately((5.0 / 9 + 6.0 / 9 + 0) / 3, 1e-12);
        // Acc0 = 5/7, Acc1 = 6/8, Acc2 = NaN, Acc3 = NaN
        r.PerClassAccuracy[0].Should().BeApproximately(5.0 / 7, 1e-12);
        r.PerClassAccuracy[1].Should().BeApproximately(0.75, 1e-12);
        double.IsNaN(r.PerClassAccuracy[2]).Should().BeTrue();
        r.MeanAccuracy.Should().BeApproximately((5.0 / 7 + 0.75) / 2, 1e-12);
        r.AllAccuracy.Should().BeApproximately(11.0 / 15, 1e-12);
        r.PixelsPerClass.Should().Equal(7, 8, 0, 0);
    }

    [Fact]
    public void ConfusionMatrix_from_random_maps_matches_a_loop()
    {
        manual_seed(3);
        using var gt = randint(0, 6, new long[] { 2, 17, 23 });
        using var pr = randint(0, 5, new long[] { 2, 17, 23 });
        gt.masked_fill_(gt.eq(5L), 255L);
        using var cm = new ConfusionMatrix(5);
        cm.Update(pr, gt);
        var g = gt.ToArray<long>(); var p = pr.ToArray<long>();
        var expected = new long[5, 5];
        for (int i = 0; i < g.Length; i++) if (g[i] != 255) expected[g[i], p[i]]++;
        cm.ToArray().Should().BeEquivalentTo(expected);
    }

    [Fact]
    public void Invalid_label_names_the_value()
    {
        using var gt = tensor(new long[] { 0, 7 }, new long[] { 1, 1, 2 });
        using var pr = tensor(new long[] { 0, 1 }, new long[] { 1, 1, 2 });
        using var cm = new ConfusionMatrix(3);
        var act = () => cm.Update(pr, gt);
        act.Should().Throw<ArgumentException>().WithMessage("*label value 7*");
    }

    [Fact]
    public void TopK_accuracy_counts_hits()
    {
        using var logits = tensor(new float[]
        {
            0.1f, 0.9f, 0.0f, 0.3f,   // top1=1, ranks 1,3,0,2
            0.8f, 0.1f, 0.07f, 0.05f, // top1=0, target 2 is rank 3
            0.2f, 0.3f, 0.4f, 0.1f,   // top1=2, ranks 2,1,0,3
        }, new long[] { 3, 4 });
        using var target = tensor(new long[] { 1, 2, 0 });
        var acc = new TopKAccuracy(1, 2, 3);
        acc.Update(logits, target);
        acc.Accuracy(1).Should().BeApproximately(1.0 / 3, 1e-12);
        acc.Accuracy(2).Should().BeApproximately(1.0 / 3, 1e-12);  // sample 3: target 0 is rank 3
        acc.Accuracy(3).Should().Be(1.0);  // samples 2 and 3: target at rank 3
    }
}
