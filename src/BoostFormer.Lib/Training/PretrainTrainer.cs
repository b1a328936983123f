using System.Diagnostics;
using System.Text.Json;
using BoostFormer.Data;
using BoostFormer.Metrics;
using TorchSharp;
using BoostFormer.Training.Checkpoints;
using BoostFormer.Training.Optimization;
using BoostFormer.Training.Tracking;
using static TorchSharp.torch;

namespace BoostFormer.Training;

/// <summary>
/// Hyper-parameters of encoder pretraining with the DeiT recipe the seeds used: AdamW (weight decay 0.05), cosine schedule
/// with linear warmup, label smoothing 0.1 with mixup 0.8 / cutmix 1.0 (soft targets from the data layer's
/// <see cref="MixupCutmix"/>), random erasing 0.25 (<see cref="ClsTransform.EraseProb"/>) and drop path 0.1 (model config).
/// </summary>
public sealed record PretrainOptions
{
    /// <summary>Run name.</summary>
    public string RunName { get; init; } = "pretrain";
    /// <summary>Model name recorded with the run.</summary>
    public string ModelName { get; init; } = "model";
    /// <summary>Model configuration JSON recorded with the run and in checkpoints.</summary>
    public string ModelConfigJson { get; init; } = "{}";
    /// <summary>Data configuration JSON recorded with the run.</summary>
    public string DataConfigJson { get; init; } = "{}";
    /// <summary>Total steps (or null: <see cref="Epochs"/> × batches per epoch).</summary>
    public long? Iterations { get; init; }
    /// <summary>Epochs when <see cref="Iterations"/> is null.</summary>
    public long? Epochs { get; init; }
    /// <summary>Peak learning rate (DeiT: 5e-4 · batch / 512).</summary>
    public double LearningRate { get; init; } = 5e-4;
    /// <summary>Weight decay of the decayed group.</summary>
    public double WeightDecay { get; init; } = 0.05;
    /// <summary>Warmup steps.</summary>
    public long WarmupIterations { get; init; }
    /// <summary>Global gradient-norm clip, or null.</summary>
    public double? GradClipNorm { get; init; }
    /// <summary>Evaluate every this many steps (0 = at the end only).</summary>
    public long EvalInterval { get; init; }
    /// <summary>Checkpoint every this many steps (0 = at the end only).</summary>
    public long CheckpointInterval { get; init; }
    /// <summary>Periodic checkpoints kept.</summary>
    public int KeepLastCheckpoints { get; init; } = 2;
    /// <summary>libtorch generator seed (drop path, dropout, init of nothing else).</summary>
    public long Seed { get; init; }
    /// <summary>Data seed (must match the loader's), recorded in checkpoints.</summary>
    public long DataSeed { get; init; }
    /// <summary>Output folder (checkpoints, <c>encoder.safetensors</c>); null = none.</summary>
    public string? OutputDirectory { get; init; }
    /// <summary>Continue from the newest checkpoint in <see cref="OutputDirectory"/>.</summary>
    public bool Resume { get; init; }
    /// <summary>
    /// If the store holds a finished run with the same name and identical configuration whose encoder weights still exist,
    /// return that run instead of training again (see <see cref="PretrainTrainer.ReusedRun"/>).
    /// </summary>
    public bool ReuseFinished { get; init; }
    /// <summary>Prefix of the state-dict keys saved as encoder weights.</summary>
    public string EncoderPrefix { get; init; } = "segformer.";
    /// <summary>Git commit recorded with the run.</summary>
    public string? GitCommit { get; init; }
}

/// <summary>Progress of a pretraining run.</summary>
public sealed record PretrainProgress(long Iteration, long TotalIterations, double Loss, double LearningRate, double ImagesPerSecond,
    TimeSpan Elapsed, TimeSpan Eta, double? Top1, double? Top5);

/// <summary>
/// Trains an image classifier (encoder + head) with soft targets (mixup/cutmix/label smoothing) and the soft-target
/// cross-entropy <c>Σ −t·log softmax(z)</c>; evaluates top-1/top-5; checkpoints and resumes like
/// <see cref="SegmentationTrainer"/>; at the end writes the encoder weights (<c>encoder.safetensors</c>, Hugging Face keys)
/// that load into the segmentation model.
/// </summary>
public sealed class PretrainTrainer
{
    private readonly nn.Module<Tensor, Tensor> _model;
    private readonly PretrainOptions _o;

    /// <summary>Prepares the trainer.</summary>
    public PretrainTrainer(nn.Module<Tensor, Tensor> model, PretrainOptions options)
    {
        if (options.Iterations is null && options.Epochs is null) throw new ArgumentException("give Iterations or Epochs", nameof(options));
        if (options.Resume && options.OutputDirectory is null) throw new ArgumentException("Resume needs OutputDirectory", nameof(options));
        _model = model; _o = options;
    }

