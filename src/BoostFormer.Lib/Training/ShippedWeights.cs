using System.Globalization;
using System.Text.Json;
using BoostFormer.IO;
using BoostFormer.Training.Tracking;

namespace BoostFormer.Training;

/// <summary>
/// One exported weights file in <c>results/weights</c> (<see cref="WeightsExport"/>), described from its header alone.
/// </summary>
/// <param name="Name">The file name without extension (the run it was exported from, by convention).</param>
/// <param name="Path">The <c>.safetensors</c> file.</param>
/// <param name="Model">The architecture (<c>segformer-b0</c>, <c>boostformer-b0</c>, …).</param>
/// <param name="Run">The run name recorded at export.</param>
/// <param name="Iteration">The training iteration of the exported checkpoint.</param>
/// <param name="ValidationMIoU">The best validation mIoU the run had reached (the weights' own when <paramref name="IsBestCheckpoint"/>), or null.</param>
/// <param name="IsBestCheckpoint">True when the weights come from the run's best checkpoint.</param>
/// <param name="Dataset">The dataset whose classes the model predicts.</param>
/// <param name="ClassNames">Its class names.</param>
/// <param name="Source">The source checkpoint (<c>&lt;run&gt;/run-&lt;id&gt;/best.safetensors</c>).</param>
/// <param name="DType">Stored precision (bf16, fp16, fp32).</param>
public sealed record ShippedModel(string Name, string Path, string Model, string Run, long Iteration, double? ValidationMIoU, bool IsBestCheckpoint,
    string Dataset, IReadOnlyList<string> ClassNames, string Source, string DType)
{
    /// <summary>Loads the weights into a fresh fp32 model rebuilt from the recorded configuration, in eval mode.</summary>
    public LoadedSegmentationModel Load() => TrainedModels.Load(Path);

    /// <summary>The file as a <see cref="TrainedRun"/>, so analyses that take finished runs take shipped weights too.</summary>
    public TrainedRun AsTrainedRun() => new(Name, 0, Model, Path, ValidationMIoU) { Origin = $"shipped weights results/weights/{System.IO.Path.GetFileName(Path)}" };

    /// <summary>One line: the file, the model, its validation mIoU.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{System.IO.Path.GetFileName(Path)}: {Model}, {Run} at iteration {Iteration}, {DType}, val mIoU {(ValidationMIoU is { } m ? (m * 100).ToString("F2", CultureInfo.InvariantCulture) + " %" : "not recorded")}");
}

/// <summary>
/// The trained weights shipped with the repository in <c>results/weights</c> (exported by <c>boostformer export</c>): found
/// relative to the repository root from the working directory (notebooks run in <c>notebooks/</c>), listed, and loaded.
/// Notebooks use <see cref="LocalOrShipped"/>: their own runs at the current scale or these files, whichever are better trained.
/// </summary>
public static class ShippedWeights
{
    /// <summary>The folder under the repository root.</summary>
    public const string RelativeFolder = "results/weights";

    /// <summary>Environment variable that points at another weights folder.</summary>
    public const string EnvironmentVariable = "BOOSTFORMER_WEIGHTS";

