using BoostFormer.Training.Tracking;

namespace BoostFormer.Training;

/// <summary>
/// What every training job names: the model (a <see cref="ModelSpec"/>: a name or a full configuration), the data root,
/// batch size, stochastic depth, subset limits, the tracking database and the output folder. <see cref="SegmentationJob"/>
/// and <see cref="PretrainJob"/> add their data and trainer settings and <c>Run</c> themselves.
/// </summary>
public abstract record TrainingJob
{
    /// <summary>The model: a name (<c>segformer-b0</c> … <c>boostformer-b5</c>) or a configuration (<see cref="ModelSpec.FromFile"/>).</summary>
    public ModelSpec Model { get; init; } = "segformer-b0";
    /// <summary>Data root (null: <c>BOOSTFORMER_DATA</c>).</summary>
    public string? Root { get; init; }
    /// <summary>Images per batch.</summary>
    public int BatchSize { get; init; }
    /// <summary>Stochastic depth rate of the encoder (null: the model configuration's, 0.1 for named models).</summary>
    public double? DropPath { get; init; }
    /// <summary>Train on at most this many images (null = all) — for overfitting checks and CI scale.</summary>
    public int? TrainLimit { get; init; }
    /// <summary>Validate on at most this many images (null = all).</summary>
    public int? ValLimit { get; init; }
    /// <summary>Tracking database.</summary>
    public string Database { get; init; } = Path.Combine("runs", "runs.db");
    /// <summary>
    /// Output folder for checkpoints, used as given (null: one folder per run, <c>&lt;database folder&gt;/&lt;run name&gt;/run-&lt;run id&gt;</c>,
    /// so runs with the same name never share checkpoints).
    /// </summary>
    public string? OutputDirectory { get; init; }
    /// <summary>Data-loader worker threads (null = the loader's default).</summary>
    public int? Workers { get; init; }

    /// <summary>
    /// Data-parallel process group (null = one process): each rank trains on its shard of every global batch of
    /// <see cref="BatchSize"/> images (which the world size must divide); only rank 0 opens the database, evaluates and
    /// writes checkpoints.
    /// </summary>
    public Distributed.IDataParallel? DataParallel { get; init; }

    /// <summary>The gradient all-reduce timings of the last data-parallel run (<see cref="Distributed.GradientAllReduce.Summary"/>), or null.</summary>
    public Distributed.GradientAllReduce? GradientReduction => LastReduction;

    /// <summary>Set by <c>Run</c> from its trainer.</summary>
    protected Distributed.GradientAllReduce? LastReduction { get; set; }

    /// <summary>True without a process group and on rank 0.</summary>
    protected bool IsRoot => DataParallel is null || DataParallel.IsRoot;

    /// <summary>The loader shard of this rank, or null for one process.</summary>
    protected (int Rank, int WorldSize)? Shard => DataParallel is { WorldSize: > 1 } dp ? (dp.Rank, dp.WorldSize) : null;

    /// <summary>Throws (one line naming the sizes) when the batch cannot be split evenly over the processes.</summary>
    protected void CheckShardable()
    {
        if (DataParallel is { } g && BatchSize % g.WorldSize != 0)
            throw new ArgumentException($"the batch size {BatchSize} is not divisible by the {g.WorldSize} processes (each takes an equal shard of every batch)");
    }

    /// <summary>The model to build for <paramref name="numLabels"/> classes, with this job's drop path.</summary>
    protected ModelSpec ModelFor(int numLabels) => Model.WithLabels(numLabels).WithDropPath(DropPath);

    /// <summary>The trainer options with this job's output folder and the git commit filled in.</summary>
    protected T Placed<T>(T options) where T : TrainingOptions => (T)(options with
    {
        OutputDirectory = OutputDirectory ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(Database))!, options.RunName),
        FolderPerRun = OutputDirectory is null,
        GitCommit = options.GitCommit ?? GitInfo.Commit(),
    });
}
