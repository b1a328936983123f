using BoostFormer.Training.Optimization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Training.Optim;

/// <summary>
/// The training loop's optimiser (<see cref="TrainingOptimizer"/>: AdamW and SGD written on TorchSharp tensors) against PyTorch 1.13's
/// trajectories (OptimReferenceData.cs, made by make_optim_reference.py with python3-torch): same parameters, same
/// synthetic gradients, several steps, one parameter without a gradient at step 2. The state written for a checkpoint
/// and restored into a fresh optimiser continues the trajectory exactly.
/// </summary>
public class OptimizerReferenceTests
{
    private static Parameter[] MakeParameters() => OptimReferenceData.Shapes.Select((shape, j) =>
    {
        using var t = tensor(OptimReferenceData.Initial[j].Select(v => (float)v).ToArray(), shape);
        return new Parameter(t);
    }).ToArray();

    /// <summary>g = p·w; g += 0.5 cos(p); g ·= 1 + 0.1 k — the Python script's ops; parameter 2 gets no gradient at step 2.</summary>
    private static void SetGrads(IReadOnlyList<Parameter> ps, int k)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        for (int j = 0; j < ps.Count; j++)
        {
            if (j == 2 && k == 2) { ps[j].grad = null; continue; }
            var w = tensor(OptimReferenceData.Weights[j].Select(v => (float)v).ToArray(), OptimReferenceData.Shapes[j]);
            var g = ps[j].mul(w);
            g.add_(ps[j].cos(), 0.5);
            g.mul_(1.0 + 0.1 * k);
            ps[j].grad = g.DetachFromDisposeScope();
        }
    }


    /// <summary>Runs the reference steps with <paramref name="zeroGrad"/>/<paramref name="step"/>; the largest deviation seen.</summary>
    private static double Follow(string trajectory, Parameter[] ps, Action zeroGrad, Action step)
    {
        var expected = OptimReferenceData.Trajectories[trajectory];
        double worst = 0;
        for (int k = 0; k < expected.Length; k++)
        {
            zeroGrad();
            SetGrads(ps, k);
            step();
            worst = Math.Max(worst, Worst(expected[k], ps));
        }
        return worst;
    }

    private static double Worst(double[][] expected, Parameter[] ps)
    {
        double worst = 0;
        for (int j = 0; j < ps.Length; j++)
        {
            var got = ps[j].detach().ToArray<float>();
            for (int i = 0; i < got.Length; i++) worst = Math.Max(worst, Math.Abs(got[i] - expected[j][i]));
        }
        return worst;
    }

    [Fact]
    public void Sgd_matches_pytorch_step_by_step()
    {
        var ps = MakeParameters();
        using var opt = TrainingOptimizer.SGD(new[] { new NamedParamGroup("all", ps.Select((p, i) => ($"p{i}", p)).ToList(), 0.1, 0.0) }, momentum: 0.0);
        var worst = Follow("sgd_plain", ps, opt.ZeroGrad, opt.Step);
        worst.Should().BeLessThan(1e-6, "LibTorch 2.10 and PyTorch 1.13 may round the last bit differently, nothing more");
        foreach (var p in ps) p.Dispose();
    }

    [Fact]
    public void Adamw_groups_match_pytorch_step_by_step()
    {
        // PyTorch: AdamW([{params: p0, p1}, {params: p2, lr: 5e-2, weight_decay: 0, betas: (0.8, 0.99), eps: 1e-6}],
        // lr=1e-2, weight_decay=0.1).
        var ps = MakeParameters();
        using var opt = TrainingOptimizer.AdamW(new[]
        {
            new NamedParamGroup("decay", new[] { ("p0", ps[0]), ("p1", ps[1]) }, 1e-2, 0.1),
            new NamedParamGroup("head", new[] { ("p2", ps[2]) }, 5e-2, 0.0) { Beta1 = 0.8, Beta2 = 0.99, Eps = 1e-6 },
        });
        var worst = Follow("adamw_groups", ps, opt.ZeroGrad, opt.Step);
        worst.Should().BeLessThan(1e-6);
        foreach (var p in ps) p.Dispose();
    }

    [Fact]
    public void Training_adamw_state_round_trip_continues_the_trajectory_exactly()
    {
        NamedParamGroup[] Groups(Parameter[] ps) => new[]
        {
            new NamedParamGroup("decay", new[] { ("p0", ps[0]), ("p1", ps[1]) }, 1e-2, 0.1),
            new NamedParamGroup("head", new[] { ("p2", ps[2]) }, 5e-2, 0.0),
        };
        var a = MakeParameters();
        var b = MakeParameters();
        using var straight = TrainingOptimizer.AdamW(Groups(a));
        for (int k = 0; k < 8; k++) { straight.ZeroGrad(); SetGrads(a, k); straight.Step(); }

        Dictionary<string, Tensor> saved;
        using (var first = TrainingOptimizer.AdamW(Groups(b)))
        {
            for (int k = 0; k < 4; k++) { first.ZeroGrad(); SetGrads(b, k); first.Step(); }
            saved = first.StateDict();
        }
        saved.Keys.Should().Contain(new[] { "state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq", "state.2.exp_avg" });
        saved["state.2.step"].item<long>().Should().Be(3, "parameter 2 had no gradient at step 2");
        using (var resumed = TrainingOptimizer.AdamW(Groups(b)))
        {
            resumed.LoadStateDict(saved);
            for (int k = 4; k < 8; k++) { resumed.ZeroGrad(); SetGrads(b, k); resumed.Step(); }
        }
        for (int j = 0; j < a.Length; j++)
            a[j].detach().allclose(b[j].detach(), rtol: 0, atol: 0).Should().BeTrue($"parameter {j} after save/restore at step 4");
        foreach (var t in saved.Values) t.Dispose();

        var bad = new Dictionary<string, Tensor>(saved.Where(kv => false)) { ["state.9.exp_avg"] = zeros(1) };
        using var fresh = TrainingOptimizer.AdamW(Groups(MakeParameters()));
        var act = () => fresh.LoadStateDict(bad);
        act.Should().Throw<InvalidDataException>();
    }
}
