using System.Diagnostics;
using System.Text.Json;
using BoostFormer.Data;
using BoostFormer.Metrics;
using BoostFormer.Models;
using TorchSharp;
using BoostFormer.Training.Checkpoints;
using BoostFormer.Training.Evaluation;
using BoostFormer.Training.Tracking;
using static TorchSharp.torch;

namespace BoostFormer.Training;

/// <summary>
/// A complete fine-tuning job by names (model, dataset, folders): what the CLI's <c>train</c> verb and the notebooks run.
/// <see cref="Jobs.Train"/> builds the model (optionally initialised from pretrained encoder weights), the data pipeline
/// (mmseg's SegFormer train pipeline at <see cref="CropSize"/>), the validation samples and the tracking database, trains,
/// and returns the run id.
/// </summary>
public sealed record SegmentationJob
{
    /// <summary>Model name (<c>segformer-b0</c> … <c>boostformer-b5</c>).</summary>
    public string Model { get; init; } = "segformer-b0";
    /// <summary>Dataset name (<c>camvid</c>, <c>ade20k</c>, <c>cityscapes</c>, <c>kitti</c>, <c>synthetic</c>).</summary>
    public string Dataset { get; init; } = "camvid";
    /// <summary>Data root (null: <c>BOOSTFORMER_DATA</c>).</summary>
    public string? Root { get; init; }
    /// <summary>Training split.</summary>
    public string TrainSplit { get; init; } = "train";
    /// <summary>Validation split (null = no validation).</summary>
    public string? ValSplit { get; init; } = "val";
    /// <summary>Validate on at most this many images (null = all).</summary>
    public int? ValLimit { get; init; }
    /// <summary>Train on at most this many images (null = all) — for overfitting checks and CI scale.</summary>
    public int? TrainLimit { get; init; }
    /// <summary>Square training crop.</summary>
    public int CropSize { get; init; } = 512;
    /// <summary>Resize scale (long side, short side) before the random ratio 0.5–2.0 (mmseg: 2048×512; CamVid at this
    /// machine's scale: e.g. 480×360).</summary>
    public (int Long, int Short) Scale { get; init; } = (2048, 512);
    /// <summary>Images per batch.</summary>
    public int BatchSize { get; init; } = 2;
    /// <summary>Stochastic depth rate of the encoder.</summary>
    public double DropPath { get; init; } = 0.1;
    /// <summary>Weights to start from: encoder-only (pretraining output, mit-b*) or a full checkpoint; null = random init.</summary>
    public string? Pretrained { get; init; }
    /// <summary>Use class-balanced (median frequency) weights computed from the training split.</summary>
    public bool ClassBalancedWeights { get; init; }
    /// <summary>Synthetic dataset: image size, count and classes.</summary>
    public (int Size, int Count, int Classes) Synthetic { get; init; } = (128, 64, 5);
    /// <summary>Tracking database.</summary>
    public string Database { get; init; } = Path.Combine("runs", "runs.db");
    /// <summary>Checkpoint folder (null: <c>runs/&lt;run name&gt;</c>).</summary>
    public string? OutputDirectory { get; init; }
    /// <summary>Data-loader worker threads (null = the loader's default).</summary>
    public int? Workers { get; init; }
    /// <summary>Trainer hyper-parameters (iterations, lr, losses, intervals, seeds, resume).</summary>
    public SegmentationTrainerOptions Trainer { get; init; } = new() { Iterations = 1000 };
}

