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

    private static string Line(TrainingProgress p) =>
        FormattableString.Invariant($"iter {p.Iteration}/{p.TotalIterations}  loss {p.Loss:F4}  lr {p.LearningRate:E2}  {p.ImagesPerSecond:F2} img/s  eta {p.Eta:hh\\:mm\\:ss}");

    /// <summary>Runs <paramref name="run"/> (a training job given its progress sink) with a progress display labelled <paramref name="label"/>; returns its result.</summary>
    public static long Run(string label, Func<IProgress<TrainingProgress>, long> run, long every)
    {
        if (!Interactive)
            return run(new SyncProgress<TrainingProgress>(p =>
            {
                if (p.Iteration % Math.Max(1, every) == 0 || p.Iteration == p.TotalIterations) Console.WriteLine(Line(p));
                if (p.EvaluationSummary is { } e) Console.WriteLine(e);
            }));
        long result = 0;
        AnsiConsole.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(label, maxValue: 1);
                result = run(new SyncProgress<TrainingProgress>(p =>
                {
                    task.MaxValue = p.TotalIterations;
                    task.Value = p.Iteration;
                    task.Description = Markup.Escape(Line(p));
                    if (p.EvaluationSummary is { } e) AnsiConsole.MarkupLine(Markup.Escape(e));
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
