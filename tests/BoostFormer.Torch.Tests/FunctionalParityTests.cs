using static BoostFormer.Torch.torch;
using F = BoostFormer.Torch.torch.nn.functional;

namespace BoostFormer.Torch.Tests;

/// <summary>torch.nn.functional ops against fixtures/expected.json (PyTorch 1.13.1 outputs for the same inputs).</summary>
public class FunctionalParityTests
{
    [Fact]
    public void Conv2dStridePaddingDilationGroups()
    {
        var f = Fixtures.Get("conv2d_s2_p1_d2_g2");
        using var x = f.In("x"); using var w = f.In("w"); using var b = f.In("b"); using var e = f.Out("y");
        using var y = F.conv2d(x, w, b, stride: 2, padding: 1, dilation: 2, groups: 2);
        Check.Close(y, e);
        var g = Fixtures.Get("conv2d_nobias");
        using var x2 = g.In("x"); using var w2 = g.In("w"); using var e2 = g.Out("y");
        using var y2 = F.conv2d(x2, w2);
        Check.Close(y2, e2);
        var d = Fixtures.Get("conv2d_depthwise");
        using var x3 = d.In("x"); using var w3 = d.In("w"); using var e3 = d.Out("y");
        using var y3 = F.conv2d(x3, w3, null, new long[] { 1, 1 }, new long[] { 1, 1 }, groups: 4);
        Check.Close(y3, e3);
    }

    [Fact]
    public void LinearIsXWtPlusB()
    {
        using var x = tensor(new float[] { 1, 2, 3, 4 }, 2, 2);
        using var w = tensor(new float[] { 1, 0, 1, 1, 0, 2 }, 3, 2);
        using var b = tensor(new float[] { 0.5f, 0, -1 });
        using var y = F.linear(x, w, b);
        Check.Values(y, 1.5, 3, 3, 3.5, 7, 7);
        using var y0 = F.linear(x, w);
        Check.Values(y0, 1, 3, 4, 3, 7, 8);
    }

    [Theory]
    [InlineData("avg_pool2d_ceil_exclude_pad", true, false)]
    [InlineData("avg_pool2d_ceil_include_pad", true, true)]
    public void AvgPool2dCeilModeAndCountIncludePad(string name, bool ceil, bool include)
    {
        var f = Fixtures.Get(name);
        using var x = f.In("x"); using var e = f.Out("y");
        using var y = F.avg_pool2d(x, 3, 2, 1, ceil_mode: ceil, count_include_pad: include);
        Check.Close(y, e);
        using var m = new Modules.AvgPool2d(3, 2, 1, ceil, include);
        using var ym = m.call(x);
        Check.Close(ym, e);
    }

    [Fact]
    public void PoolingVariants()
    {
        var f = Fixtures.Get("avg_pool2d_k2");
        using (var x = f.In("x")) using (var e = f.Out("y")) using (var y = F.avg_pool2d(x, 2)) Check.Close(y, e);
        var m = Fixtures.Get("max_pool2d_ceil");
        using (var x = m.In("x")) using (var e = m.Out("y")) using (var y = F.max_pool2d(x, new long[] { 3, 3 }, new long[] { 2, 2 }, new long[] { 1, 1 }, ceil_mode: true)) Check.Close(y, e);
        using (var x = m.In("x")) using (var e = m.Out("y")) using (var mp = nn.MaxPool2d(3, 2, 1, ceilMode: true)) using (var y = mp.call(x)) Check.Close(y, e);
        var a = Fixtures.Get("adaptive_avg_pool2d_3x2");
        using (var x = a.In("x")) using (var e = a.Out("y")) using (var y = F.adaptive_avg_pool2d(x, new long[] { 3, 2 })) Check.Close(y, e);
        using (var x = a.In("x")) using (var e = a.Out("y")) using (var ap = nn.AdaptiveAvgPool2d(new long[] { 3, 2 })) using (var y = ap.call(x)) Check.Close(y, e);
    }

    [Fact]
    public void InterpolateBilinearNearestAlignCorners()
    {
        var f = Fixtures.Get("interp_bilinear");
        using var x = f.In("x");
        var size = new long[] { 7, 9 };
        using (var e = f.Out("y")) using (var y = F.interpolate(x, size, mode: InterpolationMode.Bilinear, align_corners: false)) Check.Close(y, e);
        using (var e = Fixtures.Get("interp_bilinear_align").Out("y")) using (var y = F.interpolate(x, size, mode: InterpolationMode.Bilinear, align_corners: true)) Check.Close(y, e);
        using (var e = Fixtures.Get("interp_nearest").Out("y")) using (var y = F.interpolate(x, size, mode: InterpolationMode.Nearest)) Check.Close(y, e);
        using (var e = Fixtures.Get("interp_bilinear_scale2").Out("y")) using (var y = F.interpolate(x, scale_factor: new[] { 2.0, 2.0 }, mode: InterpolationMode.Bilinear, align_corners: false)) Check.Close(y, e);
        var both = () => F.interpolate(x, size, new[] { 2.0, 2.0 });
        both.Should().Throw<ArgumentException>().WithMessage("*exactly one of size and scale_factor*");
    }

    [Fact]
    public void LayerNormMatchesPyTorch()
    {
        var f = Fixtures.Get("layer_norm");
        using var x = f.In("x"); using var w = f.In("w"); using var b = f.In("b"); using var e = f.Out("y");
        using var y = F.layer_norm(x, new long[] { 6 }, w, b, 1e-5);
        Check.Close(y, e);
    }

