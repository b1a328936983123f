using System.Runtime.ExceptionServices;

namespace BoostFormer.Data;

/// <summary>Options of <see cref="DataLoader{TBatch}"/>.</summary>
public sealed record LoaderOptions
{
    public int BatchSize { get; init; } = 8;
    public bool Shuffle { get; init; } = true;
    public bool DropLast { get; init; } = true;
    public long Seed { get; init; } = 0;
    /// <summary>Background threads building batches (0 = build on the consumer's thread).</summary>
    public int Workers { get; init; } = Math.Max(1, Environment.ProcessorCount - 1);
    /// <summary>Most batches built or being built ahead of the consumer (the bounded prefetch queue).</summary>
    public int Prefetch { get; init; } = 4;
    /// <summary>libtorch intra-op threads inside each worker (PyTorch's DataLoader workers use 1).</summary>
    public int WorkerTorchThreads { get; init; } = 1;
    /// <summary>
    /// Data-parallel shard (rank, world size), or null for whole batches: each batch then holds only the rank's contiguous
    /// part of the global batch of <see cref="BatchSize"/> samples (which must divide evenly), built exactly as the global
    /// batch would build those samples — so the ranks together see the global batch a single process sees.
    /// </summary>
    public (int Rank, int WorldSize)? Shard { get; init; }
}

/// <summary>What a batch builder gets: the epoch, the batch's position, its sample indices and the loader seed.</summary>
/// <remarks>Randomness must come from <see cref="SampleRng"/>/<see cref="BatchRng"/> so results do not depend on threads.</remarks>
public sealed record BatchRequest(int Epoch, int BatchIndex, int[] Indices, long Seed)
{
    /// <summary>The generator of sample <paramref name="sampleIndex"/> in this epoch: a function of (seed, epoch, index) only.</summary>
    public DataRng SampleRng(int sampleIndex) => DataRng.ForSample(Seed, Epoch, sampleIndex);
    /// <summary>The generator for batch-level augmentation (mixup/cutmix): a function of (seed, epoch, batch index).</summary>
    public DataRng BatchRng() => new(DataRng.Mix((ulong)Seed, (ulong)Epoch, 0xBA7C4UL, (ulong)BatchIndex));

    /// <summary>
    /// For a data-parallel shard (<see cref="LoaderOptions.Shard"/>): the sample indices of the whole global batch, of which
    /// <see cref="Indices"/> are rows <see cref="ShardOffset"/> … — what a batch-level augmentation that pairs samples across
    /// the batch (mixup/cutmix) needs to build exactly what one process builds. Null for whole batches.
    /// </summary>
    public int[]? GlobalIndices { get; init; }

    /// <summary>The position of this shard's first sample in <see cref="GlobalIndices"/>.</summary>
    public int ShardOffset { get; init; }
}

/// <summary>
/// Training batches as a deterministic function of (seed, epoch, position): the same epoch enumerated twice yields the
/// same batches, which is what makes resuming a run exact. The consumer owns (disposes) each batch.
/// </summary>
public interface IBatchSource<out TBatch> where TBatch : IDisposable
{
    /// <summary>Batches in one epoch (after drop_last).</summary>
    long BatchesPerEpoch { get; }
    /// <summary>Images per batch.</summary>
    int BatchSize { get; }
    /// <summary>The batches of <paramref name="epoch"/> from index <paramref name="startBatch"/> on.</summary>
    IEnumerable<TBatch> Epoch(long epoch, long startBatch);
}

/// <summary>
/// Builds batches on background threads with a bounded prefetch queue (PyTorch's DataLoader with workers). The order is
/// the same for the same seed and epoch, and so is every batch's content, regardless of thread timing: the permutation
/// comes from (seed, epoch) and each sample's randomness from (seed, epoch, index). Batches are yielded in order; the
/// consumer owns each batch (dispose it). Disposing the enumerator or cancelling stops the workers and disposes the
/// batches that were built but not handed out. An exception in a worker is rethrown to the consumer at that batch.
/// </summary>
public sealed class DataLoader<TBatch> : IBatchSource<TBatch> where TBatch : class, IDisposable
{
    private readonly Func<BatchRequest, TBatch> _build;
    public int DatasetSize { get; }
    public LoaderOptions Options { get; }

    public DataLoader(int datasetSize, Func<BatchRequest, TBatch> build, LoaderOptions? options = null)
    {
        Options = options ?? new LoaderOptions();
        if (datasetSize <= 0) throw new ArgumentOutOfRangeException(nameof(datasetSize), datasetSize, "the dataset is empty");
        if (Options.BatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(options), Options.BatchSize, "batch size must be positive");
        if (Options.Prefetch <= 0) throw new ArgumentOutOfRangeException(nameof(options), Options.Prefetch, "prefetch must be positive");
        if (Options.Shard is { } sh && (sh.WorldSize < 1 || sh.Rank < 0 || sh.Rank >= sh.WorldSize || Options.BatchSize % sh.WorldSize != 0 || !Options.DropLast))
            throw new ArgumentOutOfRangeException(nameof(options), sh, $"a shard needs 0 ≤ rank < world size, a batch size ({Options.BatchSize}) divisible by the world size and DropLast");
        DatasetSize = datasetSize;
        _build = build;
    }

    /// <summary>Number of batches per epoch.</summary>
    public int BatchCount => Options.DropLast ? DatasetSize / Options.BatchSize : (DatasetSize + Options.BatchSize - 1) / Options.BatchSize;

    /// <summary>The sample order of an epoch (a permutation from (seed, epoch) when shuffling).</summary>
    public int[] Order(int epoch)
    {
        if (!Options.Shuffle) return Enumerable.Range(0, DatasetSize).ToArray();
        return new DataRng(DataRng.Mix((ulong)Options.Seed, (ulong)epoch, 0x5A4F1EUL)).Permutation(DatasetSize);
    }

