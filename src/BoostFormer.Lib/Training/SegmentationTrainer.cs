using System.Diagnostics;
using System.Text.Json;
using BoostFormer.Metrics;
using TorchSharp;
using BoostFormer.Training.Checkpoints;
using BoostFormer.Training.Evaluation;
using BoostFormer.Training.Losses;
using BoostFormer.Training.Optimization;
using BoostFormer.Training.Tracking;
using static TorchSharp.torch;

namespace BoostFormer.Training;

/// <summary>
/// Hyper-parameters of segmentation fine-tuning. Defaults follow SegFormer's mmseg recipe: AdamW lr 6e-5, weight decay
/// 0.01, head lr ×10, no decay for norms/biases/layer scales/stage weights, linear warmup (1500 iterations) then
/// polynomial decay with power 1.0 to 0.
/// </summary>
public sealed record SegmentationTrainerOptions
{
    /// <summary>Run name in the tracking database.</summary>
    public string RunName { get; init; } = "segmentation";
    /// <summary>Model name/config recorded with the run.</summary>
    public string ModelName { get; init; } = "model";
    /// <summary>Model configuration JSON recorded with the run.</summary>
    public string ModelConfigJson { get; init; } = "{}";
    /// <summary>Data configuration JSON recorded with the run.</summary>
    public string DataConfigJson { get; init; } = "{}";
    /// <summary>Total optimizer steps; if null, <see cref="Epochs"/> × batches per epoch.</summary>
    public long? Iterations { get; init; }
    /// <summary>Epochs (used when <see cref="Iterations"/> is null).</summary>
    public long? Epochs { get; init; }
    /// <summary>Base learning rate (backbone).</summary>
    public double LearningRate { get; init; } = 6e-5;
    /// <summary>AdamW weight decay for the decayed groups.</summary>
    public double WeightDecay { get; init; } = 0.01;
    /// <summary>Learning-rate multiplier of the heads.</summary>
    public double HeadLrMultiplier { get; init; } = 10;
    /// <summary>Linear warmup steps.</summary>
    public long WarmupIterations { get; init; } = 1500;
    /// <summary>Polynomial decay power.</summary>
    public double PolyPower { get; init; } = 1.0;
    /// <summary>Final learning rate of the polynomial decay.</summary>
    public double EndLearningRate { get; init; }
    /// <summary>Global gradient-norm clip, or null for none.</summary>
    public double? GradClipNorm { get; init; }
    /// <summary>Loss configuration.</summary>
    public SegmentationLossOptions Loss { get; init; } = new();
    /// <summary>Train an auxiliary FCN head on the stage-3 features (its loss weighted by <c>Loss.AuxiliaryWeight</c>).</summary>
    public bool AuxiliaryHead { get; init; }
    /// <summary>Channels of the auxiliary head's conv.</summary>
    public long AuxiliaryChannels { get; init; } = 256;
    /// <summary>Evaluate every this many iterations (0 = only at the end; needs a validation source).</summary>
    public long EvalInterval { get; init; }
    /// <summary>Write a checkpoint every this many iterations (0 = only at the end).</summary>
    public long CheckpointInterval { get; init; }
    /// <summary>Periodic checkpoints kept.</summary>
    public int KeepLastCheckpoints { get; init; } = 2;
    /// <summary>Log training metrics every this many iterations.</summary>
    public long LogInterval { get; init; } = 1;
    /// <summary>Seed of libtorch's generator (dropout, drop path, head init) — the data source has its own.</summary>
    public long Seed { get; init; }
    /// <summary>Seed of the data pipeline, recorded in checkpoints.</summary>
    public long DataSeed { get; init; }
    /// <summary>Folder for checkpoints (null = no checkpoints).</summary>
    public string? OutputDirectory { get; init; }
    /// <summary>Continue from the newest complete checkpoint in <see cref="OutputDirectory"/> if there is one.</summary>
    public bool Resume { get; init; }
    /// <summary>
    /// If the store holds a finished run with the same name and identical configuration (model, data, hyper-parameters)
    /// whose last checkpoint still exists, return that run instead of training again (see <see cref="SegmentationTrainer.ReusedRun"/>).
    /// </summary>
    public bool ReuseFinished { get; init; }
    /// <summary>Validation inference settings.</summary>
    public InferenceOptions Evaluation { get; init; } = new();
    /// <summary>Class names for per-class metrics.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }
    /// <summary>Git commit recorded with the run.</summary>
    public string? GitCommit { get; init; }
}

