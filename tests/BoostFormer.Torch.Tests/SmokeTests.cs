using BoostFormer.Torch;
using static BoostFormer.Torch.torch;

namespace BoostFormer.Torch.Tests;

public class SmokeTests
{
    [Fact]
    public void AddAndShape()
    {
        using var a = tensor(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        using var b = ones(3);
        using var c = a + b;
        c.shape.Should().Equal(2, 3);
        c.ToArray<float>().Should().Equal(2, 3, 4, 5, 6, 7);
        using var s = c.sum();
        s.item<float>().Should().Be(27);
    }

    [Fact]
    public void ConvChannelMismatchSurfacesLibtorchMessage()
    {
        using var x = randn(1, 3, 8, 8);
        using var w = randn(4, 5, 3, 3);
        var act = () => nn.functional.conv2d(x, w);
        act.Should().Throw<TorchException>().Which.Message.Should().Contain("[4, 5, 3, 3]").And.Contain("[1, 3, 8, 8]");
    }
}
