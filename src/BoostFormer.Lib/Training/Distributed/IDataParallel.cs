using static TorchSharp.torch;

namespace BoostFormer.Training.Distributed;

/// <summary>
/// The collective operations data-parallel training needs from a process group: who this process is (rank in a world of
/// ranks), a sum all-reduce over a CPU tensor, a broadcast from rank 0, and a barrier. <see cref="MpiDataParallel"/>
/// implements it over MPI (MPICH); <see cref="TrainingLoop{TBatch, TProgress}"/> uses it through
/// <see cref="GradientAllReduce"/> and <see cref="SyncBatchNorm"/>.
/// </summary>
public interface IDataParallel
{
    /// <summary>This process's rank, 0 … <see cref="WorldSize"/> − 1.</summary>
    int Rank { get; }
    /// <summary>Number of processes.</summary>
    int WorldSize { get; }
    /// <summary>True on rank 0: the rank that writes checkpoints and run records and evaluates.</summary>
    bool IsRoot => Rank == 0;
    /// <summary>Replaces <paramref name="t"/> (contiguous CPU float32 or float64) by its element-wise sum over all ranks.</summary>
    void AllReduceSum(Tensor t);
    /// <summary>Overwrites <paramref name="t"/> (contiguous CPU float32 or float64) on every rank with rank 0's values.</summary>
    void Broadcast(Tensor t);
    /// <summary>Waits until every rank got here (without spinning a core while waiting).</summary>
    void Barrier();
}
