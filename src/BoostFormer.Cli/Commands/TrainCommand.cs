using System.CommandLine;
using BoostFormer.Data;
using BoostFormer.Profiling;
using BoostFormer.Training;
using BoostFormer.Training.Losses;

namespace BoostFormer.Cli.Commands;

/// <summary>
/// <c>boostformer train</c>: fine-tunes a SegFormer/BoostFormer model — a named one or any variant from a config.json — on
/// a segmentation dataset with the SegFormer recipe (AdamW, poly decay with warmup, head lr ×10), optional auxiliary FCN
/// head, OHEM, class-balanced weights and label smoothing; checkpoints (which record the full model configuration) and
/// resumes; logs every step and evaluation to the SQLite tracking database.
/// </summary>
public sealed class TrainCommand : ICliCommand
{
    public Command Build()
    {
        var model = new Option<string?>("--model") { Description = "segformer-b0 … b5, boostformer-b0 … b5, nota-final, segnext-t (default segformer-b0)" };
        var config = new Option<string?>("--config") { Description = "A model config.json (any variant: BoostFormer switches, sizes) instead of --model" };
        var dataset = new Option<string>("--dataset") { Description = Datasets.Names(DatasetKind.Segmentation), DefaultValueFactory = _ => "camvid" };
        var root = new Option<string?>("--root") { Description = "Data root (default: $BOOSTFORMER_DATA)" };
        var iterations = new Option<long?>("--iterations") { Description = "Optimizer steps (default 1000 unless --epochs)" };
        var epochs = new Option<long?>("--epochs") { Description = "Epochs (instead of --iterations)" };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 2 };
        var crop = new Option<int>("--crop") { Description = "Square training crop", DefaultValueFactory = _ => 512 };
        var scale = new Option<string?>("--scale") { Description = "Resize scale LONGxSHORT before the 0.5–2.0 random ratio (default: the dataset's, 2048x512; camvid 480x360)" };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => 6e-5 };
        var wd = new Option<double>("--weight-decay") { DefaultValueFactory = _ => 0.01 };
        var warmup = new Option<long>("--warmup") { Description = "Linear warmup iterations", DefaultValueFactory = _ => 1500 };
        var clip = new Option<double?>("--clip-grad") { Description = "Clip the global gradient norm to this value" };
        var dropPath = new Option<double?>("--drop-path") { Description = "Stochastic depth rate (default: the model config's, 0.1)" };
        var aux = new Option<bool>("--aux-head") { Description = "Auxiliary FCN head on stage 3 (loss weight --aux-weight)" };
        var auxWeight = new Option<double>("--aux-weight") { DefaultValueFactory = _ => 0.4 };
        var ohem = new Option<double?>("--ohem-thresh") { Description = "OHEM: keep pixels whose GT probability is below this (with --ohem-min-kept)" };
        var ohemMin = new Option<int>("--ohem-min-kept") { DefaultValueFactory = _ => 100000 };
        var classWeights = new Option<bool>("--class-weights") { Description = "Class-balanced (median frequency) weights from the training split" };
        var smoothing = new Option<double>("--label-smoothing") { DefaultValueFactory = _ => 0.0 };
        var pretrained = new Option<string?>("--pretrained") { Description = "Encoder or full weights to start from (pretrain output, mit-b*, HF/NVlabs/mmseg)" };
        var evalEvery = new Option<long>("--eval-interval") { Description = "Validate every N iterations (0 = at the end)", DefaultValueFactory = _ => 0 };
        var ckptEvery = new Option<long>("--checkpoint-interval") { Description = "Checkpoint every N iterations (0 = at the end)", DefaultValueFactory = _ => 0 };
        var keep = new Option<int>("--keep") { Description = "Periodic checkpoints kept", DefaultValueFactory = _ => 2 };
        var valLimit = new Option<int?>("--val-limit") { Description = "Validate on at most N images" };
        var trainLimit = new Option<int?>("--train-limit") { Description = "Train on at most N images" };
        var seed = new Option<long>("--seed") { DefaultValueFactory = _ => 0 };
        var db = new Option<string>("--db") { Description = "Tracking database", DefaultValueFactory = _ => Path.Combine("runs", "runs.db") };
        var name = new Option<string?>("--name") { Description = "Run name (default: <model>-<dataset>)" };
        var output = new Option<string?>("--output") { Description = "Checkpoint folder (default: next to the database, named after the run)" };
        var resume = new Option<bool>("--resume") { Description = "Continue from the newest checkpoint in the output folder" };
        var reuse = new Option<bool>("--reuse") { Description = "If the database holds a finished run with this name and the same configuration, report it instead of training" };
        var workers = new Option<int?>("--workers") { Description = "Data-loader threads" };
        var logEvery = new Option<long>("--log-every") { Description = "Plain-output progress line every N iterations", DefaultValueFactory = _ => 10 };
        var synthSize = new Option<int>("--synthetic-size") { DefaultValueFactory = _ => 128 };
        var maxPixels = CliOptions.MaxPixelsOption();
        var lossKind = new Option<string>("--loss") { Description = "ce (cross-entropy), dice, or ce+dice", DefaultValueFactory = _ => "ce" };
        var diceWeight = new Option<double>("--dice-weight") { Description = "Weight of the Dice term with --loss ce+dice", DefaultValueFactory = _ => 1.0 };
        var teacher = new Option<string?>("--teacher") { Description = "Trained segmentation checkpoint to distil from (teacher–student training)" };
        var distill = new Option<string?>("--distill") { Description = "Distillation loss with --teacher: cwd (channel-wise distillation, the default)" };
        var distillTau = new Option<double>("--distill-tau") { Description = "CWD temperature τ", DefaultValueFactory = _ => 4.0 };
        var distillWeight = new Option<double>("--distill-weight") { Description = "CWD loss weight λ", DefaultValueFactory = _ => 3.0 };
        var nproc = new Option<int>("--nproc") { Description = "Data-parallel processes on this machine (runs mpiexec.mpich -n N; each takes an equal shard of every batch)", DefaultValueFactory = _ => 1 };
        var hosts = new Option<string?>("--hosts") { Description = "With --nproc: machines for mpiexec.mpich -hosts (e.g. node1:2,node2:2; see README, Data-parallel training)" };
        var precision = new Option<string>("--precision") { Description = "fp32; bf16 mixed precision (forward and backward in bfloat16, loss and fp32 master weights in float32; validation in bf16); or fp64 for numerical checks (everything in float64)", DefaultValueFactory = _ => "fp32" };
        var threads = new Option<int>("--threads") { Description = "Intra-op threads per process (0 = the engine's default; --nproc N: cores / N)", DefaultValueFactory = _ => 0 };
        var cmd = new Command("train", "Fine-tune SegFormer/BoostFormer for semantic segmentation (resumable, tracked in SQLite).")
        {
            model, config, dataset, root, iterations, epochs, batch, crop, scale, lr, wd, warmup, clip, dropPath, aux, auxWeight, ohem, ohemMin, classWeights,
            smoothing, pretrained, evalEvery, ckptEvery, keep, valLimit, trainLimit, seed, db, name, output, resume, reuse, workers, logEvery, synthSize,
            nproc, hosts, threads, maxPixels,
            lossKind, diceWeight, teacher, distill, distillTau, distillWeight, precision,
        };
        cmd.SetAction(pr => ExitCodes.Run(() => DistributedLaunch.LaunchIfRequested(pr.GetValue(nproc), pr.GetValue(hosts))
            ?? DistributedLaunch.RunRank(pr.GetValue(nproc), group => Train(pr, group))));
        int Train(ParseResult pr, BoostFormer.Training.Distributed.IDataParallel? group)
        {
            if (pr.GetValue(threads) is > 0 and var nt) TorchSharp.torch.set_num_threads(nt);
            var isRoot = group is null || group.IsRoot;
            var ds = pr.GetValue(dataset)!;
            var spec = CliOptions.Model(pr.GetValue(model), pr.GetValue(config)) ?? "segformer-b0";
            var its = pr.GetValue(iterations);
            var eps = pr.GetValue(epochs);
            if (its is null && eps is null) its = 1000;
            // Every option is checked before anything runs: one line naming it, never a trace from deep inside.
            if (its is { } n && n < 1) throw new ArgumentException($"--iterations must be at least 1, got {n}");
            if (eps is { } m && m < 1) throw new ArgumentException($"--epochs must be at least 1, got {m}");
            CliOptions.AtLeast(pr.GetValue(crop), CliOptions.MinimumSize, "--crop", "the encoder downsamples by 32");
            CliOptions.AtLeast(pr.GetValue(batch), 1, "--batch-size");
            CliOptions.Finite(pr.GetValue(lr), "--lr", positive: true);
            CliOptions.Finite(pr.GetValue(wd), "--weight-decay", positive: false);
            CliOptions.Finite(pr.GetValue(auxWeight), "--aux-weight", positive: false);
            CliOptions.Finite(pr.GetValue(smoothing), "--label-smoothing", positive: false);
            if (pr.GetValue(clip) is { } c) CliOptions.Finite(c, "--clip-grad", positive: true);
            if (pr.GetValue(dropPath) is { } dp && !(dp >= 0 && dp < 1)) throw new ArgumentException($"--drop-path must be in [0, 1), got {dp}");
            if (pr.GetValue(warmup) < 0) throw new ArgumentException($"--warmup must be >= 0, got {pr.GetValue(warmup)}");
            CliOptions.AtLeast(pr.GetValue(keep), 1, "--keep");
            if (pr.GetValue(valLimit) is { } vl) CliOptions.AtLeast(vl, 1, "--val-limit");
            if (pr.GetValue(trainLimit) is { } tl) CliOptions.AtLeast(tl, 1, "--train-limit");
            CliOptions.MaxPixels(pr.GetValue(maxPixels));
            CliOptions.WritableFile(pr.GetValue(db)!, "--db");
            if (pr.GetValue(output) is { } outDir) CliOptions.WritableFolder(outDir, "--output");
            var kind = pr.GetValue(lossKind)!.Trim().ToLowerInvariant() switch
            {
                "ce" or "cross-entropy" => SegmentationLossKind.CrossEntropy,
                "dice" => SegmentationLossKind.Dice,
                "ce+dice" or "ce-dice" => SegmentationLossKind.CrossEntropyDice,
                var other => throw new ArgumentException($"--loss must be ce, dice or ce+dice, got '{other}'"),
            };
            var teacherPath = pr.GetValue(teacher);
            var distillName = pr.GetValue(distill);
            if (distillName is not null && !distillName.Equals("cwd", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"--distill must be cwd (channel-wise distillation), got '{distillName}'");
            if (distillName is not null && teacherPath is null) throw new ArgumentException("--distill needs --teacher <checkpoint>");
            if (teacherPath is not null && !File.Exists(teacherPath)) throw new FileNotFoundException($"--teacher: checkpoint not found: {teacherPath}", teacherPath);
            var distillation = teacherPath is null ? null : new DistillationOptions(pr.GetValue(distillTau), pr.GetValue(distillWeight));
            distillation?.Validate();
            var job = new SegmentationJob
            {
                Model = spec, Dataset = ds, Root = pr.GetValue(root), CropSize = pr.GetValue(crop), BatchSize = pr.GetValue(batch),
                Scale = pr.GetValue(scale) is { } sc ? CliOptions.Pair(sc, "--scale", "LONGxSHORT", minimum: CliOptions.MinimumSize) : null,
                DropPath = pr.GetValue(dropPath), Pretrained = pr.GetValue(pretrained), ClassBalancedWeights = pr.GetValue(classWeights),
                ValLimit = pr.GetValue(valLimit), TrainLimit = pr.GetValue(trainLimit), Database = pr.GetValue(db)!, OutputDirectory = pr.GetValue(output),
                Workers = pr.GetValue(workers), Synthetic = new SyntheticOptions(pr.GetValue(synthSize), 64, 5), Teacher = teacherPath, DataParallel = group,
                Trainer = new SegmentationTrainerOptions
                {
                    RunName = pr.GetValue(name) ?? $"{spec.Name}-{ds}", Iterations = its, Epochs = eps, LearningRate = pr.GetValue(lr), WeightDecay = pr.GetValue(wd),
                    WarmupIterations = pr.GetValue(warmup), GradClipNorm = pr.GetValue(clip), AuxiliaryHead = pr.GetValue(aux),
                    EvalInterval = pr.GetValue(evalEvery), CheckpointInterval = pr.GetValue(ckptEvery), KeepLastCheckpoints = pr.GetValue(keep),
                    Seed = pr.GetValue(seed), DataSeed = pr.GetValue(seed), Resume = pr.GetValue(resume), ReuseFinished = pr.GetValue(reuse),
                    Distillation = distillation, Precision = CliOptions.WarnIfEmulated(PrecisionExtensions.Parse(pr.GetValue(precision)!, allowFp64: true)),
                    Loss = new SegmentationLossOptions
                    {
                        AuxiliaryWeight = pr.GetValue(auxWeight), LabelSmoothing = pr.GetValue(smoothing), Kind = kind, DiceWeight = pr.GetValue(diceWeight),
                        Ohem = pr.GetValue(ohem) is { } t ? new OhemOptions(t, pr.GetValue(ohemMin)) : null,
                    },
                },
            };
            if (!isRoot) { job.Run(); return ExitCodes.Success; } // rank 0 reports
            var id = TrainingConsole.Run("training", p => job.Run(p, Console.WriteLine), pr.GetValue(logEvery));
            if (job.GradientReduction is { } reduction) Console.WriteLine(reduction.Summary());
            using var store = BoostFormer.Training.Tracking.RunStore.Open(job.Database);
            var last = store.LastEvaluation(id);
            Console.WriteLine(last.TryGetValue("miou", out var miou)
                ? FormattableString.Invariant($"run {id} finished: val mIoU {miou * 100:F2}  (database {store.Path})")
                : $"run {id} finished (database {store.Path})");
            return ExitCodes.Success;
        }
        cmd.Subcommands.Add(StepBench());
        return cmd;
    }

    /// <summary><c>boostformer train step-bench</c>: milliseconds per training step (used by bench/train-step/run.sh).</summary>
    private static Command StepBench()
    {
        var model = new Option<string>("--model") { DefaultValueFactory = _ => "segformer-b0" };
        var input = new Option<string>("--input") { Description = "HxW", DefaultValueFactory = _ => "512x512" };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 2 };
        var classes = new Option<int>("--classes") { DefaultValueFactory = _ => 150 };
        var threads = new Option<int>("--threads") { Description = "Intra-op threads (0 = all cores)", DefaultValueFactory = _ => 0 };
        var warmup = new Option<int>("--warmup") { DefaultValueFactory = _ => 2 };
        var runs = new Option<int>("--runs") { DefaultValueFactory = _ => 5 };
        var json = new Option<bool>("--json");
        var naive = new Option<bool>("--naive") { Description = "Attention as matmul + softmax + matmul (the HF graph as written) instead of scaled_dot_product_attention" };
        var precision = new Option<string>("--precision") { Description = "fp32, or bf16 mixed precision (bf16 forward/backward, fp32 master weights and AdamW)", DefaultValueFactory = _ => "fp32" };
        var cmd = new Command("step-bench", "Time SegFormer training steps (forward + loss + backward + AdamW) on random data.")
        {
            model, input, batch, classes, threads, warmup, runs, json, naive, precision,
        };
        cmd.SetAction(pr => ExitCodes.Run(() =>
        {
            var size = InputSize.Parse(pr.GetValue(input)!);
            if (size.Height < CliOptions.MinimumSize || size.Width < CliOptions.MinimumSize)
                throw new ArgumentException($"--input {size}: both sides must be at least {CliOptions.MinimumSize} (the encoder downsamples by 32)");
            CliOptions.AtLeast(pr.GetValue(batch), 1, "--batch-size");
            CliOptions.AtLeast(pr.GetValue(classes), 1, "--classes");
            if (pr.GetValue(warmup) < 0) throw new ArgumentException($"--warmup must be >= 0, got {pr.GetValue(warmup)}");
            if (pr.GetValue(threads) > 0) TorchSharp.torch.set_num_threads(pr.GetValue(threads));
            if (pr.GetValue(runs) < 1) throw new ArgumentException("--runs must be at least 1");
            var t = TrainStepBenchmark.Run(pr.GetValue(model)!, size.Height, size.Width, pr.GetValue(batch), pr.GetValue(classes), pr.GetValue(warmup), pr.GetValue(runs), sdpa: !pr.GetValue(naive),
                precision: CliOptions.WarnIfEmulated(PrecisionExtensions.Parse(pr.GetValue(precision)!)));
            if (pr.GetValue(json))
                Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["model"] = t.Model, ["input"] = t.Input, ["threads"] = t.Threads, ["median_ms"] = t.MedianMs, ["min_ms"] = t.MinMs,
                    ["max_ms"] = t.MaxMs, ["runs"] = t.Runs, ["loss"] = t.Loss, ["precision"] = pr.GetValue(precision)!.Trim().ToLowerInvariant(),
                }));
            else
                Console.WriteLine(FormattableString.Invariant($"train step {t.Model} {string.Join("x", t.Input)} threads={t.Threads}: median {t.MedianMs:F1} ms (min {t.MinMs:F1}, max {t.MaxMs:F1}, {t.Runs} runs)"));
            return ExitCodes.Success;
        }));
        return cmd;
    }
}
