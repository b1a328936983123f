using static BoostFormer.Torch.torch;

namespace BoostFormer.Torch.Tests.Optim;

/// <summary>Parameters and the synthetic gradient shared with fixtures/make_optim_reference.py.</summary>
internal static class OptimTestSupport
{
    /// <summary>Fresh leaf parameters with the reference initial values (not scope-owned; dispose them).</summary>
    public static nn.Parameter[] MakeParameters()
    {
        var r = new nn.Parameter[OptimReferenceData.Shapes.Length];
        for (int j = 0; j < r.Length; j++)
        {
            using var t = tensor(OptimReferenceData.Initial[j].Select(v => (float)v).ToArray(), OptimReferenceData.Shapes[j]);
            r[j] = new nn.Parameter(t);
        }
        return r;
    }

    public static Tensor[] MakeWeights() =>
        OptimReferenceData.Weights.Select((w, j) => tensor(w.Select(v => (float)v).ToArray(), OptimReferenceData.Shapes[j]).DetachFromDisposeScope()).ToArray();

    /// <summary>g = p*w; g += 0.5 cos(p); g *= 1 + 0.1 k — the same ops as the Python script; p2 gets no gradient at step 2.</summary>
    public static void SetGrads(IReadOnlyList<Tensor> ps, IReadOnlyList<Tensor> ws, int k)
    {
        using var _ = no_grad();
        for (int j = 0; j < ps.Count; j++)
        {
            if (j == 2 && k == 2) { ps[j].grad = null; continue; }
            using var g = ps[j].mul(ws[j]);
            using var c = ps[j].cos();
            g.add_(c, 0.5);
            g.mul_(1.0 + 0.1 * k);
            ps[j].grad = g;
        }
    }

    /// <summary>The double-precision gradient of the same function.</summary>
    public static double Grad(double p, double w, int k) => (p * w + 0.5 * Math.Cos(p)) * (1.0 + 0.1 * k);

    public static double[] Values(Tensor t) => t.ToArray<float>().Select(v => (double)v).ToArray();

    public static void Dispose(IEnumerable<IDisposable> items) { foreach (var i in items) i.Dispose(); }
}
