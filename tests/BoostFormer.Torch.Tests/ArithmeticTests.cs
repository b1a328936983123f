using static BoostFormer.Torch.torch;

namespace BoostFormer.Torch.Tests;

public class ArithmeticTests
{
    [Fact]
    public void OperatorsBroadcast()
    {
        using var a = tensor(new float[] { 1, 2, 3 }, 3, 1);
        using var b = tensor(new float[] { 10, 20 }, 1, 2);
        using (var s = a + b) { s.shape.Should().Equal(3, 2); Check.Values(s, 11, 21, 12, 22, 13, 23); }
        using (var s = b - a) Check.Values(s, 9, 19, 8, 18, 7, 17);
        using (var s = a * b) Check.Values(s, 10, 20, 20, 40, 30, 60);
        using (var s = b / a) Check.Values(s, 10, 20, 5, 10, 10.0 / 3, 20.0 / 3);
        using (var s = a + 1) Check.Values(s, 2, 3, 4);
        using (var s = 1 - a) Check.Values(s, 0, -1, -2);
        using (var s = 2 * a) Check.Values(s, 2, 4, 6);
        using (var s = 6 / a) Check.Values(s, 6, 3, 2);
        using (var s = a / 2) Check.Values(s, 0.5, 1, 1.5);
        using (var s = -a) Check.Values(s, -1, -2, -3);
        using (var s = a.add(a, alpha: 3)) Check.Values(s, 4, 8, 12);
    }

    [Fact]
    public void IntegerAndFloatPromotionFollowsPyTorch()
    {
        using var i = tensor(new long[] { 1, 2 });
        using var f = tensor(new float[] { 0.5f, 0.5f });
        using (var s = i + f) s.dtype.Should().Be(ScalarType.Float32);
        using (var s = i * 2) s.dtype.Should().Be(ScalarType.Int64);
        using (var s = i * 2.5) { s.dtype.Should().Be(ScalarType.Float32); Check.Values(s, 2.5, 5); }
        using (var s = i / 2) { s.dtype.Should().Be(ScalarType.Float32); Check.Values(s, 0.5, 1); } // true division
    }

    [Fact]
    public void MatmulAndBmm()
    {
        using var a = tensor(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        using var b = tensor(new float[] { 1, 0, 0, 1, 1, 1 }, 3, 2);
        using (var c = a.matmul(b)) Check.Values(c, 4, 5, 10, 11);
        using (var c = a.mm(b)) Check.Values(c, 4, 5, 10, 11);
        var fx = Fixtures.Get("matmul_broadcast");
        using (var x = fx.In("a")) using (var y = fx.In("b")) using (var e = fx.Out("y")) using (var r = matmul(x, y)) Check.Close(r, e);
        var fb = Fixtures.Get("bmm");
        using (var x = fb.In("a")) using (var y = fb.In("b")) using (var e = fb.Out("y")) using (var r = bmm(x, y)) Check.Close(r, e);
    }

    [Fact]
    public void ElementwiseMath()
    {
        using var x = tensor(new double[] { 1, 4, 9 });
        using (var s = x.sqrt()) Check.Values(s, 1, 2, 3);
        using (var s = x.log()) Check.Values(s, 0, Math.Log(4), Math.Log(9));
        using (var s = exp(x)) Check.Values(s, Math.E, Math.Exp(4), Math.Exp(9));
        using (var s = x.pow(0.5)) Check.Values(s, 1, 2, 3);
        using (var s = pow(x, 2)) Check.Values(s, 1, 16, 81);
        using var n = tensor(new double[] { -1.5, 0, 2 });
        using (var s = n.abs()) Check.Values(s, 1.5, 0, 2);
        using (var s = n.clamp(-1, 1)) Check.Values(s, -1, 0, 1);
        using (var s = n.clamp(min: 0)) Check.Values(s, 0, 0, 2);
        using (var s = n.clamp(max: 0)) Check.Values(s, -1.5, 0, 0);
        using (var s = n.sigmoid()) Check.Values(s, 1 / (1 + Math.Exp(1.5)), 0.5, 1 / (1 + Math.Exp(-2)));
        using (var s = n.tanh()) Check.Values(s, Math.Tanh(-1.5), 0, Math.Tanh(2));
    }

    [Fact]
    public void ComparisonsAndWhere()
    {
        using var a = tensor(new float[] { 1, 2, 3 });
        using var b = tensor(new float[] { 3, 2, 1 });
        using (var c = a < b) c.ToArray<bool>().Should().Equal(true, false, false);
        using (var c = a <= b) c.ToArray<bool>().Should().Equal(true, true, false);
        using (var c = a > b) c.ToArray<bool>().Should().Equal(false, false, true);
        using (var c = a >= 2) c.ToArray<bool>().Should().Equal(false, true, true);
        using (var c = a.eq(b)) c.ToArray<bool>().Should().Equal(false, true, false);
        using (var c = a.ne(2)) c.ToArray<bool>().Should().Equal(true, false, true);
        using var m = a > b;
        using (var w = where(m, a, b)) Check.Values(w, 3, 2, 3);
        using (var w = where(m, a, 0.0)) Check.Values(w, 0, 0, 3);
        using (var w = where(m, -1.0, b)) Check.Values(w, 3, 2, -1);
        using var notm = !m;
        using (var c = m | notm) c.all().item<bool>().Should().BeTrue();
        using (var c = m & notm) c.any().item<bool>().Should().BeFalse();
        a.allclose(a).Should().BeTrue();
        a.equal(b).Should().BeFalse();
    }

    [Fact]
    public void InPlaceOpsModifyTheSameStorageAndReturnThis()
    {
        using var p = tensor(new double[] { 1, 2, 3 });
        using var g = tensor(new double[] { 10, 20, 30 });
        p.sub_(g, 0.1).Should().BeSameAs(p);
        Check.Values(p, 0, 0, 0);
        p.add_(g).add_(1).mul_(2).div_(2);
        Check.Values(p, 11, 21, 31);
        p.addcmul_(g, g, 0.01);
        Check.Values(p, 12, 25, 40);
        p.addcdiv_(g, g, 2);
        Check.Values(p, 14, 27, 42);
        p.mul_(g).div_(g);
        Check.Values(p, 14, 27, 42);
        p.clamp_(max: 30).sqrt_();
        Check.Values(p, Math.Sqrt(14), Math.Sqrt(27), Math.Sqrt(30));
        p.lerp_(g, 1.0);
        Check.Values(p, 10, 20, 30);
        p.zero_().add_(4).pow_(2).neg_().abs_();
        Check.Values(p, 16, 16, 16);
        p.copy_(g).fill_(1.5);
        Check.Values(p, 1.5, 1.5, 1.5);
    }
}
