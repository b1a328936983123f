using TorchSharp;
using BoostFormer.Training;
using BoostFormer.Training.Checkpoints;
using BoostFormer.Training.Evaluation;
using BoostFormer.Training.Losses;
using BoostFormer.Training.Tracking;
using static TorchSharp.torch;

namespace BoostFormer.Lib.Tests.Training;

public sealed class TempDir : IDisposable
{
    public TempDir() { Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "bf-train-" + Guid.NewGuid().ToString("N")); Directory.CreateDirectory(Path); }
    public string Path { get; }
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
}

[Collection(GlobalRngCollection.Name)]
public class TrainerTests
{
    private const int K = 4;

    private static SegmentationTrainerOptions Options(string dir, long iterations) => new()
    {
        Iterations = iterations, LearningRate = 3e-3, WarmupIterations = 2, WeightDecay = 0.01, GradClipNorm = 5.0,
        AuxiliaryHead = true, AuxiliaryChannels = 8, EvalInterval = 3, CheckpointInterval = 2, KeepLastCheckpoints = 2,
        Seed = 11, DataSeed = 5, OutputDirectory = dir, RunName = "tiny",
        Loss = new SegmentationLossOptions { LabelSmoothing = 0.05 },
    };

    private static TinySegNet NewModel() { manual_seed(1); return new TinySegNet(K); }

    private sealed class CrashAt : IProgress<TrainingProgress>
    {
        private readonly long _at;
        public CrashAt(long at) { _at = at; }
        public void Report(TrainingProgress value) { if (value.Iteration == _at) throw new InvalidOperationException("injected crash"); }
    }

    [Fact]
    public void Resumed_run_ends_with_the_same_weights_and_metrics_as_an_uninterrupted_run()
    {
        using var dirA = new TempDir();
        using var dirB = new TempDir();
        var data = new SyntheticScenes(5, K, 32, 8, 2);
        const long total = 7;

        // Uninterrupted.
        using var storeA = RunStore.Open(System.IO.Path.Combine(dirA.Path, "runs.db"));
        using var modelA = NewModel();
        var trainerA = new SegmentationTrainer(modelA, Options(dirA.Path, total));
        var runA = trainerA.Run(data, () => data.EvalSamples(3), storeA);
        var weightsA = trainerA.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.clone().DetachFromDisposeScope());

        // Crash after iteration 5 (the last checkpoint is at 4), then resume in a fresh model and trainer.
        using var storeB = RunStore.Open(System.IO.Path.Combine(dirB.Path, "runs.db"));
        using (var model1 = NewModel())
        {
            var t1 = new SegmentationTrainer(model1, Options(dirB.Path, total));
            var act = () => t1.Run(data, () => data.EvalSamples(3), storeB, new CrashAt(5));
            act.Should().Throw<InvalidOperationException>().WithMessage("injected crash");
        }
        storeB.Runs().Single().Status.Should().Be(RunStore.Failed);
        new CheckpointManager(dirB.Path).List().Select(c => c.iteration).Should().Equal(2, 4);

        using var model2 = NewModel();
        var t2 = new SegmentationTrainer(model2, Options(dirB.Path, total) with { Resume = true });
        var runB = t2.Run(data, () => data.EvalSamples(3), storeB);
        runB.Should().Be(storeB.Runs().Single().Id, "the resumed run continues the same tracking record");
        storeB.Run(runB)!.Status.Should().Be(RunStore.Finished);

