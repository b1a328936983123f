using System.CommandLine;
using BoostFormer.Training;

namespace BoostFormer.Cli.Commands;

/// <summary>
/// <c>boostformer pretrain</c>: pretrains a SegFormer/BoostFormer encoder with a classification head on Tiny-ImageNet
/// (DeiT recipe: AdamW, cosine with warmup, weight decay 0.05, label smoothing 0.1, mixup 0.8 / cutmix 1.0, random
/// erasing 0.25, drop path 0.1), reports top-1/top-5 and writes <c>encoder.safetensors</c> for <c>train --pretrained</c>.
/// <c>--nproc N</c> trains data-parallel as <c>train --nproc</c> does (MPICH, one shard of every global batch per rank,
/// synchronised BatchNorm, mixup/cutmix paired over the global batch).
/// </summary>
public sealed class PretrainCommand : ICliCommand
{
    public Command Build()
    {
        var model = new Option<string?>("--model") { Description = "segformer-b0 … b5, boostformer-b0 … b5 (default segformer-b0)" };
        var config = new Option<string?>("--config") { Description = "A model config.json (any variant) instead of --model" };
        var root = new Option<string?>("--root") { Description = "Data root containing tiny-imagenet-200 (default: $BOOSTFORMER_DATA)" };
        var iterations = new Option<long?>("--iterations");
        var epochs = new Option<long?>("--epochs") { Description = "Epochs (default 1 unless --iterations)" };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 64 };
        var size = new Option<int>("--image-size") { DefaultValueFactory = _ => 64 };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => 5e-4 };
        var wd = new Option<double>("--weight-decay") { DefaultValueFactory = _ => 0.05 };
        var warmup = new Option<long>("--warmup") { DefaultValueFactory = _ => 0 };
        var clip = new Option<double?>("--clip-grad");
        var dropPath = new Option<double?>("--drop-path") { Description = "Stochastic depth rate (default: the model config's, 0.1)" };
        var mixup = new Option<double>("--mixup") { DefaultValueFactory = _ => 0.8 };
        var cutmix = new Option<double>("--cutmix") { DefaultValueFactory = _ => 1.0 };
        var smoothing = new Option<double>("--label-smoothing") { DefaultValueFactory = _ => 0.1 };
        var erase = new Option<double>("--random-erasing") { DefaultValueFactory = _ => 0.25 };
        var trainLimit = new Option<int?>("--train-limit");
        var valLimit = new Option<int?>("--val-limit");
        var evalEvery = new Option<long>("--eval-interval") { DefaultValueFactory = _ => 0 };
        var ckptEvery = new Option<long>("--checkpoint-interval") { DefaultValueFactory = _ => 0 };
        var seed = new Option<long>("--seed") { DefaultValueFactory = _ => 0 };
        var db = new Option<string>("--db") { DefaultValueFactory = _ => Path.Combine("runs", "runs.db") };
        var name = new Option<string?>("--name");
        var output = new Option<string?>("--output");
        var resume = new Option<bool>("--resume") { Description = "Continue from the newest checkpoint in the output folder" };
        var reuse = new Option<bool>("--reuse") { Description = "If the database holds a finished run with this name and the same configuration, report it instead of training" };
        var workers = new Option<int?>("--workers");
        var logEvery = new Option<long>("--log-every") { DefaultValueFactory = _ => 10 };
        var nproc = new Option<int>("--nproc") { Description = "Data-parallel processes on this machine (runs mpiexec.mpich -n N; each takes an equal shard of every batch)", DefaultValueFactory = _ => 1 };
        var hosts = new Option<string?>("--hosts") { Description = "With --nproc: machines for mpiexec.mpich -hosts (e.g. node1:2,node2:2; see README, Data-parallel training)" };
        var threads = new Option<int>("--threads") { Description = "Intra-op threads per process (0 = the engine's default; --nproc N: cores / N)", DefaultValueFactory = _ => 0 };
        var precision = new Option<string>("--precision") { Description = "fp32, or fp64 for numerical checks (everything in float64)", DefaultValueFactory = _ => "fp32" };
        var cmd = new Command("pretrain", "Pretrain an encoder on Tiny-ImageNet (DeiT recipe); saves encoder.safetensors.")
        {
            model, config, root, iterations, epochs, batch, size, lr, wd, warmup, clip, dropPath, mixup, cutmix, smoothing, erase, trainLimit, valLimit,
            evalEvery, ckptEvery, seed, db, name, output, resume, reuse, workers, logEvery, nproc, hosts, threads, precision,
        };
        cmd.SetAction(pr => ExitCodes.Run(() => DistributedLaunch.LaunchIfRequested(pr.GetValue(nproc), pr.GetValue(hosts))
            ?? DistributedLaunch.RunRank(pr.GetValue(nproc), group => Pretrain(pr, group))));
        int Pretrain(ParseResult pr, BoostFormer.Training.Distributed.IDataParallel? group)
        {
            if (pr.GetValue(threads) is > 0 and var nt) TorchSharp.torch.set_num_threads(nt);
            var prec = BoostFormer.PrecisionExtensions.Parse(pr.GetValue(precision)!, allowFp64: true);
            if (prec == BoostFormer.Precision.Bf16) throw new ArgumentException("--precision: pretraining runs in fp32 or fp64, not bf16");
            var its = pr.GetValue(iterations);
            var eps = pr.GetValue(epochs);
            if (its is null && eps is null) eps = 1;
            CliOptions.WritableFile(pr.GetValue(db)!, "--db");
            if (pr.GetValue(output) is { } outDir) CliOptions.WritableFolder(outDir, "--output");
            var spec = CliOptions.Model(pr.GetValue(model), pr.GetValue(config)) ?? "segformer-b0";
            var job = new PretrainJob
            {
                Model = spec, Root = pr.GetValue(root), ImageSize = pr.GetValue(size), BatchSize = pr.GetValue(batch), DropPath = pr.GetValue(dropPath),
                Mixup = pr.GetValue(mixup), Cutmix = pr.GetValue(cutmix), LabelSmoothing = pr.GetValue(smoothing), RandomErasing = pr.GetValue(erase),
                TrainLimit = pr.GetValue(trainLimit), ValLimit = pr.GetValue(valLimit), Database = pr.GetValue(db)!, OutputDirectory = pr.GetValue(output),
                Workers = pr.GetValue(workers), DataParallel = group,
                Trainer = new PretrainOptions
                {
                    RunName = pr.GetValue(name) ?? $"{spec.Name}-tiny-imagenet", Iterations = its, Epochs = eps, LearningRate = pr.GetValue(lr),
                    WeightDecay = pr.GetValue(wd), WarmupIterations = pr.GetValue(warmup), GradClipNorm = pr.GetValue(clip),
                    EvalInterval = pr.GetValue(evalEvery), CheckpointInterval = pr.GetValue(ckptEvery), Seed = pr.GetValue(seed), DataSeed = pr.GetValue(seed),
                    Resume = pr.GetValue(resume), ReuseFinished = pr.GetValue(reuse), Precision = prec,
                },
            };
            if (group is { IsRoot: false }) { job.Run(); return ExitCodes.Success; } // rank 0 reports
            var id = TrainingConsole.Run("pretraining", p => job.Run(p, Console.WriteLine), pr.GetValue(logEvery));
            if (job.GradientReduction is { } reduction) Console.WriteLine(reduction.Summary());
            using var store = BoostFormer.Training.Tracking.RunStore.Open(job.Database);
            var last = store.LastEvaluation(id);
            Console.WriteLine(last.TryGetValue("top1", out var t1)
                ? FormattableString.Invariant($"run {id} finished: val top-1 {t1 * 100:F2}  top-5 {last["top5"] * 100:F2}  (database {store.Path})")
                : $"run {id} finished (database {store.Path})");
            return ExitCodes.Success;
        }
        return cmd;
    }
}
