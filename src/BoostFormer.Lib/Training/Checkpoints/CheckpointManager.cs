using System.Globalization;
using System.Text.Json;
using TorchSharp;
using BoostFormer.IO;
using static TorchSharp.torch;

namespace BoostFormer.Training.Checkpoints;

/// <summary>
/// Everything needed to continue a run exactly: the iteration reached, the data position (epoch and batch index within
/// it, plus the data pipeline's seed), the best validation mIoU so far and the run id. The tensors (model, optimizer and
/// the global CPU generator state) live in the checkpoint's safetensors file.
/// </summary>
public sealed record CheckpointInfo
{
    /// <summary>Optimizer steps completed.</summary>
    public long Iteration { get; init; }
    /// <summary>Epoch the next batch comes from.</summary>
    public long Epoch { get; init; }
    /// <summary>Index of the next batch within <see cref="Epoch"/>.</summary>
    public long BatchInEpoch { get; init; }
    /// <summary>Seed of the data pipeline (its RNG state: sample order and augmentations are functions of seed, epoch, index).</summary>
    public long DataSeed { get; init; }
    /// <summary>Best validation metric so far (mIoU for segmentation, top-1 for pretraining; NaN before the first evaluation).</summary>
    public double BestMetric { get; init; } = double.NaN;
    /// <summary>Tracking-database run id, if any.</summary>
    public long? RunId { get; init; }
    /// <summary>Schedule description (informational; schedules are functions of the iteration).</summary>
    public string? Schedule { get; init; }
    /// <summary>The model's configuration as JSON (<see cref="ModelSpec.ToJson"/>; older checkpoints: <c>{model, num_labels, drop_path_rate}</c>).</summary>
    public string? ConfigJson { get; init; }
    /// <summary>UTC time written.</summary>
    public DateTime WrittenUtc { get; init; }
}

/// <summary>A checkpoint read back: the tensors by group and its info. Dispose to free the tensors.</summary>
public sealed class LoadedCheckpoint : IDisposable
{
    internal LoadedCheckpoint(string path, CheckpointInfo info, Dictionary<string, Tensor> model, Dictionary<string, Tensor> optimizer, Tensor? rng)
    { Path = path; Info = info; Model = model; Optimizer = optimizer; TorchRngState = rng; }

    /// <summary>The safetensors file.</summary>
    public string Path { get; }
    /// <summary>Iteration, data position and run metadata.</summary>
    public CheckpointInfo Info { get; }
    /// <summary>Model state dict.</summary>
    public Dictionary<string, Tensor> Model { get; }
    /// <summary>Optimizer state.</summary>
    public Dictionary<string, Tensor> Optimizer { get; }
    /// <summary>The global CPU generator state (torch.get_rng_state), if saved.</summary>
    public Tensor? TorchRngState { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in Model.Values) t.Dispose();
        foreach (var t in Optimizer.Values) t.Dispose();
        TorchRngState?.Dispose();
    }
}

