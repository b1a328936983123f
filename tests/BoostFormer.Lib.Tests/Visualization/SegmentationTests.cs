using BoostFormer.Torch;
using BoostFormer.Visualization;

namespace BoostFormer.Lib.Tests.Visualization;

public class SegmentationTests
{
    [Fact]
    public void StandardPalettesHaveTheBenchmarkClassCountsAndColours()
    {
        Palettes.Ade20k.Count.Should().Be(150);
        Palettes.Cityscapes.Count.Should().Be(19);
        Palettes.CamVid.Count.Should().Be(11);
        (Palettes.Ade20k[0], Palettes.Ade20k.Classes[0]).Should().Be((((byte)120, (byte)120, (byte)120), "wall"));
        (Palettes.Ade20k[149], Palettes.Ade20k.Classes[149]).Should().Be((((byte)92, (byte)0, (byte)255), "flag"));
        (Palettes.Cityscapes[0], Palettes.Cityscapes.Classes[0]).Should().Be((((byte)128, (byte)64, (byte)128), "road"));
        (Palettes.Cityscapes[18], Palettes.Cityscapes.Classes[18]).Should().Be((((byte)119, (byte)11, (byte)32), "bicycle"));
        (Palettes.CamVid[3], Palettes.CamVid.Classes[3]).Should().Be((((byte)128, (byte)64, (byte)128), "Road"));
        Palettes.Ade20k.Colors.Distinct().Count().Should().BeGreaterThan(140);
        Palettes.For("Cityscapes").Should().BeSameAs(Palettes.Cityscapes);
        var act = () => Palettes.For("voc");
        act.Should().Throw<ArgumentException>().WithMessage("*no standard palette for dataset 'voc'*");
        Palette.Generated(21)[1].Should().Be(((byte)128, (byte)0, (byte)0), "it is VOC's class 1 colour");
    }

    [Fact]
    public void ColorizeMapsIdsAndPaintsIgnoredPixelsBlack()
    {
        using var scope = torch.NewDisposeScope();
        var labels = torch.tensor(new long[] { 0, 3, 11, 255 }, 2, 2);
        var img = Segmentation.Colorize(labels, Palettes.CamVid);
        img.Pixels.Should().Equal(128, 128, 128, 128, 64, 128, 0, 0, 0, 0, 0, 0);
        var bad = () => Segmentation.Colorize(torch.zeros(2, 2), Palettes.CamVid);
        bad.Should().Throw<ArgumentException>().WithMessage("*integer class ids*");
    }

    [Fact]
    public void OverlayIsTheExactAlphaBlend()
    {
        using var scope = torch.NewDisposeScope();
        var image = new Image(new byte[] { 0, 0, 0, 200, 200, 200, 100, 50, 0, 9, 9, 9 }, 2, 2, 3);
        var labels = torch.tensor(new long[] { 1, 255, 0, 18 }, 2, 2);
        var o = Segmentation.Overlay(image, labels, Palettes.Cityscapes, alpha: 0.25);
        byte B(double img, double pal) => (byte)Math.Round(0.75 * img + 0.25 * pal);
        o.Pixels.Should().Equal(
            B(0, 244), B(0, 35), B(0, 232), 200, 200, 200,
            B(100, 128), B(50, 64), B(0, 128), B(9, 119), B(9, 11), B(9, 32));
        var upsampled = Segmentation.Overlay(new Image(new byte[4 * 4 * 3], 4, 4, 3), torch.tensor(new long[] { 0, 1, 2, 3 }, 2, 2), Palettes.CamVid, alpha: 1);
        upsampled.Pixels.Take(3).Should().Equal(128, 128, 128);
        upsampled.Pixels.Skip(3 * 15).Should().Equal(128, 64, 128);
    }

    [Fact]
    public void LegendListsThePresentClasses()
    {
        using var scope = torch.NewDisposeScope();
        var legend = Segmentation.Legend(Palettes.CamVid, torch.tensor(new long[] { 8, 3, 3, 11 }, 2, 2));
        legend.Ids.Should().Equal(3, 8);
        legend.ToString().Should().Be("CamVid: 3 Road #804080, 8 Car #400080");
        legend.ToHtml().Should().Contain("background:#804080").And.Contain("Car");
    }
}
