using BoostFormer.Torch.Modules;
using static BoostFormer.Torch.torch;
using static BoostFormer.Torch.torch.optim;
using static BoostFormer.Torch.Tests.Optim.OptimTestSupport;

namespace BoostFormer.Torch.Tests.Optim;

/// <summary>
/// AdamW and SGD against PyTorch 1.13 (trajectories in OptimReferenceData.cs, made by fixtures/make_optim_reference.py)
/// and against the update formulas evaluated by hand in double precision.
/// </summary>
public class OptimizerReferenceTests
{
    private static Optimizer Make(string name, IReadOnlyList<Tensor> ps) => name switch
    {
        "adamw_groups" => optim.AdamW(new[]
        {
            new ParamGroup(ps.Take(2)),
            new ParamGroup(ps.Skip(2), lr: 5e-2, weight_decay: 0.0, beta1: 0.8, beta2: 0.99, eps: 1e-6),
        }, lr: 1e-2, weight_decay: 0.1),
        "adamw_amsgrad" => optim.AdamW(ps, lr: 3e-2, weight_decay: 0.05, amsgrad: true),
        "adamw_maximize" => optim.AdamW(ps, lr: 1e-2, maximize: true),
        "sgd_momentum_groups" => optim.SGD(new[]
        {
            new ParamGroup(ps.Take(2)),
            new ParamGroup(ps.Skip(2), lr: 0.2, momentum: 0.5),
        }, lr: 0.05, momentum: 0.9, dampening: 0.1, weight_decay: 1e-3),
        "sgd_nesterov" => optim.SGD(ps, lr: 0.05, momentum: 0.9, nesterov: true, weight_decay: 1e-2),
        "sgd_plain" => optim.SGD(ps, lr: 0.1),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [InlineData("adamw_groups")]
    [InlineData("adamw_amsgrad")]
    [InlineData("adamw_maximize")]
    [InlineData("sgd_momentum_groups")]
    [InlineData("sgd_nesterov")]
    [InlineData("sgd_plain")]
    public void MatchesPyTorch113StepByStep(string name)
    {
        var expected = OptimReferenceData.Trajectories[name];
        var ps = MakeParameters();
        var ws = MakeWeights();
        using var opt = Make(name, ps);
        double worst = 0;
        for (int k = 0; k < expected.Length; k++)
        {
            opt.zero_grad();
            SetGrads(ps, ws, k);
            opt.step();
            for (int j = 0; j < ps.Length; j++)
            {
                var got = Values(ps[j]);
                for (int i = 0; i < got.Length; i++)
                    worst = Math.Max(worst, Math.Abs(got[i] - expected[k][j][i]));
            }
        }
        // Same libtorch kernels, same scalar arithmetic in double: the float32 results agree to the last bit.
        worst.Should().Be(0, $"{name}: C# and PyTorch 1.13 parameters must be identical after every step");
        Dispose(ps); Dispose(ws);
    }

    [Fact]
    public void AdamWMatchesHandComputedFormulaInDouble()
    {
        // Two groups: (lr 1e-2, wd 0.1, default betas/eps, amsgrad) and (lr 5e-2, wd 0, betas 0.8/0.99, eps 1e-6).
        var ps = MakeParameters();
        var ws = MakeWeights();
        using var opt = optim.AdamW(new[]
        {
            new ParamGroup(ps.Take(2), amsgrad: true),
            new ParamGroup(ps.Skip(2), lr: 5e-2, weight_decay: 0.0, beta1: 0.8, beta2: 0.99, eps: 1e-6),
        }, lr: 1e-2, weight_decay: 0.1);
        var cfg = new (double lr, double wd, double b1, double b2, double eps, bool ams)[] { (1e-2, 0.1, 0.9, 0.999, 1e-8, true), (1e-2, 0.1, 0.9, 0.999, 1e-8, true), (5e-2, 0.0, 0.8, 0.99, 1e-6, false) };
        var p = OptimReferenceData.Initial.Select(a => (double[])a.Clone()).ToArray();
        var w = OptimReferenceData.Weights;
        var m = p.Select(a => new double[a.Length]).ToArray();
        var v = p.Select(a => new double[a.Length]).ToArray();
        var vmax = p.Select(a => new double[a.Length]).ToArray();
        var steps = new int[p.Length];
        const int K = 8;
        for (int k = 0; k < K; k++)
        {
            opt.zero_grad();
            SetGrads(ps, ws, k);
            opt.step();
            for (int j = 0; j < p.Length; j++)
            {
                if (j == 2 && k == 2) continue; // no gradient: skipped, step count unchanged
                var c = cfg[j];
                int t = ++steps[j];
                for (int i = 0; i < p[j].Length; i++)
                {
                    double g = Grad(p[j][i], w[j][i], k);
                    p[j][i] *= 1 - c.lr * c.wd;
                    m[j][i] = c.b1 * m[j][i] + (1 - c.b1) * g;
                    v[j][i] = c.b2 * v[j][i] + (1 - c.b2) * g * g;
                    vmax[j][i] = Math.Max(vmax[j][i], v[j][i]);
                    double vhat = (c.ams ? vmax[j][i] : v[j][i]) / (1 - Math.Pow(c.b2, t));
                    double mhat = m[j][i] / (1 - Math.Pow(c.b1, t));
                    p[j][i] -= c.lr * mhat / (Math.Sqrt(vhat) + c.eps);
                }
            }
        }
        for (int j = 0; j < p.Length; j++)
        {
            var got = Values(ps[j]);
            for (int i = 0; i < got.Length; i++) got[i].Should().BeApproximately(p[j][i], 2e-6, $"param {j}[{i}]");
        }
        opt.state[ps[2]].step.Should().Be(K - 1);
        opt.state[ps[0]].step.Should().Be(K);
        opt.state[ps[0]]["max_exp_avg_sq"].Should().NotBeNull();
        opt.state[ps[2]]["max_exp_avg_sq"].Should().BeNull();
        Dispose(ps); Dispose(ws);
    }

    [Theory]
    [InlineData(0.9, 0.1, false, 1e-3)]
    [InlineData(0.9, 0.0, true, 1e-2)]
    [InlineData(0.0, 0.0, false, 0.0)]
    public void SgdMatchesHandComputedFormulaInDouble(double momentum, double dampening, bool nesterov, double wd)
    {
        var ps = MakeParameters();
        var ws = MakeWeights();
        const double lr = 0.05;
        using var opt = optim.SGD(ps, lr, momentum, dampening, wd, nesterov);
        var p = OptimReferenceData.Initial.Select(a => (double[])a.Clone()).ToArray();
        var w = OptimReferenceData.Weights;
        var buf = p.Select(_ => (double[]?)null).ToArray();
        for (int k = 0; k < 8; k++)
        {
            opt.zero_grad();
            SetGrads(ps, ws, k);
            opt.step();
            for (int j = 0; j < p.Length; j++)
            {
                if (j == 2 && k == 2) continue;
                var d = p[j].Select((x, i) => Grad(x, w[j][i], k) + wd * x).ToArray();
                if (momentum != 0)
                {
                    if (buf[j] is null) buf[j] = (double[])d.Clone();
                    else for (int i = 0; i < d.Length; i++) buf[j]![i] = momentum * buf[j]![i] + (1 - dampening) * d[i];
                    d = nesterov ? d.Select((x, i) => x + momentum * buf[j]![i]).ToArray() : (double[])buf[j]!.Clone();
                }
                for (int i = 0; i < d.Length; i++) p[j][i] -= lr * d[i];
            }
        }
        for (int j = 0; j < p.Length; j++)
        {
            var got = Values(ps[j]);
            for (int i = 0; i < got.Length; i++) got[i].Should().BeApproximately(p[j][i], 2e-6, $"param {j}[{i}]");
        }
        if (momentum == 0) opt.state.Should().BeEmpty("plain SGD keeps no state");
        Dispose(ps); Dispose(ws);
    }
}
