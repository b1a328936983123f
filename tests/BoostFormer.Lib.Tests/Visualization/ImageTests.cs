using BoostFormer.Notebooks;
using TorchSharp;
using BoostFormer.Visualization;

namespace BoostFormer.Lib.Tests.Visualization;

public class ImageTests
{
    [Fact]
    public void Channels_first_and_channels_last_tensors_give_the_same_image()
    {
        using var scope = torch.NewDisposeScope();
        var hwc = torch.arange(4 * 5 * 3).remainder(256).to(torch.uint8).reshape(4, 5, 3);
        var chw = hwc.permute(2, 0, 1);
        var a = Image.FromTensor(hwc);
        var b = Image.FromTensor(chw);
        (a.Width, a.Height, a.Channels).Should().Be((5, 4, 3));
        a.Pixels.Should().Equal(b.Pixels);
        a.Pixels.Should().Equal(hwc.contiguous().ToArray<byte>());
        Image.FromTensor(chw.unsqueeze(0)).Pixels.Should().Equal(a.Pixels, "a batch of one is accepted");
    }

    [Fact]
    public void Float_tensors_are_scaled_from_unit_range_or_their_own_range()
    {
        using var scope = torch.NewDisposeScope();
        var unit = torch.tensor(new float[] { 0f, 0.5f, 1f, 0.25f }, 2, 2);
        Image.FromTensor(unit).Pixels.Should().Equal(0, 128, 255, 64);
        var wide = torch.tensor(new float[] { -2f, 0f, 2f, 6f }, 2, 2);
        Image.FromTensor(wide).Pixels.Should().Equal(0, 64, 128, 255);
        Image.FromTensor(wide, min: 0, max: 2).Pixels.Should().Equal(0, 0, 255, 255);
        var viridis = Image.FromTensor(unit, colormap: "viridis");
        viridis.Channels.Should().Be(3);
        viridis.Pixels.Take(3).Should().Equal(68, 1, 84);
    }

    [Fact]
    public void To_tensor_inverts_from_tensor()
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.arange(3 * 2 * 2).to(torch.float32).reshape(3, 2, 2).div(11.0);
        var img = Image.FromTensor(t);
        var back = img.ToTensor();
        back.shape.Should().Equal(3, 2, 2);
        back.sub(t).abs().max().item<float>().Should().BeLessThan(1f / 255 + 1e-6f);
    }

    [Fact]
    public void Wrong_shapes_are_rejected_with_the_shape()
    {
        using var scope = torch.NewDisposeScope();
        var act = () => Image.FromTensor(torch.zeros(2, 5, 7));
        act.Should().Throw<ArgumentException>().WithMessage("*[2, 5, 7]*");
        var act2 = () => Image.FromTensor(torch.zeros(5));
        act2.Should().Throw<ArgumentException>().WithMessage("*[5]*");
    }

    [Fact]
    public void Display_formats_are_PNG_or_captioned_HTML()
    {
        var img = new Image(new byte[] { 1, 2, 3, 4 }, 2, 2, 1);
        img.Formats().Select(f => f.Mime).Should().Equal("image/png", "text/plain");
        Png.Decode(Convert.FromBase64String(img.Formats().First().Data)).Pixels.Should().Equal(1, 2, 3, 4);
        var captioned = img.WithCaption("a <b>");
        var html = captioned.Formats().First();
        html.Mime.Should().Be("text/html");
        html.Data.Should().Contain("<img src=\"data:image/png;base64,").And.Contain("a &lt;b&gt;</figcaption>");
    }

    [Fact]
    public void Save_writes_a_PNG_file()
    {
        var dir = BoostFormer.Lib.Tests.Notebooks.NotebookTestSupport.TempDir("img-save");
        var path = Path.Combine(dir, "x.png");
        new Image(new byte[] { 10, 20, 30 }, 1, 1, 3).Save(path);
        Image.Load(path).Pixels.Should().Equal(10, 20, 30);
        Directory.GetFiles(dir).Should().HaveCount(1, "no temp file is left behind");
    }

    [Fact]
    public void Grid_shows_every_image_with_its_caption()
    {
        var a = new Image(new byte[] { 0, 0, 0 }, 1, 1, 3, "image");
        var b = new Image(new byte[] { 255, 255, 255 }, 1, 1, 3, "label");
        var grid = new ImageGrid(new[] { a, b }, columns: 2, title: "pair", cellWidth: 64);
        var html = grid.ToHtml();
        System.Text.RegularExpressions.Regex.Matches(html, "<img ").Count.Should().Be(2);
        html.Should().Contain(">image</figcaption>").And.Contain(">label</figcaption>").And.Contain("repeat(2, max-content)").And.Contain("width=\"64\"");
        grid.ToString().Should().Be("ImageGrid (2 images, 2 columns) \"pair\": image; label");
    }
}

public class ImageResamplingTests
{
    [Fact]
    public void Downscale_averages_the_covered_pixels()
    {
        var img = new Image(new byte[] { 0, 100, 200, 255, 10, 20, 30, 41 }, 4, 2, 1);
        img.Downscale(2, 1).Pixels.Should().Equal(33, 132); // (0+100+10+20)/4 = 32.5 and (200+255+30+41)/4 = 131.5, rounded half up
    }
}
