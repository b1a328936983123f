using static BoostFormer.Torch.torch;
using static BoostFormer.Torch.torch.optim;

namespace BoostFormer.Torch.Tests.Optim;

/// <summary>Schedulers against PyTorch 1.13's LambdaLR/StepLR running the transformers lambdas, and against the HF formulas.</summary>
public class LRSchedulerTests
{
    /// <summary>Two groups starting at 0.1 and 1.0, defaults lr 0.1 — as in fixtures/make_optim_reference.py.</summary>
    private static (Modules.SGD opt, Tensor[] ps) TwoGroups()
    {
        var a = zeros(new long[] { 2 }).DetachFromDisposeScope().requires_grad_();
        var b = zeros(new long[] { 3 }).DetachFromDisposeScope().requires_grad_();
        return (optim.SGD(new[] { new ParamGroup(new[] { a }), new ParamGroup(new[] { b }, lr: 1.0) }, lr: 0.1), new[] { a, b });
    }

    private static lr_scheduler.LRScheduler Make(string name, Optimizer o) => name switch
    {
        "step_lr" => new lr_scheduler.StepLR(o, step_size: 3, gamma: 0.5),
        "poly_warmup" => lr_scheduler.get_polynomial_decay_schedule_with_warmup(o, 5, 20, lr_end: 1e-4, power: 2.0),
        "poly_warmup_linear" => lr_scheduler.get_polynomial_decay_schedule_with_warmup(o, 3, 10),
        "cosine_warmup" => lr_scheduler.get_cosine_schedule_with_warmup(o, 3, 15),
        "constant_warmup" => lr_scheduler.get_constant_schedule_with_warmup(o, 4),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [InlineData("step_lr")]
    [InlineData("poly_warmup")]
    [InlineData("poly_warmup_linear")]
    [InlineData("cosine_warmup")]
    [InlineData("constant_warmup")]
    public void MatchesPyTorchWithTransformersLambdas(string name)
    {
        var expected = OptimReferenceData.SchedulerLrs[name];
        var (opt, ps) = TwoGroups();
        using var _ = opt;
        var s = Make(name, opt);
        for (int k = 0; k < expected.Length; k++)
        {
            if (k > 0) { opt.step(); s.step(); }
            var got = s.get_last_lr();
            got.Length.Should().Be(2);
            for (int g = 0; g < 2; g++)
                got[g].Should().BeApproximately(expected[k][g], 1e-15 * Math.Max(1, Math.Abs(expected[k][g])), $"{name} step {k} group {g}");
            opt.param_groups.Select(pg => pg.lr).Should().Equal(got);
        }
        foreach (var p in ps) p.Dispose();
    }

    // Hugging Face formulas, written out from transformers/optimization.py.
    private static double HfPoly(long step, long warmup, long total, double lrInit, double lrEnd, double power) =>
        step < warmup ? (double)step / Math.Max(1, warmup)
        : step > total ? lrEnd / lrInit
        : ((lrInit - lrEnd) * Math.Pow(1 - (double)(step - warmup) / (total - warmup), power) + lrEnd) / lrInit;

    private static double HfCosine(long step, long warmup, long total, double cycles = 0.5) =>
        step < warmup ? (double)step / Math.Max(1, warmup)
        : Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * cycles * 2.0 * ((double)(step - warmup) / Math.Max(1, total - warmup)))));

    [Theory]
    [InlineData(1500, 40000, 1.0)]
    [InlineData(100, 1000, 2.0)]
    [InlineData(0, 500, 1.0)]
    public void PolynomialDecayWithWarmupFollowsTheHuggingFaceFormulaAtEveryStep(long warmup, long total, double power)
    {
        const double lr = 6e-5, lrEnd = 1e-7;
        var (opt, ps) = TwoGroups();
        using var _ = opt;
        opt.param_groups[0].lr = lr; // the group lrs differ from defaults["lr"] (0.1): the factor still uses the defaults
        var fresh = optim.SGD(new[] { new ParamGroup(new[] { ps[0] }, lr: lr), new ParamGroup(new[] { ps[1] }, lr: 10 * lr) }, lr: lr);
        var s = lr_scheduler.get_polynomial_decay_schedule_with_warmup(fresh, warmup, total, lrEnd, power);
        for (long step = 0; step <= total + 50; step++)
        {
            if (step > 0) s.step();
            s.last_epoch.Should().Be(step);
            var f = HfPoly(step, warmup, total, lr, lrEnd, power);
            var got = s.get_last_lr();
            got[0].Should().BeApproximately(lr * f, 1e-18, $"step {step}");
            got[1].Should().BeApproximately(10 * lr * f, 1e-17, $"step {step}");
        }
        // Landmarks: 0 at the start (with warmup), the peak at the end of warmup, lr_end (×10 for the decoder group) after the end.
        s.get_last_lr()[0].Should().BeApproximately(lrEnd, 1e-20);
        s.get_last_lr()[1].Should().BeApproximately(10 * lrEnd, 1e-19);
        fresh.Dispose();
        foreach (var p in ps) p.Dispose();
    }

    [Fact]
    public void CosineWithWarmupFollowsTheHuggingFaceFormulaAtEveryStep()
    {
        var (opt, ps) = TwoGroups();
        using var _ = opt;
        var s = lr_scheduler.get_cosine_schedule_with_warmup(opt, 50, 1000);
        for (long step = 0; step <= 1100; step++)
        {
            if (step > 0) s.step();
            var f = HfCosine(step, 50, 1000);
            s.get_last_lr()[0].Should().BeApproximately(0.1 * f, 1e-16, $"step {step}");
            s.get_last_lr()[1].Should().BeApproximately(1.0 * f, 1e-15, $"step {step}");
            if (step == 50) s.get_last_lr()[1].Should().Be(1.0);
            if (step == 525) s.get_last_lr()[1].Should().BeApproximately(0.5, 1e-12);
        }
        foreach (var p in ps) p.Dispose();
    }

    [Fact]
    public void ConstantWithWarmupAndLambdaLR()
    {
        var (opt, ps) = TwoGroups();
        using var _ = opt;
        var s = lr_scheduler.get_constant_schedule_with_warmup(opt, 10);
        for (int step = 0; step <= 30; step++)
        {
            if (step > 0) s.step();
            s.get_last_lr()[1].Should().Be(step < 10 ? step / 10.0 : 1.0);
        }
        var (opt2, ps2) = TwoGroups();
        using var __ = opt2;
        var l = new lr_scheduler.LambdaLR(opt2, new Func<long, double>[] { e => 0.5 * e, e => 1.0 / (1 + e) });
        l.step(); l.step();
        l.get_last_lr().Should().Equal(0.1 * 1.0, 1.0 / 3);
        foreach (var p in ps.Concat(ps2)) p.Dispose();
    }

    [Fact]
    public void StateSaveLoadContinuesTheSchedule()
    {
        var (a, pa) = TwoGroups();
        var (b, pb) = TwoGroups();
        using var _a = a; using var _b = b;
        var sa = lr_scheduler.get_polynomial_decay_schedule_with_warmup(a, 5, 50, 1e-4);
        for (int i = 0; i < 17; i++) sa.step();
        var saved = SchedulerState.FromJson(sa.state_dict().ToJson());
        saved.last_epoch.Should().Be(17);

        var sb = lr_scheduler.get_polynomial_decay_schedule_with_warmup(b, 5, 50, 1e-4);
        sb.load_state_dict(saved);
        sb.last_epoch.Should().Be(17);
        sb.get_last_lr().Should().Equal(sa.get_last_lr());
        for (int i = 0; i < 40; i++)
        {
            sa.step(); sb.step();
            sb.get_last_lr().Should().Equal(sa.get_last_lr());
        }
        var wrong = () => new lr_scheduler.StepLR(b, 3).load_state_dict(saved);
        wrong.Should().Throw<ArgumentException>().WithMessage("*is for 'LambdaLR', but this scheduler is StepLR*");
        foreach (var p in pa.Concat(pb)) p.Dispose();
    }

    [Fact]
    public void ResumingWithLastEpochRequiresInitialLr()
    {
        var (opt, ps) = TwoGroups();
        using var _ = opt;
        var act = () => new lr_scheduler.StepLR(opt, 3, last_epoch: 10);
        act.Should().Throw<ArgumentException>().WithMessage("param 'initial_lr' is not specified in param_groups[0] when resuming an optimizer*");
        var bad = () => lr_scheduler.get_polynomial_decay_schedule_with_warmup(opt, 5, 50, lr_end: 1.0);
        bad.Should().Throw<ArgumentException>().WithMessage("lr_end (1) must be be smaller than initial lr (0.1)*");
        foreach (var p in ps) p.Dispose();
    }
}