/// <summary>A pretraining job by names (model, Tiny-ImageNet root, folders).</summary>
public sealed record PretrainJob
{
    /// <summary>Model name whose encoder is pretrained.</summary>
    public string Model { get; init; } = "segformer-b0";
    /// <summary>Data root containing <c>tiny-imagenet-200</c> (or the folder itself).</summary>
    public string? Root { get; init; }
    /// <summary>Image size (Tiny-ImageNet: 64).</summary>
    public int ImageSize { get; init; } = 64;
    /// <summary>Images per batch.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Drop path rate.</summary>
    public double DropPath { get; init; } = 0.1;
    /// <summary>Mixup α (0 = off).</summary>
    public double Mixup { get; init; } = 0.8;
    /// <summary>CutMix α (0 = off).</summary>
    public double Cutmix { get; init; } = 1.0;
    /// <summary>Label smoothing.</summary>
    public double LabelSmoothing { get; init; } = 0.1;
    /// <summary>Random erasing probability.</summary>
    public double RandomErasing { get; init; } = 0.25;
    /// <summary>Train on at most this many images (null = all).</summary>
    public int? TrainLimit { get; init; }
    /// <summary>Validate on at most this many images (null = all).</summary>
    public int? ValLimit { get; init; }
    /// <summary>Tracking database.</summary>
    public string Database { get; init; } = Path.Combine("runs", "runs.db");
    /// <summary>Output folder (null: <c>runs/&lt;run name&gt;</c>).</summary>
    public string? OutputDirectory { get; init; }
    /// <summary>Data-loader workers (null = default).</summary>
    public int? Workers { get; init; }
    /// <summary>Trainer hyper-parameters.</summary>
    public PretrainOptions Trainer { get; init; } = new() { Epochs = 1 };
}

/// <summary>The result of <see cref="Jobs.Evaluate"/>.</summary>
public sealed record EvaluationResult(SegmentationMetrics Metrics, int Images, string Model, string Checkpoint, bool Tta);

/// <summary>A finished segmentation run as analyses use it: its best checkpoint and best validation mIoU.</summary>
public sealed record TrainedRun(string Name, long Id, string Model, string Checkpoint, double? BestValidationMIoU);

/// <summary>Runs <see cref="SegmentationJob"/>s, <see cref="PretrainJob"/>s and checkpoint evaluations.</summary>
public static class Jobs
{
    private sealed class Subset : ISegmentationDataset
    {
        private readonly ISegmentationDataset _d; private readonly int _n;
        public Subset(ISegmentationDataset d, int n) { _d = d; _n = Math.Min(n, d.Count); }
        public DatasetInfo Info => _d.Info;
        public int Count => _n;
        public SegmentationSample Get(int index) => _d.Get(index);
        public string Describe(int index) => _d.Describe(index);
    }

    private sealed class ClsSubset : IClassificationDataset
    {
        private readonly IClassificationDataset _d; private readonly int[] _idx;
        public ClsSubset(IClassificationDataset d, int n)
        {
            _d = d;
            // An evenly spread subset (every k-th sample) so every class is represented.
            var step = Math.Max(1, d.Count / Math.Max(1, n));
            _idx = Enumerable.Range(0, Math.Min(n, d.Count)).Select(i => Math.Min(d.Count - 1, i * step)).ToArray();
        }
        public int Count => _idx.Length;
        public int NumClasses => _d.NumClasses;
        public IReadOnlyList<string> ClassNames => _d.ClassNames;
        public ClassificationSample Get(int index) => _d.Get(_idx[index]);
        public int LabelOf(int index) => _d.LabelOf(_idx[index]);
        public string Describe(int index) => _d.Describe(_idx[index]);
    }

    /// <summary>The current git commit of the working directory, or null.</summary>
    public static string? GitCommit()
    {
        try
        {
            var psi = new ProcessStartInfo("git", "rev-parse HEAD") { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi);
            if (p is null) return null;
            var s = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return p.ExitCode == 0 && s.Length > 0 ? s : null;
        }
        catch (Exception) { return null; }
    }

    private static ISegmentationDataset OpenSeg(SegmentationJob job, string split) =>
        SegmentationDatasets.Open(job.Dataset, job.Root, split, job.Synthetic.Size, job.Synthetic.Count, job.Synthetic.Classes);

    /// <summary>Model configuration JSON stored with runs and checkpoints (enough for <see cref="Evaluate"/> to rebuild the model).</summary>
    public static string ModelConfigJson(string model, int numLabels, double dropPath) =>
        JsonSerializer.Serialize(new Dictionary<string, object> { ["model"] = model, ["num_labels"] = numLabels, ["drop_path_rate"] = dropPath });

    /// <summary>Builds the segmentation model for a job (random init, then <see cref="SegmentationJob.Pretrained"/> if given).</summary>
    public static (SegFormerForSemanticSegmentation model, CheckpointLoadReport? report) BuildModel(string name, int numLabels, double dropPath, string? pretrained, long seed)
    {
        manual_seed(seed);
        var config = SegFormerConfig.FromName(name, numLabels) with { drop_path_rate = dropPath };
        var model = new SegFormerForSemanticSegmentation(config);
        CheckpointLoadReport? report = null;
        if (pretrained is not null) report = CheckpointImport.LoadInto(model, pretrained);
        return (model, report);
    }

