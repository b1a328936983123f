using BoostFormer.Torch.Modules;
using static BoostFormer.Torch.torch;
using static BoostFormer.Torch.torch.optim;
using static BoostFormer.Torch.Tests.Optim.OptimTestSupport;

namespace BoostFormer.Torch.Tests.Optim;

/// <summary>state_dict / load_state_dict: a run interrupted after k steps and resumed from saved state equals an uninterrupted one.</summary>
public class OptimStateTests
{
    private static Optimizer MakeAdamW(IReadOnlyList<Tensor> ps) => optim.AdamW(new[]
    {
        new ParamGroup(ps.Take(2), amsgrad: true, name: "decay"),
        new ParamGroup(ps.Skip(2), lr: 5e-2, weight_decay: 0, name: "no_decay"),
    }, lr: 1e-2, weight_decay: 0.1);

    private static Optimizer MakeSgd(IReadOnlyList<Tensor> ps) => optim.SGD(new[]
    {
        new ParamGroup(ps.Take(2)),
        new ParamGroup(ps.Skip(2), lr: 0.2, momentum: 0.5),
    }, lr: 0.05, momentum: 0.9, nesterov: true, weight_decay: 1e-3);

    public static IEnumerable<object[]> Kinds() => new[] { new object[] { "adamw" }, new object[] { "sgd" } };

    private static Optimizer Make(string kind, IReadOnlyList<Tensor> ps) => kind == "adamw" ? MakeAdamW(ps) : MakeSgd(ps);

    private static lr_scheduler.LRScheduler Schedule(Optimizer o) => lr_scheduler.get_polynomial_decay_schedule_with_warmup(o, 3, 10, lr_end: 1e-4);