    /// <summary>The batches of an epoch, in order.</summary>
    public IReadOnlyList<BatchRequest> Plan(int epoch)
    {
        var order = Order(epoch);
        var list = new List<BatchRequest>();
        for (int b = 0; b < BatchCount; b++)
        {
            int start = b * Options.BatchSize, n = Math.Min(Options.BatchSize, DatasetSize - start);
            if (Options.Shard is { } sh)
            {
                n = Options.BatchSize / sh.WorldSize;
                list.Add(new BatchRequest(epoch, b, order.AsSpan(start + sh.Rank * n, n).ToArray(), Options.Seed)
                {
                    GlobalIndices = order.AsSpan(start, Options.BatchSize).ToArray(), ShardOffset = sh.Rank * n,
                });
                continue;
            }
            list.Add(new BatchRequest(epoch, b, order.AsSpan(start, n).ToArray(), Options.Seed));
        }
        return list;
    }

    /// <summary>Enumerates the batches of <paramref name="epoch"/>, built ahead on background threads.</summary>
    public IEnumerable<TBatch> Epoch(int epoch, CancellationToken cancellationToken = default) => Epoch(epoch, 0, cancellationToken);

    /// <summary>
    /// The batches of <paramref name="epoch"/> from index <paramref name="startBatch"/> on (a run resumed mid-epoch): the same
    /// batches an uninterrupted epoch yields from there.
    /// </summary>
    public IEnumerable<TBatch> Epoch(int epoch, int startBatch, CancellationToken cancellationToken = default)
    {
        if (startBatch < 0) throw new ArgumentOutOfRangeException(nameof(startBatch), startBatch, "the first batch index must be ≥ 0");
        var plan = Plan(epoch).Skip(startBatch).ToList();
        if (Options.Workers <= 0)
        {
            foreach (var req in plan)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return _build(req);
            }
            yield break;
        }

        using var run = new EpochRun(plan, _build, Options.Workers, Options.Prefetch, Options.WorkerTorchThreads, cancellationToken);
        for (int i = 0; i < plan.Count; i++)
            yield return run.Take(i);
    }

    long IBatchSource<TBatch>.BatchesPerEpoch => BatchCount;
    int IBatchSource<TBatch>.BatchSize => Options.BatchSize;
    IEnumerable<TBatch> IBatchSource<TBatch>.Epoch(long epoch, long startBatch) => Epoch(checked((int)epoch), checked((int)startBatch));

    private sealed class EpochRun : IDisposable
    {
        private readonly IReadOnlyList<BatchRequest> _plan;
        private readonly Func<BatchRequest, TBatch> _build;
        private readonly TBatch?[] _done;
        private readonly ExceptionDispatchInfo?[] _errors;
        private readonly bool[] _ready;
        private readonly bool[] _taken;
        private readonly SemaphoreSlim _slots;
        private readonly CancellationTokenSource _cts;
        private readonly Thread[] _threads;
        private readonly object _lock = new();
        private int _next = -1;
        private readonly int _torchThreads;

        public EpochRun(IReadOnlyList<BatchRequest> plan, Func<BatchRequest, TBatch> build, int workers, int prefetch, int torchThreads, CancellationToken ct)
        {
            _torchThreads = torchThreads;
            _plan = plan; _build = build;
            _done = new TBatch?[plan.Count];
            _errors = new ExceptionDispatchInfo?[plan.Count];
            _ready = new bool[plan.Count];
            _taken = new bool[plan.Count];
            _slots = new SemaphoreSlim(prefetch, prefetch);
            _cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            _threads = new Thread[Math.Min(workers, Math.Max(1, plan.Count))];
            for (int t = 0; t < _threads.Length; t++)
            {
                _threads[t] = new Thread(Work) { IsBackground = true, Name = $"DataLoader worker {t}" };
                _threads[t].Start();
            }
        }

        private void Work()
        {
            var token = _cts.Token;
            if (_torchThreads > 0) BoostFormer.IO.ImageCodec.SetThreadLocalNumThreads(_torchThreads);
            try
            {
                while (!token.IsCancellationRequested)
                {
                    _slots.Wait(token);
                    int i = Interlocked.Increment(ref _next);
                    if (i >= _plan.Count) { _slots.Release(); return; }
                    TBatch? batch = null;
                    ExceptionDispatchInfo? error = null;
                    try { batch = _build(_plan[i]); }
                    catch (Exception e) { error = ExceptionDispatchInfo.Capture(e); }
                    lock (_lock)
                    {
                        if (_taken[i]) { batch?.Dispose(); continue; }
                        _done[i] = batch;
                        _errors[i] = error;
                        _ready[i] = true;
                        Monitor.PulseAll(_lock);
                    }
                    if (error is not null) return;
                }
            }
            catch (OperationCanceledException) { }
        }

        public TBatch Take(int i)
        {
            _cts.Token.ThrowIfCancellationRequested();
            lock (_lock)
            {
                while (!_ready[i])
                {
                    _cts.Token.ThrowIfCancellationRequested();
                    Monitor.Wait(_lock, 50);
                }
                _taken[i] = true;
                var b = _done[i];
                _done[i] = null;
                _errors[i]?.Throw();
                _slots.Release();
                return b!;
            }
        }

        public void Dispose()
        {
            _cts.Cancel();
            foreach (var t in _threads) t.Join();
            lock (_lock)
            {
                for (int i = 0; i < _done.Length; i++)
                {
                    _taken[i] = true;
                    _done[i]?.Dispose();
                    _done[i] = null;
                }
            }
            _cts.Dispose();
            _slots.Dispose();
        }
    }
}