    /// <summary>
    /// The weights folder: <c>$BOOSTFORMER_WEIGHTS</c> when set, else <c>results/weights</c> under the nearest folder at or
    /// above <paramref name="start"/> (default: the working directory) that has one or is the repository root (holds
    /// <c>BoostFormer.Lib.sln</c>); null when neither is found. The folder may not exist yet.
    /// </summary>
    public static string? Folder(string? start = null)
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } env) return System.IO.Path.GetFullPath(env);
        for (var dir = new DirectoryInfo(System.IO.Path.GetFullPath(start ?? Directory.GetCurrentDirectory())); dir is not null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, RelativeFolder);
            if (Directory.Exists(candidate) || File.Exists(System.IO.Path.Combine(dir.FullName, "BoostFormer.Lib.sln"))) return candidate;
        }
        return null;
    }

    /// <summary>Every exported weights file in <paramref name="folder"/> (default <see cref="Folder"/>), by name; files that are not exported weights are skipped.</summary>
    public static IReadOnlyList<ShippedModel> List(string? folder = null)
    {
        folder ??= Folder();
        if (folder is null || !Directory.Exists(folder)) return Array.Empty<ShippedModel>();
        return Directory.EnumerateFiles(folder, "*.safetensors").OrderBy(f => f, StringComparer.Ordinal)
            .Select(f => TryDescribe(f)).OfType<ShippedModel>().ToList();
    }

    /// <summary>The shipped file called <paramref name="name"/> (<c>&lt;name&gt;.safetensors</c>), or null.</summary>
    public static ShippedModel? Find(string name, string? folder = null)
    {
        folder ??= Folder();
        if (folder is null) return null;
        var path = System.IO.Path.Combine(folder, name + ".safetensors");
        return File.Exists(path) ? Describe(path) : null;
    }

    /// <summary>Loads the shipped file called <paramref name="name"/>; a missing one is a <see cref="FileNotFoundException"/> naming the folder.</summary>
    public static LoadedSegmentationModel Load(string name, string? folder = null) =>
        (Find(name, folder) ?? throw new FileNotFoundException($"no shipped weights '{name}.safetensors' in {folder ?? Folder() ?? RelativeFolder}")).Load();

    /// <summary>Reads the header of an exported weights file; an <see cref="InvalidDataException"/> for any other file.</summary>
    public static ShippedModel Describe(string path)
    {
        var meta = Safetensors.ReadMetadata(path);
        if (!meta.TryGetValue(WeightsExport.Keys.FormatKey, out var f) || f != WeightsExport.Format)
            throw new InvalidDataException($"{path}: not an exported weights file (no {WeightsExport.Keys.FormatKey} = {WeightsExport.Format} metadata)");
        string Get(string key) => meta.TryGetValue(key, out var v) ? v : "";
        double? miou = meta.TryGetValue(WeightsExport.Keys.ValidationMIoU, out var m) && double.TryParse(m, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ? x : null;
        var classes = meta.TryGetValue(WeightsExport.Keys.ClassNames, out var cn) ? JsonSerializer.Deserialize<string[]>(cn) ?? Array.Empty<string>() : Array.Empty<string>();
        return new ShippedModel(System.IO.Path.GetFileNameWithoutExtension(path), System.IO.Path.GetFullPath(path), Get(WeightsExport.Keys.Model), Get(WeightsExport.Keys.Run),
            long.TryParse(Get(WeightsExport.Keys.Iteration), NumberStyles.Integer, CultureInfo.InvariantCulture, out var it) ? it : 0, miou,
            Get(WeightsExport.Keys.IsBest) == "true", Get(WeightsExport.Keys.Dataset), classes, Get(WeightsExport.Keys.Source), Get(WeightsExport.Keys.DType));
    }

    private static ShippedModel? TryDescribe(string path)
    {
        try { return Describe(path); }
        catch (Exception e) when (e is InvalidDataException or IOException or JsonException) { return null; }
    }

    /// <summary>
    /// The runs an analysis should show: the finished local runs among <paramref name="localRuns"/> in
    /// <paramref name="runs"/> (the tracking database of the current scale) or the shipped files among
    /// <paramref name="shippedNames"/> that exist (as <see cref="TrainedRun"/>s with <see cref="TrainedRun.Origin"/> saying
    /// so), whichever set is better trained — the higher mean best validation mIoU (a run that recorded none counts 0); the
    /// local runs on a tie. So a short demo run does not hide the full-scale weights, and a reader's own longer run
    /// replaces them. Empty when there is neither. Local and shipped runs are never mixed, so models are compared trained alike.
    /// </summary>
    public static IReadOnlyList<TrainedRun> LocalOrShipped(RunQuery runs, IEnumerable<string> localRuns, IEnumerable<string> shippedNames, string? folder = null)
    {
        var local = runs.Trained(localRuns);
        var shipped = shippedNames.Select(n => Find(n, folder)).OfType<ShippedModel>().Select(s => s.AsTrainedRun()).ToList();
        if (local.Count == 0 || shipped.Count == 0) return local.Count > 0 ? local : shipped;
        static double Mean(IReadOnlyList<TrainedRun> set) => set.Average(r => r.BestValidationMIoU ?? 0);
        return Mean(shipped) > Mean(local) ? shipped : local;
    }

    /// <summary>A markdown list saying which weights <paramref name="runs"/> are (local run or shipped file) and their validation mIoU.</summary>
    public static string Summary(IEnumerable<TrainedRun> runs)
    {
        var lines = runs.Select(r => string.Create(CultureInfo.InvariantCulture,
            $"- **{r.Model}**: {r.Weights}, best val mIoU {(r.BestValidationMIoU is { } m ? (m * 100).ToString("F2", CultureInfo.InvariantCulture) + " %" : "not recorded")}")).ToList();
        return lines.Count == 0 ? "No trained weights: neither a local run at this scale nor shipped weights in results/weights; only initialised models are shown." : string.Join("\n", lines);
    }
}
