using static BoostFormer.Torch.torch;

namespace BoostFormer.Torch.Tests;

public class AutogradTests
{
    [Fact]
    public void BackwardComputesAndAccumulatesGradients()
    {
        using var x = tensor(new double[] { 1, 2, 3 }, requires_grad: true);
        x.requires_grad.Should().BeTrue();
        x.is_leaf.Should().BeTrue();
        x.grad.Should().BeNull();
        using (var y = (x * x).sum()) y.backward();
        using (var g = x.grad!) Check.Values(g, 2, 4, 6);
        using (var y = (x * 3).sum()) y.backward(); // accumulates
        using (var g = x.grad!) Check.Values(g, 5, 7, 9);
        using (var g = x.grad!) g.zero_();
        using (var g = x.grad!) Check.Values(g, 0, 0, 0);
        x.grad = null;
        x.grad.Should().BeNull();
    }

    [Fact]
    public void NonScalarBackwardNeedsAGradient()
    {
        using var x = ones(new long[] { 2 }).requires_grad_();
        using var y = x * 2;
        y.is_leaf.Should().BeFalse();
        var act = () => y.backward();
        act.Should().Throw<TorchException>().WithMessage("*only for scalar outputs*");
        using var go = tensor(new float[] { 1, 10 });
        y.backward(go);
        using var g = x.grad!;
        Check.Values(g, 2, 20);
    }

    [Fact]
    public void DetachAndCloneBehaveAsInPyTorch()
    {
        using var x = tensor(new double[] { 1, 2 }, requires_grad: true);
        using var d = x.detach();
        d.requires_grad.Should().BeFalse();
        using (no_grad()) d.add_(1); // shares storage
        Check.Values(x, 2, 3);

        using var c = x.clone();
        c.requires_grad.Should().BeTrue();
        c.is_leaf.Should().BeFalse();
        using (var l = (c * c).sum()) l.backward();
        using var g = x.grad!;
        Check.Values(g, 4, 6);
        using (no_grad()) c.add_(100); // clone has its own storage
        Check.Values(x, 2, 3);
    }

    [Fact]
    public void NoGradAndEnableGradScopesNest()
    {
        using var x = ones(new long[] { 2 }).requires_grad_();
        is_grad_enabled().Should().BeTrue();
        using (no_grad())
        {
            is_grad_enabled().Should().BeFalse();
            using var y = x * 2;
            y.requires_grad.Should().BeFalse();
            using (enable_grad())
            {
                using var z = x * 2;
                z.requires_grad.Should().BeTrue();
            }
            is_grad_enabled().Should().BeFalse();
        }
        is_grad_enabled().Should().BeTrue();
        using (set_grad_enabled(false)) is_grad_enabled().Should().BeFalse();
        is_grad_enabled().Should().BeTrue();
    }

    [Fact]
    public void InferenceModeRecordsNothingAndItsTensorsCannotEnterAutograd()
    {
        using var w = ones(new long[] { 2 }).requires_grad_();
        Tensor y;
        using (inference_mode())
        {
            is_inference_mode_enabled().Should().BeTrue();
            y = w * 2;
            y.requires_grad.Should().BeFalse();
        }
        is_inference_mode_enabled().Should().BeFalse();
        using (y)
        {
            var act = () => { using var z = (y * w).sum(); z.backward(); };
            act.Should().Throw<TorchException>().WithMessage("*nference*");
        }
    }

    [Fact]
    public void AutogradGradLeavesDotGradUntouched()
    {
        using var x = tensor(new double[] { 1, 2 }, requires_grad: true);
        using var y = (x * x * x).sum();
        var g = autograd.grad(new[] { y }, new[] { x });
        using (g[0]) Check.Values(g[0]!, 3, 12);
        x.grad.Should().BeNull();
    }

    [Fact]
    public void ParameterIsALeafThatRequiresGradAndIgnoresScopes()
    {
        nn.Parameter p;
        using (var scope = NewDisposeScope())
        {
            using var data = ones(3);
            p = new nn.Parameter(data);
            scope.Count.Should().Be(1, "only the data tensor is scoped, not the parameter");
        }
        using (p)
        {
            p.IsInvalid.Should().BeFalse();
            p.requires_grad.Should().BeTrue();
            p.is_leaf.Should().BeTrue();
            using var frozen = new nn.Parameter(p, requires_grad: false);
            frozen.requires_grad.Should().BeFalse();
        }
    }
}
