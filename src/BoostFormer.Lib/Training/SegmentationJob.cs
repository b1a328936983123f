using System.Globalization;
using System.Text.Json;
using BoostFormer.Data;
using BoostFormer.Training.Distributed;
using BoostFormer.Training.Tracking;

namespace BoostFormer.Training;

/// <summary>
/// A complete fine-tuning job: what the CLI's <c>train</c> verb and the notebooks run. <see cref="Run"/> builds the model
/// (optionally initialised from pretrained encoder weights), the data pipeline (mmseg's SegFormer train pipeline at
/// <see cref="CropSize"/>), the validation samples and the tracking database, trains, and returns the run id.
/// </summary>
public sealed record SegmentationJob : TrainingJob
{
    /// <summary>The defaults of this machine's scale: batch 2.</summary>
    public SegmentationJob() { BatchSize = 2; }

    /// <summary>Dataset name or alias in the registry (<see cref="Datasets"/>: camvid, ade20k, cityscapes, kitti, synthetic).</summary>
    public string Dataset { get; init; } = "camvid";
    /// <summary>Training split.</summary>
    public string TrainSplit { get; init; } = "train";
    /// <summary>Validation split (null = no validation).</summary>
    public string? ValSplit { get; init; } = "val";
    /// <summary>Square training crop.</summary>
    public int CropSize { get; init; } = 512;
    /// <summary>Resize scale (long side, short side) before the random ratio 0.5–2.0 and for validation (null: the dataset's
    /// test scale, e.g. 2048×512, CamVid 480×360).</summary>
    public (int Long, int Short)? Scale { get; init; }
    /// <summary>Weights to start from: encoder-only (pretraining output, mit-b*) or a full checkpoint; null = random init.</summary>
    public string? Pretrained { get; init; }
    /// <summary>Use class-balanced (median frequency) weights computed from the training split.</summary>
    public bool ClassBalancedWeights { get; init; }
    /// <summary>Synthetic dataset: image size, count and classes.</summary>
    public SyntheticOptions Synthetic { get; init; } = new(128, 64, 5);
    /// <summary>Trainer hyper-parameters (iterations, lr, losses, intervals, seeds, resume).</summary>
    public SegmentationTrainerOptions Trainer { get; init; } = new() { Iterations = 1000 };
    /// <summary>
    /// A trained segmentation checkpoint to distil from (teacher–student training, <see cref="SegmentationTrainerOptions.Distillation"/>
    /// defaults to CWD with τ = 4, λ = 3 when only this is set); the teacher is rebuilt from the configuration it records.
    /// </summary>
    public string? Teacher { get; init; }


    /// <summary>The same job under another run name.</summary>
    public SegmentationJob Named(string runName) => this with { Trainer = Trainer with { RunName = runName } };

    /// <summary>Fine-tunes as described; returns the run id. <paramref name="log"/> gets status lines.</summary>
    public long Run(IProgress<SegmentationProgress>? progress = null, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        CheckShardable();
        var root = IsRoot;
        var dataset = Datasets.Get(Dataset, DatasetKind.Segmentation);
        var trainSet = dataset.OpenSegmentation(Root, TrainSplit, Synthetic);
        if (TrainLimit is { } tl) trainSet = trainSet.First(tl);
        var valSet = ValSplit is null ? null : dataset.OpenSegmentation(Root, ValSplit, Synthetic);
        // Every listed pair is checked (headers and sizes) before anything trains: a bad validation image found at the
        // final evaluation would otherwise cost the whole run.
        DatasetPreflight.Check(trainSet, TrainSplit);
        if (valSet is not null) DatasetPreflight.Check(valSet, ValSplit!, ValLimit);
        var info = trainSet.Info;
        var o = Trainer;
        var spec = ModelFor(info.NumClasses);
        var (model, report) = TrainedModels.Build(spec, Pretrained, o.Seed);
        using var _ = model;
        if (report is not null) log?.Invoke("pretrained: " + report);
        var loss = o.Loss;
        if (ClassBalancedWeights)
        {
            var stats = DatasetStats.Compute(trainSet, TrainSplit);
            var w = stats.MedianFrequencyWeights().Select(x => (float)x).ToArray();
            loss = loss with { ClassWeights = w };
            log?.Invoke("class weights (median frequency): " + string.Join(", ", w.Select(x => x.ToString("F3", CultureInfo.InvariantCulture))));
        }
        LoadedSegmentationModel? teacher = null;
        if (Teacher is not null)
        {
            teacher = TrainedModels.Load(Teacher, numLabels: info.NumClasses, log: log);
            log?.Invoke($"teacher: {teacher.Name} ({teacher.Model.parameter_count():N0} parameters) from {Teacher}");
        }
        using var __ = teacher;
        var distill = Teacher is null ? null : o.Distillation ?? new Losses.DistillationOptions();
        var scale = Scale ?? dataset.TestScale;
        var pipeline = SegPipeline.Train(CropSize, CropSize, scale.Long, scale.Short);
        var test = SegPipeline.Test(scale.Long, scale.Short);
        var source = new DatasetBatchSource(trainSet, pipeline, BatchSize, o.DataSeed, Workers,
            DataParallel is { WorldSize: > 1 } dp ? (dp.Rank, dp.WorldSize) : null);
        var options = Placed(o with
        {
            Loss = loss,
            ModelName = spec.Name,
            ModelConfigJson = spec.ToJson(),
            DataConfigJson = JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["dataset"] = Dataset, ["root"] = Root, ["train_split"] = TrainSplit, ["val_split"] = ValSplit, ["crop"] = CropSize,
                ["scale"] = new[] { scale.Long, scale.Short }, ["batch_size"] = BatchSize, ["train_images"] = trainSet.Count,
                ["val_images"] = valSet is null ? 0 : Math.Min(valSet.Count, ValLimit ?? int.MaxValue), ["pretrained"] = Pretrained,
                ["teacher"] = Teacher, ["distill_tau"] = distill?.Tau, ["distill_weight"] = distill?.Weight,
            }),
            Distillation = distill,
            ClassNames = info.ClassNames,
        });
        using var store = root ? RunStore.Open(Database) : null;
        var trainer = new SegmentationTrainer(new SegformerSegmentationModel(model), options, teacher is null ? null : new SegformerSegmentationModel(teacher.Model)) { DataParallel = DataParallel };
        Func<IEnumerable<EvalSample>>? val = valSet is null ? null : () => DatasetBatchSource.EvalSamples(valSet, test, ValLimit);
        var id = trainer.Run(source, val, store, progress, cancellationToken);
        if (trainer.ReuseNote is { } note) log?.Invoke(note);
        LastReduction = trainer.GradientReduction;
        return id;
    }
}
