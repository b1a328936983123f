using System.Text.Json;
using BoostFormer.Metrics;
using TorchSharp;
using BoostFormer.Training.Evaluation;
using BoostFormer.Training.Losses;
using BoostFormer.Training.Optimization;
using BoostFormer.Training.Tracking;
using static TorchSharp.torch;

namespace BoostFormer.Training;

/// <summary>
/// Hyper-parameters of segmentation fine-tuning (besides those of every run, <see cref="TrainingOptions"/>). Defaults follow
/// SegFormer's mmseg recipe: AdamW lr 6e-5, weight decay 0.01, head lr ×10, no decay for norms/biases/layer scales/stage
/// weights, linear warmup (1500 iterations) then polynomial decay with power 1.0 to 0.
/// </summary>
public sealed record SegmentationTrainerOptions : TrainingOptions
{
    /// <summary>The mmseg SegFormer recipe's defaults.</summary>
    public SegmentationTrainerOptions()
    {
        RunName = "segmentation";
        LearningRate = 6e-5;
        WeightDecay = 0.01;
        WarmupIterations = 1500;
    }

    /// <summary>Learning-rate multiplier of the heads.</summary>
    public double HeadLrMultiplier { get; init; } = 10;
    /// <summary>Polynomial decay power.</summary>
    public double PolyPower { get; init; } = 1.0;
    /// <summary>Final learning rate of the polynomial decay.</summary>
    public double EndLearningRate { get; init; }
    /// <summary>Loss configuration.</summary>
    public SegmentationLossOptions Loss { get; init; } = new();
    /// <summary>Train an auxiliary FCN head on the stage-3 features (its loss weighted by <c>Loss.AuxiliaryWeight</c>).</summary>
    public bool AuxiliaryHead { get; init; }
    /// <summary>Channels of the auxiliary head's conv.</summary>
    public long AuxiliaryChannels { get; init; } = 256;
    /// <summary>Validation inference settings.</summary>
    public InferenceOptions Evaluation { get; init; } = new();
    /// <summary>Class names for per-class metrics.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }
    /// <summary>Channel-wise distillation from the trainer's teacher (its loss added to the segmentation loss), or null.</summary>
    public DistillationOptions? Distillation { get; init; }
    /// <summary>
    /// Training precision: <see cref="BoostFormer.Precision.Fp32"/>, or <see cref="BoostFormer.Precision.Bf16"/> mixed precision — forward
    /// and backward in bfloat16, loss in float32, fp32 master weights updated by the optimizer (<see cref="MasterWeights"/>);
    /// validation then runs in bf16 too; or <see cref="BoostFormer.Precision.Fp64"/> — model, loss and AdamW state in float64,
    /// for numerical checks such as the data-parallel equivalence tests (checkpoints then hold float64 tensors).
    /// </summary>
    public Precision Precision { get; init; } = Precision.Fp32;
}

/// <summary>Progress of a segmentation run: the main and auxiliary losses, the gradient norm and any validation metrics.</summary>
public sealed record SegmentationProgress(long Iteration, long TotalIterations, long Epoch, double Loss, double AuxLoss, double LearningRate,
    double ImagesPerSecond, TimeSpan Elapsed, TimeSpan Eta, double? GradNorm, SegmentationMetrics? Validation)
    : TrainingProgress(Iteration, TotalIterations, Epoch, Loss, LearningRate, ImagesPerSecond, Elapsed, Eta)
{
    /// <inheritdoc />
    public override string? EvaluationSummary => Validation is { } v
        ? FormattableString.Invariant($"eval @ {Iteration}: mIoU {v.MeanIoU * 100:F2}  mAcc {v.MeanAccuracy * 100:F2}  aAcc {v.AllAccuracy * 100:F2}")
        : null;
}

/// <summary>
/// Fine-tunes a segmentation model in the <see cref="TrainingLoop{TBatch, TProgress}"/>: each step is forward, loss
/// (<see cref="SegmentationLoss"/>, optional auxiliary FCN head on stage 3), backward, optional gradient clipping and an
/// AdamW step with the poly-warmup schedule; evaluations measure mIoU and keep the best checkpoint.
/// </summary>
public sealed class SegmentationTrainer : TrainingLoop<SegmentationBatch, SegmentationProgress>
{
    private readonly ISegmentationModel _model;
    private readonly SegmentationTrainerOptions _o;
    private Func<IEnumerable<EvalSample>>? _validation;
    private SegmentationLoss? _loss;
    private readonly ISegmentationModel? _teacher;
    private MasterWeights? _masters;

