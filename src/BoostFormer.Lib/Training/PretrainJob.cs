using System.Text.Json;
using BoostFormer.Data;
using BoostFormer.Models;
using BoostFormer.Training.Tracking;
using static TorchSharp.torch;

namespace BoostFormer.Training;

/// <summary>
/// An encoder pretraining job on Tiny-ImageNet (the CLI's <c>pretrain</c> verb, notebook 03): <see cref="Run"/> builds the
/// classifier of <see cref="TrainingJob.Model"/>'s encoder, the DeiT data pipeline and the tracking database, trains, and
/// returns the run id; the encoder weights land in <c>encoder.safetensors</c> for <see cref="SegmentationJob.Pretrained"/>.
/// </summary>
public sealed record PretrainJob : TrainingJob
{
    /// <summary>The DeiT recipe's batch of 64.</summary>
    public PretrainJob() { BatchSize = 64; }

    /// <summary>Image size (Tiny-ImageNet: 64).</summary>
    public int ImageSize { get; init; } = 64;
    /// <summary>Mixup α (0 = off).</summary>
    public double Mixup { get; init; } = 0.8;
    /// <summary>CutMix α (0 = off).</summary>
    public double Cutmix { get; init; } = 1.0;
    /// <summary>Label smoothing.</summary>
    public double LabelSmoothing { get; init; } = 0.1;
    /// <summary>Random erasing probability.</summary>
    public double RandomErasing { get; init; } = 0.25;
    /// <summary>Trainer hyper-parameters.</summary>
    public PretrainOptions Trainer { get; init; } = new() { Epochs = 1 };

    /// <summary>Pretrains as described; returns the run id. <paramref name="log"/> gets status lines.</summary>
    public long Run(IProgress<PretrainProgress>? progress = null, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        CheckShardable();
        var root = DataRoot.Resolve(Root) ?? throw new DataFormatException($"pretraining needs a data root: pass --root or set {DataRoot.EnvironmentVariable}");
        var tinyRoot = Datasets.TinyImageNet.Locate(root, d => Datasets.TinyImageNet.IsLayoutRoot!(d));
        var train = Datasets.TinyImageNet.OpenClassification(tinyRoot, "train");
        var val = Datasets.TinyImageNet.OpenClassification(tinyRoot, "val");
        if (TrainLimit is { } tl) train = train.EvenlySpread(tl);
        if (ValLimit is { } vl) val = val.EvenlySpread(vl);
        var o = Trainer;
        manual_seed(o.Seed);
        var spec = ModelFor(train.NumClasses);
        using var model = new SegformerForImageClassification(spec.Config);
        var transform = new ClsTransform { Size = ImageSize, EraseProb = RandomErasing };
        var mix = new MixupCutmix { MixupAlpha = Mixup, CutmixAlpha = Cutmix, LabelSmoothing = LabelSmoothing, Prob = Mixup > 0 || Cutmix > 0 ? 1.0 : 0.0 };
        var lo = new LoaderOptions { BatchSize = BatchSize, Seed = o.DataSeed, Shuffle = true, DropLast = true };
        if (Workers is { } w) lo = lo with { Workers = w };
        // Data parallel: each rank takes its shard of every global batch (mixup/cutmix still pair across the global batch).
        var trainLoader = Loaders.Classification(train, transform, mix, lo with { Shard = Shard });
        var valLoader = Loaders.Classification(val, ClsTransform.Eval(ImageSize), null, lo with { Shuffle = false, DropLast = false });
        var options = Placed(o with
        {
            ModelName = spec.Name,
            ModelConfigJson = spec.ToJson(),
            DataConfigJson = JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["dataset"] = "tiny-imagenet", ["root"] = tinyRoot, ["train_images"] = train.Count, ["val_images"] = val.Count, ["classes"] = train.NumClasses,
                ["image_size"] = ImageSize, ["batch_size"] = BatchSize, ["mixup"] = Mixup, ["cutmix"] = Cutmix,
                ["label_smoothing"] = LabelSmoothing, ["random_erasing"] = RandomErasing, ["drop_path"] = spec.Config.drop_path_rate,
            }),
        });
        if (IsRoot) log?.Invoke($"tiny-imagenet: {train.Count} train / {val.Count} val images, {train.NumClasses} classes");
        using var store = IsRoot ? RunStore.Open(Database) : null; // rank 0 keeps the run record
        var trainer = new PretrainTrainer(model, options) { DataParallel = DataParallel };
        var id = trainer.Run(trainLoader, valLoader, store, progress, cancellationToken);
        if (trainer.ReuseNote is { } note) log?.Invoke(note);
        if (trainer.EncoderPath is not null) log?.Invoke("encoder weights: " + trainer.EncoderPath);
        LastReduction = trainer.GradientReduction;
        return id;
    }
}
