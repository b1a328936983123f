using static TorchSharp.torch;

namespace BoostFormer.Training.Distributed;

/// <summary>
/// What <see cref="TrainingLoop{TBatch, TProgress}"/> does differently with a process group (each a no-op without one):
/// the ranks start from rank 0's weights, agree on whether rank 0 reused a finished run, draw their own dropout and
/// drop-path randomness (rank 0 keeps the single-process stream), and run BatchNorm synchronised. The step's gradient
/// average is <see cref="GradientAllReduce"/>; data sharding is the batch source's (<see cref="DatasetBatchSource"/>'s shard).
/// </summary>
public static class DataParallelRun
{
    /// <summary>After the model and heads are built: copies rank 0's weights and buffers to every rank, and seeds the other ranks' generators.</summary>
    public static void Begin(IDataParallel? group, IEnumerable<Tensor> state, long seed)
    {
        if (group is null) return;
        GradientAllReduce.BroadcastFromRoot(group, state);
        Reseed(group, seed, 0);
    }

    /// <summary>
    /// Seeds ranks other than 0 from (seed, rank, iteration), so their stochastic layers do not repeat rank 0's masks; rank 0
    /// keeps the stream a single process has (and its checkpoints restore).
    /// </summary>
    public static void Reseed(IDataParallel? group, long seed, long iteration)
    {
        if (group is null || group.IsRoot) return;
        manual_seed(unchecked(seed * 1_000_003L + group.Rank * 7_919L + iteration * 104_729L) & long.MaxValue);
    }

    /// <summary>Rank 0's answer to "was a finished run reused instead of training?", on every rank.</summary>
    public static bool AgreeOnReuse(IDataParallel? group, bool reusedOnRoot)
    {
        if (group is null) return false;
        using var flag = full(new long[] { 1 }, group.IsRoot && reusedOnRoot ? Scalars.One : Scalars.Zero, ScalarType.Float64);
        group.Broadcast(flag);
        return flag.item<double>() > 0.5;
    }

    /// <summary>
    /// The step's logged values (loss and its parts) averaged over the ranks, so rank 0 records the global batch's loss as one
    /// process would (each rank's loss is its shard's mean over an equal share of the batch, or, for segmentation, its
    /// sum over the global normaliser's rank mean). One all-reduce of a few doubles; the step itself is unchanged without a group.
    /// </summary>
    public static StepLoss AverageLogged(IDataParallel? group, StepLoss step)
    {
        if (group is null || group.WorldSize == 1) return step;
        var keys = step.Logged.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
        var values = keys.Select(k => step.Logged[k]).Append(step.Value).ToArray();
        using var t = tensor(values, ScalarType.Float64);
        group.AllReduceSum(t);
        var sums = t.data<double>().ToArray();
        var logged = new Dictionary<string, double>();
        for (int i = 0; i < keys.Count; i++) logged[keys[i]] = sums[i] / group.WorldSize;
        return step with { Value = sums[^1] / group.WorldSize, Logged = logged };
    }

    /// <summary>Synchronised BatchNorm for the training thread while the result lives (null without a group).</summary>
    public static IDisposable? SyncBatchNorm(IDataParallel? group) => group is null ? null : Distributed.SyncBatchNorm.Enable(group);
}
