using System.Diagnostics;
using BoostFormer.Data;
using BoostFormer.Training.Checkpoints;
using BoostFormer.Training.Distributed;
using BoostFormer.Training.Optimization;
using BoostFormer.Training.Tracking;
using TorchSharp;
using static TorchSharp.torch;

namespace BoostFormer.Training;

/// <summary>
/// The settings every training run has, whatever it trains: identity and records (run name, model and data configuration),
/// length, optimisation, evaluation and checkpoint intervals, seeds, and where checkpoints go. Each task's options add
/// their own (<see cref="SegmentationTrainerOptions"/>, <see cref="PretrainOptions"/>) and set the defaults of their recipe.
/// </summary>
public abstract record TrainingOptions
{
    /// <summary>Run name in the tracking database.</summary>
    public string RunName { get; init; } = "run";
    /// <summary>Model name recorded with the run.</summary>
    public string ModelName { get; init; } = "model";
    /// <summary>Model configuration JSON recorded with the run and in checkpoints (<see cref="ModelSpec.ToJson"/>).</summary>
    public string ModelConfigJson { get; init; } = "{}";
    /// <summary>Data configuration JSON recorded with the run.</summary>
    public string DataConfigJson { get; init; } = "{}";
    /// <summary>Total optimizer steps; if null, <see cref="Epochs"/> × batches per epoch.</summary>
    public long? Iterations { get; init; }
    /// <summary>Epochs (used when <see cref="Iterations"/> is null).</summary>
    public long? Epochs { get; init; }
    /// <summary>Base (peak) learning rate.</summary>
    public double LearningRate { get; init; }
    /// <summary>AdamW weight decay of the decayed parameter group.</summary>
    public double WeightDecay { get; init; }
    /// <summary>Linear warmup steps.</summary>
    public long WarmupIterations { get; init; }
    /// <summary>Global gradient-norm clip, or null for none.</summary>
    public double? GradClipNorm { get; init; }
    /// <summary>Evaluate every this many iterations (0 = only at the end; needs validation data).</summary>
    public long EvalInterval { get; init; }
    /// <summary>Write a checkpoint every this many iterations (0 = only at the end).</summary>
    public long CheckpointInterval { get; init; }
    /// <summary>Periodic checkpoints kept.</summary>
    public int KeepLastCheckpoints { get; init; } = 2;
    /// <summary>Log training metrics every this many iterations.</summary>
    public long LogInterval { get; init; } = 1;
    /// <summary>Seed of libtorch's generator (dropout, drop path, head init) — the data has its own.</summary>
    public long Seed { get; init; }
    /// <summary>Seed of the data pipeline (must be the loader's), recorded in checkpoints.</summary>
    public long DataSeed { get; init; }
    /// <summary>Folder for checkpoints (null = no checkpoints); with <see cref="FolderPerRun"/>, the folder that holds one sub-folder per run.</summary>
    public string? OutputDirectory { get; init; }
    /// <summary>
    /// True: every run writes to its own folder <c>&lt;OutputDirectory&gt;/run-&lt;run id&gt;</c> (so runs with the same name never
    /// share checkpoints), and <see cref="Resume"/> continues the newest of them. False: <see cref="OutputDirectory"/> is the
    /// run's folder itself, and a run that finds checkpoints of another run there is refused unless it resumes.
    /// </summary>
    public bool FolderPerRun { get; init; }
    /// <summary>Continue from the newest complete checkpoint in <see cref="OutputDirectory"/> if there is one.</summary>
    public bool Resume { get; init; }
    /// <summary>
    /// If the store holds a finished run with the same name and identical configuration (model, data, hyper-parameters)
    /// whose output still exists, return that run instead of training again (see <see cref="TrainingLoop{TBatch, TProgress}.ReusedRun"/>).
    /// </summary>
    public bool ReuseFinished { get; init; }
    /// <summary>Git commit recorded with the run.</summary>
    public string? GitCommit { get; init; }
}

/// <summary>Progress of a training run, reported after every iteration (and its evaluation, if one was due).</summary>
public abstract record TrainingProgress(long Iteration, long TotalIterations, long Epoch, double Loss, double LearningRate,
    double ImagesPerSecond, TimeSpan Elapsed, TimeSpan Eta)
{
    /// <summary>A line about the evaluation made at this iteration, or null when there was none.</summary>
    public abstract string? EvaluationSummary { get; }
}

