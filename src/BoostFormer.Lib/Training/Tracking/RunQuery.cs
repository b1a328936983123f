namespace BoostFormer.Training.Tracking;

/// <summary>A finished segmentation run as analyses use it: its best checkpoint and best validation mIoU.</summary>
public sealed record TrainedRun(string Name, long Id, string Model, string Checkpoint, double? BestValidationMIoU)
{
    /// <summary>The <see cref="Origin"/> of a run of this machine's tracking database.</summary>
    public const string LocalOrigin = "local run";

    /// <summary>Where the weights come from: <see cref="LocalOrigin"/> or the shipped file (<c>shipped weights results/weights/…</c>, <see cref="ShippedWeights"/>).</summary>
    public string Origin { get; init; } = LocalOrigin;

    /// <summary>One phrase naming the weights: <c>local run &lt;name&gt;</c> or <c>shipped weights results/weights/&lt;file&gt;</c>.</summary>
    public string Weights => Origin == LocalOrigin ? $"{LocalOrigin} {Name}" : Origin;
}

/// <summary>
/// The questions notebooks and analyses ask a tracking database — which runs finished, their best checkpoints, the newest
/// pretrained encoder, the models they trained — answered in one call each instead of LINQ over <see cref="RunStore"/>.
/// Each question opens the database briefly; a missing database answers "nothing" and is not created.
/// </summary>
public sealed class RunQuery
{
    /// <summary>Questions about the database at <paramref name="database"/>.</summary>
    public RunQuery(string database) { Database = Path.GetFullPath(database); }

    /// <summary>The database file.</summary>
    public string Database { get; }

    /// <summary>True when the database exists.</summary>
    public bool Exists => File.Exists(Database);

    private T Ask<T>(Func<RunStore, T> question, T nothing)
    {
        if (!Exists) return nothing;
        using var store = RunStore.Open(Database);
        return question(store);
    }

    /// <summary>A summary row per run (newest first), optionally of one kind (<c>segmentation</c>, <c>pretrain</c>).</summary>
    public IReadOnlyList<RunSummary> Summaries(string? kind = null) =>
        Ask(s => s.Summaries().Where(r => kind is null || r.Kind == kind).ToList(), new List<RunSummary>());

    /// <summary>
    /// The path of the newest existing artifact of kind <paramref name="artifact"/> of the newest finished run of
    /// <paramref name="kind"/> that has one, or null.
    /// </summary>
    public string? LatestArtifact(string kind, string artifact) => Ask(s =>
    {
        foreach (var run in s.Runs().Where(r => r.Kind == kind && r.Status == RunStore.Finished))
            if (s.Artifacts(run.Id).LastOrDefault(a => a.Kind == artifact && File.Exists(a.Path)) is { } found) return found.Path;
        return null;
    }, (string?)null);

    /// <summary>The encoder weights of the newest finished pretraining run (<c>encoder.safetensors</c>), or null.</summary>
    public string? LatestEncoder() => LatestArtifact("pretrain", "encoder");

    /// <summary>
    /// The finished segmentation runs among <paramref name="names"/> (the newest run of each name), with their best
    /// checkpoint (by validation mIoU, else the last) and best validation mIoU, in the order of <paramref name="names"/>.
    /// Runs without a checkpoint file are left out.
    /// </summary>
    public IReadOnlyList<TrainedRun> Trained(IEnumerable<string> names) => Ask(s =>
    {
        var result = new List<TrainedRun>();
        var summaries = s.Summaries();
        foreach (var name in names)
        {
            var run = s.LatestFinished(name);
            if (run is null || s.BestCheckpoint(run.Id) is not { } checkpoint || !File.Exists(checkpoint)) continue;
            result.Add(new TrainedRun(name, run.Id, run.Model, checkpoint, summaries.First(x => x.Id == run.Id).BestValidation));
        }
        return result;
    }, new List<TrainedRun>());

    /// <summary>The newest finished run called <paramref name="name"/> (see <see cref="Trained(IEnumerable{string})"/>), or null.</summary>
    public TrainedRun? Trained(string name) => Trained(new[] { name }).FirstOrDefault();

    /// <summary>
    /// The model the newest finished run called <paramref name="name"/> trained, rebuilt from its best checkpoint in eval
    /// mode; null when there is no such run, database or checkpoint file.
    /// </summary>
    public LoadedSegmentationModel? TrainedModel(string name) => Trained(name) is { } run ? TrainedModels.Load(run.Checkpoint) : null;
}
