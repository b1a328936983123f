using TorchSharp.Modules;
using TorchSharp;
using BoostFormer.Training.Optimization;
using static TorchSharp.torch;
using static BoostFormer.Lib.Tests.Training.TrainingFixtures;

namespace BoostFormer.Lib.Tests.Training;

public class OptimizationTests
{
    [Fact]
    public void Polynomial_and_cosine_schedules_match_the_HF_formulas()
    {
        var steps = A("poly_steps").Select(s => (long)s).ToArray();
        var poly = new PolynomialWarmupSchedule(100, 10, 6e-5, 1.0, 1e-7);
        var poly2 = new PolynomialWarmupSchedule(100, 10, 6e-5, 2.0, 0.0);
        var cos = new CosineWarmupSchedule(100, 10);
        for (int i = 0; i < steps.Length; i++)
        {
            poly.Factor(steps[i]).Should().BeApproximately(A("poly_factors")[i], 1e-12);
            poly2.Factor(steps[i]).Should().BeApproximately(A("poly2_factors")[i], 1e-12);
            cos.Factor(steps[i]).Should().BeApproximately(A("cosine_factors")[i], 1e-12);
        }
    }

    private static Tensor Sin(int n, double a) => tensor(Enumerable.Range(0, n).Select(i => (float)Math.Sin(i * a)).ToArray());

    [Fact]
    public void AdamW_adapter_matches_torch_optim_AdamW_with_two_groups()
    {
        using var scope = NewDisposeScope();
        using var p1 = new Parameter(Sin(6, 0.3).reshape(2, 3));
        using var p2 = new Parameter(Sin(4, 0.7));
        using var opt = TrainingOptimizer.AdamW(new[]
        {
            new NamedParamGroup("a", new[] { ("p1", p1) }, 1e-2, 0.05),
            new NamedParamGroup("b", new[] { ("p2", p2) }, 1e-1, 0.0),
        });
        for (int t = 0; t < 3; t++)
        {
            opt.ZeroGrad();
            var c = arange(4, ScalarType.Float32).add((double)t).cos();
            var loss = p1.pow(2).sum().mul(t + 1).add(p2.mul(c).sum()).add(p1.sum().mul(p2.sum()));
            loss.backward();
            opt.Step();
        }
        var e1 = A("adamw_p1"); var e2 = A("adamw_p2");
        var a1 = p1.ToArray<float>(); var a2 = p2.ToArray<float>();
        for (int i = 0; i < e1.Length; i++) ((double)a1[i]).Should().BeApproximately(e1[i], 1e-6);
        for (int i = 0; i < e2.Length; i++) ((double)a2[i]).Should().BeApproximately(e2[i], 1e-6);
    }

    [Fact]
    public void AdamW_state_round_trips()
    {
        using var scope = NewDisposeScope();
        using var p = new Parameter(Sin(5, 0.4));
        using var q = new Parameter(Sin(5, 0.4));
        using var o1 = TrainingOptimizer.AdamW(new[] { new NamedParamGroup("g", new[] { ("w", p) }, 0.1, 0.01) });
        using var o2 = TrainingOptimizer.AdamW(new[] { new NamedParamGroup("g", new[] { ("w", q) }, 0.1, 0.01) });
        for (int t = 0; t < 2; t++) { o1.ZeroGrad(); p.pow(3).sum().backward(); o1.Step(); }
        using (no_grad()) q.copy_(p);
        var st = o1.StateDict();
        o2.LoadStateDict(st);
        o1.ZeroGrad(); p.pow(3).sum().backward(); o1.Step();
        o2.ZeroGrad(); q.pow(3).sum().backward(); o2.Step();
        p.allclose(q, rtol: 0, atol: 0).Should().BeTrue();
    }

    [Fact]
    public void Clip_grad_norm_matches_torch()
    {
        using var scope = NewDisposeScope();
        Tensor A0() => arange(12, ScalarType.Float32).sub(5.5).reshape(3, 4).mul(0.3);
        Tensor B0() => arange(5, ScalarType.Float32).cos().mul(2.0);
        using var a = new Parameter(zeros(3, 4));
        using var b = new Parameter(zeros(5));
        a.grad = A0(); b.grad = B0();
        var total = GradientClipping.ClipGradNorm(new Tensor[] { a, b }, 1.5);
        total.Should().BeApproximately(D("clip_total"), 1e-5);
        var ga = a.grad!.ToArray<float>(); var gb = b.grad!.ToArray<float>();
        for (int i = 0; i < 12; i++) ((double)ga[i]).Should().BeApproximately(A("clip_a")[i], 1e-6);
        for (int i = 0; i < 5; i++) ((double)gb[i]).Should().BeApproximately(A("clip_b")[i], 1e-6);
        a.grad = A0(); b.grad = B0();
        GradientClipping.ClipGradNorm(new Tensor[] { a, b }, 0.5, double.PositiveInfinity).Should().BeApproximately(D("clip_inf_total"), 1e-6);
        var gi = a.grad!.ToArray<float>();
        for (int i = 0; i < 12; i++) ((double)gi[i]).Should().BeApproximately(A("clip_inf_a")[i], 1e-6);
    }

    [Fact]
    public void SegFormer_groups_exclude_norms_biases_and_scales_from_decay_and_boost_heads()
    {
        using var scope = NewDisposeScope();
        var ps = new List<(string, Parameter)>
        {
            ("encoder.block.0.0.attention.self.query.weight", new Parameter(zeros(4, 4))),
            ("encoder.block.0.0.attention.self.query.bias", new Parameter(zeros(4))),
            ("encoder.layer_norm.0.weight", new Parameter(zeros(4))),
            ("encoder.block.0.0.layer_scale_1", new Parameter(zeros(4))),
            ("decode_head.linear_fuse.weight", new Parameter(zeros(4, 4, 1, 1))),
            ("decode_head.stage_weights", new Parameter(zeros(4))),
            ("decode_head.batch_norm.weight", new Parameter(zeros(4))),
        };
        var groups = ParameterGrouping.SegformerGroups(ps, 6e-5, 0.01);
        NamedParamGroup G(string n) => groups.Single(g => g.Parameters.Any(p => p.name == n));
        G("encoder.block.0.0.attention.self.query.weight").WeightDecay.Should().Be(0.01);
        G("encoder.block.0.0.attention.self.query.weight").InitialLr.Should().Be(6e-5);
        G("encoder.block.0.0.attention.self.query.bias").WeightDecay.Should().Be(0);
        G("encoder.layer_norm.0.weight").WeightDecay.Should().Be(0);
        G("encoder.block.0.0.layer_scale_1").WeightDecay.Should().Be(0);
        G("decode_head.linear_fuse.weight").InitialLr.Should().BeApproximately(6e-4, 1e-15);
        G("decode_head.linear_fuse.weight").WeightDecay.Should().Be(0.01);
        G("decode_head.stage_weights").WeightDecay.Should().Be(0);
        G("decode_head.batch_norm.weight").InitialLr.Should().BeApproximately(6e-4, 1e-15);
        foreach (var (_, p) in ps) p.Dispose();
    }
}
