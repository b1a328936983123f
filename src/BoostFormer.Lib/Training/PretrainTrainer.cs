using System.Text.Json;
using BoostFormer.Data;
using BoostFormer.Metrics;
using TorchSharp;
using BoostFormer.Training.Optimization;
using BoostFormer.Training.Tracking;
using static TorchSharp.torch;

namespace BoostFormer.Training;

/// <summary>
/// Hyper-parameters of encoder pretraining (besides those of every run, <see cref="TrainingOptions"/>) with the DeiT recipe
/// the seeds used: AdamW (lr 5e-4, weight decay 0.05), cosine schedule with linear warmup, label smoothing 0.1 with mixup
/// 0.8 / cutmix 1.0 (soft targets from the data layer's <see cref="MixupCutmix"/>), random erasing 0.25
/// (<see cref="ClsTransform.EraseProb"/>) and drop path 0.1 (model config).
/// </summary>
public sealed record PretrainOptions : TrainingOptions
{
    /// <summary>The DeiT recipe's defaults.</summary>
    public PretrainOptions()
    {
        RunName = "pretrain";
        LearningRate = 5e-4;
        WeightDecay = 0.05;
    }

    /// <summary>Prefix of the state-dict keys saved as encoder weights.</summary>
    public string EncoderPrefix { get; init; } = "segformer.";

    /// <summary>
    /// <see cref="BoostFormer.Precision.Fp32"/>, or <see cref="BoostFormer.Precision.Fp64"/> for numerical checks (model, loss and
    /// AdamW state in float64; checkpoints and encoder weights then hold float64 tensors). bf16 is not offered here.
    /// </summary>
    public Precision Precision { get; init; } = Precision.Fp32;
}

/// <summary>Progress of a pretraining run, with top-1/top-5 validation accuracy at evaluations.</summary>
public sealed record PretrainProgress(long Iteration, long TotalIterations, long Epoch, double Loss, double LearningRate, double ImagesPerSecond,
    TimeSpan Elapsed, TimeSpan Eta, double? Top1, double? Top5)
    : TrainingProgress(Iteration, TotalIterations, Epoch, Loss, LearningRate, ImagesPerSecond, Elapsed, Eta)
{
    /// <inheritdoc />
    public override string? EvaluationSummary => Top1 is { } t1 ? FormattableString.Invariant($"eval @ {Iteration}: top-1 {t1 * 100:F2}  top-5 {Top5 * 100:F2}") : null;
}

/// <summary>
/// Trains an image classifier (encoder + head) in the <see cref="TrainingLoop{TBatch, TProgress}"/> with soft targets
/// (mixup/cutmix/label smoothing) and the soft-target cross-entropy <c>Σ −t·log softmax(z)</c>; evaluates top-1/top-5; at
/// the end writes the encoder weights (<c>encoder.safetensors</c>, Hugging Face keys) that load into the segmentation model.
/// </summary>
public sealed class PretrainTrainer : TrainingLoop<ClsBatch, PretrainProgress>
{
    private readonly nn.Module<Tensor, Tensor> _model;
    private readonly PretrainOptions _o;
    private DataLoader<ClsBatch>? _validation;

    /// <summary>Prepares the trainer.</summary>
    public PretrainTrainer(nn.Module<Tensor, Tensor> model, PretrainOptions options) : base(options)
    {
        _model = model; _o = options;
    }

    /// <summary>Path of the encoder weights written at the end, or of the reused run's (null without an output folder).</summary>
    public string? EncoderPath { get; private set; }

    /// <summary>Soft-target cross-entropy (timm's <c>SoftTargetCrossEntropy</c>): mean over the batch of Σ −t·log softmax(z).</summary>
    public static Tensor SoftTargetCrossEntropy(Tensor logits, Tensor targets)
    {
        using var scope = NewDisposeScope();
        return logits.log_softmax(-1).mul(targets).sum(-1).neg().mean().MoveToOuterDisposeScope();
    }

    /// <summary>Top-1/top-5 accuracy of the model on a loader's epoch 0 (eval mode; images cast to the model's parameter type).</summary>
    public static TopKAccuracy Evaluate(nn.Module<Tensor, Tensor> model, DataLoader<ClsBatch> loader)
    {
        var acc = new TopKAccuracy(1, 5);
        var was = model.training;
        var dtype = model.parameters().FirstOrDefault()?.dtype ?? ScalarType.Float32;
        model.eval();
        try
        {
            using var ng = no_grad();
            foreach (var b in loader.Epoch(0))
                using (b)
                using (var scope = NewDisposeScope())
                    acc.Update(model.call(b.Images.dtype == dtype ? b.Images : b.Images.to_type(dtype)), b.Labels);
        }
        finally { model.train(was); }
        return acc;
    }

    /// <summary>Trains; returns the run id (0 without a store).</summary>
    public long Run(DataLoader<ClsBatch> train, DataLoader<ClsBatch>? validation = null, RunStore? store = null,
        IProgress<PretrainProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (train.Options.Seed != _o.DataSeed) throw new ArgumentException($"the loader's seed ({train.Options.Seed}) differs from DataSeed ({_o.DataSeed})", nameof(train));
        _validation = validation;
        return RunLoop(train, store, progress, cancellationToken);
    }