    /// <summary>
    /// Prepares a trainer (call <see cref="Run"/> to train). With <paramref name="teacher"/> and
    /// <see cref="SegmentationTrainerOptions.Distillation"/> set, each step adds the channel-wise distillation loss of the
    /// student's logits against the teacher's (computed in eval mode, without gradient; the teacher is not trained).
    /// </summary>
    public SegmentationTrainer(ISegmentationModel model, SegmentationTrainerOptions options, ISegmentationModel? teacher = null) : base(options)
    {
        _model = model;
        _o = options;
        _teacher = teacher;
        if ((teacher is null) != (options.Distillation is null))
            throw new ArgumentException("distillation needs both a teacher model and Distillation options", nameof(teacher));
        options.Distillation?.Validate();
        if (teacher is not null && teacher.NumClasses != model.NumClasses)
            throw new ArgumentException($"the teacher predicts {teacher.NumClasses} classes, the student {model.NumClasses}", nameof(teacher));
        if (options.AuxiliaryHead && model.Stage3Channels <= 0)
            throw new ArgumentException("AuxiliaryHead needs a model that exposes its stage-3 features (Stage3Channels > 0)", nameof(options));
    }

    /// <summary>The auxiliary head (after <see cref="Run"/> started), or null.</summary>
    public FCNHead? AuxiliaryHead { get; private set; }

    /// <summary>The state dict saved in checkpoints: the model's plus <c>auxiliary_head.*</c>.</summary>
    public override Dictionary<string, Tensor> StateDict()
    {
        var d = _model.Module.state_dict();
        if (AuxiliaryHead is not null) foreach (var (k, v) in AuxiliaryHead.state_dict()) d["auxiliary_head." + k] = v;
        // bf16 mixed precision: the checkpoint holds the fp32 masters (and restoring writes into them).
        if (_masters is not null) foreach (var (k, m) in _masters.Masters) d[k] = m;
        return d;
    }

    /// <summary>
    /// Trains to the end and returns the run id (0 when no store is given), validating on <paramref name="validation"/>'s
    /// samples. Exceptions mark the run failed and propagate; a killed process leaves it <c>running</c>.
    /// </summary>
    public long Run(ISegmentationBatchSource train, Func<IEnumerable<EvalSample>>? validation = null, RunStore? store = null,
        IProgress<SegmentationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        _validation = validation;
        return RunLoop(train, store, progress, cancellationToken);
    }

    /// <inheritdoc />
    protected override string Kind => "segmentation";
    /// <inheritdoc />
    protected override string ScheduleName => "poly-warmup";
    /// <inheritdoc />
    protected override string ReuseArtifact => "checkpoint";
    /// <inheritdoc />
    protected override bool KeepsBestCheckpoint => true;
    /// <inheritdoc />
    protected override bool CanEvaluate => _validation is not null;

    /// <inheritdoc />
    protected override (ITrainingOptimizer, LrSchedule, IReadOnlyList<Tensor>) Start(long totalIterations)
    {
        if (_o.AuxiliaryHead) AuxiliaryHead = new FCNHead(_model.Stage3Channels, _o.AuxiliaryChannels, _model.NumClasses);
        _loss = new SegmentationLoss(_o.Loss, _model.NumClasses) { Group = DataParallel };
        var named = _model.Module.named_parameters().ToList();
        if (AuxiliaryHead is not null) named.AddRange(AuxiliaryHead.named_parameters().Select(p => ("auxiliary_head." + p.name, p.parameter)));
        if (_o.Precision == Precision.Bf16)
        {
            var modules = new List<(string, nn.Module)> { ("", _model.Module) };
            if (AuxiliaryHead is not null) modules.Add(("auxiliary_head.", AuxiliaryHead));
            _masters = MasterWeights.CastToBf16(modules);
            named = _masters.Masters.ToList();
        }
        else if (_o.Precision == Precision.Fp64)
        {
            // Module.to swaps the parameter tensors: collect them after the cast.
            _model.Module.to(ScalarType.Float64);
            AuxiliaryHead?.to(ScalarType.Float64);
            named = _model.Module.named_parameters().ToList();
            if (AuxiliaryHead is not null) named.AddRange(AuxiliaryHead.named_parameters().Select(p => ("auxiliary_head." + p.name, p.parameter)));
        }
        var optimizer = TrainingOptimizer.AdamW(ParameterGrouping.SegformerGroups(named, _o.LearningRate, _o.WeightDecay, _o.HeadLrMultiplier));
        var schedule = new PolynomialWarmupSchedule(totalIterations, _o.WarmupIterations, _o.LearningRate, _o.PolyPower, _o.EndLearningRate);
        _model.Module.train();
        AuxiliaryHead?.train();
        if (_teacher is not null)
        {
            _teacher.Module.eval();
            foreach (var p in _teacher.Module.parameters()) p.requires_grad = false;
        }
        return (optimizer, schedule, named.Select(p => (Tensor)p.Item2).ToList());
    }

    /// <inheritdoc />
    protected override void Stop()
    {
        _loss?.Dispose();
        _loss = null;
        if (_masters is not null)
        {
            // Leave the model as it was given (float32), holding the trained weights: the masters themselves.
            _model.Module.to(ScalarType.Float32);
            AuxiliaryHead?.to(ScalarType.Float32);
            using (no_grad())
                foreach (var (k, p) in _model.Module.named_parameters()) if (_masters.Master(k) is { } m) p.copy_(m);
            _masters.Dispose();
            _masters = null;
        }
        else if (_o.Precision == Precision.Fp64)
        {
            // Leave the model as it was given (float32).
            _model.Module.to(ScalarType.Float32);
            AuxiliaryHead?.to(ScalarType.Float32);
        }
    }