    /// <summary>The finished run <see cref="Run"/> returned without training (<see cref="PretrainOptions.ReuseFinished"/>), or null.</summary>
    public RunRecord? ReusedRun { get; private set; }

    /// <summary>Path of the encoder weights written at the end (null without an output folder).</summary>
    public string? EncoderPath { get; private set; }

    /// <summary>Soft-target cross-entropy (timm's <c>SoftTargetCrossEntropy</c>): mean over the batch of Σ −t·log softmax(z).</summary>
    public static Tensor SoftTargetCrossEntropy(Tensor logits, Tensor targets)
    {
        using var scope = NewDisposeScope();
        return logits.log_softmax(-1).mul(targets).sum(-1).neg().mean().MoveToOuterDisposeScope();
    }

    /// <summary>Top-1/top-5 accuracy of the model on a loader's epoch 0 (eval mode).</summary>
    public static TopKAccuracy Evaluate(nn.Module<Tensor, Tensor> model, DataLoader<ClsBatch> loader)
    {
        var acc = new TopKAccuracy(1, 5);
        var was = model.training;
        model.eval();
        try
        {
            using var ng = no_grad();
            foreach (var b in loader.Epoch(0))
                using (b)
                using (var scope = NewDisposeScope())
                    acc.Update(model.call(b.Images), b.Labels);
        }
        finally { model.train(was); }
        return acc;
    }