/// <summary>What one training step computed: the loss to back-propagate, the value reported as progress, and the values logged.</summary>
public sealed record StepLoss(Tensor Total, double Value, IReadOnlyDictionary<string, double> Logged);

/// <summary>What an evaluation found: the score that picks the best checkpoint, the values logged, and the task's details.</summary>
public sealed record EvaluationScore(double Score, IReadOnlyDictionary<string, double> Logged, object? Details = null);

/// <summary>
/// The training loop, once for every task: reuse of a finished run, seeding, exact resume from the newest checkpoint,
/// the run record in a <see cref="RunStore"/>, periodic evaluation and checkpoints, progress, and failure handling (an
/// exception marks the run failed and propagates; a killed process leaves it <c>running</c>). A task — segmentation
/// fine-tuning (<see cref="SegmentationTrainer"/>), encoder pretraining (<see cref="PretrainTrainer"/>) — supplies its
/// optimizer and schedule, the loss of one batch, its evaluation and its progress record.
/// </summary>
public abstract class TrainingLoop<TBatch, TProgress> where TBatch : IDisposable where TProgress : TrainingProgress
{
    private readonly TrainingOptions _o;

    /// <summary>Checks the options common to every task.</summary>
    protected TrainingLoop(TrainingOptions options)
    {
        if (options.Iterations is null && options.Epochs is null) throw new ArgumentException("give Iterations or Epochs", nameof(options));
        if (options.Resume && options.OutputDirectory is null) throw new ArgumentException("Resume needs OutputDirectory (where the checkpoints are)", nameof(options));
        _o = options;
    }

    /// <summary>
    /// The data-parallel process group this process trains in, or null for one process (see <see cref="DataParallelRun"/>:
    /// gradients averaged after backward, synchronised BatchNorm, only rank 0 records, evaluates and writes checkpoints).
    /// </summary>
    public IDataParallel? DataParallel { get; set; }

    /// <summary>The gradient all-reduce of the last data-parallel run (its timings), or null.</summary>
    public GradientAllReduce? GradientReduction { get; private set; }

    /// <summary>The finished run the last run returned without training (<see cref="TrainingOptions.ReuseFinished"/>), or null.</summary>
    public RunRecord? ReusedRun { get; private set; }

    /// <summary>A line saying the last run was reused instead of trained (for logs), or null.</summary>
    public string? ReuseNote => ReusedRun is { } r
        ? $"reusing finished run {r.Id} '{r.Name}' (ended {r.EndedUtc:u}, same configuration): not training again; turn ReuseFinished off (notebooks: --param reuse=false) to retrain"
        : null;

    /// <summary>Run kind in the tracking database (<c>segmentation</c>, <c>pretrain</c>).</summary>
    protected abstract string Kind { get; }
    /// <summary>Learning-rate schedule name recorded in checkpoints.</summary>
    protected abstract string ScheduleName { get; }
    /// <summary>Artifact a finished run must still have on disk to be reused.</summary>
    protected abstract string ReuseArtifact { get; }
    /// <summary>True to keep a copy of the checkpoint with the best evaluation score (<c>best.safetensors</c>).</summary>
    protected virtual bool KeepsBestCheckpoint => false;
    /// <summary>True when validation data was given (evaluations happen at the intervals and at the end).</summary>
    protected abstract bool CanEvaluate { get; }

