using BoostFormer.Models;
using BoostFormer.Training.Checkpoints;
using static TorchSharp.torch;

namespace BoostFormer.Training;

/// <summary>A segmentation model restored from a training checkpoint, with the architecture name it was trained as.</summary>
public sealed record LoadedSegmentationModel(SegformerForSemanticSegmentation Model, string Name) : IDisposable
{
    public void Dispose() => Model.Dispose();
}

/// <summary>
/// Segmentation models as jobs and analyses get them: built for training (random initialisation, then pretrained weights),
/// freshly initialised, or rebuilt from a training checkpoint — from the configuration the checkpoint records.
/// </summary>
public static class TrainedModels
{
    /// <summary>Builds the model of <paramref name="spec"/> (random init with <paramref name="seed"/>, then <paramref name="pretrained"/> weights if given).</summary>
    public static (SegformerForSemanticSegmentation model, CheckpointLoadReport? report) Build(ModelSpec spec, string? pretrained, long seed)
    {
        manual_seed(seed);
        var model = new SegformerForSemanticSegmentation(spec.Config);
        try { return (model, pretrained is null ? null : CheckpointImport.LoadInto(model, pretrained)); }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>A freshly initialised model (the library's initialisation with <paramref name="seed"/>, no drop path), in eval mode.</summary>
    public static LoadedSegmentationModel Initial(ModelSpec model, int numLabels, long seed = 0)
    {
        var (net, _) = Build(model.WithLabels(numLabels).WithDropPath(0), null, seed);
        net.eval();
        return new LoadedSegmentationModel(net, model.Name);
    }

    /// <summary>
    /// The model a training checkpoint records (<see cref="ModelSpec.FromRecord"/>), read from its header alone; null for a
    /// checkpoint that records none (e.g. a Hugging Face <c>model.safetensors</c>).
    /// </summary>
    public static ModelSpec? Recorded(string checkpoint)
    {
        if (!File.Exists(checkpoint)) throw new FileNotFoundException($"checkpoint not found: {checkpoint}", checkpoint);
        return ModelSpec.FromRecord(CheckpointManager.ReadInfo(checkpoint)?.ConfigJson);
    }

    /// <summary>
    /// Loads a segmentation checkpoint written by the trainer into a fresh model rebuilt from the configuration the
    /// checkpoint records, in eval mode. <paramref name="model"/> names the architecture of a checkpoint that records none
    /// (its class count: the checkpoint's, else <paramref name="numLabels"/>); <paramref name="numLabels"/>, when given,
    /// must match the checkpoint's.
    /// </summary>
    public static LoadedSegmentationModel Load(string checkpoint, ModelSpec? model = null, int? numLabels = null, Action<string>? log = null)
    {
        if (!File.Exists(checkpoint)) throw new FileNotFoundException($"checkpoint not found: {checkpoint}", checkpoint);
        using var c = CheckpointManager.Load(checkpoint);
        var recorded = ModelSpec.FromRecord(c.Info.ConfigJson);
        if (recorded?.Config.num_labels is { } k && numLabels is { } want && k != want)
            throw new ArgumentException($"{checkpoint} predicts {k} classes, not {want}", nameof(numLabels));
        var spec = model is null
            ? recorded ?? throw new ArgumentException($"{checkpoint} carries no model configuration: pass --model (e.g. segformer-b0) or --config", nameof(model))
            : model.WithLabels(recorded?.Config.num_labels ?? numLabels
                ?? throw new ArgumentException($"{checkpoint} does not say how many classes it predicts: pass the dataset", nameof(numLabels)));
        var net = new SegformerForSemanticSegmentation(spec.Config);
        try
        {
            var weights = c.Model.Where(kv => !kv.Key.StartsWith("auxiliary_head.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value);
            var report = CheckpointImport.LoadStateDictInto(net, weights, strict: false, source: checkpoint);
            if (report.missing.Count > 0 || report.initialized.Count > 0)
                throw new InvalidDataException($"{checkpoint} does not hold a complete {spec.Name} segmentation model: {report}");
            log?.Invoke(report.ToString());
        }
        catch
        {
            net.Dispose();
            throw;
        }
        net.eval();
        return new LoadedSegmentationModel(net, spec.Name);
    }
}