    /// <summary>Trains; returns the run id (0 without a store).</summary>
    public long Run(IClassificationDataset dataset, DataLoader<ClsBatch> train, DataLoader<ClsBatch>? validation = null, RunStore? store = null,
        IProgress<PretrainProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (train.Options.Seed != _o.DataSeed) throw new ArgumentException($"the loader's seed ({train.Options.Seed}) differs from DataSeed ({_o.DataSeed})", nameof(train));
        var total = _o.Iterations ?? _o.Epochs!.Value * train.BatchCount;
        var ckpt = _o.OutputDirectory is null ? null : new CheckpointManager(_o.OutputDirectory, _o.KeepLastCheckpoints);
        var resumeFrom = _o.Resume ? ckpt!.Latest() : null;
        var hyperparameters = JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["iterations"] = total, ["batch_size"] = train.Options.BatchSize, ["lr"] = _o.LearningRate, ["weight_decay"] = _o.WeightDecay,
            ["warmup"] = _o.WarmupIterations, ["schedule"] = "cosine", ["grad_clip"] = _o.GradClipNorm, ["seed"] = _o.Seed, ["data_seed"] = _o.DataSeed,
        });
        if (_o.ReuseFinished && store?.FindFinished(_o.RunName, "pretrain", _o.ModelConfigJson, _o.DataConfigJson, hyperparameters, "encoder") is { } done)
        {
            ReusedRun = done;
            EncoderPath = store.Artifacts(done.Id).Last(a => a.Kind == "encoder").Path;
            return done.Id;
        }
        manual_seed(_o.Seed);
        var named = _model.named_parameters().ToList();
        using var optimizer = TorchOptimizer.AdamW(ParameterGrouping.SegFormerGroups(named, _o.LearningRate, _o.WeightDecay, headLrMultiplier: 1));
        var schedule = new CosineWarmupSchedule(total, _o.WarmupIterations);
        long it = 0, epoch = 0, inEpoch = 0, runId = 0;
        double best = double.NaN;
        if (resumeFrom is not null)
        {
            using var c = CheckpointManager.Load(resumeFrom);
            _model.load_state_dict(c.Model, strict: true);
            optimizer.LoadStateDict(c.Optimizer);
            if (c.TorchRngState is not null) set_rng_state(c.TorchRngState);
            it = c.Info.Iteration; epoch = c.Info.Epoch; inEpoch = c.Info.BatchInEpoch; best = c.Info.BestMetric;
            if (store is not null && c.Info.RunId is { } rid && store.Run(rid) is not null) { runId = rid; store.ResumeRun(rid, it); }
        }
        if (store is not null && runId == 0)
            runId = store.CreateRun(_o.RunName, "pretrain", _o.ModelName, _o.ModelConfigJson, _o.DataConfigJson, hyperparameters, _o.GitCommit);
        var sw = Stopwatch.StartNew();
        var start = it;
        try
        {
            _model.train();
            while (it < total)
            {
                var e = checked((int)epoch);
                var batches = inEpoch == 0 ? train.Epoch(e, cancellationToken)
                    : train.Plan(e).Skip(checked((int)inEpoch)).Select(r => Loaders.BuildClsBatch(dataset, TransformOf(train), MixOf(train), r));
                foreach (var b in batches)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var t0 = sw.Elapsed;
                    double lossValue;
                    using (b)
                    using (var scope = NewDisposeScope())
                    {
                        schedule.Apply(optimizer, it);
                        var loss = SoftTargetCrossEntropy(_model.call(b.Images), b.Targets);
                        loss.backward();
                        if (_o.GradClipNorm is { } clip) GradientClipping.ClipGradNorm(named.Select(p => (Tensor)p.parameter), clip);
                        optimizer.Step();
                        optimizer.ZeroGrad();
                        lossValue = loss.item<float>();
                        if (!double.IsFinite(lossValue)) throw new InvalidOperationException($"loss became {lossValue} at iteration {it + 1}");
                    }
                    it++; inEpoch++;
                    var dt = (sw.Elapsed - t0).TotalSeconds;
                    var ips = dt > 0 ? train.Options.BatchSize / dt : 0;
                    var eta = TimeSpan.FromSeconds(sw.Elapsed.TotalSeconds / Math.Max(1, it - start) * (total - it));
                    store?.LogMetrics(runId, "train", it, new Dictionary<string, double> { ["loss"] = lossValue, ["lr"] = optimizer.GetLr(0), ["images_per_s"] = ips });
                    double? top1 = null, top5 = null;
                    var last = it == total;
                    if (validation is not null && ((_o.EvalInterval > 0 && it % _o.EvalInterval == 0) || last))
                    {
                        var acc = Evaluate(_model, validation);
                        top1 = acc.Accuracy(1); top5 = acc.Accuracy(5);
                        store?.LogMetrics(runId, "eval", it, new Dictionary<string, double> { ["top1"] = top1.Value, ["top5"] = top5.Value });
                        if (double.IsNaN(best) || top1 > best) best = top1.Value;
                    }
                    if (ckpt is not null && ((_o.CheckpointInterval > 0 && it % _o.CheckpointInterval == 0) || last))
                    {
                        var (ne, nb) = inEpoch >= train.BatchCount ? (epoch + 1, 0L) : (epoch, inEpoch);
                        var opt = optimizer.StateDict();
                        try
                        {
                            var p = ckpt.Save(new CheckpointInfo { Iteration = it, Epoch = ne, BatchInEpoch = nb, DataSeed = _o.DataSeed, BestMetric = best, RunId = runId == 0 ? null : runId, Schedule = "cosine-warmup", ConfigJson = _o.ModelConfigJson }, _model.state_dict(), opt);
                            store?.AddArtifact(runId, it, "checkpoint", p);
                        }
                        finally { foreach (var t in opt.Values) t.Dispose(); }
                    }
                    progress?.Report(new PretrainProgress(it, total, lossValue, optimizer.GetLr(0), ips, sw.Elapsed, eta, top1, top5));
                    if (last) break;
                }
                if (it >= total) break;
                epoch++; inEpoch = 0;
            }
            if (_o.OutputDirectory is not null)
            {
                EncoderPath = Path.Combine(_o.OutputDirectory, "encoder.safetensors");
                var enc = _model.state_dict().Where(kv => kv.Key.StartsWith(_o.EncoderPrefix, StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value);
                if (enc.Count == 0) throw new InvalidOperationException($"no state-dict key starts with '{_o.EncoderPrefix}': cannot save encoder weights");
                BoostFormer.IO.Safetensors.Save(EncoderPath, enc, new Dictionary<string, string> { ["format"] = "pt", ["source"] = "boostformer pretrain", ["config"] = _o.ModelConfigJson });
                store?.AddArtifact(runId, it, "encoder", EncoderPath);
            }
            store?.EndRun(runId, RunStore.Finished);
            return runId;
        }
        catch (Exception ex)
        {
            try { store?.EndRun(runId, RunStore.Failed, ex.GetType().Name + ": " + ex.Message); } catch (Exception) { }
            throw;
        }
    }

    // The loader's builder closes over its transform and mix; resuming mid-epoch rebuilds from the plan with the same ones.
    private ClsTransform? _transform;
    private MixupCutmix? _mix;
    /// <summary>Sets the transform and mix the loader was built with (needed to rebuild a resumed epoch's batches).</summary>
    public PretrainTrainer WithPipeline(ClsTransform transform, MixupCutmix? mix) { _transform = transform; _mix = mix; return this; }
    private ClsTransform TransformOf(DataLoader<ClsBatch> _) => _transform ?? throw new InvalidOperationException("resuming mid-epoch needs WithPipeline(transform, mix)");
    private MixupCutmix? MixOf(DataLoader<ClsBatch> _) => _mix;
}