/// <summary>Progress of a training run, reported after every iteration and evaluation.</summary>
public sealed record TrainingProgress(long Iteration, long TotalIterations, long Epoch, double Loss, double AuxLoss, double LearningRate,
    double ImagesPerSecond, TimeSpan Elapsed, TimeSpan Eta, double? GradNorm, SegmentationMetrics? Validation);

/// <summary>
/// Fine-tunes a segmentation model: forward, loss (<see cref="SegmentationLoss"/>, optional auxiliary FCN head on stage 3),
/// backward, optional gradient clipping, AdamW step with the poly-warmup schedule; periodic validation (mIoU) and
/// checkpoints; every value logged to a <see cref="RunStore"/>. Runs resume exactly from a checkpoint.
/// </summary>
public sealed class SegmentationTrainer
{
    private readonly ISegmentationModel _model;
    private readonly SegmentationTrainerOptions _o;

    /// <summary>Prepares a trainer (call <see cref="Run"/> to train).</summary>
    public SegmentationTrainer(ISegmentationModel model, SegmentationTrainerOptions options)
    {
        _model = model;
        _o = options;
        if (options.AuxiliaryHead && model.Stage3Channels <= 0)
            throw new ArgumentException("AuxiliaryHead needs a model that exposes its stage-3 features (Stage3Channels > 0)", nameof(options));
        if (options.Iterations is null && options.Epochs is null) throw new ArgumentException("give Iterations or Epochs", nameof(options));
        if (options.Resume && options.OutputDirectory is null) throw new ArgumentException("Resume needs OutputDirectory (where the checkpoints are)", nameof(options));
    }

    /// <summary>The finished run <see cref="Run"/> returned without training (<see cref="SegmentationTrainerOptions.ReuseFinished"/>), or null.</summary>
    public RunRecord? ReusedRun { get; private set; }

    /// <summary>The auxiliary head (after <see cref="Run"/> started), or null.</summary>
    public FCNHead? AuxiliaryHead { get; private set; }

    /// <summary>The state dict saved in checkpoints: the model's plus <c>auxiliary_head.*</c>.</summary>
    public Dictionary<string, Tensor> StateDict()
    {
        var d = _model.Module.state_dict();
        if (AuxiliaryHead is not null) foreach (var (k, v) in AuxiliaryHead.state_dict()) d["auxiliary_head." + k] = v;
        return d;
    }

