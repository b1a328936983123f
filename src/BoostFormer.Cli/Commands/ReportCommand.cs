using System.CommandLine;
using BoostFormer.Training.Tracking;

namespace BoostFormer.Cli.Commands;

/// <summary>
/// <c>boostformer report</c>: a results table of tracked segmentation runs (<see cref="RunReport"/>) written as
/// <c>DIR/NAME.md</c> and <c>.csv</c>, with what each run's recorded configuration changes against the first run's — the
/// table of a sweep (e.g. <c>scripts/sweep-camvid.sh</c> → <c>results/camvid-sweep.md</c>), read from the database.
/// </summary>
public sealed class ReportCommand : ICliCommand
{
    public Command Build()
    {
        var db = new Option<string>("--db") { Description = "Tracking database", DefaultValueFactory = _ => "runs/runs.db" };
        var runs = new Option<string>("--runs") { Description = "Comma-separated run names, in table order (the newest finished run of each name); the first is the reference of the changes column", Required = true };
        var output = new Option<string>("--output") { Description = "Files to write, without extension: DIR/NAME gives DIR/NAME.md and DIR/NAME.csv", Required = true };
        var title = new Option<string>("--title") { Description = "Title of the Markdown table", DefaultValueFactory = _ => "Segmentation runs" };
        var regenerate = new Option<string?>("--regenerate") { Description = "The command that regenerates the table, quoted in it (default: this command line)" };
        var cmd = new Command("report", "Write a results table (Markdown + CSV) of tracked segmentation runs, with what each run changes against the first.")
        {
            db, runs, output, title, regenerate,
        };
        cmd.SetAction(pr => ExitCodes.Run(() =>
        {
            var path = pr.GetValue(db)!;
            if (!File.Exists(path)) throw new ArgumentException($"--db: {path} does not exist");
            var names = pr.GetValue(runs)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (names.Length == 0) throw new ArgumentException("--runs: no run names given");
            var target = pr.GetValue(output)!;
            var directory = Path.GetDirectoryName(Path.GetFullPath(target))!;
            var name = Path.GetFileName(target);
            if (name.Length == 0) throw new ArgumentException($"--output: {target} names a folder, not DIR/NAME");
            CliOptions.WritableFolder(directory, "--output");
            using var store = RunStore.Open(path);
            var all = store.Runs();
            var ids = names.Select(n => all.FirstOrDefault(r => r.Name == n && r.Kind == "segmentation" && r.Status == RunStore.Finished)?.Id
                ?? throw new ArgumentException($"--runs: {path} holds no finished segmentation run named '{n}'")).ToList();
            var rows = RunReport.Rows(store, ids);
            var again = pr.GetValue(regenerate) ?? "boostformer " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1));
            var (md, csv) = RunReport.Write(rows, directory, name, pr.GetValue(title)!, again, RunReport.Differences(store, ids));
            Console.WriteLine(RunReport.ToTable(rows).ToMarkdown());
            Console.WriteLine($"wrote {md} and {csv}");
            return ExitCodes.Success;
        }));
        return cmd;
    }
}