    [Fact]
    public void BatchNormTrainUpdatesRunningStatsAndEvalUsesThem()
    {
        var f = Fixtures.Get("batch_norm_train");
        using var x = f.In("x"); using var w = f.In("w"); using var b = f.In("b");
        using var rm = zeros(3);
        using var rv = ones(3);
        using var y = F.batch_norm(x, rm, rv, w, b, training: true, momentum: 0.1, eps: 1e-5);
        using (var e = f.Out("y")) Check.Close(y, e);
        using (var e = f.Out("running_mean")) Check.Close(rm, e);
        using (var e = f.Out("running_var")) Check.Close(rv, e);

        var g = Fixtures.Get("batch_norm_eval");
        using var rm2 = g.In("running_mean"); using var rv2 = g.In("running_var");
        using var before = rm2.clone();
        using var y2 = F.batch_norm(x, rm2, rv2, w, b, training: false);
        using (var e = g.Out("y")) Check.Close(y2, e);
        rm2.equal(before).Should().BeTrue("eval mode must not touch running stats");
    }

    [Fact]
    public void ActivationsMatchPyTorch()
    {
        var f = Fixtures.Get("gelu");
        using var x = f.In("x");
        using (var y = F.gelu(x)) using (var e = f.Out("y")) Check.Close(y, e);
        using (var y = F.gelu(x, "tanh")) using (var e = f.Out("y_tanh")) Check.Close(y, e);
        using (var y = F.relu(x)) using (var e = f.Out("relu")) Check.Close(y, e);
    }

    [Fact]
    public void DropoutZeroesAndRescalesInTrainingOnly()
    {
        manual_seed(3);
        using var x = ones(100000);
        using var y = F.dropout(x, 0.3, training: true);
        var v = y.ToArray<float>();
        v.Should().OnlyContain(a => a == 0 || Math.Abs(a - 1 / 0.7f) < 1e-6);
        var zeroFrac = v.Count(a => a == 0) / (double)v.Length;
        zeroFrac.Should().BeApproximately(0.3, 0.01);
        using var ye = F.dropout(x, 0.3, training: false);
        ye.equal(x).Should().BeTrue();
    }

    [Fact]
    public void CrossEntropyIgnoreIndexWeightsLabelSmoothingReductions()
    {
        var f = Fixtures.Get("cross_entropy");
        using var logits = f.In("logits"); using var target = f.In("target"); using var weight = f.In("weight");
        using (var t0 = target.clamp(min: 0)) using (var l = F.cross_entropy(logits, t0)) using (var e = f.Out("plain_mean")) Check.Close(l, e);
        using (var l = F.cross_entropy(logits, target, ignore_index: -1)) using (var e = f.Out("ignore_mean")) Check.Close(l, e);
        using (var l = F.cross_entropy(logits, target, weight, ignore_index: -1)) using (var e = f.Out("weight_ignore_mean")) Check.Close(l, e);
        using (var l = F.cross_entropy(logits, target, weight, -1, Reduction.Mean, 0.1)) using (var e = f.Out("weight_ignore_ls_mean")) Check.Close(l, e);
        using (var l = F.cross_entropy(logits, target, weight, -1, Reduction.Sum, 0.1)) using (var e = f.Out("weight_ignore_ls_sum")) Check.Close(l, e, 1e-4);
        using (var l = F.cross_entropy(logits, target, ignore_index: -1, reduction: Reduction.None)) using (var e = f.Out("ignore_none")) Check.Close(l, e);
    }

    [Fact]
    public void CrossEntropyHandComputed()
    {
        // logits [1, 2] for one sample of class 1: loss = log(1 + e^-1)
        using var logits = tensor(new double[] { 1, 2 }, 1, 2);
        using var t = tensor(new long[] { 1 });
        using var l = F.cross_entropy(logits, t);
        l.item<double>().Should().BeApproximately(Math.Log(1 + Math.Exp(-1)), 1e-12);
    }

    [Fact]
    public void MseAndKlDiv()
    {
        var m = Fixtures.Get("mse_loss");
        using var a = m.In("a"); using var t = m.In("t");
        using (var l = F.mse_loss(a, t)) using (var e = m.Out("mean")) Check.Close(l, e);
        using (var l = F.mse_loss(a, t, Reduction.Sum)) using (var e = m.Out("sum")) Check.Close(l, e);
        using (var l = F.mse_loss(a, t, Reduction.None)) using (var e = m.Out("none")) Check.Close(l, e);

        var k = Fixtures.Get("kl_div");
        using var lp = k.In("logp"); using var p = k.In("p");
        using (var l = F.kl_div(lp, p, "batchmean")) using (var e = k.Out("batchmean")) Check.Close(l, e);
        using (var l = F.kl_div(lp, p, Reduction.Sum)) using (var e = k.Out("sum")) Check.Close(l, e);
        using (var l = F.kl_div(lp, p, "none")) using (var e = k.Out("none")) Check.Close(l, e);
        using (var lpt = p.log()) using (var l = F.kl_div(lp, lpt, "batchmean", log_target: true)) using (var e = k.Out("log_target_batchmean")) Check.Close(l, e);
        var bad = () => F.kl_div(lp, p, "avg");
        bad.Should().Throw<ArgumentException>().WithMessage("*batchmean*");
    }

    [Fact]
    public void PadConstantReflectReplicate()
    {
        var f = Fixtures.Get("pad");
        using var x = f.In("x");
        using (var y = F.pad(x, new long[] { 1, 2, 0, 1 }, value: 0.5)) using (var e = f.Out("constant")) Check.Close(y, e);
        using (var y = F.pad(x, new long[] { 2, 1, 1, 2 }, "reflect")) using (var e = f.Out("reflect")) Check.Close(y, e);
        using (var y = F.pad(x, new long[] { 1, 1, 2, 0 }, "replicate")) using (var e = f.Out("replicate")) Check.Close(y, e);
    }
}
