using BoostFormer.Torch.Modules;
using static BoostFormer.Torch.torch;

namespace BoostFormer.Torch.Tests;

public class InitTests
{
    [Fact]
    public void InitialisersDrawTheSameNumbersAsPyTorchForTheSameSeed()
    {
        var f = Fixtures.Get("init_seed11");
        manual_seed(11);
        using var t = empty(new long[] { 4, 6 });
        nn.init.trunc_normal_(t, std: 0.02);
        using var u = empty(new long[] { 3, 5 });
        nn.init.kaiming_normal_(u, mode: "fan_out", nonlinearity: "relu");
        using var v = empty(new long[] { 5, 4 });
        nn.init.xavier_uniform_(v);
        using (var e = f.Out("trunc_normal")) Check.Close(t, e, 1e-7, 1e-5);
        using (var e = f.Out("kaiming_normal_fan_out")) Check.Close(u, e, 1e-7, 1e-5);
        using (var e = f.Out("xavier_uniform")) Check.Close(v, e, 1e-7, 1e-5);
    }

    [Fact]
    public void LinearAndConv2dDefaultInitMatchPyTorch()
    {
        var f = Fixtures.Get("module_init_seed12");
        manual_seed(12);
        using var lin = new Linear(4, 3);
        using var conv = new Conv2d(2, 3, 3);
        using (var e = f.Out("linear.weight")) Check.Close(lin.weight, e, 1e-7, 1e-5);
        using (var e = f.Out("linear.bias")) Check.Close(lin.bias!, e, 1e-7, 1e-5);
        using (var e = f.Out("conv.weight")) Check.Close(conv.weight, e, 1e-7, 1e-5);
        using (var e = f.Out("conv.bias")) Check.Close(conv.bias!, e, 1e-7, 1e-5);
    }

    [Fact]
    public void DistributionsAndConstants()
    {
        manual_seed(1);
        using var t = empty(new long[] { 200000 });
        nn.init.trunc_normal_(t, mean: 1, std: 1, a: 0, b: 3);
        using (var mn = t.min()) mn.item<float>().Should().BeGreaterThanOrEqualTo(0);
        using (var mx = t.max()) mx.item<float>().Should().BeLessThanOrEqualTo(3);
        using (var m = t.mean()) m.item<float>().Should().BeApproximately(1.2296f, 0.01f); // mean of N(1,1) truncated to [0, 3]: 1 + (φ(-1) - φ(2)) / (Φ(2) - Φ(-1))
        using var w = empty(new long[] { 256, 512 });
        nn.init.kaiming_normal_(w);
        using (var s = w.std()) s.item<float>().Should().BeApproximately((float)Math.Sqrt(2.0 / 512), 0.002f);
        nn.init.xavier_uniform_(w);
        using (var mx = w.abs().max()) mx.item<float>().Should().BeLessThanOrEqualTo((float)Math.Sqrt(6.0 / (512 + 256)));
        nn.init.zeros_(w);
        using (var s = w.abs().sum()) s.item<float>().Should().Be(0);
        nn.init.ones_(w);
        using (var s = w.sum()) s.item<float>().Should().Be(256 * 512);
        nn.init.normal_(w, 3, 0.5);
        using (var m = w.mean()) m.item<float>().Should().BeApproximately(3, 0.01f);
    }

    [Fact]
    public void InitOnAParameterIsNotRecordedByAutograd()
    {
        using var p = new nn.Parameter(empty(new long[] { 3, 3 }));
        nn.init.kaiming_normal_(p);
        p.is_leaf.Should().BeTrue();
        p.requires_grad.Should().BeTrue();
    }
}