    /// <summary>Fine-tunes as described by <paramref name="job"/>; returns the run id. <paramref name="log"/> gets status lines.</summary>
    public static long Train(SegmentationJob job, IProgress<TrainingProgress>? progress = null, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        var trainSet = OpenSeg(job, job.TrainSplit);
        if (job.TrainLimit is { } tl) trainSet = new Subset(trainSet, tl);
        var valSet = job.ValSplit is null ? null : OpenSeg(job, job.ValSplit);
        var info = trainSet.Info;
        var o = job.Trainer;
        var outDir = job.OutputDirectory ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(job.Database))!, o.RunName);
        var (model, report) = BuildModel(job.Model, info.NumClasses, job.DropPath, job.Pretrained, o.Seed);
        using var _ = model;
        if (report is not null) log?.Invoke("pretrained: " + report);
        var loss = o.Loss;
        if (job.ClassBalancedWeights)
        {
            var stats = DatasetStats.Compute(trainSet, job.TrainSplit);
            var w = stats.MedianFrequencyWeights().Select(x => (float)x).ToArray();
            loss = loss with { ClassWeights = w };
            log?.Invoke("class weights (median frequency): " + string.Join(", ", w.Select(x => x.ToString("F3", System.Globalization.CultureInfo.InvariantCulture))));
        }
        var pipeline = SegPipeline.Train(job.CropSize, job.CropSize, job.Scale.Long, job.Scale.Short);
        var test = SegPipeline.Test(job.Scale.Long, job.Scale.Short);
        var source = new DatasetBatchSource(trainSet, pipeline, job.BatchSize, o.DataSeed, job.Workers);
        var options = o with
        {
            Loss = loss,
            OutputDirectory = outDir,
            ModelName = job.Model,
            ModelConfigJson = ModelConfigJson(job.Model, info.NumClasses, job.DropPath),
            DataConfigJson = JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["dataset"] = job.Dataset, ["root"] = job.Root, ["train_split"] = job.TrainSplit, ["val_split"] = job.ValSplit, ["crop"] = job.CropSize,
                ["scale"] = new[] { job.Scale.Long, job.Scale.Short }, ["batch_size"] = job.BatchSize, ["train_images"] = trainSet.Count,
                ["val_images"] = valSet is null ? 0 : Math.Min(valSet.Count, job.ValLimit ?? int.MaxValue), ["pretrained"] = job.Pretrained,
            }),
            ClassNames = info.ClassNames,
            GitCommit = o.GitCommit ?? GitCommit(),
        };
        using var store = RunStore.Open(job.Database);
        var trainer = new SegmentationTrainer(new SegFormerSegmentationModel(model), options);
        Func<IEnumerable<EvalSample>>? val = valSet is null ? null : () => DatasetBatchSource.EvalSamples(valSet, test, job.ValLimit);
        var id = trainer.Run(source, val, store, progress, cancellationToken);
        if (trainer.ReusedRun is { } reused) log?.Invoke(ReuseMessage(reused));
        return id;
    }

    private static string ReuseMessage(RunRecord r) =>
        $"reusing finished run {r.Id} '{r.Name}' (ended {r.EndedUtc:u}, same configuration): not training again; turn ReuseFinished off (notebooks: --param reuse=false) to retrain";

    /// <summary>Pretrains an encoder on Tiny-ImageNet as described by <paramref name="job"/>; returns the run id.</summary>
    public static long Pretrain(PretrainJob job, IProgress<PretrainProgress>? progress = null, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        var root = DataRoot.Resolve(job.Root) ?? throw new DataFormatException($"pretraining needs a data root: pass --root or set {DataRoot.EnvironmentVariable}");
        var tinyRoot = Directory.Exists(Path.Combine(root, "tiny-imagenet-200")) ? Path.Combine(root, "tiny-imagenet-200") : root;
        IClassificationDataset train = new TinyImageNetDataset(tinyRoot, "train");
        IClassificationDataset val = new TinyImageNetDataset(tinyRoot, "val");
        if (job.TrainLimit is { } tl) train = new ClsSubset(train, tl);
        if (job.ValLimit is { } vl) val = new ClsSubset(val, vl);
        var o = job.Trainer;
        var outDir = job.OutputDirectory ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(job.Database))!, o.RunName);
        manual_seed(o.Seed);
        var config = SegFormerConfig.FromName(job.Model, train.NumClasses) with { drop_path_rate = job.DropPath };
        using var model = new SegFormerForImageClassification(config);
        var transform = new ClsTransform { Size = job.ImageSize, EraseProb = job.RandomErasing };
        var mix = new MixupCutmix { MixupAlpha = job.Mixup, CutmixAlpha = job.Cutmix, LabelSmoothing = job.LabelSmoothing, Prob = job.Mixup > 0 || job.Cutmix > 0 ? 1.0 : 0.0 };
        var lo = new LoaderOptions { BatchSize = job.BatchSize, Seed = o.DataSeed, Shuffle = true, DropLast = true };
        if (job.Workers is { } w) lo = lo with { Workers = w };
        var trainLoader = Loaders.Classification(train, transform, mix, lo);
        var valLoader = Loaders.Classification(val, ClsTransform.Eval(job.ImageSize), null, lo with { Shuffle = false, DropLast = false });
        var options = o with
        {
            OutputDirectory = outDir,
            ModelName = job.Model,
            ModelConfigJson = ModelConfigJson(job.Model, train.NumClasses, job.DropPath),
            DataConfigJson = JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["dataset"] = "tiny-imagenet", ["root"] = tinyRoot, ["train_images"] = train.Count, ["val_images"] = val.Count, ["classes"] = train.NumClasses,
                ["image_size"] = job.ImageSize, ["batch_size"] = job.BatchSize, ["mixup"] = job.Mixup, ["cutmix"] = job.Cutmix,
                ["label_smoothing"] = job.LabelSmoothing, ["random_erasing"] = job.RandomErasing, ["drop_path"] = job.DropPath,
            }),
            GitCommit = o.GitCommit ?? GitCommit(),
        };
        log?.Invoke($"tiny-imagenet: {train.Count} train / {val.Count} val images, {train.NumClasses} classes");
        using var store = RunStore.Open(job.Database);
        var trainer = new PretrainTrainer(model, options).WithPipeline(transform, mix);
        var id = trainer.Run(train, trainLoader, valLoader, store, progress, cancellationToken);
        if (trainer.ReusedRun is { } reused) log?.Invoke(ReuseMessage(reused));
        if (trainer.EncoderPath is not null) log?.Invoke("encoder weights: " + trainer.EncoderPath);
        return id;
    }

    /// <summary>
    /// Loads a segmentation checkpoint written by the trainer into a fresh model (architecture and class count from the
    /// checkpoint's configuration, or <paramref name="model"/> and <paramref name="numLabels"/>), in eval mode.
    /// </summary>
    public static LoadedSegmentationModel LoadSegmentationModel(string checkpoint, string? model = null, int? numLabels = null, Action<string>? log = null)
    {
        if (!File.Exists(checkpoint)) throw new FileNotFoundException($"checkpoint not found: {checkpoint}", checkpoint);
        using var c = CheckpointManager.Load(checkpoint);
        string name = model ?? "segformer-b0";
        int? ckptLabels = null;
        if (c.Info.ConfigJson is { Length: > 2 } cfg)
        {
            using var doc = JsonDocument.Parse(cfg);
            if (model is null && doc.RootElement.TryGetProperty("model", out var m)) name = m.GetString() ?? name;
            if (doc.RootElement.TryGetProperty("num_labels", out var nl)) ckptLabels = nl.GetInt32();
        }
        else if (model is null)
            throw new ArgumentException($"{checkpoint} carries no model configuration: pass --model (e.g. segformer-b0)", nameof(model));
        if (ckptLabels is { } k && numLabels is { } want && k != want)
            throw new ArgumentException($"{checkpoint} predicts {k} classes, not {want}", nameof(numLabels));
        var labels = ckptLabels ?? numLabels
            ?? throw new ArgumentException($"{checkpoint} does not say how many classes it predicts: pass the dataset", nameof(numLabels));
        var net = new SegFormerForSemanticSegmentation(SegFormerConfig.FromName(name, labels));
        try
        {
            var report = CheckpointImport.LoadStateDictInto(net, c.Model.Where(kv => !kv.Key.StartsWith("auxiliary_head.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value), strict: false, source: checkpoint);
            if (report.missing.Count > 0 || report.initialized.Count > 0)
                throw new InvalidDataException($"{checkpoint} does not hold a complete {name} segmentation model: {report}");
            log?.Invoke(report.ToString());
        }
        catch
        {
            net.Dispose();
            throw;
        }
        net.eval();
        return new LoadedSegmentationModel(net, name);
    }

    /// <summary>
    /// Loads a segmentation checkpoint written by the trainer (see <see cref="LoadSegmentationModel"/>) and opens the
    /// dataset split it will be applied to; the class counts must agree.
    /// </summary>
    public static (LoadedSegmentationModel model, ISegmentationDataset data) LoadSegmentationCheckpoint(string checkpoint, string dataset, string? root, string split,
        string? model = null, int syntheticSize = 128, Action<string>? log = null)
    {
        if (!File.Exists(checkpoint)) throw new FileNotFoundException($"checkpoint not found: {checkpoint}", checkpoint);
        int? ckptLabels;
        using (var c = CheckpointManager.Load(checkpoint))
        {
            ckptLabels = null;
            if (c.Info.ConfigJson is { Length: > 2 } cfg)
            {
                using var doc = JsonDocument.Parse(cfg);
                if (doc.RootElement.TryGetProperty("num_labels", out var nl)) ckptLabels = nl.GetInt32();
            }
        }
        var data = SegmentationDatasets.Open(dataset, root, split, syntheticSize, 64, ckptLabels ?? 5);
        if (ckptLabels is { } k && k != data.Info.NumClasses)
            throw new ArgumentException($"{checkpoint} predicts {k} classes but {dataset} has {data.Info.NumClasses}", nameof(dataset));
        return (LoadSegmentationModel(checkpoint, model, data.Info.NumClasses, log), data);
    }

    /// <summary>
    /// The finished segmentation runs among <paramref name="names"/> (the newest run of each name) in the tracking
    /// database at <paramref name="database"/>, with their best checkpoint (by validation mIoU, else the last) and best
    /// validation mIoU, in the order of <paramref name="names"/>. Runs without a checkpoint file are left out; a missing
    /// database gives an empty list.
    /// </summary>
    public static IReadOnlyList<TrainedRun> TrainedRuns(string database, IEnumerable<string> names)
    {
        var result = new List<TrainedRun>();
        if (!File.Exists(database)) return result;
        using var store = RunStore.Open(database);
        var summaries = store.Summaries();
        foreach (var name in names)
        {
            var run = store.LatestFinished(name);
            if (run is null || store.BestCheckpoint(run.Id) is not { } checkpoint || !File.Exists(checkpoint)) continue;
            result.Add(new TrainedRun(name, run.Id, run.Model, checkpoint, summaries.First(x => x.Id == run.Id).BestValidation));
        }
        return result;
    }

    /// <summary>
    /// The model the newest finished run called <paramref name="runName"/> trained (see <see cref="TrainedRuns"/>),
    /// loaded in eval mode; null when there is no such run, database or checkpoint file.
    /// </summary>
    public static LoadedSegmentationModel? TrainedModel(string database, string runName) =>
        TrainedRuns(database, new[] { runName }).FirstOrDefault() is { } run ? LoadSegmentationModel(run.Checkpoint) : null;

    /// <summary>A freshly initialised model (the library's initialisation with <paramref name="seed"/>), in eval mode.</summary>
    public static LoadedSegmentationModel InitialModel(string model, int numLabels, long seed = 0)
    {
        var (net, _) = BuildModel(model, numLabels, 0, null, seed);
        net.eval();
        return new LoadedSegmentationModel(net, model);
    }

    /// <summary>
    /// Predicted label maps of the first <paramref name="count"/> images of a split, or of the images at
    /// <paramref name="indices"/> (whole-image inference at the dataset's test scale unless <paramref name="inference"/>
    /// says otherwise, e.g. multi-scale + flip; logits resized to the label's size), with the images and ground truth.
    /// </summary>
    public static IReadOnlyList<PredictionSample> Predictions(string checkpoint, string dataset, string? root, string split, int count = 4,
        (int Long, int Short)? scale = null, IReadOnlyList<int>? indices = null, InferenceOptions? inference = null, IProgress<int>? progress = null)
    {
        var (net, data) = LoadSegmentationCheckpoint(checkpoint, dataset, root, split);
        using var _ = net;
        var sc = scale ?? (dataset.Equals("camvid", StringComparison.OrdinalIgnoreCase) ? (480, 360) : (2048, 512));
        var adapter = new SegFormerSegmentationModel(net.Model);
        var result = new List<PredictionSample>();
        var test = SegPipeline.Test(sc.Long, sc.Short);
        var which = indices ?? Enumerable.Range(0, Math.Min(count, data.Count)).ToList();
        foreach (var i in which)
        {
            if (i < 0 || i >= data.Count) throw new ArgumentOutOfRangeException(nameof(indices), $"image index {i} is outside the {split} split ({data.Count} images)");
            var raw = data.Get(i);
            using (var s = DatasetBatchSource.EvalSample(raw, test, i))
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                var h = s.Label.shape[0]; var w = s.Label.shape[1];
                var scores = SegmentationInference.Predict(x => { using var f = adapter.Forward(x, false); return f.Logits.alias(); }, s.Image, h, w, inference ?? new InferenceOptions());
                var pred = scores.argmax(1)[0].to(ScalarType.Int32).ToArray<int>();
                result.Add(new PredictionSample(data.Describe(i), raw.Image, raw.Label.Labels.ToArray(), pred, (int)w, (int)h, data.Info) { Index = i });
            }
            progress?.Report(result.Count);
        }
        return result;
    }

    /// <summary>
    /// The first <paramref name="count"/> images of a dataset split as model inputs [1, 3, <paramref name="height"/>,
    /// <paramref name="width"/>] (resized, ImageNet-normalised, as <see cref="SegformerImageProcessor"/> does), for
    /// analyses that need real images (receptive fields, attention). The caller disposes them.
    /// </summary>
    public static IReadOnlyList<Tensor> PixelValues(string dataset, string? root, string split, int count, int width, int height, int syntheticSize = 256)
    {
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), $"count must be positive, got {count}");
        var data = SegmentationDatasets.Open(dataset, root, split, syntheticSize, Math.Max(count, 8));
        var result = new List<Tensor>();
        for (int i = 0; i < Math.Min(count, data.Count); i++)
        {
            var img = data.Get(i).Image;
            result.Add(SegformerImageProcessor.Preprocess(new Visualization.Image(img.Pixels, img.Width, img.Height, img.Channels), width, height));
        }
        return result;
    }

    /// <summary>
    /// Evaluates a checkpoint (a training checkpoint of this library, or any SegFormer checkpoint CheckpointImport reads,
    /// with <paramref name="model"/> naming the architecture) on a dataset split; logits are resized to each label's original
    /// size; <paramref name="tta"/> adds multi-scale (0.5–1.75) + flip.
    /// </summary>
    public static EvaluationResult Evaluate(string checkpoint, string dataset, string? root, string split, bool tta = false, string? model = null,
        (int Long, int Short)? scale = null, InferenceOptions? inference = null, int? limit = null, IProgress<int>? progress = null, Action<string>? log = null,
        int syntheticSize = 128)
    {
        var (net, data) = LoadSegmentationCheckpoint(checkpoint, dataset, root, split, model, syntheticSize, log);
        using var _ = net;
        var sc = scale ?? (dataset.Equals("camvid", StringComparison.OrdinalIgnoreCase) ? (480, 360) : (2048, 512));
        var opts = inference ?? (tta ? InferenceOptions.MultiScaleFlip() : new InferenceOptions());
        var m2 = SegmentationEvaluator.Evaluate(new SegFormerSegmentationModel(net.Model), DatasetBatchSource.EvalSamples(data, SegPipeline.Test(sc.Long, sc.Short), limit), opts, data.Info.ClassNames, progress);
        return new EvaluationResult(m2, Math.Min(data.Count, limit ?? int.MaxValue), net.Name, checkpoint, opts.IsAugmented);
    }
}
