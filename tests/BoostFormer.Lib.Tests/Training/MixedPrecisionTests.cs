using BoostFormer.Training;
using BoostFormer.Training.Checkpoints;
using BoostFormer.Training.Optimization;
using BoostFormer.Training.Tracking;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Training;

/// <summary>bf16 mixed-precision training (<see cref="MasterWeights"/>, <c>SegmentationTrainerOptions.Precision</c>).</summary>
[Collection(GlobalRngCollection.Name)]
public class MixedPrecisionTests
{
    private const int K = 4;

    private static SegmentationTrainerOptions Options(string dir, long iterations, Precision precision) => new()
    {
        Iterations = iterations, LearningRate = 3e-3, WarmupIterations = 2, WeightDecay = 0.01, GradClipNorm = 5.0,
        AuxiliaryHead = true, AuxiliaryChannels = 8, EvalInterval = 3, CheckpointInterval = 2, KeepLastCheckpoints = 2,
        Seed = 11, DataSeed = 5, OutputDirectory = dir, RunName = "tiny-bf16", Precision = precision,
    };

    private static TinySegNet NewModel() { manual_seed(1); return new TinySegNet(K); }

    private static Dictionary<string, Tensor> Copy(Dictionary<string, Tensor> d) =>
        d.ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope());

    [Fact]
    public void Master_weights_keep_float32_copies_take_the_gradients_and_round_into_the_bf16_module()
    {
        using var scope = NewDisposeScope();
        using var model = NewModel();
        var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        using var masters = MasterWeights.CastToBf16(new List<(string, nn.Module)> { ("m.", model) });
        model.named_parameters().Should().OnlyContain(p => p.parameter.dtype == ScalarType.BFloat16);
        masters.Masters.Select(m => m.name).Should().Equal(before.Keys.Select(k => "m." + k));
        foreach (var (name, m) in masters.Masters)
        {
            m.dtype.Should().Be(ScalarType.Float32);
            m.allclose(before[name[2..]], 0, 0).Should().BeTrue($"{name}'s master is the float32 weight before the cast");
        }

        using var x = randn(2, 3, 16, 16).to_type(ScalarType.BFloat16);
        model.call(x).to_type(ScalarType.Float32).sum().backward();
        masters.GradientsToMasters();
        model.parameters().Select(p => p.grad).Should().OnlyContain(g => ReferenceEquals(g, null), "the bf16 gradients moved to the masters");
        masters.Masters.Select(m => m.parameter.grad).Should().OnlyContain(g => !ReferenceEquals(g, null) && g!.dtype == ScalarType.Float32);

        // A step too small for bf16 (8 significant bits) survives in the master and reaches the module once it accumulates.
        var (n0, w0) = masters.Masters[0];
        using (no_grad()) w0.add_(w0.abs().mul(Scalars.Of(1e-4)), Scalars.One);
        masters.MastersToModel();
        var working = model.named_parameters().First().parameter;
        working.to_type(ScalarType.Float32).allclose(w0.to_type(ScalarType.BFloat16).to_type(ScalarType.Float32), 0, 0).Should().BeTrue("the module holds the master rounded to bf16");
        w0.allclose(w0.to_type(ScalarType.BFloat16).to_type(ScalarType.Float32), 0, 0).Should().BeFalse($"{n0}'s master keeps the precision bf16 drops");
    }

    [Fact]
    public void A_bf16_run_resumes_exactly_checkpoints_float32_masters_and_stays_close_to_fp32()
    {
        using var dirA = new TempDir();
        using var dirB = new TempDir();
        using var dirC = new TempDir();
        var data = new SyntheticScenes(5, K, 32, 8, 2);
        const long total = 7;

        using var storeA = RunStore.Open(Path.Combine(dirA.Path, "runs.db"));
        using var modelA = NewModel();
        var trainerA = new SegmentationTrainer(modelA, Options(dirA.Path, total, Precision.Bf16));
        var runA = trainerA.Run(data, () => data.EvalSamples(3), storeA);
        modelA.parameters().Should().OnlyContain(p => p.dtype == ScalarType.Float32, "the model is handed back in float32");
        var weightsA = Copy(trainerA.StateDict());
        storeA.Series(runA, "train", "loss").Should().OnlyContain(l => double.IsFinite(l.value));

        // The checkpoint holds the float32 masters, with precision beyond bf16.
        using (var c = CheckpointManager.Load(new CheckpointManager(dirA.Path).Latest()!))
        {
            var stem = c.Model["stem.weight"];
            stem.dtype.Should().Be(ScalarType.Float32);
            stem.allclose(stem.to_type(ScalarType.BFloat16).to_type(ScalarType.Float32), 0, 0).Should().BeFalse();
        }

        // Crash after iteration 5 (checkpoint at 4), resume in a fresh model: the same weights as the uninterrupted run.
        using var storeB = RunStore.Open(Path.Combine(dirB.Path, "runs.db"));
        using (var model1 = NewModel())
        {
            var t1 = new SegmentationTrainer(model1, Options(dirB.Path, total, Precision.Bf16));
            var act = () => t1.Run(data, () => data.EvalSamples(3), storeB, new CrashAt(5));
            act.Should().Throw<InvalidOperationException>();
        }
        using var model2 = NewModel();
        var t2 = new SegmentationTrainer(model2, Options(dirB.Path, total, Precision.Bf16) with { Resume = true });
        t2.Run(data, () => data.EvalSamples(3), storeB);
        foreach (var (k, a) in weightsA)
        {
            using var diff = a.to(ScalarType.Float64).sub(t2.StateDict()[k].to(ScalarType.Float64)).abs().max();
            diff.item<double>().Should().BeLessThanOrEqualTo(1e-6, k);
        }

        // The same run in fp32 lands nearby: bf16 rounding moves each weight tensor by a few percent at most.
        using var storeC = RunStore.Open(Path.Combine(dirC.Path, "runs.db"));
        using var modelC = NewModel();
        var trainerC = new SegmentationTrainer(modelC, Options(dirC.Path, total, Precision.Fp32));
        trainerC.Run(data, () => data.EvalSamples(3), storeC);
        var weightsC = trainerC.StateDict();
        foreach (var (k, a) in weightsA.Where(kv => kv.Value.is_floating_point() && !kv.Key.Contains("running")))
        {
            var c = weightsC[k].to(ScalarType.Float64);
            var rel = a.to(ScalarType.Float64).sub(c).norm().item<double>() / Math.Max(1e-12, c.norm().item<double>());
            rel.Should().BeLessThan(0.05, k);
        }
        foreach (var t in weightsA.Values) t.Dispose();
    }

    private sealed class CrashAt(long at) : IProgress<SegmentationProgress>
    {
        public void Report(SegmentationProgress value) { if (value.Iteration == at) throw new InvalidOperationException("injected crash"); }
    }
}
