using static BoostFormer.Torch.torch;

namespace BoostFormer.Torch.Tests;

public class ShapeOpsTests
{
    [Fact]
    public void ViewReshapeFlattenShareOrCopyAsPyTorch()
    {
        using var x = arange(12);
        using var v = x.view(3, 4);
        v.shape.Should().Equal(3, 4);
        using var r = x.reshape(2, -1);
        r.shape.Should().Equal(2, 6);
        using var f = v.flatten();
        f.shape.Should().Equal(12);
        using var x4 = arange(24).view(2, 3, 2, 2);
        using (var f2 = x4.flatten(1)) f2.shape.Should().Equal(2, 12);
        using (var f3 = x4.flatten(1, 2)) f3.shape.Should().Equal(2, 6, 2);
        using var t = v.t();
        t.is_contiguous().Should().BeFalse();
        var bad = () => t.view(12);
        bad.Should().Throw<TorchException>().WithMessage("*view*");
        using var c = t.contiguous();
        c.is_contiguous().Should().BeTrue();
        using var cv = c.view(12);
        cv.ToArray<long>().Take(4).Should().Equal(0, 4, 8, 1);
    }

    [Fact]
    public void PermuteTransposeUnsqueezeSqueeze()
    {
        using var x = arange(24).view(2, 3, 4);
        using (var p = x.permute(2, 0, 1)) { p.shape.Should().Equal(4, 2, 3); p[1, 0].ToArray<long>().Should().Equal(1, 5, 9); }
        using (var t = x.transpose(0, 2)) { t.shape.Should().Equal(4, 3, 2); t.stride().Should().Equal(1, 4, 12); }
        using var u = x.unsqueeze(1);
        u.shape.Should().Equal(2, 1, 3, 4);
        using (var u2 = x.unsqueeze(-1)) u2.shape.Should().Equal(2, 3, 4, 1);
        using (var s = u.squeeze(1)) s.shape.Should().Equal(2, 3, 4);
        using var ones1 = ones(1, 3, 1);
        using (var s = ones1.squeeze()) s.shape.Should().Equal(3);
    }

    [Fact]
    public void CatStackChunkSplit()
    {
        using var a = arange(6).view(2, 3);
        using var b = arange(6, 12).view(2, 3);
        using (var c = cat(new[] { a, b }, 0)) { c.shape.Should().Equal(4, 3); c[2].ToArray<long>().Should().Equal(6, 7, 8); }
        using (var c = cat(new[] { a, b }, 1)) { c.shape.Should().Equal(2, 6); c[0].ToArray<long>().Should().Equal(0, 1, 2, 6, 7, 8); }
        using (var s = stack(new[] { a, b }, 1)) { s.shape.Should().Equal(2, 2, 3); s[0, 1].ToArray<long>().Should().Equal(6, 7, 8); }
        using var x = arange(10);
        var ch = x.chunk(3);
        ch.Select(t => t.numel()).Should().Equal(4, 4, 2);
        var sp = x.split(4);
        sp.Select(t => t.numel()).Should().Equal(4, 4, 2);
        var sw = x.split(new long[] { 1, 2, 7 });
        sw.Select(t => t.numel()).Should().Equal(1, 2, 7);
        sw[1].ToArray<long>().Should().Equal(1, 2);
        var ub = a.unbind(1);
        ub.Should().HaveCount(3);
        ub[2].ToArray<long>().Should().Equal(2, 5);
        foreach (var t in ch.Concat(sp).Concat(sw).Concat(ub)) t.Dispose();
    }

    [Fact]
    public void ExpandRepeatFlip()
    {
        using var x = tensor(new float[] { 1, 2 }, 2, 1);
        using (var e = x.expand(2, 3)) Check.Values(e, 1, 1, 1, 2, 2, 2);
        using (var r = x.repeat(2, 2)) r.shape.Should().Equal(4, 2);
        using (var f = x.flip(0)) Check.Values(f, 2, 1);
    }
}
