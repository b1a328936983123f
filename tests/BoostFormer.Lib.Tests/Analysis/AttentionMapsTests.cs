using BoostFormer.Models;
using TorchSharp;
using BoostFormer.Analysis;
using BoostFormer.Visualization;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Analysis;

public class AttentionMapsTests
{
    [Fact]
    public void Mean_distance_weights_query_to_key_distances_by_the_probabilities()
    {
        // Input 1x2 pixels; queries on a 1x2 grid (centres x = 0.5, 1.5); keys on the same grid.
        // Head 1 attends to itself (distance 0); head 2 to the other token (distance 1); head 3 half/half (0.5).
        using var probs = tensor(new float[]
        {
            1, 0, 0, 1,
            0, 1, 1, 0,
            0.5f, 0.5f, 0.5f, 0.5f,
        }, 1, 3, 2, 2);
        AttentionMaps.MeanDistance(probs, (1, 2), (1, 2), 1, 2).Should().Equal(new[] { 0.0, 1.0, 0.5 }, (a, b) => Math.Abs(a - b) < 1e-6);

        // A reduced 1x1 key grid sits at the image centre x = 1: both queries are 0.5 away.
        using var one = ones(1, 1, 2, 1);
        AttentionMaps.MeanDistance(one, (1, 2), (1, 1), 1, 2).Single().Should().BeApproximately(0.5, 1e-6);

        FluentActions.Invoking(() => AttentionMaps.MeanDistance(one, (2, 2), (1, 1), 2, 2)).Should().Throw<ArgumentException>().WithMessage("*query grid*");
    }

    [Fact]
    public void Uniform_distance_is_the_mean_distance_of_two_random_points()
    {
        // Mean distance between two uniform points of the unit square: (2 + √2 + 5·ln(1 + √2)) / 15 ≈ 0.5214.
        var exact = (2 + Math.Sqrt(2) + 5 * Math.Log(1 + Math.Sqrt(2))) / 15;
        AttentionMaps.UniformDistance(100, 100).Should().BeApproximately(100 * exact, 100 * exact * 0.01);
        AttentionMaps.UniformDistance(200, 100).Should().BeGreaterThan(AttentionMaps.UniformDistance(100, 100));
    }

    [Theory]
    [InlineData("segformer-b0")]
    [InlineData("boostformer-b0")]
    public void Capture_returns_each_attention_layer_with_its_grids(string name)
    {
        manual_seed(0);
        using var model = SegformerForSemanticSegmentation.FromName(name, 5);
        using var x = randn(1, 3, 128, 128);
        var layers = AttentionMaps.Capture(model, x);
        try
        {
            var attentionLayers = model.segformer.encoder.block.SelectMany(b => b).Count(l => l.SelfAttention is not null);
            layers.Should().HaveCount(attentionLayers).And.NotBeEmpty();
            foreach (var l in layers)
            {
                var side = 128L / (4L << (l.Stage - 1));
                l.QueryGrid.Should().Be((side, side), "stage s has stride 4·2^(s-1)");
                l.Probs.shape.Should().Equal(1, l.Heads, l.QueryGrid.H * l.QueryGrid.W, l.KeyGrid.H * l.KeyGrid.W);
                using var sums = l.Probs.sum(-1);
                (sums - 1).abs().max().item<float>().Should().BeLessThan(1e-4f, "softmax rows sum to one");
            }
            var distances = AttentionMaps.MeanDistances(model, new[] { x });
            distances.Should().HaveCount(layers.Sum(l => (int)l.Heads));
            distances.Should().OnlyContain(d => d.Pixels > 0 && d.Pixels < 128 * Math.Sqrt(2));

            var grid = AttentionMaps.ForQuery(model, x, 64, 40);
            grid.Images.Should().HaveCount(layers.Count).And.OnlyContain(i => i.Width == 128 && i.Height == 128);
            FluentActions.Invoking(() => AttentionMaps.ForQuery(model, x, 128, 0)).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*outside*");
        }
        finally
        {
            foreach (var l in layers) l.Dispose();
        }
    }

    [Fact]
    public void Heatmap_overlay_marks_the_query_and_colours_the_peak()
    {
        var gray = new Image(Enumerable.Repeat((byte)100, 8 * 8).ToArray(), 8, 8, 1);
        using var map = zeros(2, 2);
        map[1, 1] = tensor(1f);
        var o = AttentionMaps.HeatmapOverlay(gray, map, alpha: 1.0, marker: (0, 0));
        (o.Width, o.Height, o.Channels).Should().Be((8, 8, 3));
        (o.Pixels[0], o.Pixels[1], o.Pixels[2]).Should().Be(((byte)255, (byte)255, (byte)255), "the marker's centre is white");
        var last = 3 * 63;
        (o.Pixels[last], o.Pixels[last + 1], o.Pixels[last + 2]).Should().Be(Colormaps.Viridis(1), "the bottom-right cell holds the peak");
    }
}
