using BoostFormer.Data;
using BoostFormer.Training;
using BoostFormer.Visualization;

namespace BoostFormer.Lib.Tests.Training;

public class PredictionSampleTests
{
    // 4x1 image, 3 classes. Labels: 0 0 1 255; prediction: 0 1 1 2.
    private static PredictionSample Sample(string source = "a.png") =>
        new(source, new ImageBuffer(1, 4, 3, Enumerable.Repeat((byte)200, 12).ToArray()), new byte[] { 0, 0, 1, 255 }, new[] { 0, 1, 1, 2 }, 4, 1, DatasetInfo.Synthetic(3));

    [Fact]
    public void Per_image_mean_iou_counts_labelled_pixels_of_the_classes_present()
    {
        // class 0: inter 1, union 2 → 0.5; class 1: inter 1, union 2 → 0.5; class 2 only predicted on an ignored
        // pixel, so it is absent from both labelled ground truth and labelled prediction → skipped.
        Sample().MeanIoU.Should().BeApproximately(0.5, 1e-12);
        Sample().PixelAccuracy.Should().BeApproximately(2 / 3.0, 1e-12);
        var none = Sample() with { Labels = new byte[] { 255, 255, 255, 255 } };
        double.IsNaN(none.MeanIoU).Should().BeTrue();
    }

    [Fact]
    public void Error_map_paints_wrong_pixels_red_and_unlabelled_black()
    {
        var e = Sample().Errors();
        (e.Width, e.Height, e.Channels).Should().Be((4, 1, 3));
        var p = e.Pixels;
        (p[3], p[4], p[5]).Should().Be(((byte)230, (byte)30, (byte)30), "pixel 1 is wrong");
        (p[9], p[10], p[11]).Should().Be(((byte)0, (byte)0, (byte)0), "pixel 3 is unlabelled");
        p[0].Should().Be(p[1]).And.Be(p[2]).And.Be((byte)196, "a correct pixel is the image's grey level, faded: 96 + 200/2");
        e.Caption.Should().Contain("33.3 %");
    }

    [Fact]
    public void Comparison_puts_each_models_prediction_over_its_error_map()
    {
        var grid = PredictionSample.Compare(new[] { ("A", Sample()), ("B", Sample() with { Prediction = new[] { 0, 0, 1, 1 } }) });
        grid.Columns.Should().Be(4);
        grid.Images.Should().HaveCount(8);
        grid.Images[3].Caption.Should().Contain("B").And.Contain("100.0 %");
        grid.Images[7].Caption.Should().Be("B errors");
        FluentActions.Invoking(() => PredictionSample.Compare(new[] { ("A", Sample()), ("B", Sample("b.png")) }))
            .Should().Throw<ArgumentException>().WithMessage("*different images*");
    }
}