    /// <inheritdoc />
    protected override void AfterBackward() => _masters?.GradientsToMasters();
    /// <inheritdoc />
    protected override void AfterStep() => _masters?.MastersToModel();
    /// <inheritdoc />
    protected override void WeightsLoaded() => _masters?.MastersToModel();

    /// <inheritdoc />
    protected override StepLoss Loss(SegmentationBatch batch)
    {
        using var images = _o.Precision == Precision.Fp32 ? batch.Images.alias() : batch.Images.to_type(_o.Precision.ScalarType());
        using var fwd = _model.Forward(images, AuxiliaryHead is not null);
        var aux = AuxiliaryHead is not null ? AuxiliaryHead.call(fwd.Stage3 ?? throw new InvalidOperationException("the model returned no stage-3 features")) : null;
        // The loss in float32, or float64 in fp64 runs (bf16 mixed precision: the logits are cast up, their gradient flows back down in bf16).
        var lossType = _o.Precision == Precision.Fp64 ? ScalarType.Float64 : ScalarType.Float32;
        using var logits = fwd.Logits.dtype == lossType ? fwd.Logits.alias() : fwd.Logits.to_type(lossType);
        if (aux is not null && aux.dtype != lossType) aux = aux.to_type(lossType);
        var total = _loss!.Compute(logits, batch.Labels, aux, out var parts);
        var logged = new Dictionary<string, double> { ["loss"] = parts.Main + _o.Loss.AuxiliaryWeight * parts.Auxiliary, ["loss_main"] = parts.Main };
        if (AuxiliaryHead is not null) logged["loss_aux"] = parts.Auxiliary;
        if (_teacher is not null)
        {
            using var scope = NewDisposeScope();
            Tensor teacherLogits;
            using (no_grad())
            using (var tf = _teacher.Forward(batch.Images, false)) teacherLogits = tf.Logits.detach().to_type(lossType);
            var cwd = ChannelWiseDistillation.Loss(logits, teacherLogits, _o.Distillation!);
            logged["loss_cwd"] = cwd.item_as_double();
            logged["loss"] += logged["loss_cwd"];
            var sum = total.add(cwd, Scalars.One).MoveToOuterDisposeScope();
            total.Dispose();
            total = sum;
        }
        return new StepLoss(total, parts.Main, logged);
    }

    /// <inheritdoc />
    protected override EvaluationScore Evaluate()
    {
        var options = _o.Precision == Precision.Fp32 ? _o.Evaluation : _o.Evaluation with { Precision = _o.Precision };
        var metrics = SegmentationEvaluator.Evaluate(_model, _validation!(), options, _o.ClassNames);
        return new EvaluationScore(metrics.MeanIoU, metrics.ToDictionary(), metrics);
    }

    /// <inheritdoc />
    protected override SegmentationProgress Progress(long iteration, long totalIterations, long epoch, double loss, double learningRate, double imagesPerSecond,
        TimeSpan elapsed, TimeSpan eta, StepLoss step, double? gradNorm, EvaluationScore? evaluation) =>
        new(iteration, totalIterations, epoch, loss, step.Logged.GetValueOrDefault("loss_aux"), learningRate, imagesPerSecond, elapsed, eta, gradNorm,
            evaluation?.Details as SegmentationMetrics);

    /// <inheritdoc />
    protected override string HyperparametersJson(long totalIterations, int batchSize) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["iterations"] = totalIterations, ["epochs"] = _o.Epochs, ["batch_size"] = batchSize, ["lr"] = _o.LearningRate, ["weight_decay"] = _o.WeightDecay,
        ["head_lr_mult"] = _o.HeadLrMultiplier, ["warmup"] = _o.WarmupIterations, ["poly_power"] = _o.PolyPower, ["end_lr"] = _o.EndLearningRate,
        ["grad_clip"] = _o.GradClipNorm, ["aux_head"] = _o.AuxiliaryHead, ["aux_weight"] = _o.Loss.AuxiliaryWeight,
        ["class_weights"] = _o.Loss.ClassWeights, ["label_smoothing"] = _o.Loss.LabelSmoothing,
        ["ohem_thresh"] = _o.Loss.Ohem?.Threshold, ["ohem_min_kept"] = _o.Loss.Ohem?.MinKept, ["seed"] = _o.Seed, ["data_seed"] = _o.DataSeed,
    }.Concat(_o.Precision == Precision.Fp32 ? [] : [new KeyValuePair<string, object?>("precision", _o.Precision.ToString().ToLowerInvariant())])
        .ToDictionary(kv => kv.Key, kv => kv.Value)); // fp32 runs keep the record they always had
}
