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
    /// <summary>
    /// The smallest share of the model's parameters (by element count) that pretrained weights must fill: a load below it
    /// (a file of another architecture, keys nobody maps) is an error rather than training from scratch under a
    /// "pretrained" label. An encoder-only checkpoint fills about 90 % of SegFormer-B0.
    /// </summary>
    public const double MinimumLoadedFraction = 0.5;

    /// <summary>
    /// Builds the model of <paramref name="spec"/> (random init with <paramref name="seed"/>, then <paramref name="pretrained"/>
    /// weights if given: any checkpoint <see cref="CheckpointImport.ReadStateDict"/> reads, training checkpoints included; a
    /// classifier of another class count is re-initialised and reported; fewer than <see cref="MinimumLoadedFraction"/> of
    /// the parameters loaded is an <see cref="ArgumentException"/>).
    /// </summary>
    public static (SegformerForSemanticSegmentation model, CheckpointLoadReport? report) Build(ModelSpec spec, string? pretrained, long seed)
    {
        manual_seed(seed);
        var model = new SegformerForSemanticSegmentation(spec.Config);
        try
        {
            if (pretrained is null) return (model, null);
            var report = CheckpointImport.LoadInto(model, pretrained, reinitializeMismatchedClassifier: true);
            var sizes = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.numel());
            double total = sizes.Values.Sum(), loaded = report.loaded.Sum(k => sizes[k]);
            if (total > 0 && loaded / total < MinimumLoadedFraction)
                throw new ArgumentException(FormattableString.Invariant(
                    $"--pretrained {pretrained}: only {loaded / total:P1} of the {spec.Name} parameters were loaded (at least {MinimumLoadedFraction:P0} must be) — is it a checkpoint of this architecture? {report}"));
            return (model, report);
        }
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
        if (Directory.Exists(checkpoint)) return null;
        if (!File.Exists(checkpoint)) throw new FileNotFoundException($"checkpoint not found: {checkpoint}", checkpoint);
        return CheckpointImport.IsSafetensors(checkpoint) ? ModelSpec.FromRecord(CheckpointManager.ReadInfo(checkpoint)?.ConfigJson) : null;
    }

    /// <summary>
    /// Loads a segmentation checkpoint written by the trainer into a fresh model rebuilt from the configuration the
    /// checkpoint records, in eval mode. <paramref name="model"/> names the architecture of a checkpoint that records none
    /// (its class count: the checkpoint's, else <paramref name="numLabels"/>); <paramref name="numLabels"/>, when given,
    /// must match the checkpoint's.
    /// </summary>
    public static LoadedSegmentationModel Load(string checkpoint, ModelSpec? model = null, int? numLabels = null, Action<string>? log = null)
    {
        // One reader for every verb: a training checkpoint (its recorded configuration), or any file or Hugging Face folder
        // CheckpointImport reads (safetensors, pytorch_model.bin, .pth) with --model/--config.
        var recorded = Recorded(checkpoint);
        if (recorded?.Config.num_labels is { } k && numLabels is { } want && k != want)
            throw new ArgumentException($"{checkpoint} predicts {k} classes, not {want}", nameof(numLabels));
        var spec = model is null
            ? recorded ?? throw new ArgumentException($"{checkpoint} carries no model configuration: pass --model (e.g. segformer-b0) or --config", nameof(model))
            : model.WithLabels(recorded?.Config.num_labels ?? numLabels
                ?? throw new ArgumentException($"{checkpoint} does not say how many classes it predicts: pass the dataset", nameof(numLabels)));
        var net = new SegformerForSemanticSegmentation(spec.Config);
        try
        {
            using var scope = NewDisposeScope();
            var all = CheckpointImport.ReadStateDict(checkpoint);
            var weights = all.Where(kv => !kv.Key.StartsWith("auxiliary_head.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value);
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