    /// <summary>The hyper-parameters recorded with the run (compared when reusing).</summary>
    protected abstract string HyperparametersJson(long totalIterations, int batchSize);
    /// <summary>
    /// Builds what the steps need after the generator is seeded (heads, loss, optimizer), puts the model in training mode,
    /// and returns the optimizer, its schedule and the parameters whose gradient norm is clipped.
    /// </summary>
    protected abstract (ITrainingOptimizer Optimizer, LrSchedule Schedule, IReadOnlyList<Tensor> Parameters) Start(long totalIterations);
    /// <summary>The weights saved in checkpoints (and restored from them).</summary>
    public abstract Dictionary<string, Tensor> StateDict();
    /// <summary>Forward pass and loss of one batch (inside the step's dispose scope).</summary>
    protected abstract StepLoss Loss(TBatch batch);
    /// <summary>Evaluates the model on the validation data.</summary>
    protected abstract EvaluationScore Evaluate();
    /// <summary>The task's progress record.</summary>
    protected abstract TProgress Progress(long iteration, long totalIterations, long epoch, double loss, double learningRate, double imagesPerSecond,
        TimeSpan elapsed, TimeSpan eta, StepLoss step, double? gradNorm, EvaluationScore? evaluation);
    /// <summary>Called when a finished run is returned instead of training.</summary>
    protected virtual void Reused(RunStore store, RunRecord run) { }
    /// <summary>Called after the last iteration, before the run is marked finished (e.g. to write the task's output).</summary>
    protected virtual void Finish(RunStore? store, long runId, long iteration) { }
    /// <summary>Called when the loop ends, normally or not (frees what <see cref="Start"/> built besides the optimizer).</summary>
    protected virtual void Stop() { }
    /// <summary>Called right after each backward pass, before the gradients are averaged over ranks, clipped and applied
    /// (bf16 mixed precision moves the gradients to the fp32 master weights here).</summary>
    protected virtual void AfterBackward() { }
    /// <summary>Called after each optimizer step (bf16 mixed precision copies the updated masters into the model here).</summary>
    protected virtual void AfterStep() { }
    /// <summary>Called when <see cref="StateDict"/>'s tensors were overwritten (restored from a checkpoint, broadcast from rank 0).</summary>
    protected virtual void WeightsLoaded() { }

    /// <summary>The folder this run writes its checkpoints to (set once the run starts), or null without checkpoints.</summary>
    protected string? RunDirectory { get; private set; }

    /// <summary>Trains to the end and returns the run id (0 without a store).</summary>
    protected long RunLoop(IBatchSource<TBatch> data, RunStore? store, IProgress<TProgress>? progress, CancellationToken cancellationToken)
    {
        ReusedRun = null;
        var total = _o.Iterations ?? _o.Epochs!.Value * data.BatchesPerEpoch;
        if (total <= 0) throw new ArgumentException($"the run has {total} iterations (batches per epoch: {data.BatchesPerEpoch})");
        var hyperparameters = HyperparametersJson(total, data.BatchSize);
        var dp = DataParallel;
        if (dp is { IsRoot: false }) store = null; // rank 0 keeps the run record
        if (_o.ReuseFinished && store?.FindFinished(_o.RunName, Kind,
                r => ModelSpec.SameRecord(r.ModelConfigJson, _o.ModelConfigJson) && r.DataConfigJson == _o.DataConfigJson && r.HyperparametersJson == hyperparameters,
                ReuseArtifact) is { } finished)
        {
            ReusedRun = finished;
            Reused(store, finished);
            DataParallelRun.AgreeOnReuse(dp, true);
            return finished.Id;
        }
        if (DataParallelRun.AgreeOnReuse(dp, false)) return 0; // rank 0 reused a finished run
        // The folder of a resumed run: the given one, or with one folder per run the newest run folder holding a checkpoint.
        string? folder = _o.OutputDirectory;
        if (_o.FolderPerRun && folder is not null)
            folder = _o.Resume ? RunFolders.NewestWithCheckpoint(folder) : null;
        var resumeFrom = _o.Resume && folder is not null ? new CheckpointManager(folder, _o.KeepLastCheckpoints).Latest() : null;
        CheckResumable(resumeFrom, store, hyperparameters);

        manual_seed(_o.Seed);
        try
        {
            var (optimizer, schedule, parameters) = Start(total);
            DataParallelRun.Begin(dp, StateDict().Values, _o.Seed);
            if (dp is not null) WeightsLoaded();
            using (optimizer) return Iterate(data, store, progress, cancellationToken, total, folder, resumeFrom, hyperparameters, optimizer, schedule, parameters);
        }
        finally { Stop(); RunDirectory = null; }
    }

    /// <summary>
    /// Refuses to resume a run whose recorded configuration (model, data, hyper-parameters) differs from this one's:
    /// the database would keep the old values for a run that continued with new ones.
    /// </summary>
    private void CheckResumable(string? resumeFrom, RunStore? store, string hyperparameters)
    {
        if (resumeFrom is null || store is null) return;
        var info = CheckpointManager.ReadInfo(resumeFrom);
        if (info?.RunId is not { } rid || store.Run(rid) is not { } run) return;
        var changes = new List<string>();
        if (!ModelSpec.SameRecord(run.ModelConfigJson, _o.ModelConfigJson)) changes.AddRange(ConfigDiff.Changes(run.ModelConfigJson, _o.ModelConfigJson, "model."));
        changes.AddRange(ConfigDiff.Changes(run.DataConfigJson, _o.DataConfigJson, ""));
        changes.AddRange(ConfigDiff.Changes(run.HyperparametersJson, hyperparameters, ""));
        if (changes.Count > 0)
            throw new ArgumentException($"--resume: run {rid} '{run.Name}' (checkpoint {resumeFrom}) was started with other settings: {string.Join("; ", changes)}. " +
                "Resume with the settings it was started with, or start a new run (without --resume, or with another --name/--output)");
    }