/// <summary>
/// Writes and finds training checkpoints in a folder: <c>iter_00001000.safetensors</c> (tensors under <c>model/</c>,
/// <c>optimizer/</c> and <c>rng/torch</c>) with its <c>iter_00001000.json</c> (<see cref="CheckpointInfo"/>). Both are written
/// atomically, tensors first: a checkpoint counts only once its JSON exists, so a run killed mid-write (even by
/// <c>kill -9</c>) resumes from the previous complete one. Keeps the last <see cref="KeepLast"/> and a copy of the best
/// by validation mIoU (<c>best.safetensors</c>/<c>best.json</c>).
/// </summary>
public sealed class CheckpointManager
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>Manages checkpoints in <paramref name="directory"/> (created if needed).</summary>
    public CheckpointManager(string directory, int keepLast = 2)
    {
        if (keepLast < 1) throw new ArgumentOutOfRangeException(nameof(keepLast), keepLast, "keep at least one checkpoint");
        Directory = System.IO.Path.GetFullPath(directory);
        KeepLast = keepLast;
        System.IO.Directory.CreateDirectory(Directory);
    }

    /// <summary>The checkpoint folder.</summary>
    public string Directory { get; }
    /// <summary>How many periodic checkpoints are kept.</summary>
    public int KeepLast { get; }

    /// <summary>Path of the safetensors file for an iteration.</summary>
    public string PathFor(long iteration) => System.IO.Path.Combine(Directory, string.Create(CultureInfo.InvariantCulture, $"iter_{iteration:D8}.safetensors"));

    /// <summary>Writes a checkpoint and prunes old ones; returns the safetensors path.</summary>
    public string Save(CheckpointInfo info, IReadOnlyDictionary<string, Tensor> model, IReadOnlyDictionary<string, Tensor>? optimizer, bool saveRng = true)
    {
        var path = PathFor(info.Iteration);
        Write(path, info, model, optimizer, saveRng);
        Prune();
        return path;
    }

    /// <summary>Writes the checkpoint as the best one (<c>best.safetensors</c>).</summary>
    public string SaveBest(CheckpointInfo info, IReadOnlyDictionary<string, Tensor> model)
    {
        var path = System.IO.Path.Combine(Directory, "best.safetensors");
        Write(path, info, model, null, saveRng: false);
        return path;
    }

    private static void Write(string path, CheckpointInfo info, IReadOnlyDictionary<string, Tensor> model, IReadOnlyDictionary<string, Tensor>? optimizer, bool saveRng)
    {
        using var scope = NewDisposeScope();
        var all = new Dictionary<string, Tensor>();
        foreach (var (k, v) in model) all["model/" + k] = v;
        if (optimizer is not null) foreach (var (k, v) in optimizer) all["optimizer/" + k] = v;
        if (saveRng) all["rng/torch"] = get_rng_state();
        var infoJson = JsonSerializer.Serialize(info with { WrittenUtc = DateTime.UtcNow }, Json);
        Safetensors.Save(path, all, new Dictionary<string, string> { ["format"] = "boostformer-checkpoint-v1", ["info"] = infoJson });
        AtomicFile.WriteAllText(System.IO.Path.ChangeExtension(path, ".json"), infoJson);
    }

    /// <summary>Complete periodic checkpoints (both files present), oldest first.</summary>
    public IReadOnlyList<(long iteration, string path)> List()
    {
        var r = new List<(long, string)>();
        foreach (var f in System.IO.Directory.EnumerateFiles(Directory, "iter_*.safetensors"))
        {
            var stem = System.IO.Path.GetFileNameWithoutExtension(f);
            if (!long.TryParse(stem.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var it)) continue;
            if (!File.Exists(System.IO.Path.ChangeExtension(f, ".json"))) continue;
            r.Add((it, f));
        }
        return r.OrderBy(x => x.Item1).ToList();
    }

    /// <summary>The newest complete checkpoint, or null.</summary>
    public string? Latest() => List().LastOrDefault().path;

    private void Prune()
    {
        var list = List();
        foreach (var (_, p) in list.Take(Math.Max(0, list.Count - KeepLast)))
        {
            File.Delete(System.IO.Path.ChangeExtension(p, ".json"));
            File.Delete(p);
        }
        // Leftover temporaries of a killed writer (Safetensors.Save and AtomicFile write hidden ".<name>…tmp…" files).
        foreach (var tmp in System.IO.Directory.EnumerateFiles(Directory, ".*tmp*")) { try { File.Delete(tmp); } catch (IOException) { } }
    }

    /// <summary>
    /// The info of a checkpoint written by <see cref="Save"/> from its header alone (no tensor is read), or null for any
    /// other safetensors file.
    /// </summary>
    public static CheckpointInfo? ReadInfo(string path) => ReadInfo(path, Safetensors.ReadMetadata(path));

    /// <summary>The <see cref="CheckpointInfo"/> in metadata already read from <paramref name="path"/> (null when it holds none).</summary>
    public static CheckpointInfo? ReadInfo(string path, IReadOnlyDictionary<string, string> metadata) =>
        metadata.TryGetValue("info", out var json) ? ParseInfo(path, json) : null;

    private static CheckpointInfo ParseInfo(string path, string json) =>
        JsonSerializer.Deserialize<CheckpointInfo>(json, Json) ?? throw new InvalidDataException($"{path}: empty checkpoint info");

    /// <summary>Reads a checkpoint written by <see cref="Save"/> (or any safetensors file: then every tensor is a model tensor).</summary>
    public static LoadedCheckpoint Load(string path)
    {
        var meta = Safetensors.ReadMetadata(path);
        var tensors = Safetensors.Load(path);
        foreach (var t in tensors.Values) t.DetachFromDisposeScope();
        var model = new Dictionary<string, Tensor>();
        var optim = new Dictionary<string, Tensor>();
        Tensor? rng = null;
        CheckpointInfo info;
        if (meta.TryGetValue("info", out var json))
        {
            info = ParseInfo(path, json);
            foreach (var (k, v) in tensors)
            {
                if (k.StartsWith("model/", StringComparison.Ordinal)) model[k[6..]] = v;
                else if (k.StartsWith("optimizer/", StringComparison.Ordinal)) optim[k[10..]] = v;
                else if (k == "rng/torch") rng = v;
                else v.Dispose();
            }
        }
        else
        {
            info = new CheckpointInfo();
            model = tensors;
        }
        return new LoadedCheckpoint(path, info, model, optim, rng);
    }
}