    /// <inheritdoc />
    protected override string Kind => "pretrain";
    /// <inheritdoc />
    protected override string ScheduleName => "cosine-warmup";
    /// <inheritdoc />
    protected override string ReuseArtifact => "encoder";
    /// <inheritdoc />
    protected override bool CanEvaluate => _validation is not null;

    /// <inheritdoc />
    public override Dictionary<string, Tensor> StateDict() => _model.state_dict();

    /// <inheritdoc />
    protected override void Reused(RunStore store, RunRecord run) => EncoderPath = store.Artifacts(run.Id).Last(a => a.Kind == "encoder").Path;

    /// <inheritdoc />
    protected override (ITrainingOptimizer, LrSchedule, IReadOnlyList<Tensor>) Start(long totalIterations)
    {
        if (_o.Precision == Precision.Fp64) _model.to(ScalarType.Float64); // before collecting the parameters: to() swaps them
        else if (_o.Precision != Precision.Fp32) throw new ArgumentException($"pretraining runs in fp32 or fp64, not {_o.Precision.Name()}");
        var named = _model.named_parameters().ToList();
        var optimizer = TrainingOptimizer.AdamW(ParameterGrouping.SegformerGroups(named, _o.LearningRate, _o.WeightDecay, headLrMultiplier: 1));
        _model.train();
        return (optimizer, new CosineWarmupSchedule(totalIterations, _o.WarmupIterations), named.Select(p => (Tensor)p.parameter).ToList());
    }

    /// <inheritdoc />
    protected override void Stop()
    {
        if (_o.Precision == Precision.Fp64) _model.to(ScalarType.Float32); // leave the model as it was given
    }

    /// <inheritdoc />
    protected override StepLoss Loss(ClsBatch batch)
    {
        if (_o.Precision == Precision.Fp64)
        {
            using var scope = NewDisposeScope();
            var l64 = SoftTargetCrossEntropy(_model.call(batch.Images.to_type(ScalarType.Float64)), batch.Targets.to_type(ScalarType.Float64)).MoveToOuterDisposeScope();
            var v64 = l64.item<double>();
            return new StepLoss(l64, v64, new Dictionary<string, double> { ["loss"] = v64 });
        }
        var loss = SoftTargetCrossEntropy(_model.call(batch.Images), batch.Targets);
        var value = loss.item_as_double();
        return new StepLoss(loss, value, new Dictionary<string, double> { ["loss"] = value });
    }

    /// <inheritdoc />
    protected override EvaluationScore Evaluate()
    {
        var acc = Evaluate(_model, _validation!);
        double top1 = acc.Accuracy(1), top5 = acc.Accuracy(5);
        return new EvaluationScore(top1, new Dictionary<string, double> { ["top1"] = top1, ["top5"] = top5 });
    }

    /// <inheritdoc />
    protected override PretrainProgress Progress(long iteration, long totalIterations, long epoch, double loss, double learningRate, double imagesPerSecond,
        TimeSpan elapsed, TimeSpan eta, StepLoss step, double? gradNorm, EvaluationScore? evaluation) =>
        new(iteration, totalIterations, epoch, loss, learningRate, imagesPerSecond, elapsed, eta, evaluation?.Logged["top1"], evaluation?.Logged["top5"]);

    /// <inheritdoc />
    protected override void Finish(RunStore? store, long runId, long iteration)
    {
        if (RunDirectory is null) return;
        EncoderPath = Path.Combine(RunDirectory, "encoder.safetensors");
        var enc = _model.state_dict().Where(kv => kv.Key.StartsWith(_o.EncoderPrefix, StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value);
        if (enc.Count == 0) throw new InvalidOperationException($"no state-dict key starts with '{_o.EncoderPrefix}': cannot save encoder weights");
        BoostFormer.IO.Safetensors.Save(EncoderPath, enc, new Dictionary<string, string> { ["format"] = "pt", ["source"] = "boostformer pretrain", ["config"] = _o.ModelConfigJson });
        store?.AddArtifact(runId, iteration, "encoder", EncoderPath);
    }

    /// <inheritdoc />
    protected override string HyperparametersJson(long totalIterations, int batchSize) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["iterations"] = totalIterations, ["batch_size"] = batchSize, ["lr"] = _o.LearningRate, ["weight_decay"] = _o.WeightDecay,
        ["warmup"] = _o.WarmupIterations, ["schedule"] = "cosine", ["grad_clip"] = _o.GradClipNorm, ["seed"] = _o.Seed, ["data_seed"] = _o.DataSeed,
    }.Concat(_o.Precision == Precision.Fp32 ? [] : [new KeyValuePair<string, object?>("precision", _o.Precision.Name())])
        .ToDictionary(kv => kv.Key, kv => kv.Value)); // fp32 runs keep the record they always had
}
