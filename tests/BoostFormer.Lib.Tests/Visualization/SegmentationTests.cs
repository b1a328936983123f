using BoostFormer.Data;
using TorchSharp;
using BoostFormer.Visualization;

namespace BoostFormer.Lib.Tests.Visualization;

public class SegmentationTests
{
    [Fact]
    public void Colorize_maps_ids_and_paints_ignored_pixels_black()
    {
        using var scope = torch.NewDisposeScope();
        var labels = torch.tensor(new long[] { 0, 3, 11, 255 }, 2, 2);
        var img = Segmentation.Colorize(labels, DatasetInfo.CamVid);
        img.Pixels.Should().Equal(128, 128, 128, 128, 64, 128, 0, 0, 0, 0, 0, 0);
        var bad = () => Segmentation.Colorize(torch.zeros(2, 2), DatasetInfo.CamVid);
        bad.Should().Throw<ArgumentException>().WithMessage("*integer class ids*");
    }

    [Fact]
    public void Overlay_is_the_exact_alpha_blend()
    {
        using var scope = torch.NewDisposeScope();
        var image = new Image(new byte[] { 0, 0, 0, 200, 200, 200, 100, 50, 0, 9, 9, 9 }, 2, 2, 3);
        var labels = torch.tensor(new long[] { 1, 255, 0, 18 }, 2, 2);
        var o = Segmentation.Overlay(image, labels, DatasetInfo.Cityscapes, alpha: 0.25);
        byte B(double img, double pal) => (byte)Math.Round(0.75 * img + 0.25 * pal);
        o.Pixels.Should().Equal(
            B(0, 244), B(0, 35), B(0, 232), 200, 200, 200,
            B(100, 128), B(50, 64), B(0, 128), B(9, 119), B(9, 11), B(9, 32));
        var upsampled = Segmentation.Overlay(new Image(new byte[4 * 4 * 3], 4, 4, 3), torch.tensor(new long[] { 0, 1, 2, 3 }, 2, 2), DatasetInfo.CamVid, alpha: 1);
        upsampled.Pixels.Take(3).Should().Equal(128, 128, 128);
        upsampled.Pixels.Skip(3 * 15).Should().Equal(128, 64, 128);
    }

    [Fact]
    public void Legend_lists_the_present_classes()
    {
        using var scope = torch.NewDisposeScope();
        var legend = Segmentation.Legend(DatasetInfo.CamVid, torch.tensor(new long[] { 8, 3, 3, 11 }, 2, 2));
        legend.Ids.Should().Equal(3, 8);
        legend.ToString().Should().Be("camvid: 3 Road #804080, 8 Car #400080");
        legend.ToHtml().Should().Contain("background:#804080").And.Contain("Car");
    }
}