    /// <summary>
    /// Trains to the end and returns the run id (0 when no store is given). Exceptions mark the run failed and propagate;
    /// a killed process leaves it <c>running</c>.
    /// </summary>
    public long Run(ISegmentationBatchSource train, Func<IEnumerable<EvalSample>>? validation = null, RunStore? store = null,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var totalIterations = _o.Iterations ?? _o.Epochs!.Value * train.BatchesPerEpoch;
        if (totalIterations <= 0) throw new ArgumentException($"the run has {totalIterations} iterations (batches per epoch: {train.BatchesPerEpoch})");
        var ckpt = _o.OutputDirectory is null ? null : new CheckpointManager(_o.OutputDirectory, _o.KeepLastCheckpoints);
        var resumeFrom = _o.Resume ? ckpt!.Latest() : null;
        var hyperparameters = HyperparametersJson(totalIterations, train);
        if (_o.ReuseFinished && store?.FindFinished(_o.RunName, "segmentation", _o.ModelConfigJson, _o.DataConfigJson, hyperparameters, "checkpoint") is { } finished)
        {
            ReusedRun = finished;
            return finished.Id;
        }

        manual_seed(_o.Seed);
        if (_o.AuxiliaryHead) AuxiliaryHead = new FCNHead(_model.Stage3Channels, _o.AuxiliaryChannels, _model.NumClasses);
        using var loss = new SegmentationLoss(_o.Loss, _model.NumClasses);
        var named = _model.Module.named_parameters().ToList();
        if (AuxiliaryHead is not null) named.AddRange(AuxiliaryHead.named_parameters().Select(p => ("auxiliary_head." + p.name, p.parameter)));
        using var optimizer = TorchOptimizer.AdamW(ParameterGrouping.SegFormerGroups(named, _o.LearningRate, _o.WeightDecay, _o.HeadLrMultiplier));
        var schedule = new PolynomialWarmupSchedule(totalIterations, _o.WarmupIterations, _o.LearningRate, _o.PolyPower, _o.EndLearningRate);

        long iteration = 0, epoch = 0, batchInEpoch = 0;
        double best = double.NaN;
        long runId = 0;
        if (resumeFrom is not null)
        {
            using var c = CheckpointManager.Load(resumeFrom);
            var own = StateDict();
            var missing = own.Keys.Where(k => !c.Model.ContainsKey(k)).ToList();
            if (missing.Count > 0) throw new InvalidDataException($"{resumeFrom}: checkpoint lacks {missing.Count} model key(s), e.g. {missing[0]}");
            using (no_grad())
                foreach (var (k, dst) in own)
                {
                    var src = c.Model[k];
                    if (!src.shape.SequenceEqual(dst.shape)) throw new InvalidDataException($"{resumeFrom}: {k} has shape [{string.Join(", ", src.shape)}], model expects [{string.Join(", ", dst.shape)}]");
                    dst.copy_(src);
                }
            optimizer.LoadStateDict(c.Optimizer);
            if (c.TorchRngState is not null) set_rng_state(c.TorchRngState);
            iteration = c.Info.Iteration; epoch = c.Info.Epoch; batchInEpoch = c.Info.BatchInEpoch; best = c.Info.BestMetric;
            if (c.Info.DataSeed != _o.DataSeed) throw new InvalidOperationException($"{resumeFrom}: written with data seed {c.Info.DataSeed}, resuming with {_o.DataSeed}");
            if (store is not null && c.Info.RunId is { } rid && store.Run(rid) is not null) { runId = rid; store.ResumeRun(runId, iteration); }
        }
        if (store is not null && runId == 0)
            runId = store.CreateRun(_o.RunName, "segmentation", _o.ModelName, _o.ModelConfigJson, _o.DataConfigJson, hyperparameters, _o.GitCommit);

        var sw = Stopwatch.StartNew();
        long startIteration = iteration;
        try
        {
            _model.Module.train();
            AuxiliaryHead?.train();
            while (iteration < totalIterations)
            {
                foreach (var batch in train.Epoch(epoch, batchInEpoch))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    double lossValue, auxValue; double? gradNorm = null;
                    var t0 = sw.Elapsed;
                    using (batch)
                    using (var scope = NewDisposeScope())
                    {
                        schedule.Apply(optimizer, iteration);
                        using var fwd = _model.Forward(batch.Images, AuxiliaryHead is not null);
                        var aux = AuxiliaryHead is not null ? AuxiliaryHead.call(fwd.Stage3 ?? throw new InvalidOperationException("the model returned no stage-3 features")) : null;
                        var total = loss.Compute(fwd.Logits, batch.Labels, aux, out var parts);
                        total.backward();
                        if (_o.GradClipNorm is { } clip) gradNorm = GradientClipping.ClipGradNorm(named.Select(p => (Tensor)p.Item2), clip);
                        optimizer.Step();
                        optimizer.ZeroGrad();
                        lossValue = parts.Main; auxValue = parts.Auxiliary;
                        if (!double.IsFinite(lossValue)) throw new InvalidOperationException($"loss became {lossValue} at iteration {iteration + 1}");
                    }
                    iteration++; batchInEpoch++;
                    var stepTime = (sw.Elapsed - t0).TotalSeconds;
                    var ips = stepTime > 0 ? train.BatchSize / stepTime : 0;
                    var done = iteration - startIteration;
                    var eta = TimeSpan.FromSeconds(sw.Elapsed.TotalSeconds / Math.Max(1, done) * (totalIterations - iteration));
                    var lr = optimizer.GetLr(0);
                    if (store is not null && (iteration % Math.Max(1, _o.LogInterval) == 0 || iteration == totalIterations))
                    {
                        var m = new Dictionary<string, double> { ["loss"] = lossValue + _o.Loss.AuxiliaryWeight * auxValue, ["loss_main"] = lossValue, ["lr"] = lr, ["images_per_s"] = ips };
                        if (AuxiliaryHead is not null) m["loss_aux"] = auxValue;
                        if (gradNorm is { } gn) m["grad_norm"] = gn;
                        store.LogMetrics(runId, "train", iteration, m);
                    }
                    SegmentationMetrics? val = null;
                    var last = iteration == totalIterations;
                    if (validation is not null && ((_o.EvalInterval > 0 && iteration % _o.EvalInterval == 0) || last))
                    {
                        val = SegmentationEvaluator.Evaluate(_model, validation(), _o.Evaluation, _o.ClassNames);
                        store?.LogMetrics(runId, "eval", iteration, val.ToDictionary());
                        if (double.IsNaN(best) || val.MeanIoU > best)
                        {
                            best = val.MeanIoU;
                            if (ckpt is not null)
                            {
                                var p = ckpt.SaveBest(Info(iteration, epoch, batchInEpoch, best, runId), StateDict());
                                store?.AddArtifact(runId, iteration, "best", p);
                            }
                        }
                    }
                    if (ckpt is not null && ((_o.CheckpointInterval > 0 && iteration % _o.CheckpointInterval == 0) || last))
                    {
                        // The data position saved is that of the next batch: roll over to the next epoch when this one is exhausted.
                        var (e, b) = batchInEpoch >= train.BatchesPerEpoch ? (epoch + 1, 0L) : (epoch, batchInEpoch);
                        var opt = optimizer.StateDict();
                        try
                        {
                            var p = ckpt.Save(Info(iteration, e, b, best, runId), StateDict(), opt);
                            store?.AddArtifact(runId, iteration, "checkpoint", p);
                        }
                        finally { foreach (var t in opt.Values) t.Dispose(); }
                    }
                    progress?.Report(new TrainingProgress(iteration, totalIterations, epoch, lossValue, auxValue, lr, ips, sw.Elapsed, eta, gradNorm, val));
                    if (last) break;
                }
                if (iteration >= totalIterations) break;
                epoch++; batchInEpoch = 0;
            }
            store?.EndRun(runId, RunStore.Finished);
            return runId;
        }
        catch (Exception ex)
        {
            try { store?.EndRun(runId, RunStore.Failed, ex.GetType().Name + ": " + ex.Message); } catch (Exception) { /* keep the original error */ }
            throw;
        }
    }

    private CheckpointInfo Info(long iteration, long epoch, long batch, double best, long runId) => new()
    {
        Iteration = iteration, Epoch = epoch, BatchInEpoch = batch, DataSeed = _o.DataSeed, BestMetric = best,
        RunId = runId == 0 ? null : runId, Schedule = "poly-warmup", ConfigJson = _o.ModelConfigJson,
    };

    private string HyperparametersJson(long total, ISegmentationBatchSource train) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["iterations"] = total, ["epochs"] = _o.Epochs, ["batch_size"] = train.BatchSize, ["lr"] = _o.LearningRate, ["weight_decay"] = _o.WeightDecay,
        ["head_lr_mult"] = _o.HeadLrMultiplier, ["warmup"] = _o.WarmupIterations, ["poly_power"] = _o.PolyPower, ["end_lr"] = _o.EndLearningRate,
        ["grad_clip"] = _o.GradClipNorm, ["aux_head"] = _o.AuxiliaryHead, ["aux_weight"] = _o.Loss.AuxiliaryWeight,
        ["class_weights"] = _o.Loss.ClassWeights, ["label_smoothing"] = _o.Loss.LabelSmoothing,
        ["ohem_thresh"] = _o.Loss.Ohem?.Threshold, ["ohem_min_kept"] = _o.Loss.Ohem?.MinKept, ["seed"] = _o.Seed, ["data_seed"] = _o.DataSeed,
    });
}