        var weightsB = t2.StateDict();
        weightsB.Keys.Should().BeEquivalentTo(weightsA.Keys);
        foreach (var (k, a) in weightsA)
        {
            using var diff = a.to(ScalarType.Float64).sub(weightsB[k].to(ScalarType.Float64)).abs().max();
            diff.item<double>().Should().BeLessThanOrEqualTo(1e-6, k);
        }
        var lossA = storeA.Series(runA, "train", "loss");
        var lossB = storeB.Series(runB, "train", "loss");
        lossB.Select(x => x.step).Should().Equal(lossA.Select(x => x.step));
        for (int i = 0; i < lossA.Count; i++) lossB[i].value.Should().BeApproximately(lossA[i].value, 1e-6);
        storeB.LastEvaluation(runB)["miou"].Should().BeApproximately(storeA.LastEvaluation(runA)["miou"], 1e-9);
        storeB.Series(runB, "eval", "miou").Select(x => x.step).Should().Equal(3, 6, 7);
        foreach (var t in weightsA.Values) t.Dispose();
    }

    [Fact]
    public void A_finished_run_with_the_same_configuration_is_reused_and_any_change_or_missing_checkpoint_trains_again()
    {
        using var dir = new TempDir();
        var data = new SyntheticScenes(5, K, 32, 8, 2);
        using var store = RunStore.Open(System.IO.Path.Combine(dir.Path, "runs.db"));
        long Train(SegmentationTrainerOptions o, string output, out SegmentationTrainer trainer, IProgress<TrainingProgress>? progress = null)
        {
            using var model = NewModel();
            trainer = new SegmentationTrainer(model, o with { OutputDirectory = System.IO.Path.Combine(dir.Path, output) });
            return trainer.Run(data, () => data.EvalSamples(3), store, progress);
        }
        var options = Options(dir.Path, 4) with { ReuseFinished = true };
        var first = Train(options, "a", out var t1);
        t1.ReusedRun.Should().BeNull("there was nothing to reuse");

        Train(options, "a", out var t2).Should().Be(first);
        t2.ReusedRun!.Id.Should().Be(first);
        store.Runs().Should().HaveCount(1, "reusing creates no run");

        var second = Train(options with { ReuseFinished = false }, "b", out _);
        second.Should().NotBe(first, "ReuseFinished off always trains");
        Train(options, "c", out _).Should().Be(second, "the newest matching run is reused");
        foreach (var a in store.Artifacts(second).Where(a => a.Kind == "checkpoint")) File.Delete(a.Path);
        Train(options, "c", out _).Should().Be(first, "a run whose checkpoint is gone is not reused");

        Train(options with { LearningRate = 1e-3 }, "d", out var t4).Should().NotBe(first, "another learning rate is another run");
        t4.ReusedRun.Should().BeNull();

        var crash = () => Train(options with { RunName = "crashy" }, "e", out _, new CrashAt(2));
        crash.Should().Throw<InvalidOperationException>();
        // Training again (not resuming) goes to another folder: "e" holds the failed run's checkpoints, and is refused.
        var into = () => Train(options with { RunName = "crashy" }, "e", out _);
        into.Should().Throw<ArgumentException>().WithMessage("*already holds checkpoints of another run*--resume*");
        Train(options with { RunName = "crashy" }, "e2", out var t5);
        t5.ReusedRun.Should().BeNull("the only 'crashy' run failed");
    }

    [Fact]
    public void Overfits_a_handful_of_synthetic_scenes()
    {
        using var dir = new TempDir();
        var data = new SyntheticScenes(2, K, 32, 4, 2);
        using var model = NewModel();
        var o = new SegmentationTrainerOptions { Iterations = 80, LearningRate = 1e-2, WarmupIterations = 5, HeadLrMultiplier = 1, Seed = 3 };
        var trainer = new SegmentationTrainer(model, o);
        using var store = RunStore.Open(System.IO.Path.Combine(dir.Path, "runs.db"));
        var id = trainer.Run(data, () => data.EvalSamples(4), store);
        var miou = store.LastEvaluation(id)["miou"];
        miou.Should().BeGreaterThan(0.85);
        var loss = store.Series(id, "train", "loss");
        loss[^1].value.Should().BeLessThan(loss[0].value / 3);
    }

    [Fact]
    public void Sliding_window_equals_whole_image_for_a_pointwise_model_and_tta_averages_probabilities()
    {
        using var scope = NewDisposeScope();
        manual_seed(0);
        var w = randn(K, 3, 1, 1);
        Tensor Pointwise(Tensor x) => nn.functional.conv2d(x, w);
        var img = randn(1, 3, 37, 50);
        var whole = SegmentationInference.Predict(Pointwise, img, 37, 50, new InferenceOptions());
        var slide = SegmentationInference.Predict(Pointwise, img, 37, 50, new InferenceOptions { Mode = InferenceMode.Slide, Crop = (16, 16), Stride = (11, 11) });
        slide.sub(whole).abs().max().item<float>().Should().BeLessThan(1e-5f);
        var flip = SegmentationInference.Predict(Pointwise, img, 37, 50, new InferenceOptions { Flip = true });
        flip.sub(whole.softmax(1)).abs().max().item<float>().Should().BeLessThan(1e-5f, "a pointwise model is flip-equivariant");
        var ms = SegmentationInference.Predict(Pointwise, img, 20, 25, InferenceOptions.MultiScaleFlip());
        ms.shape.Should().Equal(1, K, 20, 25);
        ms.sum(1).sub(1.0).abs().max().item<float>().Should().BeLessThan(1e-5f);
    }

    [Fact]
    public void Checkpoint_files_are_complete_and_pruned()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        var mgr = new CheckpointManager(dir.Path, keepLast: 2);
        var model = new Dictionary<string, Tensor> { ["a.weight"] = randn(3, 4), ["b.num"] = tensor(7L), ["c.mask"] = tensor(new[] { true, false }) };
        for (long it = 1; it <= 4; it++) mgr.Save(new CheckpointInfo { Iteration = it, Epoch = it / 2, BatchInEpoch = it % 2, DataSeed = 9 }, model, new Dictionary<string, Tensor> { ["a.weight.step"] = tensor(it) });
        mgr.List().Select(x => x.iteration).Should().Equal(3, 4);
        // A torn write (tensors written, JSON missing) is not a checkpoint.
        File.WriteAllBytes(mgr.PathFor(5), new byte[] { 1, 2, 3 });
        mgr.Latest().Should().Be(mgr.PathFor(4));
        using var c = CheckpointManager.Load(mgr.Latest()!);
        c.Info.Iteration.Should().Be(4);
        c.Info.DataSeed.Should().Be(9);
        c.Model["a.weight"].allclose(model["a.weight"], rtol: 0, atol: 0).Should().BeTrue();
        c.Model["b.num"].item<long>().Should().Be(7);
        c.Model["c.mask"].ToArray<bool>().Should().Equal(true, false);
        c.Optimizer["a.weight.step"].item<long>().Should().Be(4);
        c.TorchRngState.Should().NotBeNull();
        var bad = () => CheckpointManager.Load(mgr.PathFor(5));
        bad.Should().Throw<Exception>().WithMessage("*iter_00000005*");
    }

    [Fact]
    public void Run_store_is_queryable_and_a_killed_run_stays_unfinished()
    {
        using var dir = new TempDir();
        var path = System.IO.Path.Combine(dir.Path, "runs.db");
        long id;
        using (var s = RunStore.Open(path))
        {
            id = s.CreateRun("r1", "segmentation", "segformer-b0", "{\"hidden\":[32]}", "{\"dataset\":\"camvid\"}", "{\"lr\":6e-05}", "abc123");
            s.LogMetrics(id, "train", 1, new Dictionary<string, double> { ["loss"] = 2.5, ["lr"] = 1e-5 });
            s.LogMetrics(id, "train", 2, new Dictionary<string, double> { ["loss"] = 2.0, ["lr"] = 2e-5 });
            s.LogMetrics(id, "eval", 2, new Dictionary<string, double> { ["miou"] = 0.25, ["iou.Sky"] = double.NaN });
            s.AddArtifact(id, 2, "checkpoint", "/x/iter_2.safetensors");
            // no EndRun: as if the process was killed
        }
        using (var s = RunStore.Open(path))
        {
            var r = s.Runs().Single();
            r.Status.Should().Be(RunStore.Running);
            r.GitCommit.Should().Be("abc123");
            r.EndedUtc.Should().BeNull();
            s.Series(id, "train", "loss").Should().Equal((1L, 2.5), (2L, 2.0));
            s.LastEvaluation(id)["miou"].Should().Be(0.25);
            double.IsNaN(s.LastEvaluation(id)["iou.Sky"]).Should().BeTrue();
            s.Artifacts(id).Single().Path.Should().Be("/x/iter_2.safetensors");
            s.ResumeRun(id, 1);
            s.Series(id, "train", "loss").Should().Equal((1L, 2.5));
            s.EndRun(id, RunStore.Finished);
            s.Run(id)!.Status.Should().Be(RunStore.Finished);
        }
    }
}
