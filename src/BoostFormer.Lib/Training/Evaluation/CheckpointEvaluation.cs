using BoostFormer.Data;
using BoostFormer.Metrics;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Training.Evaluation;

/// <summary>The result of <c>CheckpointEvaluation.Evaluate</c>: the metrics, and the model as rebuilt from the checkpoint (name, parameter count).</summary>
public sealed record EvaluationResult(SegmentationMetrics Metrics, int Images, string Model, string Checkpoint, bool Tta, long Parameters);

/// <summary>
/// A checkpoint applied to a dataset split: its metrics (the CLI's <c>eval</c> verb) or its predictions image by image
/// (notebooks 04 and 08). The model is rebuilt from the configuration the checkpoint records; the dataset's class count
/// must be the checkpoint's.
/// </summary>
public static class CheckpointEvaluation
{
    /// <summary>
    /// Evaluates a checkpoint (a training checkpoint of this library, or any SegFormer checkpoint CheckpointImport reads,
    /// with <paramref name="model"/> naming the architecture) on a dataset split; logits are resized to each label's original
    /// size at the dataset's test scale unless <paramref name="scale"/> is given; <paramref name="tta"/> adds multi-scale
    /// (0.5–1.75) + flip.
    /// </summary>
    public static EvaluationResult Evaluate(string checkpoint, string dataset, string? root, string split, bool tta = false, ModelSpec? model = null,
        (int Long, int Short)? scale = null, InferenceOptions? inference = null, int? limit = null, IProgress<int>? progress = null, Action<string>? log = null,
        int syntheticSize = 128)
    {
        var (net, data, definition) = Open(checkpoint, dataset, root, split, model, syntheticSize, log);
        using var _ = net;
        return Run(net, checkpoint, data, definition, tta, scale, inference, limit, progress);
    }

    /// <summary>
    /// The checkpoint-path <c>Evaluate</c>
    /// for a model already loaded (e.g. by <see cref="TrainedModels.Load"/>), so a caller that also profiles or times it reads
    /// the file once. <paramref name="checkpoint"/> only names the source in the result. bf16 inference converts the model
    /// in place: measure fp32 things first.
    /// </summary>
    public static EvaluationResult Evaluate(LoadedSegmentationModel net, string checkpoint, string dataset, string? root, string split, bool tta = false,
        (int Long, int Short)? scale = null, InferenceOptions? inference = null, int? limit = null, IProgress<int>? progress = null, int syntheticSize = 128)
    {
        ArgumentNullException.ThrowIfNull(net);
        var (data, definition) = OpenData(net.Model.config.num_labels, checkpoint, dataset, root, split, syntheticSize);
        return Run(net, checkpoint, data, definition, tta, scale, inference, limit, progress);
    }

    private static EvaluationResult Run(LoadedSegmentationModel net, string checkpoint, ISegmentationDataset data, DatasetDefinition definition, bool tta,
        (int Long, int Short)? scale, InferenceOptions? inference, int? limit, IProgress<int>? progress)
    {
        var sc = scale ?? definition.TestScale;
        var opts = inference ?? (tta ? InferenceOptions.MultiScaleFlip() : new InferenceOptions());
        if (opts.Precision != Precision.Fp32) net.Model.to(opts.Precision.ScalarType());
        var metrics = SegmentationEvaluator.Evaluate(new SegformerSegmentationModel(net.Model), DatasetBatchSource.EvalSamples(data, SegPipeline.Test(sc.Long, sc.Short), limit),
            opts, data.Info.ClassNames, progress);
        return new EvaluationResult(metrics, Math.Min(data.Count, limit ?? int.MaxValue), net.Name, checkpoint, opts.IsAugmented, net.Model.parameter_count());
    }

    /// <summary>
    /// Predicted label maps of the first <paramref name="count"/> images of a split, or of the images at
    /// <paramref name="indices"/> (whole-image inference at the dataset's test scale unless <paramref name="inference"/>
    /// says otherwise, e.g. multi-scale + flip; logits resized to the label's size), with the images and ground truth.
    /// </summary>
    public static IReadOnlyList<PredictionSample> Predictions(string checkpoint, string dataset, string? root, string split, int count = 4,
        (int Long, int Short)? scale = null, IReadOnlyList<int>? indices = null, InferenceOptions? inference = null, IProgress<int>? progress = null)
    {
        var (net, data, definition) = Open(checkpoint, dataset, root, split, null, 128, null);
        using var _ = net;
        var sc = scale ?? definition.TestScale;
        if (inference is { Precision: not Precision.Fp32 } io) net.Model.to(io.Precision.ScalarType());
        var adapter = new SegformerSegmentationModel(net.Model);
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

    /// <summary>The checkpoint's model and the dataset split it is applied to (the synthetic dataset gets the checkpoint's class count).</summary>
    private static (LoadedSegmentationModel model, ISegmentationDataset data, DatasetDefinition definition) Open(string checkpoint, string dataset, string? root,
        string split, ModelSpec? model, int syntheticSize, Action<string>? log)
    {
        var (data, definition) = OpenData(TrainedModels.Recorded(checkpoint)?.Config.num_labels, checkpoint, dataset, root, split, syntheticSize);
        return (TrainedModels.Load(checkpoint, model, data.Info.NumClasses, log), data, definition);
    }

    /// <summary>The dataset split a model predicting <paramref name="labels"/> classes is applied to (the synthetic dataset gets that class count).</summary>
    private static (ISegmentationDataset data, DatasetDefinition definition) OpenData(int? labels, string checkpoint, string dataset, string? root, string split, int syntheticSize)
    {
        var definition = Datasets.Get(dataset, DatasetKind.Segmentation);
        var data = definition.OpenSegmentation(root, split, new SyntheticOptions(syntheticSize, 64, labels ?? 5));
        if (labels is { } k && k != data.Info.NumClasses)
            throw new ArgumentException($"{checkpoint} predicts {k} classes but {dataset} has {data.Info.NumClasses}", nameof(dataset));
        return (data, definition);
    }
}
