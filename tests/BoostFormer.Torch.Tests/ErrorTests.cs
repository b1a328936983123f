using static BoostFormer.Torch.torch;
using F = BoostFormer.Torch.torch.nn.functional;

namespace BoostFormer.Torch.Tests;

public class ErrorTests
{
    [Fact]
    public void Conv2dChannelMismatchCarriesLibtorchMessageNamingBothShapes()
    {
        using var x = randn(1, 3, 8, 8);
        using var w = randn(4, 5, 3, 3);
        var act = () => F.conv2d(x, w);
        var ex = act.Should().Throw<TorchException>().Which;
        ex.Message.Should().Contain("weight of size [4, 5, 3, 3]").And.Contain("input[1, 3, 8, 8]").And.Contain("5 channels");
        ex.Message.Should().NotContain("Exception raised from", "the C++ backtrace is stripped");
    }

    [Fact]
    public void ErrorsDoNotLeakIntoLaterCalls()
    {
        using var a = ones(2, 3);
        using var b = ones(4, 5);
        var act = () => a.matmul(b);
        act.Should().Throw<TorchException>().WithMessage("*cannot be multiplied*");
        using var ok = a.matmul(a.t());
        ok.shape.Should().Equal(2, 2);
    }

    [Fact]
    public void DisposedTensorThrowsObjectDisposed()
    {
        var t = ones(2);
        t.Dispose();
        t.Dispose(); // twice is fine
        t.IsInvalid.Should().BeTrue();
        var act = () => t.sum();
        act.Should().Throw<ObjectDisposedException>();
    }

    [Fact]
    public void UnknownOperatorAndBadArgumentCount()
    {
        var act = () => Op.Get("aten::no_such_op");
        act.Should().Throw<TorchException>().WithMessage("*operator not found: aten::no_such_op*");
    }
}