    [Theory]
    [MemberData(nameof(Kinds))]
    public void ResumeFromSavedStateEqualsUninterruptedRun(string kind)
    {
        const int K = 4, N = 10;
        var ws = MakeWeights();

        // Uninterrupted run.
        var ref_ = MakeParameters();
        double[] refLrs;
        using (var opt = Make(kind, ref_))
        {
            var sched = Schedule(opt);
            for (int k = 0; k < N; k++) { opt.zero_grad(); SetGrads(ref_, ws, k); opt.step(); sched.step(); }
            refLrs = opt.param_groups.Select(g => g.lr).ToArray();
        }

        // Interrupted after K steps: save parameters, optimizer tensors + JSON, scheduler JSON; dispose everything.
        var ps = MakeParameters();
        float[][] savedParams;
        Dictionary<string, float[]> savedTensors;
        Dictionary<string, long[]> savedShapes;
        string hyperJson, schedJson;
        using (var opt = Make(kind, ps))
        {
            var sched = Schedule(opt);
            for (int k = 0; k < K; k++) { opt.zero_grad(); SetGrads(ps, ws, k); opt.step(); sched.step(); }
            savedParams = ps.Select(p => p.ToArray<float>()).ToArray();
            using var st = opt.state_dict();
            st.Tensors.Keys.Should().Contain(kind == "adamw"
                ? new[] { "state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq", "state.0.max_exp_avg_sq", "state.2.exp_avg" }
                : new[] { "state.0.momentum_buffer", "state.2.momentum_buffer" });
            if (kind == "adamw")
            {
                st.Tensors["state.0.step"].dtype.Should().Be(ScalarType.Int64);
                st.Tensors["state.0.step"].item<long>().Should().Be(K);
                st.Tensors["state.2.step"].item<long>().Should().Be(K - 1, "parameter 2 had no gradient at step 2");
            }
            // Simulate a checkpoint file: plain arrays + JSON.
            savedTensors = st.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value.dtype == ScalarType.Int64 ? kv.Value.ToArray<long>().Select(v => (float)v).ToArray() : kv.Value.ToArray<float>());
            savedShapes = st.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value.shape);
            hyperJson = st.HyperParameters.ToJson();
            schedJson = sched.state_dict().ToJson();
            // The saved copies must not change when training continues.
            opt.zero_grad(); SetGrads(ps, ws, 99); opt.step();
            st.Tensors.Where(kv => kv.Key.EndsWith("exp_avg") || kv.Key.EndsWith("momentum_buffer")).All(kv => kv.Value.ToArray<float>().SequenceEqual(savedTensors[kv.Key])).Should().BeTrue();
        }
        Dispose(ps);

        // Resume in a fresh optimizer (as a new process would).
        var rs = MakeParameters();
        using (no_grad())
            for (int j = 0; j < rs.Length; j++) { using var t = tensor(savedParams[j], rs[j].shape); rs[j].copy_(t); }
        using (var opt = Make(kind, rs))
        {
            var sched = Schedule(opt);
            using (var scope = NewDisposeScope())
            {
                var tensors = savedTensors.ToDictionary(kv => kv.Key, kv => kv.Key.EndsWith(".step")
                    ? tensor((long)kv.Value[0])
                    : tensor(kv.Value, savedShapes[kv.Key]));
                opt.load_state_dict(tensors, OptimizerHyperParameters.FromJson(hyperJson));
            }
            sched.load_state_dict(SchedulerState.FromJson(schedJson));
            sched.last_epoch.Should().Be(K);
            for (int k = K; k < N; k++) { opt.zero_grad(); SetGrads(rs, ws, k); opt.step(); sched.step(); }
            opt.param_groups.Select(g => g.lr).Should().Equal(refLrs);
            sched.get_last_lr().Should().Equal(refLrs);
        }

        for (int j = 0; j < rs.Length; j++)
        {
            var a = ref_[j].ToArray<float>();
            var b = rs[j].ToArray<float>();
            for (int i = 0; i < a.Length; i++) Math.Abs(a[i] - b[i]).Should().BeLessThanOrEqualTo(1e-7f, $"{kind} param {j}[{i}]");
        }
        Dispose(ref_); Dispose(rs); Dispose(ws);
    }

    [Fact]
    public void HyperParametersRoundTripThroughJsonExactly()
    {
        var ps = MakeParameters();
        using var opt = MakeAdamW(ps);
        opt.param_groups[1].lr = 0.1 + 0.2; // a value with a long decimal expansion
        var h = opt.HyperParameters();
        var back = OptimizerHyperParameters.FromJson(h.ToJson());
        back.optimizer.Should().Be("AdamW");
        back.param_groups.Select(g => g.@params).Should().BeEquivalentTo(new[] { new List<int> { 0, 1 }, new List<int> { 2 } });
        back.param_groups[1].options!["lr"].Should().Be(0.1 + 0.2);
        back.param_groups[0].options!["amsgrad"].Should().Be(1);
        back.param_groups[1].name.Should().Be("no_decay");
        h.ToJson().Should().Contain("\"params\"");
        Dispose(ps);
    }

    [Fact]
    public void LoadRestoresGroupHyperParametersIncludingLr()
    {
        var ps = MakeParameters();
        using var a = MakeAdamW(ps);
        a.param_groups[0].lr = 0.123;
        a.param_groups[1].weight_decay = 0.5;
        using var st = a.state_dict();
        var qs = MakeParameters();
        using var b = MakeAdamW(qs);
        b.load_state_dict(st);
        b.param_groups[0].lr.Should().Be(0.123);
        b.param_groups[1].weight_decay.Should().Be(0.5);
        b.state.Should().BeEmpty();
        Dispose(ps); Dispose(qs);
    }

    [Fact]
    public void BadStateIsRejectedBeforeAnythingChanges()
    {
        var ps = MakeParameters();
        var ws = MakeWeights();
        using var opt = MakeAdamW(ps);
        opt.zero_grad(); SetGrads(ps, ws, 0); opt.step();
        using var good = opt.state_dict();
        var hyper = good.HyperParameters;

        using var sgd = MakeSgd(MakeParameters());
        var wrongType = () => sgd.load_state_dict(good);
        wrongType.Should().Throw<ArgumentException>().WithMessage("*is for 'AdamW', but this optimizer is SGD*");

        var oneGroup = OptimizerHyperParameters.FromJson(hyper.ToJson());
        oneGroup.param_groups.RemoveAt(1);
        var act1 = () => opt.load_state_dict(good.Tensors, oneGroup);
        act1.Should().Throw<ArgumentException>().WithMessage("loaded state dict has a different number of parameter groups*");

        using var wrongShape = zeros(7);
        var t2 = new Dictionary<string, Tensor>(good.Tensors) { ["state.0.exp_avg"] = wrongShape };
        var act2 = () => opt.load_state_dict(t2, hyper);
        act2.Should().Throw<ArgumentException>().WithMessage("optimizer state 'state.0.exp_avg' has shape [7] but parameter 0 has shape [3, 4]*");

        var t3 = new Dictionary<string, Tensor>(good.Tensors) { ["state.1.momentum_buffer"] = good.Tensors["state.1.exp_avg"] };
        var act3 = () => opt.load_state_dict(t3, hyper);
        act3.Should().Throw<ArgumentException>().WithMessage("*AdamW keeps no state named 'momentum_buffer'*");

        var t4 = new Dictionary<string, Tensor>(good.Tensors) { ["state.9.exp_avg"] = good.Tensors["state.1.exp_avg"] };
        var act4 = () => opt.load_state_dict(t4, hyper);
        act4.Should().Throw<ArgumentException>().WithMessage("*refers to parameter 9*");

        // The failed loads changed nothing.
        opt.state[ps[0]].step.Should().Be(1);
        var bad = () => OptimizerHyperParameters.FromJson("{ not json");
        bad.Should().Throw<FormatException>();
        Dispose(ps); Dispose(ws);
    }
}