    private long Iterate(IBatchSource<TBatch> data, RunStore? store, IProgress<TProgress>? progress, CancellationToken cancellationToken, long total,
        string? folder, string? resumeFrom, string hyperparameters, ITrainingOptimizer optimizer, LrSchedule schedule, IReadOnlyList<Tensor> parameters)
    {
        long iteration = 0, epoch = 0, batchInEpoch = 0, runId = 0;
        var dp = DataParallel;
        double best = double.NaN;
        if (resumeFrom is not null)
        {
            using var c = CheckpointManager.Load(resumeFrom);
            RestoreWeights(resumeFrom, c);
            WeightsLoaded();
            optimizer.LoadStateDict(c.Optimizer);
            if (c.TorchRngState is not null) set_rng_state(c.TorchRngState);
            iteration = c.Info.Iteration; epoch = c.Info.Epoch; batchInEpoch = c.Info.BatchInEpoch; best = c.Info.BestMetric;
            if (c.Info.DataSeed != _o.DataSeed) throw new InvalidOperationException($"{resumeFrom}: written with data seed {c.Info.DataSeed}, resuming with {_o.DataSeed}");
            DataParallelRun.Reseed(dp, _o.Seed, iteration);
            if (store is not null && c.Info.RunId is { } rid && store.Run(rid) is not null) { runId = rid; store.ResumeRun(runId, iteration); }
        }
        if (store is not null && runId == 0)
            runId = store.CreateRun(_o.RunName, Kind, _o.ModelName, _o.ModelConfigJson, _o.DataConfigJson, hyperparameters, _o.GitCommit);
        // Rank 0 writes the checkpoints: it alone makes and locks the run's folder.
        var root = dp is null || dp.IsRoot;
        if (root && _o.FolderPerRun && _o.OutputDirectory is not null && folder is null)
            folder = RunFolders.Create(_o.OutputDirectory, runId);
        using var folderLock = folder is null || !root ? null : RunFolders.Lock(folder, resuming: _o.Resume);
        RunDirectory = folder;
        var ckpt = folder is null ? null : new CheckpointManager(folder, _o.KeepLastCheckpoints);

        CheckpointInfo Info(long e, long b) => new()
        {
            Iteration = iteration, Epoch = e, BatchInEpoch = b, DataSeed = _o.DataSeed, BestMetric = best,
            RunId = runId == 0 ? null : runId, Schedule = ScheduleName, ConfigJson = _o.ModelConfigJson,
        };

        EvaluationScore EvaluateAndKeepBest()
        {
            var evaluation = Evaluate();
            store?.LogMetrics(runId, "eval", iteration, evaluation.Logged);
            if (double.IsNaN(best) || evaluation.Score > best)
            {
                best = evaluation.Score;
                if (KeepsBestCheckpoint && ckpt is not null) store?.AddArtifact(runId, iteration, "best", ckpt.SaveBest(Info(epoch, batchInEpoch), StateDict()));
            }
            return evaluation;
        }

        var sw = Stopwatch.StartNew();
        long startIteration = iteration;
        GradientReduction = dp is null ? null : new GradientAllReduce(dp);
        using var syncBatchNorm = DataParallelRun.SyncBatchNorm(dp);
        try
        {
            // Resumed from a checkpoint written just before an evaluation that did not happen (the process died, or the
            // final evaluation failed on a bad validation image): evaluate now, as the uninterrupted run did.
            if (resumeFrom is not null && iteration > 0 && CanEvaluate && root && ((_o.EvalInterval > 0 && iteration % _o.EvalInterval == 0) || iteration == total)
                && store?.Metrics(runId, "eval").Any(m => m.Step == iteration) != true)
            {
                var evaluation = EvaluateAndKeepBest();
                progress?.Report(Progress(iteration, total, epoch, double.NaN, optimizer.GetLr(0), 0, sw.Elapsed, TimeSpan.Zero,
                    new StepLoss(null!, double.NaN, new Dictionary<string, double>()), null, evaluation));
            }
            while (iteration < total)
            {
                foreach (var batch in data.Epoch(epoch, batchInEpoch))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    StepLoss step;
                    double? gradNorm = null;
                    var t0 = sw.Elapsed;
                    using (batch)
                    using (var scope = NewDisposeScope())
                    {
                        schedule.Apply(optimizer, iteration);
                        step = DataParallelRun.AverageLogged(dp, Loss(batch));
                        step.Total.backward();
                        AfterBackward();
                        GradientReduction?.Average(parameters);
                        if (_o.GradClipNorm is { } clip) gradNorm = GradientClipping.ClipGradNorm(parameters, clip);
                        optimizer.Step();
                        AfterStep();
                        optimizer.ZeroGrad();
                        if (!double.IsFinite(step.Value)) throw new InvalidOperationException($"loss became {step.Value} at iteration {iteration + 1}");
                    }
                    iteration++; batchInEpoch++;
                    var stepTime = (sw.Elapsed - t0).TotalSeconds;
                    var ips = stepTime > 0 ? data.BatchSize / stepTime : 0;
                    var eta = TimeSpan.FromSeconds(sw.Elapsed.TotalSeconds / Math.Max(1, iteration - startIteration) * (total - iteration));
                    var lr = optimizer.GetLr(0);
                    var last = iteration == total;
                    if (store is not null && (iteration % Math.Max(1, _o.LogInterval) == 0 || last))
                    {
                        var m = new Dictionary<string, double>(step.Logged) { ["lr"] = lr, ["images_per_s"] = ips };
                        if (gradNorm is { } gn) m["grad_norm"] = gn;
                        store.LogMetrics(runId, "train", iteration, m);
                    }
                    // The checkpoint comes before the evaluation: a failing evaluation (a bad validation image) cannot lose the weights.
                    if (ckpt is not null && root && ((_o.CheckpointInterval > 0 && iteration % _o.CheckpointInterval == 0) || last))
                    {
                        // The data position saved is that of the next batch: roll over to the next epoch when this one is exhausted.
                        var (e, b) = batchInEpoch >= data.BatchesPerEpoch ? (epoch + 1, 0L) : (epoch, batchInEpoch);
                        var opt = optimizer.StateDict();
                        try { store?.AddArtifact(runId, iteration, "checkpoint", ckpt.Save(Info(e, b), StateDict(), opt)); }
                        finally { foreach (var t in opt.Values) t.Dispose(); }
                    }
                    EvaluationScore? evaluation = null;
                    if (CanEvaluate && root && ((_o.EvalInterval > 0 && iteration % _o.EvalInterval == 0) || last))
                        evaluation = EvaluateAndKeepBest();
                    progress?.Report(Progress(iteration, total, epoch, step.Value, lr, ips, sw.Elapsed, eta, step, gradNorm, evaluation));
                    if (last) break;
                }
                if (iteration >= total) break;
                epoch++; batchInEpoch = 0;
            }
            if (root) Finish(store, runId, iteration);
            store?.EndRun(runId, RunStore.Finished);
            return runId;
        }
        catch (Exception ex)
        {
            try { store?.EndRun(runId, RunStore.Failed, ex.GetType().Name + ": " + ex.Message); } catch (Exception) { /* keep the original error */ }
            throw;
        }
    }

    /// <summary>Copies the checkpoint's weights into <see cref="StateDict"/>'s tensors; every key must be there with its shape.</summary>
    private void RestoreWeights(string path, LoadedCheckpoint c)
    {
        var own = StateDict();
        var missing = own.Keys.Where(k => !c.Model.ContainsKey(k)).ToList();
        if (missing.Count > 0) throw new InvalidDataException($"{path}: checkpoint lacks {missing.Count} model key(s), e.g. {missing[0]}");
        using var _ = no_grad();
        foreach (var (k, dst) in own)
        {
            var src = c.Model[k];
            if (!src.shape.SequenceEqual(dst.shape)) throw new InvalidDataException($"{path}: {k} has shape [{string.Join(", ", src.shape)}], model expects [{string.Join(", ", dst.shape)}]");
            dst.copy_(src);
        }
    }
}
