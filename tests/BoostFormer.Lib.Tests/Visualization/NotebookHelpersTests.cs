using BoostFormer.Models;
using BoostFormer.Tests;
using BoostFormer.Profiling;
using BoostFormer.Visualization;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Visualization;

/// <summary>The small library pieces the notebooks lean on: image preprocessing, feature-map pictures, block diagrams, stage costs.</summary>
public class NotebookHelpersTests
{
    [Fact]
    public void Preprocess_normalises_with_ImageNet_statistics_and_round_trips()
    {
        // A constant image of the ImageNet mean colour normalises to zero everywhere.
        var rgb = new byte[4 * 6 * 3];
        for (int i = 0; i < rgb.Length; i += 3) { rgb[i] = 124; rgb[i + 1] = 116; rgb[i + 2] = 104; }
        var img = Image.FromRgb(rgb, 6, 4);
        using var x = SegformerImageProcessor.Preprocess(img, width: 12, height: 8);
        x.shape.Should().Equal(1, 3, 8, 12);
        using var absMax = x.abs().max();
        absMax.item<float>().Should().BeLessThan(0.01f);
        var back = SegformerImageProcessor.ToImage(x);
        back.Width.Should().Be(12);
        back.Pixels.Take(3).Select(b => (int)b).Should().Equal(124, 116, 104);
    }

    [Fact]
    public void Preprocess_rejects_empty_size()
    {
        var img = Image.FromRgb(new byte[3], 1, 1);
        var act = () => SegformerImageProcessor.Preprocess(img, 0, 4);
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*0x4*");
    }

    [Fact]
    public void Channels_picks_the_most_varied_channels()
    {
        using var scope = NewDisposeScope();
        var f = zeros(4, 5, 5);
        f[2].copy_(arange(25, ScalarType.Float32).reshape(5, 5));       // highest variance
        f[0].copy_(arange(25, ScalarType.Float32).reshape(5, 5) * 0.1);  // second
        var grid = FeatureMaps.Channels(f, count: 2, cellSize: 10);
        grid.Images.Select(i => i.Caption).Should().Equal("channel 2", "channel 0");
        var act = () => FeatureMaps.Channels(zeros(5, 5));
        act.Should().Throw<ArgumentException>().WithMessage("*[C,H,W]*");
    }

    [Fact]
    public void Attention_of_query_averages_heads_on_the_key_grid()
    {
        using var scope = NewDisposeScope();
        var probs = zeros(1, 2, 3, 4);
        probs[0, 0, 1, 3] = tensor(1f);   // head 0 of query 1 looks at key 3 (bottom right of a 2x2 grid)
        probs[0, 1, 1, 0] = tensor(1f);   // head 1 at key 0
        var img = FeatureMaps.AttentionOfQuery(probs, 1, 2, 2, cellSize: 2);
        img.Width.Should().Be(2);
        var act = () => FeatureMaps.AttentionOfQuery(probs, 1, 3, 3);
        act.Should().Throw<ArgumentException>().WithMessage("*4 keys*3x3*");
    }

    [Fact]
    public void Module_diagram_draws_every_submodule_with_parameter_counts()
    {
        using var block = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU());
        using var other = nn.Sequential(nn.Linear(4, 4));
        var d = ModuleDiagram.SideBySide(block, "left", other, "right");
        var svg = d.ToSvg();
        svg.Should().StartWith("<svg").And.Contain("Conv2d · 224 params").And.Contain("BatchNorm2d · 16 params")
            .And.Contain("Linear · 20 params").And.Contain("left — 240 params");
        d.Formats().Select(f => f.Mime).Should().Contain(MimeTypes.Svg);
    }

    [Fact]
    public void Stage_breakdown_sums_to_the_model_totals()
    {
        var report = SegformerProfiling.Profile(SegformerConfig.FromName("segformer-b0"), new InputSize(64, 64));
        var parts = StageBreakdown.ByStage(report);
        parts.Select(p => p.Part).Should().Equal("stage 1", "stage 2", "stage 3", "stage 4", "decoder");
        parts.Sum(p => p.Params).Should().Be(report.Params);
        parts.Sum(p => p.GMacTotal).Should().BeApproximately(report.AllMacs / 1e9, 1e-9);
    }
}
