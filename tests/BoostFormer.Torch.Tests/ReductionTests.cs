using static BoostFormer.Torch.torch;

namespace BoostFormer.Torch.Tests;

public class ReductionTests
{
    [Fact]
    public void HandComputedReductions()
    {
        using var x = tensor(new double[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        using (var s = x.sum()) s.item<double>().Should().Be(21);
        using (var s = x.sum(0)) Check.Values(s, 5, 7, 9);
        using (var s = x.sum(1, keepdim: true)) { s.shape.Should().Equal(2, 1); Check.Values(s, 6, 15); }
        using (var s = x.mean(1)) Check.Values(s, 2, 5);
        using (var s = x.mean(new long[] { 0, 1 })) s.item<double>().Should().Be(3.5);
        using (var s = x.var(1)) Check.Values(s, 1, 1);
        using (var s = x.var(1, unbiased: false)) Check.Values(s, 2.0 / 3, 2.0 / 3);
        using (var s = x.max()) s.item<double>().Should().Be(6);
        using (var s = x.min()) s.item<double>().Should().Be(1);
        var (mv, mi) = x.max(0);
        using (mv) using (mi) { Check.Values(mv, 4, 5, 6); mi.ToArray<long>().Should().Equal(1, 1, 1); }
        var (nv, ni) = x.min(1, keepdim: true);
        using (nv) using (ni) { nv.shape.Should().Equal(2, 1); ni.ToArray<long>().Should().Equal(0, 0); }
        using (var a = x.argmax()) a.item<long>().Should().Be(5);
        using (var a = x.argmax(1)) a.ToArray<long>().Should().Equal(2, 2);
        using (var a = x.argmin(0)) a.ToArray<long>().Should().Equal(0, 0, 0);
    }

    [Fact]
    public void ReductionsMatchPyTorch()
    {
        var f = Fixtures.Get("reductions");
        using var x = f.In("x");
        using (var r = x.var(1)) using (var e = f.Out("var_dim1")) Check.Close(r, e);
        using (var r = x.var(new long[] { 0, 2 }, unbiased: false)) using (var e = f.Out("var_dims02_biased")) Check.Close(r, e);
        using (var r = x.mean(new long[] { 0, 2 })) using (var e = f.Out("mean_dims02")) Check.Close(r, e);
        using (var r = x.sum(2, keepdim: true)) using (var e = f.Out("sum_dim2_keep")) Check.Close(r, e);
        var (mv, mi) = x.max(1);
        using (mv) using (mi) using (var e = f.Out("max_dim1")) using (var ei = f.Out("argmax_dim1"))
        {
            Check.Close(mv, e);
            mi.ToArray<long>().Should().Equal(ei.ToArray<long>());
        }
        var (nv, ni) = x.min(2);
        using (nv) using (ni) using (var e = f.Out("min_dim2")) Check.Close(nv, e);
        using (var r = x.argmax()) using (var e = f.Out("argmax_flat")) r.item<long>().Should().Be(e.item<long>());
        using (var r = x.std(0)) using (var e = f.Out("std_dim0")) Check.Close(r, e);
    }

    [Fact]
    public void SoftmaxAndLogSoftmaxMatchPyTorch()
    {
        var f = Fixtures.Get("softmax");
        using var x = f.In("x");
        using (var r = x.softmax(1)) using (var e = f.Out("softmax1")) Check.Close(r, e);
        using (var r = softmax(x, 0)) using (var e = f.Out("softmax0")) Check.Close(r, e);
        using (var r = x.log_softmax(1)) using (var e = f.Out("log_softmax1")) Check.Close(r, e);
        using (var s = x.softmax(-1)) using (var rows = s.sum(1)) Check.Close(rows, ones(3), 1e-6, 0);
    }
}
