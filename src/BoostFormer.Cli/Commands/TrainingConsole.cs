using BoostFormer.Training;
using Spectre.Console;

namespace BoostFormer.Cli.Commands;

/// <summary>
/// Progress output for the training verbs: a Spectre.Console progress bar with loss, lr, images/s and ETA when stdout
/// is a terminal, plain lines (every <c>every</c> iterations and at evaluations) otherwise.
/// </summary>
internal static class TrainingConsole
{
    public static bool Interactive => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    private static string Line(long it, long total, double loss, double lr, double ips, TimeSpan eta) =>
        FormattableString.Invariant($"iter {it}/{total}  loss {loss:F4}  lr {lr:E2}  {ips:F2} img/s  eta {eta:hh\\:mm\\:ss}");

    /// <summary>Runs <paramref name="run"/> with a segmentation progress display; returns its result.</summary>
    public static long RunSegmentation(Func<IProgress<TrainingProgress>, long> run, long every)
    {
        if (!Interactive)
            return run(new SyncProgress<TrainingProgress>(p =>
            {
                if (p.Iteration % Math.Max(1, every) == 0 || p.Iteration == p.TotalIterations)
                    Console.WriteLine(Line(p.Iteration, p.TotalIterations, p.Loss, p.LearningRate, p.ImagesPerSecond, p.Eta));
                if (p.Validation is { } v) Console.WriteLine(FormattableString.Invariant($"eval @ {p.Iteration}: mIoU {v.MeanIoU * 100:F2}  mAcc {v.MeanAccuracy * 100:F2}  aAcc {v.AllAccuracy * 100:F2}"));
            }));
        long result = 0;
        AnsiConsole.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("training", maxValue: 1);
                result = run(new SyncProgress<TrainingProgress>(p =>
                {
                    task.MaxValue = p.TotalIterations;
                    task.Value = p.Iteration;
                    task.Description = Markup.Escape(Line(p.Iteration, p.TotalIterations, p.Loss, p.LearningRate, p.ImagesPerSecond, p.Eta));
                    if (p.Validation is { } v) AnsiConsole.MarkupLine(Markup.Escape(FormattableString.Invariant($"eval @ {p.Iteration}: mIoU {v.MeanIoU * 100:F2}  mAcc {v.MeanAccuracy * 100:F2}  aAcc {v.AllAccuracy * 100:F2}")));
                }));
            });
        return result;
    }

    /// <summary>Runs <paramref name="run"/> with a pretraining progress display.</summary>
    public static long RunPretrain(Func<IProgress<PretrainProgress>, long> run, long every)
    {
        if (!Interactive)
            return run(new SyncProgress<PretrainProgress>(p =>
            {
                if (p.Iteration % Math.Max(1, every) == 0 || p.Iteration == p.TotalIterations)
                    Console.WriteLine(Line(p.Iteration, p.TotalIterations, p.Loss, p.LearningRate, p.ImagesPerSecond, p.Eta));
                if (p.Top1 is { } t1) Console.WriteLine(FormattableString.Invariant($"eval @ {p.Iteration}: top-1 {t1 * 100:F2}  top-5 {p.Top5 * 100:F2}"));
            }));
        long result = 0;
        AnsiConsole.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("pretraining", maxValue: 1);
                result = run(new SyncProgress<PretrainProgress>(p =>
                {
                    task.MaxValue = p.TotalIterations;
                    task.Value = p.Iteration;
                    task.Description = Markup.Escape(Line(p.Iteration, p.TotalIterations, p.Loss, p.LearningRate, p.ImagesPerSecond, p.Eta));
                    if (p.Top1 is { } t1) AnsiConsole.MarkupLine(Markup.Escape(FormattableString.Invariant($"eval @ {p.Iteration}: top-1 {t1 * 100:F2}  top-5 {p.Top5 * 100:F2}")));
                }));
            });
        return result;
    }

    /// <summary>An IProgress that reports synchronously on the caller's thread (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class SyncProgress<T> : IProgress<T>
    {
        private readonly Action<T> _a;
        public SyncProgress(Action<T> a) { _a = a; }
        public void Report(T value) => _a(value);
    }
}
