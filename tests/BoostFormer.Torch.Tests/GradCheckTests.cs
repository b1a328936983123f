using static BoostFormer.Torch.torch;
using F = BoostFormer.Torch.torch.nn.functional;

namespace BoostFormer.Torch.Tests;

/// <summary>Analytic gradients (libtorch autograd through our binding) against central finite differences in float64.</summary>
public class GradCheckTests
{
    private const double Eps = 1e-6;

    /// <summary>
    /// Checks d/d(input) of L = sum(f(inputs) · R) for a fixed random R, for every element of every input that requires grad.
    /// </summary>
    private static void GradCheck(Func<Tensor[], Tensor> f, params Tensor[] inputs)
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        Tensor r;
        using (no_grad()) { using var probe = f(inputs); r = randn(probe.shape, ScalarType.Float64); }
        double Loss()
        {
            using var s = NewDisposeScope();
            using (no_grad()) return (f(inputs) * r).sum().item<double>();
        }
        foreach (var x in inputs) x.grad = null;
        using (var l = (f(inputs) * r).sum()) l.backward();
        for (int k = 0; k < inputs.Length; k++)
        {
            var x = inputs[k];
            if (!x.requires_grad) continue;
            using var g = x.grad ?? throw new Xunit.Sdk.XunitException($"input {k} got no gradient");
            var analytic = g.ToArray<double>();
            for (int i = 0; i < analytic.Length; i++)
            {
                var orig = x.data<double>()[i];
                x.data<double>()[i] = orig + Eps;
                var lp = Loss();
                x.data<double>()[i] = orig - Eps;
                var lm = Loss();
                x.data<double>()[i] = orig;
                var numeric = (lp - lm) / (2 * Eps);
                var tol = 1e-6 + 1e-5 * Math.Abs(numeric);
                if (Math.Abs(numeric - analytic[i]) > tol)
                    throw new Xunit.Sdk.XunitException($"input {k} element {i}: analytic {analytic[i]} vs numeric {numeric}");
            }
        }
    }

    private static Tensor P(params long[] shape)
    {
        var t = randn(shape, ScalarType.Float64);
        t.requires_grad = true;
        return t;
    }

    [Theory]
    [InlineData(1, 0, 1, 1)]
    [InlineData(2, 1, 1, 2)]
    [InlineData(1, 2, 2, 1)]
    public void Conv2d(long stride, long padding, long dilation, long groups)
    {
        manual_seed(1);
        using var x = P(2, 4, 6, 6);
        using var w = P(6, 4 / groups, 3, 3);
        using var b = P(6);
        GradCheck(t => F.conv2d(t[0], t[1], t[2], stride, padding, dilation, groups), x, w, b);
    }

    [Fact]
    public void Linear()
    {
        manual_seed(2);
        using var x = P(3, 5); using var w = P(4, 5); using var b = P(4);
        GradCheck(t => F.linear(t[0], t[1], t[2]), x, w, b);
    }

    [Fact]
    public void LayerNorm()
    {
        manual_seed(3);
        using var x = P(2, 3, 5); using var w = P(5); using var b = P(5);
        GradCheck(t => F.layer_norm(t[0], new long[] { 5 }, t[1], t[2]), x, w, b);
        GradCheck(t => F.layer_norm(t[0], new long[] { 3, 5 }), x);
    }

    [Fact]
    public void BatchNormTrainMode()
    {
        manual_seed(4);
        using var x = P(3, 2, 3, 3); using var w = P(2); using var b = P(2);
        using var rm = zeros(new long[] { 2 }, ScalarType.Float64);
        using var rv = ones(new long[] { 2 }, ScalarType.Float64);
        GradCheck(t => F.batch_norm(t[0], rm, rv, t[1], t[2], training: true), x, w, b);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void InterpolateBilinear(bool alignCorners)
    {
        manual_seed(5);
        using var x = P(1, 2, 3, 4);
        GradCheck(t => F.interpolate(t[0], new long[] { 5, 7 }, mode: InterpolationMode.Bilinear, align_corners: alignCorners), x);
    }

    /// <summary>
    /// libtorch 1.13.1's own exact gelu_backward is wrong when the incoming gradient is strided (GELU → transpose → LayerNorm,
    /// the SegFormer pattern); functional.gelu works around it. Checked in float32 against float64 autograd.
    /// </summary>
    [Theory]
    [InlineData("none")]
    [InlineData("tanh")]
    public void GeluWithStridedGradientMatchesFloat64(string approximate)
    {
        using var scope = NewDisposeScope();
        manual_seed(8);
        var x = randn(8, 16, 4, 4).requires_grad_();
        var xd = x.detach().to(ScalarType.Float64).requires_grad_();
        var r = randn(8, 16, 16);
        Tensor Chain(Tensor t) => F.layer_norm(F.gelu(t, approximate).flatten(2).transpose(1, 2), new long[] { 16 });
        (Chain(x) * r).sum().backward();
        (Chain(xd) * r.to(ScalarType.Float64)).sum().backward();
        Check.Close(x.grad!, xd.grad!, 1e-4, 1e-3);
        GradCheck(t => F.gelu(t[0], approximate).transpose(0, 1), P(3, 4));
    }

    [Fact]
    public void SoftmaxAndCrossEntropy()
    {
        manual_seed(6);
        using var logits = P(4, 5);
        using var target = tensor(new long[] { 0, 3, -1, 4 });
        using var weight = tensor(new double[] { 1, 0.5, 2, 1, 1.5 });
        GradCheck(t => t[0].softmax(1), logits);
        GradCheck(t => t[0].log_softmax(1), logits);
        GradCheck(t => F.cross_entropy(t[0], target, weight, ignore_index: -1, label_smoothing: 0.1), logits);
        GradCheck(t => F.cross_entropy(t[0], target, ignore_index: -1, reduction: Reduction.None), logits);
    }
}
