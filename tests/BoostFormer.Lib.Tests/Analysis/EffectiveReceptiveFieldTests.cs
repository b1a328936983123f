using BoostFormer.Models;
using TorchSharp;
using BoostFormer.Analysis;
using BoostFormer.Visualization;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Analysis;

public class EffectiveReceptiveFieldTests
{
    private static ReceptiveField Field(Func<int, int, float> f, int size = 9)
    {
        var s = new float[size * size];
        for (int y = 0; y < size; y++) for (int x = 0; x < size; x++) s[y * size + x] = f(x, y);
        return new ReceptiveField("test", s, size, size, 1);
    }

    [Fact]
    public void Area_ratio_is_the_smallest_centred_square_holding_the_threshold_of_the_total()
    {
        // Uniform 9x9 field: squares of side 3, 5, 7 hold 9/81, 25/81, 49/81 of the total; no square short of the
        // whole image (the search stops at side 7) holds 99%, so r(0.99) = 1.
        var uniform = Field((_, _) => 5f);
        uniform.AreaRatio(0.1).Should().BeApproximately(9 / 81.0, 1e-12);
        uniform.AreaRatio(0.2).Should().BeApproximately(25 / 81.0, 1e-12);
        uniform.AreaRatio(0.5).Should().BeApproximately(49 / 81.0, 1e-12);
        uniform.AreaRatio(0.99).Should().Be(1.0);

        // Everything at the centre: the first (3x3) square already holds it all.
        var point = Field((x, y) => x == 4 && y == 4 ? 2f : 0f);
        point.AreaRatio(0.99).Should().BeApproximately(9 / 81.0, 1e-12);

        // Scores are compared as log10(score + 1) / max, as RepLKNet does: the 3x3 centre holds 9·log10(10) = 9 of
        // 9 + 72·log10(2) ≈ 30.67 → 29.3%, so r(0.2) = 9/81 and r(0.3) needs the 5x5 square.
        var peaked = Field((x, y) => Math.Abs(x - 4) <= 1 && Math.Abs(y - 4) <= 1 ? 9f : 1f);
        peaked.AreaRatio(0.2).Should().BeApproximately(9 / 81.0, 1e-12);
        peaked.AreaRatio(0.3).Should().BeApproximately(25 / 81.0, 1e-12);
        FluentActions.Invoking(() => peaked.AreaRatio(1.0)).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*threshold*");
    }

    [Fact]
    public void Log_scale_image_maps_the_strongest_pixel_to_the_top_and_three_decades_down_to_the_bottom()
    {
        var f = new ReceptiveField("stage 1", new float[] { 1f, 0.1f, 0.001f, 0f }, 2, 2, 1);
        var img = f.ToImage();
        (img.Width, img.Height, img.Channels).Should().Be((2, 2, 3));
        var px = img.Pixels;
        (px[0], px[1], px[2]).Should().Be(Colormaps.Viridis(1));
        (px[3], px[4], px[5]).Should().Be(Colormaps.Viridis(2 / 3.0));
        (px[6], px[7], px[8]).Should().Be(Colormaps.Viridis(0));
        (px[9], px[10], px[11]).Should().Be(Colormaps.Viridis(0));
    }

    [Fact]
    public void Measured_fields_cover_every_stage_and_the_head_and_leave_the_weights_alone()
    {
        manual_seed(0);
        using var model = SegformerForSemanticSegmentation.FromName("segformer-b0", 5);
        var inputs = Enumerable.Range(0, 2).Select(_ => randn(1, 3, 64, 64)).ToList();
        try
        {
            var fields = EffectiveReceptiveFields.Measure(model, inputs);
            fields.Select(f => f.Name).Should().Equal("stage 1", "stage 2", "stage 3", "stage 4", "decode head");
            foreach (var f in fields)
            {
                (f.Width, f.Height, f.Images).Should().Be((64, 64, 2));
                f.Scores.Should().OnlyContain(v => float.IsFinite(v) && v >= 0);
                f.AreaRatio(0.2).Should().BeLessThanOrEqualTo(f.AreaRatio(0.99));
            }
            // Efficient self-attention is global from stage 1 on: even the corner pixel reaches the centre of the head.
            fields[^1].Scores[0].Should().BeGreaterThan(0);
            // Stage 1's strongest input pixel lies under its own overlapping 7x7 patch (stride 4) around the centre.
            var s1 = fields[0];
            int arg = Array.IndexOf(s1.Scores, s1.Scores.Max());
            Math.Abs(arg % 64 - 32).Should().BeLessThanOrEqualTo(8);
            Math.Abs(arg / 64 - 32).Should().BeLessThanOrEqualTo(8);
            model.parameters().Should().OnlyContain(p => ReferenceEquals(p.grad, null), "autograd.grad does not accumulate into .grad");
            FluentActions.Invoking(() => EffectiveReceptiveFields.Measure(model, new[] { inputs[0], randn(1, 3, 32, 32) }))
                .Should().Throw<ArgumentException>().WithMessage("*same size*");
        }
        finally
        {
            foreach (var x in inputs) x.Dispose();
        }
    }
}
